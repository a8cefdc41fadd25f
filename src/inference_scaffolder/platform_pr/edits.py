"""Edits to a platform-schemas-types working tree that add one workload type.

Every edit is a pure function over a file's text that changes only the lines it must and keeps
the file's own style (quote character, semicolons, indentation, line endings, whether the file
ends with a newline). The TypeScript files are read with the TypeScript parser
(``tools/ts-edit.cjs``): declarations are found by syntax, in linear time whatever the
formatting, and new text goes in at the spans the parser reports. The YAML files (the catalog
entry, Chart.yaml) are edited on ruamel's round-trip form, written back in the file's own
indentation with its comments, order and quotes. When a file does not have
the shape these edits expect, they refuse with a :class:`UserError` naming the file, rather
than guessing: a wrong guess in a shared types package breaks every consumer, a refusal costs
one manual edit.

All edits are idempotent: applying them to their own output changes nothing, which is what
makes a second ``schema-pr`` run report ``unchanged``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr.node_tools import raise_refusal, run_node_tool
from inference_scaffolder.platform_pr.typescript import interface_request, interface_text
from inference_scaffolder.safe_fs import ConfinedTree

WORKLOAD_DIR = "src/workloadChartValues"
WORKLOAD_SCHEMA_TS = f"{WORKLOAD_DIR}/workloadSchema.ts"
INDEX_TS = f"{WORKLOAD_DIR}/index.ts"
PLATFORM_TS = "src/shared/platform.ts"
SHARED_ENTRY = "src/shared/index.ts"
CATALOG_DIR = ".cat/backstage"
CATALOG_SUFFIX = ".catalog-info.yaml"
BASE_CHARTS_NAME = "PlatformBaseCharts"

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


def _refuse(path: str, rule: str) -> UserError:
    return UserError(path, rule)


# --------------------------------------------------------------------------------------------
# TypeScript edits (tools/ts-edit.cjs: located with the TypeScript parser)
# --------------------------------------------------------------------------------------------

# The edits by file: what tools/ts-edit.cjs calls each one.
TS_EDITS = {
    WORKLOAD_SCHEMA_TS: "workloadSchema",  # import + the WorkloadSchema union
    INDEX_TS: "index",  # import + the variants union(s) + the export { ... } block
    PLATFORM_TS: "platform",  # the PlatformBaseCharts entry
}


def _workload_request(wt: WorkloadType) -> dict[str, str]:
    return {"interface": wt.interface, "module": f"./{wt.camel}", "key": wt.screaming}


def _edit_request(kind: str, path: str, text: str) -> dict[str, str]:
    return {"kind": kind, "path": path, "text": text}


def _edited_text(answer: dict[str, Any]) -> str:
    raise_refusal(answer)
    return str(answer["text"])


def _edit_one(kind: str, text: str, wt: WorkloadType, path: str) -> str:
    request = {"workload": _workload_request(wt), "edits": [_edit_request(kind, path, text)]}
    return _edited_text(run_node_tool("ts-edit.cjs", request)["edits"][0])


def add_to_workload_schema(
    text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = WORKLOAD_SCHEMA_TS
) -> str:
    """workloadSchema.ts: import the new interface and add it to ``WorkloadSchema``."""
    return _edit_one("workloadSchema", text, wt, path)


def add_to_index(text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = INDEX_TS) -> str:
    """index.ts: import the interface, add it to the variants union(s) and the export block."""
    return _edit_one("index", text, wt, path)


def add_platform_base_chart(
    text: str, wt: WorkloadType = ML_INFERENCE_LOAD, path: str = PLATFORM_TS
) -> str:
    """platform.ts: add ``KEY: 'KEY'`` to ``PlatformBaseCharts`` (an ``as const`` object)."""
    return _edit_one("platform", text, wt, path)


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


def render_catalog_entry(
    sibling_text: str, sibling: WorkloadType, wt: WorkloadType, description: str, path: str
) -> str:
    """The sibling's catalog entry with every spelling of its name replaced by ours (in
    keys, values and comments) and its description replaced by the chart's; layout, order,
    owner, system and links stay as they are (a ruamel round-trip edit)."""
    renames = _renames(sibling, wt)

    def edit(documents: list[Any]) -> None:
        for document in documents:
            _rename_in(document, renames)
        _set_description(documents, " ".join(description.split()), path)

    text = yamlio.edit_documents(sibling_text, path, edit)
    _check_catalog_entry(text, wt, path)
    return text


def _renamed(text: str, renames: list[tuple[str, str]]) -> str:
    for old, new in renames:
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)
    return text


def _renamed_scalar(value: object, renames: list[tuple[str, str]]) -> object:
    """A string scalar renamed, in its own style (quoted, block, plain); others as they are."""
    if not isinstance(value, str):
        return value
    renamed = _renamed(value, renames)
    return value if renamed == value else type(value)(renamed)


def _rename_in(node: object, renames: list[tuple[str, str]]) -> None:
    """Rename in place every key, string value and comment under ``node``."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for position, key in enumerate(list(node)):
            value = node.pop(key)
            new_key = _renamed_scalar(key, renames)
            node.insert(position, new_key, _renamed_scalar(value, renames))
            if key in node.ca.items and new_key != key:
                node.ca.items[new_key] = node.ca.items.pop(key)
            _rename_in(node[new_key], renames)
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            node[index] = _renamed_scalar(item, renames)
            _rename_in(node[index], renames)
    if isinstance(node, CommentedMap | CommentedSeq):
        _rename_comments(node.ca, renames)


