"""A generated repository is a kustomized-helm leaf of the platform's published base chart:
values per environment and a Kustomization pinning the chart by repository and version, no
copy of the chart; the platform's settings come from its configuration."""

from __future__ import annotations

import json
from pathlib import Path

import git
import jsonschema
import pytest
import yaml
from common import EXAMPLES
from helm_repo import VARIANT_ANNOTATION, chart_variant, serve_helm_repo

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.chart import chart_source_dir, chart_version, coalesce_values
from inference_scaffolder.checks.gitops import build_leaf
from inference_scaffolder.cli import main
from inference_scaffolder.generation.generate import GenerationResult, generate
from inference_scaffolder.rendering.helm import parse_rendered, render_chart
from inference_scaffolder.rendering.kustomize import kustomize_build
from inference_scaffolder.tools import find_kubectl

CONFIGURED = "oci://registry.example.com/platform/charts"


def kustomization(repo: Path, environment: str) -> dict:
    return yaml.safe_load((repo / "environments" / environment / "kustomization.yaml")
                          .read_text())


def test_the_repository_holds_no_chart_and_pins_the_base_chart(
    tinyllama_repo: GenerationResult,
) -> None:
    repo = tinyllama_repo.output
    tracked = git.Repo(repo).git.ls_files().splitlines()
    assert not [p for p in tracked if p.startswith("chart/") or "/templates/" in p]
    assert not any(p.endswith(("Chart.yaml", ".tpl")) for p in tracked)
    for environment in tinyllama_repo.answers["environments"]:
        entry = kustomization(repo, environment)
        assert "helmGlobals" not in entry
        (chart,) = entry["helmCharts"]
        assert chart["name"] == "ml-inference-load"
        assert chart["version"] == chart_version()
        assert chart["repo"] == tinyllama_repo.answers["chart_repository"]
        assert chart["valuesFile"] == "values.yaml" and chart["skipTests"] is True
    assert "/environments/*/charts/" in (repo / ".gitignore").read_text()


