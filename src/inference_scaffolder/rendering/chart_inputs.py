"""What helm and the Node values check read of a chart, checked before they read it.

Two things in a chart make a reader reach far beyond it:

- **References in ``values.schema.json``.** helm compiles the schema with a loader for
  ``http``, ``https`` and ``file`` URLs: a ``$ref`` (or ``$dynamicRef``, ``$recursiveRef``) to
  ``http://internal/x`` is a request from the host that validates, one to
  ``file:///root/...`` reads a host file (and its first byte shows through the error), and an
  unknown ``$schema`` is fetched as a meta-schema. Only references inside the file
  (``#...``) and the JSON Schema drafts helm carries are accepted. ``$id`` alone fetches
  nothing (every reference must be a fragment anyway) and passes.
- **YAML aliases.** A few hundred bytes of nested anchors stand for a billion nodes; the Node
  values check walked them until it ran out of memory. Every YAML file of a chart that a
  tool reads (all but ``templates/``) is bounded first: alias expansion, nesting depth, size
  (:func:`inference_scaffolder.yamlio.refuse_unbounded`). YAML that does not parse is left
  to the tools, which report it.

Packaged subcharts (``charts/*.tgz``) are looked into the same way. Used for the base chart a
Kustomization pins (a fresh download and every use of a cached copy, ``rendering.charts``),
for the folder a Kustomization is built from (``checks.gitops.build_leaf``), and for every
chart of the platform repository ``schema-pr`` clones.
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.safe_fs import (
    MAX_REPOSITORY_FILE_BYTES,
    MAX_TREE_ENTRIES,
    read_regular_file,
)

SCHEMA_FILE = "values.schema.json"
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
# The meta-schemas helm's JSON Schema library carries (nothing is fetched for these).
KNOWN_META_SCHEMAS = frozenset(
    f"{url}{end}" for end in ("", "#") for url in (
        "http://json-schema.org/schema",
        "http://json-schema.org/draft-04/schema",
        "http://json-schema.org/draft-06/schema",
        "http://json-schema.org/draft-07/schema",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    ))
# A packaged subchart is a chart: the same bounds as a downloaded one.
MAX_ARCHIVE_BYTES = 10 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 2_000
_YAML_SUFFIXES = (".yaml", ".yml")
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")


# --------------------------------------------------------------------------------------------
# values.schema.json
# --------------------------------------------------------------------------------------------


def _pointer(path: tuple[str, ...]) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


def _walk_json(document: Any) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(path of the object, key, value) of every member of every object in ``document``."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield path, key, value
                pending.append(((*path, str(key)), value))
        elif isinstance(node, list):
            pending.extend(((*path, str(i)), item) for i, item in enumerate(node))


def schema_reference_problem(data: bytes) -> str | None:
    """Why helm would load something from outside this values.schema.json, or None."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ("is not JSON this check can read, so its references cannot be checked "
                "(helm would read it differently, or not at all)")
    for path, key, value in _walk_json(document):
        if not isinstance(value, str):
            continue  # not a reference (a property of that name, or an invalid schema)
        where = _pointer((*path, key))
        if key in _REFERENCES and not value.startswith("#"):
            return (f"{key} {inert(value, 200)} at {where} refers outside the file: helm would "
                    "load it (over the network or from the host's files); only references "
                    "inside the file (#...) are allowed")
        if key == "$schema" and value not in KNOWN_META_SCHEMAS:
            return (f"$schema {inert(value, 200)} at {where} is not a JSON Schema draft helm "
                    "knows: helm would fetch it")
    return None


# --------------------------------------------------------------------------------------------
# Packaged subcharts
# --------------------------------------------------------------------------------------------


