"""A loopback stand-in for TGI and vLLM, for the failure modes a real small server cannot show.

It answers with the documented shapes of both engines (TGI ``/health`` 503 while loading,
``/info``, ``/generate``; vLLM ``/health`` + ``/v1/models``; OpenAI chat/text completions and
error bodies) and can be told to misbehave per route: a status with an error body, a body
that is not JSON, a well-formed-JSON body of the wrong shape, or a delay. It binds
127.0.0.1 on an ephemeral port and runs in a daemon thread.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATED = "Hello there."


@dataclass
class Fault:
    """How one route misbehaves: ``status``+``body``, raw ``text``, or ``delay`` seconds."""

    status: int = 200
    body: Any = None
    text: str | None = None
    delay: float = 0.0


@dataclass
class EngineState:
    """What the fake serves; tests change it between (or during) runs."""

    engine: str = "vllm"
    model: str = "tiny-llama"
    loading_health_calls: int = 0
    api_key: str | None = None
    served_models: list[str] | None = None
    faults: dict[str, Fault] = field(default_factory=dict)
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def models(self) -> list[str]:
        return [self.model] if self.served_models is None else self.served_models


def openai_error(message: str, kind: str, code: int, param: str | None = None) -> dict:
    """The error body vLLM's OpenAI server returns."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def tgi_error(message: str, kind: str) -> dict:
    """The error body TGI returns."""
    return {"error": message, "error_type": kind}


def usage(prompt_tokens: int = 12, completion_tokens: int = 4) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_completion(model: str) -> dict:
    return {
        "id": "chatcmpl-fake-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": GENERATED},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(),
    }


def text_completion(model: str) -> dict:
    return {
        "id": "cmpl-fake-1",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": GENERATED, "finish_reason": "length", "logprobs": None}],
        "usage": usage(),
    }


class _Handler(BaseHTTPRequestHandler):
    server: _FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any = None, text: str | None = None) -> None:
        payload = text if text is not None else json.dumps(body) if body is not None else ""
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)  # the client may have given up (timeout tests)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    def _handle(self, method: str) -> None:
        state = self.server.state
        body = self._read_json() if method == "POST" else None
        state.seen.append((method, self.path, body))
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._send(401, openai_error("Unauthorized", "AuthenticationError", 401))
            return
        fault = state.faults.get(self.path)
        if fault is not None:
            if fault.delay:
                self.server.stopping.wait(fault.delay)
            if fault.text is not None or fault.body is not None or fault.status != 200:
                self._send(fault.status, fault.body, fault.text)
                return
        route = (state.engine, method, self.path)
        status, answer = self.server.answer(route, body)
        self._send(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class _FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: EngineState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.stopping = threading.Event()

    def answer(self, route: tuple[str, str, str], body: Any) -> tuple[int, Any]:
        """The documented answer of the engine for a route, as ``(status, json)``."""
        state = self.state
        engine, method, path = route
        if engine == "tgi":
            return self._tgi(method, path, body)
        if (method, path) == ("GET", "/health"):
            return 200, None
        if (method, path) == ("GET", "/v1/models"):
            data = [
                {"id": m, "object": "model", "owned_by": "vllm", "root": m, "max_model_len": 4096}
                for m in state.models()
            ]
            return 200, {"object": "list", "data": data}
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            model = (body or {}).get("model")
            if model not in state.models():
                message = f"The model `{model}` does not exist."
                return 404, openai_error(message, "NotFoundError", 404, "model")
            if path == "/v1/chat/completions":
                return 200, chat_completion(model)
            return 200, text_completion(model)
        return 404, {"detail": "Not Found"}

    def _tgi(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        state = self.state
        if (method, path) == ("GET", "/health"):
            if state.loading_health_calls > 0:
                state.loading_health_calls -= 1
                return 503, tgi_error("unhealthy", "healthcheck")
            return 200, None
        if (method, path) == ("GET", "/info"):
            return 200, {
                "model_id": state.model,
                "model_sha": None,
                "model_dtype": "torch.bfloat16",
                "max_total_tokens": 4096,
                "router": "text-generation-router",
                "version": "2.4.0",
            }
        if (method, path) == ("POST", "/generate"):
            return 200, {"generated_text": GENERATED}
        if (method, path) == ("POST", "/v1/chat/completions"):
            return 200, chat_completion(state.model)  # TGI ignores the requested model name
        if (method, path) == ("POST", "/v1/completions"):
            return 200, text_completion(state.model)
        return 404, None


class FakeEngineServer:
    """Context manager: ``with FakeEngineServer(EngineState(engine="tgi")) as fake: fake.url``."""

    def __init__(self, state: EngineState | None = None) -> None:
        self.state = state or EngineState()
        self._server = _FakeHTTPServer(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def posts(self, path: str) -> list[Any]:
        """Bodies of the POSTs the fake received on ``path``."""
        return [body for method, p, body in self.state.seen if method == "POST" and p == path]

    def __enter__(self) -> FakeEngineServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
