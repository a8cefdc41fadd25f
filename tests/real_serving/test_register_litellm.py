"""The real LiteLLM proxy routes what ``register`` proposes, and refuses the name after
``register --disable``, every time (SC-003), while other services' names keep answering.

LiteLLM runs with a ``model_list`` that is exactly the ``litellm-proxy.litellm.modelList``
of the pull request's branch in the routing repository. The only edit: an ``api_base`` that
names a Service's cluster DNS name, which does not resolve here, points at a stand-in engine
on 127.0.0.1 (path kept). Each stand-in engine demands its own key, so a request routes only
if LiteLLM resolved the entry's ``os.environ/...`` reference to the right variable. Two
proxy starts: with the registration, and after the disable (LiteLLM without a database
reads its configuration only when it starts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from chart_render import generated
from common import EXAMPLES
from fake_engine_server import EngineState, FakeEngineServer
from routing_repo import OTHER_MODEL, make_routing_repo, merge, show
from serving_programs import (
    INSTALL_SCRIPT,
    LITELLM_READY_SECONDS,
    LITELLM_VENV,
    ServerProcess,
    base_environment,
    free_port,
    new_key,
    real_serving_required,
    wait_for_200,
)

from inference_scaffolder.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.real_serving]

LITELLM_VALUES = "environments/dev/inference-infrastructure.yaml"
SERVICE = "llama31-8b-instruct"
BRANCH = f"inference-scaffolder/register/dev/llm-serving/{SERVICE}"
REQUESTS_AFTER_DISABLE = 100


def require_litellm() -> None:
    """Skip on a machine without LiteLLM; fail in CI (or with REQUIRE_SERVE_TEST=1)."""
    if (LITELLM_VENV / "bin" / "litellm").is_file():
        return
    message = f"LiteLLM is not installed in {LITELLM_VENV}: run bash {INSTALL_SCRIPT}"
    if real_serving_required():
        pytest.fail(message)
    pytest.skip(message)


def branch_model_list(routing: Path) -> list[dict]:
    values = yaml.safe_load(show(routing, BRANCH, LITELLM_VALUES))
    return values["litellm-proxy"]["litellm"]["modelList"]


def key_variables(model_list: list[dict]) -> list[str]:
    return [item["litellm_params"]["api_key"].removeprefix("os.environ/")
            for item in model_list
            if str(item["litellm_params"].get("api_key", "")).startswith("os.environ/")]


def pointed_at(model_list: list[dict], engines: dict[str, str]) -> list[dict]:
    """The list with each in-cluster ``api_base`` host replaced by its stand-in's address."""
    routed = yaml.safe_load(yaml.safe_dump(model_list))
    for item in routed:
        params = item["litellm_params"]
        if "api_base" in params:
            parts = urlsplit(params["api_base"])
            params["api_base"] = engines[parts.hostname or ""] + parts.path
    return routed


@contextlib.contextmanager
def litellm(model_list: list[dict], keys: dict[str, str], workdir: Path
            ) -> Iterator[tuple[str, str]]:
    """LiteLLM on ``model_list``, its pod's variables ``keys``; yields (url, master key)."""
    workdir.mkdir(parents=True)
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"model_list": model_list}), encoding="utf-8")
    master = new_key("sk-")
    port = free_port()
    env = base_environment(workdir / "home")
    env.update(keys, LITELLM_MASTER_KEY=master, LITELLM_LOCAL_MODEL_COST_MAP="True")
    server = ServerProcess([str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config),
                            "--host", "127.0.0.1", "--port", str(port)],
                           env, workdir / "litellm.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_200(server, f"{url}/health/liveliness", LITELLM_READY_SECONDS, "LiteLLM")
        yield url, master
    finally:
        server.stop()


def chat(client: httpx.Client, url: str, master: str, model: str) -> httpx.Response:
    return client.post(f"{url}/v1/chat/completions", timeout=60,
                       headers={"Authorization": f"Bearer {master}"},
                       json={"model": model, "max_tokens": 4,
                             "messages": [{"role": "user", "content": "hi"}]})


def assert_invalid_model(response: httpx.Response, model: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert f"Invalid model name passed in model={model}" in error["message"]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vLLM example (engine key from Vault) with routing on."""
    require_litellm()
    answers = yaml.safe_load((EXAMPLES / "vllm-llama-8b.yaml").read_text(encoding="utf-8"))
    answers.update(routing=True)
    return generated(answers, tmp_path_factory.mktemp("service")).output


def test_litellm_routes_the_registration_and_refuses_it_after_disable(
        service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routing = make_routing_repo(tmp_path / "platform")
    assert main(["register", str(service), "--env", "dev", "--routing-repo", str(routing)]) == 0
    registered = branch_model_list(routing)
    (ours,) = [i for i in registered if i.get("model_info", {}).get("platform_service")
               == f"llm-serving/{SERVICE}"]
    served = ours["model_name"]
    ours_key, other_key = new_key(), new_key()
    keys = dict.fromkeys(key_variables(registered), "unused-provider-key")
    ours_variable = ours["litellm_params"]["api_key"].removeprefix("os.environ/")
    keys[ours_variable] = ours_key
    keys["ENGINE_KEY_LLM_SERVING_OTHER"] = other_key
    with FakeEngineServer(EngineState(model=served, api_key=ours_key)) as engine, \
            FakeEngineServer(EngineState(model=OTHER_MODEL, api_key=other_key)) as other, \
            httpx.Client() as client:
        engines = {urlsplit(ours["litellm_params"]["api_base"]).hostname: engine.url,
                   "other.llm-serving.svc.cluster.local": other.url}
        # The stand-in refuses a caller without the key: only the resolved variable routes.
        keyless = client.post(f"{engine.url}/v1/chat/completions", json={"model": served})
        assert keyless.status_code == 401
        with litellm(pointed_at(registered, engines), keys, tmp_path / "first") as (url, master):
            routed = chat(client, url, master, served)
            assert routed.status_code == 200, routed.text
            assert routed.json()["choices"][0]["message"]["content"]
            assert chat(client, url, master, OTHER_MODEL).status_code == 200
        capsys.readouterr()
        merge(routing, BRANCH, tmp_path)
        assert main(["register", str(service), "--env", "dev", "--routing-repo", str(routing),
                     "--disable"]) == 0
        disabled = branch_model_list(routing)
        assert served not in [i["model_name"] for i in disabled]
        with litellm(pointed_at(disabled, engines), keys, tmp_path / "second") as (url, master):
            for _ in range(REQUESTS_AFTER_DISABLE):
                assert_invalid_model(chat(client, url, master, served), served)
            assert chat(client, url, master, OTHER_MODEL).status_code == 200
        reached = len(engine.posts("/v1/chat/completions"))
        assert reached == 2  # the keyless probe and the one routed request, nothing after
