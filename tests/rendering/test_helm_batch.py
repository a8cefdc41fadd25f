"""Batched helm: one umbrella render and one lint for many environments must report exactly
what one helm call per environment reports (only faster).

Every environment renders the base chart its kustomization pins. A chart with a property
under test (a prod-only template, a ``.Template`` reference, a kubeVersion constraint) is a
new base chart version, served by a real Helm repository on 127.0.0.1 as the platform would
publish it, and pinned by the environments that take it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import pinned_chart
from common import EXAMPLES
from helm_repo import VARIANT_ANNOTATION, HelmRepo, chart_variant, serve_helm_repo

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.chart import chart_version
from inference_scaffolder.checks import gitops as checks_gitops
from inference_scaffolder.checks import validate as checks_validate
from inference_scaffolder.checks.validate import render_environment, validate_repo, validate_repos
from inference_scaffolder.generation.generate import GenerationResult, generate
from inference_scaffolder.rendering import helm as helm_batch
from inference_scaffolder.rendering.helm import (
    chart_is_batchable,
    lint_charts,
    parse_rendered,
    render_batch,
)
from inference_scaffolder.service.layout import list_environments, namespace_of, release_name

KUBE = "1.33.0"
ROUTED_VLLM = ["routing=true", "envoy_ai_gateway=true", "failover_backends=shared-llama",
               "rate_limit_per_minute=120", "inference_pool=true",
               "environments=dev,syst,uat,prod"]


@pytest.fixture(scope="module")
def vllm_routed_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    answers = collect_answers(EXAMPLES / "vllm-llama-8b.yaml", ROUTED_VLLM)
    return generate(answers, tmp_path_factory.mktemp("vllm-batch"), git_init=False)


def _objects(stdout: str) -> list[str]:
    return sorted(json.dumps(doc, sort_keys=True) for doc, _ in parse_rendered(stdout))


def _batch(repo: Path, workdir: Path) -> dict[str, helm_batch.EnvironmentRender] | None:
    envs = list_environments(repo)
    (chart,) = {pinned_chart(repo, env) for env in envs}  # every environment pins one chart
    files = {env: repo / "environments" / env / "values.yaml" for env in envs}
    return render_batch(chart, files, release_name(repo), namespace_of(repo, envs[0]), KUBE,
                        workdir)


def _standalone(repo: Path, env: str) -> str:
    rendered = render_environment(repo, env, pinned_chart(repo, env), release_name(repo, env),
                                  KUBE)
    assert rendered.ok, rendered.error
    return rendered.stdout


# A chart version this release does not carry: it can only come from the platform's repository.
NEXT_VERSION = "0.1.1"
ALL_ENVIRONMENTS = ("dev", "syst", "uat", "prod")


@pytest.fixture
def platform_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HelmRepo]:
    """The platform's Helm repository (empty until a test publishes), with a private cache."""
    assert chart_version() != NEXT_VERSION
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_CACHE", str(tmp_path / "chart-cache"))
    with serve_helm_repo(tmp_path / "helm-repo") as repo:
        yield repo


def publish_next_chart(platform_repo: HelmRepo, workdir: Path,
                       change: Callable[[Path], None]) -> None:
    """Publish the base chart as NEXT_VERSION (marked, see ``chart_variant``) with
    ``change`` made to its folder."""
    chart_dir = chart_variant(workdir / "next-chart", NEXT_VERSION)
    change(chart_dir)
    platform_repo.add_chart(chart_dir)


def pin_next_chart(repo: Path, platform_repo: HelmRepo,
                   environments: tuple[str, ...] = ALL_ENVIRONMENTS) -> None:
    """Point the environments' kustomizations at NEXT_VERSION in the platform repository."""
    for env in environments:
        path = repo / "environments" / env / "kustomization.yaml"
        data = yaml.safe_load(path.read_text())
        data["helmCharts"][0].update(repo=platform_repo.url, version=NEXT_VERSION)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def _prod_only_template(name: str, text: str) -> Callable[[Path], None]:
    def change(chart_dir: Path) -> None:
        (chart_dir / "templates" / name).write_text(
            '{{- if eq .Values.environment "prod" }}\n' + text + "{{- end }}\n")
    return change


# Renders fine (so the batch is used), but helm lint refuses a Deployment without a selector.
UNSELECTED_DEPLOYMENT = _prod_only_template("extra.yaml", (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: extra\n"
    "spec:\n  template:\n    spec:\n      containers: []\n"))


@pytest.mark.parametrize("which", ["tinyllama", "vllm-routed"])
def test_umbrella_render_equals_one_render_per_environment(
    which: str, tinyllama_repo: GenerationResult, vllm_routed_repo: GenerationResult,
    tmp_path: Path,
) -> None:
    repo = (tinyllama_repo if which == "tinyllama" else vllm_routed_repo).output
    assert chart_is_batchable(pinned_chart(repo, "dev"))
    batched = _batch(repo, tmp_path)
    assert batched is not None and list(batched) == list_environments(repo)
    for env, rendered in batched.items():
        assert rendered.ok
        assert _objects(rendered.stdout) == _objects(_standalone(repo, env)), env
        sources = {source for _, source in parse_rendered(rendered.stdout)}
        assert sources and all(s.startswith("ml-inference-load/templates/") for s in sources)


