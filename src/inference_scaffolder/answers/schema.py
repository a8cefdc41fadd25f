"""The answers JSON Schema, built from the declarations and the chart's values schema.

The same document validates answers in the CLI and the hooks, becomes the Backstage form and
the scaffolder action's input schema, so each rule is written once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jsonschema

from inference_scaffolder.answers.fields import (
    ANSWER_FIELDS,
    PLAIN_NAME_ANSWERS,
    AnswerField,
)
from inference_scaffolder.chart import values_schema
from inference_scaffolder.go_yaml import NON_STRING_NAME_PATTERN


def _values_subschema(path: str) -> dict[str, Any]:
    """The values-schema fragment at ``properties/<path>``, with local refs inlined (also
    on the way: a path may lead through a ``$defs`` entry)."""
    node: Any = values_schema()["properties"]
    for part in path.split("/"):
        node = _resolve_ref(node)[part]
    return _inline_refs(copy.deepcopy(node))


def _resolve_ref(node: Any) -> Any:
    """The ``$defs`` entry a ``{"$ref": "#/$defs/..."}`` node points at, else the node."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return values_schema()["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _inline_refs(node: Any) -> Any:
    """Replace ``#/$defs/...`` references to the values schema by their targets."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(values_schema()["$defs"][ref.removeprefix("#/$defs/")])
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return _inline_refs({**target, **extra})
        return {k: _inline_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v) for v in node]
    return node


# Answers that become Kubernetes names or environment-variable names, written unquoted.
_NAME_SCHEMA_PATHS = {
    **{key: () for key in PLAIN_NAME_ANSWERS},
    "environment_variables": ("items", "properties", "name"),
    "extra_secrets": ("items", "properties", "name"),
}
NOT_YAML_NON_STRING = {"pattern": NON_STRING_NAME_PATTERN}


def _field_schema(answer: AnswerField) -> dict[str, Any]:
    base = _values_subschema(answer.values_path) if answer.values_path else {}
    own = _inline_refs(copy.deepcopy(dict(answer.schema)))
    merged = {**base, **own}
    if answer.key in _NAME_SCHEMA_PATHS:
        # Names such as "y", "on", "1e3" or "null" fit the name patterns, but Helm and kubectl
        # read them unquoted as booleans, numbers or null, and the manifest breaks.
        name_schema = merged
        for step in _NAME_SCHEMA_PATHS[answer.key]:
            name_schema = name_schema[step]
        name_schema["not"] = dict(NOT_YAML_NON_STRING)
    merged["title"] = answer.title
    merged["description"] = answer.help
    merged["default"] = copy.deepcopy(answer.default)
    return merged


@cache
def _answers_schema_cached() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://platform.internal/schemas/ml-inference-load/answers.schema.json",
        "title": "ML inference service answers",
        "type": "object",
        "additionalProperties": False,
        "required": [f.key for f in ANSWER_FIELDS if f.required],
        "properties": {f.key: _field_schema(f) for f in ANSWER_FIELDS},
    }


def answers_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a complete answers document."""
    return copy.deepcopy(_answers_schema_cached())


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with JSON Schema's (ECMA 262) meaning of ``$``: end of the text.

    Python's ``$`` also matches just before a final newline, so ``^[a-z]+$`` would accept
    ``"name\\n"``, which Backstage (ECMA) and Helm (Go) refuse: a trailing newline would
    slip into names, paths and YAML. Unescaped ``$`` outside a character class becomes ``\\Z``.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterable[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def validator() -> jsonschema.protocols.Validator:
    schema = _answers_schema_cached()
    checker = jsonschema.validators.extend(
        jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
    )
    return checker(schema, format_checker=None)

