"""Model registration for routing: the artefacts, per-environment enable/disable, and the
misconfigurations that must fail validation instead of routing to nowhere."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from chart_render import (
    copy_repo,
    generated,
    litellm_model_list,
    render,
    render_error,
    render_list,
    set_environment_value,
    set_path,
)

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.checks.routing import check_fleet_routing, check_routing
from inference_scaffolder.checks.validate import validate_repo
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.service.routing import LITELLM_CHECKSUM_ANNOTATION, litellm_release_values

VLLM = {
    "service_name": "llama-router",
    "namespace": "llm-serving",
    "engine": "vllm",
    "model_id": "meta-llama/Llama-3.1-8B-Instruct",
    "model_revision": "0e9e39f249a16976918f6564b8830bc894c89659",
    "served_model_name": "llama-3.1-8b",
    "environments": ["dev", "prod"],
    "routing": True,
    "envoy_ai_gateway": True,
    "rate_limit_per_minute": 120,
    "inference_pool": True,
}
TGI = {
    "service_name": "tiny-router",
    "engine": "tgi",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "model_revision": "fe8a4ea1ffedaf415f4da2f062534de366a451e6",
    "served_model_name": "tinyllama",
    "environments": ["dev", "prod"],
    "routing": True,
    "envoy_ai_gateway": True,
    "rate_limit_per_minute": 30,
}
REGISTRATION_KINDS = {"AIGatewayRoute", "AIServiceBackend", "Backend", "RateLimitPolicy",
                      "InferencePool"}


@pytest.fixture(scope="module")
def vllm_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generated(VLLM, tmp_path_factory.mktemp("vllm-routing"))


@pytest.fixture(scope="module")
def tgi_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generated(TGI, tmp_path_factory.mktemp("tgi-routing"))


def _kinds(objects: dict[str, dict[str, Any]]) -> set[str]:
    return {o["kind"] for o in objects.values()}


# --- the artefacts -------------------------------------------------------------------------


def test_routing_artefacts_validate_against_their_crd_schemas(
    vllm_repo: GenerationResult, tgi_repo: GenerationResult
) -> None:
    for result, expected in [(vllm_repo, {"ConfigMap", "AIGatewayRoute", "RateLimitPolicy",
                                          "InferencePool"}),
                             (tgi_repo, {"ConfigMap", "AIGatewayRoute", "AIServiceBackend",
                                         "Backend", "RateLimitPolicy"})]:
        report = result.report
        assert report is not None and report.ok, [e.problems() for e in report.environments]
        for environment in report.environments:
            kinds = {o.kind for o in environment.objects}
            assert expected <= kinds, environment.environment
            assert all(o.ok for o in environment.objects)


def test_litellm_entry_points_at_the_service_under_the_served_name(
    vllm_repo: GenerationResult, tgi_repo: GenerationResult
) -> None:
    [vllm_entry] = litellm_model_list(render(vllm_repo.output, "prod"))
    assert vllm_entry == {
        "model_name": "llama-3.1-8b",
        "litellm_params": {
            "model": "hosted_vllm/llama-3.1-8b",
            "api_base": "http://llama-router.llm-serving.svc.cluster.local:80/v1",
            "api_key": "none",
        },
    }
    [tgi_entry] = litellm_model_list(render(tgi_repo.output, "prod"))
    assert tgi_entry["litellm_params"]["model"] == "openai/tinyllama"
    assert tgi_entry["litellm_params"]["api_base"] == (
        "http://tiny-router.ml-inference.svc.cluster.local:80/v1")


def test_litellm_key_is_a_reference_never_a_value(tgi_repo: GenerationResult) -> None:
    [entry] = litellm_model_list(render(tgi_repo.output, "dev",
                                        "routing.litellm.apiKeyEnv=TINY_ROUTER_KEY"))
    assert entry["litellm_params"]["api_key"] == "os.environ/TINY_ROUTER_KEY"


def test_litellm_file_lands_in_the_litellm_namespace(tgi_repo: GenerationResult) -> None:
    objects = render(tgi_repo.output, "dev", "routing.litellm.namespace=litellm")
    config_map = objects["ConfigMap/ml-inference-tiny-router-litellm"]
    assert config_map["metadata"]["namespace"] == "litellm"
    assert check_routing(objects.values()) == []


def test_gateway_chain_uses_an_llm_timeout_and_the_service_fqdn(
    tgi_repo: GenerationResult
) -> None:
    objects = render(tgi_repo.output, "prod")
    rule = objects["AIGatewayRoute/tiny-router"]["spec"]["rules"][0]
    assert rule["backendRefs"] == [{"name": "tiny-router"}]
    assert rule["timeouts"]["request"] == "300s"
    backend = objects["AIServiceBackend/tiny-router"]["spec"]
    assert backend["schema"] == {"name": "OpenAI", "prefix": "/v1"}
    assert backend["backendRef"] == {"group": "gateway.envoyproxy.io", "kind": "Backend",
                                     "name": "tiny-router-backend"}
    assert objects["Backend/tiny-router-backend"]["spec"]["endpoints"] == [
        {"fqdn": {"hostname": "tiny-router.ml-inference.svc.cluster.local", "port": 80}}]
    policy = objects["RateLimitPolicy/tiny-router-rate-limit"]["spec"]
    # Kuadrant targets Gateway API routes: the HTTPRoute generated for the AIGatewayRoute.
    assert policy["targetRef"] == {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                   "name": "tiny-router"}
    assert policy["limits"]["per-model"]["rates"] == [{"limit": 30, "window": "1m"}]


def test_ai_gateway_api_version_can_be_overridden(tgi_repo: GenerationResult) -> None:
    objects = render(tgi_repo.output, "dev",
                     "apiVersions.aiGateway=aigateway.envoyproxy.io/v1alpha1")
    assert objects["AIGatewayRoute/tiny-router"]["apiVersion"] == (
        "aigateway.envoyproxy.io/v1alpha1")
    assert objects["AIServiceBackend/tiny-router"]["apiVersion"] == (
        "aigateway.envoyproxy.io/v1alpha1")


def test_vllm_inference_pool_selects_the_engine_pods(vllm_repo: GenerationResult) -> None:
    objects = render(vllm_repo.output, "prod")
    pool = objects["InferencePool/llama-router-pool"]["spec"]
    labels = objects["Deployment/llama-router"]["spec"]["template"]["metadata"]["labels"]
    assert pool["selector"]["matchLabels"].items() <= labels.items()
    assert pool["targetPorts"] == [{"number": 8000}]
    assert pool["endpointPickerRef"] == {"kind": "Service", "name": "llama-router-epp",
                                         "port": {"number": 9002}, "failureMode": "FailClose"}
    rule = objects["AIGatewayRoute/llama-router"]["spec"]["rules"][0]
    assert rule["backendRefs"] == [{"group": "inference.networking.k8s.io",
                                    "kind": "InferencePool", "name": "llama-router-pool"}]


def test_inference_pool_with_tgi_is_refused(tgi_repo: GenerationResult) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**TGI, "inference_pool": True})
    assert caught.value.field == "inference_pool"
    assert "TGI does not export" in caught.value.rule
    message = render_error(tgi_repo.output, "dev", "routing.inferencePool.enabled=true")
    assert "routing.inferencePool.enabled" in message
    assert "tgi does not export the model-server metrics" in message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"routing": False, "envoy_ai_gateway": True, "rate_limit_per_minute": 0},
         "envoy_ai_gateway"),
        ({"envoy_ai_gateway": False}, "rate_limit_per_minute"),
    ],
)
def test_routing_options_need_their_prerequisites(overrides: dict[str, Any], field: str
                                                  ) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**TGI, **overrides})
    assert caught.value.field == field


def test_routing_is_off_unless_asked_for(tmp_path: Path) -> None:
    answers = {k: v for k, v in TGI.items()
               if k not in {"routing", "envoy_ai_gateway", "rate_limit_per_minute"}}
    repo = generated(answers, tmp_path).output
    assert not (_kinds(render(repo, "dev")) & (REGISTRATION_KINDS | {"ConfigMap"}))


# --- enable / disable per environment ------------------------------------------------------


def test_disabling_an_environment_deregisters_only_there(vllm_repo: GenerationResult,
                                                         tmp_path: Path) -> None:
    repo = copy_repo(vllm_repo.output, tmp_path)
    enabled = render(repo, "dev")
    set_environment_value(repo, "dev", "routing.enabled", False)

    disabled = render(repo, "dev")
    assert not _kinds(disabled) & REGISTRATION_KINDS
    assert litellm_model_list(disabled) == []  # the name is refused by LiteLLM
    config_map = disabled["ConfigMap/llm-serving-llama-router-litellm"]
    assert config_map["metadata"]["annotations"]["platform/registration-state"] == "disabled"
    # LiteLLM restarts on the change: the checksum its pod template carries moves.
    before = enabled["ConfigMap/llm-serving-llama-router-litellm"]["metadata"]["annotations"]
    assert (config_map["metadata"]["annotations"]["platform/registration-checksum"]
            != before["platform/registration-checksum"])
    assert {"AIGatewayRoute", "RateLimitPolicy", "InferencePool"} <= _kinds(render(repo, "prod"))
    assert validate_repo(repo).ok

    set_environment_value(repo, "dev", "routing.enabled", True)
    assert render(repo, "dev") == enabled


# --- misconfigurations fail validation ----------------------------------------------------


def _routing_problems(repo: Path) -> list[str]:
    report = validate_repo(repo)
    assert not report.ok
    return [p for e in report.environments for p in e.problems() if "routing:" in p]


def test_engine_name_differing_from_the_registration_fails(vllm_repo: GenerationResult,
                                                           tmp_path: Path) -> None:
    repo = copy_repo(vllm_repo.output, tmp_path)
    set_environment_value(repo, "prod", "container.extraArgs",
                          ["--served-model-name", "something-else"])
    problems = _routing_problems(repo)
    assert any("registers model 'llama-3.1-8b'" in p and "something-else" in p
               for p in problems), problems
    assert all(p.startswith(("Deployment/", "ConfigMap/", "AIGatewayRoute/")) for p in problems)


def _mutated(objects: list[dict[str, Any]], kind: str, change: Any) -> list[dict[str, Any]]:
    changed = copy.deepcopy(objects)
    for obj in changed:
        if obj["kind"] == kind:
            change(obj)
    return changed


def _messages(objects: list[dict[str, Any]]) -> list[str]:
    return [f"{p.kind}/{p.name}: {p.message}" for p in check_routing(objects)]


def test_the_rendered_chains_are_complete(vllm_repo: GenerationResult,
                                          tgi_repo: GenerationResult) -> None:
    assert _messages(render_list(vllm_repo.output, "prod")) == []
    assert _messages(render_list(tgi_repo.output, "prod")) == []


def _set(path: list[Any], value: Any) -> Any:
    def change(obj: dict[str, Any]) -> None:
        set_path(obj, path, value)
    return change


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("Backend", _set(["spec", "endpoints", 0, "fqdn", "port"], 8080),
         "Backend tiny-router-backend leads nowhere: Service ml-inference/tiny-router has no "
         "port 8080"),
        ("Backend", _set(["spec", "endpoints", 0, "fqdn", "hostname"],
                         "gone.ml-inference.svc.cluster.local"),
         "no Service ml-inference/gone is rendered"),
        ("AIServiceBackend", _set(["metadata", "name"], "renamed"),
         "no AIServiceBackend ml-inference/tiny-router is rendered"),
        ("AIServiceBackend", _set(["spec", "backendRef", "name"], "missing"),
         "points at Backend ml-inference/missing, which is not rendered"),
        ("AIGatewayRoute", _set(["spec", "rules", 0, "matches", 0, "headers", 0, "value"],
                                "tiny-llama"),
         "registers model 'tiny-llama' but backend tiny-router serves 'tinyllama'"),
        ("AIGatewayRoute", _set(["spec", "rules", 0, "timeouts", "request"], "15s"),
         "too short for LLM generations"),
        ("ConfigMap", lambda o: o["data"].update(models=o["data"]["models.yaml"]),
         "model 'tinyllama' is registered twice"),
        ("ConfigMap", lambda o: o["data"].update({"models.yaml": o["data"]["models.yaml"]
                                                 .replace(":80/v1", ":8080/v1")}),
         "api_base leads nowhere: Service ml-inference/tiny-router has no port 8080"),
        ("ConfigMap", lambda o: o["data"].update({"models.yaml": o["data"]["models.yaml"]
                                                 .replace("api_key: none", "api_key: sk-123")}),
         "api_key holds a literal value"),
        ("ConfigMap", lambda o: o["data"].update({"models.yaml": o["data"]["models.yaml"]
                                                 .replace("model_name: tinyllama",
                                                          "model_name: tiny")}),
         "model 'tiny' is sent to the engine as 'tinyllama'"),
        ("RateLimitPolicy", _set(["spec", "targetRef", "name"], "nothing"),
         "targets HTTPRoute ml-inference/nothing, which no rendered HTTPRoute or "
         "AIGatewayRoute produces"),
        ("RateLimitPolicy", _set(["spec", "targetRef", "kind"], "AIGatewayRoute"),
         "targetRef must be a gateway.networking.k8s.io HTTPRoute"),
    ],
)
def test_broken_tgi_chains_are_reported(tgi_repo: GenerationResult, kind: str, change: Any,
                                        expected: str) -> None:
    objects = _mutated(render_list(tgi_repo.output, "prod"), kind, change)
    messages = _messages(objects)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("InferencePool", _set(["spec", "selector", "matchLabels"], {"app": "other"}),
         "selects no rendered Deployment's pods"),
        ("InferencePool", _set(["spec", "targetPorts"], [{"number": 8080}]),
         "targetPorts [8080] are not ports of Deployment llama-router"),
        ("InferencePool", _set(["metadata", "name"], "x"),
         "no InferencePool llm-serving/llama-router-pool is rendered"),
        ("InferencePool", lambda o: o["spec"]["endpointPickerRef"].pop("port"),
         "endpointPickerRef to a Service needs port.number"),
    ],
)
def test_broken_vllm_pool_chains_are_reported(vllm_repo: GenerationResult, kind: str,
                                              change: Any, expected: str) -> None:
    objects = _mutated(render_list(vllm_repo.output, "prod"), kind, change)
    messages = _messages(objects)
    assert any(expected in m for m in messages), messages


def test_inference_pool_in_front_of_tgi_is_reported(tgi_repo: GenerationResult,
                                                    vllm_repo: GenerationResult) -> None:
    pool = next(o for o in render_list(vllm_repo.output, "prod") if o["kind"] == "InferencePool")
    pool = copy.deepcopy(pool)
    pool["metadata"]["namespace"] = "ml-inference"
    pool["spec"]["selector"]["matchLabels"] = {"app": "tiny-router"}
    pool["spec"]["targetPorts"] = [{"number": 8080}]
    messages = _messages([*render_list(tgi_repo.output, "prod"), pool])
    assert any("does not run vLLM" in m for m in messages), messages


# --- the fleet -----------------------------------------------------------------------------


def test_one_name_registered_by_two_services_fails_the_fleet_check(
    tgi_repo: GenerationResult, tmp_path: Path
) -> None:
    twin = generated({**TGI, "service_name": "tiny-router-twin"}, tmp_path / "twin").output
    problems = check_fleet_routing([tgi_repo.output, twin])
    for environment in ("dev", "prod"):
        for router in ("LiteLLM in namespace ml-inference", "Gateway ml-inference/ai-gateway"):
            assert any(p.startswith(f"{environment}: model 'tinyllama' is registered by 2 "
                                    f"services on {router}") for p in problems), problems

    set_environment_value(twin, "prod", "routing.enabled", False)
    problems = check_fleet_routing([tgi_repo.output, twin])
    assert problems and all(p.startswith("dev: ") for p in problems), problems
    assert check_fleet_routing([tgi_repo.output, tgi_repo.output]) == []


def test_distinct_names_pass_the_fleet_check(tgi_repo: GenerationResult,
                                             vllm_repo: GenerationResult) -> None:
    assert check_fleet_routing([tgi_repo.output, vllm_repo.output]) == []


def test_litellm_release_values_restart_litellm_on_a_registration_change(
    tgi_repo: GenerationResult, vllm_repo: GenerationResult, tmp_path: Path
) -> None:
    repos = [copy_repo(r.output, tmp_path) for r in (tgi_repo, vllm_repo)]
    for repo in repos:
        set_environment_value(repo, "prod", "routing.litellm.namespace", "litellm")
    values = litellm_release_values(repos, "prod")
    files = ["llm-serving-llama-router-litellm", "ml-inference-tiny-router-litellm"]
    assert values["proxy_config"]["include"] == [f"/etc/litellm/models/{f}.yaml" for f in files]
    sources = values["volumes"][0]["projected"]["sources"]
    assert [s["configMap"]["name"] for s in sources] == files
    assert values["volumeMounts"][0]["mountPath"] == "/etc/litellm/models"
    before = values["podAnnotations"][LITELLM_CHECKSUM_ANNOTATION]

    set_environment_value(repos[0], "prod", "routing.enabled", False)
    after = litellm_release_values(repos, "prod")
    assert after["proxy_config"] == values["proxy_config"]  # the file stays, emptied
    assert after["podAnnotations"][LITELLM_CHECKSUM_ANNOTATION] != before


def test_litellm_files_in_several_namespaces_are_refused(tgi_repo: GenerationResult,
                                                         vllm_repo: GenerationResult) -> None:
    with pytest.raises(UserError) as caught:
        litellm_release_values([tgi_repo.output, vllm_repo.output], "prod")
    assert "set routing.litellm.namespace" in caught.value.rule
