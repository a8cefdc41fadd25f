"""Ending a real engine the way Kubernetes ends a pod, with streams in flight through it.

When a pod is deleted (rollout, scale-down, node drain), the kubelet runs the container's
``preStop`` hook, then sends SIGTERM to the container's main process only (the engine's
workers are its children), and sends SIGKILL to everything left once
``terminationGracePeriodSeconds`` (counted from the start of the preStop) have passed.
The helpers here do the part after the preStop to a ``ServerProcess``: the preStop itself
only gives the endpoint controllers time to stop routing to the pod, which needs a cluster.

The streams are OpenAI chat completions with ``stream: true``; a stream *completed* when it
got every token it asked for, a ``finish_reason`` and the closing ``data: [DONE]``, with no
transport error: what a client needs to trust the answer.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from serving_programs import Objects, ServerProcess, engine_deployment

# vLLM's graceful-shutdown flag: seconds in-flight requests may run after SIGTERM
# (vllm/engine/arg_utils.py in the installed package: "0 = abort, >0 = wait", default 0).
SHUTDOWN_TIMEOUT_FLAG = "--shutdown-timeout"
# What vLLM's API server logs once it has acted on SIGTERM, in either mode: it has closed its
# request pre-processing and is about to stop the engine (vllm/v1/engine/async_llm.py,
# AsyncLLM.shutdown, then core_client.py). Used only to know when a request is "new".
ENGINE_SHUTDOWN_STARTED = "[shutdown] MPClient: start"
# What vLLM's engine logs when SIGTERM finds requests unfinished and it drains them: its own
# count of the requests in flight (vllm/v1/engine/core.py, _handle_shutdown).
ENGINE_DRAINING = re.compile(r"\[shutdown\] EngineCore: draining in-flight requests count=(\d+)")


# --- what the chart renders ----------------------------------------------------------------


@dataclass(frozen=True)
class DrainSettings:
    """The rendered settings that decide what happens to requests when the pod goes away."""

    shutdown_timeout: int | None  # None: the flag is not rendered (vLLM's default, abort)
    prestop_seconds: int
    grace_seconds: int

    @property
    def after_prestop_seconds(self) -> int:
        """How long the engine has between the kubelet's SIGTERM and its SIGKILL."""
        return self.grace_seconds - self.prestop_seconds


def flag_value(args: list[str], flag: str) -> str | None:
    """The value of ``flag`` in ``--flag value`` or ``--flag=value`` form, or None."""
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def without_flag(args: list[str], flag: str) -> list[str]:
    """``args`` with ``flag`` and its value removed (both forms)."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(f"{flag}="):
            kept.append(arg)
    return kept


def prestop_seconds(container: dict[str, Any]) -> int:
    """Seconds the rendered preStop hook takes: ``sleep N`` (exec) or the native sleep action;
    0 without a hook. Any other hook fails the test: its duration is unknown here."""
    hook = (container.get("lifecycle") or {}).get("preStop")
    if not hook:
        return 0
    if "sleep" in hook:
        return int(hook["sleep"]["seconds"])
    command = [str(part) for part in hook.get("exec", {}).get("command", [])]
    if len(command) == 2 and command[0] in ("sleep", "/bin/sleep"):
        return int(command[1])
    raise AssertionError(f"a preStop hook of unknown duration is rendered: {hook}")


def drain_settings(objects: Objects) -> DrainSettings:
    """The engine container's drain flag, its preStop and the pod's grace period."""
    deployment, container = engine_deployment(objects)
    timeout = flag_value([str(a) for a in container["args"]], SHUTDOWN_TIMEOUT_FLAG)
    grace = deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    return DrainSettings(shutdown_timeout=None if timeout is None else int(timeout),
                         prestop_seconds=prestop_seconds(container), grace_seconds=int(grace))


def without_drain_flag(objects: Objects) -> Objects:
    """A copy of the rendered objects whose engine runs with vLLM's default shutdown."""
    changed = copy.deepcopy(objects)
    _, container = engine_deployment(changed)
    container["args"] = without_flag([str(a) for a in container["args"]],
                                     SHUTDOWN_TIMEOUT_FLAG)
    return changed


# --- streams -------------------------------------------------------------------------------


@dataclass
class Stream:
    """One streaming chat completion, read by a thread of its own."""

    max_tokens: int
    streaming: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    status: int | None = None
    finish_reason: str | None = None
    completion_tokens: int | None = None
    done: bool = False
    error: str | None = None

    def completed(self) -> bool:
        """Every token asked for, a finish reason, [DONE], and nothing went wrong."""
        return (self.status == 200 and self.error is None and self.done
                and self.finish_reason == "length"
                and self.completion_tokens == self.max_tokens)

    def outcome(self) -> str:
        """One line for a failure message."""
        return (f"status={self.status} finish_reason={self.finish_reason} "
                f"tokens={self.completion_tokens}/{self.max_tokens} done={self.done} "
                f"error={self.error}")

    def read_event(self, data: str) -> None:
        """Take in one ``data:`` payload of the event stream."""
        if data == "[DONE]":
            self.done = True
            return
        event = json.loads(data)
        if "error" in event:
            self.error = f"error event: {str(event['error'])[:200]}"
        for choice in event.get("choices") or []:
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        usage = event.get("usage") or {}
        if usage.get("completion_tokens") is not None:
            self.completion_tokens = int(usage["completion_tokens"])
        self.streaming.set()


