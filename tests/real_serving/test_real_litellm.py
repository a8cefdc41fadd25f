"""The real LiteLLM proxy loads the rendered registration and routes it to the real vLLM.

LiteLLM (version in requirements/litellm.txt) is configured from the values that
``litellm_release_values`` computes for the LiteLLM release: the registration files are
written where the release's projected volume mounts them and loaded with ``include``; the
variables of ``environmentSecrets`` come from the rendered ExternalSecrets and the same fake
Vault the engine's key comes from. So a registration that names the wrong variable, a key
that never reaches LiteLLM's namespace, or a disabled name that still routes fails here.
SC-003: a registered name routes; a disabled or unknown one is refused, every time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml
from chart_render import render_list, set_environment_value
from serving_programs import (
    ENVIRONMENT,
    LITELLM_NAMESPACE,
    RunningEngine,
    RunningRouter,
    one_object,
    running_litellm,
    uses_engine,
)
from verify_cli import isolate_verify_cli, run_verify

from inference_scaffolder.service.routing import litellm_release_values

REFUSALS = 5  # "refused every time": several requests, every one refused
VERIFY_ARGS = ("--timeout", "120", "--requests", "2", "--slo-seconds", "600",
               "--request-timeout", "300")




@pytest.fixture(autouse=True)
def _no_key_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_verify_cli(monkeypatch)


def registration(engine: RunningEngine) -> dict:
    """The single model_list entry of the service's rendered LiteLLM file."""
    (config_map,) = [o for o in engine.objects if o["kind"] == "ConfigMap"
                     and o["metadata"]["namespace"] == LITELLM_NAMESPACE]
    (entry,) = yaml.safe_load(config_map["data"]["models.yaml"])["model_list"]
    return entry


def assert_invalid_model(response: httpx.Response, model: str) -> None:
    """LiteLLM's refusal of a name it has no deployment for."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert f"Invalid model name passed in model={model}" in error["message"]


@pytest.mark.slow
@uses_engine("open", "keyed")
def test_router_routes_the_registered_name_and_refuses_an_unregistered_one(
        engine: RunningEngine, router: RunningRouter) -> None:
    entry = registration(engine)
    assert entry["model_name"] == engine.served_name
    routed = router.chat(engine.served_name)
    assert routed.status_code == 200, f"{routed.text}\n{router.server.tail()}"
    body = routed.json()
    assert body["object"] == "chat.completion"
    assert isinstance(body["choices"][0]["message"]["content"], str)
    assert body["usage"]["completion_tokens"] > 0
    for _ in range(REFUSALS):
        assert_invalid_model(router.chat("not-registered"), "not-registered")


@pytest.mark.slow
@uses_engine("keyed")
def test_engine_key_reaches_the_engine_from_vault_through_the_router(
        engine: RunningEngine, router: RunningRouter) -> None:
    entry = registration(engine)
    reference = entry["litellm_params"]["api_key"]
    assert reference.startswith("os.environ/"), reference
    # The variable is one of the Secrets the LiteLLM release loads, read from the Vault path
    # the engine's own key comes from; its value is never in the file.
    variable = reference.removeprefix("os.environ/")
    values = litellm_release_values([engine.repo], ENVIRONMENT)
    (secret_name,) = values["environmentSecrets"]
    external = one_object(engine.objects, "ExternalSecret", secret_name, LITELLM_NAMESPACE)
    (data,) = external["spec"]["data"]
    assert data["secretKey"] == variable
    assert engine.vault[data["remoteRef"]["key"]] == engine.api_key
    assert engine.api_key not in json.dumps(engine.objects)
    for _ in range(3):
        routed = router.chat(engine.served_name)
        assert routed.status_code == 200, f"{routed.text}\n{router.server.tail()}"


@pytest.mark.slow
@uses_engine("open")
def test_disabled_registration_is_refused_every_time(
        engine: RunningEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(shutil.copytree(engine.repo, tmp_path / engine.repo.name, symlinks=True))
    set_environment_value(repo, ENVIRONMENT, "routing.enabled", False)
    objects = render_list(repo, ENVIRONMENT)
    values = litellm_release_values([repo], ENVIRONMENT)
    with running_litellm(values, objects, LITELLM_NAMESPACE, engine.url, engine.vault,
                         tmp_path / "litellm") as router:
        for _ in range(REFUSALS):
            assert_invalid_model(router.chat(engine.served_name), engine.served_name)
        # verify sees a server that lists nothing, and names LiteLLM's refusal per request.
        monkeypatch.setenv("INFERENCE_API_KEY", router.master_key)
        unnamed = run_verify(capsys, router.url, "--timeout", "30")
        assert unnamed.code == 2
        assert unnamed.err.strip().endswith(
            "error: --model: the server lists no models at /v1/models; name one with --model")
        named = run_verify(capsys, router.url, "--model", engine.served_name, "--timeout", "30",
                           "--requests", "2", "--endpoint", "chat")
        assert named.code == 1
        assert ("error: POST /v1/chat/completions rejected with 400: /chat/completions: "
                f"Invalid model name passed in model={engine.served_name}") in named.err
    # The engine still serves the name: the refusal is the router's, not a dead backend.
    direct = httpx.post(f"{engine.url}/v1/completions", timeout=120,
                        json={"model": engine.served_name, "prompt": "hi", "max_tokens": 2})
    assert direct.status_code == 200, direct.text


@pytest.mark.slow
@uses_engine("open", "keyed")
def test_verify_through_the_router_passes_with_the_master_key(
        engine: RunningEngine, router: RunningRouter, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_API_KEY", router.master_key)
    run = run_verify(capsys, router.url, *VERIFY_ARGS, "--json")
    assert run.code == 0, f"{run.err}\n--- LiteLLM log ---\n{router.server.tail()}"
    report = json.loads(run.out)
    assert report["model"] == engine.served_name
    assert report["endpoints"]["chat"]["succeeded"] == 2
    assert report["endpoints"]["completions"]["succeeded"] == 2


@pytest.mark.slow
@uses_engine("open")
def test_verify_through_the_router_explains_its_refusals(
        engine: RunningEngine, router: RunningRouter, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    without_key = run_verify(capsys, router.url, "--timeout", "30")
    assert without_key.code == 1
    assert "error: GET /health refused (401): the server wants an API key" in without_key.err
    monkeypatch.setenv("INFERENCE_API_KEY", router.master_key)
    unknown = run_verify(capsys, router.url, "--model", "not-registered", "--timeout", "30")
    assert unknown.code == 1
    assert (f"error: unknown model 'not-registered': the server serves {engine.served_name}"
            in unknown.err)
    assert "None" not in unknown.out
    assert router.master_key not in without_key.err + unknown.err + unknown.out
