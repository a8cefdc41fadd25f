"""``--publisher github`` against a loopback GitHub (REST + git smart HTTP over real repos)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_fake import FakeGitHub, serving
from schema_repo_fixture import branch_sha, commit_count, make_bare_repo

from inference_scaffolder import chart
from inference_scaffolder.cli import main
from inference_scaffolder.platform_pr.pull_request import (
    DEFAULT_BRANCH,
    SchemaPrOptions,
    run_schema_pr,
)
from inference_scaffolder.publish import (
    GitHubPublisher,
    GitHubSettings,
    repository_slug,
    scrub,
)

pytestmark = pytest.mark.slow

TOKEN = "ghs_fixtureToken0123456789abcdef"
SLUG = "platform/platform-schemas-types"
BRANCH = DEFAULT_BRANCH


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    root = tmp_path / "git"
    with serving(root, SLUG, make_bare_repo(root, name=f"{SLUG}.git"), TOKEN) as fake:
        yield fake


def run(capsys: pytest.CaptureFixture[str], fake: FakeGitHub, *extra: str) -> tuple[int, str, str]:
    args = [
        "schema-pr",
        "--repo",
        fake.git_url(SLUG),
        "--publisher",
        "github",
        "--github-api-url",
        fake.api_url,
        "--json",
        *extra,
    ]
    code = main(args)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out and TOKEN not in captured.err
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_opens_one_pull_request_with_checklist_labels_and_draft(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, github, "--label", "inference-scaffolder", "--label", "gpu", "--draft"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "opened"
    assert result["pull_request"] == f"{github.base_url}/{SLUG}/pull/1"
    assert result["commit"] == branch_sha(github.repos[SLUG], BRANCH)
    [pull] = github.open_pulls(SLUG)
    assert (pull.head, pull.base, pull.draft) == (BRANCH, "main", True)
    assert pull.labels == ["inference-scaffolder", "gpu"]
    assert pull.title == result["title"]
    assert "- [x] the repository's `npm test` passes on this branch" in pull.body
    assert "HUGGING_FACE_HUB_TOKEN" in pull.body and "nvidia.com/gpu" in pull.body
    # the API saw the token in its Authorization header; git got it from the credential helper
    assert set(github.authorizations) == {"token"}
    assert ("POST", f"/git/{SLUG}.git/git-receive-pack") in github.requests


def test_second_run_is_unchanged_and_opens_nothing(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    first = json.loads(run(capsys, github)[1])
    posts_before = github.requests.count(("POST", f"/api/v3/repos/{SLUG}/pulls"))
    code, out, err = run(capsys, github)
    assert code == 0, err
    second = json.loads(out)
    assert second["status"] == "unchanged"
    assert second["pull_request"] == first["pull_request"]
    assert github.requests.count(("POST", f"/api/v3/repos/{SLUG}/pulls")) == posts_before
    assert len(github.pulls[SLUG]) == 1


def test_changed_chart_updates_the_same_pull_request(github: FakeGitHub) -> None:
    url = github.git_url(SLUG)
    settings = GitHubSettings(api_url=github.api_url, seconds_between_writes=0)
    first = run_schema_pr(SchemaPrOptions(), GitHubPublisher(url, settings))

    def newer_chart(dest: Path) -> None:
        chart.write_base_chart(dest)
        values = dest / "values.yaml"
        values.write_text(
            values.read_text().replace("revisionHistoryLimit: 2", "revisionHistoryLimit: 3")
        )

    second = run_schema_pr(
        SchemaPrOptions(),
        GitHubPublisher(url, settings),
        chart_writer=newer_chart,
        render_required=chart.RENDER_REQUIRED_VALUES,
    )
    assert second.status == "updated"
    assert second.pull_request == first.pull_request
    # files: the whole change against main; the update itself touches only values.yaml
    assert second.files == first.files
    changed = subprocess.run(
        ["git", "diff", "--name-only", first.commit, second.commit],
        cwd=github.repos[SLUG], capture_output=True, text=True, check=True,
    ).stdout.split()
    assert changed == ["charts/ml-inference-load/values.yaml"]
    assert len(github.pulls[SLUG]) == 1
    assert branch_sha(github.repos[SLUG], BRANCH) == second.commit


def test_rejected_token_fails_before_anything_is_pushed(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrongWrongWrong")
    code, _, err = run(capsys, github)
    assert_one_line_error(code, err, "401", "Bad credentials", "$GITHUB_TOKEN")
    assert "ghs_wrongWrongWrong" not in err
    assert branch_sha(github.repos[SLUG], BRANCH) is None
    assert not any(path.endswith("git-receive-pack") for _, path in github.requests)


def test_token_variable_name_is_configurable_and_required(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = run(capsys, github)
    assert_one_line_error(code, err, "GITHUB_TOKEN: not set")
    monkeypatch.setenv("PLATFORM_BOT_TOKEN", TOKEN)
    code, out, err = run(capsys, github, "--github-token-env", "PLATFORM_BOT_TOKEN")
    assert code == 0, err
    assert json.loads(out)["status"] == "opened"


def test_unknown_repository_is_a_404_and_nothing_is_pushed(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, github, "--github-repo", "platform/does-not-exist")
    assert_one_line_error(code, err, "platform/does-not-exist not found", "404")
    assert branch_sha(github.repos[SLUG], BRANCH) is None


def test_pull_request_opened_concurrently_is_reused_not_duplicated(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.race_on_create = True  # GitHub answers 422 "A pull request already exists"
    code, out, err = run(capsys, github)
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"] == f"{github.base_url}/{SLUG}/pull/1"
    assert len(github.open_pulls(SLUG)) == 1
    assert github.open_pulls(SLUG)[0].title == "opened by a concurrent run"
    assert branch_sha(github.repos[SLUG], BRANCH) == result["commit"]


def test_failed_pull_request_creation_undoes_the_new_branch(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.fail_create_with = (403, {"message": "Resource not accessible by integration"})
    code, _, err = run(capsys, github)
    assert_one_line_error(
        code, err, "403 Resource not accessible by integration", "the push was undone"
    )
    assert branch_sha(github.repos[SLUG], BRANCH) is None
    assert github.pulls[SLUG] == []


def test_failed_pull_request_creation_restores_an_existing_branch(github: FakeGitHub) -> None:
    url = github.git_url(SLUG)
    settings = GitHubSettings(api_url=github.api_url, seconds_between_writes=0)
    first = run_schema_pr(SchemaPrOptions(), GitHubPublisher(url, settings))
    github.pulls[SLUG][0].state = "closed"  # a reviewer closed it; the branch stayed
    github.fail_create_with = (
        422,
        {"message": "Validation Failed", "errors": [{"message": "base branch is locked"}]},
    )

    def newer_chart(dest: Path) -> None:
        chart.write_base_chart(dest)
        (dest / "values.yaml").write_text((dest / "values.yaml").read_text() + "\n")

    with pytest.raises(Exception, match="base branch is locked; the push was undone"):
        run_schema_pr(
            SchemaPrOptions(),
            GitHubPublisher(url, settings),
            chart_writer=newer_chart,
            render_required=chart.RENDER_REQUIRED_VALUES,
        )
    assert branch_sha(github.repos[SLUG], BRANCH) == first.commit


def test_label_failure_is_a_warning_not_a_rollback(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.fail_labels_with = 403
    code, out, err = run(capsys, github)
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "opened" and result["pull_request"]
    assert any("labels not added" in w for w in result["warnings"])


def test_unreachable_api_fails_before_anything_is_pushed(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, github, "--github-api-url", "http://127.0.0.1:9/api/v3")
    assert_one_line_error(code, err, "cannot reach http://127.0.0.1:9/api/v3")
    assert branch_sha(github.repos[SLUG], BRANCH) is None


def test_git_authentication_failure_never_shows_the_secret(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    with_credentials = github.git_url(SLUG).replace("http://", "http://bot:hunter2secret@")
    code = main(["schema-pr", "--repo", with_credentials])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, "authentication to http://***@127.0.0.1", "refused")
    assert "hunter2secret" not in err
    code = main(["schema-pr", "--repo", github.git_url(SLUG)])  # local publisher, no token
    assert_one_line_error(code, capsys.readouterr().err, "authentication")
    assert branch_sha(github.repos[SLUG], BRANCH) is None


def test_concurrent_runs_end_with_one_branch_and_one_pull_request(github: FakeGitHub) -> None:
    command = [
        str(Path(sys.executable).with_name("inference-scaffolder")),
        "schema-pr",
        "--repo",
        github.git_url(SLUG),
        "--publisher",
        "github",
        "--github-api-url",
        github.api_url,
        "--json",
    ]
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    runs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    results = [json.loads(out) for out, _ in outputs]
    assert sorted(r["status"] for r in results) == ["opened", "unchanged"]
    assert {r["pull_request"] for r in results} == {f"{github.base_url}/{SLUG}/pull/1"}
    assert len(github.pulls[SLUG]) == 1
    bare = github.repos[SLUG]
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1
    assert all(TOKEN not in out + err for out, err in outputs)


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        (
            "https://github.com/platform/platform-schemas-types.git",
            "platform/platform-schemas-types",
        ),
        ("https://ghe.example.com/platform/types", "platform/types"),
        ("git@github.com:platform/platform-schemas-types.git", "platform/platform-schemas-types"),
        ("ssh://git@ghe.example.com/platform/types.git", "platform/types"),
        ("/srv/git/types.git", None),
    ],
)
def test_repository_slug_from_git_urls(url: str, slug: str | None) -> None:
    assert repository_slug(url) == slug


def test_scrub_removes_credentials_and_known_secrets() -> None:
    text = "fatal: unable to access 'https://bot:s3cret@ghe.example.com/x.git/': token abc123"
    assert scrub(text, ["abc123"]) == (
        "fatal: unable to access 'https://***@ghe.example.com/x.git/': token ***"
    )
