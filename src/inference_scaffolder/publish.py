"""Getting a prepared branch to the remote, and a pull request opened for it.

Shared by every command that proposes a change to another repository (``schema-pr`` today,
``promote`` later). A command builds a commit in a throw-away clone, then hands it to a
:class:`Publisher`:

- :class:`LocalPublisher` pushes the branch to the git remote; the pull request's title and
  body are left to the caller to print (any forge, or none, can take it from there).
- :class:`GitHubPublisher` also finds or opens the pull request through the GitHub REST API
  (github.com or GitHub Enterprise), with a token read from an environment variable.

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
  scheme and host (with port) of ``--repo``, git never follows an HTTP redirect
  (``http.followRedirects=false``: a redirect would be the one way to another host), and the
  API client only talks to the host of ``--github-api-url``.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import git

from inference_scaffolder.answers.credentials import mask_credentials
from inference_scaffolder.confine import without_secrets
from inference_scaffolder.errors import UserError
from inference_scaffolder.faults import fault_point

if TYPE_CHECKING:  # PyGithub is imported lazily: only the github publisher needs it
    from github.GithubException import GithubException
    from github.PullRequest import PullRequest
    from github.Repository import Repository

T = TypeVar("T")

# The user-info part of a URL: everything from "scheme://" to the last "@" before the path.
# A password in a message is not always URL-encoded, so it may hold "@", ":" or spaces;
# masking a little too much is harmless, leaving the end of a password is not.
_CREDENTIALS_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\n]*@")
# Query parameters that carry credentials (OAuth, GitLab, signed URLs).
_CREDENTIAL_PARAMETER = re.compile(
    r"(?i)([?&;](?:access_token|refresh_token|id_token|private_token|token|auth|password"
    r"|passwd|secret|client_secret|api_key|apikey|key|sig|signature|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token)=)[^&#\s'\"]*"
)
_AUTHORIZATION = re.compile(r"(?i)\b((?:proxy-)?authorization:\s*(?:basic|bearer|token)?\s*)"
                            r"[^\s'\"]+")
TOKEN_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_TOKEN"
PROTOCOL_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_PROTOCOL"
HOST_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_HOST"
# Every git run: a redirect is never followed, so credentials never travel with one.
GIT_SAFETY_CONFIG = ("-c", "http.followRedirects=false")


def _secret_forms(secret: str) -> list[str]:
    """A secret as it may appear in text: itself, URL-encoded, and inside HTTP Basic."""
    forms = {secret, quote(secret, safe="")}
    for user in ("x-access-token", "git", ""):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="))
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: ``scheme://user:pass@`` becomes ``scheme://***@``,
    credential query parameters and Authorization headers lose their values, any known
    secret value (also URL-encoded or in Basic form) is masked wherever it appears, and so
    is anything shaped like a well-known token."""
    cleaned = _CREDENTIALS_IN_URL.sub(r"\1***@", text)
    cleaned = _CREDENTIAL_PARAMETER.sub(r"\1***", cleaned)
    cleaned = _AUTHORIZATION.sub(r"\1***", cleaned)
    for secret in secrets:
        if secret:
            for form in _secret_forms(secret):
                cleaned = cleaned.replace(form, "***")
    return mask_credentials(cleaned)


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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


# --------------------------------------------------------------------------------------------
# git plumbing (GitPython's command runner, with our environment and scrubbed errors)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitOutput:
    status: int
    stdout: str
    stderr: str


