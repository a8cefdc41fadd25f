"""What the platform repository already holds of a workload type, against what schema-pr adds.

The repository is shared: a team may have published its own chart and interface for the
workload type before the scaffolder's (the real platform-schemas-types did, by hand). Such a
chart has consumers, so it is never replaced silently: this module compares the base
branch's chart folder and interface module with the proposed ones and describes every
difference a reviewer must weigh: files added, removed or changed, ``Chart.yaml`` fields,
values keys (from the two values schemas, by property path and type), interface members
(from the TypeScript parser's listing, see ``tools/ts-edit.cjs``) and whether the existing
values files still validate once the new chart reads them.

Everything here reads files of the repository, so everything is bounded (the confined tree's
readers, caps on schema walks) and every piece of repository text that reaches a terminal or
a pull request body goes through :func:`inert` first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from inference_scaffolder import yamlio
from inference_scaffolder.chart import coalesce_values
from inference_scaffolder.errors import UserError
from inference_scaffolder.errors import inert as inert_text
from inference_scaffolder.platform_pr.edits import WorkloadType
from inference_scaffolder.safe_fs import ConfinedTree

# Caps for walking a schema the repository wrote (references can make a small schema
# describe an unbounded tree) and for what a report shows.
MAX_KEYS = 5000
MAX_VISITS = 50_000
MAX_DEPTH = 24
MAX_SHOWN_CHARS = 160
MAX_ERRORS_PER_FILE = 3
# GitHub refuses a pull request body over 65 536 characters; the report leaves room for the rest.
MAX_BODY_REPORT_CHARS = 40_000
CHART_FIELDS = (
    "name", "version", "appVersion", "description", "type", "kubeVersion", "maintainers",
    "keywords", "home", "sources", "icon", "dependencies", "annotations", "deprecated",
)


# --------------------------------------------------------------------------------------------
# Inert text
# --------------------------------------------------------------------------------------------


def inert(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """Repository text as the report shows it (see :func:`errors.inert`), shorter."""
    return inert_text(value, limit)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass
class KeyChanges:
    """Paths only one side has, and paths whose type differs (``existing`` -> ``proposed``)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[dict[str, str]] = field(default_factory=list)
    truncated: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def as_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "retyped": self.retyped,
                "truncated": self.truncated}

    def counts(self, noun: str) -> str:
        parts = [f"{len(items)} {word}" for items, word in
                 ((self.removed, "removed"), (self.added, "added"), (self.retyped, "retyped"))
                 if items]
        return f"{noun}: {', '.join(parts)}" if parts else ""


@dataclass
class ValuesFileCheck:
    """One values file of the existing chart, read by the new chart (its defaults merged)."""

    file: str
    valid: bool
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "valid": self.valid, "errors": self.errors}


@dataclass
class ChartDifferences:
    path: str
    version: str | None
    added: list[str]
    removed: list[str]
    changed: list[str]
    chart_yaml: list[dict[str, str]]
    values_keys: KeyChanges
    values_source: str
    values_files: list[ValuesFileCheck]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "files": {"added": self.added, "removed": self.removed, "changed": self.changed},
            "chart_yaml": self.chart_yaml,
            "values_keys": {"source": self.values_source, **self.values_keys.as_json()},
            "values_files": [check.as_json() for check in self.values_files],
        }


@dataclass
class InterfaceDifferences:
    path: str
    name: str
    members: KeyChanges
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "note": self.note,
                "members": self.members.as_json()}


