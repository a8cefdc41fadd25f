"""Tests for ``inference-scaffolder verify`` against a loopback fake engine.

``tests/support/fake_engine_server.py`` reproduces both engines' documented responses and
failure modes (TGI 503-until-loaded, /info, /generate; vLLM /v1/models; 404 unknown model with
an OpenAI error body; 500s; malformed JSON; wrong shapes; slow answers; a required API key):
the failures a real program cannot be made to produce on demand, and TGI, which has no
server package on any registry here. The real programs - vLLM (CPU build) serving the
chart's rendered command line, and the LiteLLM proxy loading the rendered registration - are
exercised in ``tests/real_serving/``.
"""

from __future__ import annotations

import json
import socket

import pytest
from fake_engine_server import (
    EngineState,
    FakeEngineServer,
    Fault,
    chat_completion,
    openai_error,
    text_completion,
    tgi_error,
)
from verify_cli import isolate_verify_cli, run_verify

from inference_scaffolder.errors import UserError
from inference_scaffolder.verify import (
    VerifyOptions,
    check_chat_completion,
    check_generate,
    check_models_list,
    check_text_completion,
    describe_http_error,
    latency_problems,
    normalize_base_url,
    percentile,
    server_error_message,
    summarize_problems,
)

# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _isolated_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_verify_cli(monkeypatch)




FAST = ("--poll-interval", "0.05", "--timeout", "5", "--requests", "2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- pure checks


def test_well_formed_openai_objects_have_no_problems() -> None:
    assert check_chat_completion(chat_completion("m")) == []
    assert check_text_completion(text_completion("m")) == []
    assert check_generate({"generated_text": "hi", "details": None}) == []


def test_chat_completion_problems_name_the_field() -> None:
    body = chat_completion("m")
    del body["choices"][0]["message"]["content"]
    body["object"] = "text_completion"
    body["usage"]["total_tokens"] = 99
    problems = check_chat_completion(body)
    assert "choices[0].message.content is missing or not a string" in problems
    assert "object is 'text_completion', expected 'chat.completion'" in problems
    assert "usage.total_tokens is not prompt_tokens + completion_tokens" in problems


def test_chat_completion_without_choices_or_usage_or_id() -> None:
    problems = check_chat_completion({"object": "chat.completion", "choices": []})
    assert "choices is missing or empty" in problems
    assert "usage is missing or not an object" in problems
    assert "id is missing or not a non-empty string" in problems
    assert check_chat_completion(["not", "an", "object"]) == [
        "body is a JSON list, expected an object"
    ]


def test_empty_generated_content_is_still_well_formed() -> None:
    body = chat_completion("m")
    body["choices"][0]["message"]["content"] = ""
    assert check_chat_completion(body) == []


def test_text_completion_needs_text_and_generate_needs_generated_text() -> None:
    body = text_completion("m")
    body["choices"][0]["text"] = None
    assert check_text_completion(body) == ["choices[0].text is missing or not a string"]
    assert check_generate({"text": "hi"}) == ["generated_text is missing or not a string"]


def test_usage_counts_must_be_integers_not_booleans() -> None:
    body = chat_completion("m")
    body["usage"]["prompt_tokens"] = True
    assert "usage.prompt_tokens is missing or not a non-negative integer" in (
        check_chat_completion(body)
    )


def test_models_list_shape() -> None:
    assert check_models_list({"object": "list", "data": []}) == []
    assert check_models_list({"object": "list"}) == ["data is missing or not a list"]
    assert check_models_list({"data": [{"object": "model"}]}) == [
        "data[0].id is missing or not a string"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (openai_error("The model `x` does not exist.", "NotFoundError", 404), "The model"),
        ({"object": "error", "message": "old vllm", "code": 400}, "old vllm"),
        (tgi_error("Input validation error", "validation"), "Input validation error"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"unexpected": 1}, None),
        ("text", None),
    ],
)
def test_server_error_message_reads_every_engines_error_body(body: object, message) -> None:
    found = server_error_message(body)
    assert found == message if message is None else message in found


