"""An engine with its own API key: the key reaches LiteLLM from Vault, and validation refuses
a registration that would send none.

Found by the real router: with VLLM_API_KEY in extra_secrets and routing on, the
registration said ``api_key: none``, validation passed, and LiteLLM got 401 from the engine on
every request. tests/real_serving/ proves the wiring against the real programs; these tests
pin the rendered objects and the checks, and run everywhere in seconds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import (
    ObjectsChange,
    copy_repo,
    generated,
    render_list,
    set_environment_value,
    setting,
)

from inference_scaffolder.checks.routing import check_routing
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.service.routing import litellm_release_values

KEY_PATH = "/secret/ml-inference/llama-keyed/api-key"
KEYED = {
    "service_name": "llama-keyed",
    "namespace": "llm-serving",
    "engine": "vllm",
    "model_id": "meta-llama/Llama-3.1-8B-Instruct",
    "model_revision": "0e9e39f249a16976918f6564b8830bc894c89659",
    "served_model_name": "llama-keyed",
    "environments": ["dev"],
    "routing": True,
    "extra_secrets": [{"name": "VLLM_API_KEY", "vaultPath": KEY_PATH}],
}
VARIABLE = "ENGINE_KEY_LLM_SERVING_LLAMA_KEYED"
KEY_SECRET = "llm-serving-llama-keyed-litellm-key"
KEY_LABEL = "platform/litellm-engine-key"


@pytest.fixture(scope="module")
def keyed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The keyed service with LiteLLM in a namespace of its own (as on the platform)."""
    repo = generated(KEYED, tmp_path_factory.mktemp("keyed")).output
    set_environment_value(repo, "dev", "routing.litellm.namespace", "litellm")
    return repo


