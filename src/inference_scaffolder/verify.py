"""Post-deploy verification of a TGI or vLLM server through its OpenAI-compatible API.

The checks that judge a response are pure functions (``check_*``, ``describe_http_error``,
``latency_problems``) so the generated chart's ``helm test`` hook can reuse them without the
CLI. The I/O part waits for readiness, sends a bounded number of small completions and
collects every problem as one line; it never raises for a misbehaving server, only for bad
input (:class:`~inference_scaffolder.errors.UserError`).

Engine facts relied on:
- TGI: ``GET /health`` answers 503 until the model is loaded; ``GET /info`` names
  ``model_id``; ``POST /generate`` is its native route; it also serves
  ``/v1/chat/completions`` (and ``/v1/completions``).
- vLLM: ``GET /health`` only says the process is up; ``GET /v1/models`` lists the served
  model names, so it is the readiness signal and the source of the default ``--model``.
"""

from __future__ import annotations

import json
import math
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from inference_scaffolder.errors import UserError, inert

ENGINES = ("tgi", "vllm")
ENGINE_CHOICES = ("auto", *ENGINES)
ENDPOINT_PATHS: Mapping[str, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "generate": "/generate",
}
DEFAULT_ENDPOINTS: Mapping[str, tuple[str, ...]] = {
    "tgi": ("chat", "generate"),
    "vllm": ("chat", "completions"),
}
TEST_PROMPT = "Reply with one short sentence saying hello."
MAX_REPORTED_CHARS = 200
# An answer of any route is a few KiB; more, before or after decompression, is refused.
MAX_ANSWER_BYTES = 1 << 20
ACCEPTED_ENCODINGS = "gzip, deflate"

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- pure checks


def _is_int(value: object) -> bool:
    """JSON integers only: ``True`` is an int in Python but not a token count."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_common(body: object, expected_object: str) -> tuple[list[str], list[Any]]:
    """Checks shared by chat and text completions; returns problems and the choices."""
    if not isinstance(body, dict):
        return [f"body is a JSON {type(body).__name__}, expected an object"], []
    problems: list[str] = []
    if not isinstance(body.get("id"), str) or not body.get("id"):
        problems.append("id is missing or not a non-empty string")
    if body.get("object") != expected_object:
        problems.append(f"object is {body.get('object')!r}, expected {expected_object!r}")
    if "created" in body and not _is_int(body["created"]):
        problems.append("created is not an integer")
    if "model" in body and not isinstance(body["model"], str):
        problems.append("model is not a string")
    problems.extend(check_usage(body.get("usage")))
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        problems.append("choices is missing or empty")
        return problems, []
    return problems, choices


def check_usage(usage: object) -> list[str]:
    """OpenAI ``usage``: three non-negative integer counts that add up."""
    if not isinstance(usage, dict):
        return ["usage is missing or not an object"]
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    problems = [
        f"usage.{name} is missing or not a non-negative integer"
        for name in names
        if not _is_int(usage.get(name)) or usage[name] < 0
    ]
    if (
        not problems
        and usage["prompt_tokens"] + usage["completion_tokens"] != usage["total_tokens"]
    ):
        problems.append("usage.total_tokens is not prompt_tokens + completion_tokens")
    return problems


def _check_choice_frame(index: int, choice: object) -> list[str]:
    """Fields every choice carries, whichever endpoint produced it."""
    where = f"choices[{index}]"
    if not isinstance(choice, dict):
        return [f"{where} is not an object"]
    problems: list[str] = []
    if not _is_int(choice.get("index")):
        problems.append(f"{where}.index is missing or not an integer")
    reason = choice.get("finish_reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(f"{where}.finish_reason is not a string")
    return problems


def check_chat_completion(body: object) -> list[str]:
    """Problems with a ``/v1/chat/completions`` response body (empty list: well-formed)."""
    problems, choices = _check_common(body, "chat.completion")
    for index, choice in enumerate(choices):
        problems.extend(_check_choice_frame(index, choice))
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        if not isinstance(message, dict):
            problems.append(f"choices[{index}].message is missing or not an object")
            continue
        if message.get("role") != "assistant":
            problems.append(f"choices[{index}].message.role is {message.get('role')!r}")
        if not isinstance(message.get("content"), str):
            problems.append(f"choices[{index}].message.content is missing or not a string")
    return problems


def check_text_completion(body: object) -> list[str]:
    """Problems with a ``/v1/completions`` response body (empty list: well-formed)."""
    problems, choices = _check_common(body, "text_completion")
    for index, choice in enumerate(choices):
        problems.extend(_check_choice_frame(index, choice))
        if isinstance(choice, dict) and not isinstance(choice.get("text"), str):
            problems.append(f"choices[{index}].text is missing or not a string")
    return problems


def check_generate(body: object) -> list[str]:
    """Problems with a TGI ``/generate`` response body (empty list: well-formed)."""
    if not isinstance(body, dict):
        return [f"body is a JSON {type(body).__name__}, expected an object"]
    if not isinstance(body.get("generated_text"), str):
        return ["generated_text is missing or not a string"]
    return []


def check_models_list(body: object) -> list[str]:
    """Problems with a ``/v1/models`` body; an empty ``data`` list is allowed."""
    if not isinstance(body, dict):
        return [f"body is a JSON {type(body).__name__}, expected an object"]
    data = body.get("data")
    if not isinstance(data, list):
        return ["data is missing or not a list"]
    return [
        f"data[{index}].id is missing or not a string"
        for index, entry in enumerate(data)
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str)
    ]


def served_model_ids(body: Mapping[str, Any]) -> list[str]:
    """Model names from a well-formed ``/v1/models`` body, in the server's order."""
    return [entry["id"] for entry in body["data"]]