def _rename_comments(holder: object, renames: list[tuple[str, str]]) -> None:
    """Rename in every comment token ruamel keeps for a node (before, after, at the end)."""
    from ruamel.yaml.tokens import CommentToken

    if isinstance(holder, CommentToken):
        holder.value = _renamed(holder.value, renames)
    elif isinstance(holder, list):
        for item in holder:
            _rename_comments(item, renames)
    elif hasattr(holder, "items") and hasattr(holder, "comment"):  # ruamel's Comment
        _rename_comments(holder.comment, renames)
        for item in holder.items.values():
            _rename_comments(item, renames)
        _rename_comments(getattr(holder, "end", None), renames)


def _set_description(documents: list[Any], description: str, path: str) -> None:
    """Swap ``metadata.description`` of the first document with a metadata mapping for ours
    (a block scalar becomes one line)."""
    metadata = next((d["metadata"] for d in documents
                     if isinstance(d, dict) and isinstance(d.get("metadata"), dict)), None)
    if metadata is None:
        raise _refuse(path, "sibling catalog entry has no top-level metadata")
    if "description" not in metadata:
        raise _refuse(path, "sibling catalog entry has no metadata.description to follow")
    metadata["description"] = description


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


def choose_catalog_sibling(
    tree: Path | ConfinedTree, known_types: Iterable[str], wt: WorkloadType
) -> tuple[str, str]:
    """The first (by name) catalog entry of another platform base chart that
    PlatformBaseCharts lists: the workload types whose entries ours should look like.
    Returns its repository path and text."""
    files = tree if isinstance(tree, ConfinedTree) else confined(tree)
    known = {WorkloadType(k).kebab for k in known_types if _SCREAMING.match(k)}
    for name in files.names(CATALOG_DIR):
        kebab = name[: -len(CATALOG_SUFFIX)]
        if name.endswith(CATALOG_SUFFIX) and kebab in known and kebab != wt.kebab:
            relative = f"{CATALOG_DIR}/{name}"
            text = files.read_text(relative) or ""
            try:
                documents = list(yaml.load_all(text, Loader=NoAliasLoader))
            except (yaml.YAMLError, UserError):
                continue
            if any(
                isinstance(d, dict) and (d.get("spec") or {}).get("type") == "platform-base-chart"
                for d in documents
            ):
                return relative, text
    raise _refuse(
        CATALOG_DIR,
        f"no <name>{CATALOG_SUFFIX} of a platform-base-chart listed in {BASE_CHARTS_NAME} "
        "to follow",
    )


