"""Edits to a platform-schemas-types working tree that add one workload type.

Every edit is a pure function over a file's text that changes only the lines it must and keeps
the file's own style (quote character, semicolons, indentation, line endings, whether the file
ends with a newline). When a file does not have the shape these edits expect, they refuse with
a :class:`UserError` naming the file, rather than guessing: a wrong guess in a shared types
package breaks every consumer, a refusal costs one manual edit.

All edits are idempotent: applying them to their own output changes nothing, which is what
makes a second ``schema-pr`` run report ``unchanged``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr.typescript import generate_interface_module, read_shared_types

WORKLOAD_DIR = "src/workloadChartValues"
WORKLOAD_SCHEMA_TS = f"{WORKLOAD_DIR}/workloadSchema.ts"
INDEX_TS = f"{WORKLOAD_DIR}/index.ts"
PLATFORM_TS = "src/shared/platform.ts"
SHARED_ENTRY = "src/shared/index.ts"
CATALOG_DIR = ".cat/backstage"
CATALOG_SUFFIX = ".catalog-info.yaml"
UNION_NAME = "WorkloadSchema"
BASE_CHARTS_NAME = "PlatformBaseCharts"

_IDENT = r"[A-Za-z_$][\w$]*"
_SCREAMING = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_ACRONYMS = frozenset({"ML", "AI", "GPU", "API", "HTTP", "LLM"})


@dataclass(frozen=True)
class WorkloadType:
    """A workload type and the names the repository derives from it."""

    screaming: str  # ML_INFERENCE_LOAD

    def __post_init__(self) -> None:
        if not _SCREAMING.match(self.screaming):
            raise UserError("workload type", f"{self.screaming!r} must be SCREAMING_SNAKE_CASE")

    @classmethod
    def from_kebab(cls, kebab: str) -> WorkloadType:
        return cls(kebab.replace("-", "_").upper())

    @property
    def words(self) -> list[str]:
        return self.screaming.lower().split("_")

    @property
    def kebab(self) -> str:
        return "-".join(self.words)

    @property
    def pascal(self) -> str:
        return "".join(w.capitalize() for w in self.words)

    @property
    def camel(self) -> str:
        return self.words[0] + "".join(w.capitalize() for w in self.words[1:])

    @property
    def title(self) -> str:
        return " ".join(w.upper() if w.upper() in _ACRONYMS else w.capitalize() for w in self.words)

    @property
    def interface(self) -> str:
        return f"{self.pascal}Schema"

    @property
    def module_path(self) -> str:
        return f"{WORKLOAD_DIR}/{self.camel}.ts"

    @property
    def chart_path(self) -> str:
        return f"charts/{self.kebab}"

    @property
    def catalog_path(self) -> str:
        return f"{CATALOG_DIR}/{self.kebab}{CATALOG_SUFFIX}"


ML_INFERENCE_LOAD = WorkloadType("ML_INFERENCE_LOAD")


# --------------------------------------------------------------------------------------------
# Line helpers that keep line endings and the final-newline state
# --------------------------------------------------------------------------------------------


def _eol(text: str) -> str:
    """The file's line ending (CRLF when its first line ending is one)."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _insert_after(lines: list[str], index: int, new_body: str, eol: str) -> list[str]:
    """Insert a line after ``lines[index]``; a last line without newline stays the last
    line without newline."""
    out = list(lines)
    if out[index].endswith(("\n", "\r")):
        out.insert(index + 1, new_body + eol)
    else:
        out[index] = out[index] + eol
        out.insert(index + 1, new_body)
    return out


def _refuse(path: str, rule: str) -> UserError:
    return UserError(path, rule)


# --------------------------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------------------------

_IMPORT = re.compile(
    r"^(?P<lead>\s*import\s+(?:type\s+)?\{\s*)(?P<names>[^}]*?)(?P<mid>\s*\}\s*from\s*)"
    r"(?P<q>['\"])(?P<path>[^'\"]+)(?P=q)(?P<semi>\s*;)?(?P<trail>\s*(?://.*)?)$"
)


@dataclass(frozen=True)
class _Import:
    index: int
    match: re.Match[str]

    @property
    def names(self) -> list[str]:
        return [n.split(" as ")[-1].strip() for n in self.match["names"].split(",") if n.strip()]

    @property
    def path(self) -> str:
        return self.match["path"]


