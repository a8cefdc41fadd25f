"""Answer validation: every class of bad input is refused with a one-line, named error."""

from __future__ import annotations

from pathlib import Path

import pytest
from common import EXAMPLES, MINIMAL_ANSWERS

from inference_scaffolder.answers import (
    answers_json_schema,
    collect_answers,
    load_answers_file,
    parse_set_overrides,
    validate_answers,
)
from inference_scaffolder.answers.fields import GPU_TYPES
from inference_scaffolder.chart import values_schema
from inference_scaffolder.errors import UserError


def refused(**overrides: object) -> UserError:
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, **overrides})
    assert "\n" not in caught.value.one_line()
    return caught.value


def test_minimal_answers_fill_in_documented_defaults() -> None:
    answers = validate_answers(MINIMAL_ANSWERS)
    assert answers["engine"] == "vllm"  # TGI is in maintenance mode upstream
    assert answers["allow_downtime"] == ["dev"]
    assert answers["environments"] == ["dev", "syst", "uat", "prod"]
    assert answers["gpu_count"] == 1
    assert answers["secret_store"] == "vault-backend"
    assert answers["image_pull_secret"] is False
    assert answers["basic_monitoring"] is True


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_are_valid(example: Path) -> None:
    assert collect_answers(example)["service_name"]