def _member_problem(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str | None:
    name = PurePosixPath(member.name)
    if name.name.endswith(_ARCHIVE_SUFFIXES):
        return "is a packaged chart inside a packaged chart"
    wanted = name.name == SCHEMA_FILE or (
        name.suffix in _YAML_SUFFIXES and "templates" not in name.parts)
    if not member.isfile() or not wanted:
        return None
    source = archive.extractfile(member)
    data = source.read(member.size) if source is not None else b""
    if name.name == SCHEMA_FILE:
        return schema_reference_problem(data)
    try:
        yamlio.refuse_unbounded(data.decode("utf-8"), inert(member.name, 200))
    except UnicodeDecodeError:
        return None  # not text: helm refuses it
    except UserError as exc:
        return exc.rule
    return None


def archive_problem(path: Path) -> str | None:
    """What a packaged (sub)chart holds that helm must not read, as ``<member> <problem>``."""
    total = count = 0
    try:
        with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as archive:
            for member in archive:
                count += 1
                total += max(member.size, 0)
                if count > MAX_ARCHIVE_MEMBERS or total > MAX_ARCHIVE_BYTES:
                    return f"unpacks to more than {MAX_ARCHIVE_MEMBERS} files or " \
                           f"{MAX_ARCHIVE_BYTES} bytes"
                problem = _member_problem(archive, member)
                if problem:
                    return f"{inert(member.name, 200)} {problem}"
    except (tarfile.TarError, zlib.error, EOFError, OSError):
        return None  # not an archive helm can read either
    return None


# --------------------------------------------------------------------------------------------
# A chart folder
# --------------------------------------------------------------------------------------------


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every regular file below ``root``, following links that
    stay inside (the callers refused the others) and visiting each folder once."""
    pending: list[tuple[Path, str]] = [(root, "")]
    seen: set[tuple[int, int]] = set()
    count = 0
    while pending:
        folder, prefix = pending.pop()
        info = folder.stat()
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            count += 1
            if count > MAX_TREE_ENTRIES:
                raise UserError(str(root), f"holds more than {MAX_TREE_ENTRIES} files")
            try:
                mode = os.stat(entry.path).st_mode
            except OSError:
                continue  # a dangling link: nothing to read there
            if stat.S_ISDIR(mode):
                pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
            elif stat.S_ISREG(mode):
                yield f"{prefix}{entry.name}", Path(entry.path)


def _file_problem(relative: str, path: Path) -> str | None:
    parts = PurePosixPath(relative).parts
    if parts[-1] == SCHEMA_FILE:
        return schema_reference_problem(
            read_regular_file(path, MAX_REPOSITORY_FILE_BYTES, relative))
    if parts[-1].endswith(_ARCHIVE_SUFFIXES) and "charts" in parts[:-1]:
        return archive_problem(path)
    if parts[-1].endswith(_YAML_SUFFIXES) and "templates" not in parts[:-1]:
        try:
            refuse_unbounded_yaml(path, relative)
        except UserError as exc:
            return exc.rule
    return None


def chart_input_problems(chart_dir: Path) -> Iterator[tuple[str, str]]:
    """(file relative to ``chart_dir``, problem) for each file of the chart a reader must
    not be given: a schema referring outside itself, an unbounded YAML file, a packaged
    subchart holding either."""
    for relative, path in _files(chart_dir):
        problem = _file_problem(relative, path)
        if problem:
            yield relative, problem


def chart_inputs_problem(chart_dir: Path) -> str | None:
    """The first of :func:`chart_input_problems` as ``<file> <problem>``, or None."""
    for relative, problem in chart_input_problems(chart_dir):
        return f"{inert(relative, 200)} {problem}"
    return None


def refuse_unsafe_chart_inputs(root: Path, folder: str = "charts") -> None:
    """Refuse, one line naming the file, the first file of any chart under ``root/folder``
    (the platform repository's charts) that helm or the values check must not read."""
    charts = root / folder
    if not charts.is_dir():
        return
    for relative, problem in chart_input_problems(charts):
        raise UserError(f"{folder}/{inert(relative, 200)}", problem)


def refuse_unbounded_yaml(path: Path, shown: str) -> None:
    """Refuse a YAML file beyond the size, alias-expansion or depth bound (one line naming
    it as ``shown``); YAML that does not parse passes (its reader reports that)."""
    text = read_regular_file(path, MAX_REPOSITORY_FILE_BYTES, shown)
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return  # not text: every YAML reader refuses it
    yamlio.refuse_unbounded(decoded, shown)
