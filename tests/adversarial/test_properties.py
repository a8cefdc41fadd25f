"""Property-based tests over the answers, with strategies built from the answers JSON Schema.

- Valid answers (drawn from each field's schema: enums, integer bounds, regex patterns,
  lengths, list shapes) plus the few rules a JSON Schema cannot express, fixed up explicitly
  below, are accepted, and always generate a repository that validates (helm lint + template
  + schema checks) for every environment.
- Invalid answers (one field broken against its schema, or a cross-field rule broken) are
  always refused with a one-line error naming that field: in the library for many examples,
  and through the real CLI for a few (exit 2, one line, no traceback, no output).

Runs are deterministic (derandomized, no example database), so CI sees the same examples.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from common import MINIMAL_ANSWERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference_scaffolder.answers import (
    CREDENTIAL_ENV_NAMES,
    MAX_ANSWER_LENGTH,
    PLAIN_NAME_ANSWERS,
    RESERVED_ENV_NAMES,
    TEMPLATE_DELIMITERS,
    answers_json_schema,
    validate_answers,
)
from inference_scaffolder.answers.fields import MAX_GATEWAY_RELEASE_LENGTH
from inference_scaffolder.answers.rules import PROSE_ANSWERS, PROSE_REFUSED_CHARACTER
from inference_scaffolder.chart import engine_defaults
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import generate
from inference_scaffolder.go_yaml import NON_STRING_NAME_PATTERN, reads_as_string

CLI = str(Path(sys.executable).with_name("inference-scaffolder"))
SCHEMA = answers_json_schema()
PROPERTIES: dict[str, dict[str, Any]] = SCHEMA["properties"]

# Every answer string may hold any character except NUL, the characters the deployment path
# cannot carry and template delimiters (the CLI's rules for all strings, beyond the schema).
SAFE_CHARACTERS = st.characters(
    exclude_categories=("Cs",),
    exclude_characters=["\x00", *map(chr, range(0x7F, 0xA0)), "\ufffe", "\uffff"],
)
DETERMINISTIC = {"derandomize": True, "database": None, "deadline": None}


def carried(text: str) -> bool:
    return not any(d in text for d in TEMPLATE_DELIMITERS) and len(text) <= MAX_ANSWER_LENGTH


# --- strategies from the schema --------------------------------------------------------------


def string_strategy(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if "pattern" in schema:
        text = st.from_regex(schema["pattern"], fullmatch=True, alphabet=SAFE_CHARACTERS)
    else:
        text = st.text(SAFE_CHARACTERS, max_size=schema.get("maxLength", 64))
    low, high = schema.get("minLength", 0), schema.get("maxLength", MAX_ANSWER_LENGTH)
    text = text.filter(lambda s: low <= len(s) <= high and carried(s))
    forbidden = schema.get("not", {}).get("pattern")
    if forbidden:
        text = text.filter(lambda s: not re.search(forbidden, s))
    return text


def from_schema(schema: dict[str, Any], max_items: int = 3) -> st.SearchStrategy[Any]:
    """A strategy for values valid against ``schema`` (the subset the answers schema uses)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, max_items) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        numbers = st.integers(schema.get("minimum"), schema.get("maximum"))
        if "const" in schema.get("not", {}):
            numbers = numbers.filter(lambda n: n != schema["not"]["const"])
        return numbers
    if kind == "string":
        return string_strategy(schema)
    if kind == "array":
        items = schema["items"]
        return st.lists(from_schema(items), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", max_items), max_items),
                        unique=schema.get("uniqueItems", False))
    if kind == "object":
        props = schema["properties"]
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v) for k, v in props.items() if k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
    raise AssertionError(f"no strategy for {schema}")


# --- the rules a JSON Schema cannot express ----------------------------------------------------


def _token_names(answers: dict[str, Any]) -> set[str]:
    if not answers["hf_token_vault_path"]:
        return set()
    defaults = engine_defaults(answers["engine"])
    return {defaults["hfTokenEnv"], *defaults.get("hfTokenAliases", [])}