def chat_body(model: str, max_tokens: int, stream: bool) -> dict[str, Any]:
    """A chat completion that generates exactly ``max_tokens`` (the end-of-sequence token of
    a random model is ignored), with the token count in the last event."""
    body: dict[str, Any] = {
        "model": model, "max_tokens": max_tokens, "ignore_eos": True, "stream": stream,
        "messages": [{"role": "user", "content": "Say hello."}],
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def event_lines(chunks: Iterator[str]) -> Iterator[str]:
    """The lines of an event stream. Only CR/LF end a line there: a random model's tokens
    may hold U+2028 or U+0085 unescaped inside the JSON, which ``str.splitlines`` (and
    httpx's ``iter_lines``) would take as line ends."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split("\n")
        yield from (line.removesuffix("\r") for line in lines)
    if pending:
        yield pending.removesuffix("\r")


def read_stream(url: str, model: str, stream: Stream, read_timeout: float) -> None:
    """Run one stream to its end, recording how it ended (never raises)."""
    timeout = httpx.Timeout(30.0, read=read_timeout)
    try:
        with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=timeout,
                          json=chat_body(model, stream.max_tokens, stream=True)) as answer:
            stream.status = answer.status_code
            if answer.status_code != 200:
                stream.error = f"HTTP {answer.status_code}: {answer.read()[:200]!r}"
                return
            for line in event_lines(answer.iter_text()):
                if line.startswith("data: "):
                    stream.read_event(line.removeprefix("data: "))
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        stream.error = f"{type(exc).__name__}: {exc}"
    finally:
        stream.ended.set()


@dataclass
class StreamBatch:
    """Concurrent streams, each read by a thread of its own."""

    streams: list[Stream]
    threads: list[threading.Thread]

    @classmethod
    def start(cls, url: str, model: str, count: int, max_tokens: int,
              read_timeout: float) -> StreamBatch:
        streams = [Stream(max_tokens) for _ in range(count)]
        threads = [threading.Thread(target=read_stream, args=(url, model, s, read_timeout),
                                    daemon=True) for s in streams]
        for thread in threads:
            thread.start()
        return cls(streams, threads)

    def wait_until_streaming(self) -> None:
        """Until every stream has had its first event (one that ends first fails the test)."""
        for stream in self.streams:
            while not stream.streaming.wait(0.05):
                if stream.ended.is_set():
                    pytest.fail(f"a stream ended before its first event: {stream.outcome()}")

    def unfinished(self) -> int:
        """How many streams have not ended yet."""
        return sum(not s.ended.is_set() for s in self.streams)

    def join(self, seconds: float) -> None:
        """Wait for every stream to end (fails the test if one is still open)."""
        deadline = time.monotonic() + seconds
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert self.unfinished() == 0, "a stream was still open after the server ended"


# Long enough that the engine is still generating when the last stream has shown its first
# event: on a busy machine vLLM's API server delivers events seconds after the engine made
# them, and the first batch of a size makes the CPU build compile for seconds. A retry
# (a stream ended before the last one started) asks for twice the tokens.
TOKEN_STEPS = (6000, 12000)


def streams_in_flight(url: str, model: str, count: int, read_timeout: float) -> StreamBatch:
    """``count`` concurrent streams that have all started and none ended yet."""
    for max_tokens in TOKEN_STEPS:
        batch = StreamBatch.start(url, model, count, max_tokens, read_timeout)
        batch.wait_until_streaming()
        if batch.unfinished() == count:
            return batch
        batch.join(read_timeout)
    pytest.fail(f"{count} streams of up to {TOKEN_STEPS[-1]} tokens never were in flight "
                "together: the engine finished one before the last one started")


def warm_up(url: str, model: str, count: int) -> None:
    """One short batch of ``count`` streams, so that the engine's first compilations for
    that batch size happen before the streams under test."""
    batch = StreamBatch.start(url, model, count, 32, read_timeout=300)
    batch.join(300)
    assert all(s.completed() for s in batch.streams), [s.outcome() for s in batch.streams]


def new_request_status(url: str, model: str) -> int | None:
    """The HTTP status of a new, short chat completion; None when the connection is refused."""
    try:
        answer = httpx.post(f"{url}/v1/chat/completions", timeout=60,
                            json=chat_body(model, 4, stream=False))
    except httpx.ConnectError:
        return None
    return answer.status_code


# --- the kubelet ---------------------------------------------------------------------------


def send_sigterm(server: ServerProcess) -> None:
    """What the kubelet does after the preStop: SIGTERM to the container's main process."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGTERM)


def exits_within(server: ServerProcess, seconds: float) -> bool:
    """Whether the main process exits on its own within ``seconds``."""
    assert server.process is not None
    try:
        server.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def kill_container(server: ServerProcess) -> None:
    """What the container runtime does when the grace period ends or the main process
    exits: SIGKILL to every process left (here: the server's process group)."""
    assert server.process is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=60)


def wait_for_log(server: ServerProcess, marker: str, seconds: float) -> None:
    """Wait until the server's log contains ``marker``; fail with the log's tail otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if marker in server.log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"vLLM did not log {marker!r} within {seconds:g}s:\n{server.tail()}")



def logged_draining_count(server: ServerProcess) -> int | None:
    """How many requests vLLM's engine said it was draining at SIGTERM (None: no drain)."""
    found = ENGINE_DRAINING.search(server.log.read_text(errors="replace"))
    return None if found is None else int(found.group(1))