def _of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _registration(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (config_map,) = [c for c in _of(objects, "ConfigMap")
                     if c["metadata"]["labels"].get("platform/litellm-registration") == "true"]
    return config_map


def _entries(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return yaml.safe_load(_registration(objects)["data"]["models.yaml"])["model_list"]


def _key_secrets(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in _of(objects, "ExternalSecret")
            if e["metadata"]["labels"].get(KEY_LABEL) == "true"]


def _messages(objects: list[dict[str, Any]]) -> list[str]:
    return [f"{p.kind}/{p.name}: {p.message}" for p in check_routing(objects)]


# --- the wiring ----------------------------------------------------------------------------


def test_registration_references_a_variable_fed_from_the_engines_vault_path(
        keyed_repo: Path) -> None:
    objects = render_list(keyed_repo, "dev")
    (entry,) = _entries(objects)
    assert entry["litellm_params"]["api_key"] == f"os.environ/{VARIABLE}"
    (external,) = _key_secrets(objects)
    assert external["metadata"]["name"] == KEY_SECRET
    assert external["metadata"]["namespace"] == "litellm"
    assert external["spec"]["target"]["name"] == KEY_SECRET
    assert external["spec"]["data"] == [
        {"secretKey": VARIABLE, "remoteRef": {"key": KEY_PATH, "property": "value"}}]
    # The engine reads the same Vault path through its own Secret.
    (engine_secret,) = [e for e in _of(objects, "ExternalSecret")
                        if e["metadata"]["namespace"] == "llm-serving"]
    assert KEY_PATH in {d["remoteRef"]["key"] for d in engine_secret["spec"]["data"]}
    assert _messages(objects) == []


def test_a_named_variable_replaces_the_default_on_both_sides(keyed_repo: Path,
                                                             tmp_path: Path) -> None:
    repo = copy_repo(keyed_repo, tmp_path)
    set_environment_value(repo, "dev", "routing.litellm.apiKeyEnv", "LLAMA_KEY")
    objects = render_list(repo, "dev")
    (entry,) = _entries(objects)
    assert entry["litellm_params"]["api_key"] == "os.environ/LLAMA_KEY"
    (external,) = _key_secrets(objects)
    assert external["spec"]["data"][0]["secretKey"] == "LLAMA_KEY"
    assert _messages(objects) == []


def test_the_key_secret_stays_while_the_registration_is_disabled(keyed_repo: Path,
                                                                 tmp_path: Path) -> None:
    repo = copy_repo(keyed_repo, tmp_path)
    set_environment_value(repo, "dev", "routing.enabled", False)
    objects = render_list(repo, "dev")
    assert _entries(objects) == []
    assert [e["metadata"]["name"] for e in _key_secrets(objects)] == [KEY_SECRET]


def test_a_new_key_path_changes_the_registration_checksum(keyed_repo: Path,
                                                          tmp_path: Path) -> None:
    annotation = "platform/registration-checksum"
    before = _registration(render_list(keyed_repo, "dev"))["metadata"]["annotations"]
    repo = copy_repo(keyed_repo, tmp_path)
    secrets = [{"name": "VLLM_API_KEY", "secretKey": "vllm-api-key",
                "vaultPath": "/secret/ml-inference/llama-keyed/rotated"}]
    values = yaml.safe_load((repo / "environments" / "dev" / "values.yaml")
                            .read_text(encoding="utf-8"))
    secrets += [s for s in values["container"]["secrets"] if s["name"] != "VLLM_API_KEY"]
    set_environment_value(repo, "dev", "container.secrets", secrets)
    after = _registration(render_list(repo, "dev"))["metadata"]["annotations"]
    assert after[annotation] != before[annotation]


def test_release_values_load_the_key_secret(keyed_repo: Path) -> None:
    values = litellm_release_values([keyed_repo], "dev")
    assert values["environmentSecrets"] == [KEY_SECRET]


def test_an_engine_without_a_key_gets_none_and_no_key_secret(tmp_path: Path) -> None:
    answers = {**KEYED, "service_name": "llama-open", "served_model_name": "llama-open",
               "extra_secrets": []}
    result: GenerationResult = generated(answers, tmp_path)
    objects = render_list(result.output, "dev")
    (entry,) = _entries(objects)
    assert entry["litellm_params"]["api_key"] == "none"
    assert _key_secrets(objects) == []
    assert "environmentSecrets" not in litellm_release_values([result.output], "dev")


# --- validation refuses what would fail every request --------------------------------------


def _changed(objects: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    changed = copy.deepcopy(objects)
    change(changed)
    return changed


def _set_api_key(value: str) -> Any:
    def change(objects: list[dict[str, Any]]) -> None:
        config_map = _registration(objects)
        document = yaml.safe_load(config_map["data"]["models.yaml"])
        document["model_list"][0]["litellm_params"]["api_key"] = value
        config_map["data"]["models.yaml"] = yaml.safe_dump(document)
    return change


def _set_key_secret(path: list[Any], value: str) -> ObjectsChange:
    return setting(lambda objects: _key_secrets(objects)[0], path, value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set_api_key("none"),
         "model 'llama-keyed': vLLM behind Service llm-serving/llama-keyed wants an API key "
         "(VLLM_API_KEY) but the registration sends none: every routed request would get 401"),
        (_set_key_secret(["spec", "data", 0, "secretKey"], "OTHER_NAME"),
         f"model 'llama-keyed': api_key names os.environ/{VARIABLE}, which no rendered "
         "LiteLLM key Secret in namespace litellm provides"),
        (_set_key_secret(["spec", "data", 0, "remoteRef", "key"], "/secret/elsewhere"),
         f"model 'llama-keyed': LiteLLM would send the key at Vault path /secret/elsewhere, "
         f"but the engine checks the key at {KEY_PATH}"),
    ],
)
def test_a_registration_that_would_get_401_fails_validation(keyed_repo: Path, change: Any,
                                                           expected: str) -> None:
    objects = _changed(render_list(keyed_repo, "dev"), change)
    messages = _messages(objects)
    assert any(expected in m for m in messages), messages
    assert all(m.startswith("ConfigMap/llm-serving-llama-keyed-litellm: ") for m in messages)
