"""``promote``: the identity moves forward one environment, validated, on its own branch."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
import yaml
from github_fake import FakeGitHub

from inference_scaffolder.chart import chart_version, engine_defaults
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.lifecycle.promote import (
    Identity,
    copy_identity_values,
    identity_changes,
    promote,
    read_identity,
)
from inference_scaffolder.publish import LocalPublisher

NEW_REVISION = "0123456789abcdef0123456789abcdef01234567"
OLD_REVISION = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
# The engine tag a new service pins (the chart's default), and the build dev moves to.
DEFAULT_TAG = str(engine_defaults("tgi")["image"]["tag"])
NEW_TAG = "3.3.5"


def commit_all(repo_dir: Path, message: str) -> str:
    repo = git.Repo(repo_dir)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", message)
    return repo.head.commit.hexsha


@pytest.fixture
def service(repo_copy: Path) -> Path:
    """The generated repo with an operator's git identity configured."""
    with git.Repo(repo_copy).config_writer() as config:
        config.set_value("user", "name", "Ada Operator")
        config.set_value("user", "email", "ada@example.com")
    return repo_copy


def set_values(repo_dir: Path, env: str, text_edits: dict[str, str]) -> None:
    path = repo_dir / "environments" / env / "values.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in text_edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def new_build_in_dev(repo_dir: Path) -> str:
    set_values(repo_dir, "dev", {OLD_REVISION: NEW_REVISION,
                                 f"tag: {DEFAULT_TAG}": f"tag: {NEW_TAG}",
                                 "maxInputTokens: 1024": "maxInputTokens: 1500"})
    return commit_all(repo_dir, "dev: new model revision and engine")


def values_at(repo: git.Repo, ref: str, env: str) -> dict:
    return yaml.safe_load(repo.git.show(f"{ref}:environments/{env}/values.yaml"))


def branches(repo_dir: Path) -> list[str]:
    return sorted(h.name for h in git.Repo(repo_dir).heads)


def test_promotes_identity_and_keeps_the_target_settings(service: Path) -> None:
    # Every environment file holds the service's complete values: a setting syst changed on
    # its own (here its memory limit) is the target's, and stays.
    set_values(service, "syst", {"ingress:\n": "# syst keeps its own host\ningress:\n",
                                 "memory: 64Gi": "memory: 48Gi"})
    commit_all(service, "syst: comment and memory")
    head = new_build_in_dev(service)

    result = promote(service, "dev", "syst")

    repo = git.Repo(service)
    assert result.status == "promoted"
    assert result.branch == f"promote/syst-{head[:7]}"
    assert [(c.key, c.old, c.new) for c in result.changes] == [
        ("container.image.tag", DEFAULT_TAG, NEW_TAG),
        ("model.revision", OLD_REVISION, NEW_REVISION),
        ("model.maxInputTokens", 1024, 1500),
    ]
    commit = repo.commit(result.branch)
    assert commit.hexsha == result.commit and [p.hexsha for p in commit.parents] == [head]
    # Both pin the same base chart version: the kustomization is not touched.
    assert sorted(commit.stats.files) == ["environments/syst/values.yaml"]
    assert commit.author.name == "Ada Operator"
    assert f"Promoted-from: dev@{head}" in commit.message
    syst = values_at(repo, result.branch, "syst")
    assert syst["model"]["revision"] == NEW_REVISION
    assert syst["model"]["maxInputTokens"] == 1500
    assert syst["container"]["image"]["tag"] == NEW_TAG
    assert syst["environment"] == "syst"
    assert syst["ingress"]["host"] == "syst.tinyllama.ml.example.com"
    assert syst["container"]["resources"]["limits"]["memory"] == "48Gi"
    assert values_at(repo, result.branch, "dev")["container"]["resources"]["limits"][
        "memory"] == "64Gi"
    assert "# syst keeps its own host" in repo.git.show(f"{result.branch}:environments/syst/"
                                                       "values.yaml")
    # The user's checkout is untouched: same branch, same commit, clean tree.
    assert repo.active_branch.name == "main" and repo.head.commit.hexsha == head
    assert not repo.is_dirty(untracked_files=True)
    assert values_at(repo, "main", "syst")["model"]["revision"] == OLD_REVISION


