"""Tokens in the environment never reach generated files, logs, JSON output or git objects.

Every run sets canary values for the Hugging Face and GitHub token variables and then scans
everything the run left behind: stdout and stderr (human and ``--json``), every file of the
generated repository, every git object (decompressed) of the generated repository or of the
schema repository, and the request lines the fake GitHub received. Error paths (401, 422)
are scanned as well as the successful ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from common import MINIMAL_ANSWERS
from github_fake import FakeGitHub
from schema_repo_fixture import branch_sha, make_bare_repo

from inference_scaffolder.answers import default_answers

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("inference-scaffolder"))
HF_CANARY = "hf_" + "CanaryHuggingFaceToken0000000000000000"
GITHUB_CANARY = "ghp_" + "CanaryGitHubToken00000000000000000000"
WRONG_CANARY = "ghp_" + "CanaryWrongToken111111111111111111111"
SLUG = "platform/platform-schemas-types"
BRANCH = "inference-scaffolder/ml-inference-load"


def canary_env(tmp_path: Path, github_token: str = GITHUB_CANARY) -> dict[str, str]:
    return {
        **os.environ,
        "HF_TOKEN": HF_CANARY,
        "HUGGING_FACE_HUB_TOKEN": HF_CANARY,
        "HF_API_TOKEN": HF_CANARY,
        "GITHUB_TOKEN": github_token,
        "GH_TOKEN": github_token,
        "TMPDIR": str(tmp_path / "tmp"),
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    Path(env["TMPDIR"]).mkdir(exist_ok=True)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=300)


def git_objects(repo: Path) -> bytes:
    """Every object of a repository (bare or not), decompressed, plus its refs and config."""
    done = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"],
        cwd=repo, capture_output=True, check=True,
    )
    assert done.stdout, f"no git objects in {repo}"
    refs = subprocess.run(["git", "show-ref"], cwd=repo, capture_output=True).stdout
    git_dir = repo if (repo / "HEAD").is_file() else repo / ".git"
    return done.stdout + refs + (git_dir / "config").read_bytes()


def tree_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path, path.read_bytes()


def assert_no_canary(label: str, data: bytes | str, *canaries: str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for canary in canaries or (HF_CANARY, GITHUB_CANARY, WRONG_CANARY):
        assert canary.encode() not in raw, f"{canary[:12]}... found in {label}"


def test_scan_finds_a_planted_canary(tmp_path: Path) -> None:
    """The scanner itself works: a canary committed to a repository is found in its objects
    even though git stores it compressed."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "leak.txt").write_text(f"token={HF_CANARY}\n")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "add", "."], cwd=repo,
                   check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
                   cwd=repo, check=True)
    (repo / "leak.txt").unlink()
    assert HF_CANARY.encode() not in b"".join(data for _, data in tree_bytes(repo))
    with pytest.raises(AssertionError, match="found in"):
        assert_no_canary("objects", git_objects(repo))


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "human"])
def test_new_leaks_no_token(tmp_path: Path, as_json: bool) -> None:
    out = tmp_path / "out"
    answers = {**MINIMAL_ANSWERS, "environments": "prod", "ingress_host": "chat.example.com",
               "image_pull_secret": "true", "routing": "true"}
    args = ["new", "--no-input", "--output-dir", str(out), *(["--json"] if as_json else []),
            *[f"--set={k}={v}" for k, v in answers.items()]]
    done = run(args, canary_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert_no_canary("stdout", done.stdout)
    assert_no_canary("stderr", done.stderr)
    repo = out / MINIMAL_ANSWERS["service_name"]
    files = list(tree_bytes(repo))
    # The scan covers the file that refers to the token: its Vault path, never its value.
    values = repo / "environments" / "prod" / "values.yaml"
    assert values in {p for p, _ in files}
    assert default_answers()["hf_token_vault_path"].encode() in values.read_bytes()
    for path, data in files:
        assert_no_canary(str(path.relative_to(repo)), data)
    assert_no_canary("git objects", git_objects(repo))
    for path, data in tree_bytes(tmp_path / "tmp"):
        assert_no_canary(f"temporary file {path}", data)


# --- schema-pr --publisher github ------------------------------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    root = tmp_path / "git"
    bare = make_bare_repo(root, name=f"{SLUG}.git")
    fake = FakeGitHub(root, token=GITHUB_CANARY).start()
    fake.add_repo(SLUG, bare)
    yield fake
    fake.stop()


def schema_pr(fake: FakeGitHub, tmp_path: Path, *extra: str, token: str = GITHUB_CANARY
              ) -> subprocess.CompletedProcess[str]:
    args = ["schema-pr", "--repo", fake.git_url(SLUG), "--publisher", "github",
            "--github-api-url", fake.api_url, *extra]
    return run(args, canary_env(tmp_path, token))


def assert_run_leaks_nothing(fake: FakeGitHub, tmp_path: Path,
                             done: subprocess.CompletedProcess[str]) -> None:
    assert_no_canary("stdout", done.stdout)
    assert_no_canary("stderr", done.stderr)
    assert_no_canary("schema repository objects", git_objects(fake.repos[SLUG]))
    assert_no_canary("request lines", "\n".join(f"{m} {p}" for m, p in fake.requests))
    for path, data in tree_bytes(tmp_path / "tmp"):
        assert_no_canary(f"temporary file {path}", data)


@pytest.mark.node
def test_schema_pr_github_leaks_no_token(github: FakeGitHub, tmp_path: Path) -> None:
    """Opened (JSON output), then unchanged (human output, with the PR URL)."""
    opened = schema_pr(github, tmp_path, "--json")
    assert opened.returncode == 0, opened.stderr
    assert len(github.open_pulls(SLUG)) == 1  # the token was used: push and PR happened
    assert branch_sha(github.repos[SLUG], BRANCH)
    assert_run_leaks_nothing(github, tmp_path, opened)
    unchanged = schema_pr(github, tmp_path)
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.startswith("unchanged:") and "pull request: " in unchanged.stdout
    assert_run_leaks_nothing(github, tmp_path, unchanged)


@pytest.mark.node
def test_schema_pr_rejected_token_leaks_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    """401: the wrong token is named by its variable, never by its value."""
    done = schema_pr(github, tmp_path, "--json", token=WRONG_CANARY)
    assert done.returncode == 2
    assert "401" in done.stderr and "$GITHUB_TOKEN" in done.stderr
    assert_run_leaks_nothing(github, tmp_path, done)


@pytest.mark.parametrize(
    "failure",
    [(422, {"message": "Validation Failed", "errors": [{"message": "base branch is locked"}]}),
     (422, {"message": f"Validation Failed for token {GITHUB_CANARY}"})],
    ids=["422", "422-echoing-the-token"],
)
@pytest.mark.node
def test_schema_pr_failed_pull_request_leaks_nothing(
    github: FakeGitHub, tmp_path: Path, failure: tuple[int, dict]
) -> None:
    """422 after the push: the branch is rolled back and the message stays token-free, even
    when the server's message quotes the token."""
    github.fail_create_with = failure
    done = schema_pr(github, tmp_path, "--json")
    assert done.returncode == 2
    assert "422" in done.stderr and "the push was undone" in done.stderr
    assert branch_sha(github.repos[SLUG], BRANCH) is None
    assert_run_leaks_nothing(github, tmp_path, done)


@pytest.mark.node
def test_credentials_in_the_repo_url_are_never_shown(github: FakeGitHub, tmp_path: Path) -> None:
    url = github.git_url(SLUG).replace("http://", f"http://bot:{WRONG_CANARY}@")
    done = run(["schema-pr", "--repo", url], canary_env(tmp_path))
    assert done.returncode == 2
    assert "http://***@127.0.0.1" in done.stderr
    assert_no_canary("stderr", done.stderr)
    assert_no_canary("stdout", done.stdout)
