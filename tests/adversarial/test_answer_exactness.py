"""Answers mean what the user wrote.

- YAML reads ``3.10`` as 3.1, ``010`` as 8, ``12:30:00`` as 45000 and ``true`` as True: a text
  answer keeps the text as written, an integer answer in such a form is refused;
- ``<<`` and ``=`` (YAML 1.1 operators) render as those exact strings;
- a credential-shaped value is refused in every answer, pointing at ``extra_secrets``;
- the cookiecutter guard exempts the template's folder-name expression only as the folder
  name, not as an answer;
- ``repo_slug`` refuses ``org/..`` and ``org/.``;
- FIFOs, devices and huge files named as inputs are refused unread.

Tokens are built at run time (never a token-shaped literal in the repository).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_render import engine_container, env_entries, render
from common import MINIMAL_ANSWERS, PROJECT_ROOT
from hostile import assert_refused, run_cli

from inference_scaffolder.answers import (
    answers_json_schema,
    load_answers_file,
    validate_answers,
)
from inference_scaffolder.answers.schema import validator
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import generate

COOKIECUTTER = str(Path(sys.executable).with_name("cookiecutter"))
TEMPLATE = str(PROJECT_ROOT / "templates" / "ml-inference-load")


def answers_file(tmp_path: Path, body: str, name: str = "answers.yaml") -> Path:
    """MINIMAL_ANSWERS (those ``body`` does not set) as JSON scalars, then ``body`` as is."""
    given = {line.split(":")[0] for line in body.splitlines() if line and line[0] != " "}
    base = "".join(f"{k}: {json.dumps(v)}\n" for k, v in MINIMAL_ANSWERS.items()
                   if k not in given)
    path = tmp_path / name
    path.write_text(base + body, encoding="utf-8")
    return path


# --- YAML reinterpretation -----------------------------------------------------------------------

TEXT_ANSWERS = [
    ("engine_image_tag: 3.10\n", "engine_image_tag", "3.10"),
    ("engine_image_tag: 2.0\n", "engine_image_tag", "2.0"),
    ("model_revision: 2024-01-01\n", "model_revision", "2024-01-01"),
    ("model_revision: 0123456789\n", "model_revision", "0123456789"),
    ("description: true\n", "description", "true"),
    ("description: 12:30:00\n", "description", "12:30:00"),
    ("cpu_request: 4\n", "cpu_request", "4"),
    ("cpu_request: 0.50\n", "cpu_request", "0.50"),
]


@pytest.mark.parametrize(("body", "key", "expected"), TEXT_ANSWERS,
                         ids=[t[0].strip() for t in TEXT_ANSWERS])
def test_text_answers_keep_the_text_as_written(
    tmp_path: Path, body: str, key: str, expected: str
) -> None:
    answers = validate_answers(load_answers_file(answers_file(tmp_path, body)))
    assert answers[key] == expected


def test_environment_variable_values_keep_the_text_as_written(tmp_path: Path) -> None:
    path = answers_file(tmp_path, "environment_variables:\n  A: 010\n  B: 12:30:00\n"
                                  "  C: true\n  D: 3.10\n  E: 0x1F\n  G: 2024-01-01\n"
                                  "  H: <<\n  I: =\n")
    answers = validate_answers(load_answers_file(path))
    values = {e["name"]: e["value"] for e in answers["environment_variables"]}
    assert values == {"A": "010", "B": "12:30:00", "C": "true", "D": "3.10", "E": "0x1F",
                      "G": "2024-01-01", "H": "<<", "I": "="}


def test_json_answers_keep_number_text(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(MINIMAL_ANSWERS)[:-1] + ', "engine_image_tag": 3.10}')
    assert validate_answers(load_answers_file(path))["engine_image_tag"] == "3.10"


@pytest.mark.parametrize("written", ["010", "0x2", "1_0", "0o7", "1:30"])
def test_integer_answers_refuse_forms_yaml_changes(tmp_path: Path, written: str) -> None:
    done = run_cli("new", "--answers", str(answers_file(tmp_path, f"gpu_count: {written}\n")),
                   "--no-input", "--output-dir", str(tmp_path / "out"), tmp=tmp_path / "tmp")
    line = assert_refused(done, "gpu_count")
    assert written in line
    assert not (tmp_path / "out").exists()


def test_plain_integers_and_switches_still_work(tmp_path: Path) -> None:
    path = answers_file(tmp_path, "gpu_count: 2\nrouting: yes\nmax_input_tokens: 1024\n")
    answers = validate_answers(load_answers_file(path))
    assert (answers["gpu_count"], answers["routing"], answers["max_input_tokens"]) == (
        2, True, 1024)


@pytest.fixture(scope="module")
def operators_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated (validated, so the Kustomize build is read too) with values that are YAML
    1.1 operators; before, this ended in a ConstructorError traceback."""
    out = tmp_path_factory.mktemp("operators")
    answers = validate_answers({**MINIMAL_ANSWERS, "environment_variables": [
        {"name": "MERGE", "value": "<<"}, {"name": "EQUALS", "value": "="},
        {"name": "TILDE", "value": "~"}, {"name": "COLON", "value": "12:30:00"}]})
    return generate(answers, out, git_init=False).output