# --------------------------------------------------------------------------------------------
# Chart files
# --------------------------------------------------------------------------------------------

def chart_version(chart_yaml: str, path: str = "Chart.yaml") -> str | None:
    """The ``version`` of a Chart.yaml's text (None when it has none)."""
    data = yamlio.load_repository_text(chart_yaml, path)
    version = data.get("version") if isinstance(data, dict) else None
    return None if version is None else str(version)


def keep_published_version(new_chart_yaml: str, existing_chart_yaml: str | None, path: str) -> str:
    """The repository's CI bumps a chart's patch version when it changes on main, so a PR
    never sets the version of a chart that already exists: it keeps the one on the branch
    (a round-trip edit of ``version``: the rest of the file stays as written)."""
    version = chart_version(new_chart_yaml, path)
    if version is None or not _SEMVER.match(version):
        raise _refuse(path, f"Chart.yaml version {version!r} is not valid semver")
    if existing_chart_yaml is None:
        return new_chart_yaml
    published = chart_version(existing_chart_yaml, path)
    if published is None or not _SEMVER.match(published) or published == version:
        return new_chart_yaml

    def keep(documents: list[Any]) -> None:
        current = documents[0]["version"]
        documents[0]["version"] = type(current)(published) if isinstance(current, str) \
            else published

    return yamlio.edit_documents(new_chart_yaml, path, keep)


def confined(tree: Path) -> ConfinedTree:
    """The clone as schema-pr touches it: its target repository is shared by many teams,
    so a symbolic link on any path it reads, writes or deletes is refused (a link would
    carry the reads, the writes and ``helm lint`` out of the clone)."""
    return ConfinedTree(tree, why="schema-pr does not follow links in the repository it edits")


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a catalog entry of the shared repository is walked
    recursively, and aliases could make that walk exponential."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise UserError(CATALOG_DIR, f"a catalog entry uses a YAML alias (line {line})")
        return super().compose_node(parent, index)


# --------------------------------------------------------------------------------------------
# The change set
# --------------------------------------------------------------------------------------------

GENERATED_HEADER = (
    "Generated by inference-scaffolder from {chart}/values.schema.json.\n"
    "Do not edit by hand: change the schema and run `inference-scaffolder schema-pr`."
)


@dataclass
class ChangeSet:
    """Files to write (only those whose content differs) and to delete, repo-relative.

    ``proposed`` holds the full content of the chart files and the interface module as the
    change would leave them (written or not), and ``members`` the parser's member listings
    of the interface, existing and generated: what :mod:`differences` compares with the
    repository's own version of the workload type."""

    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    proposed: dict[str, bytes] = field(default_factory=dict)
    members: dict[str, Any] | None = None
    # What the tree's tsconfig.json makes the compiler read and write, resolved by the
    # compiler in the same Node process (see typescript.check_tsconfig_scope).
    tsconfig_scope: dict[str, Any] | None = None

    @property
    def paths(self) -> list[str]:
        return sorted({*self.writes, *self.deletes})

    def is_empty(self) -> bool:
        return not self.writes and not self.deletes


def _read(files: ConfinedTree, path: str) -> str:
    text = files.read_text(path)
    if text is None:
        raise _refuse(path, "missing: is --repo a platform-schemas-types repository?")
    return text


