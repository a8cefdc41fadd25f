"""A loopback stand-in for the part of GitHub that ``schema-pr --publisher github`` talks to.

One HTTP server on 127.0.0.1 serves

- the REST subset the github publisher calls (``GET /repos/{o}/{r}``,
  ``GET|POST /repos/{o}/{r}/pulls``, ``PATCH /repos/{o}/{r}/pulls/{n}``,
  ``POST /repos/{o}/{r}/issues/{n}/labels``) under an
  API prefix (``/api/v3``, as on GitHub Enterprise), with GitHub's error bodies for 401, 404
  and 422 (including "A pull request already exists for ..."), and
- git's smart HTTP protocol for the same repositories under ``/git/{o}/{r}.git`` through the
  real ``git http-backend``, with HTTP Basic authentication checked against the token.

Pull requests are validated against the real bare repositories on disk (the head branch must
exist and differ from the base), so a test sees exactly what a push left behind.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/api/v3"
GIT_PREFIX = "/git"


@dataclass
class FakePull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool
    state: str = "open"
    labels: list[str] = field(default_factory=list)


@dataclass
class FakeGitHub:
    """State of the fake: repositories (owner/name -> bare repo), pull requests, knobs."""

    git_root: Path
    token: str
    repos: dict[str, Path] = field(default_factory=dict)
    pulls: dict[str, list[FakePull]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    # Knobs for failure cases
    race_on_create: bool = False  # another client opens the PR just before ours (-> 422)
    fail_create_with: tuple[int, dict] | None = None
    fail_labels_with: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    def git_url(self, slug: str) -> str:
        return f"{self.base_url}{GIT_PREFIX}/{slug}.git"

    def add_repo(self, slug: str, bare: Path) -> None:
        """Serve ``bare`` as ``slug``; it must live at ``git_root/<slug>.git``."""
        assert bare.resolve() == (self.git_root / f"{slug}.git").resolve(), bare
        self.repos[slug] = bare
        self.pulls.setdefault(slug, [])

    def open_pulls(self, slug: str) -> list[FakePull]:
        return [p for p in self.pulls.get(slug, []) if p.state == "open"]

    # -- git facts ---------------------------------------------------------------------------

    def branch_sha(self, slug: str, branch: str) -> str | None:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.repos[slug],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() or None

    # -- JSON documents in GitHub's shape ---------------------------------------------------

    def repo_json(self, slug: str) -> dict:
        owner, name = slug.split("/")
        return {
            "id": abs(hash(slug)) % 10**6,
            "name": name,
            "full_name": slug,
            "owner": {"login": owner, "type": "Organization"},
            "private": True,
            "url": f"{self.api_url}/repos/{slug}",
            "html_url": f"{self.base_url}/{slug}",
            "default_branch": "main",
        }

    def pull_json(self, slug: str, pull: FakePull) -> dict:
        owner = slug.split("/")[0]
        api = f"{self.api_url}/repos/{slug}"
        return {
            "id": 1000 + pull.number,
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "draft": pull.draft,
            "url": f"{api}/pulls/{pull.number}",
            "issue_url": f"{api}/issues/{pull.number}",
            "html_url": f"{self.base_url}/{slug}/pull/{pull.number}",
            "head": {
                "ref": pull.head,
                "label": f"{owner}:{pull.head}",
                "sha": self.branch_sha(slug, pull.head),
            },
            "base": {"ref": pull.base, "label": f"{owner}:{pull.base}"},
            "labels": [{"name": n} for n in pull.labels],
        }


@contextmanager
def serving(git_root: Path, slug: str, bare: Path, token: str) -> Iterator[FakeGitHub]:
    """A started fake that serves ``bare`` (a bare repository under ``git_root``) as
    ``slug`` and takes ``token``; stopped on exit."""
    fake = FakeGitHub(git_root, token=token).start()
    try:
        fake.add_repo(slug, bare)
        yield fake
    finally:
        fake.stop()


def _error(message: str, errors: list[dict] | None = None) -> dict:
    body: dict = {"message": message, "documentation_url": "https://docs.github.com/rest"}
    if errors:
        body["errors"] = errors
    return body


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    # -- plumbing ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: object) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _route(self, method: str) -> None:
        body = self._read_body()
        path = urlsplit(self.path).path
        with self.fake._lock:
            self.fake.requests.append((method, path))
        if path.startswith(GIT_PREFIX + "/"):
            self._git(method, body)
        elif path.startswith(API_PREFIX + "/"):
            self._api(method, path[len(API_PREFIX) :], body)
        else:
            self._json(404, _error("Not Found"))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    # -- REST API ---------------------------------------------------------------------------

    def _api(self, method: str, path: str, body: bytes) -> None:
        auth = self.headers.get("Authorization", "")
        self.fake.authorizations.append(auth.split(" ")[0] if auth else "")
        if auth not in (f"token {self.fake.token}", f"Bearer {self.fake.token}"):
            self._json(401, _error("Bad credentials"))
            return
        match = re.match(r"^/repos/([^/]+/[^/]+)(/.*)?$", path)
        if not match or match.group(1) not in self.fake.repos:
            self._json(404, _error("Not Found"))
            return
        slug, rest = match.group(1), match.group(2) or ""
        payload = json.loads(body or b"{}")  # a dict, or a list for label additions
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with self.fake._lock:
            status, data = self._api_call(method, slug, rest, payload, query)
        self._json(status, data)

    def _api_call(self, method: str, slug: str, rest: str, payload: dict, query: dict):
        fake = self.fake
        if method == "GET" and rest == "":
            return 200, fake.repo_json(slug)
        if method == "GET" and rest == "/pulls":
            return 200, [fake.pull_json(slug, p) for p in self._list_pulls(slug, query)]
        if method == "POST" and rest == "/pulls":
            return self._create_pull(slug, payload)
        number = re.match(r"^/(pulls|issues)/(\d+)(/labels)?$", rest)
        pull = self._find(slug, int(number.group(2))) if number else None
        if pull is None:
            return 404, _error("Not Found")
        if method == "GET" and number.group(1) == "pulls" and not number.group(3):
            return 200, fake.pull_json(slug, pull)
        if method == "PATCH" and number.group(1) == "pulls" and not number.group(3):
            pull.title = payload.get("title", pull.title)
            pull.body = payload.get("body", pull.body)
            return 200, fake.pull_json(slug, pull)
        if method == "POST" and number.group(1) == "issues" and number.group(3):
            if fake.fail_labels_with:
                return fake.fail_labels_with, _error("Resource not accessible by integration")
            names = payload if isinstance(payload, list) else payload.get("labels", [])
            for name in names:
                if name not in pull.labels:
                    pull.labels.append(name)
            return 200, [{"name": n, "color": "ededed"} for n in pull.labels]
        return 404, _error("Not Found")

    def _find(self, slug: str, number: int) -> FakePull | None:
        return next((p for p in self.fake.pulls[slug] if p.number == number), None)

    def _list_pulls(self, slug: str, query: dict) -> list[FakePull]:
        owner = slug.split("/")[0]
        result = []
        for pull in self.fake.pulls[slug]:
            if query.get("state", "open") not in ("all", pull.state):
                continue
            if "head" in query and query["head"] != f"{owner}:{pull.head}":
                continue
            if "base" in query and query["base"] != pull.base:
                continue
            result.append(pull)
        return result

    def _create_pull(self, slug: str, payload: dict):
        fake = self.fake
        head, base = payload.get("head", ""), payload.get("base", "")
        owner = slug.split("/")[0]
        if fake.fail_create_with is not None:
            return fake.fail_create_with
        invalid = [
            {"resource": "PullRequest", "field": name, "code": "invalid"}
            for name, ref in (("head", head), ("base", base))
            if fake.branch_sha(slug, ref) is None
        ]
        if invalid:
            return 422, _error("Validation Failed", invalid)
        if fake.race_on_create:
            fake.race_on_create = False
            self._add_pull(slug, head, base, "opened by a concurrent run", "", False)
        if any(p.head == head and p.base == base for p in fake.open_pulls(slug)):
            return 422, _error(
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {owner}:{head}.",
                    }
                ],
            )
        if fake.branch_sha(slug, head) == fake.branch_sha(slug, base):
            return 422, _error(
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base} and {head}",
                    }
                ],
            )
        pull = self._add_pull(
            slug,
            head,
            base,
            payload.get("title", ""),
            payload.get("body") or "",
            bool(payload.get("draft", False)),
        )
        return 201, fake.pull_json(slug, pull)

    def _add_pull(
        self, slug: str, head: str, base: str, title: str, body: str, draft: bool
    ) -> FakePull:
        pull = FakePull(len(self.fake.pulls[slug]) + 1, head, base, title, body, draft)
        self.fake.pulls[slug].append(pull)
        return pull

    # -- git smart HTTP through the real git http-backend -----------------------------------

    def _git(self, method: str, body: bytes) -> None:
        if not self._git_authorized():
            self._send(
                401, b"Authentication required\n", {"WWW-Authenticate": 'Basic realm="fake-github"'}
            )
            return
        split = urlsplit(self.path)
        env = {
            "GIT_PROJECT_ROOT": str(self.fake.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": split.path[len(GIT_PREFIX) :],
            "QUERY_STRING": split.query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        for header in ("Git-Protocol", "Content-Encoding"):
            if self.headers.get(header):
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _ and b"\n\n" in proc.stdout:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        self._send(status, payload, headers)

    def _git_authorized(self) -> bool:
        import base64

        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        user_pass = base64.b64decode(auth[len("Basic ") :]).decode()
        return user_pass.partition(":")[2] == self.fake.token