def _imports(lines: list[str]) -> list[_Import]:
    found = []
    for i, line in enumerate(lines):
        match = _IMPORT.match(_body(line))
        if match:
            found.append(_Import(i, match))
    return found


def _module_of_schema(name: str) -> str | None:
    """``./basicContainerLoad`` for ``BasicContainerLoadSchema`` (the repository's naming)."""
    if not name.endswith("Schema") or name == UNION_NAME or len(name) <= len("Schema"):
        return None
    stem = name[: -len("Schema")]
    return f"./{stem[0].lower()}{stem[1:]}"


def _schema_imports(lines: list[str]) -> list[_Import]:
    """Import lines of workload schema modules, recognised by the naming convention."""
    return [
        imp for imp in _imports(lines) if any(_module_of_schema(n) == imp.path for n in imp.names)
    ]


def _majority(values: Iterable[str], tie_breaker: str) -> str:
    counts = Counter(values).most_common()
    if not counts:
        return tie_breaker
    best = counts[0][1]
    winners = {v for v, c in counts if c == best}
    return tie_breaker if tie_breaker in winners else sorted(winners)[0]


def _ensure_import(lines: list[str], path: str, wt: WorkloadType, eol: str) -> list[str]:
    """Add ``import { XSchema } from "./x"`` after the last schema import, in the style of
    the file's schema imports (majority quote and semicolon; ties go to the last line)."""
    imports = _schema_imports(lines)
    if not imports:
        raise _refuse(path, "no `import { <Name>Schema } from './<name>'` lines to extend")
    wanted = f"./{wt.camel}"
    for imp in _imports(lines):
        if wt.interface in imp.names:
            if imp.path != wanted:
                raise _refuse(
                    path, f"imports {wt.interface} from {imp.path!r}, expected {wanted!r}"
                )
            return lines
    last = imports[-1].match
    quote = _majority((i.match["q"] for i in imports), last["q"])
    semi_style = _majority(
        ("semi" if i.match["semi"] else "none" for i in imports),
        "semi" if last["semi"] else "none",
    )
    semi = (last["semi"] or ";") if semi_style == "semi" else ""
    new_line = f"{last['lead']}{wt.interface}{last['mid']}{quote}{wanted}{quote}{semi}"
    return _insert_after(lines, imports[-1].index, new_line, eol)


# --------------------------------------------------------------------------------------------
# One-line unions
# --------------------------------------------------------------------------------------------

_UNION_LINE = re.compile(
    rf"^(?P<head>\s*export\s+type\s+(?P<name>{_IDENT})\s*=\s*)"
    rf"(?P<members>\|?\s*{_IDENT}(?:\s*\|\s*{_IDENT})*)(?P<tail>\s*;?\s*(?://.*)?)$"
)
_TYPE_DECL = re.compile(rf"^\s*export\s+type\s+(?P<name>{_IDENT})\b")


def _union_members(members: str) -> list[str]:
    return [m.strip() for m in members.split("|") if m.strip()]


def _add_union_member(line: str, name: str) -> str:
    """Append ``| name`` to a one-line union, mirroring its separator spacing."""
    body = _body(line)
    ending = line[len(body) :]
    match = _UNION_LINE.match(body)
    assert match is not None
    if name in _union_members(match["members"]):
        return line
    separator = re.search(r"\s*\|\s*", match["members"].lstrip("|").strip())
    sep = separator.group(0) if separator else " | "
    members = match["members"].rstrip()
    return f"{match['head']}{members}{sep}{name}{match['tail']}{ending}"


def _union_declarations(lines: list[str], name_filter: Callable[[str], bool]) -> list[int]:
    return [
        i
        for i, line in enumerate(lines)
        if (m := _TYPE_DECL.match(_body(line))) and name_filter(m["name"])
    ]


def _extend_union_line(lines: list[str], index: int, member: str, path: str) -> list[str]:
    body = _body(lines[index])
    if not _UNION_LINE.match(body):
        raise _refuse(
            path,
            f"line {index + 1} must be a one-line union of type names "
            f"(`export type X = A | B | C;`), got: {body.strip()[:80]}",
        )
    out = list(lines)
    out[index] = _add_union_member(lines[index], member)
    return out


