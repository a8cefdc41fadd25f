"""Getting a prepared branch to the remote, and a pull request opened for it.

Shared by every command that proposes a change to another repository (``schema-pr``,
``promote``). A command builds a commit in a throw-away clone, then hands it to a publisher:

- :class:`LocalPublisher` (:mod:`.publishers`) pushes the branch to the git remote; the pull
  request's title and body are left to the caller to print (any forge, or none, can take it
  from there).
- :class:`GitHubPublisher` (:mod:`.github`) also finds or opens the pull request through the
  GitHub REST API (github.com or GitHub Enterprise), with a token read from an environment
  variable.

The parts: :mod:`.secrets` (masking credentials in messages, the credential helper git
gets the token from), :mod:`.remote` (clone, fetch, compare-and-swap push and its undo),
:mod:`.publishers` (the protocol and the local publisher), :mod:`.github` (the GitHub API
client and publisher), :mod:`.proposal` (one commit on a base branch, as ``schema-pr`` and
``register`` propose it).

Safety properties every publisher keeps:

- pushes are compare-and-swap (``--force-with-lease`` against the commit the branch was
  built on, or against "absent" for a new branch): a concurrent writer makes the push fail
  with :class:`PushRejected`, and the caller rebuilds on the new tip instead of overwriting;
- a single ref is pushed, so the remote sees all of the change or none of it; when opening
  the pull request fails after the push, the ref is put back the way it was;
- a push that replaced the branch of an open pull request also gives that pull request the
  caller's title and body: the text of whoever pushed before describes what was replaced;
- tokens never reach argv, URLs, logs or messages: git gets them from a credential helper
  that reads an environment variable of the git process, and every message derived from
  git or the API is scrubbed of credentials embedded in URLs;
- tokens go only where they are meant: the credential helper answers only for the exact
  scheme and host (with port) of ``--repo``, git never follows an HTTP redirect, and the
  API client only talks to the scheme, host and port of ``--github-api-url``.
"""

from __future__ import annotations

from collections.abc import Mapping

from inference_scaffolder.errors import UserError
from inference_scaffolder.gitcli import GIT_SAFETY_CONFIG, GitOutput
from inference_scaffolder.publish.github import (
    DEFAULT_GITHUB_API,
    DEFAULT_TOKEN_ENV,
    GitHubApi,
    GitHubPublisher,
    GitHubSettings,
    PullRequest,
    repository_slug,
)
from inference_scaffolder.publish.publishers import (
    LocalPublisher,
    Publication,
    Publisher,
    PublisherKind,
    PullRequestDraft,
)
from inference_scaffolder.publish.remote import (
    GitRemote,
    PushRejected,
    check_git,
    clone_branch,
    describe_git_failure,
    fetch_branch,
    normalize_repo_argument,
    push_branch,
    remote_heads,
    restore_branch,
    run_git,
)
from inference_scaffolder.publish.secrets import (
    HOST_ENV_FOR_GIT,
    PROTOCOL_ENV_FOR_GIT,
    TOKEN_ENV_FOR_GIT,
    credential_target,
    git_token_env,
    one_line,
    scrub,
)

__all__ = [
    "DEFAULT_GITHUB_API", "DEFAULT_TOKEN_ENV", "GIT_SAFETY_CONFIG", "HOST_ENV_FOR_GIT",
    "PROTOCOL_ENV_FOR_GIT", "TOKEN_ENV_FOR_GIT", "GitHubApi", "GitHubPublisher",
    "GitHubSettings", "GitOutput", "GitRemote", "LocalPublisher", "Publication", "Publisher",
    "PublisherKind", "PullRequest", "PullRequestDraft", "PushRejected", "check_git",
    "clone_branch", "credential_target", "describe_git_failure", "fetch_branch",
    "git_token_env", "make_publisher", "normalize_repo_argument", "one_line", "push_branch",
    "remote_heads", "repository_slug", "restore_branch", "run_git", "scrub",
]


def make_publisher(
    kind: str,
    repo_url: str,
    github_settings: GitHubSettings | None = None,
    environ: Mapping[str, str] | None = None,
) -> LocalPublisher | GitHubPublisher:
    """The publisher named on the command line."""
    if kind == "local":
        return LocalPublisher(repo_url)
    if kind == "github":
        return GitHubPublisher(repo_url, github_settings or GitHubSettings(), environ)
    raise UserError("--publisher", f"must be local or github, got {kind!r}")
