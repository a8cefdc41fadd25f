"""The chart lints and renders on its own, as the platform repository's checks run it, while
a deployment without model.id and model.revision still fails loudly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_render import pinned_chart
from common import PROJECT_ROOT

from inference_scaffolder.chart import chart_source_dir
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm

pytestmark = pytest.mark.slow

CHECK_VALUES = PROJECT_ROOT / "tools" / "check-values.cjs"
MODEL = ["--set", "model.id=Qwen/Qwen2.5-0.5B-Instruct", "--set", "model.revision=main"]


def lint(chart: Path, *args: str) -> tuple[bool, str]:
    result = run_helm(["lint", str(chart), *args])
    return result.ok, result.stdout + result.stderr


def template(*args: str) -> tuple[bool, str, str]:
    result = run_helm(["template", "svc", str(chart_source_dir()), *args])
    return result.ok, result.stdout, " ".join(result.stderr.split())


def test_lints_with_its_own_values_only() -> None:
    ok, output = lint(chart_source_dir())
    assert ok, output
    # The missing model is reported, as a warning, with the message a deployment fails with.
    assert "model.id is required (no default)" in output


def test_lints_strictly_with_its_own_values_only() -> None:
    ok, output = lint(chart_source_dir(), "--strict")
    assert ok, output


@pytest.mark.parametrize(
    "values", sorted(p.name for p in (chart_source_dir() / "ci").glob("*-values.yaml"))
)
def test_lints_with_every_ci_values_file(values: str) -> None:
    ok, output = lint(chart_source_dir(), "--values", str(chart_source_dir() / "ci" / values))
    assert ok, output


def test_renders_with_only_model_id_and_revision() -> None:
    ok, out, err = template(*MODEL)
    assert ok, err
    objects = {f"{d['kind']}/{d['metadata']['name']}": d for d, _ in parse_rendered(out)}
    deployment = objects["Deployment/svc"]  # serviceName falls back to the release name
    assert deployment["metadata"]["namespace"] == "default"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MODEL_ID"] == "Qwen/Qwen2.5-0.5B-Instruct" and env["REVISION"] == "main"
    # No token limits given: the engine chooses them, the chart passes none.
    assert "MAX_TOTAL_TOKENS" not in env and "MAX_INPUT_TOKENS" not in env
    assert deployment["metadata"]["labels"]["catalog"] == "svc"


def test_vllm_without_token_limits_passes_no_max_model_len() -> None:
    ok, out, err = template(*MODEL, "--set", "engine=vllm")
    assert ok, err
    deployment = next(d for d, _ in parse_rendered(out) if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--max-model-len" not in args and args[0] == "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ([], "model.id is required (no default)"),
        (["--set", "model.id=Qwen/Qwen2.5-0.5B-Instruct"], "missing property 'revision'"),
        (["--set", "model.revision=main"], "missing property 'id'"),
    ],
)
def test_a_render_without_the_model_fails_loudly(sets: list[str], message: str) -> None:
    ok, _, err = template(*sets)
    assert not ok
    assert message in err, err


def test_the_token_limits_are_still_checked_against_each_other() -> None:
    ok, _, err = template(*MODEL, "--set", "model.maxInputTokens=4096",
                          "--set", "model.maxTotalTokens=4096")
    assert not ok
    assert "must be lower than model.maxTotalTokens" in err


def test_the_platform_values_check_passes_on_the_chart(tmp_path: Path) -> None:
    shutil.copytree(chart_source_dir(), tmp_path / "charts" / "ml-inference-load")
    done = subprocess.run(["node", str(CHECK_VALUES), str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["charts"] == [
        {"chart": "ml-inference-load", "status": "pass", "errors": []}
    ]


def test_the_platform_values_check_reports_a_bad_value(tmp_path: Path) -> None:
    chart = shutil.copytree(chart_source_dir(), tmp_path / "charts" / "ml-inference-load")
    values = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    values["engine"] = "triton"
    (chart / "values.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    done = subprocess.run(["node", str(CHECK_VALUES), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "FAIL ml-inference-load" in done.stdout and "/engine" in done.stdout


def test_every_environment_of_a_leaf_lints_with_its_pinned_chart(
    tinyllama_repo: GenerationResult,
) -> None:
    repo = tinyllama_repo.output
    for environment in tinyllama_repo.answers["environments"]:
        ok, output = lint(pinned_chart(repo, environment),
                          "-f", str(repo / "environments" / environment / "values.yaml"))
        assert ok and "[WARNING]" not in output, (environment, output)