def test_values_files_reach_helm_verbatim(repo_copy: Path, tmp_path: Path) -> None:
    """Nulls that delete a chart default, block scalars, comments and strings that look like
    numbers or booleans must mean the same nested in the umbrella as given with -f."""
    values = repo_copy / "environments/uat/values.yaml"
    values.write_text(values.read_text() + (
        "# a comment at the end\n"
        "podAnnotations:\n"
        "  note: |\n"
        "    two lines\n"
        "      indented more\n"
        "  version: '1.10'\n"
        "  flag: 'on'\n"
        "  plain: \"0x1F\"\n"
        "revisionHistoryLimit: 5\n"
    ))
    batched = _batch(repo_copy, tmp_path)
    assert batched is not None
    assert _objects(batched["uat"].stdout) == _objects(_standalone(repo_copy, "uat"))
    deployment = next(d for d, _ in parse_rendered(batched["uat"].stdout)
                      if d["kind"] == "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["note"] == "two lines\n  indented more\n"
    assert annotations["version"] == "1.10" and annotations["flag"] == "on"
    assert deployment["spec"]["revisionHistoryLimit"] == 5


def test_lint_of_computed_values_matches_lint_with_the_values_file(
    tinyllama_repo: GenerationResult, tmp_path: Path
) -> None:
    repo = tinyllama_repo.output
    batched = _batch(repo, tmp_path)
    assert batched is not None
    copies = [r.lint_chart for r in batched.values()]
    assert all(c is not None for c in copies)
    computed = yaml.safe_load((copies[0] / "values.yaml").read_text())
    assert "global" not in computed  # helm's subchart addition is not passed on to lint
    assert computed["environment"] == next(iter(batched))
    results = lint_charts(copies, KUBE, {c: "ml-inference-load" for c in copies})
    assert all(ok for ok, _ in results.values()), results


def test_a_lint_error_in_one_environment_is_reported_for_that_environment_only(
    repo_copy: Path, platform_repo: HelmRepo, tmp_path: Path,
) -> None:
    # Every environment pins the new chart; only prod renders the Deployment lint refuses.
    publish_next_chart(platform_repo, tmp_path, UNSELECTED_DEPLOYMENT)
    pin_next_chart(repo_copy, platform_repo)
    assert chart_is_batchable(pinned_chart(repo_copy, "dev"))
    report = validate_repo(repo_copy, kustomize="never")
    lint = {e.environment: e.lint_ok for e in report.environments}
    assert lint == {"dev": True, "syst": True, "uat": True, "prod": False}
    prod = next(e for e in report.environments if e.environment == "prod")
    assert "must contain matchLabels" in prod.lint_output
    # Named by the chart's own template path, never by a throw-away copy.
    assert "templates/extra.yaml" in prod.lint_output
    assert helm_batch.UMBRELLA not in prod.lint_output


def test_environments_pinning_different_chart_versions_render_each_their_own(
    repo_copy: Path, platform_repo: HelmRepo, tmp_path: Path,
) -> None:
    """A new chart version staged in prod only: validate groups environments by the chart
    they pin, so prod renders and lints the new chart and the others the one they pin."""
    publish_next_chart(platform_repo, tmp_path, UNSELECTED_DEPLOYMENT)
    pin_next_chart(repo_copy, platform_repo, ("prod",))
    report = validate_repo(repo_copy, kustomize="never")
    by_env = {e.environment: e for e in report.environments}
    assert {env: e.lint_ok for env, e in by_env.items()} == {
        "dev": True, "syst": True, "uat": True, "prod": False}
    assert "must contain matchLabels" in by_env["prod"].lint_output
    for env, result in by_env.items():
        deployment = next(d for d in result.rendered if d["kind"] == "Deployment"
                          and d["metadata"]["name"] == "tinyllama-chat")
        marker = (deployment["metadata"].get("annotations") or {}).get(VARIANT_ANNOTATION)
        assert marker == (f"served-{NEXT_VERSION}" if env == "prod" else None), env
        assert any(d["metadata"]["name"] == "extra" for d in result.rendered) == (
            env == "prod"), env


def test_a_render_error_in_one_environment_falls_back_and_names_it(repo_copy: Path) -> None:
    prod = repo_copy / "environments/prod/values.yaml"
    prod.write_text(prod.read_text() + "replicas: -3\n")
    report = validate_repo(repo_copy, kustomize="never")
    by_env = {e.environment: e for e in report.environments}
    assert "replicas" in by_env["prod"].render_error
    assert not by_env["prod"].lint_ok
    assert all(by_env[env].ok for env in ("dev", "syst", "uat"))


def test_charts_an_umbrella_could_render_differently_are_rendered_alone(
    repo_copy: Path, platform_repo: HelmRepo, tmp_path: Path
) -> None:
    def template_name(chart_dir: Path) -> None:
        (chart_dir / "templates/template-name.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: which-template\n"
            "data:\n  template: {{ .Template.Name | quote }}\n")

    publish_next_chart(platform_repo, tmp_path, template_name)
    pin_next_chart(repo_copy, platform_repo)
    assert not chart_is_batchable(pinned_chart(repo_copy, "dev"))
    report = validate_repo(repo_copy, kustomize="never")
    assert report.ok, [p for e in report.environments for p in e.problems()]
    config_map = next(d for d in report.environments[0].rendered if d["kind"] == "ConfigMap")
    assert config_map["data"]["template"] == "ml-inference-load/templates/template-name.yaml"


def test_the_chart_kube_version_constraint_still_applies(
    repo_copy: Path, platform_repo: HelmRepo, tmp_path: Path
) -> None:
    def newer_kubernetes(chart_dir: Path) -> None:
        chart = chart_dir / "Chart.yaml"
        text = chart.read_text()
        assert 'kubeVersion: ">=1.29.0-0"' in text
        chart.write_text(text.replace('kubeVersion: ">=1.29.0-0"',
                                      'kubeVersion: ">=1.40.0-0"'))

    publish_next_chart(platform_repo, tmp_path, newer_kubernetes)
    pin_next_chart(repo_copy, platform_repo)
    report = validate_repo(repo_copy, kustomize="never")
    assert len(report.environments) == 4
    assert all("kubeVersion" in e.render_error or "Kubernetes version" in e.render_error
               for e in report.environments), [e.render_error for e in report.environments]


def test_a_fleet_reports_each_repository_separately(
    tinyllama_repo: GenerationResult, vllm_routed_repo: GenerationResult, repo_copy: Path,
    platform_repo: HelmRepo, tmp_path: Path,
) -> None:
    publish_next_chart(platform_repo, tmp_path, UNSELECTED_DEPLOYMENT)
    pin_next_chart(repo_copy, platform_repo)
    reports = validate_repos([tinyllama_repo.output, repo_copy, vllm_routed_repo.output],
                             kustomize="never")
    assert [r.ok for r in reports] == [True, False, True]
    assert [e.environment for e in reports[1].environments if not e.lint_ok] == ["prod"]


# --- kustomize in "auto" mode ----------------------------------------------------------------


@pytest.fixture
def counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    built: list[Path] = []
    real = checks_gitops.kustomize_build

    def counting(kubectl: str, directory: Path) -> Any:
        built.append(directory)
        return real(kubectl, directory)

    # Every build is build_leaf's: validate starts some ahead of the checks, the gitops check
    # runs the rest; both call kustomize_build in checks.gitops.
    assert checks_validate.build_leaf is checks_gitops.build_leaf
    monkeypatch.setattr(checks_gitops, "kustomize_build", counting)
    return built


def test_auto_builds_the_generated_form_once_per_run(
    tinyllama_repo: GenerationResult, vllm_routed_repo: GenerationResult,
    counted_builds: list[Path],
) -> None:
    reports = validate_repos([tinyllama_repo.output, vllm_routed_repo.output])
    assert all(r.ok for r in reports)
    assert len(counted_builds) == 1


def test_auto_builds_every_kustomization_the_team_changed(
    repo_copy: Path, counted_builds: list[Path]
) -> None:
    for env in ("syst", "prod"):
        path = repo_copy / f"environments/{env}/kustomization.yaml"
        data = yaml.safe_load(path.read_text())
        data["patches"] = [{"target": {"kind": "Deployment"},
                            "patch": '[{"op": "replace", "path": "/spec/replicas", "value": 2}]'}]
        path.write_text(yaml.safe_dump(data))
    report = validate_repo(repo_copy)
    assert report.ok, [p for e in report.environments for p in e.problems()]
    names = sorted(p.name for p in counted_builds)
    assert names == ["dev", "prod", "syst"]  # dev proves the generated form


def test_auto_catches_a_broken_changed_kustomization(repo_copy: Path) -> None:
    path = repo_copy / "environments/uat/kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["resources"] = ["does-not-exist.yaml"]
    path.write_text(yaml.safe_dump(data))
    report = validate_repo(repo_copy)
    uat = next(e for e in report.environments if e.environment == "uat")
    assert any("kubectl kustomize --enable-helm failed" in p for p in uat.problems())


def test_always_and_never(repo_copy: Path, counted_builds: list[Path]) -> None:
    assert validate_repo(repo_copy, kustomize="always").ok
    assert len(counted_builds) == 4
    assert validate_repo(repo_copy, kustomize="never").ok
    assert len(counted_builds) == 4


def test_nothing_is_left_behind(tinyllama_repo: GenerationResult, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    repo = tmp_path / "repo"
    shutil.copytree(tinyllama_repo.output, repo)
    before = set(tmp_path.iterdir())
    assert validate_repo(repo).ok
    assert set(tmp_path.iterdir()) == before


def test_an_unknown_kustomize_mode_is_refused_on_one_line(
    tinyllama_repo: GenerationResult,
) -> None:
    import subprocess
    import sys

    cli = Path(sys.executable).parent / "inference-scaffolder"
    done = subprocess.run([str(cli), "validate", str(tinyllama_repo.output),
                           "--kustomize-build", "sometimes"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --kustomize-build: must be one of always, auto, never"]
