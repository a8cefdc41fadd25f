"""``verify`` against a server that fights back: each answer ends by a deadline, its size is
bounded before and after decompression, and no redirect is followed.

The servers here are raw HTTP written by hand on 127.0.0.1, because a well-behaved server
library cannot drip a status line or lie about its encoding. A test that could hang runs
the real CLI in a subprocess with a time bound, so the old behaviour fails instead of
hanging the suite.
"""

from __future__ import annotations

import gzip
import json
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hostile import run_cli
from verify_cli import isolate_verify_cli, run_verify

# Far beyond what any of these runs needs: a run that ends at all ends well within it.
BOUND_SECONDS = 90
MODELS = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
CHAT = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
ONE_MIB = 1 << 20

# How a route answers: (method, path, handler, stop) -> None; the handler writes raw bytes.
Behaviour = Callable[[str, str, BaseHTTPRequestHandler, threading.Event], None]


@pytest.fixture(autouse=True)
def _isolated_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_verify_cli(monkeypatch)


def raw(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(data)
    handler.wfile.flush()


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
           headers: tuple[tuple[str, str], ...] = ()) -> None:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v
                                                                      in headers)]
    raw(handler, ("\r\n".join(head) + "\r\n\r\n").encode() + body)


def drip(handler: BaseHTTPRequestHandler, stop: threading.Event, first: bytes = b"") -> None:
    """One byte every 0.2 s until the test ends or the client goes away."""
    raw(handler, first)
    while not stop.is_set():
        raw(handler, b"x")
        stop.wait(0.2)


def healthy_vllm(method: str, path: str, handler: BaseHTTPRequestHandler) -> None:
    """The answers of a well-behaved vLLM server serving ``m`` (chat only)."""
    if (method, path) == ("GET", "/health"):
        answer(handler, 200)
    elif (method, path) == ("GET", "/v1/models"):
        answer(handler, 200, MODELS, (("Content-Type", "application/json"),))
    elif (method, path) == ("POST", "/v1/chat/completions"):
        answer(handler, 200, json.dumps(CHAT).encode(), (("Content-Type", "application/json"),))
    else:
        answer(handler, 404)


