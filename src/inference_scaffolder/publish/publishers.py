"""What a publisher is, and the local one: push the branch, and leave the pull request's
title and body to the caller to print (any forge, or none, can take it from there)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from inference_scaffolder.gitcli import Repository
from inference_scaffolder.publish import remote
from inference_scaffolder.publish.remote import GitRemote


@dataclass(frozen=True)
class PullRequestDraft:
    title: str
    body: str
    labels: tuple[str, ...] = ()
    draft: bool = False


@dataclass
class Publication:
    """What a publish did: the pushed commit and the pull request URL (None without a forge)."""

    commit: str
    pull_request: str | None = None
    pull_request_created: bool = False
    warnings: list[str] = field(default_factory=list)


class Publisher(Protocol):
    """A way to deliver a branch: the remote to push to, and optionally a forge for the PR."""

    name: str
    remote: GitRemote

    def preflight(self) -> None:
        """Fail (UserError) before any push when credentials or the target are wrong."""

    def existing_pull_request(self, branch: str, base: str) -> str | None:
        """URL of the open pull request for ``branch`` into ``base``, if there is one."""

    def open_missing_pull_request(
        self, branch: str, base: str, commit: str, pr: PullRequestDraft
    ) -> Publication:
        """Open the pull request of an already pushed ``branch`` that never had one (a run
        killed between its push and the pull request leaves exactly that)."""

    def publish(
        self,
        repo: Repository,
        branch: str,
        base: str,
        commit: str,
        expected: str | None,
        pr: PullRequestDraft,
    ) -> Publication:
        """Push ``commit`` to ``branch`` (compare-and-swap with ``expected``) and make sure a
        pull request exists; raises PushRejected when the branch moved meanwhile."""


class LocalPublisher:
    """Push to the git remote; the pull request text is for the caller to print."""

    name = "local"

    def __init__(self, repo_url: str) -> None:
        self.remote = GitRemote(repo_url)

    def preflight(self) -> None:
        return None

    def existing_pull_request(self, branch: str, base: str) -> str | None:
        return None

    def open_missing_pull_request(
        self, branch: str, base: str, commit: str, pr: PullRequestDraft
    ) -> Publication:
        return Publication(commit=commit)

    def publish(
        self,
        repo: Repository,
        branch: str,
        base: str,
        commit: str,
        expected: str | None,
        pr: PullRequestDraft,
    ) -> Publication:
        remote.push_branch(repo, self.remote, branch, commit, expected)
        return Publication(commit=commit)


class PublisherKind(StrEnum):
    """The publishers a command can be told to use (``--publisher``)."""

    local = "local"
    github = "github"