@dataclass
class Differences:
    """How the base branch's version of the workload type differs from the proposed one."""

    base: str
    chart: ChartDifferences | None
    interface: InterfaceDifferences | None

    def as_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "base": self.base,
            "chart": self.chart.as_json() if self.chart else None,
            "interface": self.interface.as_json() if self.interface else None,
        }

    def summary(self) -> str:
        """One line saying what differs (the caller says what it did about it)."""
        parts = []
        if self.chart:
            parts.append(f"{self.chart.path} {self.chart.version or '(no version)'} on "
                         f"{self.base} differs from the scaffolder's chart "
                         f"({'; '.join(self._chart_counts())})")
        if self.interface:
            counts = self.interface.members.counts("members") or "module text"
            parts.append(f"{self.interface.name} differs ({counts})")
        return " and ".join(parts)

    def _chart_counts(self) -> list[str]:
        chart = self.chart
        assert chart is not None
        files = [f"{len(items)} {word}" for items, word in
                 ((chart.removed, "removed"), (chart.added, "added"), (chart.changed, "changed"))
                 if items]
        counts = [f"files: {', '.join(files)}"] if files else []
        if chart.chart_yaml:
            counts.append("Chart.yaml: " + ", ".join(d["field"] for d in chart.chart_yaml))
        if chart.values_keys:
            counts.append(chart.values_keys.counts("values keys"))
        invalid = [check.file for check in chart.values_files if not check.valid]
        if invalid:
            counts.append(f"invalid under the new schema: {', '.join(invalid)}")
        return counts

    def lines(self, limit: int = 20) -> list[str]:
        """The report as plain text lines, lists cut after ``limit`` items."""
        out: list[str] = []
        if self.chart:
            out += _chart_lines(self.chart, self.base, limit)
        if self.interface:
            out += _interface_lines(self.interface, self.base, limit)
        return out

    def markdown(self, limit: int = 300) -> str:
        """The report for a pull request body: prose around a fenced block, so that nothing
        from the repository is read as Markdown, HTML or a mention."""
        text = "\n".join(self.lines(limit))
        if len(text) > MAX_BODY_REPORT_CHARS:
            text = (text[:MAX_BODY_REPORT_CHARS].rsplit("\n", 1)[0] + "\n(the report is cut "
                    "here: `schema-pr --json` without --update-existing prints all of it)")
        fence = "`" * max(3, _longest_run(text, "`") + 1)
        base = self.base.replace("`", "'")  # a branch name may hold one; it must not end the span
        return (
            f"### Replaces what `{base}` already has\n\n"
            f"`{base}` already holds a different version of this workload type. This pull "
            "request replaces it (it was opened with `--update-existing`); every file it "
            "removes is listed below. Review what changes for the chart's consumers:\n\n"
            f"{fence}text\n{text}\n{fence}\n"
        )


def _longest_run(text: str, char: str) -> int:
    longest = current = 0
    for c in text:
        current = current + 1 if c == char else 0
        longest = max(longest, current)
    return longest


