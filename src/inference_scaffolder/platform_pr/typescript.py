"""The TypeScript of a workload type: its interface, generated from the chart's values
schema, and the real ``tsc`` that checks the edited repository.

The interface comes from json-schema-to-typescript (``tools/schema-to-ts.cjs``), the
ecosystem's converter: each ``$defs`` entry of the schema becomes one named type, and the
TypeScript checker, run on the repository's own ``src/shared``, decides which shapes are
exactly a shared type (``Environment``, ``SecretObj``, ``ContainerProbeProperties``, ...),
which are then imported instead of declared again. The schema stays the one source.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_scaffolder.confine import run_confined
from inference_scaffolder.errors import ToolMissingError, UserError, inert
from inference_scaffolder.platform_pr.node_tools import (
    node_memory_flags,
    raise_refusal,
    run_node_tool,
    tools_dir,
)
from inference_scaffolder.tools import which_on_path

SHARED_MODULE = "../shared"

# --------------------------------------------------------------------------------------------
# The interface module
# --------------------------------------------------------------------------------------------


def interface_request(
    schema: Mapping[str, Any],
    interface_name: str,
    *,
    discriminator: tuple[str, str],
    shared_entry: Path | None = None,
    render_required: Iterable[str] = (),
    header: str | None = None,
    where: str = "values.schema.json",
) -> dict[str, Any]:
    """The request ``schema-to-ts.cjs`` answers (also sent inside the batched request).

    ``discriminator`` (property, literal) must be a required top-level ``const``; it becomes
    the interface's first member. ``render_required`` names top-level properties a complete
    workload description has although the base values.yaml cannot (no service, no model):
    the interface makes them required. ``shared_entry`` is the repository's
    ``src/shared/index.ts``; without it no shared type is reused.
    """
    property_name, value = discriminator
    return {
        "schema": schema,
        "name": interface_name,
        "sharedEntry": str(shared_entry) if shared_entry and shared_entry.is_file() else None,
        "discriminator": {"property": property_name, "value": value},
        "required": list(render_required),
        "header": header or "",
        "where": where,
    }


def interface_text(answer: dict[str, Any]) -> str:
    """The module text of a ``schema-to-ts`` answer; its refusal as a one-line error."""
    raise_refusal(answer)
    return str(answer["text"])


def generate_interface_module(
    schema: Mapping[str, Any], interface_name: str, **options: Any
) -> str:
    """The TypeScript module declaring ``interface_name`` (see :func:`interface_request`)."""
    request = interface_request(schema, interface_name, **options)
    return interface_text(run_node_tool("schema-to-ts.cjs", request))


# --------------------------------------------------------------------------------------------
# The real TypeScript compiler
# --------------------------------------------------------------------------------------------

TSC_ENV = "INFERENCE_SCAFFOLDER_TSC"
_DIAGNOSTIC = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class TscDiagnostic:
    file: str
    line: int
    column: int
    code: str
    message: str

    def identity(self) -> tuple[str, str, str]:
        """What makes an error "the same" across two trees whose line numbers differ."""
        return (self.file, self.code, self.message)

    def __str__(self) -> str:
        return f"{self.file}({self.line},{self.column}): error {self.code}: {self.message}"


@dataclass(frozen=True)
class TscResult:
    returncode: int
    diagnostics: tuple[TscDiagnostic, ...]
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def find_tsc() -> Path:
    """The compiler: ``$INFERENCE_SCAFFOLDER_TSC``, else the pinned one beside the Node tools,
    else ``tsc`` on PATH (another version may type-check differently)."""
    configured = os.environ.get(TSC_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ToolMissingError(TSC_ENV, f"{configured} is not an executable TypeScript compiler")
    try:
        pinned = tools_dir() / "node_modules" / ".bin" / "tsc"
    except ToolMissingError:
        pinned = None
    if pinned is not None and pinned.is_file() and os.access(pinned, os.X_OK):
        return pinned
    on_path = which_on_path("tsc")
    if on_path:
        return Path(on_path)
    raise ToolMissingError(
        "tsc",
        f"TypeScript compiler not found: set {TSC_ENV}, or run scripts/bootstrap.sh (installs "
        "the pinned tools/node_modules/.bin/tsc)",
    )


def run_tsc(project_dir: Path, tsc: Path | None = None, timeout: float = 600, *,
            scope: Mapping[str, Any] | None = None) -> TscResult:
    """``tsc --noEmit -p <project_dir>``: type-check a repository tree without writing files.

    The tree is a pull request's, so its configuration is checked first
    (:func:`check_tsconfig_scope`) and the compiler runs confined, with every option that
    could write forced off on the command line. ``scope``: that configuration as the
    compiler resolved it already (``tools/tsconfig-scope.cjs``), else it is resolved here."""
    if not (project_dir / "tsconfig.json").is_file():
        raise UserError("tsconfig.json", f"missing at the repository root ({project_dir.name})")
    compiler = tsc or find_tsc()
    check_tsconfig_scope(project_dir, scope)
    proc = run_confined(
        [str(compiler), "--noEmit", "--incremental", "false", "--composite", "false",
         "--pretty", "false", "-p", str(project_dir / "tsconfig.json")],
        cwd=project_dir, timeout=timeout,
        env={"NODE_OPTIONS": " ".join(node_memory_flags())},
    )
    if proc.returncode == 127 and not proc.stdout:
        raise ToolMissingError("tsc", f"cannot run {compiler}: {proc.stderr}")
    if proc.breach:
        raise UserError("tsc", proc.breach)
    output = (proc.stdout + proc.stderr).strip()
    diagnostics = tuple(
        TscDiagnostic(m["file"], int(m["line"]), int(m["col"]), m["code"], m["msg"])
        for m in (_DIAGNOSTIC.match(line) for line in output.splitlines())
        if m
    )
    return TscResult(proc.returncode, diagnostics, output)


def check_tsconfig_scope(project_dir: Path, scope: Mapping[str, Any] | None = None) -> None:
    """Refuse a ``tsconfig.json`` that makes the compiler write files (build info, traces:
    even under ``--noEmit``) or read outside the repository (``extends``, ``include``,
    ``files``, ``references``, path options), as the compiler itself resolves them."""
    answer = scope or run_node_tool("tsconfig-scope.cjs",
                                    {"config": str(project_dir / "tsconfig.json")})
    if answer["writing"]:
        raise UserError("tsconfig.json", f"sets {', '.join(map(inert, answer['writing']))}: "
                        "options that make the compiler write files are refused (the check "
                        "writes nothing)")
    root = os.path.realpath(project_dir)
    reached = {"extends": answer["extended"], "include/files": answer["fileNames"],
               "references": answer["references"], **answer["pathOptions"]}
    for option, paths in reached.items():
        for path in paths:
            if not _inside(root, str(path)):
                raise UserError("tsconfig.json", f"{option} reaches {inert(path)}, outside the "
                                "repository: refused")


def _inside(root: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)