def test_refuses_to_skip_an_environment_unless_allowed(service: Path) -> None:
    new_build_in_dev(service)
    with pytest.raises(UserError) as refused:
        promote(service, "dev", "uat")
    assert refused.value.field == "--to"
    assert "skips syst" in refused.value.rule
    assert branches(service) == ["main"]

    result = promote(service, "dev", "uat", allow_skip=True)
    assert result.status == "promoted" and result.skipped == ["syst"]
    assert values_at(git.Repo(service), result.branch, "uat")["model"]["revision"] == NEW_REVISION


def test_an_environment_the_repository_lacks_is_not_a_skip(service: Path) -> None:
    git.Repo(service).git.rm("-r", "-q", "environments/uat", "argocd/uat.yaml")
    commit_all(service, "drop uat")
    with pytest.raises(UserError, match="'uat' is not in this repository"):
        promote(service, "syst", "uat")
    set_values(service, "syst", {OLD_REVISION: NEW_REVISION})
    commit_all(service, "syst: new revision")
    assert promote(service, "syst", "prod").status == "promoted"


@pytest.mark.parametrize(
    ("source", "target", "field", "fragment"),
    [
        ("syst", "dev", "--to", "forward only"),
        ("prod", "prod", "--to", "forward only"),
        ("dev", "staging", "--to", "unknown environment 'staging'"),
        ("qa", "prod", "--from", "unknown environment 'qa'"),
    ],
)
def test_refuses_backwards_and_unknown_environments(
    service: Path, source: str, target: str, field: str, fragment: str
) -> None:
    with pytest.raises(UserError) as refused:
        promote(service, source, target)
    assert refused.value.field == field and fragment in refused.value.rule


def test_refuses_an_invalid_source(service: Path) -> None:
    set_values(service, "dev", {OLD_REVISION: "bad..revision"})
    commit_all(service, "dev: broken revision")
    with pytest.raises(UserError) as refused:
        promote(service, "dev", "syst")
    assert refused.value.field == "--from"
    assert "dev does not validate" in refused.value.rule
    assert branches(service) == ["main"]


def test_refuses_when_the_target_would_not_validate(service: Path) -> None:
    new_build_in_dev(service)
    path = service / "environments/syst/kustomization.yaml"
    path.write_text(path.read_text().replace("releaseName: tinyllama-chat",
                                             "releaseName: other"), encoding="utf-8")
    commit_all(service, "syst: broken kustomization")
    with pytest.raises(UserError) as refused:
        promote(service, "dev", "syst")
    assert refused.value.field == "--to"
    assert "nothing was committed" in refused.value.rule and "releaseName" in refused.value.rule
    assert branches(service) == ["main"]


@pytest.mark.parametrize("dirt", ["untracked", "modified", "staged"])
def test_refuses_a_dirty_working_tree(service: Path, dirt: str) -> None:
    new_build_in_dev(service)
    if dirt == "untracked":
        (service / "notes.txt").write_text("wip\n")
    else:
        (service / "README.md").write_text("changed\n")
        if dirt == "staged":
            git.Repo(service).git.add("README.md")
    with pytest.raises(UserError, match="uncommitted changes"):
        promote(service, "dev", "syst")
    assert branches(service) == ["main"]


def test_nothing_to_promote_is_reported_unchanged(service: Path) -> None:
    result = promote(service, "dev", "syst")
    assert result.status == "unchanged" and result.changes == []
    assert result.branch is None and branches(service) == ["main"]


def test_promoting_the_same_commit_again_reuses_the_branch(service: Path) -> None:
    new_build_in_dev(service)
    first = promote(service, "dev", "syst")
    again = promote(service, "dev", "syst")
    assert again.branch == first.branch and again.commit == first.commit
    assert again.branch_existed and not first.branch_existed