def add_to_workload_schema(
    text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = WORKLOAD_SCHEMA_TS
) -> str:
    """workloadSchema.ts: import the new interface and add it to ``WorkloadSchema``."""
    eol = _eol(text)
    lines = _ensure_import(_split(text), path, wt, eol)
    declarations = _union_declarations(lines, lambda n: n == UNION_NAME)
    if not declarations:
        raise _refuse(path, f"no `export type {UNION_NAME} = ...` union")
    if len(declarations) > 1:
        raise _refuse(path, f"declares {UNION_NAME} more than once")
    return "".join(_extend_union_line(lines, declarations[0], wt.interface, path))


# --------------------------------------------------------------------------------------------
# Braced lists: `export { A, B }` and `PlatformBaseCharts = { A: 'A' }`
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    start: int  # offsets in the whole text
    end: int
    key: str
    match: re.Match[str]


def _parse_braced(
    text: str, open_idx: int, close_idx: int, entry: re.Pattern[str], path: str, what: str
) -> list[_Entry]:
    """Entries between braces; anything other than entries, commas, blanks and comments
    means the list has a shape we do not edit."""
    entries: list[_Entry] = []
    pos = open_idx + 1
    filler = re.compile(r"(?:\s|,|//[^\n]*|/\*.*?\*/)*", re.S)
    while True:
        pos = filler.match(text, pos, close_idx).end()
        if pos >= close_idx:
            break
        match = entry.match(text, pos, close_idx)
        if not match:
            snippet = text[pos:close_idx].strip().splitlines()[0][:60]
            raise _refuse(path, f"{what}: unexpected entry {snippet!r}")
        entries.append(_Entry(match.start(), match.end(), match["key"], match))
        pos = match.end()
        after = filler.match(text, pos, close_idx)
        if after.end() < close_idx and "," not in text[pos : after.end()]:
            raise _refuse(path, f"{what}: entries must be separated by commas")
    return entries


def _append_braced(
    text: str, open_idx: int, close_idx: int, entries: list[_Entry], new_entry: str
) -> str:
    """Add an entry after the last one, matching the list's layout: one per line (same
    indent, comma style of the last entry) or inline."""
    last = entries[-1]
    rest_of_list = text[last.end : close_idx]
    comma = re.match(r"[ \t]*,", rest_of_list)
    multiline = "\n" in text[open_idx:close_idx]
    if not multiline:
        if comma:
            insert_at = last.end + comma.end()
            return f"{text[:insert_at]} {new_entry},{text[insert_at:]}"
        return f"{text[: last.end]}, {new_entry}{text[last.end :]}"
    line_start = text.rfind("\n", 0, last.start) + 1
    indent = re.match(r"[ \t]*", text[line_start:]).group(0)
    if line_start <= open_idx:  # last entry shares the opening line: indent one level
        indent += "  "
    eol = _eol(text)
    line_end = text.find("\n", last.end, close_idx)
    if line_end < 0:  # last entry shares the closing brace's line
        line_end = close_idx
        head = text[: last.end] + ("," if not comma else "") + text[last.end : line_end].rstrip()
        closing = text[line_end:].lstrip(" \t")
        return f"{head}{eol}{indent}{new_entry}{eol}{closing}"
    if text[line_end - 1] == "\r":
        line_end -= 1
    if comma:
        new_line = f"{eol}{indent}{new_entry},"
        return text[:line_end] + new_line + text[line_end:]
    return (
        text[: last.end]
        + ","
        + text[last.end : line_end]
        + f"{eol}{indent}{new_entry}"
        + text[line_end:]
    )


# --------------------------------------------------------------------------------------------
# index.ts
# --------------------------------------------------------------------------------------------

_EXPORT_OPEN = re.compile(r"(?m)^[ \t]*export\s+(?:type\s+)?\{")
_EXPORT_ENTRY_KEYED = re.compile(rf"(?:type\s+)?(?P<key>{_IDENT})(?:\s+as\s+{_IDENT})?")


def _local_export_blocks(text: str) -> list[tuple[int, int]]:
    """``export { ... }`` blocks without ``from`` (re-exports are not the module's list)."""
    blocks = []
    for match in _EXPORT_OPEN.finditer(text):
        open_idx = match.end() - 1
        close_idx = text.find("}", open_idx)
        if close_idx < 0:
            continue
        if re.match(r"\s*from\b", text[close_idx + 1 :]):
            continue
        blocks.append((open_idx, close_idx))
    return blocks