def test_yaml_operators_render_as_exact_strings(operators_repo: Path) -> None:
    objects = render(operators_repo, "dev")
    env = env_entries(engine_container(objects, MINIMAL_ANSWERS["service_name"]))
    assert [env[n]["value"] for n in ("MERGE", "EQUALS", "TILDE", "COLON")] == [
        "<<", "=", "~", "12:30:00"]


def test_yaml_operators_through_the_cli(tmp_path: Path) -> None:
    done = run_cli("new", "--no-input", "--no-git", "--output-dir", str(tmp_path / "out"),
                   *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
                   "--set", "environment_variables=A=<<,B==", tmp=tmp_path / "tmp")
    assert done.returncode == 0, done.stderr[-3000:]
    values = yaml.safe_load((tmp_path / "out" / MINIMAL_ANSWERS["service_name"] / "environments"
                             / "dev" / "values.yaml").read_text())
    env = {e["name"]: e["value"] for e in values["container"]["environment"]}
    assert (env["A"], env["B"]) == ("<<", "=")


# --- platform answers: the rule the environments' chart pin is held to ----------------------


@pytest.mark.parametrize(("setting", "field"), [
    ("chart_version=0.1.0+build.1", "chart_version"),  # helm would ignore the build part
    ("chart_version=0.1.0-01", "chart_version"),  # not semver: a numeric id with a zero
    ("chart_repository=https://charts.example.com:99999/platform", "chart_repository"),
    ("chart_repository=https://charts..example.com/platform", "chart_repository"),
], ids=["build-metadata", "leading-zero", "port", "empty-label"])
def test_platform_answers_are_refused_naming_the_answer(
    tmp_path: Path, setting: str, field: str
) -> None:
    """An answer the generated kustomization could not pin is refused as the answer (not
    as environments/<env>/kustomization.yaml, a file the user never wrote)."""
    done = run_cli("new", "--no-input", "--no-git", "--output-dir", str(tmp_path / "out"),
                   *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
                   "--set", setting, tmp=tmp_path / "tmp")
    assert_refused(done, field)
    assert not (tmp_path / "out").exists()


# --- credentials in answers ----------------------------------------------------------------------


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def credential_samples() -> dict[str, str]:
    """One value of each shape, built at run time."""
    return {
        "hugging-face": "hf" + "_" + _random(ALNUM, 34),
        "github-classic": "gh" + "p_" + _random(ALNUM, 36),
        "github-fine-grained": "github" + "_pat_" + _random(ALNUM + "_", 60),
        "openai": "sk" + "-" + _random(ALNUM, 48),
        "openai-project": "sk" + "-proj-" + _random(ALNUM + "-_", 40),
        "slack": "xo" + "xb-" + _random("0123456789", 12) + "-" + _random(ALNUM, 24),
        "aws-access-key": "AK" + "IA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "aws-session-key": "AS" + "IA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "jwt": "ey" + "J" + _random(ALNUM, 20) + ".ey" + "J" + _random(ALNUM, 30) + "."
               + _random(ALNUM, 20),
        "private-key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n" + _random(ALNUM, 40),
    }


PLACES = ["environment_variables[0].value", "description", "served_model_name",
          "extra_secrets[0].vaultPath", "model_revision"]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("shape", list(credential_samples()))
