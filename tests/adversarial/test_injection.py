"""Hostile answers through every entry point: nothing executes, escapes or changes shape.

Entry points: the CLI (``--set`` and answers files), plain ``cookiecutter --no-input
key=value`` and the Backstage ``inference:scaffold`` action (driven in Node with the real
CLI). Payload families: Jinja server-side template injection (each payload would create a
marker file if it were ever evaluated; a positive control proves that), Helm template syntax,
YAML structure (newlines, ``: ``, ``#``, anchors, tags, document separators, and scalars that
Go's YAML parser would read as booleans or numbers), paths (``..``, absolute, symlinks) and
oversized input.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from chart_render import pinned_chart
from common import MINIMAL_ANSWERS, PROJECT_ROOT

from inference_scaffolder.answers import (
    MAX_ANSWER_LENGTH,
    answers_json_schema,
    default_answers,
    load_answers_file,
    validate_answers,
)
from inference_scaffolder.chart import chart_source_dir
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import generate
from inference_scaffolder.tools import run_helm

BIN = Path(sys.executable).parent
CLI = str(BIN / "inference-scaffolder")
COOKIECUTTER = str(BIN / "cookiecutter")
TEMPLATE = str(PROJECT_ROOT / "templates" / "ml-inference-load")

# Classic Jinja sandbox escapes; each one runs `touch {marker}` when evaluated.
SSTI_PAYLOADS = [
    "{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
    "{{{{ joiner.__init__.__globals__.os.popen('touch {marker}').read() }}}}",
    "{{{{ lipsum.__globals__['os'].system('touch {marker}') }}}}",
    "{{{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch {marker}') }}}}",
    "{{% set x = namespace.__init__.__globals__.os.system('touch {marker}') %}}ok",
    "{{% for c in ().__class__.__base__.__subclasses__() %}}{{% if c.__name__ == "
    "'catch_warnings' %}}{{{{ c()._module.__builtins__['__import__']('os')"
    ".system('touch {marker}') }}}}{{% endif %}}{{% endfor %}}",
]
# Helm template syntax: harmless in Python, evaluated if a chart ever `tpl`s a value.
HELM_PAYLOADS = [
    "{{ .Release.Name }}",
    '{{ include "mil.name" . }}',
    '{{ fail "values were evaluated as a template" }}',
    '{{ (lookup "v1" "Secret" "kube-system" "").data }}',
    "{{- /* comment */ -}}",
]


def ssti(marker: Path) -> list[str]:
    return [p.format(marker=marker) for p in SSTI_PAYLOADS]


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def assert_refused(done: subprocess.CompletedProcess[str], field: str) -> None:
    """Exit 2, exactly one stderr line ``error: <field>: ...``, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert "Traceback" not in done.stderr


def empty_or_missing(directory: Path) -> bool:
    return not directory.exists() or not any(directory.iterdir())


# --- the payloads are live ---------------------------------------------------------------


def test_payloads_run_code_when_evaluated_as_jinja(tmp_path: Path) -> None:
    """Positive control: every SSTI payload does create its marker in a plain Jinja
    environment, so a marker that stays absent below means "not evaluated"."""
    for index, payload in enumerate(SSTI_PAYLOADS):
        marker = tmp_path / f"control-{index}"
        jinja2.Environment().from_string(payload.format(marker=marker)).render()
        assert marker.exists(), payload


# --- library level: every payload in every string answer ---------------------------------


def _string_answer_paths() -> list[tuple[str, str]]:
    """(answer key, field path) for every answer, and every member of list-of-object answers,
    from the schema: a string may arrive where any of them is expected."""
    paths = []
    for key, schema in answers_json_schema()["properties"].items():
        paths.append((key, key))
        if schema.get("type") == "array" and "properties" in schema["items"]:
            paths += [(key, f"{key}[0].{name}") for name in schema["items"]["properties"]]
    return paths


def _with_string_at(path: str, text: str) -> dict[str, Any]:
    answers: dict[str, Any] = dict(MINIMAL_ANSWERS)
    key, _, member = path.partition("[0].")
    if member:
        entry = ({"name": "SAFE_NAME", "value": "x"} if key == "environment_variables"
                 else {"name": "SAFE_NAME", "vaultPath": "/secret/x"})
        entry[member] = text
        answers[key] = [entry]
    else:
        answers[key] = text
    return answers