def check_tgi_info(body: object) -> list[str]:
    """Problems with a TGI ``/info`` body: it must name the loaded ``model_id``."""
    if not isinstance(body, dict):
        return [f"body is a JSON {type(body).__name__}, expected an object"]
    if not isinstance(body.get("model_id"), str) or not body["model_id"]:
        return ["model_id is missing or not a non-empty string"]
    return []


CHECKS: Mapping[str, Callable[[object], list[str]]] = {
    "chat": check_chat_completion,
    "completions": check_text_completion,
    "generate": check_generate,
}


def one_line(text: str, limit: int = MAX_REPORTED_CHARS) -> str:
    """A server's words as a report shows them: whitespace collapsed, control and format
    characters (terminal escapes, bidirectional overrides) escaped, cut at ``limit``."""
    return inert(" ".join(text.split()), limit)


def server_error_message(body: object) -> str | None:
    """The human message in an error body, whichever engine or framework wrote it.

    Shapes: OpenAI ``{"error": {"message": ...}}``, older vLLM ``{"object": "error",
    "message": ...}``, TGI ``{"error": "...", "error_type": ...}``, FastAPI ``{"detail": ...}``.
    """
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    if isinstance(body.get("message"), str):
        return body["message"]
    if isinstance(body.get("detail"), str):
        return body["detail"]
    return None


