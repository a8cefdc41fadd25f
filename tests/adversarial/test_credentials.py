"""Credentials go only where they are meant, and odd forge answers are one line.

- git's credential helper answers only for the scheme and host[:port] of ``--repo``;
- git follows no redirect, so a redirecting host cannot pass the token on;
- the GitHub API client talks to the ``--github-api-url`` host only, whatever URLs the
  answers contain;
- a redirect, an HTML page or broken JSON from the API is one line, not a traceback;
- messages are scrubbed of every form a credential takes in a URL or a header.

Tokens are built at run time (never a token-shaped literal in the repository).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hostile import assert_refused, run_cli

from inference_scaffolder.errors import UserError
from inference_scaffolder.publish import (
    GitHubPublisher,
    GitHubSettings,
    GitRemote,
    git_token_env,
    remote_heads,
    scrub,
)

pytestmark = pytest.mark.slow


def make_token() -> str:
    return "gh" + "p_" + secrets.token_hex(18)


# --- a scripted HTTP server -----------------------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


class Recorder:
    """One loopback server whose answers a test scripts; it records every request's
    (host, path, Authorization header)."""

    def __init__(self, answer: Callable[[str, str], Answer]) -> None:
        self.answer = answer
        self.seen: list[tuple[str, str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                target = urlsplit(self.path)  # absolute when the client sent it to a proxy
                host = target.netloc or self.headers.get("Host", "")
                path = target.path if target.netloc else self.path.split("?")[0]
                recorder.seen.append((host, path, self.headers.get("Authorization", "")))
                status, headers, body = recorder.answer(host, path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _any

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers() -> Iterator[list[Recorder]]:
    started: list[Recorder] = []
    yield started
    for server in started:
        server.stop()


def serve(servers: list[Recorder], answer: Callable[[str, str], Answer]) -> Recorder:
    server = Recorder(answer)
    servers.append(server)
    return server


# --- git: the credential helper and redirects ---------------------------------------------------


def credential_fill(env: dict[str, str], protocol: str, host: str) -> str:
    """What git's credential machinery answers for (protocol, host) with ``env``."""
    done = subprocess.run(
        ["git", "credential", "fill"], input=f"protocol={protocol}\nhost={host}\n\n",
        capture_output=True, text=True, timeout=30,
        env={**os.environ, **env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "",
             "SSH_ASKPASS": ""},
    )
    return done.stdout


@pytest.mark.parametrize(
    ("protocol", "host", "answers"),
    [("https", "ghe.example.com", True),
     ("https", "evil.example.com", False),
     ("https", "ghe.example.com.evil.example", False),
     ("https", "ghe.example.com:8443", False),
     ("http", "ghe.example.com", False)],
)
def test_the_credential_helper_answers_only_for_the_repository_host(
    protocol: str, host: str, answers: bool
) -> None:
    token = make_token()
    env = git_token_env(token, "https://ghe.example.com/platform/types.git")
    assert (f"password={token}" in credential_fill(env, protocol, host)) is answers


def test_the_credential_helper_keeps_the_port(tmp_path: Path) -> None:
    token = make_token()
    env = git_token_env(token, "http://127.0.0.1:8080/git/o/r.git")
    assert f"password={token}" in credential_fill(env, "http", "127.0.0.1:8080")
    assert f"password={token}" not in credential_fill(env, "http", "127.0.0.1:9090")
    assert f"password={token}" not in credential_fill(
        git_token_env(token, "/srv/git/r.git"), "https", "")


def test_git_follows_no_redirect_to_another_host(
    servers: list[Recorder], tmp_path: Path
) -> None:
    """The --repo host redirects to another host, which asks for credentials: before, git
    followed the redirect and the helper gave the token to the other host."""
    token = make_token()

    def elsewhere(host: str, path: str) -> Answer:
        return 401, {"WWW-Authenticate": 'Basic realm="x"'}, b""

    other = serve(servers, elsewhere)
    other_host = other.url.replace("127.0.0.1", "localhost")

    def redirect(host: str, path: str) -> Answer:
        return 301, {"Location": f"{other_host}{path}"}, b""

    origin = serve(servers, redirect)
    url = f"{origin.url}/git/platform/types.git"
    remote = GitRemote(url, git_token_env(token, url), (token,))
    with pytest.raises(UserError) as refused:
        remote_heads(remote, tmp_path, "main")
    assert "redirect" in refused.value.rule
    assert "\n" not in str(refused.value)
    assert token not in str(refused.value)
    assert all(not auth for _, _, auth in other.seen), other.seen
    leaked = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert all(leaked not in auth for _, _, auth in origin.seen + other.seen)


# --- the GitHub API client ----------------------------------------------------------------------


def publisher_for(api_url: str, token: str, slug: str = "platform/types") -> GitHubPublisher:
    settings = GitHubSettings(api_url=api_url, repository=slug, timeout=5,
                              seconds_between_requests=0, seconds_between_writes=0)
    return GitHubPublisher("https://ghe.example.test/platform/types.git", settings,
                           {"GITHUB_TOKEN": token})


def repo_json(api: str, slug: str, url: str | None = None) -> bytes:
    owner, name = slug.split("/")
    return json.dumps({"id": 1, "name": name, "full_name": slug, "owner": {"login": owner},
                       "url": url or f"{api}/repos/{slug}",
                       "html_url": f"{api}/{slug}"}).encode()