def run_git(args: list[str], cwd: Path, remote: GitRemote) -> GitOutput:
    """Run ``git args`` in ``cwd`` without prompting; never raises on a non-zero status.

    git gets the host's environment without its secrets (``confine.without_secrets``: a
    ``GITHUB_TOKEN`` of the host is not git's to see) plus what ``remote`` needs: the one
    credential, through the tool's own helper."""
    env = {**without_secrets(os.environ), "GIT_TERMINAL_PROMPT": "0",
           "GCM_INTERACTIVE": "never", **remote.env}
    try:
        done = subprocess.run(["git", *GIT_SAFETY_CONFIG, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, errors="replace", check=False)
    except FileNotFoundError as exc:
        raise UserError("git", "git is not installed or not on PATH") from exc
    return GitOutput(done.returncode, done.stdout, done.stderr)


def check_git(args: list[str], cwd: Path, remote: GitRemote, field_name: str, doing: str) -> str:
    """Run git and turn a failure into a one-line, credential-free :class:`UserError`."""
    out = run_git(args, cwd, remote)
    if out.status != 0:
        raise UserError(field_name, f"{doing} failed: {describe_git_failure(out.stderr, remote)}")
    return out.stdout


def describe_git_failure(stderr: str, remote: GitRemote) -> str:
    """The reason git gave, classified where it is a well-known one, credential-free."""
    text = remote.clean(stderr)
    lowered = text.lower()
    if re.search(r"returned error: 30[1278]\b|redirect", lowered):
        return (f"{remote.display} answered with a redirect, which is not followed (it could "
                f"send the credentials to another host): give the final URL as --repo "
                f"({_last_line(text)})")
    if any(
        s in lowered
        for s in (
            "authentication failed",
            "could not read username",
            "could not read password",
            "permission denied",
            "requested url returned error: 401",
            "requested url returned error: 403",
            "invalid credentials",
        )
    ):
        return f"authentication to {remote.display} was refused ({_last_line(text)})"
    if any(
        s in lowered
        for s in (
            "could not resolve host",
            "connection refused",
            "failed to connect",
            "timed out",
            "network is unreachable",
            "could not connect",
            "connection reset",
        )
    ):
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
    stdout = check_git(
        ["ls-remote", "--heads", remote.url, *refs],
        cwd,
        remote,
        "--repo",
        f"reading branches of {remote.display}",
    )
    heads: dict[str, str] = {}
    for line in stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref[len("refs/heads/") :]] = sha.strip()
    return heads


def clone_branch(remote: GitRemote, base: str, dest: Path) -> git.Repo:
    """A fresh clone of ``base`` only (no tags), to build the change in."""
    check_git(
        [
            "clone",
            "--quiet",
            "--no-tags",
            "--single-branch",
            "--branch",
            base,
            remote.url,
            str(dest),
        ],
        dest.parent,
        remote,
        "--repo",
        f"cloning {remote.display}",
    )
    return git.Repo(str(dest))


def fetch_branch(repo: git.Repo, remote: GitRemote, branch: str) -> str | None:
    """Fetch ``branch`` into ``refs/remotes/origin/<branch>``; its sha, or None if absent."""
    out = run_git(
        [
            "fetch",
            "--quiet",
            "--no-tags",
            "origin",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        ],
        Path(repo.working_dir),
        remote,
    )
    if out.status != 0:
        if "couldn't find remote ref" in out.stderr.lower():
            return None
        raise UserError(
            "--repo", f"fetching {branch} failed: {describe_git_failure(out.stderr, remote)}"
        )
    return repo.git.rev_parse(f"refs/remotes/origin/{branch}")


def push_branch(
    repo: git.Repo, remote: GitRemote, branch: str, commit: str, expected: str | None
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
    remote_rejected = re.search(r"\[remote rejected\] \(([^)]*)\)", combined)
    reason = describe_git_failure(out.stderr, remote)
    if remote_rejected:
        hook_lines = [
            ln for ln in remote.clean(out.stderr).splitlines() if ln.startswith("remote:")
        ]
        detail = one_line(" ".join(ln[len("remote:") :].strip() for ln in hook_lines), 200)
        reason = f"rejected by {remote.display}: {remote_rejected.group(1)}" + (
            f" ({detail})" if detail else ""
        )
    raise UserError("--repo", f"push of {branch} failed: {reason}; nothing was pushed")


def _already_there(porcelain: str, branch: str) -> bool:
    """Whether ``git push --porcelain`` reported the ref as already up to date (flag '=')."""
    return any(line.startswith("=") and f"refs/heads/{branch}" in line
               for line in porcelain.splitlines())


def restore_branch(
    repo: git.Repo, remote: GitRemote, branch: str, pushed: str, previous: str | None
) -> bool:
    """Undo our push (only if the branch is still at ``pushed``): back to ``previous``, or
    deleted when it did not exist. Returns whether the remote is as it was."""
    lease = f"--force-with-lease=refs/heads/{branch}:{pushed}"
    target = f"{previous}:refs/heads/{branch}" if previous else f":refs/heads/{branch}"
    out = run_git(["push", "--porcelain", lease, "origin", target], Path(repo.working_dir), remote)
    return out.status == 0


# --------------------------------------------------------------------------------------------
# Publishers
# --------------------------------------------------------------------------------------------


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
        repo: git.Repo,
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
        repo: git.Repo,
        branch: str,
        base: str,
        commit: str,
        expected: str | None,
        pr: PullRequestDraft,
    ) -> Publication:
        push_branch(repo, self.remote, branch, commit, expected)
        return Publication(commit=commit)


