"""The github publisher: push, then find or open the pull request through the GitHub REST
API (github.com or GitHub Enterprise), with a token read from an environment variable.

The API is reached through :class:`GitHubApi`, a small client over httpx that makes the five
calls the publisher needs (read the repository, list, open and edit pull requests, add
labels) and keeps the token where it belongs:

- every request goes to the scheme, host and port of ``--github-api-url`` and nowhere else:
  paths are built here, and the one URL taken from an answer (the next page of a listing)
  is followed only when it is on that same origin;
- no redirect is followed (a redirect would be the way to another host);
- an answer is read up to a bound (:data:`MAX_ANSWER_BYTES`), and one that is not what the
  API documents (an HTML page, broken or oddly shaped JSON) is one line, like any failure.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from inference_scaffolder.errors import UserError
from inference_scaffolder.faults import fault_point
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.publish import remote
from inference_scaffolder.publish.publishers import Publication, PullRequestDraft
from inference_scaffolder.publish.remote import GitRemote, restore_branch
from inference_scaffolder.publish.secrets import git_token_env, one_line, scrub

DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_TOKEN_ENV = "GITHUB_TOKEN"
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_PAGES = 10
T = TypeVar("T")
# GET requests are retried on these (a proxy or load balancer between deploys).
_RETRIED_STATUSES = (502, 503, 504)
_RETRIES = 3


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


@dataclass(frozen=True)
class PullRequest:
    """The fields of a pull request the publisher reads."""

    number: int
    state: str
    html_url: str
    title: str
    body: str

    @classmethod
    def from_json(cls, data: object) -> PullRequest:
        """A pull request from the API's JSON; ValueError when the answer is not one."""
        if not isinstance(data, dict):
            raise ValueError("a pull request is not a JSON object")
        number, state, url = data.get("number"), data.get("state"), data.get("html_url")
        if not isinstance(number, int) or not isinstance(state, str) or not isinstance(url, str):
            raise ValueError("a pull request without number, state or html_url")
        return cls(number, state, url, str(data.get("title") or ""), str(data.get("body") or ""))


class ApiError(Exception):
    """The API answered with an error status (its JSON message, when it gave one)."""

    def __init__(self, status: int, message: str, text: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.text = text  # the whole answer, to recognise GitHub's known refusals


class _Redirected(Exception):
    """The API answered with a redirect, which is not followed."""


class _OtherOrigin(Exception):
    """An answer pointed the client at another scheme, host or port."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _next_page(link_header: str) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 Link header (GitHub's pagination)."""
    for part in link_header.split(","):
        match = re.match(r'\s*<([^>]*)>\s*;(.*)$', part)
        if match and re.search(r'\brel="?next"?', match.group(2)):
            return match.group(1)
    return None


def _error_message(data: object) -> str:
    """GitHub's error text: ``message`` and each ``errors[].message`` (or code)."""
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors")
    details = [str(e.get("message") or e.get("code")) for e in
               (errors if isinstance(errors, list) else []) if isinstance(e, dict)]
    return "; ".join(x for x in [str(data.get("message") or "").strip(), *details] if x)


class GitHubApi:
    """The GitHub REST API at ``api_url``, authenticated with ``token`` (see the module
    docstring for where the token may go)."""

    def __init__(self, settings: GitHubSettings, token: str) -> None:
        import httpx  # only the github publisher needs it

        self._httpx = httpx
        self._base = settings.api_url.rstrip("/")
        self._origin = _origin(self._base)
        self._token = token
        self._settings = settings
        self._last_request = 0.0
        self._client = httpx.Client(
            timeout=settings.timeout, follow_redirects=False,
            headers={"Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28",
                     "User-Agent": "inference-scaffolder"})

    def get(self, path: str, params: Mapping[str, str] | None = None) -> object:
        return self._json("GET", f"{self._base}{path}", params=params)

    def get_all(self, path: str, params: Mapping[str, str]) -> list[object]:
        """Every page of a listing (up to :data:`MAX_PAGES`), staying on the API's origin."""
        items: list[object] = []
        url: str | None = f"{self._base}{path}"
        query: Mapping[str, str] | None = {**params, "per_page": "100"}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            data, headers = self._request("GET", url, params=query)
            if not isinstance(data, list):
                raise ValueError("a listing that is not a JSON array")
            items.extend(data)
            following = _next_page(headers.get("link", ""))
            url, query = (urljoin(url, following) if following else None), None
        return items

    def post(self, path: str, body: object) -> object:
        return self._json("POST", f"{self._base}{path}", body=body)

    def patch(self, path: str, body: object) -> object:
        return self._json("PATCH", f"{self._base}{path}", body=body)

    def _json(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
              body: object = None) -> object:
        return self._request(method, url, params=params, body=body)[0]

    def _request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                 body: object = None) -> tuple[object, Mapping[str, str]]:
        """One call (GETs retried on a gateway error); the decoded JSON and the headers."""
        if _origin(url) != self._origin:
            raise _OtherOrigin(url)
        for attempt in range(_RETRIES + 1):
            self._space_out(method)
            status, headers, raw = self._send(method, url, params, body)
            if method != "GET" or status not in _RETRIED_STATUSES or attempt == _RETRIES:
                break
            time.sleep(0.5 * 2**attempt)
        if 300 <= status < 400:
            raise _Redirected(f"HTTP {status}")
        if status >= 400:
            message = _error_message(_lenient_json(raw)) or _phrase(status)
            raise ApiError(status, message, raw.decode("utf-8", "replace"))
        return json.loads(raw), headers

    def _send(self, method: str, url: str, params: Mapping[str, str] | None,
              body: object) -> tuple[int, Mapping[str, str], bytes]:
        """The request with the token (the origin is checked), the answer read to its bound."""
        headers = {"Authorization": f"token {self._token}"}
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        with self._client.stream(method, url, params=params, content=content,
                                 headers=headers) as answer:
            raw = bytearray()
            for chunk in answer.iter_bytes():
                raw += chunk
                if len(raw) > MAX_ANSWER_BYTES:
                    raise ValueError(f"an answer larger than {MAX_ANSWER_BYTES >> 20} MiB")
            return answer.status_code, answer.headers, bytes(_json_or_error(answer, raw))

    def _space_out(self, method: str) -> None:
        """Wait the gap GitHub asks integrators to leave between requests (longer for
        writes)."""
        gap = (self._settings.seconds_between_writes if method != "GET"
               else self._settings.seconds_between_requests)
        wait = self._last_request + gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()

    @property
    def transport_errors(self) -> tuple[type[Exception], ...]:
        return (self._httpx.TransportError, OSError)


