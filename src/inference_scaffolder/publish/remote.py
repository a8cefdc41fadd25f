"""git against the remote repository: list its branches, clone the base branch, fetch the
pull-request branch, push compare-and-swap and undo a push, every failure on one line
without credentials. git runs through :mod:`inference_scaffolder.gitcli`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inference_scaffolder import gitcli
from inference_scaffolder.errors import UserError
from inference_scaffolder.faults import fault_point
from inference_scaffolder.gitcli import GitOutput, Repository
from inference_scaffolder.publish.secrets import one_line, scrub


class PushRejected(Exception):
    """The remote branch moved since it was fetched: rebuild on the new tip and retry."""


@dataclass(frozen=True)
class GitRemote:
    """How to reach the target repository with git: its URL and the environment git needs
    (credentials). ``display`` is the only form of the URL that may be shown."""

    url: str
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return scrub(self.url, self.secrets)

    def clean(self, text: str) -> str:
        return scrub(text, self.secrets)


def normalize_repo_argument(repo: str) -> str:
    """A local path becomes absolute (the command works from temporary directories); a git
    URL (``scheme://...`` or scp-like ``[user@]host:path``) passes through unchanged."""
    path = Path(repo).expanduser()
    if "://" not in repo and path.exists():
        return str(path.resolve())
    if "://" in repo or re.match(r"^([\w.-]+@)?[\w.-]+:(?!//)\S", repo):
        return repo
    raise UserError("--repo", f"{scrub(repo)} is neither an existing path nor a git URL")


def run_git(args: list[str], cwd: Path, remote: GitRemote) -> GitOutput:
    """Run ``git args`` in ``cwd`` with what ``remote`` needs (the one credential, through
    the tool's own helper); never raises on a non-zero status."""
    return gitcli.run(args, cwd, env=remote.env)


def check_git(args: list[str], cwd: Path, remote: GitRemote, field_name: str, doing: str) -> str:
    """Run git and turn a failure into a one-line, credential-free :class:`UserError`."""
    out = run_git(args, cwd, remote)
    if out.status != 0:
        raise UserError(field_name, f"{doing} failed: {describe_git_failure(out.stderr, remote)}")
    return out.stdout


_REFUSED = ("authentication failed", "could not read username", "could not read password",
            "permission denied", "requested url returned error: 401",
            "requested url returned error: 403", "invalid credentials")
_UNREACHABLE = ("could not resolve host", "connection refused", "failed to connect", "timed out",
                "network is unreachable", "could not connect", "connection reset")


def describe_git_failure(stderr: str, remote: GitRemote) -> str:
    """The reason git gave, classified where it is a well-known one, credential-free."""
    text = remote.clean(stderr)
    lowered = text.lower()
    if re.search(r"returned error: 30[1278]\b|redirect", lowered):
        return (f"{remote.display} answered with a redirect, which is not followed (it could "
                f"send the credentials to another host): give the final URL as --repo "
                f"({_last_line(text)})")
    if any(s in lowered for s in _REFUSED):
        return f"authentication to {remote.display} was refused ({_last_line(text)})"
    if any(s in lowered for s in _UNREACHABLE):
        return f"cannot reach {remote.display} ({_last_line(text)})"
    if "does not appear to be a git repository" in lowered or "not found" in lowered:
        return f"{remote.display}: {_last_line(text)}"
    return _last_line(text) or "git exited with an error"


def _last_line(text: str) -> str:
    """The most telling line of git's stderr: the last ``error:``/``fatal:``/``remote:`` one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for prefix in ("fatal:", "error:", "remote: error:", "remote:", "!"):
        picked = [line for line in lines if line.lower().startswith(prefix)]
        if picked:
            return one_line(picked[-1], 240)
    return one_line(lines[-1], 240) if lines else ""


def remote_heads(remote: GitRemote, cwd: Path, *branches: str) -> dict[str, str]:
    """``{branch: sha}`` for those of ``branches`` that exist on the remote."""
    refs = [f"refs/heads/{b}" for b in branches]
    stdout = check_git(["ls-remote", "--heads", remote.url, *refs], cwd, remote, "--repo",
                       f"reading branches of {remote.display}")
    heads: dict[str, str] = {}
    for line in stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref[len("refs/heads/") :]] = sha.strip()
    return heads


def clone_branch(remote: GitRemote, base: str, dest: Path) -> Repository:
    """A fresh clone of ``base`` only (no tags), to build the change in."""
    check_git(["clone", "--quiet", "--no-tags", "--single-branch", "--branch", base,
               remote.url, str(dest)], dest.parent, remote, "--repo",
              f"cloning {remote.display}")
    return Repository(dest)


def fetch_branch(repo: Repository, remote: GitRemote, branch: str) -> str | None:
    """Fetch ``branch`` into ``refs/remotes/origin/<branch>``; its sha, or None if absent."""
    out = run_git(["fetch", "--quiet", "--no-tags", "origin",
                   f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
                  Path(repo.working_dir), remote)
    if out.status != 0:
        if "couldn't find remote ref" in out.stderr.lower():
            return None
        raise UserError(
            "--repo", f"fetching {branch} failed: {describe_git_failure(out.stderr, remote)}"
        )
    return Repository(Path(repo.working_dir)).rev_parse(f"refs/remotes/origin/{branch}")


def push_branch(
    repo: Repository, remote: GitRemote, branch: str, commit: str, expected: str | None
) -> None:
    """Point the remote ``branch`` at ``commit`` iff it still is at ``expected`` (None: absent).

    Raises :class:`PushRejected` when it moved, :class:`UserError` for anything else (auth,
    protected branch, network), with git's reason on one line.
    """
    lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
    out = run_git(
        ["push", "--porcelain", "--atomic", lease, "origin", f"{commit}:refs/heads/{branch}"],
        Path(repo.working_dir),
        remote,
    )
    if out.status == 0 and _already_there(out.stdout, branch) and expected != commit:
        # Another run pushed this very commit (same tree, parent and second): git calls that
        # "up to date" without checking the lease, but the branch was not ours to create.
        raise PushRejected(branch)
    if out.status == 0:
        fault_point("after-push")
        return
    combined = f"{out.stdout}\n{out.stderr}"
    if re.search(r"\[rejected\] \((stale info|fetch first|non-fast-forward)\)", combined) or (
        "stale info" in combined
    ):
        raise PushRejected(branch)
    raise UserError("--repo", f"push of {branch} failed: {_push_failure(out, remote)}; "
                    "nothing was pushed")


def _push_failure(out: GitOutput, remote: GitRemote) -> str:
    """Why a push failed: the server's own refusal (a hook, a protected branch) with what it
    said, else git's reason."""
    remote_rejected = re.search(r"\[remote rejected\] \(([^)]*)\)", f"{out.stdout}\n{out.stderr}")
    if not remote_rejected:
        return describe_git_failure(out.stderr, remote)
    hook_lines = [ln for ln in remote.clean(out.stderr).splitlines() if ln.startswith("remote:")]
    detail = one_line(" ".join(ln[len("remote:") :].strip() for ln in hook_lines), 200)
    return f"rejected by {remote.display}: {remote_rejected.group(1)}" + (
        f" ({detail})" if detail else "")


def _already_there(porcelain: str, branch: str) -> bool:
    """Whether ``git push --porcelain`` reported the ref as already up to date (flag '=')."""
    return any(line.startswith("=") and f"refs/heads/{branch}" in line
               for line in porcelain.splitlines())


def restore_branch(
    repo: Repository, remote: GitRemote, branch: str, pushed: str, previous: str | None
) -> bool:
    """Undo our push (only if the branch is still at ``pushed``): back to ``previous``, or
    deleted when it did not exist. Returns whether the remote is as it was."""
    lease = f"--force-with-lease=refs/heads/{branch}:{pushed}"
    target = f"{previous}:refs/heads/{branch}" if previous else f":refs/heads/{branch}"
    out = run_git(["push", "--porcelain", lease, "origin", target], Path(repo.working_dir), remote)
    return out.status == 0