def test_local_publisher_pushes_the_branch(service: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(service), str(origin)], check=True)
    git.Repo(service).create_remote("origin", str(origin))
    new_build_in_dev(service)
    result = promote(service, "dev", "syst", publisher=LocalPublisher(str(origin)))
    assert result.pushed and result.publisher == "local"
    remote = git.Repo(origin)
    assert remote.commit(result.branch).hexsha == result.commit
    # main was not pushed by promote: the remote warns that the PR would carry it.
    assert any("not at the promoted commit" in w for w in result.warnings)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_refusal_is_one_line_with_exit_code_2(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new_build_in_dev(service)
    code, out, err = run_cli(capsys, "promote", str(service), "--from", "dev", "--to", "prod")
    assert code == 2 and out == ""
    assert err == ("error: --to: dev → prod skips syst, uat; promote through it first, or pass "
                   "--allow-skip\n")


def test_cli_json_reports_unchanged_with_exit_code_0(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "promote", str(service), "--from", "uat", "--to", "prod",
                           "--json")
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "unchanged" and report["branch"] is None
    assert report["identity"]["model_revision"] == OLD_REVISION


def test_cli_publisher_needs_an_origin(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "promote", str(service), "--from", "dev", "--to", "syst",
                           "--publisher", "local")
    assert code == 2 and "no `origin` remote" in err


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(tmp_path / "git", token="ghs_promoteToken0123456789").start()
    monkeypatch.setenv("GITHUB_TOKEN", fake.token)
    yield fake
    fake.stop()


@pytest.mark.slow
def test_github_publisher_opens_the_promotion_pull_request(
    service: Path, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = "ml-platform/tinyllama-chat"
    bare = tmp_path / "git" / f"{slug}.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(service), str(bare)], check=True)
    github.add_repo(slug, bare)
    git.Repo(service).create_remote("origin", github.git_url(slug))
    new_build_in_dev(service)
    git.Repo(service).git.push("-q", str(bare), "main")  # the remote main has the dev change

    code, out, err = run_cli(capsys, "promote", str(service), "--from", "dev", "--to", "syst",
                             "--publisher", "github", "--github-api-url", github.api_url,
                             "--json")
    assert code == 0, err
    report = json.loads(out)
    [pull] = github.open_pulls(slug)
    assert report["pull_request"] == f"{github.base_url}/{slug}/pull/{pull.number}"
    assert (pull.head, pull.base) == (report["branch"], "main")
    assert pull.title.startswith("Promote tinyllama-chat to syst:")
    assert "| `model.revision` |" in pull.body
    assert github.branch_sha(slug, report["branch"]) == report["commit"]
    assert report["warnings"] == []
    assert github.token not in out + err


def test_model_block_moves_as_a_unit_and_comments_survive() -> None:
    source = ("model:\n  id: org/new\n  revision: main\n  maxInputTokens: 10\n"
              "  maxTotalTokens: 20\ncontainer:\n  image:\n    tag: '2.0'\n")
    target = ("# prod values\nenvironment: prod\nmodel:  # pinned\n  id: org/old\n"
              "  revision: v1\n  servedModelName: old-name\n  maxInputTokens: 10\n"
              "  maxTotalTokens: 20\ningress:\n  host: example.com  # prod host\n")
    merged = copy_identity_values(source, target)
    assert merged == ("# prod values\nenvironment: prod\nmodel:  # pinned\n  id: org/new\n"
                      "  revision: main\n  maxInputTokens: 10\n  maxTotalTokens: 20\n"
                      "ingress:\n  host: example.com  # prod host\n"
                      "container:\n  image:\n    tag: '2.0'\n")


def test_identity_changes_lists_only_what_differs(service: Path) -> None:
    dev = read_identity(service, "dev")
    assert dev == Identity(DEFAULT_TAG, {"id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                                     "revision": OLD_REVISION, "maxInputTokens": 1024,
                                     "maxTotalTokens": 2048}, chart_version())
    assert identity_changes(read_identity(service, "prod"), dev) == []