def _exported_names(text: str, open_idx: int, close_idx: int, path: str) -> list[_Entry]:
    entries = _parse_braced(text, open_idx, close_idx, _EXPORT_ENTRY_KEYED, path, "export block")
    names = []
    for item in entries:
        aliased = re.search(rf"\s+as\s+({_IDENT})$", item.match.group(0))
        key = aliased.group(1) if aliased else item.key
        names.append(_Entry(item.start, item.end, key, item.match))
    return names


def add_to_index(text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = INDEX_TS) -> str:
    """index.ts: import the interface, add it to the variants union(s) and the export block."""
    eol = _eol(text)
    lines = _ensure_import(_split(text), path, wt, eol)
    schema_names = {n for imp in _schema_imports(lines) for n in imp.names}
    schema_names.discard(wt.interface)

    def is_schema_union(index: int) -> bool:
        match = _UNION_LINE.match(_body(lines[index]))
        if match is None:
            return _mentions_schemas_multiline(lines, index, schema_names)
        return bool(schema_names & set(_union_members(match["members"])))

    unions = [i for i in _union_declarations(lines, lambda n: True) if is_schema_union(i)]
    if not unions:
        raise _refuse(path, "no one-line union of the workload schemas (the variants union)")
    for index in unions:
        lines = _extend_union_line(lines, index, wt.interface, path)
    return _add_to_export_block("".join(lines), wt, schema_names, path)


def _mentions_schemas_multiline(lines: list[str], index: int, names: set[str]) -> bool:
    """Whether the declaration starting at ``lines[index]`` is a union spread over several
    lines that lists workload schemas (the caller refuses to edit it). Aliases that merely
    use a schema (``Partial<XSchema>``) are not unions and are left alone."""
    parts = [_body(lines[index])]
    for line in lines[index + 1 :]:
        body = _body(line)
        if parts[-1].rstrip().endswith(";") or not body.strip():
            break
        if not (body[:1].isspace() or body.lstrip().startswith(("|", "&"))):
            break
        parts.append(body)
    declaration = " ".join(parts).split("=", 1)[-1]
    return "|" in declaration and bool(names & set(re.findall(_IDENT, declaration)))


def _add_to_export_block(text: str, wt: WorkloadType, schema_names: set[str], path: str) -> str:
    candidates = []
    for open_idx, close_idx in _local_export_blocks(text):
        entries = _exported_names(text, open_idx, close_idx, path)
        if schema_names & {e.key for e in entries} or wt.interface in {e.key for e in entries}:
            candidates.append((open_idx, close_idx, entries))
    if not candidates:
        raise _refuse(path, "no `export { ... }` block listing the workload schemas")
    if len(candidates) > 1:
        raise _refuse(path, "several `export { ... }` blocks list workload schemas")
    open_idx, close_idx, entries = candidates[0]
    if wt.interface in {e.key for e in entries}:
        return text
    return _append_braced(text, open_idx, close_idx, entries, wt.interface)


# --------------------------------------------------------------------------------------------
# platform.ts: PlatformBaseCharts
# --------------------------------------------------------------------------------------------

_BASE_CHARTS_OPEN = re.compile(
    rf"(?m)^[ \t]*export\s+const\s+{BASE_CHARTS_NAME}\b\s*(?::[^=]+)?=\s*\{{"
)
_BASE_CHART_ENTRY = re.compile(
    r"(?P<kq>['\"]?)(?P<key>[A-Za-z_$][\w$]*)(?P=kq)\s*:\s*(?P<vq>['\"])(?P<value>[^'\"\n]*)(?P=vq)"
)


