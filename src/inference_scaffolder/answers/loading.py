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
    unknown_answer_rule,
)
from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import decode_utf8, read_regular_file, refusal


class SourceScalar:
    """A scalar YAML (or JSON) reads as a number, a boolean or a date, kept with the text
    the user wrote: ``engine_image_tag: 3.10`` is the float 3.1 to YAML, ``010`` is 8 and
    ``12:30:00`` is 45000. Where an answer is text, the text is what the user meant."""

    __slots__ = ("text", "value")

    def __init__(self, value: Any, text: str) -> None:
        self.value = value
        self.text = text

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourceScalar) and other.text == self.text

    def __repr__(self) -> str:
        return self.text


# No answer is an integer this long; past 4,300 digits Python refuses to convert one at all
# (a ValueError), so a longer integer is kept as its text only (see _as_number_or_flag).
MAX_INTEGER_DIGITS = 20
_TOO_MANY_DIGITS = object()


def _integer_too_long(text: str) -> bool:
    return len(text.strip().lstrip("+-").replace("_", "")) > MAX_INTEGER_DIGITS


def _keep_source(constructor: Any) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> SourceScalar:
        text = str(node.value)
        if node.tag == "tag:yaml.org,2002:int" and _integer_too_long(text):
            return SourceScalar(_TOO_MANY_DIGITS, text)
        return SourceScalar(constructor(loader, node), text)
    return construct