def _parse_json(text: str) -> object:
    """JSON or ``None``; error bodies are best-effort, so a parse failure is not fatal."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def describe_http_error(status: int, body_text: str, method: str, path: str, model: str,
                        key_sent: bool = False) -> str:
    """One line saying what an unsuccessful HTTP status means for the user.

    A 401/403 means two different things: no key was sent (say how to send one), or the key
    was not accepted. Through a router the second includes the engine refusing the router's
    own key, which only the server's message tells apart, so it is quoted.
    """
    message = server_error_message(_parse_json(body_text))
    said = f": {one_line(message)}" if message else ""
    if status == 404:
        if message and "model" in message.lower():
            return f"unknown model {model!r} (404 from {method} {path}{said})"
        return f"{method} {path} is not served by this server (404{said})"
    if status in (401, 403) and key_sent:
        return f"{method} {path} refused ({status}): the API key was not accepted{said}"
    if status in (401, 403):
        return f"{method} {path} refused ({status}): the server wants an API key (--api-key)"
    if status >= 500:
        return f"server error {status} on {method} {path}{said}"
    return f"{method} {path} rejected with {status}{said}"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually observed, never interpolated."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_problems(endpoint: str, latencies: Sequence[float], slo_seconds: float) -> list[str]:
    """The SLO is on p95 (the post-deploy success criterion); p50 is context only."""
    if not latencies:
        return []
    p95 = percentile(latencies, 95)
    if p95 <= slo_seconds:
        return []
    p50 = percentile(latencies, 50)
    return [
        f"{endpoint}: p95 latency {p95:.3f}s exceeds the {slo_seconds:g}s SLO "
        f"(p50 {p50:.3f}s over {len(latencies)} requests)"
    ]


def summarize_problems(problems: Sequence[str]) -> list[str]:
    """Identical problems (N failed requests alike) become one line with a count."""
    counts = Counter(problems)
    return [p if counts[p] == 1 else f"{p} (x{counts[p]})" for p in dict.fromkeys(problems)]


# --------------------------------------------------------------------------- input


def normalize_base_url(url: str) -> str:
    """The server's base URL, refusing anything that would leak secrets into output.

    Credentials or a query string in the URL would be printed in every message, so they are
    refused (the key goes in ``--api-key``). A trailing ``/v1`` (an OpenAI client base URL)
    is dropped because the engines' own routes (``/health``, ``/info``) live above it.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UserError("url", "must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise UserError("url", "must not contain credentials; pass the key with --api-key")
    if parts.query or parts.fragment:
        raise UserError("url", "must not contain a query string or fragment")
    try:
        port = parts.port
    except ValueError as exc:
        raise UserError("url", "has an invalid port") from exc
    if not parts.hostname:
        raise UserError("url", "has no host")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    return urlunsplit((parts.scheme, netloc, path, "", ""))


@dataclass(frozen=True)
class VerifyOptions:
    """Everything a verification run needs; validated on construction."""

    base_url: str
    model: str | None = None
    engine: str = "auto"
    requests: int = 5
    timeout: float = 600.0
    slo_seconds: float = 3.0
    request_timeout: float = 60.0
    max_tokens: int = 16
    endpoints: tuple[str, ...] | None = None
    api_key: str | None = field(default=None, repr=False)
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.engine not in ENGINE_CHOICES:
            raise UserError("--engine", f"must be one of {', '.join(ENGINE_CHOICES)}")
        if self.model is not None and not self.model.strip():
            raise UserError("--model", "must not be empty")
        positives = {
            "--requests": self.requests,
            "--timeout": self.timeout,
            "--slo-seconds": self.slo_seconds,
            "--request-timeout": self.request_timeout,
            "--max-tokens": self.max_tokens,
            "--poll-interval": self.poll_interval,
        }
        for name, value in positives.items():
            if not value > 0:
                raise UserError(name, "must be greater than 0")
        if self.requests > 1000:
            raise UserError("--requests", "must be at most 1000 (this is a smoke test)")
        for name in self.endpoints or ():
            if name not in ENDPOINT_PATHS:
                raise UserError(
                    "--endpoint", f"unknown {name!r}; choose from {', '.join(ENDPOINT_PATHS)}"
                )
        if self.engine == "vllm" and "generate" in (self.endpoints or ()):
            raise UserError("--endpoint", "generate is TGI's route; vLLM does not serve it")


def parse_endpoints(text: str | None) -> tuple[str, ...] | None:
    """``"chat,completions"`` → ``("chat", "completions")``; ``None`` keeps engine defaults."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise UserError("--endpoint", "must name at least one endpoint")
    return names


# --------------------------------------------------------------------------- results


@dataclass
class EndpointResult:
    """What one endpoint did over the test requests."""

    name: str
    path: str
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return len(self.latencies)

    def percentile(self, pct: float) -> float | None:
        return percentile(self.latencies, pct) if self.latencies else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "requests": self.sent,
            "succeeded": self.succeeded,
            "p50_seconds": self.percentile(50),
            "p95_seconds": self.percentile(95),
            "problems": summarize_problems(self.problems),
        }


@dataclass
class VerifyReport:
    """The outcome of one run; ``passed`` drives the exit code."""

    base_url: str
    slo_seconds: float
    engine: str | None = None
    model: str | None = None
    ready_after_seconds: float | None = None
    endpoints: list[EndpointResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def all_problems(self) -> list[str]:
        """Readiness problems first, then each endpoint's, deduplicated."""
        lines = list(self.problems)
        for result in self.endpoints:
            lines.extend(summarize_problems(result.problems))
        return lines

    @property
    def passed(self) -> bool:
        return not self.all_problems()

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.base_url,
            "engine": self.engine,
            "model": self.model,
            "ready_after_seconds": self.ready_after_seconds,
            "slo_seconds": self.slo_seconds,
            "passed": self.passed,
            "endpoints": {r.name: r.to_dict() for r in self.endpoints},
            "problems": self.all_problems(),
        }