def add_platform_base_chart(
    text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = PLATFORM_TS
) -> str:
    """platform.ts: add ``KEY: 'KEY'`` to ``PlatformBaseCharts`` (an ``as const`` object)."""
    opens = list(_BASE_CHARTS_OPEN.finditer(text))
    if not opens:
        raise _refuse(path, f"no `export const {BASE_CHARTS_NAME} = {{ ... }} as const`")
    if len(opens) > 1:
        raise _refuse(path, f"declares {BASE_CHARTS_NAME} more than once")
    open_idx = opens[0].end() - 1
    close_idx = text.find("}", open_idx)
    if close_idx < 0 or "{" in text[open_idx + 1 : close_idx]:
        raise _refuse(path, f"{BASE_CHARTS_NAME} must be a flat object of string entries")
    if not re.match(r"\s*as\s+const\b", text[close_idx + 1 :]):
        raise _refuse(path, f"{BASE_CHARTS_NAME} must be declared `{{ ... }} as const`")
    entries = _parse_braced(text, open_idx, close_idx, _BASE_CHART_ENTRY, path, BASE_CHARTS_NAME)
    if not entries:
        raise _refuse(path, f"{BASE_CHARTS_NAME} has no entries to follow")
    for item in entries:
        if item.key == wt.screaming:
            if item.match["value"] != wt.screaming:
                raise _refuse(
                    path,
                    f"{BASE_CHARTS_NAME}.{wt.screaming} is {item.match['value']!r}, "
                    f"expected {wt.screaming!r}",
                )
            return text
    last = entries[-1].match
    quote = _majority((e.match["vq"] for e in entries), last["vq"])
    new_entry = f"{last['kq']}{wt.screaming}{last['kq']}: {quote}{wt.screaming}{quote}"
    return _append_braced(text, open_idx, close_idx, entries, new_entry)


def platform_base_chart_keys(text: str, path: str = PLATFORM_TS) -> list[str]:
    """The workload types PlatformBaseCharts lists (for choosing a catalog sibling)."""
    opens = list(_BASE_CHARTS_OPEN.finditer(text))
    if len(opens) != 1:
        return []
    open_idx = opens[0].end() - 1
    close_idx = text.find("}", open_idx)
    if close_idx < 0:
        return []
    try:
        entries = _parse_braced(
            text, open_idx, close_idx, _BASE_CHART_ENTRY, path, BASE_CHARTS_NAME
        )
    except UserError:
        return []
    return [e.key for e in entries]


# --------------------------------------------------------------------------------------------
# Backstage catalog entry, written after a sibling's
# --------------------------------------------------------------------------------------------


def _name_forms(wt: WorkloadType) -> list[str]:
    """Spellings of a workload type that catalog entries use, in a fixed order of kinds."""
    return [
        wt.screaming,
        wt.kebab,
        wt.pascal,
        wt.camel,
        wt.title,
        " ".join(w.capitalize() for w in wt.words),
        " ".join(wt.words),
    ]


def _renames(old: WorkloadType, new: WorkloadType) -> list[tuple[str, str]]:
    """(old spelling, new spelling) pairs, longest old spelling first so that no shorter
    spelling rewrites part of a longer one."""
    pairs: dict[str, str] = {}
    for before, after in zip(_name_forms(old), _name_forms(new), strict=True):
        pairs.setdefault(before, after)  # the first kind wins (title keeps acronyms)
    return sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)


def _yaml_scalar(value: str) -> str:
    """A one-line YAML scalar: plain when unambiguous, else double-quoted (JSON is YAML)."""
    plain_ok = (
        value == value.strip()
        and value
        and not re.search(r":\s|\s#|[\n\"'`{}\[\],&*!|>%@]", value)
        and not re.match(r"^[-?:]", value)
        and yaml.safe_load(value) == value
    )
    return value if plain_ok else json.dumps(value, ensure_ascii=False)


def render_catalog_entry(
    sibling_text: str, sibling: WorkloadType, wt: WorkloadType, description: str, path: str
) -> str:
    """The sibling's catalog entry with every spelling of its name replaced by ours and its
    description replaced by the chart's; layout, owner, system, links stay as they are."""
    text = sibling_text
    for old, new in _renames(sibling, wt):
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)
    text = _replace_description(text, " ".join(description.split()), path)
    _check_catalog_entry(text, wt, path)
    return text


def _indent_of(line: str) -> int:
    body = _body(line)
    return len(body) - len(body.lstrip())


