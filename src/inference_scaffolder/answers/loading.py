"""Reading answers: answers files, ``--set`` pairs, and the forms a value may arrive in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder.answers.fields import (
    ENVIRONMENT_ORDER,
    FIELDS_BY_KEY,
    MAX_ANSWERS_FILE_BYTES,
    Answers,
    default_answers,
)
from inference_scaffolder.errors import UserError


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys and aliases.

    PyYAML keeps the last of two equal keys silently, and aliases let a small file expand to
    a huge document; an answers file needs neither.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise UserError("--answers", f"YAML aliases are not allowed (line {line})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool | None):
                raise UserError("--answers", f"a key must be a name, not a "
                                f"{type(key).__name__} (line {key_node.start_mark.line + 1})")
            if key in seen:
                raise UserError(str(key), f"is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise UserError(key, "is given twice")
        seen[key] = value
    return seen


def _load_json(text: str, path: Path) -> Any:
    """A ``.json`` answers file (what the Backstage action writes) is read as JSON: a YAML
    parser takes the raw U+2028 that JSON.stringify leaves in strings for a line break and
    drops the spaces around it."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise UserError("--answers", f"{path} is not valid JSON at line {exc.lineno}: "
                                     f"{exc.msg}") from None


def load_answers_file(path: Path) -> Answers:
    """Read a YAML (or JSON) answers file with the safe loader; aliases are refused.

    The size is bounded before parsing and a nesting too deep for the parser is refused, so
    a hostile file costs a second, not minutes or a traceback."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ANSWERS_FILE_BYTES + 1)
    except OSError as exc:
        raise UserError("--answers", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_ANSWERS_FILE_BYTES:
        raise UserError("--answers", f"{path} is larger than {MAX_ANSWERS_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError("--answers", f"{path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = _load_json(text, path) if path.suffix == ".json" else yaml.load(
            text, Loader=_StrictLoader)
    except RecursionError:
        raise UserError("--answers", f"{path} is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError("--answers", f"{path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("--answers", f"{path} must hold a mapping of answer names to values")
    return data


def parse_set_overrides(pairs: Iterable[str]) -> Answers:
    """``KEY=VALUE`` strings from ``--set``; list answers take comma-separated values."""
    result: Answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError("--set", f"expected KEY=VALUE, got {pair!r}")
        if key not in FIELDS_BY_KEY:
            raise UserError(key, f"is not an answer (known: {', '.join(FIELDS_BY_KEY)})")
        result[key] = value
    return result


# --- normalising ---------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def _as_bool(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return value


def _as_int(key: str, value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        return int(value)
    return value


def _as_list(key: str, value: Any) -> Any:
    """Comma-separated strings (``--set``, cookiecutter prompts) become lists."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _as_env_list(key: str, value: Any) -> Any:
    """Name/value pairs given as a mapping or ``A=1,B=2`` become a list of {name, value}."""
    if isinstance(value, str):
        items = [item for item in value.split(",") if item.strip()]
        pairs = [item.partition("=") for item in items]
        if any(not sep for _, sep, _ in pairs):
            raise UserError(key, "must be NAME=VALUE pairs separated by commas")
        return [{"name": n.strip(), "value": v} for n, _, v in pairs]
    if isinstance(value, dict):
        # Numbers become their text; a nested list or mapping is left for the schema to refuse.
        return [{"name": str(k), "value": str(v) if isinstance(v, int | float) else v}
                for k, v in value.items()]
    return value


def _as_secret_list(key: str, value: Any) -> Any:
    """Secrets given as ``{NAME: vaultPath}`` or ``NAME=path`` become {name, vaultPath}."""
    if isinstance(value, str):
        value = dict(item.partition("=")[::2] for item in value.split(",") if item.strip())
    if isinstance(value, dict):
        return [{"name": str(k).strip(), "vaultPath": str(v).strip()} for k, v in value.items()]
    return value


_NORMALISERS = {
    "environments": _as_list,
    "gpu_count": _as_int,
    "max_input_tokens": _as_int,
    "max_total_tokens": _as_int,
    "image_pull_secret": _as_bool,
    "basic_monitoring": _as_bool,
    "routing": _as_bool,
    "envoy_ai_gateway": _as_bool,
    "inference_pool": _as_bool,
    "rate_limit_per_minute": _as_int,
    "autoscaling_max_replicas": _as_int,
    "environment_variables": _as_env_list,
    "extra_secrets": _as_secret_list,
}


def normalise(raw: Mapping[str, Any]) -> Answers:
    answers = default_answers()
    for key, value in raw.items():
        normaliser = _NORMALISERS.get(key)
        answers[key] = normaliser(key, value) if normaliser else value
    for key in ("cpu_request", "memory_request", "memory_limit", "engine_image_tag",
                "model_cache_size"):
        if isinstance(answers[key], int | float) and not isinstance(answers[key], bool):
            answers[key] = str(answers[key])
    if isinstance(answers.get("environments"), list):
        chosen = set(answers["environments"])
        if chosen <= set(ENVIRONMENT_ORDER) and len(chosen) == len(answers["environments"]):
            answers["environments"] = [e for e in ENVIRONMENT_ORDER if e in chosen]
    for secret in answers.get("extra_secrets") or []:
        if isinstance(secret, dict) and not secret.get("secretKey") and isinstance(
            secret.get("name"), str
        ):
            secret["secretKey"] = secret["name"].lower().replace("_", "-")
    return answers


