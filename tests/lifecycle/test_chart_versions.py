"""A new base chart version is staged like any other change: it starts in dev, every other
environment keeps rendering its pinned chart, and promotion carries it on.

The new version is served by a real Helm repository on 127.0.0.1; the environments are
rendered by the real ``kubectl kustomize --enable-helm``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
import yaml
from common import EXAMPLES
from helm_repo import VARIANT_ANNOTATION, HelmRepo, chart_variant, serve_helm_repo

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.checks.gitops import build_leaf
from inference_scaffolder.cli import main
from inference_scaffolder.generation.generate import generate
from inference_scaffolder.lifecycle.history import environment_history
from inference_scaffolder.lifecycle.promote import promote
from inference_scaffolder.tools import find_kubectl

NEW_VERSION = "0.1.1"


@pytest.fixture
def chart_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HelmRepo]:
    """The platform's Helm repository, serving the next chart version (marked)."""
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_CACHE", str(tmp_path / "chart-cache"))
    with serve_helm_repo(tmp_path / "helm-repo",
                         [chart_variant(tmp_path / "variant", NEW_VERSION)]) as repo:
        yield repo


@pytest.fixture
def service(tmp_path: Path, chart_repo: HelmRepo) -> Path:
    answers = collect_answers(EXAMPLES / "tgi-tinyllama.yaml",
                              [f"chart_repository={chart_repo.url}"])
    output = generate(answers, tmp_path / "out").output
    with git.Repo(output).config_writer() as config:
        config.set_value("user", "name", "Ada Operator")
        config.set_value("user", "email", "ada@example.com")
    return output


def pinned_version(service: Path, environment: str) -> str:
    kustomization = service / "environments" / environment / "kustomization.yaml"
    return yaml.safe_load(kustomization.read_text())["helmCharts"][0]["version"]


def rendered_variant(service: Path, environment: str) -> str | None:
    """What ``kubectl kustomize --enable-helm environments/<env>`` renders: the marker the
    served chart puts on the Deployment, or None for the chart this release carries."""
    kubectl = find_kubectl()
    assert kubectl, "kubectl is installed by scripts/install-helm.sh"
    built = build_leaf(kubectl, service, environment)
    assert built.ok, built.error
    deployment = next(d for d in yaml.safe_load_all(built.stdout)
                      if d and d["kind"] == "Deployment")
    return (deployment["metadata"].get("annotations") or {}).get(VARIANT_ANNOTATION)


def merge(service: Path, branch: str) -> None:
    git.Repo(service).git.merge("--ff-only", branch)


def test_a_chart_bump_renders_in_dev_only_until_promoted(
    service: Path, chart_repo: HelmRepo
) -> None:
    bundled = pinned_version(service, "dev")
    assert bundled != NEW_VERSION
    assert rendered_variant(service, "dev") is None

    started = promote(service, None, "dev", chart_version=NEW_VERSION)
    merge(service, str(started.branch))

    assert [c.key for c in started.changes] == ["chart.version"]
    assert pinned_version(service, "dev") == NEW_VERSION
    assert rendered_variant(service, "dev") == f"served-{NEW_VERSION}"
    for environment in ("syst", "uat", "prod"):
        assert pinned_version(service, environment) == bundled
        assert rendered_variant(service, environment) is None  # the old chart's bytes
    assert chart_repo.archive_requests() == [f"/ml-inference-load-{NEW_VERSION}.tgz"]

    chart_repo.stop()  # from here on the cache serves the new version
    promoted = promote(service, "dev", "syst")
    merge(service, str(promoted.branch))

    assert {c.key: c.new for c in promoted.changes} == {"chart.version": NEW_VERSION}
    assert rendered_variant(service, "syst") == f"served-{NEW_VERSION}"
    assert rendered_variant(service, "prod") is None
    history = environment_history(service, "syst")
    assert [e.identity.chart_version for e in history if e.identity] == [NEW_VERSION, bundled]
    assert history[0].promoted_from and history[0].promoted_from.startswith("dev@")


def test_rolling_back_is_reverting_the_pin(service: Path) -> None:
    started = promote(service, None, "dev", chart_version=NEW_VERSION)
    merge(service, str(started.branch))
    repo = git.Repo(service)
    repo.git.revert("--no-edit", "HEAD")

    assert pinned_version(service, "dev") != NEW_VERSION
    assert rendered_variant(service, "dev") is None
    versions = [e.identity.chart_version for e in environment_history(service, "dev")
                if e.identity]
    assert versions[:2] == [pinned_version(service, "dev"), NEW_VERSION]


def test_a_new_chart_version_starts_in_the_first_environment(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["promote", str(service), "--to", "uat", "--chart-version", NEW_VERSION])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --to: a new chart version starts in dev")
    assert "skips dev, syst" in err


def test_an_unpublished_version_is_one_line_naming_repository_and_version(
    service: Path, chart_repo: HelmRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git.Repo(service).head.commit.hexsha
    code = main(["promote", str(service), "--to", "dev", "--chart-version", "0.9.9"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "ml-inference-load 0.9.9" in err and chart_repo.url in err
    repo = git.Repo(service)
    assert repo.head.commit.hexsha == head and not repo.is_dirty(untracked_files=True)
    assert [b.name for b in repo.branches] == ["main"]


def test_a_version_range_is_refused(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["promote", str(service), "--to", "dev", "--chart-version", "^0.1.0"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --chart-version:")


def test_promote_json_names_the_chart_start(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["promote", str(service), "--to", "dev", "--chart-version", NEW_VERSION,
                 "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["status"] == "promoted"
    assert report["identity"]["chart_version"] == NEW_VERSION
    assert report["branch"].startswith(f"promote/dev-chart-{NEW_VERSION}-")
    assert report["title"].startswith(f"Start base chart ml-inference-load {NEW_VERSION} in dev")


def test_where_the_platform_names_its_repository_no_other_is_fetched_from(
    service: Path, chart_repo: HelmRepo, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A kustomization is anyone's edit: it must not make this host fetch where it likes.
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_CHART_REPOSITORY",
                       "https://charts.example.com/platform")
    code = main(["promote", str(service), "--to", "dev", "--chart-version", NEW_VERSION])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "not from the platform's Helm repository https://charts.example.com/platform" in err
    assert chart_repo.requests == []
    # The version this release carries needs no fetch, so it validates whatever the URL.
    assert main(["validate", str(service)]) == 0