def _replace_description(text: str, description: str, path: str) -> str:
    """Swap the value of ``metadata.description`` (plain, quoted or block scalar) for ours."""
    lines = _split(text)
    meta = next(
        (i for i, line in enumerate(lines) if re.match(r"^metadata:\s*$", _body(line))), None
    )
    if meta is None:
        raise _refuse(path, "sibling catalog entry has no top-level metadata")
    level: int | None = None
    for i in range(meta + 1, len(lines)):
        body = _body(lines[i])
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        if not body[0].isspace():
            break
        level = _indent_of(lines[i]) if level is None else level
        if _indent_of(lines[i]) != level or not re.match(r"^\s*description:(\s|$)", body):
            continue
        end = i + 1
        while end < len(lines) and (
            not _body(lines[end]).strip() or _indent_of(lines[end]) > level
        ):
            end += 1
        while end > i + 1 and not _body(lines[end - 1]).strip():
            end -= 1
        ending = lines[end - 1][len(_body(lines[end - 1])) :]
        new = f"{' ' * level}description: {_yaml_scalar(description)}{ending}"
        return "".join([*lines[:i], new, *lines[end:]])
    raise _refuse(path, "sibling catalog entry has no metadata.description to follow")


def _check_catalog_entry(text: str, wt: WorkloadType, path: str) -> None:
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise _refuse(path, f"catalog entry does not parse: {exc}") from exc
    component = next(
        (d for d in documents if isinstance(d, dict) and d.get("kind") == "Component"), None
    )
    if component is None:
        raise _refuse(path, "sibling catalog entry has no Component document")
    spec = component.get("spec") or {}
    if spec.get("type") != "platform-base-chart":
        raise _refuse(path, "sibling catalog entry is not a platform-base-chart Component")
    if not _mentions(component, wt.chart_path):
        raise _refuse(path, "sibling catalog entry does not name its chart path (charts/<name>)")


def _mentions(node: object, needle: str) -> bool:
    if isinstance(node, str):
        return node.rstrip("/").endswith(needle) or f"{needle}/" in node or node == needle
    if isinstance(node, Mapping):
        return any(_mentions(v, needle) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, needle) for v in node)
    return False


def choose_catalog_sibling(tree: Path, known_types: Iterable[str], wt: WorkloadType) -> Path:
    """The first (by name) catalog entry of another platform base chart that
    PlatformBaseCharts lists: the workload types whose entries ours should look like."""
    known = {WorkloadType(k).kebab for k in known_types if _SCREAMING.match(k)}
    directory = tree / CATALOG_DIR
    candidates = sorted(directory.glob(f"*{CATALOG_SUFFIX}")) if directory.is_dir() else []
    for candidate in candidates:
        kebab = candidate.name[: -len(CATALOG_SUFFIX)]
        if kebab in known and kebab != wt.kebab:
            try:
                documents = list(yaml.safe_load_all(candidate.read_text(encoding="utf-8")))
            except yaml.YAMLError:
                continue
            if any(
                isinstance(d, dict) and (d.get("spec") or {}).get("type") == "platform-base-chart"
                for d in documents
            ):
                return candidate
    raise _refuse(
        CATALOG_DIR,
        f"no <name>{CATALOG_SUFFIX} of a platform-base-chart listed in {BASE_CHARTS_NAME} "
        "to follow",
    )


# --------------------------------------------------------------------------------------------
# Chart files
# --------------------------------------------------------------------------------------------

_VERSION_LINE = re.compile(r"(?m)^version:[ \t]*['\"]?(?P<v>[^'\"\s#]+)['\"]?[ \t]*(?:#.*)?$")


def chart_version(chart_yaml: str) -> str | None:
    match = _VERSION_LINE.search(chart_yaml)
    return match["v"] if match else None


def keep_published_version(new_chart_yaml: str, existing_chart_yaml: str | None, path: str) -> str:
    """The repository's CI bumps a chart's patch version when it changes on main, so a PR
    never sets the version of a chart that already exists: it keeps the one on the branch."""
    version = chart_version(new_chart_yaml)
    if version is None or not _SEMVER.match(version):
        raise _refuse(path, f"Chart.yaml version {version!r} is not valid semver")
    if existing_chart_yaml is None:
        return new_chart_yaml
    published = chart_version(existing_chart_yaml)
    if published is None or not _SEMVER.match(published) or published == version:
        return new_chart_yaml
    return _VERSION_LINE.sub(lambda m: m.group(0).replace(m["v"], published, 1), new_chart_yaml, 1)