def test_credentials_are_refused_in_every_answer(shape: str, place: str) -> None:
    token = credential_samples()[shape]
    answers: dict = dict(MINIMAL_ANSWERS)
    if place.startswith("environment_variables"):
        answers["environment_variables"] = [{"name": "API_KEY", "value": token}]
    elif place.startswith("extra_secrets"):
        answers["extra_secrets"] = [{"name": "API_KEY", "vaultPath": f"/secret/{token}"}]
    else:
        answers[place] = f"uses {token}"
    with pytest.raises(UserError) as refused:
        validate_answers(answers)
    assert refused.value.field == place
    assert "extra_secrets" in refused.value.rule and "Vault" in refused.value.rule
    assert token not in str(refused.value)
    assert token[4:20] not in str(refused.value)


def test_a_credential_in_an_answers_file_is_never_echoed(tmp_path: Path) -> None:
    token = credential_samples()["hugging-face"]
    path = answers_file(tmp_path, f"description: our key is {token}\n")
    done = run_cli("new", "--answers", str(path), "--no-input", "--output-dir",
                   str(tmp_path / "out"), tmp=tmp_path / "tmp")
    assert_refused(done, "description", mentions="extra_secrets")
    assert token not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "sk-learn-classifier-for-sentiment-analysis", "meta-llama/Llama-3.1-8B-Instruct",
    "hf_transfer speeds up downloads", "AKIA is a prefix", "/secret/shared/hf_token",
    "-----BEGIN CERTIFICATE-----", "eyJ-not-a-token",
])
def test_ordinary_text_is_not_taken_for_a_credential(text: str) -> None:
    validate_answers({**MINIMAL_ANSWERS, "description": text})


# --- the cookiecutter guard's exemption ----------------------------------------------------------


def test_the_folder_name_expression_is_no_answer(tmp_path: Path) -> None:
    """An answer spelled like the template's own folder name was rendered (the guard
    exempted that expression for every answer)."""
    done = subprocess.run(
        [COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(tmp_path / "out"),
         *[f"{k}={v}" for k, v in MINIMAL_ANSWERS.items()],
         "description={{cookiecutter.service_name}}"],
        capture_output=True, text=True, timeout=300, env={**os.environ},
    )
    assert done.returncode != 0
    assert "description: must not contain template delimiters" in done.stderr
    assert "Traceback" not in done.stderr
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


# --- repo_slug path steps ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["org/..", "org/.", "org/..\n"])
def test_repo_slug_refuses_path_steps(slug: str) -> None:
    with pytest.raises(UserError) as refused:
        validate_answers({**MINIMAL_ANSWERS, "repo_slug": slug})
    assert refused.value.field == "repo_slug"
    schema = answers_json_schema()["properties"]["repo_slug"]
    assert not validator().evolve(schema=schema).is_valid(slug.rstrip("\n"))


@pytest.mark.parametrize("slug", ["org/repo", "org/.github", "org/a..b", "org/v1.0"])
def test_repo_slug_keeps_names_with_dots(slug: str) -> None:
    assert validate_answers({**MINIMAL_ANSWERS, "repo_slug": slug})["repo_slug"] == slug


# --- inputs named by the user: regular files only, bounded ---------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "named-pipe.json"
    os.mkfifo(path)
    return path


def test_answers_file_fifo_is_refused_unread(tmp_path: Path, fifo: Path) -> None:
    done = run_cli("new", "--answers", str(fifo), "--no-input", "--output-dir",
                   str(tmp_path / "out"), tmp=tmp_path / "tmp", timeout=60)
    assert_refused(done, "--answers", mentions="FIFO")


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_model_config_must_be_a_bounded_regular_file(tmp_path: Path, kind: str) -> None:
    path = {"device": Path("/dev/zero")}.get(kind, tmp_path / "config.json")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(512 * 1024 * 1024)  # sparse
    for capacity_check in (["--set", "gpu_type=L4"], []):  # the config is kept either way
        done = run_cli("new", "--no-input", "--output-dir", str(tmp_path / "out"),
                       *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
                       *capacity_check, "--set", f"model_config={path}",
                       tmp=tmp_path / "tmp", timeout=60)
        assert_refused(done, "model_config")
        assert not (tmp_path / "out").exists()
    done = run_cli("capacity", "--model-config", str(path), "--gpu-type", "L4",
                   "--gpu-count", "1", tmp=tmp_path / "tmp", timeout=60)
    assert_refused(done)
