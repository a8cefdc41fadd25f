"""YAML reading and round-tripping.

Fast, safe reading for the validation hot path, and ruamel's round-trip loader for edits
that must keep a user's comments and quotes (promote, update).

Validating a fleet parses thousands of rendered documents and re-reads the same values
files; the pure-Python loader dominated that time. This uses libyaml's safe loader when
PyYAML was built with it, and remembers parsed files until they change on disk.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import MAX_REPOSITORY_FILE_BYTES, read_text_file

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# Aliases let a few bytes stand for a huge document ("billion laughs"): the loader shares the
# nodes, but anything that walks the result (a schema check, a comparison) pays for every
# copy. A document whose aliases expand beyond this many nodes is refused.
MAX_EXPANDED_NODES = 1_000_000
# Nesting (aliases included) beyond which YAML handed to another tool is refused: far deeper
# than any values file, and the default bound of the Node tools' YAML parser (js-yaml).
MAX_DEPTH = 100


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader (no arbitrary objects), noting whether an alias reused a node,
    and reading the plain scalars ``<<`` and ``=`` as the strings Go programs see.

    YAML 1.1 gives those two scalars tags of their own (merge key, "value"), which PyYAML
    cannot construct outside a key; Go's YAML (kubectl, kustomize) reads them as strings,
    and an environment variable's value may well be ``=``."""

    reused_node = False

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            self.reused_node = True
        return super().construct_object(node, deep=deep)


for _tag in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
    _Loader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))

# No value of a Kubernetes object or a values file has an integer this long; past ~4300
# digits Python refuses to convert one at all (a ValueError, not a YAML error).
MAX_INTEGER_CHARACTERS = 100


class _IntegerTooLong(Exception):
    """An integer scalar beyond :data:`MAX_INTEGER_CHARACTERS` (becomes a UserError)."""


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    if len(node.value) > MAX_INTEGER_CHARACTERS:
        raise _IntegerTooLong(f"line {node.start_mark.line + 1}")
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def _too_long(where: _IntegerTooLong, source: str) -> UserError:
    return UserError(source, f"an integer of more than {MAX_INTEGER_CHARACTERS} characters "
                     f"({where}): no value has one")