def test_each_environment_is_the_leaf_api_valid_against_the_base_schema(
    tinyllama_repo: GenerationResult,
) -> None:
    schema = json.loads((chart_source_dir() / "values.schema.json").read_text())
    defaults = yaml.safe_load((chart_source_dir() / "values.yaml").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for environment in tinyllama_repo.answers["environments"]:
        values = yaml.safe_load(
            (tinyllama_repo.output / "environments" / environment / "values.yaml").read_text())
        assert values["workloadType"] == "ML_INFERENCE_LOAD"
        assert values["environment"] == environment
        assert values["serviceName"] == tinyllama_repo.answers["service_name"]
        assert values["model"]["id"] == tinyllama_repo.answers["model_id"]
        errors = [e.message for e in validator.iter_errors(coalesce_values(defaults, values))]
        assert errors == [], environment
        broken = coalesce_values(defaults, {**values, "gpu": {"count": "two"}})
        assert not validator.is_valid(broken)  # the schema does read this file's keys


def test_kustomize_renders_the_pinned_chart_offline_as_helm_does(
    tinyllama_repo: GenerationResult,
) -> None:
    kubectl = find_kubectl()
    assert kubectl
    repo = tinyllama_repo.output
    built = build_leaf(kubectl, repo, "prod")
    assert built.ok, built.error
    helm = render_chart(chart_source_dir(), repo / "environments/prod/values.yaml",
                        "tinyllama-chat", "ml-inference", None)
    hooks = [d for d, _ in parse_rendered(helm.stdout)
             if (d["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]
    from_helm = sorted(json.dumps(d, sort_keys=True) for d, _ in parse_rendered(helm.stdout)
                       if d not in hooks)
    from_kustomize = sorted(json.dumps(d, sort_keys=True)
                            for d, _ in parse_rendered(built.stdout))
    assert hooks and from_kustomize == from_helm


@pytest.mark.slow
def test_the_platform_repository_comes_from_its_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_REPOSITORY", "https://charts.example.com/p")
    args = ["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
            "--no-git", "--json"]
    assert main([*args, "--output-dir", str(tmp_path / "a")]) == 0
    from_variable = kustomization(tmp_path / "a/tinyllama-chat", "dev")["helmCharts"][0]
    assert from_variable["repo"] == "https://charts.example.com/p"

    assert main([*args, "--output-dir", str(tmp_path / "b"), "--chart-repository",
                 CONFIGURED]) == 0
    from_option = kustomization(tmp_path / "b/tinyllama-chat", "dev")["helmCharts"][0]
    assert from_option["repo"] == CONFIGURED
    record = yaml.safe_load(
        (tmp_path / "b/tinyllama-chat/.inference-scaffolder/answers.yaml").read_text())
    assert record["answers"]["chart_repository"] == CONFIGURED

    assert main([*args, "--output-dir", str(tmp_path / "c"), "--chart-repository", CONFIGURED,
                 "--set", "chart_repository=https://answered.example.com/charts"]) == 0
    answered = kustomization(tmp_path / "c/tinyllama-chat", "dev")["helmCharts"][0]
    assert answered["repo"] == "https://answered.example.com/charts"
    assert "chart_repository: no platform Helm repository" not in capsys.readouterr().err


def test_with_nothing_configured_new_warns_once_per_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("INFERENCE_SCAFFOLDER_CHART_REPOSITORY", "INFERENCE_SCAFFOLDER_SOURCE"):
        monkeypatch.delenv(variable, raising=False)
    code = main(["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                 "--no-git", "--output-dir", str(tmp_path)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0
    assert err.count("warning: chart_repository:") == 1
    assert err.count("warning: scaffolder_source:") == 1
    assert "INFERENCE_SCAFFOLDER_SOURCE" in err
    repo = kustomization(tmp_path / "tinyllama-chat", "dev")["helmCharts"][0]["repo"]
    assert repo.endswith(".invalid/platform-schemas-types")


@pytest.mark.parametrize(("variable", "value"), [
    ("INFERENCE_SCAFFOLDER_CHART_REPOSITORY", "https://user:secret@charts.example.com/p"),
    ("INFERENCE_SCAFFOLDER_CHART_REPOSITORY", "file:///etc"),
    ("INFERENCE_SCAFFOLDER_SOURCE", "--index-url=https://evil.example.com x"),
])
def test_a_bad_platform_setting_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    variable: str, value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code = main(["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                 "--no-git", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {variable}: must be empty or ")
    assert "secret" not in err
    assert not (tmp_path / "tinyllama-chat").exists()


@pytest.mark.slow
def test_a_version_this_release_does_not_carry_comes_from_the_platform_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_CACHE", str(tmp_path / "cache"))
    with serve_helm_repo(tmp_path / "helm", [chart_variant(tmp_path / "v", "0.2.7")]) as served:
        answers = collect_answers(EXAMPLES / "tgi-tinyllama.yaml",
                                  [f"chart_repository={served.url}", "chart_version=0.2.7"])
        result = generate(answers, tmp_path / "out")
        assert result.report is not None and result.report.ok
        assert served.archive_requests() == ["/ml-inference-load-0.2.7.tgz"]
    # Cached: validation and the real kustomize build run with the server gone.
    assert main(["validate", str(result.output), "--kustomize-build", "always"]) == 0
    built = build_leaf(str(find_kubectl()), result.output, "dev")
    assert built.ok and f"{VARIANT_ANNOTATION}: served-0.2.7" in built.stdout


def test_an_unreachable_version_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_CACHE", str(tmp_path / "cache"))
    with serve_helm_repo(tmp_path / "helm") as served:
        code = main(["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                     "--output-dir", str(tmp_path / "out"), "--chart-repository", served.url,
                     "--set", "chart_version=0.9.0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "ml-inference-load 0.9.0" in err and served.url in err
    assert not (tmp_path / "out" / "tinyllama-chat").exists()


def test_charts_lets_a_plain_kustomize_build_run_offline_in_the_repository(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubectl = find_kubectl()
    assert kubectl
    # The kustomization names a repository nothing answers for: only a placed chart works.
    before = kustomize_build(kubectl, repo_copy / "environments" / "prod")
    assert not before.ok

    assert main(["charts", str(repo_copy), "--json"]) == 0
    placed = json.loads(capsys.readouterr().out)["placed"]
    assert placed == [f"environments/{env}/charts/ml-inference-load-{chart_version()}"
                      for env in ("dev", "syst", "uat", "prod")]
    built = kustomize_build(kubectl, repo_copy / "environments" / "prod")
    assert built.ok, built.error
    assert built.stdout == build_leaf(kubectl, repo_copy, "prod").stdout
    chart = repo_copy / placed[-1] / "ml-inference-load"
    assert chart.is_dir() and not chart.is_symlink()  # a copy: it outlives the package
    assert git.Repo(repo_copy).git.status("--porcelain") == ""  # git-ignored


def test_charts_never_writes_through_a_link(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Inside the repository (a link out is refused by the intake before anything else).
    (repo_copy / "environments/dev/charts").symlink_to("../syst")
    code = main(["charts", str(repo_copy), "--env", "dev"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: environments/dev/charts: is a symbolic link")
    assert sorted(p.name for p in (repo_copy / "environments/syst").iterdir()) == [
        "kustomization.yaml", "values.yaml"]
    assert main(["charts", str(repo_copy), "--env", "qa"]) == 2
    assert "'qa' is not an environment" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [
    ("--chart-repository", "ftp://charts.example.com"),
    ("--chart-repository", "https://user:secret@charts.example.com/p"),
    ("--scaffolder-source", "-e ./evil"),
])
def test_a_bad_platform_option_is_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str,
) -> None:
    code = main(["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                 "--output-dir", str(tmp_path), option, value])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {option}: must be empty or ")
    assert "secret" not in err
    assert list(tmp_path.iterdir()) == []


def test_update_refuses_a_bad_platform_option_even_when_unused(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git.Repo(repo_copy).head.commit.hexsha
    code = main(["update", str(repo_copy), "--chart-repository", "https://u:p@x.example.com"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --chart-repository: must be empty or ")
    assert git.Repo(repo_copy).head.commit.hexsha == head
    assert not git.Repo(repo_copy).is_dirty(untracked_files=True)