def test_the_api_client_keeps_the_token_on_the_api_host(
    servers: list[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paginated answer whose next page is on another host of the same domain (here
    evil.ghe.test, for the API at api.ghe.test) must not get the token: the listing stops
    with one line. Both names resolve to the loopback recorder (name resolution is patched
    for this process), which notes the host each request was for."""
    token = make_token()
    real_getaddrinfo = socket.getaddrinfo

    def loopback(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and host.endswith(".ghe.test"):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback)
    holder: dict[str, int] = {}

    def answer(host: str, path: str) -> Answer:
        json_type = {"Content-Type": "application/json"}
        api = f"http://api.ghe.test:{holder['port']}/api/v3"
        if path == "/api/v3/repos/platform/types":
            return 200, json_type, repo_json(api, "platform/types")
        if path == "/api/v3/repos/platform/types/pulls" and host.startswith("api."):
            pull = {"number": 1, "state": "open", "html_url": "http://ghe.test/pull/1",
                    "url": f"{api}/repos/platform/types/pulls/1"}
            next_page = (f"http://evil.ghe.test:{holder['port']}"
                         "/api/v3/repos/platform/types/pulls?page=2")
            return 200, {**json_type, "Link": f'<{next_page}>; rel="next"'}, json.dumps(
                [pull]).encode()
        return 200, json_type, b"[]"

    recorder = serve(servers, answer)
    holder["port"] = recorder.server.server_address[1]
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    publisher = publisher_for(f"http://api.ghe.test:{holder['port']}/api/v3", token)
    with pytest.raises(UserError) as refused:
        publisher.existing_pull_request("inference-scaffolder/x", "main")
    assert "\n" not in str(refused.value) and token not in str(refused.value)
    hosts = {host.partition(":")[0] for host, _, _ in recorder.seen}
    assert hosts == {"api.ghe.test"}, recorder.seen


ODD_ANSWERS: dict[str, Answer] = {
    "html-page": (200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"),
    "broken-json": (200, {"Content-Type": "application/json"}, b'{"id": 1, "name": '),
    "json-list": (200, {"Content-Type": "application/json"}, b"[1, 2, 3]"),
    "json-string": (200, {"Content-Type": "application/json"}, b'"hello"'),
    "redirect-elsewhere": (301, {"Location": "http://localhost:9/api/v3/repos/platform/types"},
                           b""),
    "found-elsewhere": (302, {"Location": "http://localhost:9/login"}, b""),
    "server-error-html": (502, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"),
    "empty-200": (200, {}, b""),
}


@pytest.mark.parametrize("kind", list(ODD_ANSWERS))
def test_odd_api_answers_are_one_line(servers: list[Recorder], kind: str) -> None:
    token = make_token()
    odd = serve(servers, lambda host, path: ODD_ANSWERS[kind])
    publisher = publisher_for(f"{odd.url}/api/v3", token)
    with pytest.raises(UserError) as refused:
        publisher.preflight()
        publisher.existing_pull_request("inference-scaffolder/x", "main")
        publisher.open_missing_pull_request("inference-scaffolder/x", "main", "0" * 40,
                                            _draft())
    message = str(refused.value)
    assert "\n" not in message and token not in message
    assert refused.value.field == "github"


def test_an_answer_past_the_bound_is_one_line_not_read_to_the_end(
        servers: list[Recorder]) -> None:
    """A forge (or what stands at its address) answering without end must not fill memory:
    the client stops reading at its bound."""
    token = make_token()
    huge = json.dumps({"id": 1, "name": "types", "full_name": "platform/types",
                       "description": "x" * (9 << 20)}).encode()
    server = serve(servers, lambda host, path: (200, {"Content-Type": "application/json"}, huge))
    with pytest.raises(UserError) as refused:
        publisher_for(f"{server.url}/api/v3", token).preflight()
    message = str(refused.value)
    assert "larger than 8 MiB" in message and "\n" not in message and token not in message


def _draft():  # the publish module's draft type, kept local to the one test that needs it
    from inference_scaffolder.publish import PullRequestDraft

    return PullRequestDraft("t", "b")


@pytest.mark.node
def test_schema_pr_with_an_html_api_is_one_line(servers: list[Recorder], tmp_path: Path) -> None:
    """End to end: the CLI prints one line and exits 2."""
    token = make_token()
    odd = serve(servers, lambda host, path: ODD_ANSWERS["html-page"])
    done = run_cli("schema-pr", "--repo", str(tmp_path), "--publisher", "github",
                   "--github-api-url", f"{odd.url}/api/v3", "--github-repo", "platform/types",
                   tmp=tmp_path / "tmp", env={"GITHUB_TOKEN": token})
    assert_refused(done, "github")
    assert token not in done.stderr + done.stdout


@pytest.mark.parametrize("slug", ["platform/..", "platform/.", "../types", "./types"])
def test_dot_segments_are_no_repository(slug: str) -> None:
    with pytest.raises(UserError) as refused:
        publisher_for("https://ghe.example.test/api/v3", make_token(), slug)
    assert refused.value.field == "--github-repo"


# --- masking in messages ------------------------------------------------------------------------


def test_scrub_masks_every_form_a_credential_takes() -> None:
    token = make_token()
    password = "p@ss word:" + secrets.token_hex(4)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    texts = [
        f"fatal: unable to access 'https://bot:{password}@ghe.example.com/x.git/': 403",
        f"GET https://ghe.example.com/api?access_token={secrets.token_hex(8)}&page=2",
        f"see https://example.com/download?X-Amz-Signature={secrets.token_hex(8)}",
        f"Authorization: Basic {basic}",
        f"Authorization: token {token}",
        f"remote: your url was https://ghe.example.com/x?token={quote(token)}",
        f"echoed back: {token}",
    ]
    hidden = [password, password.split("@")[1], token, basic, quote(token)]
    for text in texts:
        cleaned = scrub(text, (token,))
        for secret in hidden:
            assert secret not in cleaned, (text, cleaned)
        assert "***" in cleaned
    assert scrub("https://ghe.example.com/platform/types.git") == (
        "https://ghe.example.com/platform/types.git")
