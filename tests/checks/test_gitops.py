"""The Argo CD wiring of a generated repository and its checks (real kubectl kustomize)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from inference_scaffolder.chart import chart_version
from inference_scaffolder.checks.gitops import (
    build_leaf,
    check_application,
    check_kustomization,
    validate_gitops,
)
from inference_scaffolder.checks.manifests import SchemaCatalog
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.rendering.kustomize import kustomize_build
from inference_scaffolder.tools import find_kubectl

ENVIRONMENTS = ["dev", "syst", "uat", "prod"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def edit_yaml(path: Path, change: Callable[[dict], object]) -> None:
    data = load(path)
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def catalog() -> SchemaCatalog:
    return SchemaCatalog("1.33", None)  # the bundled CRD schemas


def test_kubectl_with_kustomize_is_available() -> None:
    # The checks below must really run kustomize; a missing kubectl is a setup error here.
    assert find_kubectl(), "run scripts/install-helm.sh (it installs kubectl beside helm)"


def test_every_environment_gets_a_kustomization_and_an_application(
    tinyllama_repo: GenerationResult,
) -> None:
    repo = tinyllama_repo.output
    for env in ENVIRONMENTS:
        kustomization = load(repo / "environments" / env / "kustomization.yaml")
        [chart] = kustomization["helmCharts"]
        assert "helmGlobals" not in kustomization  # the chart comes from its repository
        assert chart == {"name": "ml-inference-load",
                         "repo": tinyllama_repo.answers["chart_repository"],
                         "version": chart_version(), "releaseName": "tinyllama-chat",
                         "namespace": "ml-inference", "valuesFile": "values.yaml",
                         "skipTests": True}
        app = load(repo / "argocd" / f"{env}.yaml")
        assert app["kind"] == "Application" and app["apiVersion"] == "argoproj.io/v1alpha1"
        assert app["metadata"]["name"] == f"tinyllama-chat-{env}"
        assert app["spec"]["source"] == {
            "repoURL": "https://github.com/ml-platform/tinyllama-chat.git",
            "targetRevision": "main",
            "path": f"environments/{env}",
        }
        assert app["spec"]["destination"] == {"name": env, "namespace": "ml-inference"}
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_generated_wiring_validates_with_real_kustomize(tinyllama_repo: GenerationResult) -> None:
    report = validate_gitops(tinyllama_repo.output, ENVIRONMENTS)
    assert report.kustomize == "ran"
    assert report.ok, {env: report.problems(env) for env in ENVIRONMENTS}
    assert sorted(report.objects) == sorted(ENVIRONMENTS)


def test_kustomize_renders_the_workload_without_the_test_pod(
    tinyllama_repo: GenerationResult,
) -> None:
    kubectl = find_kubectl()
    assert kubectl
    built = build_leaf(kubectl, tinyllama_repo.output, "prod")
    assert built.ok, built.error
    objects = {f"{d['kind']}/{d['metadata']['name']}": d for d, _ in parse_rendered(built.stdout)}
    assert set(objects) == {"Deployment/tinyllama-chat", "Service/tinyllama-chat",
                            "ExternalSecret/tinyllama-chat-secrets",
                            "Gateway/tinyllama-chat-gateway",
                            "HTTPRoute/tinyllama-chat-http-route",
                            "Certificate/tinyllama-chat-tls-cert"}
    assert all(d["metadata"]["namespace"] == "ml-inference" for d in objects.values())
    gateway = objects["Gateway/tinyllama-chat-gateway"]
    assert gateway["spec"]["listeners"][0]["hostname"] == "tinyllama.ml.example.com"


def test_a_pinned_version_that_cannot_be_had_is_one_line_naming_it(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    closed = "http://127.0.0.1:9"  # nothing listens: refused at once, and never off-machine
    edit_yaml(repo_copy / "environments/dev/kustomization.yaml",
              lambda d: d["helmCharts"][0].update(version="9.9.9", repo=closed))
    errors = check_kustomization(repo_copy, "dev", catalog).errors
    assert len(errors) == 1 and "ml-inference-load 9.9.9 is not bundled" in errors[0]
    assert closed in errors[0]


def test_a_build_pulls_nothing_and_writes_nothing_into_the_repository(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    # Changed (so really built), pinned to the carried version under a repository that
    # would refuse any request: the build must use the carried chart.
    edit_yaml(repo_copy / "environments/dev/kustomization.yaml",
              lambda d: d.update(commonAnnotations={"team": "ml"}) or
              d["helmCharts"][0].update(repo="http://127.0.0.1:9"))
    assert check_kustomization(repo_copy, "dev", catalog).errors == []
    assert not (repo_copy / "environments/dev/charts").exists()


def test_kustomization_must_use_the_base_chart_and_values(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    edit_yaml(repo_copy / "environments/syst/kustomization.yaml",
              lambda d: d["helmCharts"][0].update(name="other", repo="ftp://charts.example",
                                                  valuesFile="../dev/values.yaml"))
    errors = check_kustomization(repo_copy, "syst", catalog).errors
    assert "helmCharts[0].name is 'other', expected 'ml-inference-load'" in errors
    assert any(e.startswith("helmCharts[0]: ") and "https://" in e for e in errors), errors
    assert any("valuesFile" in e for e in errors), errors


def test_a_version_range_or_a_local_chart_home_is_refused(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    edit_yaml(repo_copy / "environments/uat/kustomization.yaml",
              lambda d: d.update(helmGlobals={"chartHome": "../.."}) or
              d["helmCharts"][0].update(version=">=0.1.0"))
    errors = check_kustomization(repo_copy, "uat", catalog).errors
    assert any(e.startswith("helmGlobals must be left out") for e in errors), errors
    assert any(e.startswith("helmCharts[0]: ") and "0.1.0" in e for e in errors), errors


def test_missing_kustomization_is_an_error(repo_copy: Path, catalog: SchemaCatalog) -> None:
    (repo_copy / "environments/uat/kustomization.yaml").unlink()
    report = validate_gitops(repo_copy, ["uat"])
    assert not report.ok
    assert report.problems("uat") == ["Kustomization/uat: missing kustomization.yaml"]


def test_a_failing_kustomize_build_is_reported(repo_copy: Path, catalog: SchemaCatalog) -> None:
    edit_yaml(repo_copy / "environments/dev/kustomization.yaml",
              lambda d: d.update(resources=["does-not-exist.yaml"]))
    errors = check_kustomization(repo_copy, "dev", catalog).errors
    assert len(errors) == 1 and errors[0].startswith("kubectl kustomize --enable-helm failed")


def test_team_patches_are_allowed_and_schema_checked(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    path = repo_copy / "environments/prod/kustomization.yaml"

    def patch(replicas: object) -> None:
        edit_yaml(path, lambda d: d.update(patches=[{
            "target": {"kind": "Deployment", "name": "tinyllama-chat"},
            "patch": yaml.safe_dump([{"op": "replace", "path": "/spec/replicas",
                                      "value": replicas}]),
        }]))

    patch(2)
    assert check_kustomization(repo_copy, "prod", catalog).errors == []
    patch("two")
    errors = check_kustomization(repo_copy, "prod", catalog).errors
    assert errors and all(e.startswith("Deployment/tinyllama-chat: spec/replicas") for e in errors)


def test_unpatched_kustomization_must_equal_helm_template(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    # valuesInline changes what Argo CD deploys behind the environment's values.yaml.
    edit_yaml(repo_copy / "environments/dev/kustomization.yaml",
              lambda d: d["helmCharts"][0].update(valuesInline={"gpu": {"count": 2}}))
    errors = check_kustomization(repo_copy, "dev", catalog).errors
    assert errors == ["kustomize build differs from helm template (same objects, different "
                      "content)"]


def test_application_is_checked_against_the_argo_cd_crd_schema(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    edit_yaml(repo_copy / "argocd/dev.yaml",
              lambda d: d["spec"]["destination"].update(cluster="dev"))
    errors = check_application(repo_copy, "dev", catalog).errors
    assert errors == ["spec/destination: Additional properties are not allowed ('cluster' was "
                      "unexpected)"]


def test_application_must_deploy_its_own_environment(
    repo_copy: Path, catalog: SchemaCatalog
) -> None:
    edit_yaml(repo_copy / "argocd/prod.yaml", lambda d: (
        d["spec"]["source"].update(path="environments/dev"),
        d["spec"]["destination"].update(namespace="default"),
    ))
    errors = check_application(repo_copy, "prod", catalog).errors
    assert errors == [
        "no source with path environments/prod",
        "spec.destination.namespace is 'default', expected 'ml-inference'",
    ]


def test_a_build_gets_none_of_the_callers_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in kubectl that prints the environment kustomize would run with.
    spy = tmp_path / "kubectl"
    spy.write_text("#!/bin/sh\nenv\n", encoding="utf-8")
    spy.chmod(0o755)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_canary_not_for_kustomize")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "admin.conf"))
    built = kustomize_build(str(spy), tmp_path)
    assert built.ok
    seen = dict(line.split("=", 1) for line in built.stdout.splitlines() if "=" in line)
    assert "ghp_canary_not_for_kustomize" not in built.stdout
    assert seen["KUBECONFIG"] == "/dev/null"
    assert seen["HOME"] != str(Path.home())
    assert seen["HELM_CONFIG_HOME"].startswith(seen["HOME"] + "/")
