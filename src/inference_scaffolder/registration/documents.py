"""A values file of the routing repository, read safely and edited structurally.

The routing repository is shared: anyone who can push to it writes these files. So each file
is read through :class:`~inference_scaffolder.safe_fs.ConfinedTree` (no link followed, a
regular file of bounded size), parsed first by the bounded safe loader (aliases that expand
into a huge document, deep nesting and endless integers are refused), and only then by
ruamel's round-trip loader, which keeps comments, order, quotes and the file's indentation,
so an edit changes the lines of this service's entries and nothing else.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.safe_fs import ConfinedTree


@dataclass
class ValuesDocument:
    """One values file: its text as read, its plain data, and the editable document."""

    path: str
    text: str
    data: Any  # the ruamel document (CommentedMap), edited in place
    layout: yamlio.Layout  # the file's own indentation, which the dump keeps
    original: Any = None  # the plain data as read (the bounded safe loader's)
    untouched: str = ""  # the round trip of the unedited document

    @property
    def layout_kept(self) -> bool:
        """Whether the round trip reproduces the file: if not, an edit also changes lines
        outside the service's entries."""
        return self.untouched == self.text

    def dump(self) -> str:
        """The document as text, in the file's own indentation."""
        ruamel = yamlio.round_trip_yaml(self.layout)
        out = io.StringIO()
        ruamel.dump(self.data, out)
        return out.getvalue()


def to_plain(value: Any) -> Any:
    """ruamel's containers and scalars as plain Python data."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def load_bounded(text: str, shown: str) -> Any:
    """One YAML document, refused beyond the bounds of :mod:`yamlio` (one line naming it)."""
    try:
        documents = yamlio.load_documents(text, source=shown)
    except RecursionError:
        raise UserError(shown, "is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise UserError(shown, yamlio.describe_yaml_error(exc)) from None
    if len(documents) > 1:
        raise UserError(shown, f"holds {len(documents)} YAML documents; a values file "
                        "holds one")
    data = documents[0] if documents else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(shown, f"is {type(data).__name__} YAML, where a mapping of values "
                        "was expected")
    return data


def read_document(tree: ConfinedTree, path: str) -> ValuesDocument | None:
    """The values file at ``path`` (None when there is none)."""
    text = tree.read_text(path)
    if text is None:
        return None
    original = load_bounded(text, path)  # before ruamel sees it: aliases, depth, size
    ruamel = yamlio.round_trip_yaml()
    try:
        data = ruamel.load(text)
    except RecursionError:
        raise UserError(path, "is nested too deeply") from None
    except Exception as exc:  # ruamel's errors have no common base but Exception
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(path, f"cannot be edited as YAML: {inert(problem, 200)}") from None
    if data is None:
        from ruamel.yaml.comments import CommentedMap

        data = CommentedMap()
    document = ValuesDocument(path, text, data, yamlio.guess_layout(text), original)
    document.untouched = document.dump()
    return document

