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
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from inference_scaffolder.errors import UserError

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
    """Collapse whitespace and cut long server messages so every report stays one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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


# --------------------------------------------------------------------------- I/O


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
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return f"connection refused by {where} (is the server running?)"
        return f"cannot connect to {where}: {one_line(text) or type(exc).__name__}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{what} timed out after {limit:g}s"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{what}: the server closed the connection without a complete answer"
    return f"{what} failed: {type(exc).__name__}"


# Client errors that waiting can cure: a slow or throttled answer, or a path not served yet.
_RETRIED_CLIENT_ERRORS = frozenset({404, 408, 425, 429})


class _Prober:
    """Readiness polls against one server; every outcome is a :class:`Probe`."""

    def __init__(self, client: httpx.Client, base_url: str, probe_timeout: float,
                 key_sent: bool = False) -> None:
        self.client = client
        self.base_url = base_url
        self.probe_timeout = probe_timeout
        self.key_sent = key_sent

    def get(self, path: str) -> httpx.Response | Probe:
        try:
            return self.client.get(path, timeout=self.probe_timeout)
        except httpx.HTTPError as exc:
            reason = describe_transport_error(exc, self.base_url, f"GET {path}", self.probe_timeout)
            return Probe(ready=False, reason=reason)

    def refused(self, response: httpx.Response, path: str) -> Probe | None:
        """Auth failures will not fix themselves: stop waiting at once."""
        if response.status_code in (401, 403):
            reason = describe_http_error(response.status_code, response.text, "GET", path, "",
                                         key_sent=self.key_sent)
            return Probe(ready=False, reason=reason, fatal=True)
        return None

    def rejected(self, response: httpx.Response, path: str) -> Probe | None:
        """A readiness path that answers a client error (say LiteLLM's 400 for a key it
        cannot check) will answer the same after ten minutes: stop at once, and say why."""
        status = response.status_code
        if 400 <= status < 500 and status not in _RETRIED_CLIENT_ERRORS:
            reason = describe_http_error(status, response.text, "GET", path, "",
                                         key_sent=self.key_sent)
            return Probe(ready=False, reason=reason, fatal=True)
        return None

    @staticmethod
    def not_ready_reason(response: httpx.Response, path: str) -> str:
        """``/health answers 500: <the server's message>``: why a poll is not ready yet."""
        message = server_error_message(_parse_json(response.text))
        said = f": {one_line(message)}" if message else ""
        return f"{path} answers {response.status_code}{said}"

    def json_body(
        self, response: httpx.Response, path: str, check: Callable[[object], list[str]]
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

    Connection refused is retried: right after a rollout the pod may not listen yet.
    """
    prober = _Prober(client, options.base_url, min(options.request_timeout, 10.0),
                     key_sent=bool(options.api_key))
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
            return None, f"unknown model {requested!r}: the server serves {', '.join(served)}"
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
    """``(latency, problem, give_up)`` for one request; ``give_up`` after no HTTP answer."""
    path = ENDPOINT_PATHS[endpoint]
    what = f"POST {path}"
    started = time.perf_counter()
    try:
        response = client.post(path, json=request_body(endpoint, model, options.max_tokens))
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
        kind = response.headers.get("content-type", "no content-type")
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
    """One client for the whole run; the API key only ever lives in its headers."""
    headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
    return httpx.Client(
        base_url=options.base_url,
        headers=headers,
        timeout=options.request_timeout,
        transport=transport,
        follow_redirects=False,
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
