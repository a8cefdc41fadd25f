"""What an environment asks the platform's routers for, as ``register`` reads it: the served
name, where LiteLLM must send requests (the engine's Service, or with an InferencePool the
internal gateway, so every request passes the picker), which variable carries the engine key
(never the key), and the gateway options, per environment and read as hostile input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from chart_render import copy_repo, generated, render, set_environment_value
from service_answers import routed_llama, routed_tinyllama

from inference_scaffolder.errors import UserError
from inference_scaffolder.service.registration_facts import RegistrationFacts, registration_facts
from inference_scaffolder.service.serving_state import set_public_serving

KEY_PATH = "/secret/llm/llama-facts/api-key"
POOLED = routed_llama(
    "llama-facts", failover_backends=["shared-llama", "openai-fallback"],
    rate_limit_per_minute=90, extra_secrets=[{"name": "VLLM_API_KEY", "vaultPath": KEY_PATH}])
TGI = routed_tinyllama("tiny-facts", environments=["dev"])


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(POOLED, tmp_path_factory.mktemp("pooled")).output


@pytest.fixture(scope="module")
def tgi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(TGI, tmp_path_factory.mktemp("tgi")).output


def test_with_a_pool_litellm_is_sent_through_the_internal_gateway(pooled: Path) -> None:
    facts = registration_facts(pooled, "prod")
    assert facts == RegistrationFacts(
        service_name="llama-facts", namespace="llm-serving", environment="prod",
        served_model_name="llama-3.1-8b", engine="vllm", litellm_provider="hosted_vllm",
        base_url="http://epp-llama-facts-inference-gateway.llm-serving.svc.cluster.local:80/v1",
        backend_hostname="epp-llama-facts-inference-gateway.llm-serving.svc.cluster.local",
        backend_port=80, api_key_env="ENGINE_KEY_LLM_SERVING_LLAMA_FACTS",
        api_key_vault_path=KEY_PATH, routing_enabled=True, public_serving=True,
        envoy_ai_gateway=True, failover_backends=("shared-llama", "openai-fallback"),
        rate_limit_per_minute=90, inference_pool=True,
        inference_gateway_release="epp-llama-facts",
        endpoint_picker="epp-llama-facts-inference-gateway-epp", endpoint_picker_port=9002,
        inference_gateway="epp-llama-facts-inference-gateway", chart_version="0.2.0")
    assert facts.litellm_model == "hosted_vllm/llama-3.1-8b"


def test_the_facts_name_what_the_chart_renders(pooled: Path) -> None:
    """register points LiteLLM at the Gateway the pool's route attaches to, and the picker
    it names is the one the pool calls: one source for both."""
    facts = registration_facts(pooled, "dev")
    objects = render(pooled, "dev")
    pool = objects["InferencePool/llama-facts-pool"]["spec"]["endpointPickerRef"]
    assert (pool["name"], pool["port"]["number"]) == (facts.endpoint_picker,
                                                      facts.endpoint_picker_port)
    route = objects["HTTPRoute/llama-facts-pool-route"]["spec"]
    assert [p["name"] for p in route["parentRefs"]] == [facts.inference_gateway]


def test_without_a_pool_litellm_is_sent_to_the_engines_service(tgi: Path) -> None:
    facts = registration_facts(tgi, "dev")
    assert facts.base_url == "http://tiny-facts.ml-inference.svc.cluster.local:80/v1"
    assert (facts.engine, facts.litellm_provider) == ("tgi", "openai")
    assert facts.served_model_name == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"  # the model id
    # No engine key: LiteLLM sends none, and there is no Vault path to read.
    assert (facts.api_key_env, facts.api_key_vault_path) == ("", "")
    assert (facts.envoy_ai_gateway, facts.failover_backends, facts.rate_limit_per_minute,
            facts.inference_pool) == (False, (), 0, False)


def test_the_facts_follow_each_environments_values(pooled: Path, tmp_path: Path) -> None:
    repo = copy_repo(pooled, tmp_path)
    set_environment_value(repo, "dev", "routing.enabled", False)
    set_environment_value(repo, "dev", "routing.litellm.apiKeyEnv", "LLAMA_KEY")
    set_environment_value(repo, "dev", "routing.inferencePool.gatewayRelease", "shared-epp")
    set_environment_value(repo, "dev", "routing.inferencePool.gatewayPort", 8080)
    set_public_serving(repo, "dev", False)
    dev = registration_facts(repo, "dev")
    assert (dev.routing_enabled, dev.public_serving, dev.api_key_env) == (
        False, False, "LLAMA_KEY")
    assert dev.base_url == ("http://shared-epp-inference-gateway.llm-serving.svc.cluster.local"
                            ":8080/v1")
    assert dev.endpoint_picker == "shared-epp-inference-gateway-epp"
    prod = registration_facts(repo, "prod")
    assert (prod.routing_enabled, prod.public_serving) == (True, True)
    assert prod.api_key_env == "ENGINE_KEY_LLM_SERVING_LLAMA_FACTS"


def test_no_key_value_is_ever_read(pooled: Path) -> None:
    facts = registration_facts(pooled, "dev")
    # Only names and the Vault path: the key itself lives in Vault, read by the platform.
    assert all(not isinstance(v, str) or "sk-" not in v for v in vars(facts).values())
    assert facts.api_key_vault_path == KEY_PATH


def test_an_unknown_environment_is_refused(pooled: Path) -> None:
    with pytest.raises(UserError) as caught:
        registration_facts(pooled, "uat")
    assert caught.value.field == "--env"
    assert "it has: dev, prod" in caught.value.rule


def test_an_environment_on_a_chart_that_registers_by_itself_is_refused(
    tgi: Path, tmp_path: Path
) -> None:
    repo = copy_repo(tgi, tmp_path)
    kustomization = repo / "environments/dev/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("version: 0.2.0",
                                                               "version: 0.1.0"))
    with pytest.raises(UserError) as caught:
        registration_facts(repo, "dev")
    assert caught.value.field == "environments/dev/kustomization.yaml"
    assert "--chart-version 0.2.0" in caught.value.rule


@pytest.mark.parametrize(
    ("edit", "field", "rule"),
    [
        (lambda f: f.write_text("serviceName: [unclosed\n"), "environments/dev/values.yaml",
         "is not valid YAML"),
        (lambda f: f.write_text(f.read_text() + "service:\n  port: http\n"),
         "environments/dev/values.yaml", "service.port must be a port number"),
        (lambda f: (f.unlink(), os.symlink("/etc/hostname", f)), "environments/dev/values.yaml",
         "symbolic link"),
    ],
)
def test_a_hostile_values_file_is_one_line(tgi: Path, tmp_path: Path, edit: object,
                                           field: str, rule: str) -> None:
    repo = copy_repo(tgi, tmp_path)
    edit(repo / "environments/dev/values.yaml")  # type: ignore[operator]
    with pytest.raises(UserError) as caught:
        registration_facts(repo, "dev")
    assert field in caught.value.field and rule in caught.value.rule, caught.value