def _tree_files(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------------------------
# The change set
# --------------------------------------------------------------------------------------------

GENERATED_HEADER = (
    "Generated by inference-scaffolder from {chart}/values.schema.json.\n"
    "Do not edit by hand: change the schema and run `inference-scaffolder schema-pr`."
)


@dataclass
class ChangeSet:
    """Files to write (only those whose content differs) and to delete, repo-relative."""

    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return sorted({*self.writes, *self.deletes})

    def is_empty(self) -> bool:
        return not self.writes and not self.deletes


def _read(tree: Path, path: str) -> str:
    file = tree / path
    if not file.is_file():
        raise _refuse(path, "missing: is --repo a platform-schemas-types repository?")
    return file.read_bytes().decode("utf-8")


def _text_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def plan_change_set(
    tree: Path,
    chart_dir: Path,
    wt: WorkloadType = ML_INFERENCE_LOAD,
    *,
    render_required: Iterable[str] = (),
) -> ChangeSet:
    """Everything that adds (or brings up to date) ``wt`` in the working tree ``tree``,
    with ``chart_dir`` holding the chart to publish. Reads the tree, writes nothing.
    ``render_required``: see :func:`typescript.generate_interface_module`."""
    changes = ChangeSet()

    def propose(path: str, content: bytes) -> None:
        current = tree / path
        if not current.is_file() or current.read_bytes() != content:
            changes.writes[path] = content

    for path, edit in (
        (WORKLOAD_SCHEMA_TS, add_to_workload_schema),
        (INDEX_TS, add_to_index),
        (PLATFORM_TS, add_platform_base_chart),
    ):
        propose(path, _text_bytes(edit(_read(tree, path), wt, path)))

    _plan_chart(tree, chart_dir, wt, propose, changes)
    module = _interface_module(tree, chart_dir, wt, tuple(render_required))
    propose(wt.module_path, _text_bytes(module))
    if not (tree / wt.catalog_path).exists():
        platform = (tree / PLATFORM_TS).read_text(encoding="utf-8")
        sibling_path = choose_catalog_sibling(tree, platform_base_chart_keys(platform), wt)
        sibling = WorkloadType.from_kebab(sibling_path.name[: -len(CATALOG_SUFFIX)])
        description = _chart_description(chart_dir, wt)
        entry = render_catalog_entry(
            sibling_path.read_bytes().decode("utf-8"), sibling, wt, description, wt.catalog_path
        )
        propose(wt.catalog_path, _text_bytes(entry))
    return changes


def _plan_chart(
    tree: Path,
    chart_dir: Path,
    wt: WorkloadType,
    propose: Callable[[str, bytes], None],
    changes: ChangeSet,
) -> None:
    new_files = _tree_files(chart_dir)
    if "Chart.yaml" not in new_files:
        raise _refuse(f"{wt.chart_path}/Chart.yaml", "the chart to publish has no Chart.yaml")
    existing = _tree_files(tree / wt.chart_path)
    existing_chart = existing.get("Chart.yaml")
    new_files["Chart.yaml"] = _text_bytes(
        keep_published_version(
            new_files["Chart.yaml"].decode("utf-8"),
            existing_chart.decode("utf-8") if existing_chart is not None else None,
            f"{wt.chart_path}/Chart.yaml",
        )
    )
    for rel, content in new_files.items():
        propose(f"{wt.chart_path}/{rel}", content)
    changes.deletes.extend(f"{wt.chart_path}/{rel}" for rel in existing if rel not in new_files)


def _chart_description(chart_dir: Path, wt: WorkloadType) -> str:
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8")) or {}
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        return f"{wt.screaming} platform base chart."
    return description


def _interface_module(
    tree: Path, chart_dir: Path, wt: WorkloadType, render_required: tuple[str, ...]
) -> str:
    schema_file = chart_dir / "values.schema.json"
    if not schema_file.is_file():
        raise _refuse(f"{wt.chart_path}/values.schema.json", "the chart has no values schema")
    try:
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _refuse(f"{wt.chart_path}/values.schema.json", f"not JSON: {exc}") from exc
    return generate_interface_module(
        schema,
        wt.interface,
        shared=read_shared_types(tree / SHARED_ENTRY),
        discriminator=("workloadType", wt.screaming),
        render_required=render_required,
        header=GENERATED_HEADER.format(chart=wt.chart_path),
        where=f"{wt.chart_path}/values.schema.json",
    )


def apply_change_set(tree: Path, changes: ChangeSet) -> None:
    """Write the planned files into the working tree (a throw-away clone)."""
    for rel, content in changes.writes.items():
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for rel in changes.deletes:
        target = tree / rel
        if target.is_file() or target.is_symlink():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