def fix_cross_field_rules(answers: dict[str, Any]) -> dict[str, Any]:
    """Bring schema-valid answers in line with validate_answers' cross-field rules."""
    low, high = sorted((answers["max_input_tokens"], answers["max_total_tokens"]))
    answers["max_input_tokens"], answers["max_total_tokens"] = (low, high) if low < high else (
        low - 1, high) if low > 1 else (low, high + 1)
    taken = set(_token_names(answers)) | RESERVED_ENV_NAMES
    if answers["quantization"]:
        taken.add("QUANTIZE")
    keys = {"hf-token"} if answers["hf_token_vault_path"] else set()
    kept_env = []
    for entry in answers["environment_variables"]:
        name = entry["name"]
        if name not in taken and name not in CREDENTIAL_ENV_NAMES and reads_as_string(name):
            taken.add(name)
            kept_env.append(entry)
    kept_secrets = []
    for secret in answers["extra_secrets"]:
        key = secret.get("secretKey") or secret["name"].lower().replace("_", "-")
        if secret["name"] not in taken and key not in keys and reads_as_string(secret["name"]):
            taken.add(secret["name"])
            keys.add(key)
            kept_secrets.append(secret)
    answers["environment_variables"], answers["extra_secrets"] = kept_env, kept_secrets
    if answers["image_pull_secret"] and not answers["image_pull_secret_vault_path"]:
        answers["image_pull_secret_vault_path"] = "/secret/shared/ghcr/dockerconfigjson"
    if len(answers["ingress_host"]) + len("uat.") > 253:
        answers["ingress_host"] = ""
    if answers["engine"] == "tgi":
        answers["inference_pool"] = False
    if answers["envoy_ai_gateway"] or answers["inference_pool"]:
        answers["routing"] = True
    if not answers["envoy_ai_gateway"]:
        answers["rate_limit_per_minute"] = 0
        answers["failover_backends"] = []
    if not answers["inference_pool"]:
        answers["inference_gateway_release"] = ""
    elif len(f"epp-{answers['service_name']}") > MAX_GATEWAY_RELEASE_LENGTH:
        answers["inference_gateway_release"] = answers["inference_gateway_release"] or "epp"
    _fix_serving_rules(answers)
    return answers


def _fix_serving_rules(answers: dict[str, Any]) -> None:
    """Requests within their bounds and limits, autoscaling with a query endpoint, a
    ReadWriteOnce cache only where one pod runs (validate_answers' serving rules)."""
    answers["cpu_request"] = "4"
    answers["memory_request"], answers["memory_limit"] = "", "64Gi"
    if answers["autoscaling_max_replicas"] and not answers["prometheus_query_url"]:
        answers["prometheus_query_url"] = "http://thanos-query.monitoring:9090"
    if answers["model_cache_access_mode"] == "ReadWriteOnce":
        answers["model_cache_access_mode"] = "ReadWriteMany"