@pytest.mark.parametrize(("key", "path"), _string_answer_paths(), ids=lambda v: str(v))
def test_every_payload_is_refused_in_every_string_answer(
    key: str, path: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    for payload in [*ssti(marker), *HELM_PAYLOADS]:
        with pytest.raises(UserError) as caught:
            validate_answers(_with_string_at(path, payload))
        assert caught.value.field == path, (payload, caught.value)
        assert "\n" not in caught.value.one_line()
    assert not marker.exists()


def test_template_delimiters_in_mapping_keys_are_refused() -> None:
    """``environment_variables`` may be a NAME: value mapping; its keys are answers too."""
    with pytest.raises(UserError, match="template delimiter"):
        validate_answers({**MINIMAL_ANSWERS, "environment_variables": {"{{ 7*7 }}": "x"}})


# --- the CLI: --set and answers files -------------------------------------------------------


@pytest.mark.parametrize("index", range(len(SSTI_PAYLOADS)))
def test_cli_set_refuses_template_payloads(index: int, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    out = tmp_path / "out"
    done = run(CLI, "new", "--no-input", "--output-dir", str(out),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
               f"--set=description={SSTI_PAYLOADS[index].format(marker=marker)}")
    assert_refused(done, "description")
    assert not marker.exists()
    assert empty_or_missing(out)


def test_answers_file_refuses_payloads_in_nested_answers(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = ssti(marker)
    cases = {
        "environment_variables[0].value": {"environment_variables": [
            {"name": "EXTRA", "value": payloads[0]}]},
        "extra_secrets[0].vaultPath": {"extra_secrets": [
            {"name": "API_TOKEN", "vaultPath": payloads[3]}]},
        "model_revision": {"model_revision": payloads[5]},
    }
    for field, hostile in cases.items():
        answers = tmp_path / "answers.json"
        answers.write_text(json.dumps({**MINIMAL_ANSWERS, **hostile}))
        done = run(CLI, "new", "--answers", str(answers), "--no-input",
                   "--output-dir", str(tmp_path / "out"))
        assert_refused(done, field)
    assert not marker.exists()
    assert empty_or_missing(tmp_path / "out")


def test_answers_file_refuses_yaml_code_tags_and_aliases(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = {
        "python-object": f"service_name: !!python/object/apply:os.system ['touch {marker}']\n",
        "python-name": "service_name: !!python/name:os.system\n",
        "alias": "model_id: &m a/b\nmodel_revision: *m\nservice_name: x\n",
        "merge-alias": "base: &b {engine: tgi}\nmerged:\n  <<: *b\n",
        "two-documents": "service_name: x\n---\nservice_name: y\n",
        "duplicate-key": "service_name: x\nservice_name: y\n",
    }
    for name, text in hostile.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        with pytest.raises(UserError) as caught:
            load_answers_file(path)
        assert caught.value.field in ("--answers", "service_name"), (name, caught.value)
    done = run(CLI, "new", "--answers", str(tmp_path / "python-object.yaml"), "--no-input",
               "--output-dir", str(tmp_path / "out"))
    assert_refused(done, "--answers")
    assert not marker.exists()


# --- plain cookiecutter ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["description", "model_revision", "owner"])
def test_plain_cookiecutter_never_evaluates_payloads(field: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    out = tmp_path / "out"
    for payload in ssti(marker)[:3] + HELM_PAYLOADS[:1]:
        answers = {**MINIMAL_ANSWERS, field: payload}
        done = run(COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(out),
                   *[f"{k}={v}" for k, v in answers.items()], env={"HOME": str(tmp_path)})
        assert done.returncode == 2, done.stderr
        assert f"error: {field}: must not contain template delimiters" in done.stderr
        assert not marker.exists()
        assert empty_or_missing(out)


# --- YAML structure: what renders is exactly what was asked -------------------------------


_HOSTILE_VALUES = {
    "MULTILINE": "line one\nline two: injected\n  - item",
    "MAPPING": "key: value",
    "COMMENT": "# not a comment",
    "TRAILING_COMMENT": "value # not a comment",
    "ANCHOR": "&anchor text",
    "ALIAS": "*anchor",
    "PY_TAG": "!!python/object/apply:os.system ['true']",
    "STR_TAG": "!!str tagged",
    "DOC_SEPARATOR": "---\nkind: Secret\nmetadata:\n  name: injected",
    "DOC_END": "...",
    "FLOW_MAPPING": "{injected: true}",
    "FLOW_SEQUENCE": "[1, 2]",
    "BLOCK_SCALAR": "|\n  block",
    "QUOTES": "'single' \"double\" `back`",
    "CRLF": "a\r\nb",
    "UNICODE_BREAKS": "a\u2028b\u2029c",
    "CONTROL": "bell\x07esc\x1b",
    "TABS_AND_SPACES": "\t lead and trail \t",
    "EMPTY": "",
    # Scalars Go's YAML parser (Helm, kubectl) reads as booleans, numbers or null.
    "YES": "yes",
    "ON": "on",
    "Y": "y",
    "N": "N",
    "TRUE_": "true",
    "NULL_": "null",
    "TILDE": "~",
    "EXPONENT": "1e3",
    "OCTAL": "0o17",
    "LEADING_ZERO": "08",
    "UNDERSCORE_INT": "1_000",
    "SEXAGESIMAL": "12:30",
    "DATE": "2024-01-01",
    # Regression: beyond U+FFFF (an emoji) the kustomize comparison crashed with a traceback.
    "ASTRAL": "hi \U0001f600 \U0005cc12",
}
HOSTILE_VALUES = {f"V_{name}": value for name, value in _HOSTILE_VALUES.items()}
HOSTILE_DESCRIPTION = (
    "key: value # comment --- !!python/object/apply:os.system ['true'] &a *a {x: 1} [1] "
    "'q' \"dq\" % @ ` | > ? - yes ~ \u2028 \U0001f600 end"
)  # (ESC and bidirectional overrides are refused in prose: test_hostile_text_and_numbers)
HOSTILE_IDENTITY = {
    "model_revision": "1e3",
    "engine_image_tag": "0b1",
    "served_model_name": "yes",
    "quantization": "on",
}


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated (and validated) repository carrying every hostile value at once."""
    answers = validate_answers({
        **MINIMAL_ANSWERS,
        **HOSTILE_IDENTITY,
        "description": HOSTILE_DESCRIPTION,
        "environments": ["dev"],
        "engine": "tgi",
        "environment_variables": [{"name": k, "value": v} for k, v in HOSTILE_VALUES.items()],
    })
    return generate(answers, tmp_path_factory.mktemp("hostile"), git_init=False).output


def helm_objects(repo: Path, *extra_values: Path) -> dict[str, dict[str, Any]]:
    args = ["template", repo.name, str(pinned_chart(repo, "dev")),
            "-f", str(repo / "environments" / "dev" / "values.yaml")]
    for values in extra_values:
        args += ["-f", str(values)]
    result = run_helm(args)
    assert result.ok, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if isinstance(d, dict)]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def engine_container(objects: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    [container] = objects[f"Deployment/{name}"]["spec"]["template"]["spec"]["containers"]
    return container


def test_environment_values_render_as_exactly_the_given_strings(hostile_repo: Path) -> None:
    container = engine_container(helm_objects(hostile_repo), hostile_repo.name)
    ours = [e for e in container["env"] if e["name"] in HOSTILE_VALUES]
    assert ours == [{"name": k, "value": v} for k, v in HOSTILE_VALUES.items()]


def test_hostile_values_change_no_structure(hostile_repo: Path, tmp_path: Path) -> None:
    """The manifests equal those of harmless values of the same names, except the values."""
    benign = tmp_path / "benign.yaml"
    values = yaml.safe_load(
        (hostile_repo / "environments" / "dev" / "values.yaml").read_text())
    environment = [{"name": e["name"], "value": "x"}
                   for e in values["container"]["environment"]]
    benign.write_text(yaml.safe_dump({"container": {"environment": environment}}))
    hostile, harmless = helm_objects(hostile_repo), helm_objects(hostile_repo, benign)
    assert hostile.keys() == harmless.keys()
    for key in hostile:
        assert _blank_env_values(hostile[key]) == _blank_env_values(harmless[key]), key


def _blank_env_values(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"name", "value"} and obj["name"] in HOSTILE_VALUES:
            return {"name": obj["name"], "value": "x"}
        return {k: _blank_env_values(v) for k, v in obj.items()
                if k not in ("checksum/config",)}
    if isinstance(obj, list):
        return [_blank_env_values(v) for v in obj]
    return obj


def test_identity_values_that_look_like_numbers_stay_strings(hostile_repo: Path) -> None:
    objects = helm_objects(hostile_repo)
    deployment = objects[f"Deployment/{hostile_repo.name}"]
    container = engine_container(objects, hostile_repo.name)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REVISION"] == "1e3"
    assert env["QUANTIZE"] == "on"
    assert container["image"].endswith(":0b1")
    assert deployment["metadata"]["annotations"]["platform/served-model-name"] == "yes"
    dev = yaml.safe_load((hostile_repo / "environments" / "dev" / "values.yaml").read_text())
    assert dev["model"]["revision"] == "1e3" and dev["container"]["image"]["tag"] == "0b1"


def test_description_is_data_in_every_file(hostile_repo: Path) -> None:
    catalog = yaml.safe_load((hostile_repo / "catalog-info.yaml").read_text())
    assert catalog["metadata"]["description"] == HOSTILE_DESCRIPTION
    mkdocs = yaml.safe_load((hostile_repo / "mkdocs.yml").read_text())
    assert html.unescape(mkdocs["site_description"]) == HOSTILE_DESCRIPTION  # HTML in a theme
    record = yaml.safe_load((hostile_repo / ".inference-scaffolder" / "answers.yaml").read_text())
    assert record["answers"]["description"] == HOSTILE_DESCRIPTION
    assert record["answers"]["environment_variables"] == [
        {"name": k, "value": v} for k, v in HOSTILE_VALUES.items()]


@pytest.mark.parametrize(
    ("key", "value"),
    [("service_name", "y"), ("namespace", "123"), ("namespace", "on"),
     ("service_catalog", "1e3"), ("secret_store", "no"),
     ("environment_variables", [{"name": "yes", "value": "1"}]),
     ("extra_secrets", [{"name": "NULL", "vaultPath": "/secret/x"}])],
)
def test_names_that_yaml_reads_as_other_types_are_refused(key: str, value: Any) -> None:
    """Regression: the chart writes names unquoted (as Kubernetes charts do); a service named
    ``y`` reached the manifests as the boolean ``true``."""
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, key: value})
    assert caught.value.field.startswith(key)
    assert "reads as a boolean, number or null" in caught.value.rule


@pytest.mark.parametrize("character", ["\x85", "\x7f", "\x9b", "\ufffe", "\uffff", "\ud800"])
def test_characters_the_deployment_path_cannot_carry_are_refused(
    character: str, tmp_path: Path
) -> None:
    """Regression: kustomize (Argo CD's renderer) refuses DEL, C1 controls and U+FFFE/FFFF
    and folds U+0085 into a space; a lone surrogate (valid in a JSON escape) crashed the
    file writer with a traceback."""
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, "environment_variables": [
            {"name": "V", "value": f"a{character}b"}]})
    assert caught.value.field == "environment_variables[0].value"
    assert f"U+{ord(character):04X}" in caught.value.rule
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({**MINIMAL_ANSWERS, "description": f"a{character}b"}))
    done = run(CLI, "new", "--answers", str(answers), "--no-input",
               "--output-dir", str(tmp_path / "out"))
    assert_refused(done, "description")


def test_json_answers_file_is_read_as_json(tmp_path: Path) -> None:
    """Regression: the Backstage action writes answers.json with JSON.stringify, which leaves
    U+2028 raw; read as YAML, that is a line break and the spaces around it were dropped."""
    answers = tmp_path / "answers.json"
    text = "a \u2028 b \\ c"
    answers.write_text(json.dumps({**MINIMAL_ANSWERS, "description": text}, indent=2,
                                  ensure_ascii=False))
    assert load_answers_file(answers)["description"] == text
    answers.write_text('{"service_name": "a", "service_name": "b"}')
    with pytest.raises(UserError, match="given twice"):
        load_answers_file(answers)


# --- trailing newlines ---------------------------------------------------------------------


def _patterned_fields() -> list[tuple[str, dict[str, Any]]]:
    """(field path, answers) with a valid value plus a final newline in each patterned string."""
    valid = {**default_answers(), **MINIMAL_ANSWERS}
    cases = []
    for key, schema in answers_json_schema()["properties"].items():
        if "pattern" in schema or "anyOf" in schema:
            cases.append((key, {**MINIMAL_ANSWERS, key: f"{valid[key]}\n"}))
    cases.append(("environment_variables[0].name", {**MINIMAL_ANSWERS, "environment_variables":
                                                    [{"name": "A\n", "value": "x"}]}))
    for member in ("name", "vaultPath", "secretKey"):
        secret = {"name": "API_TOKEN", "vaultPath": "/secret/a", "secretKey": "api-token"}
        secret[member] += "\n"
        cases.append((f"extra_secrets[0].{member}", {**MINIMAL_ANSWERS, "extra_secrets": [secret]}))
    return cases


@pytest.mark.parametrize(("field", "answers"), _patterned_fields(), ids=lambda v: str(v)[:40])
def test_trailing_newline_is_refused_in_every_patterned_answer(
    field: str, answers: dict[str, Any]
) -> None:
    """Regression: Python's ``$`` matches before a final newline, so ``svc\\n`` passed every
    pattern (JSON Schema, Backstage and Helm use ECMA/Go rules, where it does not)."""
    with pytest.raises(UserError) as caught:
        validate_answers(answers)
    assert caught.value.field == field


# --- Helm: values are never template source ------------------------------------------------


def test_chart_never_evaluates_values_with_tpl() -> None:
    """`tpl` is the one way a Helm chart turns a value into template source."""
    actions = re.compile(r"\{\{.*?\}\}", re.DOTALL)
    offenders = [
        f"{path.name}: {action}"
        for path in (chart_source_dir() / "templates").rglob("*")
        if path.is_file()
        for action in actions.findall(path.read_text(encoding="utf-8"))
        if re.search(r"\btpl\b", action)
    ]
    assert offenders == []


def test_template_syntax_written_into_values_renders_verbatim(
    hostile_repo: Path, tmp_path: Path
) -> None:
    """Even past the answers check (an operator editing values.yaml), Helm syntax in a value
    is output as text, never run: ``fail`` would abort the render."""
    override = tmp_path / "override.yaml"
    environment = [{"name": f"HELM_{i}", "value": p} for i, p in enumerate(HELM_PAYLOADS)]
    override.write_text(yaml.safe_dump({"container": {"environment": environment}}))
    container = engine_container(helm_objects(hostile_repo, override), hostile_repo.name)
    assert [e for e in container["env"] if e["name"].startswith("HELM_")] == environment


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs", "a/b", "..", ".", "x\\y", "~root"])
def test_service_name_that_is_a_path_is_refused(name: str) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, "service_name": name})
    assert caught.value.field == "service_name"


def test_cli_service_name_path_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    done = run(CLI, "new", "--no-input", "--output-dir", str(out),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
               "--set=service_name=../../escaped")
    assert_refused(done, "service_name")
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_plain_cookiecutter_refuses_a_path_as_service_name_before_creating_it(
    tmp_path: Path
) -> None:
    """Regression: cookiecutter creates the project folder (and its missing parents) before
    the pre-generation hook runs, so ``../../escaped/x`` left folders outside ``-o``."""
    work = tmp_path / "work"
    out = work / "out"
    out.mkdir(parents=True)
    for name in ["../../escaped/deeper/x", str(tmp_path / "absolute"), ".."]:
        done = run(COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(out), f"service_name={name}",
                   "model_id=a/b", "model_revision=main", env={"HOME": str(work)})
        assert done.returncode == 2, done.stderr
        assert "error: service_name: must be a single folder name" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert list(out.iterdir()) == []


def test_cookiecutter_replay_file_cannot_smuggle_a_path(tmp_path: Path) -> None:
    """A replay file skips prompting (and so the answer-time guard); the folder-name check
    and the hooks still apply."""
    context = json.loads((Path(TEMPLATE) / "cookiecutter.json").read_text())
    context.update({**MINIMAL_ANSWERS, "service_name": "../escaped", "lifecycle": "experimental",
                    "engine": "tgi", "gpu_type": "", "_template": TEMPLATE})
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": context}))
    out = tmp_path / "out"
    out.mkdir()
    done = run(COOKIECUTTER, TEMPLATE, "--replay-file", str(replay), "-o", str(out),
               env={"HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert "service_name: must be a single folder name" in done.stderr
    assert not (tmp_path / "escaped").exists() and list(out.iterdir()) == []


def test_output_dir_through_a_symlink_writes_only_inside_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    done = run(CLI, "new", "--no-input", "--no-git", "--output-dir", str(tmp_path / "link"),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()], "--set=environments=dev",
               "--json")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in real.iterdir()] == [MINIMAL_ANSWERS["service_name"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
    assert (real / MINIMAL_ANSWERS["service_name"] / "environments" / "dev"
            / "values.yaml").is_file()


@pytest.mark.parametrize("force", [False, True])
def test_symlink_planted_at_the_target_is_never_followed(tmp_path: Path, force: bool) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / MINIMAL_ANSWERS["service_name"]).symlink_to(victim, target_is_directory=True)
    done = run(CLI, "new", "--no-input", "--output-dir", str(out),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
               *(["--force"] if force else []))
    assert_refused(done, "--output-dir")
    assert "symbolic link" in done.stderr
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "precious"
    assert [p.name for p in out.iterdir()] == [MINIMAL_ANSWERS["service_name"]]


# --- oversized and malformed input -------------------------------------------------------------


def test_oversized_answers_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """Regression: a 20 MB file kept the YAML parser busy for seconds (and /dev/zero for
    ever); files above 8 MiB are refused unread."""
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({**MINIMAL_ANSWERS, "description": "d" * (9 * 1024 * 1024)}))
    for path, why in ((huge, "larger than"), (Path("/dev/zero"), "not a regular file")):
        done = run(CLI, "new", "--answers", str(path), "--no-input",
                   "--output-dir", str(tmp_path / "out"), timeout=30)
        assert_refused(done, "--answers")
        assert why in done.stderr
    assert empty_or_missing(tmp_path / "out")


def test_huge_answers_are_refused_with_one_line(tmp_path: Path) -> None:
    done = run(CLI, "new", "--no-input", "--output-dir", str(tmp_path / "out"),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()],
               f"--set=model_revision={'r' * 100_000}")
    assert_refused(done, "model_revision")
    assert f"longer than {MAX_ANSWER_LENGTH}" in done.stderr
    many = [{"name": f"V{i}", "value": "x"} for i in range(129)]
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, "environment_variables": many})
    assert caught.value.field == "environment_variables"
    with pytest.raises(UserError, match="longer than"):
        validate_answers({**MINIMAL_ANSWERS, "environment_variables": [
            {"name": "BIG", "value": "v" * (MAX_ANSWER_LENGTH + 1)}]})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deep", "service_name: " + "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("unhashable", "service_name: x\n? [a, b]\n: 1\n", "a key must be a name"),
        ("not-utf8", b"service_name: \xff\xfe\n", "is not UTF-8 text"),
        ("nested-env-value", '{"environment_variables": {"A": {"b": {"c": 1}}}}',
         "environment_variables[0].value"),
    ],
)
def test_malformed_answers_files_get_one_line_not_a_traceback(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    """Regression: each of these ended in a Python traceback (RecursionError, TypeError,
    UnicodeDecodeError) or in a value built from a nested mapping."""
    path = tmp_path / f"{name}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    done = run(CLI, "new", "--answers", str(path), "--no-input",
               "--output-dir", str(tmp_path / "out"),
               *[f"--set={k}={v}" for k, v in MINIMAL_ANSWERS.items()])
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert message in done.stderr
    assert empty_or_missing(tmp_path / "out")


# --- Backstage: the inference:scaffold action with the real CLI ------------------------------

BACKSTAGE_DRIVER = r"""
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ConfigReader } = require('@backstage/config');
const { validate } = require('jsonschema');
const mod = require('@inference-scaffolder/backstage-plugin-scaffolder-backend-module-inference');

async function runCase(c, settings) {
  const action = mod.createInferenceScaffoldAction(settings);
  const checked = validate(c.input, action.schema.input);
  if (!checked.valid) return { ok: false, stage: 'input', error: checked.errors.join(', ') };
  const workspace = fs.mkdtempSync(path.join(c.root, 'ws-'));
  for (const [link, target] of Object.entries(c.symlinks || {})) {
    fs.symlinkSync(target, path.join(workspace, link));
  }
  const logs = [];
  const log = level => (message) => logs.push(`${level}: ${message}`);
  const ctx = {
    input: c.input, workspacePath: workspace, isDryRun: false,
    logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
    output: () => {},
    createTemporaryDirectory: async () => fs.mkdtempSync(path.join(c.root, 'step-')),
  };
  try {
    await action.handler(ctx);
  } catch (e) {
    return { ok: false, stage: 'handler', error: e.message, logs, workspace };
  }
  return { ok: true, logs, workspace };
}

async function main() {
  const all = JSON.parse(fs.readFileSync(0, 'utf8'));
  const settings = mod.readSettings(new ConfigReader(all.config));
  const results = [];
  for (const c of all.cases) results.push(await runCase(c, settings));
  console.log(JSON.stringify(results));
}
main();
"""


@pytest.fixture(scope="module")
def backstage_module() -> Path:
    from backstage_harness import BACKSTAGE_DIR, install_backstage

    install_backstage()
    return BACKSTAGE_DIR


def run_scaffold_cases(backstage_dir: Path, root: Path, cases: list[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
    config = {"inferenceScaffolder": {"command": CLI, "timeoutSeconds": 120}}
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "TMPDIR": str(root)}
    for case in cases:
        case["root"] = str(root)
    done = subprocess.run(["node", "-e", BACKSTAGE_DRIVER], cwd=backstage_dir, env=env,
                          input=json.dumps({"config": config, "cases": cases}),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_backstage_action_refuses_payloads_and_paths(backstage_module: Path, tmp_path: Path
                                                     ) -> None:
    marker = tmp_path / "pwned"
    outside = tmp_path / "outside"
    outside.mkdir()
    payloads = ssti(marker)
    values = dict(MINIMAL_ANSWERS)
    refused_by_cli = [
        ({"values": {**values, "description": payloads[0]}}, "description: "),
        ({"values": {**values, "description": HELM_PAYLOADS[0]}}, "description: "),
        ({"values": {**values, "environment_variables": [{"name": "X", "value": payloads[1]}]}},
         "environment_variables[0].value: "),
        ({"values": {**values, "environment_variables": [{"name": "X", "value": payloads[5]}]}},
         "environment_variables[0].value: "),
    ]
    refused_by_schema = [
        {"values": {**values, "service_name": "y"}},  # YAML would read it as a boolean
        {"values": {**values, "service_name": "../escaped"}},
        {"values": {**values, "model_revision": payloads[4]}},
        {"values": {**values, "description": "x" * 5000}},
        {"targetPath": "../escaped", "values": values},
        {"targetPath": str(outside), "values": values},
    ]
    symlinked = [
        {"input": {"targetPath": "link", "values": values}, "symlinks": {"link": str(outside)}},
        {"input": {"targetPath": "link/sub", "values": values},
         "symlinks": {"link": str(outside)}},
    ]
    cases = ([{"input": i} for i, _ in refused_by_cli] + [{"input": i} for i in refused_by_schema]
             + symlinked)
    results = run_scaffold_cases(backstage_module, tmp_path, cases)
    for (case, prefix), result in zip(refused_by_cli, results, strict=False):
        assert (result["ok"], result["stage"]) == (False, "handler"), (case, result)
        assert result["error"].startswith(prefix), result["error"]
        assert os.listdir(result["workspace"]) == []
    for result in results[len(refused_by_cli):len(refused_by_cli) + len(refused_by_schema)]:
        assert (result["ok"], result["stage"]) == (False, "input"), result
    for result in results[-len(symlinked):]:
        assert result["ok"] is False and "outside its parent" in result["error"], result
    assert not marker.exists()
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escaped").exists()


def test_backstage_action_renders_hostile_values_as_data(backstage_module: Path, tmp_path: Path
                                                         ) -> None:
    chosen = {k: HOSTILE_VALUES[k] for k in ("V_MULTILINE", "V_DOC_SEPARATOR", "V_PY_TAG",
                                              "V_YES")}
    values = {**MINIMAL_ANSWERS, "environments": ["dev"], "description": HOSTILE_DESCRIPTION,
              "environment_variables": [{"name": k, "value": v} for k, v in chosen.items()]}
    [result] = run_scaffold_cases(backstage_module, tmp_path,
                                  [{"input": {"targetPath": "svc", "values": values}}])
    assert result["ok"], result
    repo = Path(result["workspace"]) / "svc"
    container = engine_container(helm_objects(repo), MINIMAL_ANSWERS["service_name"])
    assert [e for e in container["env"] if e["name"] in chosen] == [
        {"name": k, "value": v} for k, v in chosen.items()]
    catalog = yaml.safe_load((repo / "catalog-info.yaml").read_text())
    assert catalog["metadata"]["description"] == HOSTILE_DESCRIPTION
