"""Running the project's pinned Node tools (``tools/*.cjs``) with a JSON request.

``schema-pr`` edits TypeScript with the TypeScript parser, generates the interface with
json-schema-to-typescript and checks chart values with ajv: all Node libraries, pinned in
``tools/package.json`` and installed with ``npm ci`` in ``tools/``. Each tool reads one JSON
request on stdin and writes one JSON answer, so one run costs one Node process however many
files it touches. A refusal comes back as ``{"error": {"field", "rule"}}`` and becomes a
:class:`UserError`; a crash of the tool is a bug and keeps its stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Collection, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from inference_scaffolder.errors import ToolMissingError, UserError
from inference_scaffolder.paths import source_checkout_root

NODE_ENV = "INFERENCE_SCAFFOLDER_NODE"
TOOLS_ENV = "INFERENCE_SCAFFOLDER_NODE_TOOLS"
PACKAGED_TOOLS = Path(__file__).resolve().parent.parent / "_node_tools"
_STACK_OVERFLOW = "RangeError: Maximum call stack size exceeded"
_BOOTSTRAP_HINT = "run scripts/bootstrap.sh (it installs Node.js tools in tools/)"


@cache
def find_node() -> str:
    """``$INFERENCE_SCAFFOLDER_NODE``, else ``node`` on PATH."""
    configured = os.environ.get(NODE_ENV)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ToolMissingError(NODE_ENV, f"{configured} is not an executable")
    found = shutil.which("node")
    if found is None:
        raise ToolMissingError("node", "Node.js 20+ not found on PATH (set "
                               f"{NODE_ENV} to its executable)")
    return found


def _installed(directory: Path) -> bool:
    return (directory / "node_modules" / "typescript").is_dir()


@cache
def tools_dir() -> Path:
    """The folder of the tool scripts with their pinned ``node_modules`` installed:
    ``$INFERENCE_SCAFFOLDER_NODE_TOOLS``, else ``tools/`` of a source checkout, else the copy
    a wheel carries (``_node_tools``, after ``npm ci`` in it)."""
    configured = os.environ.get(TOOLS_ENV)
    if configured:
        if not _installed(Path(configured)):
            raise ToolMissingError(TOOLS_ENV, f"{configured} has no node_modules/typescript: "
                                   "run `npm ci` there")
        return Path(configured)
    root = source_checkout_root()
    if root is not None:
        if not _installed(root / "tools"):
            raise ToolMissingError("tools", f"no Node tools installed in {root / 'tools'}: "
                                   f"{_BOOTSTRAP_HINT}")
        return root / "tools"
    if not _installed(PACKAGED_TOOLS):
        raise ToolMissingError("tools", f"the pinned Node tools are not installed: run "
                               f"`npm ci --omit=dev` in {PACKAGED_TOOLS}, or set {TOOLS_ENV} to "
                               "a copy of it where that ran")
    return PACKAGED_TOOLS


def run_node_tool(
    script: str,
    request: dict[str, Any] | None = None,
    *,
    args: Sequence[str] = (),
    answer_codes: Collection[int] = (0,),
    timeout: float = 300,
) -> Any:
    """Run ``tools/<script> [args]`` with ``request`` as JSON on stdin and return its decoded
    JSON answer. ``answer_codes``: exit codes that still come with an answer (a check that
    found problems exits 1 and says which)."""
    command = [find_node(), str(tools_dir() / script), *args]
    stdin = json.dumps(request) if request is not None else ""
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise UserError(script, f"did not finish within {int(timeout)} s") from exc
    if done.returncode not in answer_codes and _STACK_OVERFLOW in done.stderr:
        # The repository's files are input: nesting deep enough to exhaust the parser's
        # stack is a refusal of that input, not a crash of the tool.
        raise UserError(script, "a file of the repository is nested too deeply for the "
                        "TypeScript parser (stack exhausted)")
    if done.returncode not in answer_codes:
        raise RuntimeError(f"{script} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def raise_refusal(answer: dict[str, Any]) -> None:
    """A tool's ``{"error": {"field", "rule"}}`` answer as the one-line user error."""
    error = answer.get("error")
    if error:
        raise UserError(error["field"], error["rule"])
