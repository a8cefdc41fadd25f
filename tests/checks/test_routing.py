"""The service side of routing: the chart leaves the routers to the platform, an
InferencePool follows the platform's inference-gateway naming, and a broken pool chain fails
validation instead of failing every request."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from chart_render import (
    copy_repo,
    generated,
    render,
    render_error,
    render_list,
    set_environment_value,
    set_path,
)
from service_answers import routed_llama, routed_tinyllama

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.checks.routing import check_routing
from inference_scaffolder.checks.validate import validate_repo
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import GenerationResult

VLLM = routed_llama(
    "llama-router", failover_backends=["shared-llama-fallback"], rate_limit_per_minute=120,
    ingress_host="llama.example.com",
    extra_secrets=[{"name": "VLLM_API_KEY", "vaultPath": "/secret/llm/llama-router-key"}])
TGI = routed_tinyllama(
    "tiny-router", served_model_name="tinyllama", envoy_ai_gateway=True,
    failover_backends=["openai-fallback", "shared-tgi"], rate_limit_per_minute=30)
# What the platform's routers own now: a service rendering any of these would compete with
# the platform's models chart or write into LiteLLM's configuration.
ROUTER_KINDS = {"AIGatewayRoute", "AIServiceBackend", "Backend", "BackendSecurityPolicy",
                "RateLimitPolicy", "ConfigMap"}
PICKER = "epp-llama-router-inference-gateway-epp"
INTERNAL_GATEWAY = "epp-llama-router-inference-gateway"


@pytest.fixture(scope="module")
def vllm_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generated(VLLM, tmp_path_factory.mktemp("vllm-routing"))


@pytest.fixture(scope="module")
def tgi_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generated(TGI, tmp_path_factory.mktemp("tgi-routing"))


def _kinds(objects: dict[str, dict[str, Any]]) -> set[str]:
    return {o["kind"] for o in objects.values()}


# --- what the chart renders ----------------------------------------------------------------


def test_the_chart_renders_no_router_entry_and_nothing_outside_its_namespace(
    vllm_repo: GenerationResult, tgi_repo: GenerationResult
) -> None:
    for result, namespace in [(vllm_repo, "llm-serving"), (tgi_repo, "ml-inference")]:
        for environment in ("dev", "prod"):
            objects = render_list(result.output, environment)
            assert not {o["kind"] for o in objects} & ROUTER_KINDS
            assert {o["metadata"]["namespace"] for o in objects} == {namespace}
            assert not [o for o in objects if o["kind"] == "ExternalSecret"
                        and "litellm" in o["metadata"]["name"]]


def test_the_pool_follows_the_platform_inference_gateway_naming(
    vllm_repo: GenerationResult
) -> None:
    objects = render(vllm_repo.output, "prod")
    pool = objects["InferencePool/llama-router-pool"]["spec"]
    labels = objects["Deployment/llama-router"]["spec"]["template"]["metadata"]["labels"]
    assert pool["selector"]["matchLabels"].items() <= labels.items()
    assert pool["targetPorts"] == [{"number": 8000}]
    assert pool["endpointPickerRef"] == {"kind": "Service", "name": PICKER,
                                         "port": {"number": 9002}, "failureMode": "FailClose"}
    route = objects["HTTPRoute/llama-router-pool-route"]["spec"]
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "name": INTERNAL_GATEWAY}]
    [rule] = route["rules"]
    assert rule["backendRefs"] == [{"group": "inference.networking.k8s.io",
                                    "kind": "InferencePool", "name": "llama-router-pool"}]
    assert rule["timeouts"] == {"request": "300s"}


def test_a_named_inference_gateway_release_names_picker_and_gateway(tmp_path: Path) -> None:
    repo = generated({**VLLM, "inference_gateway_release": "shared-llama"}, tmp_path).output
    objects = render(repo, "dev")
    picker = objects["InferencePool/llama-router-pool"]["spec"]["endpointPickerRef"]
    assert picker["name"] == "shared-llama-inference-gateway-epp"
    route = objects["HTTPRoute/llama-router-pool-route"]["spec"]
    assert route["parentRefs"][0]["name"] == "shared-llama-inference-gateway"


def test_a_default_release_too_long_for_the_picker_name_is_refused(
    vllm_repo: GenerationResult
) -> None:
    long_name = "a" + "-x" * 20  # 41 characters: epp-<name> is 45
    with pytest.raises(UserError) as caught:
        validate_answers({**VLLM, "service_name": long_name})
    assert caught.value.field == "inference_gateway_release"
    assert "would not fit in 63" in caught.value.rule
    validate_answers({**VLLM, "service_name": long_name, "inference_gateway_release": "llama"})
    message = render_error(vllm_repo.output, "dev", f"serviceName={long_name}")
    assert "is longer than 63 characters" in message


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
        ({"routing": False, "rate_limit_per_minute": 0}, "envoy_ai_gateway"),
        ({"envoy_ai_gateway": False, "failover_backends": []}, "rate_limit_per_minute"),
        ({"envoy_ai_gateway": False, "rate_limit_per_minute": 0}, "failover_backends"),
        ({"inference_gateway_release": "epp-tiny"}, "inference_gateway_release"),
    ],
)
def test_routing_options_need_their_prerequisites(overrides: dict[str, Any], field: str
                                                  ) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**TGI, **overrides})
    assert caught.value.field == field


def test_failover_backends_are_backend_names(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**TGI, "failover_backends": ["Not A Name"]})
    assert caught.value.field.startswith("failover_backends")
    values = (generated(TGI, tmp_path).output / "environments/prod/values.yaml").read_text()
    assert "failoverBackends:\n    - openai-fallback\n    - shared-tgi\n" in values


def test_routing_is_off_unless_asked_for(tmp_path: Path) -> None:
    answers = {k: v for k, v in VLLM.items()
               if k not in {"routing", "envoy_ai_gateway", "rate_limit_per_minute",
                            "inference_pool", "failover_backends"}}
    objects = render(generated(answers, tmp_path).output, "dev")
    assert "InferencePool" not in _kinds(objects)
    assert list(objects).count("HTTPRoute/llama-router-http-route") == 1  # the public one


def test_deregistering_an_environment_drops_its_pool_only_there(vllm_repo: GenerationResult,
                                                               tmp_path: Path) -> None:
    repo = copy_repo(vllm_repo.output, tmp_path)
    registered = render(repo, "dev")
    set_environment_value(repo, "dev", "routing.enabled", False)
    dev = render(repo, "dev")
    assert "InferencePool" not in _kinds(dev)
    assert "HTTPRoute/llama-router-pool-route" not in dev
    assert "InferencePool/llama-router-pool" in render(repo, "prod")
    set_environment_value(repo, "dev", "routing.enabled", True)
    assert render(repo, "dev") == registered


# --- what validate checks and reports ------------------------------------------------------


def test_validate_names_the_picker_and_gateway_each_environment_expects(
    vllm_repo: GenerationResult, tgi_repo: GenerationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = (f"InferencePool llm-serving/llama-router-pool expects the platform's endpoint "
                f"picker Service {PICKER}:9002 and internal Gateway {INTERNAL_GATEWAY} in "
                "namespace llm-serving")
    assert main(["validate", str(vllm_repo.output), "--json",
                 "--kustomize-build", "never"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["expects"] for e in report["environments"]] == [[expected], [expected]]
    assert main(["validate", str(vllm_repo.output), "--kustomize-build", "never"]) == 0
    assert f"expects: dev: {expected}" in " ".join(capsys.readouterr().err.split())
    tgi = validate_repo(tgi_repo.output, kustomize="never")
    assert [e.expects for e in tgi.environments] == [[], []]


def test_an_engine_serving_another_name_than_its_annotation_fails(
    vllm_repo: GenerationResult, tmp_path: Path
) -> None:
    repo = copy_repo(vllm_repo.output, tmp_path)
    set_environment_value(repo, "prod", "container.extraArgs",
                          ["--served-model-name", "something-else"])
    report = validate_repo(repo, kustomize="never")
    problems = [p for e in report.environments for p in e.problems() if "routing:" in p]
    assert problems == ["Deployment/llama-router: routing: vLLM serves ['something-else'] but "
                        "the platform/served-model-name annotation says 'llama-3.1-8b' (an "
                        "extra --served-model-name in extraArgs?)"]


def _mutated(objects: list[dict[str, Any]], kind: str, change: Any) -> list[dict[str, Any]]:
    changed = copy.deepcopy(objects)
    for obj in changed:
        if obj["kind"] == kind and "pool" in obj["metadata"]["name"]:
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
        ("InferencePool", _set(["spec", "selector", "matchLabels"], {"app": "other"}),
         "selects no rendered Deployment's pods"),
        ("InferencePool", _set(["spec", "targetPorts"], [{"number": 8080}]),
         "targetPorts [8080] are not ports of Deployment llama-router"),
        ("InferencePool", lambda o: o["spec"]["endpointPickerRef"].pop("port"),
         "endpointPickerRef to a Service needs port.number"),
        # The picker the chart defaulted to before the platform's naming: no such Service.
        ("InferencePool", _set(["spec", "endpointPickerRef", "name"], "llama-router-epp"),
         "'llama-router-epp' is not the picker of a platform inference-gateway release"),
        ("InferencePool", _set(["spec", "endpointPickerRef", "name"],
                               "other-inference-gateway-epp"),
         f"attaches to {INTERNAL_GATEWAY}, not other-inference-gateway"),
        ("InferencePool", _set(["metadata", "name"], "renamed-pool"),
         "no HTTPRoute leads to the pool: attach one to Gateway " + INTERNAL_GATEWAY),
        ("HTTPRoute", _set(["spec", "parentRefs", 0, "name"], "ai-gateway"),
         f"attaches to ai-gateway, not {INTERNAL_GATEWAY}"),
        ("HTTPRoute", _set(["spec", "rules", 0, "timeouts", "request"], "15s"),
         "too short for LLM generations"),
        ("HTTPRoute", lambda o: o["spec"]["rules"][0]["backendRefs"].append(
            {"name": "llama-router", "port": 80}),
         "an InferencePool must be the rule's only backend"),
    ],
)
def test_broken_pool_chains_are_reported(vllm_repo: GenerationResult, kind: str,
                                         change: Any, expected: str) -> None:
    objects = _mutated(render_list(vllm_repo.output, "prod"), kind, change)
    messages = _messages(objects)
    assert any(expected in m for m in messages), messages


def test_inference_pool_in_front_of_tgi_is_reported(tgi_repo: GenerationResult,
                                                    vllm_repo: GenerationResult) -> None:
    extra = [copy.deepcopy(o) for o in render_list(vllm_repo.output, "prod")
             if o["kind"] in ("InferencePool", "HTTPRoute") and "pool" in o["metadata"]["name"]]
    for obj in extra:
        obj["metadata"]["namespace"] = "ml-inference"
    pool = next(o for o in extra if o["kind"] == "InferencePool")
    pool["spec"]["selector"]["matchLabels"] = {"app": "tiny-router"}
    pool["spec"]["targetPorts"] = [{"number": 8080}]
    messages = _messages([*render_list(tgi_repo.output, "prod"), *extra])
    assert any("does not run vLLM" in m for m in messages), messages
