"""``schema-pr`` against a repository that already has its own ML_INFERENCE_LOAD.

The fixture holds a hand-made chart 0.0.3 and interface (``handmade_ml_chart``), as the real
platform-schemas-types does now. Without ``--update-existing`` the run reports every
difference, exits 1 and changes nothing anywhere; with it, the pull request carries that
report and deletes only the files the report names.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_fake import FakeGitHub
from handmade_ml_chart import CHART, chart_files
from schema_repo_fixture import (
    branch_sha,
    checkout,
    fixture_files,
    make_bare_repo,
    run_npm_test,
    show,
    write_tree,
)

from inference_scaffolder.cli import main
from inference_scaffolder.platform_pr.pull_request import DEFAULT_BRANCH
from inference_scaffolder.tools import run_helm

pytestmark = pytest.mark.slow

BRANCH = DEFAULT_BRANCH
TOKEN = "ghs_existingTypeToken0123456789abcd"
SLUG = "platform/platform-schemas-types"
REMOVED_TEMPLATES = {"templates/httproute.yaml", "templates/ingressCert.yaml",
                     "templates/externalSecret.yaml"}


def refs(bare: Path) -> str:
    """Every ref of the remote with its commit: what "nothing was pushed" compares."""
    return subprocess.run(["git", "for-each-ref"], cwd=bare, check=True, capture_output=True,
                          text=True).stdout


def schema_pr(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["schema-pr", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def handmade(tmp_path: Path) -> Path:
    return make_bare_repo(tmp_path, handmade=True)


def test_the_handmade_fixture_passes_the_repositorys_own_checks(tmp_path: Path) -> None:
    """The tests below are about the differences, not about a broken fixture."""
    tree = write_tree(tmp_path / "tree", fixture_files(handmade=True))
    npm_test = run_npm_test(tree)
    assert npm_test.returncode == 0, npm_test.stdout + npm_test.stderr
    assert "PASS ml-inference-load" in npm_test.stdout
    assert "PASS ollama-inference-load" in npm_test.stdout
    chart = tree / CHART
    for extra in ([], ["--values", str(chart / "ci/ingress-values.yaml")]):
        lint = run_helm(["lint", str(chart), *extra])
        assert lint.ok, lint.stdout + lint.stderr
    rendered = run_helm(["template", "x", str(chart), "--values",
                         str(chart / "ci/ingress-values.yaml")])
    assert rendered.ok, rendered.stderr
    assert "kind: HTTPRoute" in rendered.stdout and "kind: Certificate" in rendered.stdout


def test_a_different_existing_version_is_reported_and_nothing_changes(
    handmade: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = refs(handmade)
    code, out, err = schema_pr(capsys, "--repo", str(handmade), "--json")
    assert code == 1, err
    assert refs(handmade) == before  # no branch, nothing pushed
    assert branch_sha(handmade, BRANCH) is None
    result = json.loads(out)
    assert result["status"] == "differs"
    assert result["commit"] is None and result["pull_request"] is None
    differences = result["differences"]
    assert differences["base"] == "main"

    chart = differences["chart"]
    assert chart["path"] == CHART and chart["version"] == "0.0.3"
    assert set(chart["files"]["removed"]) == REMOVED_TEMPLATES | {"ci/ingress-values.yaml"}
    assert {"templates/deployment.yaml", "templates/service.yaml", "Chart.yaml",
            "values.yaml"} <= set(chart["files"]["changed"])
    assert "templates/externalsecret.yaml" in chart["files"]["added"]
    fields = {entry["field"]: entry for entry in chart["chart_yaml"]}
    assert "ml-serving-guild" in fields["maintainers"]["existing"]
    assert "platform-team" in fields["maintainers"]["proposed"]
    assert fields["version"]["existing"] == "0.0.3"
    assert "keeps 0.0.3" in fields["version"]["note"]
    assert fields["appVersion"]["existing"] == "2.4.1"
    keys = chart["values_keys"]
    assert keys["source"] == "values.schema.json"
    assert {"inference.maxInputLength", "inference.maxTotalTokens",
            "container.replicas"} <= set(keys["removed"])
    assert "inference" not in keys["removed"]  # the keys themselves, not only their parent
    assert "engineDefaults" in keys["added"]
    checks = {check["file"]: check for check in chart["values_files"]}
    assert checks["values.yaml"]["valid"] is False
    assert any("'inference' was unexpected" in e for e in checks["values.yaml"]["errors"])
    assert checks["ci/ingress-values.yaml"]["valid"] is True

    interface = differences["interface"]
    assert interface["name"] == "MlInferenceLoadSchema" and interface["note"] is None
    members = interface["members"]
    assert {"inference.maxInputLength", "container.replicas"} <= set(members["removed"])
    assert "engineDefaults" in members["added"]
    assert {"key": "container.image.tag", "existing": "string",
            "proposed": "string (optional)"} in members["retyped"]

    summary = differences["summary"]
    assert "\n" not in summary
    assert summary.startswith("charts/ml-inference-load 0.0.3 on main differs")
    assert "MlInferenceLoadSchema differs" in summary


def test_human_output_prints_the_report_and_the_way_forward(
    handmade: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = schema_pr(capsys, "--repo", str(handmade))
    assert code == 1
    assert "error:" not in err
    lines = out.splitlines()
    assert lines[0].startswith("differs: charts/ml-inference-load 0.0.3 on main")
    assert any(line.startswith("  files removed (4): ") and "templates/httproute.yaml" in line
               for line in lines)
    assert any("Chart.yaml maintainers:" in line and "ml-serving-guild" in line for line in lines)
    assert any(line.startswith("  values.yaml with the new chart: NOT valid") for line in lines)
    assert any(line.startswith("  members removed") and "inference.maxInputLength" in line
               for line in lines)
    assert "--update-existing" in lines[-1]


def test_a_dry_run_reports_the_same_and_pushes_nothing(
    handmade: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = refs(handmade)
    code, out, _ = schema_pr(capsys, "--repo", str(handmade), "--dry-run", "--json")
    assert code == 1
    result = json.loads(out)
    assert (result["status"], result["dry_run"]) == ("differs", True)
    assert "templates/httproute.yaml" in result["differences"]["chart"]["files"]["removed"]
    assert refs(handmade) == before


def test_an_existing_interface_without_a_chart_differs_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = make_bare_repo(tmp_path, handmade=True,
                          overrides=dict.fromkeys(chart_files()))
    code, out, _ = schema_pr(capsys, "--repo", str(bare), "--json")
    assert code == 1
    differences = json.loads(out)["differences"]
    assert differences["chart"] is None
    assert "inference.maxInputLength" in differences["interface"]["members"]["removed"]
    assert branch_sha(bare, BRANCH) is None


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    root = tmp_path / "git"
    bare = make_bare_repo(root, name=f"{SLUG}.git", handmade=True)
    fake = FakeGitHub(root, token=TOKEN).start()
    fake.add_repo(SLUG, bare)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    yield fake
    fake.stop()


def github_run(capsys: pytest.CaptureFixture[str], fake: FakeGitHub, *extra: str
               ) -> tuple[int, dict]:
    code, out, err = schema_pr(capsys, "--repo", fake.git_url(SLUG), "--publisher", "github",
                               "--github-api-url", fake.api_url, "--json", *extra)
    assert TOKEN not in out and TOKEN not in err
    return code, json.loads(out)


def test_github_opens_nothing_without_the_flag_and_a_pr_with_the_report_with_it(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = github.repos[SLUG]
    before = refs(bare)
    code, result = github_run(capsys, github)
    assert (code, result["status"]) == (1, "differs")
    assert refs(bare) == before
    assert github.pulls[SLUG] == []
    assert not any(path.endswith("git-receive-pack") for _, path in github.requests)

    code, result = github_run(capsys, github, "--update-existing")
    assert (code, result["status"]) == (0, "opened")
    [pull] = github.open_pulls(SLUG)
    assert pull.body == result["body"]
    assert "### Replaces what `main` already has" in pull.body
    for fragment in ("files removed (4): ci/ingress-values.yaml, templates/externalSecret.yaml, "
                     "templates/httproute.yaml, templates/ingressCert.yaml",
                     "Chart.yaml maintainers: [{\"email\": \"ml-serving@example.invalid\", "
                     "\"name\": \"ml-serving-guild\"}]",
                     "inference.maxInputLength",
                     "values.yaml with the new chart: NOT valid",
                     "ci/ingress-values.yaml with the new chart: still valid",
                     "members removed (4): inference.maxInputLength"):
        assert fragment in pull.body, fragment
    assert result["differences"]["chart"]["version"] == "0.0.3"

    # the branch deletes exactly the files the report names, and nothing outside the chart
    deleted = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=D", "main", BRANCH], cwd=bare,
        check=True, capture_output=True, text=True).stdout.split()
    reported = result["differences"]["chart"]["files"]["removed"]
    assert sorted(deleted) == sorted(f"{CHART}/{p}" for p in reported)
    tree = checkout(bare, BRANCH, tmp_path / "pr")
    assert (tree / "charts/ollama-inference-load/Chart.yaml").is_file()
    # someone else's catalog entry is kept as it is
    catalog = ".cat/backstage/ml-inference-load.catalog-info.yaml"
    assert (tree / catalog).read_text() == show(bare, "main", catalog)


def test_a_second_run_with_the_flag_is_unchanged_and_still_reports(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github_run(capsys, github, "--update-existing")
    code, result = github_run(capsys, github, "--update-existing")
    assert (code, result["status"]) == (0, "unchanged")
    assert result["differences"]["chart"]["version"] == "0.0.3"  # compared with main
    assert len(github.pulls[SLUG]) == 1
    # without the flag, the branch of an earlier run does not make the replacement silent
    code, result = github_run(capsys, github)
    assert (code, result["status"]) == (1, "differs")
