"""``check-manifests``: the checks of ``validate`` on any rendered manifests.

A platform team renders more than service repositories; this runs the same engine
(:func:`checks.manifests.validate_manifests`: schemas, the CRDs' own rules, the API
server's rules, derived names and references across the inputs) on files, folders or
standard input, the way it would run kubeconform. Inputs are anyone's files: each read
bounded and only when it is a regular file (:mod:`safe_fs`), folders refused when a link
leaves them, YAML bounded (:mod:`yamlio`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.checks.manifests import (
    SchemaCatalog,
    crd_schema_dir,
    validate_manifests,
)
from inference_scaffolder.cli.options import DEFAULT_KUBE_VERSION, CrdSchemas, KubeVersion
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.safe_fs import (
    MAX_REPOSITORY_FILE_BYTES,
    decode_utf8,
    read_text_file,
    refuse_links_out,
)

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class Problem:
    """One refused field of one object: printed as ``file: Kind/name: path: message``."""

    file: str
    kind: str
    name: str
    message: str

    def line(self) -> str:
        return f"{inert(self.file)}: {inert(self.kind, 100)}/{inert(self.name, 300)}: " \
               f"{inert(self.message, 2000)}"


def _files_of(path: Path) -> list[Path]:
    """``path`` itself, or every YAML/JSON file below the folder (no ``.git``), after
    refusing links that leave it and anything that is not a file or a folder."""
    if not path.is_dir():
        return [path]
    refuse_links_out(path, [path], shown_root=str(path))
    return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                  and ".git" not in p.relative_to(path).parts)


def _read(path: str) -> str:
    if path == STDIN:
        data = sys.stdin.buffer.read(MAX_REPOSITORY_FILE_BYTES + 1)
        if len(data) > MAX_REPOSITORY_FILE_BYTES:
            raise UserError(STDIN, f"is larger than {MAX_REPOSITORY_FILE_BYTES} bytes")
        return decode_utf8(data, "standard input", STDIN)
    return read_text_file(Path(path), MAX_REPOSITORY_FILE_BYTES, path)


def _opened(document: Any) -> list[Any]:
    """A ``kind: List``'s items, else the document itself."""
    if isinstance(document, dict) and document.get("kind") == "List" and \
            isinstance(document.get("items"), list):
        return document["items"]
    return [document]


def _objects(text: str, shown: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream (a ``kind: List`` opened up); empty documents skipped,
    anything else that is not a mapping refused."""
    try:
        documents = yamlio.load_documents(text, source=shown)
    except yaml.YAMLError as exc:
        raise UserError(shown, yamlio.describe_yaml_error(exc)) from None
    objects: list[dict[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        for item in _opened(document):  # one level: a List inside a List is not opened
            if not isinstance(item, dict):
                raise UserError(shown, f"document {number} is not a Kubernetes object "
                                "(a mapping)")
            objects.append(item)
    return objects


def load_inputs(paths: list[str]) -> list[tuple[dict[str, Any], str]]:
    """Every object of every input, with the file it came from."""
    if paths.count(STDIN) > 1:
        raise UserError("PATH", "standard input (-) may be named once")
    docs: list[tuple[dict[str, Any], str]] = []
    for given in paths:
        if given != STDIN and not Path(given).exists():
            raise UserError(given, "does not exist")
        files = [given] if given == STDIN else [str(p) for p in _files_of(Path(given))]
        for file in files:
            docs += [(obj, file) for obj in _objects(_read(file), file)]
    return docs


def check(paths: list[str], kube_version: str,
          crd_schemas: Path | None) -> tuple[int, list[Problem]]:
    """(objects checked, problems) for the inputs."""
    catalog = SchemaCatalog(kube_version, crd_schema_dir(crd_schemas))
    docs = load_inputs(paths)
    results = validate_manifests(docs, catalog)
    problems = [Problem(r.source, r.kind, r.name, error) for r in results for error in r.errors]
    return len(results), problems


def check_manifests(
    paths: list[str] = typer.Argument(
        ..., metavar="PATH...",
        help="Manifest files, folders (every .yaml/.yml/.json below) or - for standard input."),
    kube_version: KubeVersion = DEFAULT_KUBE_VERSION,
    crd_schemas: CrdSchemas = None,
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Check rendered manifests as validate does: schemas, CRD rules, API-server rules,
    derived names and references. Exit 0 valid, 1 a check failed, 2 unusable input."""
    checked, problems = check(paths, kube_version, crd_schemas)
    if as_json:
        typer.echo(json.dumps({
            "ok": not problems, "objects": checked,
            "problems": [{"file": p.file, "kind": p.kind, "name": p.name, "message": p.message}
                         for p in problems]}, indent=2))
    else:
        for problem in problems:
            typer.echo(problem.line())
        typer.echo(f"{checked} objects checked, {len(problems)} problems", err=True)
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check-manifests")(check_manifests)
