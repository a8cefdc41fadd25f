"""Both engines from one chart: engine-correct configuration, probes and monitoring, and the
serving failures users of public charts hit made impossible by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_render import (
    engine_container,
    env_entries,
    generated,
    render,
    render_error,
    render_list,
)

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.checks.routing import check_routing
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.service.registration_facts import registration_facts

ENVIRONMENTS = ["dev", "syst", "uat", "prod"]
BASE = {
    "model_id": "mistralai/Mistral-7B-Instruct-v0.3",
    "model_revision": "e0bc86c23ce5aae1db576c8cca6f06f1f73af2db",
    "served_model_name": "mistral-7b",
    "max_input_tokens": 3000,
    "max_total_tokens": 4096,
    "gpu_count": 2,
    "quantization": "awq",
    "routing": True,
    "envoy_ai_gateway": True,
    "failover_backends": ["shared-mistral"],
}
ENGINE_FACTS = {
    # port, startup/readiness path, liveness path, LiteLLM provider
    "tgi": (8080, "/health", "/health", "openai"),
    "vllm": (8000, "/v1/models", "/health", "hosted_vllm"),
}


@pytest.fixture(scope="module", params=["tgi", "vllm"])
def engine_repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> GenerationResult:
    engine = request.param
    answers = {**BASE, "service_name": f"mistral-{engine}", "engine": engine}
    return generated(answers, tmp_path_factory.mktemp(engine))


def _engine(result: GenerationResult) -> str:
    return result.answers["engine"]


def test_every_environment_renders_and_validates(engine_repo: GenerationResult) -> None:
    report = engine_repo.report
    assert report is not None and report.ok, [e.problems() for e in report.environments]
    assert [e.environment for e in report.environments] == ENVIRONMENTS
    for environment in report.environments:
        kinds = {o.kind for o in environment.objects}
        assert {"Deployment", "Service"} <= kinds
        # The platform's routers own the entries: nothing of LiteLLM's or the gateway's here.
        assert not kinds & {"ConfigMap", "AIGatewayRoute", "AIServiceBackend", "Backend"}
        assert check_routing(render_list(engine_repo.output, environment.environment)) == []


def test_tgi_is_configured_through_its_environment(tmp_path: Path) -> None:
    repo = generated({**BASE, "service_name": "tgi-env", "engine": "tgi"}, tmp_path).output
    container = engine_container(render(repo, "prod"), "tgi-env")
    env = {name: entry.get("value") for name, entry in env_entries(container).items()}
    assert container["image"].startswith("ghcr.io/huggingface/text-generation-inference:")
    assert "command" not in container and "args" not in container
    assert env["MODEL_ID"] == BASE["model_id"]
    assert env["REVISION"] == BASE["model_revision"]
    assert env["PORT"] == "8080"
    assert env["MAX_INPUT_TOKENS"] == "3000"
    assert env["MAX_TOTAL_TOKENS"] == "4096"
    assert env["NUM_SHARD"] == "2"
    assert env["QUANTIZE"] == "awq"


def _flag(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, f"{flag} should appear once in {args}"
    return args[args.index(flag) + 1]


def test_vllm_is_configured_through_its_arguments(tmp_path: Path) -> None:
    repo = generated({**BASE, "service_name": "vllm-args", "engine": "vllm"}, tmp_path).output
    container = engine_container(render(repo, "prod"), "vllm-args")
    args = container["args"]
    assert container["image"].startswith("vllm/vllm-openai:")
    assert container["command"] == ["vllm", "serve"]
    assert args[0] == BASE["model_id"]
    assert _flag(args, "--revision") == BASE["model_revision"]
    assert _flag(args, "--served-model-name") == "mistral-7b"
    assert _flag(args, "--port") == "8000"
    assert _flag(args, "--max-model-len") == "4096"
    assert _flag(args, "--tensor-parallel-size") == "2"
    assert _flag(args, "--quantization") == "awq"
    assert float(_flag(args, "--gpu-memory-utilization")) <= 0.95
    assert "QUANTIZE" not in env_entries(container)


def test_probes_and_monitoring_follow_the_engine(engine_repo: GenerationResult) -> None:
    port, loaded_path, liveness_path, _ = ENGINE_FACTS[_engine(engine_repo)]
    objects = render(engine_repo.output, "dev")
    name = engine_repo.answers["service_name"]
    container = engine_container(objects, name)
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == loaded_path
    assert container["readinessProbe"]["httpGet"]["path"] == loaded_path
    assert container["livenessProbe"]["httpGet"]["path"] == liveness_path
    # Liveness only starts once the startup probe passed; its budget covers a model download.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 15 * 60
    annotations = objects[f"Deployment/{name}"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics"}


def test_served_model_name_reaches_the_routers(engine_repo: GenerationResult) -> None:
    _, _, _, provider = ENGINE_FACTS[_engine(engine_repo)]
    objects = render(engine_repo.output, "uat")
    name = engine_repo.answers["service_name"]
    deployment = objects[f"Deployment/{name}"]
    assert deployment["metadata"]["annotations"]["platform/served-model-name"] == "mistral-7b"
    facts = registration_facts(engine_repo.output, "uat")
    assert facts.served_model_name == "mistral-7b"
    assert facts.litellm_model == f"{provider}/mistral-7b"
    assert facts.failover_backends == ("shared-mistral",)


def test_tensor_parallel_pods_get_a_memory_backed_shm(engine_repo: GenerationResult) -> None:
    objects = render(engine_repo.output, "prod")
    name = engine_repo.answers["service_name"]
    pod = objects[f"Deployment/{name}"]["spec"]["template"]["spec"]
    dshm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert dshm["emptyDir"]["medium"] == "Memory"
    assert dshm["emptyDir"]["sizeLimit"] in ("1Gi", "2Gi", "4Gi", "8Gi", "16Gi")
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["dshm"] == "/dev/shm"


def test_rollout_where_downtime_is_allowed_needs_no_spare_gpu(engine_repo: GenerationResult
                                                              ) -> None:
    deployment = render(engine_repo.output, "dev")[
        f"Deployment/{engine_repo.answers['service_name']}"]
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_a_rollout_that_cannot_progress_is_refused(engine_repo: GenerationResult) -> None:
    message = render_error(engine_repo.output, "dev", "strategy.maxUnavailable=0")
    assert "maxSurge and maxUnavailable cannot both be 0" in message


def test_the_model_survives_container_restarts(engine_repo: GenerationResult) -> None:
    objects = render(engine_repo.output, "dev")
    container = engine_container(objects, engine_repo.answers["service_name"])
    pod = objects[f"Deployment/{engine_repo.answers['service_name']}"]["spec"]["template"]["spec"]
    cache = next(v for v in pod["volumes"] if v["name"] == "model-cache")
    assert "emptyDir" in cache  # lives as long as the pod, not the container
    hf_home = env_entries(container)["HF_HOME"]["value"]
    assert {"name": "model-cache", "mountPath": hf_home} in container["volumeMounts"]


def _token_entries(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: e for n, e in env_entries(container).items()
            if n in {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}}


def test_hugging_face_token_only_from_the_secret(engine_repo: GenerationResult) -> None:
    container = engine_container(render(engine_repo.output, "dev"),
                                 engine_repo.answers["service_name"])
    tokens = _token_entries(container)
    expected = {"tgi": {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}, "vllm": {"HF_TOKEN"}}
    assert set(tokens) == expected[_engine(engine_repo)]
    for entry in tokens.values():
        assert "value" not in entry
        assert entry["valueFrom"]["secretKeyRef"]["key"] == "hf-token"


@pytest.mark.parametrize("name", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "VLLM_API_KEY"])
def test_credentials_as_plain_values_are_refused(name: str, engine_repo: GenerationResult
                                                 ) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**BASE, "service_name": "x", "engine": "vllm",
                          "environment_variables": [{"name": name, "value": "hf_x"}]})
    assert caught.value.field == "environment_variables[0].name"
    assert "Vault" in caught.value.rule
    message = render_error(engine_repo.output, "dev", f"container.environment[0].name={name}",
                           "container.environment[0].value=plain")
    assert "holds a credential" in message


def test_api_key_on_the_command_line_is_refused(engine_repo: GenerationResult) -> None:
    message = render_error(engine_repo.output, "dev", "container.extraArgs[0]=--api-key=abc")
    assert "--api-key would put the key in the manifest" in message


def test_vllm_with_an_api_key_is_probed_where_no_key_is_needed(tmp_path: Path) -> None:
    answers = {**BASE, "service_name": "vllm-key", "engine": "vllm",
               "extra_secrets": [{"name": "VLLM_API_KEY", "vaultPath": "/secret/ml/key"}]}
    result = generated(answers, tmp_path)
    assert result.report is not None and result.report.ok
    objects = render(result.output, "dev")
    container = engine_container(objects, "vllm-key")
    # Every /v1 path answers 401 without the key; /health answers once the model is loaded.
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    test_pod = objects["Pod/vllm-key-test-endpoint"]["spec"]["containers"][0]
    api_key = env_entries(test_pod)["API_KEY"]
    assert api_key["valueFrom"]["secretKeyRef"] == {"name": "vllm-key-secrets",
                                                   "key": "vllm-api-key"}
    assert "Authorization: Bearer $API_KEY" in test_pod["command"][-1]


def test_quantization_is_given_once(engine_repo: GenerationResult) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**BASE, "service_name": "x", "engine": "tgi",
                          "environment_variables": [{"name": "QUANTIZE", "value": "gptq"}]})
    assert caught.value.field == "environment_variables[0].name"
    if _engine(engine_repo) == "tgi":
        message = render_error(engine_repo.output, "dev", "container.environment[0].name=QUANTIZE",
                               "container.environment[0].value=gptq")
        assert "QUANTIZE is set by the chart from model.quantization" in message


def test_service_and_pool_never_select_the_helm_test_pod(engine_repo: GenerationResult) -> None:
    name = engine_repo.answers["service_name"]
    objects = render(engine_repo.output, "dev")
    selector = objects[f"Service/{name}"]["spec"]["selector"]
    test_labels = objects[f"Pod/{name}-test-endpoint"]["metadata"]["labels"]
    engine_labels = objects[f"Deployment/{name}"]["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= engine_labels.items()
    assert not selector.items() <= test_labels.items()