def models_answering(body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Behaviour:
    """A healthy vLLM server, except that ``GET /v1/models`` answers 200 with ``body``."""
    def behaviour(method, path, handler, stop):
        if (method, path) == ("GET", "/v1/models"):
            answer(handler, 200, body, headers)
        else:
            healthy_vllm(method, path, handler)
    return behaviour


def refusal_of_models_answer(capsys, body: bytes,
                             headers: tuple[tuple[str, str], ...] = ()) -> list[str]:
    """The error lines of a ``verify`` (exit 1) against :func:`models_answering`."""
    with hostile_server(models_answering(body, headers)) as (url, _seen):
        run = run_verify(capsys, url, "--timeout", "5", "--poll-interval", "0.05")
    assert run.code == 1, run.err
    return error_lines(run.err)


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """``(url, seen)``: a loopback server answering every request with ``behaviour``;
    ``seen`` lists (method, path, Authorization) of every request it got."""
    stop = threading.Event()
    seen: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def handle_one(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append((method, self.path, self.headers.get("Authorization") or ""))
            with suppress(BrokenPipeError, ConnectionResetError):
                behaviour(method, self.path, self, stop)

        def do_GET(self) -> None:
            self.handle_one("GET")

        def do_POST(self) -> None:
            self.handle_one("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def error_lines(text: str) -> list[str]:
    """The problems reported, without the closing ``verification failed (N problems)``."""
    return [line for line in text.splitlines()
            if line.startswith("error: ") and not line.startswith("error: verification failed")]


# --------------------------------------------------------------------------- deadlines


def test_a_server_dripping_its_status_line_is_given_up_at_the_timeout(tmp_path) -> None:
    """Per-read timeouts never fire on one byte every 0.2 s: readiness must still end at
    --timeout, with one line naming the probe."""
    def behaviour(method, path, handler, stop):
        drip(handler, stop, b"HTTP/1.1 200 OK\r\nX-Slow: ")

    with hostile_server(behaviour) as (url, _seen):
        done = run_cli("verify", url, "--timeout", "1", "--request-timeout", "1",
                       "--poll-interval", "0.05", tmp=tmp_path, timeout=BOUND_SECONDS)
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0] == "error: server not ready after 1s: GET /info timed out after 1s", lines[0]


def test_a_server_dripping_a_completion_is_cut_at_the_request_timeout(tmp_path) -> None:
    def behaviour(method, path, handler, stop):
        if method != "POST":
            healthy_vllm(method, path, handler)
        else:
            drip(handler, stop, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{")

    with hostile_server(behaviour) as (url, seen):
        done = run_cli("verify", url, "--timeout", "5", "--request-timeout", "1",
                       "--requests", "3", "--endpoint", "chat", "--poll-interval", "0.05",
                       tmp=tmp_path, timeout=BOUND_SECONDS)
    assert done.returncode == 1, done.stderr
    assert error_lines(done.stderr) == [
        "error: POST /v1/chat/completions timed out after 1s"]
    # No HTTP answer: the endpoint is given up after one try, not hammered three times.
    assert [p for m, p, _ in seen if m == "POST"] == ["/v1/chat/completions"]


# --------------------------------------------------------------------------- sizes


def gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(ONE_MIB)
    return b"".join(packer.compress(block) for _ in range(size // ONE_MIB)) + packer.flush()


def test_a_compressed_answer_is_bounded_after_decompression(capsys) -> None:
    """256 KiB of gzip that expands to 256 MiB: read as a stream, counted as decoded, and
    refused at the bound, so memory stays small."""
    bomb = gzip_of_zeros(256 * ONE_MIB)
    assert len(bomb) < ONE_MIB

    compressed = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    with hostile_server(models_answering(bomb, compressed)) as (url, _seen):
        tracemalloc.start()
        try:
            run = run_verify(capsys, url, "--timeout", "5", "--poll-interval", "0.05")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert run.code == 1, run.err
    assert error_lines(run.err) == [
        "error: GET /v1/models: the answer decompresses to more than 1 MiB (refused)"]
    assert peak < 32 * ONE_MIB, f"peak {peak // ONE_MIB} MiB"


def test_a_plain_answer_larger_than_the_bound_is_refused(capsys) -> None:
    big = b"[" + b"0," * ONE_MIB + b"0]"
    assert refusal_of_models_answer(capsys, big, (("Content-Type", "application/json"),)) == [
        "error: GET /v1/models: the answer is larger than 1 MiB (refused)"]


def test_an_answer_without_length_is_counted_as_it_arrives(capsys) -> None:
    """No Content-Length to refuse up front: the bound holds on the bytes read."""
    def behaviour(method, path, handler, stop):
        if (method, path) == ("POST", "/v1/chat/completions"):
            raw(handler, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            handler.close_connection = True  # the end of the body is the end of the stream
            for _ in range(3 * 64):
                raw(handler, b" " * 16384)
        else:
            healthy_vllm(method, path, handler)

    with hostile_server(behaviour) as (url, _seen):
        run = run_verify(capsys, url, "--timeout", "5", "--poll-interval", "0.05",
                         "--requests", "1", "--endpoint", "chat")
    assert run.code == 1, run.err
    assert error_lines(run.err) == [
        "error: POST /v1/chat/completions: the answer is larger than 1 MiB (refused)"]


def test_an_encoding_that_was_not_asked_for_is_refused(capsys) -> None:
    twice = gzip.compress(gzip.compress(MODELS))
    assert refusal_of_models_answer(capsys, twice, (("Content-Encoding", "gzip, gzip"),)) == [
        "error: GET /v1/models: content encoding 'gzip, gzip' is not accepted "
        "(gzip, deflate or none) (refused)"]


def test_a_gzip_answer_within_the_bound_is_read(capsys) -> None:
    def behaviour(method, path, handler, stop):
        if (method, path) == ("GET", "/v1/models"):
            answer(handler, 200, gzip.compress(MODELS), (("Content-Encoding", "gzip"),))
        elif method == "POST":
            answer(handler, 200, zlib.compress(json.dumps(CHAT).encode()),
                   (("Content-Encoding", "deflate"),))
        else:
            healthy_vllm(method, path, handler)

    with hostile_server(behaviour) as (url, _seen):
        run = run_verify(capsys, url, "--timeout", "5", "--poll-interval", "0.05",
                         "--requests", "1", "--endpoint", "chat")
    assert run.code == 0, run.err
    assert "verify: PASS" in run.out


# --------------------------------------------------------------------------- redirects


def test_a_redirect_to_another_host_is_refused_and_not_followed(capsys, monkeypatch) -> None:
    """The API key must never reach a host the user did not name; a redirect is a fatal
    answer (waiting will not change it), not a reason to poll until --timeout."""
    monkeypatch.setenv("INFERENCE_API_KEY", "sk-verify-canary")

    def elsewhere(method, path, handler, stop):
        healthy_vllm(method, path, handler)

    with hostile_server(elsewhere) as (other, other_seen):
        def behaviour(method, path, handler, stop):
            answer(handler, 302, headers=(("Location", f"{other}{path}"),))

        with hostile_server(behaviour) as (url, _seen):
            run = run_verify(capsys, url, "--timeout", "30", "--poll-interval", "0.05")
    assert other_seen == []
    assert run.code == 1, run.err
    where = other.removeprefix("http://")
    assert error_lines(run.err) == [
        f"error: GET /info: redirect (302) to {where} refused: verify follows no redirect; "
        "give the server's final URL"]
    assert "sk-verify-canary" not in run.err + run.out


def test_a_redirect_on_the_same_host_is_refused_too(capsys) -> None:
    def behaviour(method, path, handler, stop):
        if path == "/v1/chat/completions":
            answer(handler, 307, headers=(("Location", "/v2/chat"),))
        else:
            healthy_vllm(method, path, handler)

    with hostile_server(behaviour) as (url, seen):
        run = run_verify(capsys, url, "--timeout", "5", "--poll-interval", "0.05",
                         "--requests", "2", "--endpoint", "chat")
    assert run.code == 1, run.err
    where = url.removeprefix("http://")
    assert error_lines(run.err) == [
        f"error: POST /v1/chat/completions: redirect (307) to {where} refused: verify "
        "follows no redirect; give the server's final URL (x2)"]
    assert "/v2/chat" not in [p for _, p, _ in seen]
