"""``schema-pr`` killed at each step converges, when re-run, to one branch and one PR.

The CLI runs as a real subprocess and dies by a real SIGKILL at a named fault point
(``INFERENCE_SCAFFOLDER_FAULT_POINT``, see :mod:`inference_scaffolder.faults`): no cleanup,
no ``finally``, the local lock released only because the process is gone. After a re-run
the remote must hold exactly the base branch (untouched) and the change branch with one
commit on top of it, and the fake GitHub exactly one open pull request for it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_fake import FakeGitHub
from schema_repo_fixture import branch_sha, commit_count, make_bare_repo, show

from inference_scaffolder.faults import FAULT_POINT_ENV
from inference_scaffolder.platform_pr.pull_request import (
    DEFAULT_BRANCH,
    SchemaPrOptions,
    run_schema_pr,
)
from inference_scaffolder.publish import GitHubPublisher, GitHubSettings

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("inference-scaffolder"))
TOKEN = "ghs_robustnessToken0123456789abcdef"
SLUG = "platform/platform-schemas-types"
BRANCH = DEFAULT_BRANCH
FAULT_POINTS = ["after-branch-created", "after-push", "before-pr-create"]


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    root = tmp_path / "git"
    bare = make_bare_repo(root, name=f"{SLUG}.git")
    fake = FakeGitHub(root, token=TOKEN).start()
    fake.add_repo(SLUG, bare)
    yield fake
    fake.stop()


def schema_pr(publisher: str, fake: FakeGitHub, tmp_path: Path, fault: str = ""
              ) -> subprocess.CompletedProcess[str]:
    if publisher == "github":
        target = [fake.git_url(SLUG), "--github-api-url", fake.api_url]
    else:  # the same bare repository, pushed to directly
        target = [str(fake.repos[SLUG])]
    args = [CLI, "schema-pr", "--json", "--publisher", publisher, "--repo", *target]
    env = {**os.environ, "GITHUB_TOKEN": TOKEN, FAULT_POINT_ENV: fault,
           "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)


def heads(bare: Path) -> dict[str, str]:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname:short) %(objectname)",
                          "refs/heads"], cwd=bare, capture_output=True, text=True, check=True)
    return dict(line.split() for line in out.stdout.splitlines())


def assert_converged(fake: FakeGitHub, publisher: str, main_before: str,
                     result: dict) -> None:
    bare = fake.repos[SLUG]
    assert heads(bare) == {"main": main_before, BRANCH: result["commit"]}
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1
    assert "MlInferenceLoadSchema" in show(bare, BRANCH, "src/workloadChartValues/index.ts")
    pulls = fake.pulls[SLUG]
    if publisher == "github":
        assert [(p.head, p.base, p.state) for p in pulls] == [(BRANCH, "main", "open")]
        assert result["pull_request"] == f"{fake.base_url}/{SLUG}/pull/1"
    else:
        assert pulls == [] and result["pull_request"] is None


@pytest.mark.parametrize("publisher", ["local", "github"])
@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_killed_run_converges_on_rerun(
    github: FakeGitHub, tmp_path: Path, publisher: str, fault: str
) -> None:
    bare = github.repos[SLUG]
    main_before = branch_sha(bare, "main")
    killed = schema_pr(publisher, github, tmp_path, fault)
    on_path = not (publisher == "local" and fault == "before-pr-create")
    if on_path:
        assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
        assert killed.stdout == ""
        assert (branch_sha(bare, BRANCH) is not None) == (fault != "after-branch-created")
        assert github.pulls[SLUG] == []
    else:  # the local publisher opens no pull request: the point is never reached
        assert killed.returncode == 0, killed.stderr
    assert branch_sha(bare, "main") == main_before

    rerun = schema_pr(publisher, github, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)
    expected = "opened" if fault == "after-branch-created" else "unchanged"
    assert result["status"] == (expected if on_path else "unchanged")
    assert_converged(github, publisher, main_before, result)
    if publisher == "local":
        return
    # The recovered pull request is found again, not opened a second time.
    again = schema_pr(publisher, github, tmp_path)
    assert again.returncode == 0, again.stderr
    final = json.loads(again.stdout)
    assert final["status"] == "unchanged"
    assert_converged(github, publisher, main_before, final)


def test_rerun_does_not_reopen_a_pull_request_a_reviewer_closed(github: FakeGitHub) -> None:
    """Opening the missing PR of a pushed branch must not overrule a reviewer who closed it."""
    settings = GitHubSettings(api_url=github.api_url, seconds_between_writes=0)

    def publisher() -> GitHubPublisher:
        return GitHubPublisher(github.git_url(SLUG), settings, {"GITHUB_TOKEN": TOKEN})

    first = run_schema_pr(SchemaPrOptions(), publisher())
    github.pulls[SLUG][0].state = "closed"
    again = run_schema_pr(SchemaPrOptions(), publisher())
    assert again.status == "unchanged" and again.pull_request is None
    assert [p.state for p in github.pulls[SLUG]] == ["closed"]
    assert branch_sha(github.repos[SLUG], BRANCH) == first.commit