def _field_strategy(key: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if key in PLAIN_NAME_ANSWERS:  # the names rule: YAML reads "y" or "1e3" as bool or number
        return from_schema(schema).filter(reads_as_string)
    if key in PROSE_ANSWERS:  # prose refuses bidirectional overrides and C0 controls
        return from_schema(schema).filter(lambda s: not PROSE_REFUSED_CHARACTER.search(s))
    return from_schema(schema)


FIELD_STRATEGIES = {key: _field_strategy(key, schema) for key, schema in PROPERTIES.items()}


@st.composite
def valid_answers(draw: st.DrawFn, environments: int = 4) -> dict[str, Any]:
    answers = {key: draw(strategy) for key, strategy in FIELD_STRATEGIES.items()}
    answers["environments"] = draw(st.lists(st.sampled_from(["dev", "syst", "uat", "prod"]),
                                            min_size=1, max_size=environments, unique=True))
    answers["model_config"] = ""  # a path on this machine; the schema cannot know one
    # Which chart versions a platform publishes no schema can know: the one carried here.
    answers["chart_version"] = ""
    return fix_cross_field_rules(answers)


# --- valid answers ------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], **DETERMINISTIC)
@given(answers=valid_answers())
def test_schema_valid_answers_are_accepted(answers: dict[str, Any]) -> None:
    validated = validate_answers(answers)
    assert set(validated) == set(PROPERTIES)
    assert validated["environments"] == [e for e in ("dev", "syst", "uat", "prod")
                                         if e in answers["environments"]]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@pytest.mark.slow
@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow], **DETERMINISTIC)
@given(answers=valid_answers(environments=2))
def test_valid_answers_always_render_and_validate(answers: dict[str, Any], scratch: Path) -> None:
    output = Path(tempfile.mkdtemp(dir=scratch))
    try:
        result = generate(validate_answers(answers), output, git_init=False, validate=True)
        assert result.report is not None and result.report.ok
        assert [e.environment for e in result.report.environments] == result.answers[
            "environments"]
        assert not (result.output / "chart").exists()  # a leaf: no copy of the base chart
        for environment in result.answers["environments"]:
            folder = result.output / "environments" / environment
            assert (folder / "values.yaml").is_file()
            assert (folder / "kustomization.yaml").is_file()
    finally:
        shutil.rmtree(output, ignore_errors=True)


# --- invalid answers ---------------------------------------------------------------------------

_ENV_NUMBER = re.compile(r"\s*-?\d{1,9}\s*")
_BOOLEAN_WORDS = {"true", "yes", "y", "on", "1", "false", "no", "n", "off", "0"}
_BAD_SUFFIXES = ["\n", " ", "/", "@", "!", "'", "..", "--", "\t", "É", "*", "%", "\u2028"]
_NUMERIC_STRING_ANSWERS = {"cpu_request", "memory_request", "memory_limit", "engine_image_tag",
                           "model_cache_size"}


def _fullmatch_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """JSON Schema's ``pattern`` with ECMA's ``$`` (an oracle independent of the product's:
    an anchored pattern must match the whole string, ``re.fullmatch``)."""
    if not validator.is_type(instance, "string"):
        return
    matches = re.fullmatch if pattern.startswith("^") else re.search
    if not matches(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


ORACLE = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                      {"pattern": _fullmatch_pattern})


def schema_accepts(schema: dict[str, Any], value: Any) -> bool:
    return ORACLE(schema).is_valid(value)