def _lenient_json(raw: bytes) -> object:
    """The JSON of an error answer, or None (a proxy's HTML error page)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "no message"


def _json_or_error(answer: Any, raw: bytearray) -> bytearray:
    """The answer's bytes; a success that is not JSON (an HTML sign-in page) is refused."""
    kind = answer.headers.get("content-type", "")
    if answer.status_code < 300 and raw.strip() and "json" not in kind.lower():
        raise ValueError(f"a {kind or 'typeless'} answer where JSON was expected")
    return raw


class GitHubPublisher:
    """Push, then find or open the pull request through the GitHub REST API."""

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
        self._client: GitHubApi | None = None
        self._checked = False

    # -- API plumbing ------------------------------------------------------------------------

    def _api(self) -> GitHubApi:
        """The client, once the API has answered that the repository exists (an HTML page
        or an empty answer must not pass for one before anything is pushed)."""
        if not self._checked:
            doing = f"reading repository {self.slug}"
            data = self._call(lambda api: api.get(f"/repos/{self.slug}"), doing)
            full_name = data.get("full_name") if isinstance(data, dict) else None
            if not isinstance(full_name, str) or "/" not in full_name:
                raise self._odd_answer(doing, ValueError("no repository in the answer"))
            self._checked = True
        return self._connection()

    def _connection(self) -> GitHubApi:
        if self._client is None:
            self._client = GitHubApi(self.settings, self._token)
        return self._client

    def _call(self, action: Callable[[GitHubApi], T], doing: str) -> T:
        """Run one API call; every failure becomes a one-line, token-free UserError."""
        api = self._connection()
        try:
            return action(api)
        except UserError:
            raise
        except ApiError as exc:
            raise UserError("github", f"{doing}: {self._describe(exc)}") from None
        except _Redirected as exc:
            raise UserError("github", f"{doing}: {self._api_shown()} answered with a redirect "
                            f"({exc}), which is not followed (it could carry the token to "
                            "another host); check --github-api-url") from None
        except _OtherOrigin:
            raise UserError("github", f"{doing}: an answer pointed at a host other than "
                            f"{self._api_shown()}'s; not followed") from None
        except api.transport_errors as exc:
            raise self._unreachable(doing, exc) from None
        except Exception as exc:  # any other failure is the forge's answer
            raise self._odd_answer(doing, exc) from None

    def _api_shown(self) -> str:
        return scrub(self.settings.api_url, (self._token,))

    def _odd_answer(self, doing: str, exc: BaseException) -> UserError:
        detail = one_line(scrub(str(exc), (self._token,)), 160)
        return UserError("github", f"{doing}: {self._api_shown()} gave an answer that is not "
                         f"GitHub's REST API ({type(exc).__name__}: {detail}); check "
                         "--github-api-url")

    def _unreachable(self, doing: str, exc: BaseException) -> UserError:
        return UserError("github", f"{doing}: cannot reach {self._api_shown()} "
                         f"({type(exc).__name__})")

    def _describe(self, exc: ApiError) -> str:
        # The server's words may echo anything, the token too: scrubbed, and one line.
        text = one_line(scrub(exc.message, (self._token,)), 300) or "no message"
        if exc.status == 401:
            return f"the token in ${self.settings.token_env} was rejected (401 {text})"
        if exc.status == 404:
            return f"{self.slug} not found, or the token cannot see it (404)"
        return f"{exc.status} {text}"

    def _pulls(self, branch: str, base: str, state: str) -> list[PullRequest]:
        owner = self.slug.split("/")[0]
        query = {"state": state, "head": f"{owner}:{branch}", "base": base}
        return self._call(
            lambda api: [PullRequest.from_json(p) for p in
                         self._api().get_all(f"/repos/{self.slug}/pulls", query)],
            f"listing pull requests for {branch}")

    # -- Publisher protocol ------------------------------------------------------------------

    def preflight(self) -> None:
        self._call(lambda api: self._api(), f"reading repository {self.slug}")

    def _open_pull(self, branch: str, base: str) -> PullRequest | None:
        pulls = self._pulls(branch, base, "open")
        return pulls[0] if pulls else None

    def _pull_url(self, pull: PullRequest) -> str:
        """The pull request's web address, credential-free."""
        return self.remote.clean(pull.html_url)

    def existing_pull_request(self, branch: str, base: str) -> str | None:
        pull = self._open_pull(branch, base)
        return None if pull is None else self._pull_url(pull)

    def open_missing_pull_request(
        self, branch: str, base: str, commit: str, pr: PullRequestDraft
    ) -> Publication:
        """Open the pull request unless the branch ever had one: an open one is reused, and
        a closed one means a reviewer said no, which a re-run must not overrule."""
        pulls = self._pulls(branch, base, "all")
        opened = [p for p in pulls if p.state == "open"]
        if pulls and not opened:
            return Publication(commit=commit)
        return self._ensure_pull(branch, base, commit, pr, opened[0] if opened else None)

    def publish(
        self,
        repo: Repository,
        branch: str,
        base: str,
        commit: str,
        expected: str | None,
        pr: PullRequestDraft,
    ) -> Publication:
        self.preflight()
        existing = self._open_pull(branch, base)
        remote.push_branch(repo, self.remote, branch, commit, expected)
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
        if (pull.title, pull.body) == (pr.title, pr.body):
            return []
        try:
            self._call(lambda api: api.patch(f"/repos/{self.slug}/pulls/{pull.number}",
                                             {"title": pr.title, "body": pr.body}),
                       f"editing pull request #{pull.number}")
        except UserError as exc:
            return [f"the pull request's title and body were not replaced by this run's "
                    f"({exc.rule}); they may describe an earlier branch"]
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
            try:  # labels are cosmetic: never undo a PR for them
                self._call(lambda api: api.post(f"/repos/{self.slug}/issues/{pull.number}/labels",
                                                {"labels": list(pr.labels)}),
                           f"labelling #{pull.number}")
            except UserError as exc:
                publication.warnings.append(f"labels not added to #{pull.number}: {exc.rule}")
        publication.pull_request = self._pull_url(pull)
        return publication

    def _create_pull(
        self, branch: str, base: str, pr: PullRequestDraft
    ) -> tuple[PullRequest, bool]:
        """Open the PR; when GitHub says one already exists (a concurrent run won), use it."""
        doing = "opening the pull request"
        fault_point("before-pr-create")
        request = {"title": pr.title, "body": pr.body, "base": base, "head": branch,
                   "draft": pr.draft}

        def create(api: GitHubApi) -> PullRequest | None:
            try:
                return PullRequest.from_json(self._api().post(f"/repos/{self.slug}/pulls",
                                                              request))
            except ApiError as exc:
                if exc.status == 422 and "already exists" in exc.text:
                    return None
                raise

        created = self._call(create, doing)
        if created is not None:
            return created, True
        pull = self._open_pull(branch, base)
        if pull is None:
            raise UserError("github", f"{doing}: GitHub says one already exists for {branch}, "
                            "but lists no open pull request for it")
        return pull, False