def test_http_errors_become_actionable_lines() -> None:
    not_found = json.dumps(openai_error("The model `x` does not exist.", "NotFoundError", 404))
    assert describe_http_error(404, not_found, "POST", "/v1/completions", "x").startswith(
        "unknown model 'x' (404 from POST /v1/completions"
    )
    assert describe_http_error(404, '{"detail":"Not Found"}', "POST", "/generate", "x") == (
        "POST /generate is not served by this server (404: Not Found)"
    )
    boom = json.dumps(openai_error("CUDA out of memory", "InternalServerError", 500))
    assert describe_http_error(500, boom, "POST", "/v1/chat/completions", "x") == (
        "server error 500 on POST /v1/chat/completions: CUDA out of memory"
    )
    assert "API key" in describe_http_error(401, "", "GET", "/v1/models", "x")
    assert describe_http_error(503, "<html>\n bad gateway\n</html>", "POST", "/g", "x") == (
        "server error 503 on POST /g"
    )


def test_percentile_is_nearest_rank() -> None:
    values = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(values, 50) == 0.3
    assert percentile(values, 95) == 0.5
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_slo_is_judged_on_p95() -> None:
    assert latency_problems("chat", [0.1] * 19 + [2.9], slo_seconds=3) == []
    [problem] = latency_problems("chat", [0.1] * 18 + [3.5, 4.0], slo_seconds=3)
    assert problem == "chat: p95 latency 3.500s exceeds the 3s SLO (p50 0.100s over 20 requests)"
    assert latency_problems("chat", [], slo_seconds=3) == []


def test_identical_problems_are_counted_once() -> None:
    assert summarize_problems(["a", "b", "a", "a"]) == ["a (x3)", "b"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://svc.ns.svc.cluster.local:80/v1/", "http://svc.ns.svc.cluster.local:80"),
        ("https://example.test/models/llama/", "https://example.test/models/llama"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_base_url_normalisation(url: str, expected: str) -> None:
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("localhost:8080", "must start with http:// or https://"),
        ("http://user:secret-token@host", "must not contain credentials"),
        ("http://host/?api_key=secret-token", "must not contain a query string"),
        ("http://host:notaport", "invalid port"),
        ("http:///path", "has no host"),
    ],
)
def test_bad_urls_are_refused_without_echoing_them(url: str, rule: str) -> None:
    with pytest.raises(UserError) as caught:
        normalize_base_url(url)
    assert caught.value.field == "url"
    assert rule in caught.value.rule
    assert "secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"requests": 0}, "--requests"),
        ({"timeout": 0}, "--timeout"),
        ({"slo_seconds": -1}, "--slo-seconds"),
        ({"engine": "triton"}, "--engine"),
        ({"endpoints": ("chat", "embeddings")}, "--endpoint"),
        ({"engine": "vllm", "endpoints": ("generate",)}, "--endpoint"),
        ({"model": "  "}, "--model"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict, field: str) -> None:
    with pytest.raises(UserError) as caught:
        VerifyOptions(base_url="http://127.0.0.1:1", **kwargs)
    assert caught.value.field == field


def test_api_key_is_not_in_the_options_repr() -> None:
    options = VerifyOptions(base_url="http://127.0.0.1:1", api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(options)


# --------------------------------------------------------------------------- fake engines


def test_vllm_passes_and_defaults_the_model_from_v1_models(capsys) -> None:
    with FakeEngineServer(EngineState(engine="vllm", model="org/tiny")) as fake:
        run = run_verify(capsys, fake.url, *FAST)
        chat_models = [body["model"] for body in fake.posts("/v1/chat/completions")]
        completion_models = [body["model"] for body in fake.posts("/v1/completions")]
    assert run.code == 0, run.err
    assert "verify: PASS" in run.out
    assert "vllm at" in run.out and "'org/tiny'" in run.out
    assert chat_models == ["org/tiny", "org/tiny"]
    assert completion_models == ["org/tiny", "org/tiny"]
    assert "error:" not in run.err


def test_vllm_first_listed_model_is_the_default(capsys) -> None:
    state = EngineState(engine="vllm", model="base", served_models=["base", "lora-adapter"])
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--endpoint", "chat")
        models = [body["model"] for body in fake.posts("/v1/chat/completions")]
    assert run.code == 0, run.err
    assert models == ["base", "base"]


def test_tgi_is_waited_for_while_health_is_503(capsys) -> None:
    state = EngineState(engine="tgi", model="org/tgi-model", loading_health_calls=3)
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST)
        health_calls = [p for m, p, _ in fake.state.seen if p == "/health"]
        generate_calls = fake.posts("/generate")
    assert run.code == 0, run.err
    assert len(health_calls) == 4  # three 503s, then ready
    assert "TGI /health answers 503 (model still loading)" in run.err
    assert "tgi at" in run.out and "'org/tgi-model'" in run.out
    assert len(generate_calls) == 2
    assert generate_calls[0]["parameters"]["max_new_tokens"] == 16


