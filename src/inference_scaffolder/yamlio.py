"""YAML reading and round-tripping.

Fast, safe reading for the validation hot path, and ruamel's round-trip loader for edits
that must keep a user's comments and quotes (promote, update).

Validating a fleet parses thousands of rendered documents and re-reads the same values
files; the pure-Python loader dominated that time. This uses libyaml's safe loader when
PyYAML was built with it, and remembers parsed files until they change on disk.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from ruamel.yaml import YAML

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """``yaml.safe_load`` semantics, at libyaml speed."""
    return yaml.load(text, Loader=_SafeLoader)  # a safe loader: no arbitrary objects


@lru_cache(maxsize=4096)
def _load_file_cached(path: str, mtime_ns: int, size: int) -> Any:
    return load(Path(path).read_text(encoding="utf-8"))


def load_file(path: Path) -> Any:
    """A YAML file's content; a private copy, parsed once per version of the file."""
    return copy.deepcopy(load_file_shared(path))


def load_file_shared(path: Path) -> Any:
    """Like ``load_file`` without the copy, for callers that only read: validating a fleet
    asks for the same values files thousands of times and copying them was measurable."""
    stat = path.stat()
    return _load_file_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


def round_trip_yaml() -> YAML:
    """A ruamel loader/dumper that keeps comments, quotes and the generated layout."""
    from ruamel.yaml import YAML  # only the editing commands pay for ruamel's import

    ruamel = YAML()
    ruamel.preserve_quotes = True
    ruamel.width = 4096  # never re-wrap a user's long lines
    return ruamel
