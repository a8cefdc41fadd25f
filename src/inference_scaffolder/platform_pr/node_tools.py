"""Running the project's pinned Node tools (``tools/*.cjs``) with a JSON request.

``schema-pr`` edits TypeScript with the TypeScript parser, generates the interface with
json-schema-to-typescript and checks chart values with ajv: all Node libraries, pinned in
``tools/package.json`` and installed with ``npm ci`` in ``tools/`` (a source checkout) or, for
an installed wheel, by ``inference-scaffolder install-node-tools`` into the user's data folder:
site-packages is often read-only, and the tools belong to one release. Each tool reads one JSON
request on stdin and writes one JSON answer, so one run costs one Node process however many
files it touches. A refusal comes back as ``{"error": {"field", "rule"}}`` and becomes a
:class:`UserError`; a tool that fails otherwise is one line with the end of its stderr
(:class:`ToolFailed`, exit code 1).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from inference_scaffolder.confine import memory_limit_bytes, run_confined
from inference_scaffolder.errors import ToolFailed, ToolMissingError, UserError, inert
from inference_scaffolder.paths import source_checkout_root
from inference_scaffolder.tools import which_on_path

NODE_ENV = "INFERENCE_SCAFFOLDER_NODE"
TOOLS_ENV = "INFERENCE_SCAFFOLDER_NODE_TOOLS"
PACKAGED_TOOLS = Path(__file__).resolve().parent.parent / "_node_tools"
_STACK_OVERFLOW = "RangeError: Maximum call stack size exceeded"
_BOOTSTRAP_HINT = "run scripts/bootstrap.sh (it installs Node.js tools in tools/)"
_INSTALL_HINT = "run `inference-scaffolder install-node-tools`"
# What a tools folder holds besides node_modules: the pins and the scripts.
_TOOL_FILES = ("package.json", "package-lock.json", "ts-edit.cjs", "schema-to-ts.cjs",
               "check-values.cjs", "platform-pr.cjs", "tsconfig-scope.cjs")


@cache
def find_node() -> str:
    """``$INFERENCE_SCAFFOLDER_NODE``, else ``node`` on PATH."""
    configured = os.environ.get(NODE_ENV)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ToolMissingError(NODE_ENV, f"{configured} is not an executable")
    found = which_on_path("node")
    if found is None:
        raise ToolMissingError("node", "Node.js 20+ not found on PATH (set "
                               f"{NODE_ENV} to its executable)")
    return found


def _installed(directory: Path) -> bool:
    return (directory / "node_modules" / "typescript").is_dir()


def _source_tools() -> Path:
    """The tool scripts and pins this installation carries (installed or not)."""
    root = source_checkout_root()
    return root / "tools" if root is not None else PACKAGED_TOOLS


def user_tools_dir() -> Path:
    """Where ``install-node-tools`` puts this release's tools: the user's data folder, one
    subfolder per lockfile, so two releases with different pins never share one."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    lock = (_source_tools() / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()[:16]
    return Path(base) / "inference-scaffolder" / "node-tools" / digest


def install_node_tools(*, offline: bool = False, timeout: float = 900) -> Path:
    """Install the pinned Node tools into :func:`user_tools_dir` with ``npm ci`` (from the
    npm cache alone with ``offline``); nothing to do when they are there. The install runs
    in a temporary folder beside the target and moves into place only when complete, so an
    interrupted run leaves no half-installed tools behind."""
    target = user_tools_dir()
    if _installed(target):
        return target
    npm = which_on_path("npm")
    if npm is None:
        raise ToolMissingError("npm", "not found on PATH: Node.js 20+ with npm installs the "
                               "Node tools")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        for name in _TOOL_FILES:
            shutil.copyfile(_source_tools() / name, work / name)
        command = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
        if offline:
            command.append("--offline")
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ToolFailed("install-node-tools",
                             f"npm ci did not finish within {timeout:g} s") from None
        if done.returncode != 0 or not _installed(work):
            raise ToolFailed("install-node-tools", "npm ci failed: " + _tail(done.stderr, 500))
        if target.is_dir() and not _installed(target):
            shutil.rmtree(target)  # what an older, broken install left
        try:
            os.replace(work, target)
        except OSError:
            if not _installed(target):  # else another run finished first: use its install
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tools_dir.cache_clear()
    return target


@cache
def tools_dir() -> Path:
    """The folder of the tool scripts with their pinned ``node_modules`` installed:
    ``$INFERENCE_SCAFFOLDER_NODE_TOOLS``, else ``tools/`` of a source checkout, else the copy
    a wheel carries (when ``npm ci`` ran in it), else what ``install-node-tools`` installed."""
    configured = os.environ.get(TOOLS_ENV)
    if configured:
        if not _installed(Path(configured)):
            raise ToolMissingError(TOOLS_ENV, f"{configured} has no node_modules/typescript: "
                                   "run `npm ci` there")
        return Path(configured)
    root = source_checkout_root()
    carried = _source_tools()
    for candidate in (carried, user_tools_dir()):
        if _installed(candidate):
            return candidate
    if root is not None:
        raise ToolMissingError("tools", f"no Node tools installed in {carried}: "
                               f"{_BOOTSTRAP_HINT}")
    raise ToolMissingError("tools", f"the pinned Node tools are not installed: {_INSTALL_HINT} "
                           f"(or set {TOOLS_ENV} to a folder where `npm ci` ran on the "
                           "package's _node_tools)")


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
    folder = tools_dir()
    command = [find_node(), *node_memory_flags(), str(folder / script), *args]
    stdin = json.dumps(request) if request is not None else ""
    done = run_confined(command, cwd=folder, timeout=timeout, stdin=stdin)
    if done.breach:
        raise UserError(script, done.breach)
    if done.returncode not in answer_codes and _STACK_OVERFLOW in done.stderr:
        # The repository's files are input: nesting deep enough to exhaust the parser's
        # stack is a refusal of that input, not a crash of the tool.
        raise UserError(script, "a file of the repository is nested too deeply for the "
                        "TypeScript parser (stack exhausted)")
    if done.returncode not in answer_codes:
        raise ToolFailed(script, f"failed (exit {done.returncode}): "
                         f"{_tail(done.stderr, 600) or 'no message'}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ToolFailed(script, f"answered with something that is not JSON: "
                         f"{_tail(done.stdout, 200) or 'nothing'}") from None


def _tail(text: str, limit: int) -> str:
    """The end of a tool's output on one line, printable."""
    return inert(" ".join(text.split())[-limit:], limit)


def node_memory_flags() -> list[str]:
    """V8's heap bound, under the confined address-space bound, so that a tool fed too much
    stops with V8's own "heap out of memory" instead of failing an allocation anywhere."""
    return [f"--max-old-space-size={memory_limit_bytes() * 5 // 8 // (1024 * 1024)}"]


def raise_refusal(answer: dict[str, Any]) -> None:
    """A tool's ``{"error": {"field", "rule"}}`` answer as the one-line user error."""
    error = answer.get("error")
    if error:
        raise UserError(error["field"], error["rule"])
