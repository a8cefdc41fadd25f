"""An engine with its own API key behind Envoy AI Gateway: the gateway sends the key from
Vault, and validation refuses a route that would send none.

The LiteLLM side of the same key is in test_litellm_engine_key.py. Without a
BackendSecurityPolicy the gateway forwards requests bare and vLLM answers 401 to each one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from chart_render import ObjectsChange, generated, render_list, setting

from inference_scaffolder.checks.routing import check_routing

KEY_PATH = "/secret/ml-inference/llama-gw/api-key"
GATEWAY_KEYED = {
    "service_name": "llama-gw",
    "namespace": "llm-serving",
    "engine": "vllm",
    "model_id": "meta-llama/Llama-3.1-8B-Instruct",
    "model_revision": "0e9e39f249a16976918f6564b8830bc894c89659",
    "served_model_name": "llama-gw",
    "environments": ["dev"],
    "routing": True,
    "envoy_ai_gateway": True,
    "extra_secrets": [{"name": "VLLM_API_KEY", "vaultPath": KEY_PATH}],
}
KEY_SECRET = "llama-gw-ai-gateway-key"


@pytest.fixture(scope="module")
def gateway_objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The keyed service routed through the gateway (generation validates it too)."""
    return render_list(generated(GATEWAY_KEYED, tmp_path_factory.mktemp("gw")).output, "dev")


def _of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _gateway_key_secret(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (secret,) = [e for e in _of(objects, "ExternalSecret")
                 if e["metadata"]["name"] == KEY_SECRET]
    return secret


def _messages(objects: list[dict[str, Any]]) -> list[str]:
    return [f"{p.kind}/{p.name}: {p.message}" for p in check_routing(objects)]


def test_the_gateway_sends_the_engines_key_from_its_vault_path(
        gateway_objects: list[dict[str, Any]]) -> None:
    (policy,) = _of(gateway_objects, "BackendSecurityPolicy")
    assert policy["metadata"]["namespace"] == "llm-serving"
    assert policy["spec"] == {
        "type": "APIKey",
        "apiKey": {"secretRef": {"name": KEY_SECRET}},
        "targetRefs": [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend",
                        "name": "llama-gw"}],
    }
    secret = _gateway_key_secret(gateway_objects)
    assert secret["metadata"]["namespace"] == "llm-serving"
    assert secret["spec"]["target"]["name"] == KEY_SECRET
    assert secret["spec"]["data"] == [
        {"secretKey": "apiKey", "remoteRef": {"key": KEY_PATH, "property": "value"}}]
    assert _messages(gateway_objects) == []


def test_with_an_inference_pool_the_policy_targets_the_pool(tmp_path: Path) -> None:
    answers = {**GATEWAY_KEYED, "inference_pool": True}
    objects = render_list(generated(answers, tmp_path).output, "dev")
    (policy,) = _of(objects, "BackendSecurityPolicy")
    assert policy["spec"]["targetRefs"] == [
        {"group": "inference.networking.k8s.io", "kind": "InferencePool",
         "name": "llama-gw-pool"}]
    assert _messages(objects) == []


def test_an_engine_without_a_key_gets_no_policy(tmp_path: Path) -> None:
    answers = {**GATEWAY_KEYED, "extra_secrets": []}
    objects = render_list(generated(answers, tmp_path).output, "dev")
    assert _of(objects, "BackendSecurityPolicy") == []
    assert [e for e in _of(objects, "ExternalSecret")
            if e["metadata"]["name"] == KEY_SECRET] == []


def _without_policy(objects: list[dict[str, Any]]) -> None:
    objects[:] = [o for o in objects if o["kind"] != "BackendSecurityPolicy"]


def _set_policy(path: list[Any], value: Any) -> ObjectsChange:
    return setting(lambda objects: _of(objects, "BackendSecurityPolicy")[0], path, value)


def _set_key_secret(path: list[Any], value: str) -> ObjectsChange:
    return setting(_gateway_key_secret, path, value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_without_policy,
         "AIGatewayRoute/llama-gw: rules[0]: vLLM behind AIServiceBackend llm-serving/llama-gw "
         "wants an API key (VLLM_API_KEY) but no BackendSecurityPolicy of type APIKey targets "
         "it: every request through the gateway would get 401"),
        (_set_policy(["spec", "targetRefs", 0, "name"], "someone-else"),
         "no BackendSecurityPolicy of type APIKey targets it"),
        (_set_key_secret(["spec", "data", 0, "remoteRef", "key"], "/secret/elsewhere"),
         "BackendSecurityPolicy llama-gw: the gateway would send the key at Vault path "
         f"/secret/elsewhere, but the engine checks the key at {KEY_PATH}"),
        (_set_key_secret(["spec", "data", 0, "secretKey"], "api-key"),
         f"BackendSecurityPolicy llama-gw: Secret llm-serving/{KEY_SECRET} has no 'apiKey' "
         "key, where the gateway reads the API key"),
        (_set_policy(["spec", "type"], "AnthropicAPIKey"),
         "BackendSecurityPolicy llama-gw is of type AnthropicAPIKey; vLLM checks a bearer key"),
        # A policy on anything else leaves the backend without one (that the CRD's CEL rule
        # refuses such a target is tested with the other CEL rules, tests/checks/test_cel.py).
        (_set_policy(["spec", "targetRefs", 0, "kind"], "Service"),
         "no BackendSecurityPolicy of type APIKey targets it"),
    ],
    ids=["no-policy", "policy-elsewhere", "other-vault-path", "wrong-secret-key", "wrong-type",
         "bad-target"],
)
def test_a_route_that_would_get_401_fails_validation(
        gateway_objects: list[dict[str, Any]], change: Any, expected: str) -> None:
    objects = copy.deepcopy(gateway_objects)
    change(objects)
    messages = _messages(objects)
    assert any(expected in m for m in messages), messages