# --------------------------------------------------------------------------- deadlines
#
# httpx's timeouts bound each read, so a server that drips one byte a second answers forever
# without tripping one. Every request here runs under a total deadline instead: the network
# streams below give each connect, TLS handshake, read and write only what is left of it.

_deadline = threading.local()


@contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    """Everything sent or received on this thread inside the block ends ``seconds`` from now."""
    outer = getattr(_deadline, "at", None)
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = outer


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the deadline; ``expired`` once nothing is."""
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise expired("the total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the deadline of the request using it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # Python bounds a whole TLS handshake by the socket timeout, not each read of it.
        return _DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Plain sockets (httpcore's own), wrapped in :class:`_DeadlineStream`."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's errors as httpx's, most specific first (timeouts are subclasses of the rest).
_AS_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except tuple(core for core, _ in _AS_HTTPX) as exc:
        mapped = next(ours for core, ours in _AS_HTTPX if isinstance(exc, core))
        raise mapped(str(exc), request=request) from exc


class _DeadlineBody(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors(self._request):
            yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class DeadlineTransport(httpx.BaseTransport):
    """A direct connection pool (no proxy, no .netrc) whose requests end by their deadline."""

    def __init__(self) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=True),  # SSL_CERT_FILE and _DIR
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,  # a sync stream: the client is sync
            extensions=request.extensions,
        )
        with _httpx_errors(request):
            answer = self._pool.handle_request(core)
        return httpx.Response(status_code=answer.status, headers=answer.headers,
                              stream=_DeadlineBody(answer, request),
                              extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()


# --------------------------------------------------------------------------- bounded answers


@dataclass(frozen=True)
class Answer:
    """An HTTP answer read to its end, within the size bounds."""

    status_code: int
    text: str
    content_type: str


class AnswerRefused(Exception):
    """An answer verify will not read: too large, an odd encoding, a redirect. One line."""


def _decoder(encoding: str, what: str) -> Any:
    """A zlib decompressor for ``encoding`` (None: identity); anything else is refused."""
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib (or gzip) framing
    raise AnswerRefused(f"{what}: content encoding '{inert(encoding, 60)}' is not accepted "
                        f"({ACCEPTED_ENCODINGS} or none) (refused)")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"


def _decoded(chunk: bytes, decoder: Any, room: int, what: str) -> bytes:
    """``chunk`` decompressed, never more than ``room`` + 1 bytes of it at once."""
    try:
        return decoder.decompress(chunk, room + 1)
    except zlib.error:
        raise AnswerRefused(f"{what}: the compressed answer is corrupt (refused)") from None


def read_bounded(response: httpx.Response, what: str, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The body as a stream, counted before and after decompression, refused past ``limit``.

    Decompression is done here with zlib's output bound, so a small answer that expands a
    thousandfold costs at most ``limit`` bytes of memory."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise AnswerRefused(f"{what}: the answer is larger than {_mib(limit)} (refused)")
    decoder = _decoder(response.headers.get("content-encoding", "").strip().lower(), what)
    received, body = 0, bytearray()
    for chunk in response.iter_raw():
        received += len(chunk)
        if received > limit:
            raise AnswerRefused(f"{what}: the answer is larger than {_mib(limit)} (refused)")
        piece = chunk if decoder is None else _decoded(chunk, decoder, limit - len(body), what)
        if len(body) + len(piece) > limit:
            raise AnswerRefused(f"{what}: the answer decompresses to more than {_mib(limit)} "
                                "(refused)")
        body += piece
    return bytes(body)


def _text(response: httpx.Response, body: bytes) -> str:
    try:
        return body.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def refuse_redirect(response: httpx.Response, what: str) -> None:
    """Never follow: the API key would go wherever the server points (another host), and a
    same-host redirect is an address the user did not give. Say where it pointed."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or location is None:
        return
    try:
        target = response.url.join(location)
        where = f"{target.host}:{target.port}" if target.port else target.host
    except (httpx.InvalidURL, ValueError):
        where = "an invalid location"
    raise AnswerRefused(f"{what}: redirect ({response.status_code}) to {inert(where, 120)} "
                        "refused: verify follows no redirect; give the server's final URL")