class PublisherKind(StrEnum):
    """The publishers a command can be told to use (``--publisher``)."""

    local = "local"
    github = "github"


DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_TOKEN_ENV = "GITHUB_TOKEN"


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = DEFAULT_GITHUB_API
    token_env: str = DEFAULT_TOKEN_ENV
    repository: str | None = None  # owner/name; derived from the git URL when None
    timeout: int = 30
    # GitHub asks integrators to space out writes; tests against a local server set 0.
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0


def repository_slug(repo_url: str) -> str | None:
    """``owner/name`` from an https or ssh git URL (last two path segments, no ``.git``)."""
    scp = re.match(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$", repo_url)
    path = scp["path"] if scp else urlsplit(repo_url).path if "://" in repo_url else None
    if not path:
        return None
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2:
        return None
    name = parts[-1][: -len(".git")] if parts[-1].endswith(".git") else parts[-1]
    return f"{parts[-2]}/{name}" if name else None


def credential_target(repo_url: str) -> tuple[str, str]:
    """(protocol, host[:port]) as git's credential protocol names them for ``repo_url``;
    empty for a URL that is not http(s), where the helper must never answer."""
    if "://" not in repo_url:
        return "", ""
    parts = urlsplit(repo_url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "", ""
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2]


def git_token_env(token: str, repo_url: str = "") -> dict[str, str]:
    """Environment that lets git authenticate over HTTPS with ``token`` without it appearing
    in argv, the URL or a file: a credential helper (set through GIT_CONFIG_* variables)
    answers with the token it reads from the git process's own environment, and only when
    git asks for the exact scheme and host[:port] of ``repo_url``. Any other request (a
    redirect target, a submodule host) gets nothing."""
    protocol, host = credential_target(repo_url)
    helper = (
        '!f() { test "$1" = get || exit 0; p=; h=; '
        'while IFS= read -r line; do case "$line" in '
        'protocol=*) p="${line#protocol=}";; host=*) h="${line#host=}";; esac; done; '
        f'test -n "$p" && test "$p" = "${{{PROTOCOL_ENV_FOR_GIT}}}" && '
        f'test "$h" = "${{{HOST_ENV_FOR_GIT}}}" || exit 0; '
        'echo username=x-access-token; '
        f'echo "password=${{{TOKEN_ENV_FOR_GIT}}}"; }}; f'
    )
    return {
        TOKEN_ENV_FOR_GIT: token,
        PROTOCOL_ENV_FOR_GIT: protocol,
        HOST_ENV_FOR_GIT: host,
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": helper,
    }


class _OtherHostRefused(Exception):
    """The API client was about to contact a host other than --github-api-url's."""


def _refuse_other_hosts(*_args: object, **_kwargs: object) -> None:
    raise _OtherHostRefused("an API answer pointed at another host; not followed")


def _only_the_api_host(client: object) -> None:
    """Keep the API client (and so the token) on the host of ``--github-api-url``.

    PyGithub builds later requests from URLs in the API's answers and accepts any host of
    the API's domain for them (``*.github.com``, any subdomain of an Enterprise host),
    sending the token along. Here it gets no domain besides its own host, and the factories
    it would open a connection to another host, port or scheme with refuse to."""
    requester = client.requester  # type: ignore[attr-defined]
    private = ("_Requester__domains", "_Requester__httpConnectionClass",
               "_Requester__httpsConnectionClass")
    if not all(hasattr(requester, name) for name in private):
        raise RuntimeError("this PyGithub version cannot be kept to one host; pin 2.x")
    requester._Requester__domains = []
    requester._Requester__httpConnectionClass = _refuse_other_hosts
    requester._Requester__httpsConnectionClass = _refuse_other_hosts


class GitHubPublisher:
    """Push, then find or open the pull request through the GitHub REST API (PyGithub)."""

    name = "github"

    def __init__(
        self, repo_url: str, settings: GitHubSettings, environ: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        token = env.get(settings.token_env, "")
        if not token:
            raise UserError(settings.token_env, "not set: the github publisher needs a token")
        if urlsplit(settings.api_url).scheme not in ("http", "https"):
            raise UserError("--github-api-url", "must be an http(s) URL")
        slug = settings.repository or repository_slug(repo_url)
        if not slug or not re.match(r"^[\w.-]+/[\w.-]+$", slug):
            raise UserError(
                "--github-repo", "owner/name is required when --repo is not a GitHub URL"
            )
        if any(part in (".", "..") for part in slug.split("/")):
            raise UserError("--github-repo", f"{slug!r}: an owner or name cannot be . or ..")
        self.settings = settings
        self.slug = slug
        self._token = token
        self.remote = GitRemote(repo_url, git_token_env(token, repo_url), (token,))
        self._repository: Repository | None = None

    # -- API plumbing ------------------------------------------------------------------------

    def _api(self) -> Repository:
        if self._repository is None:
            import github
            from urllib3.util import Retry

            client = github.Github(
                auth=github.Auth.Token(self._token),
                base_url=self.settings.api_url.rstrip("/"),
                timeout=self.settings.timeout,
                retry=Retry(total=3, backoff_factor=0.5, status_forcelist=(502, 503, 504)),
                seconds_between_requests=self.settings.seconds_between_requests,
                seconds_between_writes=self.settings.seconds_between_writes,
            )
            _only_the_api_host(client)
            doing = f"reading repository {self.slug}"
            repository = self._call(lambda: client.get_repo(self.slug), doing)
            # An HTML page or an empty answer still makes a Repository object: make sure
            # the answer described a repository before anything is pushed.
            data = self._call(lambda: repository.raw_data, doing)
            full_name = data.get("full_name") if isinstance(data, dict) else None
            if not isinstance(full_name, str) or "/" not in full_name:
                raise self._odd_answer(doing, ValueError("no repository in the answer"))
            self._repository = repository
        return self._repository

    def _call(self, action: Callable[[], T], doing: str) -> T:
        """Run one API call; every failure becomes a one-line, token-free UserError.

        A forge can answer anything (a redirect elsewhere, an HTML page, broken JSON), and
        PyGithub then fails in ways of its own (RuntimeError, AssertionError, ValueError,
        TypeError...): each is an odd answer, reported as one line."""
        import github
        import requests

        try:
            return action()
        except UserError:
            raise
        except github.GithubException as exc:
            raise UserError("github", f"{doing}: {self._describe(exc)}") from None
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(doing, exc) from None
        except Exception as exc:  # any other failure is the forge's answer
            raise self._odd_answer(doing, exc) from None

    def _odd_answer(self, doing: str, exc: BaseException) -> UserError:
        api = scrub(self.settings.api_url, (self._token,))
        detail = one_line(scrub(str(exc), (self._token,)), 160)
        return UserError("github", f"{doing}: {api} gave an answer that is not GitHub's REST "
                         f"API ({type(exc).__name__}: {detail}); check --github-api-url")

    def _unreachable(self, doing: str, exc: BaseException) -> UserError:
        api = scrub(self.settings.api_url, (self._token,))
        return UserError("github", f"{doing}: cannot reach {api} ({type(exc).__name__})")

    def _describe(self, exc: GithubException) -> str:
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or "").strip()
        errors = data.get("errors")
        details = [
            str(e.get("message") or e.get("code"))
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict)
        ]
        # The server's words may echo anything, the token too: scrubbed, and one line.
        text = one_line(scrub("; ".join(x for x in [message, *details] if x), (self._token,)),
                        300) or "no message"
        if exc.status == 401:
            return f"the token in ${self.settings.token_env} was rejected (401 {text})"
        if exc.status == 404:
            return f"{self.slug} not found, or the token cannot see it (404)"
        return scrub(f"{exc.status} {text}", (self._token,))

    # -- Publisher protocol ------------------------------------------------------------------

    def preflight(self) -> None:
        self._api()

    def _open_pull(self, branch: str, base: str) -> PullRequest | None:
        owner = self.slug.split("/")[0]
        pulls = self._call(
            lambda: list(self._api().get_pulls(state="open", head=f"{owner}:{branch}", base=base)),
            f"listing pull requests for {branch}",
        )
        return pulls[0] if pulls else None

    def _pull_url(self, pull: PullRequest) -> str:
        """The pull request's web address (reading it may call the API), credential-free."""
        url = self._call(lambda: pull.html_url, "reading the pull request")
        if not isinstance(url, str):
            raise UserError("github", "the pull request came back without its address")
        return self.remote.clean(url)

    def existing_pull_request(self, branch: str, base: str) -> str | None:
        pull = self._open_pull(branch, base)
        return None if pull is None else self._pull_url(pull)

    def open_missing_pull_request(
        self, branch: str, base: str, commit: str, pr: PullRequestDraft
    ) -> Publication:
        """Open the pull request unless the branch ever had one: an open one is reused, and
        a closed one means a reviewer said no, which a re-run must not overrule."""
        owner = self.slug.split("/")[0]
        pulls = self._call(
            lambda: list(self._api().get_pulls(state="all", head=f"{owner}:{branch}", base=base)),
            f"listing pull requests for {branch}",
        )
        states = self._call(lambda: [p.state for p in pulls], "reading pull request states")
        opened = [p for p, state in zip(pulls, states, strict=True) if state == "open"]
        if pulls and not opened:
            return Publication(commit=commit)
        return self._ensure_pull(branch, base, commit, pr, opened[0] if opened else None)

    def publish(
        self,
        repo: git.Repo,
        branch: str,
        base: str,
        commit: str,
        expected: str | None,
        pr: PullRequestDraft,
    ) -> Publication:
        self.preflight()
        existing = self._open_pull(branch, base)
        push_branch(repo, self.remote, branch, commit, expected)
        try:
            publication = self._ensure_pull(branch, base, commit, pr, existing)
        except UserError as exc:
            restored = restore_branch(repo, self.remote, branch, commit, expected)
            state = (
                "the push was undone"
                if restored
                else "the pushed branch could not be undone; delete or reset it by hand"
            )
            raise UserError(exc.field, f"{exc.rule}; {state}") from None
        if existing is not None:
            publication.warnings += self._retitle(existing, pr)
        return publication

    def _retitle(self, pull: PullRequest, pr: PullRequestDraft) -> list[str]:
        """Give an open pull request whose branch this push replaced this run's title and
        body: the text someone else wrote (or an earlier run's) describes commits that are
        gone and checks that did not run on this one. A failure is a warning: the push
        stands, and undoing it would bring back what it replaced."""
        try:
            current = (pull.title, pull.body)
            if current != (pr.title, pr.body):
                pull.edit(title=pr.title, body=pr.body)
        except Exception as exc:
            detail = one_line(scrub(str(exc), (self._token,)), 160)
            return [f"the pull request's title and body were not replaced by this run's "
                    f"({type(exc).__name__}: {detail}); they may describe an earlier branch"]
        return []

    def _ensure_pull(
        self,
        branch: str,
        base: str,
        commit: str,
        pr: PullRequestDraft,
        existing: PullRequest | None,
    ) -> Publication:
        publication = Publication(commit=commit)
        pull = existing  # the push updated an open PR; publish() gives it this run's text
        if pull is None:
            pull, publication.pull_request_created = self._create_pull(branch, base, pr)
        if publication.pull_request_created and pr.labels:
            try:
                pull.add_to_labels(*pr.labels)
            except Exception as exc:  # labels are cosmetic: never undo a PR for them
                publication.warnings.append(
                    f"labels not added to #{pull.number}: {type(exc).__name__}"
                )
        publication.pull_request = self._pull_url(pull)
        return publication

    def _create_pull(
        self, branch: str, base: str, pr: PullRequestDraft
    ) -> tuple[PullRequest, bool]:
        """Open the PR; when GitHub says one already exists (a concurrent run won), use it."""
        import github
        import requests

        doing = "opening the pull request"
        fault_point("before-pr-create")
        try:
            pull = self._api().create_pull(
                title=pr.title, body=pr.body, base=base, head=branch, draft=pr.draft
            )
            return pull, True
        except github.GithubException as exc:
            if exc.status == 422 and "already exists" in str(exc.data):
                pull = self._open_pull(branch, base)
                if pull is not None:
                    return pull, False
            raise UserError("github", f"{doing}: {self._describe(exc)}") from None
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(doing, exc) from None
        except UserError:
            raise
        except Exception as exc:  # an odd answer from the forge, as in _call
            raise self._odd_answer(doing, exc) from None


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
