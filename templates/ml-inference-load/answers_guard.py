"""Jinja extension that stops cookiecutter from evaluating answers as templates.

Cookiecutter renders every answer string with Jinja before any hook runs, so a pre-gen hook
is too late to stop ``{{ ... }}`` in an answer from executing. This extension is loaded into
cookiecutter's own Jinja environment (``_extensions`` in cookiecutter.json) and sees every
template source before it is compiled: it lets through only sources that belong to this
template (file and folder names, hook scripts) and refuses any other source that contains a
template delimiter, i.e. an answer.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

_TEMPLATE_ROOT = Path(__file__).resolve().parent
_DELIMITERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def _own_sources() -> tuple[frozenset[str], frozenset[str]]:
    """Hook script texts, and file/folder names, that this template itself renders."""
    hooks = frozenset(
        path.read_text(encoding="utf-8")
        for path in (_TEMPLATE_ROOT / "hooks").glob("*.py")
    )
    names = frozenset(
        part
        for path in _TEMPLATE_ROOT.rglob("*")
        for part in path.relative_to(_TEMPLATE_ROOT).parts
    )
    return hooks, names


def _answer_key_being_rendered() -> str:
    """The cookiecutter variable whose value is being rendered, found on the call stack."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config" and "key" in frame.f_locals:
            return str(frame.f_locals["key"])
        frame = frame.f_back
    return "answer"


class AnswersAreData(Extension):
    """Refuse template syntax that does not come from this template's own files."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._hooks, self._names = _own_sources()

    def _is_own_source(self, source: str, name: str | None) -> bool:
        if name is not None or source in self._hooks:
            return True
        parts = [p for p in source.replace(os.sep, "/").split("/") if p]
        return bool(parts) and all(part in self._names for part in parts)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if any(d in source for d in _DELIMITERS) and not self._is_own_source(source, name):
            key = _answer_key_being_rendered()
            print(
                f"error: {key}: must not contain template delimiters ('{{{{', '{{%', '{{#'): "
                "answers are data, never template source",
                file=sys.stderr,
            )
            raise SystemExit(2)
        return source