def fetch(client: httpx.Client, method: str, path: str, seconds: float,
          body: Any = None) -> Answer:
    """One request read to its end within ``seconds`` in total (connect, headers, body).

    Raises ``httpx.HTTPError`` when there is no complete answer in time, and
    :class:`AnswerRefused` for an answer that is not read."""
    what = f"{method} {path}"
    with total_deadline(seconds), client.stream(
        method, path, json=body, timeout=httpx.Timeout(seconds)
    ) as response:
        refuse_redirect(response, what)
        data = read_bounded(response, what)
    return Answer(response.status_code, _text(response, data),
                  response.headers.get("content-type", "no content-type"))


# --------------------------------------------------------------------------- probing


def shown_seconds(limit: float) -> str:
    """``1``, ``0.2``, ``60``: a limit as a message states it."""
    return f"{round(limit, 1):g}" if limit >= 1 else f"{limit:.2g}"


@dataclass(frozen=True)
class Probe:
    """One readiness poll: ready with the served models, or why not (and whether to retry)."""

    ready: bool
    reason: str = ""
    engine: str | None = None
    models: tuple[str, ...] = ()
    fatal: bool = False


def describe_transport_error(exc: httpx.HTTPError, base_url: str, what: str, limit: float) -> str:
    """One line for a request that got no HTTP answer at all."""
    parts = urlsplit(base_url)
    where = parts.netloc
    if isinstance(exc, httpx.TimeoutException):
        return f"{what} timed out after {shown_seconds(limit)}s"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return f"connection refused by {where} (is the server running?)"
        return f"cannot connect to {where}: {one_line(text) or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{what}: the server closed the connection without a complete answer"
    return f"{what} failed: {type(exc).__name__}"


# Client errors that waiting can cure: a slow or throttled answer, or a path not served yet.
_RETRIED_CLIENT_ERRORS = frozenset({404, 408, 425, 429})