def _json_int(text: str) -> SourceScalar:
    return SourceScalar(_TOO_MANY_DIGITS if _integer_too_long(text) else int(text), text)


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
            if not isinstance(key, str | SourceScalar | None):
                raise UserError("--answers", f"a key must be a name, not a "
                                f"{type(key).__name__} (line {key_node.start_mark.line + 1})")
            if key in seen:
                raise UserError(str(key), f"is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag, _constructor in (
    ("tag:yaml.org,2002:int", yaml.SafeLoader.construct_yaml_int),
    ("tag:yaml.org,2002:float", yaml.SafeLoader.construct_yaml_float),
    ("tag:yaml.org,2002:bool", yaml.SafeLoader.construct_yaml_bool),
    ("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_timestamp),
):
    _StrictLoader.add_constructor(_tag, _keep_source(_constructor))
# YAML 1.1 tags the plain scalars "<<" and "=" (merge key, "value"), and PyYAML cannot build
# them outside a key: as values they are the text the user wrote.
for _tag in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
    # The stubs type the unbound method against BaseConstructor; PyYAML calls it on the loader.
    _StrictLoader.add_constructor(_tag, yaml.SafeLoader.construct_scalar)  # type: ignore[type-var]

_PLAIN_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")


def _as_text(value: Any) -> Any:
    """Every kept scalar inside ``value`` as the text the user wrote (keys are names)."""
    if isinstance(value, SourceScalar):
        return value.text
    if isinstance(value, dict):
        return {(k.text if isinstance(k, SourceScalar) else k): _as_text(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


def _as_number_or_flag(key: str, value: Any) -> Any:
    """An integer or boolean answer: the value YAML read, unless the text is a number form
    whose meaning YAML changes (``010`` is 8, ``0x10`` 16, ``1_0`` 10, ``1:30`` 90)."""
    if not isinstance(value, SourceScalar):
        return _as_text(value)
    number = value.value
    if number is _TOO_MANY_DIGITS:
        raise UserError(key, f"is a number of more than {MAX_INTEGER_DIGITS} digits")
    if isinstance(number, int) and not isinstance(number, bool) and not _PLAIN_DECIMAL.fullmatch(
        value.text.strip()
    ):
        raise UserError(key, f"{value.text} reads as {number} in YAML; write a plain decimal "
                        "number (no leading zero, prefix or separator)")
    return number


def exact_answers(data: Mapping[Any, Any]) -> Answers:
    """Answers as the user wrote them: text answers keep their source text, numbers and
    switches keep YAML's value where that cannot differ from what was written."""
    result: Answers = {}
    for raw_key, value in data.items():
        key = raw_key.text if isinstance(raw_key, SourceScalar) else raw_key
        default = FIELDS_BY_KEY[key].default if key in FIELDS_BY_KEY else None
        if isinstance(default, bool | int):
            result[key] = _as_number_or_flag(key, value)
        else:
            result[key] = _as_text(value)
    return result


def load_exact_yaml(text: str, field: str, shown: str) -> Any:
    """Safe YAML with duplicate keys and aliases refused, numbers, booleans and dates kept
    with their source text (:class:`SourceScalar`); an error is one line naming ``shown``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except RecursionError:
        raise refusal(field, shown, "is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise refusal(field, shown, f"is not valid YAML{where}: {problem}") from None


def load_answers_record(text: str, shown: str) -> dict[str, Any]:
    """A repository's answers record (``template_version``, ``answers``, ...) read as exactly
    as an answers file: a hand edit to ``engine_image_tag: 3.10`` stays ``3.10``."""
    record = load_exact_yaml(text, shown, shown)
    if not isinstance(record, dict):
        raise UserError(shown, "must hold a YAML mapping")
    answers = record.get("answers")
    exact = _as_text({k: v for k, v in record.items() if k != "answers"})
    if isinstance(answers, dict):
        exact["answers"] = exact_answers(answers)
    elif "answers" in record:
        exact["answers"] = _as_text(answers)
    return exact


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
        return json.loads(text, object_pairs_hook=_unique_keys,
                          parse_int=_json_int,
                          parse_float=lambda t: SourceScalar(float(t), t))
    except json.JSONDecodeError as exc:
        raise UserError("--answers", f"{path} is not valid JSON at line {exc.lineno}: "
                                     f"{exc.msg}") from None


def load_answers_file(path: Path) -> Answers:
    """Read a YAML (or JSON) answers file with the safe loader; aliases are refused.

    The size is bounded before parsing and a nesting too deep for the parser is refused, so
    a hostile file costs a second, not minutes or a traceback."""
    # A FIFO or a device (/dev/zero) is refused unread: only a regular file, bounded.
    raw = read_regular_file(path, MAX_ANSWERS_FILE_BYTES, "--answers")
    text = decode_utf8(raw, str(path), "--answers")
    if path.suffix == ".json":
        try:
            data = _load_json(text, path)
        except RecursionError:
            raise UserError("--answers", f"{path} is nested too deeply") from None
    else:
        data = load_exact_yaml(text, "--answers", str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("--answers", f"{path} must hold a mapping of answer names to values")
    return exact_answers(data)


def parse_set_overrides(pairs: Iterable[str]) -> Answers:
    """``KEY=VALUE`` strings from ``--set``; list answers take comma-separated values."""
    result: Answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError("--set", f"expected KEY=VALUE, got {pair!r}")
        if key not in FIELDS_BY_KEY:
            raise UserError(key, unknown_answer_rule(key))
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
    "allow_downtime": _as_list,
    "rollout_surge": _as_bool,
    "gpu_count": _as_int,
    "max_input_tokens": _as_int,
    "max_total_tokens": _as_int,
    "image_pull_secret": _as_bool,
    "basic_monitoring": _as_bool,
    "routing": _as_bool,
    "envoy_ai_gateway": _as_bool,
    "inference_pool": _as_bool,
    "failover_backends": _as_list,
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
    for key in ("environments", "allow_downtime"):
        if isinstance(answers.get(key), list):
            chosen = set(answers[key])
            if chosen <= set(ENVIRONMENT_ORDER) and len(chosen) == len(answers[key]):
                answers[key] = [e for e in ENVIRONMENT_ORDER if e in chosen]
    for secret in answers.get("extra_secrets") or []:
        if isinstance(secret, dict) and secret.get("secretKey") in ("", None) and isinstance(
            secret.get("name"), str
        ):
            secret["secretKey"] = secret["name"].lower().replace("_", "-")
    return answers


