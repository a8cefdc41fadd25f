"""Jinja extension that stops cookiecutter from evaluating answers as templates.

Cookiecutter renders every answer string with Jinja before any hook runs, so a pre-gen hook
is too late to stop ``{{ ... }}`` in an answer from executing. This extension is loaded into
cookiecutter's own Jinja environment (``_extensions`` in cookiecutter.json) and sees every
template source before it is compiled: it lets through only sources that belong to this
template (file and folder names, hook scripts) and refuses any other source that contains a
template delimiter, i.e. an answer.

It also keeps the project inside the output folder: cookiecutter creates the folder named by
``{{cookiecutter.service_name}}`` (with any missing parents) before the pre-generation hook
can refuse the answer, so a name such as ``../../elsewhere`` is refused while the folder
name is rendered, before anything is created.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import re
import sys
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

_TEMPLATE_ROOT = Path(__file__).resolve().parent
_DELIMITERS = ("{{", "}}", "{%", "%}", "{#", "#}")
_VARIABLE_IN_NAME = re.compile(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}")


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


def _refuse(key: str, rule: str) -> None:
    print(f"error: {key}: {rule}", file=sys.stderr)
    raise SystemExit(2)


def _single_path_component(value: object, key: str) -> str:
    """The value of a variable used in a file or folder name: one name, never a path."""
    text = str(value)
    if text in ("", ".", "..") or "/" in text or "\\" in text or "\x00" in text:
        _refuse(key, f"must be a single folder name, not {text!r}: it names the project folder")
    return text


def _known_variables() -> list[str]:
    data = json.loads((_TEMPLATE_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    return [key for key in data if not key.startswith("_")]


def _extra_context_given() -> dict:
    """The ``extra_context`` cookiecutter was called with (``cookiecutter tmpl key=value``),
    found on the call stack: cookiecutter drops unknown keys without a word."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "cookiecutter" and "extra_context" in frame.f_locals:
            return dict(frame.f_locals["extra_context"] or {})
        frame = frame.f_back
    return {}


def _refuse_unknown_answers() -> None:
    """A typo (``gpu_cont=2``) would otherwise generate with ``gpu_count`` at its default."""
    known = _known_variables()
    for key in _extra_context_given():
        if key.startswith("_") or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        _refuse(key, f"is not an answer ({hint}known: {', '.join(known)})")


def _answer_key_being_rendered() -> str:
    """The cookiecutter variable whose value is being rendered, found on the call stack."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config" and "key" in frame.f_locals:
            return str(frame.f_locals["key"])
        frame = frame.f_back
    return "answer"


def _rendering_an_answer() -> bool:
    """Whether cookiecutter is rendering an answer's value (it does so in
    ``prompt_for_config``) rather than one of the template's own file or folder names."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config":
            return True
        frame = frame.f_back
    return False


class AnswersAreData(Extension):
    """Refuse template syntax that does not come from this template's own files."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        _refuse_unknown_answers()
        self._hooks, self._names = _own_sources()
        environment.filters["single_path_component"] = _single_path_component

    def _is_own_source(self, source: str, name: str | None) -> bool:
        if name is not None or source in self._hooks:
            return True
        parts = [p for p in source.replace(os.sep, "/").split("/") if p]
        return bool(parts) and all(part in self._names for part in parts)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # The template's own folder name, "{{cookiecutter.service_name}}", is exempt only
        # while cookiecutter renders that folder: an answer spelled the same is still data.
        if any(d in source for d in _DELIMITERS) and (
            _rendering_an_answer() or not self._is_own_source(source, name)
        ):
            _refuse(
                _answer_key_being_rendered(),
                "must not contain template delimiters ('{{', '{%', '{#'): "
                "answers are data, never template source",
            )
        if name is None and source not in self._hooks:  # a file or folder name
            return _VARIABLE_IN_NAME.sub(
                r"{{ cookiecutter.\1 | single_path_component('\1') }}", source
            )
        return source