def broken_string(key: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    wrong_type = st.sampled_from([[], ["x"], {"a": "b"}, True] + (
        [] if key in _NUMERIC_STRING_ANSWERS else [7]))
    options = [wrong_type]
    if schema.get("minLength") or schema.get("pattern") or schema.get("enum") or (
        "anyOf" in schema
    ):
        suffixed = st.tuples(from_schema(schema), st.sampled_from(_BAD_SUFFIXES)).map(
            "".join).filter(lambda s: not schema_accepts(schema, s))
        options.append(suffixed)
    if "maxLength" in schema:
        options.append(st.just("a" * (schema["maxLength"] + 1)))
    if "enum" in schema:
        options.append(st.text(min_size=1, max_size=12).filter(
            lambda s: s not in schema["enum"] and s.strip() == s and "," not in s))
    return st.one_of(options)


def broken_value(key: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of ``key`` that its schema refuses (and no normalisation can repair)."""
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum", 0), schema.get("maximum", 10**6)
        options = [st.integers(max_value=low - 1), st.integers(min_value=high + 1),
                   st.floats(allow_nan=False).filter(lambda x: x != int(x) if x == x and
                                                     abs(x) < 1e15 else True),
                   st.text(max_size=8).filter(lambda s: not _ENV_NUMBER.fullmatch(s)),
                   st.just([1])]
        if "const" in schema.get("not", {}):
            options.append(st.just(schema["not"]["const"]))
        return st.one_of(options)
    if kind == "boolean":
        return st.one_of(st.integers().filter(lambda n: n not in (0, 1)), st.just([True]),
                         st.text(max_size=8).filter(lambda s: s.strip().lower() not in
                                                    _BOOLEAN_WORDS and "," not in s))
    if kind == "array" and "enum" in schema["items"]:
        unknown = st.text(min_size=1, max_size=6).filter(
            lambda s: s not in schema["items"]["enum"] and s.strip() and "," not in s)
        empty = [st.just([])] if schema.get("minItems") else []  # allow_downtime may be []
        return st.one_of(*empty, st.lists(unknown, min_size=1, max_size=2),
                         st.just(["dev", "dev"]), st.just([1]))
    if kind == "array" and schema["items"].get("type") == "string":
        return broken_list_of_names(schema)
    if kind == "array":
        return broken_list_of_objects(schema)
    return broken_string(key, schema)


def broken_list_of_names(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Lists of names the schema refuses: a bad name, one twice, one too many, not text."""
    return st.one_of(
        st.sampled_from([["Not A Name"], ["-edge"], ["a" * 64], [1], [{"a": "b"}]]),
        st.just(["twice", "twice"]),
        st.just([f"backend-{i}" for i in range(schema.get("maxItems", 8) + 1)]),
    )


def broken_list_of_objects(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    item = schema["items"]
    props = item["properties"]
    valid_item = from_schema(item)

    def corrupt(entry: dict[str, Any], member: str, bad: Any) -> list[dict[str, Any]]:
        return [{**entry, member: bad}]

    member_breaks = [
        st.builds(corrupt, valid_item, st.just(member),
                  broken_string(member, props[member]).filter(
                      lambda v, m=member: not schema_accepts(props[m], v)))
        for member in props
    ]
    return st.one_of(
        *member_breaks,
        valid_item.map(lambda e: [{**e, "unexpected": "x"}]),
        valid_item.map(lambda e: [{k: v for k, v in e.items() if k != item["required"][-1]}]),
        st.just(["NAME=value"]).map(lambda v: v * (schema["maxItems"] + 1)),
        st.just([7]),
    )


BASE = validate_answers({**MINIMAL_ANSWERS, "environments": ["dev"]})


@st.composite
def one_broken_field(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Valid answers with one field broken: against its schema, by a CLI-wide string rule,
    by a cross-field rule, or by an unknown name."""
    family = draw(st.sampled_from(["schema", "schema", "schema", "string-rule", "cross-field",
                                   "unknown"]))
    answers = dict(MINIMAL_ANSWERS)
    if family == "schema":
        key = draw(st.sampled_from(sorted(PROPERTIES)))
        answers[key] = draw(broken_value(key, PROPERTIES[key]))
        return answers, key
    if family == "string-rule":
        key = draw(st.sampled_from(sorted(k for k, s in PROPERTIES.items()
                                          if s.get("type") == "string")))
        bad = draw(st.sampled_from([*TEMPLATE_DELIMITERS, "\x00", "\x85", "\ufffe", "\ud800"]))
        answers[key] = f"{BASE[key]}{bad}"
        return answers, key
    if family == "cross-field":
        return draw(st.sampled_from(CROSS_FIELD_BREAKS))
    key = draw(st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True).filter(
        lambda k: k not in PROPERTIES))
    answers[key] = "x"
    return answers, key


CROSS_FIELD_BREAKS: list[tuple[dict[str, Any], str]] = [
    ({**MINIMAL_ANSWERS, "max_input_tokens": 8192, "max_total_tokens": 8192}, "max_input_tokens"),
    ({**MINIMAL_ANSWERS, "environment_variables": "MODEL_ID=x"}, "environment_variables"),
    ({**MINIMAL_ANSWERS, "environment_variables": "HF_TOKEN=hf_x"}, "environment_variables"),
    ({**MINIMAL_ANSWERS, "extra_secrets": "PORT=/secret/p"}, "extra_secrets"),
    ({**MINIMAL_ANSWERS, "image_pull_secret": True, "image_pull_secret_vault_path": ""},
     "image_pull_secret_vault_path"),
    ({**MINIMAL_ANSWERS, "engine": "tgi", "routing": True, "inference_pool": True},
     "inference_pool"),
    ({**MINIMAL_ANSWERS, "memory_request": "24Gi", "memory_limit": "16Gi"}, "memory_request"),
    ({**MINIMAL_ANSWERS, "cpu_request": "0"}, "cpu_request"),
    ({**MINIMAL_ANSWERS, "autoscaling_max_replicas": 2}, "prometheus_query_url"),
    ({**MINIMAL_ANSWERS, "envoy_ai_gateway": True}, "envoy_ai_gateway"),
    ({**MINIMAL_ANSWERS, "failover_backends": ["shared"]}, "failover_backends"),
    ({**MINIMAL_ANSWERS, "inference_gateway_release": "epp-x"}, "inference_gateway_release"),
    ({**MINIMAL_ANSWERS, "rate_limit_per_minute": 10}, "rate_limit_per_minute"),
    ({**MINIMAL_ANSWERS, "namespace": "off"}, "namespace"),
]


def names_field(error: UserError, key: str) -> bool:
    return error.field == key or error.field.startswith((f"{key}[", f"{key}."))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.filter_too_much],
          **DETERMINISTIC)
@given(case=one_broken_field())
def test_invalid_answers_are_refused_naming_the_field(case: tuple[dict[str, Any], str]) -> None:
    answers, key = case
    with pytest.raises(UserError) as caught:
        validate_answers(answers)
    assert names_field(caught.value, key), (key, caught.value.field, caught.value.rule)
    assert caught.value.rule and "\n" not in caught.value.one_line()


def run_cli(answers_file: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "new", "--answers", str(answers_file), "--no-input",
                           "--output-dir", str(output)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.filter_too_much],
          **DETERMINISTIC)
@given(case=one_broken_field())
def test_cli_refuses_invalid_answers_with_one_line(case: tuple[dict[str, Any], str],
                                                   scratch: Path) -> None:
    answers, key = case
    work = Path(tempfile.mkdtemp(dir=scratch))
    answers_file = work / "answers.json"
    answers_file.write_text(json.dumps(answers))
    done = run_cli(answers_file, work / "out")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.match(rf"error: {re.escape(key)}[\[.:]", lines[0]), (key, lines[0])
    assert not (work / "out").exists()



NAME_ALPHABETS = {
    "kubernetes name": ("abcdefghijklmnopqrstuvwxyz0123456789-", r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"),
    "environment variable": ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_",
                             r"[A-Za-z_][A-Za-z0-9_]*"),
}


@pytest.mark.parametrize("alphabet", sorted(NAME_ALPHABETS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_schema_name_rule_is_the_yaml_reader_rule(alphabet: str, data: st.DataObject) -> None:
    """The answers schema (and so the Backstage form) refuses exactly the names a YAML reader
    would not read as text; names are drawn biased toward the tricky shapes."""
    characters, name_pattern = NAME_ALPHABETS[alphabet]
    tricky = st.sampled_from(["y", "N", "yes", "Off", "NULL", "true", "0x1f", "0o17", "0b10",
                              "1e3", "1e-3", "12", "007", "1_000", "2024-01-31", "0bad", "e3",
                              "yes-no", "on1", "nul", "Yes_", "x1e3"])
    name = data.draw(st.one_of(tricky, st.text(characters, min_size=1, max_size=10)))
    if not re.fullmatch(name_pattern, name):
        return
    schema_refuses = re.match(NON_STRING_NAME_PATTERN, name) is not None
    assert schema_refuses == (not reads_as_string(name)), name