class _Prober:
    """Readiness polls against one server; every outcome is a :class:`Probe`."""

    def __init__(self, client: httpx.Client, base_url: str, probe_timeout: float,
                 key_sent: bool = False, until: float | None = None) -> None:
        self.client = client
        self.base_url = base_url
        self.probe_timeout = probe_timeout
        self.key_sent = key_sent
        self.until = until  # the readiness deadline (monotonic): no poll runs past it

    def get(self, path: str) -> Answer | Probe:
        limit = self.probe_timeout
        if self.until is not None:
            limit = max(min(limit, self.until - time.monotonic()), 0.01)
        try:
            return fetch(self.client, "GET", path, limit)
        except AnswerRefused as refused:
            return Probe(ready=False, reason=str(refused), fatal=True)
        except httpx.HTTPError as exc:
            reason = describe_transport_error(exc, self.base_url, f"GET {path}", limit)
            return Probe(ready=False, reason=reason)

    def refused(self, response: Answer, path: str) -> Probe | None:
        """Auth failures will not fix themselves: stop waiting at once."""
        if response.status_code in (401, 403):
            reason = describe_http_error(response.status_code, response.text, "GET", path, "",
                                         key_sent=self.key_sent)
            return Probe(ready=False, reason=reason, fatal=True)
        return None

    def rejected(self, response: Answer, path: str) -> Probe | None:
        """A readiness path that answers a client error (say LiteLLM's 400 for a key it
        cannot check) will answer the same after ten minutes: stop at once, and say why."""
        status = response.status_code
        if 400 <= status < 500 and status not in _RETRIED_CLIENT_ERRORS:
            reason = describe_http_error(status, response.text, "GET", path, "",
                                         key_sent=self.key_sent)
            return Probe(ready=False, reason=reason, fatal=True)
        return None

    @staticmethod
    def not_ready_reason(response: Answer, path: str) -> str:
        """``/health answers 500: <the server's message>``: why a poll is not ready yet."""
        message = server_error_message(_parse_json(response.text))
        said = f": {one_line(message)}" if message else ""
        return f"{path} answers {response.status_code}{said}"

    def json_body(
        self, response: Answer, path: str, check: Callable[[object], list[str]]
    ) -> Any:
        """The checked JSON body, or a fatal Probe: a malformed answer will not improve."""
        body = _parse_json(response.text)
        problems = ["body is not JSON"] if body is None else check(body)
        if problems:
            reason = f"malformed response from GET {path}: {'; '.join(problems)}"
            return Probe(ready=False, reason=reason, fatal=True)
        return body

    def tgi(self) -> Probe:
        health = self.get("/health")
        if isinstance(health, Probe):
            return health
        if blocked := self.refused(health, "/health"):
            return blocked
        if health.status_code == 503:
            return Probe(ready=False, reason="TGI /health answers 503 (model still loading)")
        if health.status_code != 200:
            return Probe(ready=False, reason=f"TGI /health answers {health.status_code}")
        info = self.get("/info")
        if isinstance(info, Probe):
            return info
        if info.status_code != 200:
            return Probe(ready=False, reason=f"TGI /info answers {info.status_code}")
        body = self.json_body(info, "/info", check_tgi_info)
        if isinstance(body, Probe):
            return body
        return Probe(ready=True, engine="tgi", models=(body["model_id"],))

    def vllm(self) -> Probe:
        health = self.get("/health")
        if isinstance(health, Probe):
            return health
        if blocked := self.refused(health, "/health") or self.rejected(health, "/health"):
            return blocked
        if health.status_code not in (200, 404):  # 404: an OpenAI server without /health
            return Probe(ready=False, reason=self.not_ready_reason(health, "/health"))
        models = self.get("/v1/models")
        if isinstance(models, Probe):
            return models
        if blocked := self.refused(models, "/v1/models") or self.rejected(models, "/v1/models"):
            return blocked
        if models.status_code != 200:
            return Probe(ready=False, reason=self.not_ready_reason(models, "/v1/models"))
        body = self.json_body(models, "/v1/models", check_models_list)
        if isinstance(body, Probe):
            return body
        return Probe(ready=True, engine="vllm", models=tuple(served_model_ids(body)))

    def auto(self) -> Probe:
        """TGI is recognised by ``/info`` naming a model; anything else is treated as vLLM."""
        info = self.get("/info")
        if isinstance(info, Probe):
            return info
        if blocked := self.refused(info, "/info"):
            return blocked
        if info.status_code == 200 and not check_tgi_info(_parse_json(info.text)):
            return self.tgi()
        return self.vllm()

    def probe(self, engine: str) -> Probe:
        return {"tgi": self.tgi, "vllm": self.vllm, "auto": self.auto}[engine]()