def test_tgi_never_ready_fails_with_the_last_reason(capsys) -> None:
    state = EngineState(engine="tgi", loading_health_calls=10_000)
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, "--timeout", "0.3", "--poll-interval", "0.05")
        posts = [p for m, p, _ in fake.state.seen if m == "POST"]
    assert run.code == 1
    assert (
        "error: server not ready after 0.3s: TGI /health answers 503 (model still loading)"
        in run.err
    )
    assert posts == []


def test_connection_refused_is_one_clear_line(capsys) -> None:
    port = free_port()
    run = run_verify(capsys, f"http://127.0.0.1:{port}", "--timeout", "0.2")
    assert run.code == 1
    assert f"error: server not ready after 0.2s: connection refused by 127.0.0.1:{port}" in run.err


def test_unknown_model_is_caught_from_v1_models_before_any_request(capsys) -> None:
    with FakeEngineServer(EngineState(engine="vllm", model="served")) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--model", "other")
        posts = fake.posts("/v1/chat/completions")
    assert run.code == 1
    assert "error: unknown model 'other': the server serves served" in run.err
    assert posts == []


def test_unknown_model_from_a_404_openai_error(capsys) -> None:
    # An OpenAI-compatible server that lists nothing at /v1/models rejects at request time.
    state = EngineState(engine="vllm", model="served", served_models=[])
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--model", "other", "--endpoint", "chat")
    assert run.code == 1
    assert (
        "error: unknown model 'other' (404 from POST /v1/chat/completions: "
        "The model `other` does not exist.) (x2)"
    ) in run.err


def test_tgi_model_mismatch_is_reported(capsys) -> None:
    with FakeEngineServer(EngineState(engine="tgi", model="org/a")) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--model", "org/b")
    assert run.code == 1
    assert "error: unknown model 'org/b': the server serves org/a" in run.err


def test_server_errors_are_reported_per_endpoint(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    body = openai_error("CUDA out of memory", "InternalServerError", 500)
    state.faults["/v1/chat/completions"] = Fault(status=500, body=body)
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST)
    assert run.code == 1
    assert (
        "error: server error 500 on POST /v1/chat/completions: CUDA out of memory (x2)" in run.err
    )
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert not any("/v1/completions" in line for line in errors)  # that endpoint passed
    assert "verify: FAIL" in run.out


def test_body_that_is_not_json_is_malformed(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/v1/completions"] = Fault(text='{"id": "cmpl-1", "choices": [')
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST)
    assert run.code == 1
    assert (
        "error: malformed response from POST /v1/completions: body is not JSON "
        "(application/json) (x2)"
    ) in run.err