def _expanded_size(data: Any, limit: int) -> int:
    """How many nodes ``data`` has with every shared node counted at each use (linear in
    the distinct nodes: each one's size is computed once)."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        known = sizes.get(id(node))
        if known is None:
            items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            known = 1 + sum(size(item) for item in items)
            sizes[id(node)] = min(known, limit + 1)
        return known

    return size(data)


def load(text: str, *, source: str = "YAML") -> Any:
    """``yaml.safe_load`` semantics, at libyaml speed; a document whose aliases expand
    beyond :data:`MAX_EXPANDED_NODES` nodes is refused (``source`` names it)."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except _IntegerTooLong as exc:
        raise _too_long(exc, source) from None
    finally:
        loader.dispose()
    if loader.reused_node and _expanded_size(data, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
        raise UserError(source, f"its YAML aliases expand to more than {MAX_EXPANDED_NODES} "
                        "nodes; write the values out")
    return data


def _depth_beyond(data: Any, limit: int) -> bool:
    """Whether ``data`` nests deeper than ``limit`` (shared nodes measured once)."""
    depths: dict[int, int] = {}

    def depth(node: Any, level: int) -> int:
        if not isinstance(node, dict | list):
            return 0
        if level > limit:
            return limit + 1
        known = depths.get(id(node))
        if known is None:
            items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            known = 1 + max((depth(item, level + 1) for item in items), default=0)
            depths[id(node)] = known
        return known

    return depth(data, 0) > limit


def _refuse_beyond_bounds(data: Any, source: str) -> None:
    if _depth_beyond(data, MAX_DEPTH):  # first: it stops at the bound, the size does not
        raise UserError(source, f"is nested more than {MAX_DEPTH} levels deep")
    if _expanded_size(data, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
        raise UserError(source, f"its YAML aliases expand to more than {MAX_EXPANDED_NODES} "
                        "nodes; write the values out")


def load_documents(text: str, *, source: str = "YAML") -> list[Any]:
    """Every document of a YAML stream, each bounded as :func:`load` bounds one (aliases)
    and nested at most :data:`MAX_DEPTH` deep; a YAML error propagates."""
    loader = _Loader(text)
    documents: list[Any] = []
    try:
        while loader.check_data():
            documents.append(loader.get_data())
            _refuse_beyond_bounds(documents[-1], source)
    except RecursionError:
        raise UserError(source, "is nested too deeply") from None
    except _IntegerTooLong as exc:
        raise _too_long(exc, source) from None
    finally:
        loader.dispose()
    return documents


def refuse_unbounded(text: str, source: str) -> None:
    """Refuse YAML that another reader (the Node values check, helm) must not be given:
    aliases expanding beyond :data:`MAX_EXPANDED_NODES` nodes or nesting beyond
    :data:`MAX_DEPTH`, in any document (one line naming ``source``). Text that is not
    valid YAML here passes: the tool that reads it reports that in its own words."""
    try:
        load_documents(text, source=source)
    except yaml.YAMLError:
        return


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """A YAML parser error as ``at line N: problem``, on one line."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return f"is not valid YAML{where}: {problem}"


def load_repository_text(text: str, shown: str) -> Any:
    """YAML text of a repository file: one line naming the file for any problem."""
    try:
        return load(text, source=shown)
    except RecursionError:
        raise UserError(shown, "is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise UserError(shown, describe_yaml_error(exc)) from None


@lru_cache(maxsize=4096)
def _load_file_cached(path: str, mtime_ns: int, size: int) -> Any:
    text = read_text_file(Path(path), MAX_REPOSITORY_FILE_BYTES, path)
    return load_repository_text(text, path)


def load_file_shared(path: Path, shown: str | None = None) -> Any:
    """A YAML file's content, parsed once per version of the file and shared: callers only
    read it (validating a fleet asks for the same values files thousands of times, and
    copying them was measurable).

    A file that is not a regular file of at most ``MAX_REPOSITORY_FILE_BYTES``, not UTF-8
    or not YAML is a one-line :class:`UserError` naming it (as ``shown``, when given)."""
    try:
        stat = path.stat()
        return _load_file_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise UserError(shown or str(path), f"cannot be read: {exc.strerror}") from None
    except UserError as exc:
        if shown is None:
            raise
        raise UserError(shown, exc.rule) from None


@dataclass(frozen=True)
class Layout:
    """How a YAML file indents: nested mappings (``mapping``), and block sequences (where an
    item's content starts, ``sequence``, and its dash, ``offset``, from the parent key)."""

    mapping: int = 2
    sequence: int = 2
    offset: int = 0


_KEY_ONLY = re.compile(r"^(\s*)[^\s#-][^#]*:\s*(#.*)?$")
_ITEM = re.compile(r"^(\s*)-(\s+)\S")


def guess_layout(text: str) -> Layout:
    """The indentation ``text`` uses, from its first nested mapping and its first block
    sequence under a key (ruamel's defaults where it shows none), so that a round-trip edit
    changes only the lines it must."""
    lines = [line for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    mapping = sequence = offset = None
    for line, following in pairwise(lines):
        key = _KEY_ONLY.match(line)
        if not key:
            continue
        item = _ITEM.match(following)
        step = len(following) - len(following.lstrip()) - len(key.group(1))
        if item and sequence is None and 0 <= step <= 8:
            offset, sequence = step, step + 1 + len(item.group(2))
        elif (not following.lstrip().startswith("-") and mapping is None
              and 0 < step <= 8):
            # A dash alone on its line opens a sequence item: it says nothing of how
            # mappings are indented.
            mapping = step
    default = Layout()
    return Layout(mapping or default.mapping, sequence or default.sequence,
                  default.offset if offset is None else offset)


def round_trip_yaml(layout: Layout | None = None) -> YAML:
    """A ruamel loader/dumper that keeps comments, quotes and the generated layout (or the
    file's own, ``layout``)."""
    from ruamel.yaml import YAML  # only the editing commands pay for ruamel's import

    ruamel = YAML()
    ruamel.preserve_quotes = True
    ruamel.width = 4096  # never re-wrap a user's long lines
    if layout is not None:
        ruamel.indent(mapping=layout.mapping, sequence=layout.sequence, offset=layout.offset)
    return ruamel


def edit_documents(text: str, shown: str, edit: Callable[[list[Any]], None]) -> str:
    """``text`` with its documents changed by ``edit`` (in place, on ruamel's round-trip
    form), written back in the file's own layout: comments, order, quotes and indentation
    stay. The text is first read within the bounds of :func:`load_documents` (one line
    naming ``shown`` otherwise): aliases could make an edit that walks the documents
    exponential."""
    try:
        load_documents(text, source=shown)
    except yaml.YAMLError as exc:
        raise UserError(shown, describe_yaml_error(exc)) from None
    ruamel = round_trip_yaml(guess_layout(text))
    ruamel.explicit_start = text.lstrip().startswith("---")
    documents = list(ruamel.load_all(text))
    edit(documents)
    out = io.StringIO()
    ruamel.dump_all(documents, out)
    return out.getvalue().replace("\n", "\r\n") if "\r\n" in text else out.getvalue()