def wait_until_ready(
    client: httpx.Client,
    options: VerifyOptions,
    progress: Progress,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Probe:
    """Poll until the server is ready, a fatal answer arrives, or ``--timeout`` runs out.

    Connection refused is retried: right after a rollout the pod may not listen yet. No
    poll runs past ``--timeout``: each request gets what is left of it at most.
    """
    prober = _Prober(client, options.base_url, min(options.request_timeout, 10.0),
                     key_sent=bool(options.api_key),
                     until=time.monotonic() + options.timeout)
    started = clock()
    deadline = started + options.timeout
    while True:
        probe = prober.probe(options.engine)
        if probe.ready or probe.fatal:
            return probe
        now = clock()
        if now >= deadline:
            return Probe(
                ready=False,
                fatal=True,
                reason=f"server not ready after {options.timeout:g}s: {probe.reason}",
            )
        progress(f"waiting for {options.base_url} ({now - started:.0f}s of "
                 f"{options.timeout:g}s): {probe.reason}")
        sleep(min(options.poll_interval, max(deadline - now, 0.0)))


def choose_model(requested: str | None, served: Sequence[str]) -> tuple[str | None, str | None]:
    """``(model, problem)``: the requested model must be served; else the first served one."""
    if requested is not None:
        if served and requested not in served:
            names = inert(", ".join(served), MAX_REPORTED_CHARS)
            return None, f"unknown model {requested!r}: the server serves {names}"
        return requested, None
    if served:
        return served[0], None
    raise UserError("--model", "the server lists no models at /v1/models; name one with --model")


def request_body(endpoint: str, model: str, max_tokens: int) -> dict[str, Any]:
    """The smallest useful request for each route."""
    if endpoint == "chat":
        messages = [{"role": "user", "content": TEST_PROMPT}]
        return {"model": model, "messages": messages, "max_tokens": max_tokens}
    if endpoint == "completions":
        return {"model": model, "prompt": TEST_PROMPT, "max_tokens": max_tokens}
    return {"inputs": TEST_PROMPT, "parameters": {"max_new_tokens": max_tokens}}


def send_one(
    client: httpx.Client, options: VerifyOptions, endpoint: str, model: str
) -> tuple[float | None, str | None, bool]:
    """``(latency, problem, give_up)`` for one request; ``give_up`` after no HTTP answer.

    The request, answer included, must end within ``--request-timeout`` in total."""
    path = ENDPOINT_PATHS[endpoint]
    what = f"POST {path}"
    started = time.perf_counter()
    try:
        response = fetch(client, "POST", path, options.request_timeout,
                         request_body(endpoint, model, options.max_tokens))
    except AnswerRefused as refused:
        return None, str(refused), False
    except httpx.HTTPError as exc:
        reason = describe_transport_error(exc, options.base_url, what, options.request_timeout)
        return None, reason, True
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        return (
            None,
            describe_http_error(response.status_code, response.text, "POST", path, model,
                                key_sent=bool(options.api_key)),
            False,
        )
    body = _parse_json(response.text)
    if body is None:
        kind = inert(response.content_type, 80)
        return None, f"malformed response from {what}: body is not JSON ({kind})", False
    problems = CHECKS[endpoint](body)
    if problems:
        return None, f"malformed response from {what}: {'; '.join(problems)}", False
    return elapsed, None, False


def exercise_endpoint(
    client: httpx.Client, options: VerifyOptions, endpoint: str, model: str, progress: Progress
) -> EndpointResult:
    """Send ``--requests`` sequential requests; stop early once the server stops answering."""
    result = EndpointResult(name=endpoint, path=ENDPOINT_PATHS[endpoint])
    for number in range(1, options.requests + 1):
        progress(f"{endpoint}: request {number}/{options.requests}")
        latency, problem, give_up = send_one(client, options, endpoint, model)
        result.sent += 1
        if problem is not None:
            result.problems.append(problem)
        elif latency is not None:
            result.latencies.append(latency)
        if give_up:
            break
    result.problems.extend(latency_problems(endpoint, result.latencies, options.slo_seconds))
    return result


def make_client(
    options: VerifyOptions, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """One client for the whole run; the API key only ever lives in its headers.

    It connects directly: no proxy or ``.netrc`` from the environment (``trust_env``), so
    the key goes to the server named and nowhere else, and redirects are not followed."""
    headers = {"Accept-Encoding": ACCEPTED_ENCODINGS}
    if options.api_key:
        headers["Authorization"] = f"Bearer {options.api_key}"
    return httpx.Client(
        base_url=options.base_url,
        headers=headers,
        timeout=options.request_timeout,
        transport=transport or DeadlineTransport(),
        follow_redirects=False,
        trust_env=False,
    )


def run_verification(
    options: VerifyOptions,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> VerifyReport:
    """Wait for readiness, exercise the endpoints, and report every problem found."""
    say = progress or (lambda _message: None)
    report = VerifyReport(base_url=options.base_url, slo_seconds=options.slo_seconds)
    with make_client(options, transport) as client:
        started = time.monotonic()
        probe = wait_until_ready(client, options, say)
        if not probe.ready:
            report.problems.append(probe.reason)
            return report
        report.ready_after_seconds = round(time.monotonic() - started, 3)
        report.engine = probe.engine
        model, problem = choose_model(options.model, probe.models)
        if problem:
            report.problems.append(problem)
            return report
        report.model = model
        engine = probe.engine or "vllm"
        endpoints = options.endpoints or DEFAULT_ENDPOINTS[engine]
        if engine != "tgi" and "generate" in endpoints:
            raise UserError("--endpoint", f"generate is TGI's route; the server is {engine}")
        for endpoint in endpoints:
            report.endpoints.append(exercise_endpoint(client, options, endpoint, str(model), say))
    return report