def test_response_of_the_wrong_shape_is_malformed(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    bad = chat_completion("m")
    del bad["usage"]
    bad["choices"][0]["message"] = {"role": "assistant"}
    state.faults["/v1/chat/completions"] = Fault(body=bad)
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--json")
    assert run.code == 1
    report = json.loads(run.out)
    assert report["passed"] is False
    [problem] = report["endpoints"]["chat"]["problems"]
    assert problem.startswith("malformed response from POST /v1/chat/completions: ")
    assert "usage is missing or not an object" in problem
    assert "choices[0].message.content is missing or not a string" in problem
    assert report["endpoints"]["completions"]["problems"] == []


def test_tgi_generate_of_the_wrong_shape_is_malformed(capsys) -> None:
    state = EngineState(engine="tgi", model="m")
    state.faults["/generate"] = Fault(body=[{"generated_text": "list, not object"}])
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--engine", "tgi")
    assert run.code == 1
    assert "malformed response from POST /generate: body is a JSON list" in run.err


def test_request_timeout_stops_the_endpoint_after_one_try(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/v1/chat/completions"] = Fault(delay=5)
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--request-timeout", "0.2", "--endpoint", "chat")
        attempts = fake.posts("/v1/chat/completions")
    assert run.code == 1
    assert "error: POST /v1/chat/completions timed out after 0.2s" in run.err
    assert len(attempts) == 1


def test_slow_answers_miss_the_slo(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/v1/completions"] = Fault(delay=0.3)  # answers correctly, but late
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--slo-seconds", "0.05", "--json")
    assert run.code == 1
    report = json.loads(run.out)
    [problem] = report["endpoints"]["completions"]["problems"]
    assert problem.startswith("completions: p95 latency ")
    assert "exceeds the 0.05s SLO" in problem
    assert report["endpoints"]["completions"]["succeeded"] == 2
    assert report["endpoints"]["completions"]["p95_seconds"] >= 0.3


def test_json_report_on_success(capsys) -> None:
    with FakeEngineServer(EngineState(engine="tgi", model="org/m")) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--json", "--endpoint", "chat,completions")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["passed"] is True
    assert report["engine"] == "tgi"
    assert report["model"] == "org/m"
    assert report["slo_seconds"] == 3.0
    assert set(report["endpoints"]) == {"chat", "completions"}
    assert report["endpoints"]["chat"]["succeeded"] == 2
    assert report["problems"] == []


def test_api_key_is_sent_and_never_printed(capsys, monkeypatch) -> None:
    state = EngineState(engine="vllm", model="m", api_key="sk-top-secret")
    with FakeEngineServer(state) as fake:
        refused = run_verify(capsys, fake.url, *FAST)
        monkeypatch.setenv("INFERENCE_API_KEY", "sk-top-secret")
        accepted = run_verify(capsys, fake.url, *FAST, "--json")
    assert refused.code == 1
    assert "the server wants an API key (--api-key)" in refused.err
    assert accepted.code == 0, accepted.err
    for run in (refused, accepted):
        assert "sk-top-secret" not in run.out + run.err


def test_generate_against_vllm_is_bad_input(capsys) -> None:
    with FakeEngineServer(EngineState(engine="vllm", model="m")) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--endpoint", "generate")
    assert run.code == 2
    assert run.err.strip() == "error: --endpoint: generate is TGI's route; the server is vllm"


def test_bad_input_exits_2_with_one_line(capsys) -> None:
    run = run_verify(capsys, "http://127.0.0.1:1", "--requests", "0")
    assert run.code == 2
    assert run.err.strip() == "error: --requests: must be greater than 0"
    run = run_verify(capsys, "127.0.0.1:8080")
    assert run.code == 2
    assert run.err.strip() == "error: url: must start with http:// or https://"


# --- progress while waiting --------------------------------------------------------------------


def test_progress_on_a_log_prints_state_changes_and_a_heartbeat() -> None:
    """In CI logs a long model download still shows the wait is alive, without one line per
    poll; a terminal gets a live status line instead."""
    import io

    from rich.console import Console

    from inference_scaffolder.cli.verify import HEARTBEAT_SECONDS, stderr_progress

    buffer = io.StringIO()
    now = [0.0]
    console = Console(file=buffer, force_terminal=False, width=200)
    with stderr_progress(console, clock=lambda: now[0]) as progress:
        for second in range(0, 95, 5):
            now[0] = float(second)
            reason = "connection refused" if second < 10 else "GET /health answered 503"
            progress(f"waiting for http://x ({second}s of 600s): {reason}")
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "waiting for http://x (0s of 600s): connection refused"
    assert lines[1] == "waiting for http://x (10s of 600s): GET /health answered 503"
    # Then one line per heartbeat while the state lasts, not one per poll.
    assert [line.split(" (")[1].split("s of")[0] for line in lines[2:]] == [
        str(int(10 + HEARTBEAT_SECONDS * k)) for k in range(1, 3)]