def _listed(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def _chart_lines(chart: ChartDifferences, base: str, limit: int) -> list[str]:
    out = [f"chart {chart.path} (version {chart.version or 'unset'} on {base}):"]
    for items, word in ((chart.removed, "removed"), (chart.added, "added"),
                        (chart.changed, "changed")):
        if items:
            out.append(f"  files {word} ({len(items)}): {_listed(items, limit)}")
    for entry in chart.chart_yaml:
        note = f" ({entry['note']})" if entry.get("note") else ""
        out.append(f"  Chart.yaml {entry['field']}: {entry['existing']} -> "
                   f"{entry['proposed']}{note}")
    out += _key_lines(chart.values_keys, f"values keys (from {chart.values_source})", limit)
    for check in chart.values_files:
        verdict = "still valid" if check.valid else "NOT valid: " + "; ".join(check.errors)
        out.append(f"  {check.file} with the new chart: {verdict}")
    return out


def _interface_lines(interface: InterfaceDifferences, base: str, limit: int) -> list[str]:
    out = [f"interface {interface.name} ({interface.path} on {base}):"]
    if interface.note:
        out.append(f"  {interface.note}")
    out += _key_lines(interface.members, "members", limit)
    if not interface.members and not interface.note:
        out.append("  same members; the module text differs")
    return out


def _key_lines(changes: KeyChanges, noun: str, limit: int) -> list[str]:
    out = []
    for items, word in ((changes.removed, "removed"), (changes.added, "added")):
        if items:
            out.append(f"  {noun} {word} ({len(items)}): {_listed(items, limit)}")
    if changes.retyped:
        shown = [f"{r['key']}: {r['existing']} -> {r['proposed']}" for r in changes.retyped]
        out.append(f"  {noun} retyped ({len(shown)}): {_listed(shown, limit)}")
    if changes.truncated:
        out.append(f"  ({noun}: only the first {MAX_KEYS} were compared)")
    return out


# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------


def compare_existing(
    base: ConfinedTree,
    base_name: str,
    proposed: Mapping[str, bytes],
    members: Mapping[str, Any] | None,
    scaffolder_chart_yaml: str,
    wt: WorkloadType,
) -> Differences | None:
    """The differences between what ``base`` (the base branch) holds of ``wt`` and the
    ``proposed`` files (repository path -> content); None when the base branch has neither
    the chart nor the interface, or has exactly what is proposed."""
    chart = _compare_chart(base, proposed, scaffolder_chart_yaml, wt)
    interface = _compare_interface(base, proposed, members, wt)
    if chart is None and interface is None:
        return None
    return Differences(inert(base_name), chart, interface)


def _chart_files(proposed: Mapping[str, bytes], wt: WorkloadType) -> dict[str, bytes]:
    prefix = f"{wt.chart_path}/"
    return {p[len(prefix):]: c for p, c in proposed.items() if p.startswith(prefix)}


def _compare_chart(
    base: ConfinedTree, proposed_all: Mapping[str, bytes], scaffolder_chart_yaml: str,
    wt: WorkloadType,
) -> ChartDifferences | None:
    existing = base.files(wt.chart_path)
    proposed = _chart_files(proposed_all, wt)
    if not existing or existing == proposed:
        return None
    existing_meta = _yaml_mapping(existing.get("Chart.yaml"), f"{wt.chart_path}/Chart.yaml")
    keys, source = _values_key_changes(existing, proposed, wt)
    return ChartDifferences(
        path=wt.chart_path,
        version=inert(existing_meta["version"]) if "version" in existing_meta else None,
        added=sorted(inert(p) for p in proposed if p not in existing),
        removed=sorted(inert(p) for p in existing if p not in proposed),
        changed=sorted(inert(p) for p in existing if p in proposed and existing[p] != proposed[p]),
        chart_yaml=_chart_yaml_changes(existing_meta, scaffolder_chart_yaml, proposed, wt),
        values_keys=keys,
        values_source=source,
        values_files=_values_file_checks(existing, proposed, wt),
    )


def removed_paths(differences: Differences | None, wt: WorkloadType) -> set[str]:
    """Repository paths the report names as removed (the only files a change may delete
    from what the base branch has)."""
    if differences is None or differences.chart is None:
        return set()
    return {f"{wt.chart_path}/{p}" for p in differences.chart.removed}


# -- Chart.yaml ------------------------------------------------------------------------------


def _yaml_mapping(data: bytes | None, shown: str) -> dict[str, Any]:
    """A YAML mapping of the repository, or {} when it is missing or not a mapping (the
    report then shows its fields as unset rather than stopping)."""
    if data is None:
        return {}
    try:
        loaded = yamlio.load_repository_text(data.decode("utf-8", errors="replace"), shown)
    except UserError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _chart_yaml_changes(
    existing: Mapping[str, Any], scaffolder_chart_yaml: str, proposed: Mapping[str, bytes],
    wt: WorkloadType,
) -> list[dict[str, str]]:
    """Chart.yaml fields whose value differs, the scaffolder's own version shown as such
    (the branch keeps the published version: the repository's CI bumps it on merge)."""
    ours = yaml.safe_load(scaffolder_chart_yaml) or {}
    written = _yaml_mapping(proposed.get("Chart.yaml"), f"{wt.chart_path}/Chart.yaml")
    changes = []
    for name in CHART_FIELDS:
        before, after = existing.get(name), ours.get(name)
        if before == after:
            continue
        entry = {"field": name, "existing": _shown_value(before), "proposed": _shown_value(after)}
        if name == "version" and written.get("version") != after:
            entry["note"] = (f"the branch keeps {_shown_value(written.get('version'))}: the "
                             "repository's CI bumps the patch version on merge")
        changes.append(entry)
    return changes


def _shown_value(value: object) -> str:
    return "unset" if value is None else inert(value)


# -- values keys -----------------------------------------------------------------------------


def _values_key_changes(
    existing: Mapping[str, bytes], proposed: Mapping[str, bytes], wt: WorkloadType
) -> tuple[KeyChanges, str]:
    """Keys of the two charts' values by path and type: from the values schemas when the
    existing chart has a readable one, else from the two values.yaml files."""
    before = _schema_of(existing.get("values.schema.json"))
    after = _schema_of(proposed.get("values.schema.json"))
    if before is not None and after is not None:
        old_keys, old_cut = schema_keys(before)
        new_keys, new_cut = schema_keys(after)
        source = "values.schema.json"
    else:
        old_keys, old_cut = yaml_keys(_values_of(existing.get("values.yaml"), wt))
        new_keys, new_cut = yaml_keys(_values_of(proposed.get("values.yaml"), wt))
        source = "values.yaml"
    changes = diff_keys(old_keys, new_keys)
    changes.truncated = old_cut or new_cut
    return changes, source


def _schema_of(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        loaded = json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _values_of(data: bytes | None, wt: WorkloadType) -> Any:
    if data is None:
        return {}
    try:
        return yamlio.load_repository_text(data.decode("utf-8", errors="replace"),
                                           f"{wt.chart_path}/values.yaml")
    except UserError:
        return {}


def diff_keys(before: Mapping[str, str], after: Mapping[str, str]) -> KeyChanges:
    """Removed paths one by one (the deepest: each one breaks a consumer that sets it),
    added paths by the root of each new subtree (``engineDefaults``, not its 40 keys), and
    paths both sides have with different types."""
    removed = _deepest([k for k in before if k not in after])
    added = _topmost([k for k in after if k not in before])
    retyped = [
        {"key": inert(k), "existing": inert(before[k]), "proposed": inert(after[k])}
        for k in before if k in after and before[k] != after[k]
    ]
    return KeyChanges([inert(k) for k in added], [inert(k) for k in removed], retyped)


def _deepest(paths: list[str]) -> list[str]:
    """The paths without a listed descendant (``inference.maxInputLength``, not also
    ``inference``), in their original order."""
    parents = {a for p in paths for a in _ancestors(p)}
    return [p for p in paths if p not in parents]


def _ancestors(path: str) -> Iterator[str]:
    """``a.b[].c`` -> ``a.b[]``, ``a.b``, ``a``."""
    while True:
        if path.endswith("[]"):
            path = path[:-2]
        elif "." in path:
            path = path.rsplit(".", 1)[0]
        else:
            return
        yield path


def _topmost(paths: list[str]) -> list[str]:
    """The paths without a listed ancestor, in their original order."""
    listed = set(paths)
    return [p for p in paths if not any(a in listed for a in _ancestors(p))]


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _SchemaWalk:
    """Property paths of a JSON Schema with their types, ``$ref`` inside the document
    followed, bounded in keys, visits and depth whatever the schema does."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.keys: dict[str, str] = {}
        self.visits = 0
        self.truncated = False
        self._types: dict[int, str] = {}  # by node: each subschema's type is worked out once

    def resolve(self, node: Any, refs: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
        """The node a local ``$ref`` points at (None for a cycle or an outside reference)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in refs or len(refs) > MAX_DEPTH:
                return None, refs
            refs = (*refs, ref)
            node = _pointer(self.schema, ref[1:])
        return node, refs

    def type_of(self, node: Any, refs: tuple[str, ...], depth: int = 0) -> str:
        node, refs = self.resolve(node, refs)
        self.visits += 1
        if not isinstance(node, dict) or depth > MAX_DEPTH or self.visits > MAX_VISITS:
            return "any"
        known = self._types.get(id(node))
        if known is None:
            known = self._types[id(node)] = self._own_type(node, refs, depth)
        return known

    def _own_type(self, node: dict[str, Any], refs: tuple[str, ...], depth: int) -> str:
        declared = node.get("type")
        if isinstance(declared, str):
            return declared
        if isinstance(declared, list):
            return " | ".join(sorted({str(t) for t in declared}))
        if "const" in node:
            return _json_type(node["const"])
        if isinstance(node.get("enum"), list):
            return " | ".join(sorted({_json_type(v) for v in node["enum"]}))
        alternatives = [*_subschemas(node, "anyOf"), *_subschemas(node, "oneOf")]
        if alternatives:
            types = {self.type_of(a, refs, depth + 1) for a in alternatives[:32]}
            return " | ".join(sorted(types))
        return "object" if isinstance(node.get("properties"), dict) else "any"

    def visit(self, node: Any, path: str, refs: tuple[str, ...], depth: int,
              record: bool = True) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS or len(self.keys) >= MAX_KEYS or depth > MAX_DEPTH:
            self.truncated = True
            return
        resolved, refs = self.resolve(node, refs)
        if not isinstance(resolved, dict):
            return
        if path and record:
            self.keys.setdefault(path, self.type_of(resolved, refs))
        properties = resolved.get("properties")
        if isinstance(properties, dict):
            for key, sub in properties.items():
                self.visit(sub, f"{path}.{key}" if path else str(key), refs, depth + 1)
        if isinstance(resolved.get("items"), dict):
            self.visit(resolved["items"], f"{path}[]", refs, depth + 1)
        if isinstance(resolved.get("additionalProperties"), dict):
            self.visit(resolved["additionalProperties"], f"{path}.*" if path else "*", refs,
                       depth + 1)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in _subschemas(resolved, keyword):
                self.visit(sub, path, refs, depth + 1, record=False)


def _subschemas(node: Mapping[str, Any], keyword: str) -> list[Any]:
    value = node.get(keyword)
    return value if isinstance(value, list) else []


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def schema_keys(schema: dict[str, Any]) -> tuple[dict[str, str], bool]:
    """Every property path of a values schema (``container.secrets[].name``) with its type,
    and whether the walk hit its bounds."""
    walk = _SchemaWalk(schema)
    walk.visit(schema, "", (), 0)
    return walk.keys, walk.truncated


def yaml_keys(values: Any) -> tuple[dict[str, str], bool]:
    """Every key path of a values document with the type of its value (lists: their first
    mapping's keys under ``[]``), and whether the walk hit its bounds."""
    keys: dict[str, str] = {}
    truncated = False
    pending: list[tuple[str, Any, int]] = [("", values, 0)]
    while pending:
        path, node, depth = pending.pop()
        if len(keys) >= MAX_KEYS or depth > MAX_DEPTH:
            truncated = True
            break
        if path:
            keys[path] = _json_type(node)
        if isinstance(node, dict):
            pending += [(f"{path}.{k}" if path else str(k), v, depth + 1)
                        for k, v in reversed(list(node.items()))]
        elif isinstance(node, list):
            first = next((item for item in node if isinstance(item, dict)), None)
            if first is not None:
                pending.append((f"{path}[]", first, depth + 1))
    return keys, truncated


# -- values files under the new schema -------------------------------------------------------


def _existing_values_files(existing: Mapping[str, bytes]) -> list[str]:
    """The chart's own values files: values*.yaml beside Chart.yaml and ci/*.yaml."""
    found = []
    for path in existing:
        parts = PurePosixPath(path).parts
        yamlish = path.endswith((".yaml", ".yml"))
        top_level = len(parts) == 1 and parts[0].startswith("values")
        if yamlish and (top_level or (len(parts) == 2 and parts[0] == "ci")):
            found.append(path)
    return sorted(found, key=lambda p: (p != "values.yaml", p))


def _values_file_checks(
    existing: Mapping[str, bytes], proposed: Mapping[str, bytes], wt: WorkloadType
) -> list[ValuesFileCheck]:
    """Each existing values file as the new chart would read it (its values.yaml with the
    file merged over it), checked against the new schema."""
    schema = _schema_of(proposed.get("values.schema.json"))
    if schema is None:
        return []
    try:
        validator = Draft202012Validator(schema)
    except SchemaError:
        return []
    defaults = _values_of(proposed.get("values.yaml"), wt)
    return [_check_values_file(validator, defaults, existing[path], path, wt)
            for path in _existing_values_files(existing)]


def _check_values_file(
    validator: Draft202012Validator, defaults: Any, data: bytes, path: str, wt: WorkloadType
) -> ValuesFileCheck:
    shown = inert(path)
    try:
        values = yamlio.load_repository_text(data.decode("utf-8", errors="replace"),
                                             f"{wt.chart_path}/{path}")
    except UserError as exc:
        return ValuesFileCheck(shown, False, [inert(exc.rule)])
    try:
        effective = coalesce_values(defaults, values or {}, effective=True)
        errors = list(_first_errors(validator, effective))
    except RecursionError:
        errors = ["nested too deeply to check"]
    return ValuesFileCheck(shown, not errors, errors)


def _first_errors(validator: Draft202012Validator, values: Any) -> Iterator[str]:
    for count, error in enumerate(validator.iter_errors(values)):
        if count >= MAX_ERRORS_PER_FILE:
            yield "..."
            return
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        yield inert(f"{where}: {error.message}")


# -- the interface ---------------------------------------------------------------------------


def _compare_interface(
    base: ConfinedTree, proposed: Mapping[str, bytes], members: Mapping[str, Any] | None,
    wt: WorkloadType,
) -> InterfaceDifferences | None:
    existing = base.read(wt.module_path)
    if existing is None or existing == proposed.get(wt.module_path):
        return None
    listings = members or {}
    before, before_note = _member_types(listings.get("existing"), "the existing module")
    after, after_note = _member_types(listings.get("proposed"), "the generated module")
    note = before_note or after_note
    changes = diff_keys(before, after) if note is None else KeyChanges()
    changes.truncated = any(bool((listings.get(side) or {}).get("truncated"))
                            for side in ("existing", "proposed"))
    return InterfaceDifferences(wt.module_path, wt.interface, changes, note)


def _member_types(listing: Mapping[str, Any] | None, which: str
                  ) -> tuple[dict[str, str], str | None]:
    """path -> type (``... (optional)`` for an optional member) of a ts-edit.cjs member
    listing, or a note saying why there is none."""
    if not listing:
        return {}, f"{which} was not read"
    error = listing.get("error")
    if error:
        return {}, inert(f"{which} cannot be compared: {error.get('rule', '')}")
    members: Iterable[Mapping[str, Any]] = listing.get("members") or []
    return {
        str(m["path"]): str(m["type"]) + (" (optional)" if m.get("optional") else "")
        for m in members
    }, None
