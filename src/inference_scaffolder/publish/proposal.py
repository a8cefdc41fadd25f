"""A proposal: one commit on the tip of a base branch, pushed to its own branch for a pull
request. ``schema-pr`` and ``register`` build theirs the same way; what they share is here:
the branch names they accept, the commit (with an identity when the clone has none), whether
the remote branch already is that commit, the pull request of an unchanged branch, and the
result they report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.publish.publishers import Publisher, PullRequestDraft
from inference_scaffolder.publish.remote import GitRemote, check_git, run_git

# The author of a proposal's commit when the user's git configuration names none.
FALLBACK_AUTHOR = ("inference-scaffolder", "inference-scaffolder@users.noreply.localhost")


def check_branch_name(name: str, option: str, cwd: Path) -> None:
    """Refuse (one line naming ``option``) what git would not take as a branch name."""
    out = run_git(["check-ref-format", "--branch", name], cwd, GitRemote(""))
    if out.status != 0 or name.startswith("-"):
        raise UserError(option, f"{inert(name, 120)!r} is not a valid branch name")


def commit_staged(repo: Repository, remote: GitRemote, message: str) -> str:
    """Commit what is staged (no hooks: the clone is anyone's content); the new sha."""
    identity: list[str] = []
    if repo.config_value("user.email") is None:
        name, email = FALLBACK_AUTHOR
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    check_git([*identity, "commit", "--quiet", "--no-verify", "-m", message],
              Path(repo.working_dir), remote, "git", "committing the change")
    return repo.head()


def branch_is_proposal(repo: Repository, observed: str, base_tip: str, tree: str,
                       title: str) -> bool:
    """Whether the remote branch (at ``observed``) is exactly what this run would push: one
    commit on the current base tip with this run's tree and message (who made it is no
    matter: another run on another machine makes the same commit)."""
    described = repo.check("show", "-s", "--format=%P%x00%T%x00%B",
                           f"{observed}^{{commit}}", "--")
    parents, found_tree, message = [*described.split("\0", 2), "", ""][:3]
    return parents.split() == [base_tip] and found_tree == tree and message.strip() == title


def pull_request_of_unchanged(publisher: Publisher, branch: str, base: str, observed: str,
                              draft: PullRequestDraft) -> tuple[str | None, list[str]]:
    """The pull request of a branch that already is this run's commit, and warnings: the
    open one, else the one a killed run never opened, opened now."""
    pull = publisher.existing_pull_request(branch, base)
    if pull is not None:
        return pull, []
    publication = publisher.open_missing_pull_request(branch, base, observed, draft)
    return publication.pull_request, list(publication.warnings)


@dataclass(kw_only=True)
class ProposalResult:
    """What a proposing command reports (``--json`` prints :meth:`as_json`)."""

    status: str  # opened | updated | unchanged (for a dry run: what a real run would report)
    branch: str
    commit: str | None
    files: list[str]
    pull_request: str | None
    title: str
    body: str
    dry_run: bool = False
    diff: str | None = None  # a dry run's unified diff
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        if not self.dry_run:
            data.pop("diff")
        return data