@pytest.mark.parametrize("key", ["service_name", "model_id", "model_revision"])
def test_answers_without_defaults_are_required(key: str) -> None:
    answers = {k: v for k, v in MINIMAL_ANSWERS.items() if k != key}
    with pytest.raises(UserError) as caught:
        validate_answers(answers)
    assert caught.value.field == key
    assert "required" in caught.value.rule


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("service_name", "Bad_Name"),
        ("service_name", "-leading-dash"),
        ("service_name", "a" * 54),
        ("namespace", "UPPER"),
        ("service_catalog", "has space"),
        ("owner", "not an entity ref!"),
        ("model_id", "org/name/extra"),
        ("model_id", "org/na me"),
        ("model_id", "org/../etc"),
        ("model_id", "org--x/model"),
        ("model_revision", "a..b"),
        ("model_revision", "main branch"),
        ("model_revision", "refs/heads/"),
        ("gpu_count", 0),
        ("gpu_count", 9),
        ("gpu_count", "two"),
        ("max_total_tokens", 0),
        ("ingress_host", "Not.A.Host"),
        ("ingress_host", "localhost"),
        ("ingress_host", "https://x.example.com"),
        ("hf_token_vault_path", "../../etc/passwd"),
        ("hf_token_vault_path", "/secret//double"),
        ("secret_store", "Vault Backend"),
        ("environments", ["dev", "qa"]),
        ("environments", []),
        ("engine", "triton"),
        ("description", "two\nlines"),
        ("cpu_request", "four"),
        ("memory_limit", "64 GB"),
        ("engine_image_tag", "latest tag"),
        ("image_pull_secret", "maybe"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(key: str, value: object) -> None:
    error = refused(**{key: value})
    assert error.field.split("[")[0].split(".")[0] == key
    assert error.rule


def test_environment_variable_names_follow_posix_rules() -> None:
    error = refused(environment_variables=[{"name": "1BAD", "value": "x"}])
    assert error.field == "environment_variables[0].name"


def test_duplicate_environment_variables_are_refused() -> None:
    error = refused(environment_variables="QUANTIZE=bitsandbytes,QUANTIZE=eetq")
    assert error.field == "environment_variables[1].name"
    assert "twice" in error.rule


def test_secret_and_variable_sharing_a_name_are_refused() -> None:
    error = refused(
        environment_variables=[{"name": "API_KEY", "value": "x"}],
        extra_secrets=[{"name": "API_KEY", "vaultPath": "/secret/x"}],
    )
    assert error.field == "extra_secrets[0].name"


def test_variables_the_chart_sets_are_refused() -> None:
    error = refused(environment_variables=[{"name": "MODEL_ID", "value": "other/model"}])
    assert "set by the chart" in error.rule


def test_hf_token_variable_cannot_be_redefined() -> None:
    error = refused(engine="tgi",
                    extra_secrets=[{"name": "HUGGING_FACE_HUB_TOKEN", "vaultPath": "/x/y"}])
    assert "twice" in error.rule


def test_input_tokens_must_leave_room_for_output() -> None:
    error = refused(max_input_tokens=8192, max_total_tokens=8192)
    assert error.field == "max_input_tokens"


def test_pull_secret_needs_a_vault_path() -> None:
    error = refused(image_pull_secret=True, image_pull_secret_vault_path="")
    assert error.field == "image_pull_secret_vault_path"


def test_unknown_answers_are_refused() -> None:
    error = refused(gpu_memory="80Gi")
    assert error.field == "gpu_memory"


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{# c #}", "a}}b"])
def test_template_delimiters_are_refused_in_any_answer(payload: str) -> None:
    error = refused(description=payload)
    assert error.field == "description"
    assert "template" in error.rule


def test_template_delimiters_are_refused_inside_lists() -> None:
    error = refused(environment_variables=[{"name": "X", "value": "{{ .Values.secret }}"}])
    assert error.field == "environment_variables[0].value"


def test_set_overrides_parse_lists_and_booleans() -> None:
    raw = parse_set_overrides(
        ["environments=prod,dev", "image_pull_secret=true", "gpu_count=2", "model_id=a/b"]
    )
    answers = validate_answers({**MINIMAL_ANSWERS, **raw})
    assert answers["environments"] == ["dev", "prod"]  # promotion order, whatever the input
    assert answers["image_pull_secret"] is True
    assert answers["gpu_count"] == 2


@pytest.mark.parametrize("pair", ["novalue", "=x", "unknown_key=1"])
def test_malformed_set_overrides_are_refused(pair: str) -> None:
    with pytest.raises(UserError):
        parse_set_overrides([pair])


def test_answers_file_refuses_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("service_name: a\nservice_name: b\n")
    with pytest.raises(UserError, match="given twice"):
        load_answers_file(path)


def test_answers_file_refuses_aliases_and_python_tags(tmp_path: Path) -> None:
    alias = tmp_path / "alias.yaml"
    alias.write_text("description: &d hello\nsystem: *d\n")
    with pytest.raises(UserError, match="aliases"):
        load_answers_file(alias)
    tagged = tmp_path / "tag.yaml"
    tagged.write_text("description: !!python/object/apply:os.system ['touch /tmp/x']\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_answers_file(tagged)


def test_answer_rules_come_from_the_values_schema() -> None:
    """One source of truth: the answer's pattern is the chart value's pattern."""
    answers = answers_json_schema()["properties"]
    values = values_schema()["properties"]
    assert answers["service_name"]["pattern"] == values["serviceName"]["pattern"]
    assert answers["service_name"]["maxLength"] == values["serviceName"]["maxLength"] == 49
    assert answers["gpu_type"]["enum"] == values["gpu"]["properties"]["type"]["enum"] == list(
        GPU_TYPES)
    assert answers["model_id"]["pattern"] == values["model"]["properties"]["id"]["pattern"]
    assert answers["gpu_count"]["maximum"] == values["gpu"]["properties"]["count"]["maximum"]


def test_cookiecutter_json_is_generated_from_the_answer_declarations() -> None:
    """cookiecutter.json is derived, not hand-kept: regenerate it after changing an answer."""
    import json

    from inference_scaffolder.generation.generate import cookiecutter_json
    from inference_scaffolder.paths import template_dir

    committed = json.loads((template_dir() / "cookiecutter.json").read_text())
    assert committed == json.loads(json.dumps(cookiecutter_json()))


@pytest.mark.parametrize("model_id", ["llama", "/llama", "org/", "org/name/extra"])
def test_a_model_id_must_be_organisation_slash_name(model_id: str) -> None:
    with pytest.raises(UserError) as refused:
        validate_answers({**MINIMAL_ANSWERS, "model_id": model_id})
    assert refused.value.field == "model_id"
    assert "org/name" in refused.value.rule
