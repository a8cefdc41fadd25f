"""``verify``'s refusal messages when a server (or a router in front of one) says no.

Seen against the real LiteLLM proxy (tests/real_serving/): a router that refuses its own
caller, a router whose engine refuses the router's key, a readiness path answering a client
error that waiting cannot cure, and a model the server does not serve. The fake engine
(tests/support/fake_engine_server.py) reproduces each answer here so the messages are pinned
without starting the real programs.
"""

from __future__ import annotations

import pytest
from fake_engine_server import EngineState, FakeEngineServer, Fault, openai_error
from verify_cli import isolate_verify_cli, run_verify

from inference_scaffolder.verify import describe_http_error

# LiteLLM's answer when the engine behind it refuses the key LiteLLM sent.
ENGINE_REFUSED_ROUTER = openai_error(
    'litellm.AuthenticationError: AuthenticationError: Hosted_vllmException - '
    '{"error":"Unauthorized"}', "authentication_error", 401)




@pytest.fixture(autouse=True)
def _isolated_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_verify_cli(monkeypatch)


FAST = ("--poll-interval", "0.05", "--requests", "1")


def test_a_401_says_whether_a_key_was_sent() -> None:
    body = '{"error": {"message": "Authentication Error, No api key passed in."}}'
    assert describe_http_error(401, body, "GET", "/health", "") == (
        "GET /health refused (401): the server wants an API key (--api-key)")
    assert describe_http_error(401, body, "GET", "/health", "", key_sent=True) == (
        "GET /health refused (401): the API key was not accepted: "
        "Authentication Error, No api key passed in.")


def test_an_engine_refusing_the_routers_key_is_quoted(capsys, monkeypatch) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/v1/chat/completions"] = Fault(status=401, body=ENGINE_REFUSED_ROUTER)
    monkeypatch.setenv("INFERENCE_API_KEY", "sk-router-master")
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--timeout", "5", "--endpoint", "chat")
    assert run.code == 1
    assert ("error: POST /v1/chat/completions refused (401): the API key was not accepted: "
            "litellm.AuthenticationError: AuthenticationError: Hosted_vllmException") in run.err
    assert "sk-router-master" not in run.err + run.out


def test_a_client_error_at_readiness_stops_at_once_with_the_servers_words(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/health"] = Fault(status=400, body=openai_error(
        "No connected db.", "no_db_connection", 400))
    with FakeEngineServer(state) as fake:
        # A budget far beyond the test: the answer must come from the 400, not the timeout.
        run = run_verify(capsys, fake.url, *FAST, "--timeout", "600")
    assert run.code == 1
    assert "error: GET /health rejected with 400: No connected db." in run.err
    assert "not ready after" not in run.err


def test_a_server_error_at_readiness_is_waited_for_and_quoted(capsys) -> None:
    state = EngineState(engine="vllm", model="m")
    state.faults["/health"] = Fault(status=500, body=openai_error("engine dead", "x", 500))
    with FakeEngineServer(state) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--timeout", "0.3")
    assert run.code == 1
    assert "error: server not ready after 0.3s: /health answers 500: engine dead" in run.err


def test_an_unknown_model_names_no_model_in_the_first_line(capsys) -> None:
    with FakeEngineServer(EngineState(engine="vllm", model="served")) as fake:
        run = run_verify(capsys, fake.url, *FAST, "--timeout", "5", "--model", "other")
    assert run.code == 1
    first = run.out.splitlines()[0]
    assert first.startswith(f"vllm at {fake.url}, ready after ")
    assert "None" not in run.out
    assert "error: unknown model 'other': the server serves served" in run.err
