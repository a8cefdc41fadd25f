"""What a chart holds, read from the chart itself, for the pull request's body.

A reviewer of the platform repository sees the chart through this list, so it is derived
from the files the pull request adds, never written by hand: the objects each template
renders (its ``kind:`` lines) and the condition the whole template sits under, and every
top-level value of ``values.schema.json`` with its description and the keys it holds. When
the chart gains a template or a value, the body says so without anyone editing it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.DOTALL)
_KIND = re.compile(r"(?m)^kind:\s*([A-Za-z0-9]+)\s*$")
_OUTER_IF = re.compile(r"\{\{-?\s*if\s+(.*?)\s*-?\}\}", re.DOTALL)
_DESCRIPTION_LIMIT = 200


def _condition(text: str) -> str | None:
    """The condition a template's objects all sit under: an ``if`` before its first
    ``kind:`` (None: rendered whenever the chart is)."""
    first_kind = _KIND.search(text)
    head = text[: first_kind.start()] if first_kind else text
    found = _OUTER_IF.search(head)
    if found is None:
        return None
    return " ".join(found.group(1).replace(".Values.", "").split())


def rendered_objects(chart_dir: Path) -> list[str]:
    """One Markdown list item per template that renders objects: its kinds, and when."""
    templates = chart_dir / "templates"
    items = []
    for path in sorted(templates.rglob("*.yaml")) if templates.is_dir() else []:
        text = _COMMENT.sub("", path.read_text(encoding="utf-8"))
        kinds = list(dict.fromkeys(_KIND.findall(text)))
        if not kinds:
            continue
        condition = _condition(text)
        when = f", when `{condition}`" if condition else ""
        name = path.relative_to(templates).as_posix()
        items.append(f"- `{name}`: {', '.join(kinds)}{when}")
    return items


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    sentence = re.split(r"(?<=\.)\s", flat, maxsplit=1)[0]
    if len(sentence) <= _DESCRIPTION_LIMIT:
        return sentence
    return sentence[: _DESCRIPTION_LIMIT - 1] + "…"


def documented_values(chart_dir: Path) -> list[str]:
    """One Markdown list item per top-level value of the values schema: the keys it holds
    and the first sentence of its description."""
    schema_file = chart_dir / "values.schema.json"
    if not schema_file.is_file():
        return []
    schema: dict[str, Any] = json.loads(schema_file.read_text(encoding="utf-8"))
    items = []
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        keys = list(spec.get("properties") or {})
        holds = f" ({', '.join(f'`{k}`' for k in keys)})" if keys else ""
        description = spec.get("description")
        said = f": {_first_sentence(description)}" if isinstance(description, str) else ""
        items.append(f"- `{name}`{holds}{said}")
    return items


def chart_summary(chart_dir: Path, chart_path: str) -> str:
    """The body's section on what the chart at ``chart_path`` holds (Markdown)."""
    objects = rendered_objects(chart_dir) or ["- (no template renders an object)"]
    values = documented_values(chart_dir) or ["- (the chart has no values schema)"]
    return (
        "### What the chart holds\n"
        f"Read from `{chart_path}/` itself.\n\n"
        "Objects its templates render:\n" + "\n".join(objects) + "\n\n"
        "Values, each documented and enforced by `values.schema.json`:\n"
        + "\n".join(values) + "\n"
    )