def _text_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def plan_change_set(
    tree: Path,
    chart_dir: Path,
    wt: WorkloadType = ML_INFERENCE_LOAD,
    *,
    render_required: Iterable[str] = (),
    existing_interface: str | None = None,
) -> ChangeSet:
    """Everything that adds (or brings up to date) ``wt`` in the working tree ``tree``,
    with ``chart_dir`` holding the chart to publish. Reads the tree, writes nothing.
    ``render_required``: see :func:`typescript.interface_request`. ``existing_interface``:
    the interface module as the base branch has it, whose members are listed beside the
    generated one's. The TypeScript edits, the interface and the member listings come from
    one Node process (tools/platform-pr.cjs)."""
    changes = ChangeSet()
    files = confined(tree)

    def propose(path: str, content: bytes) -> None:
        changes.proposed[path] = content
        if files.read(path) != content:
            changes.writes[path] = content

    texts = {path: _read(files, path) for path in TS_EDITS}
    request = _batch_request(tree, chart_dir, wt, texts, tuple(render_required))
    if existing_interface is not None:
        request["members"] = {
            "name": wt.interface,
            "existing": {"path": wt.module_path, "text": existing_interface},
        }
    if files.exists("tsconfig.json"):
        request["tsconfig"] = str(tree / "tsconfig.json")
    answer = run_node_tool("platform-pr.cjs", request)
    changes.tsconfig_scope = answer.get("tsconfigScope")
    for edit in answer["edits"]:
        propose(edit["path"], _text_bytes(_edited_text(edit)))
    _plan_chart(files, chart_dir, wt, propose, changes)
    propose(wt.module_path, _text_bytes(interface_text(answer["interface"])))
    changes.members = answer.get("members")
    if not files.exists(wt.catalog_path):
        sibling_path, sibling_text = choose_catalog_sibling(files, answer["baseChartKeys"], wt)
        sibling = WorkloadType.from_kebab(Path(sibling_path).name[: -len(CATALOG_SUFFIX)])
        description = _chart_description(chart_dir, wt)
        entry = render_catalog_entry(sibling_text, sibling, wt, description, wt.catalog_path)
        propose(wt.catalog_path, _text_bytes(entry))
    return changes


def _batch_request(
    tree: Path,
    chart_dir: Path,
    wt: WorkloadType,
    texts: Mapping[str, str],
    render_required: tuple[str, ...],
) -> dict[str, Any]:
    """One request for the three edits, the interface and the PlatformBaseCharts keys."""
    return {
        "workload": _workload_request(wt),
        "edits": [_edit_request(TS_EDITS[path], path, text) for path, text in texts.items()],
        "interface": interface_request(
            _values_schema(chart_dir, wt),
            wt.interface,
            shared_entry=tree / SHARED_ENTRY,
            discriminator=("workloadType", wt.screaming),
            render_required=render_required,
            header=GENERATED_HEADER.format(chart=wt.chart_path),
            where=f"{wt.chart_path}/values.schema.json",
        ),
        "baseChartKeys": {"path": PLATFORM_TS, "text": texts[PLATFORM_TS]},
    }


def _plan_chart(
    files: ConfinedTree,
    chart_dir: Path,
    wt: WorkloadType,
    propose: Callable[[str, bytes], None],
    changes: ChangeSet,
) -> None:
    new_files = ConfinedTree(chart_dir).files() if chart_dir.is_dir() else {}
    if "Chart.yaml" not in new_files:
        raise _refuse(f"{wt.chart_path}/Chart.yaml", "the chart to publish has no Chart.yaml")
    existing = files.files(wt.chart_path)
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


def _values_schema(chart_dir: Path, wt: WorkloadType) -> dict[str, Any]:
    schema_file = chart_dir / "values.schema.json"
    if not schema_file.is_file():
        raise _refuse(f"{wt.chart_path}/values.schema.json", "the chart has no values schema")
    try:
        return json.loads(schema_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _refuse(f"{wt.chart_path}/values.schema.json", f"not JSON: {exc}") from exc


def apply_change_set(tree: Path, changes: ChangeSet) -> None:
    """Write the planned files into the working tree (a throw-away clone), never through
    a symbolic link (see :func:`confined`)."""
    files = confined(tree)
    for rel, content in changes.writes.items():
        files.write(rel, content)
    for rel in changes.deletes:
        files.remove(rel)
