"""Answers the API server, the kubelet and the platform would refuse later are refused by
`new` in one line naming the answer: requests above limits, requests too small to start an
engine, autoscaling without a queryable Prometheus, a single-node cache shared by several
pods, and a cache smaller than the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from common import MINIMAL_ANSWERS

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.checks.capacity import sized_model_cache
from inference_scaffolder.errors import UserError
from inference_scaffolder.service.files import leaf_values

CLI = str(Path(sys.executable).with_name("inference-scaffolder"))
# Llama-3.1-70B's architecture: about 131 GiB of bf16 weights by the capacity estimate.
LLAMA_70B = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 8192, "intermediate_size": 28672,
    "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8,
    "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def refused(**overrides: object) -> UserError:
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, **overrides})
    return caught.value


def test_new_refuses_a_memory_request_above_its_limit_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "new", "--no-input", "--output-dir", str(tmp_path), "--no-git",
         "--set", "service_name=limits", "--set", "model_id=org/model",
         "--set", "model_revision=main",
         "--set", "memory_request=24Gi", "--set", "memory_limit=16Gi"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: memory_request: must not exceed memory_limit")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("overrides", "field"), [
    ({"cpu_request": "0"}, "cpu_request"),
    ({"cpu_request": "100m"}, "cpu_request"),
    ({"memory_request": "1"}, "memory_request"),
    ({"memory_limit": "512Mi", "memory_request": "512Mi"}, "memory_request"),
    ({"memory_request": "65Gi"}, "memory_request"),  # above the default limit, 64Gi
    ({"memory_request": "70000000000", "memory_limit": "64Gi"}, "memory_request"),
])
def test_requests_outside_the_bounds_are_refused(overrides: dict[str, str], field: str
                                                 ) -> None:
    assert refused(**overrides).field == field


def test_memory_request_defaults_to_the_limit() -> None:
    answers = validate_answers({**MINIMAL_ANSWERS, "memory_limit": "96Gi"})
    resources = leaf_values(answers, "prod")["container"]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "96Gi"
    explicit = validate_answers({**MINIMAL_ANSWERS, "memory_request": "48Gi",
                                 "memory_limit": "96Gi"})
    assert leaf_values(explicit, "prod")["container"]["resources"]["requests"][
        "memory"] == "48Gi"


def test_autoscaling_needs_a_prometheus_query_endpoint() -> None:
    assert refused(autoscaling_max_replicas=3).field == "prometheus_query_url"
    answers = validate_answers({**MINIMAL_ANSWERS, "autoscaling_max_replicas": 3,
                                "prometheus_query_url": "http://thanos-query.monitoring:9090"})
    values = leaf_values(answers, "prod")["autoscaling"]
    assert values["prometheus"]["serverAddress"] == "http://thanos-query.monitoring:9090"


def test_a_read_write_once_cache_is_refused_where_two_pods_run() -> None:
    error = refused(model_cache_storage_class="gp3", model_cache_access_mode="ReadWriteOnce")
    assert error.field == "model_cache_access_mode"
    alone = validate_answers({**MINIMAL_ANSWERS, "environments": ["dev"],
                              "model_cache_storage_class": "gp3",
                              "model_cache_access_mode": "ReadWriteOnce"})
    assert leaf_values(alone, "dev")["modelCache"]["accessMode"] == "ReadWriteOnce"


def test_a_persistent_cache_names_its_class_in_every_environment() -> None:
    answers = validate_answers({**MINIMAL_ANSWERS, "model_cache_storage_class": "efs-sc"})
    for environment in answers["environments"]:
        cache = leaf_values(answers, environment)["modelCache"]
        assert cache == {"enabled": True, "storageClassName": "efs-sc",
                         "accessMode": "ReadWriteMany"}
    plain = validate_answers(dict(MINIMAL_ANSWERS))
    assert "modelCache" not in leaf_values(plain, "prod")


def _with_config(tmp_path: Path, **overrides: object) -> dict[str, object]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLAMA_70B))
    return validate_answers({**MINIMAL_ANSWERS, "model_config": str(config), **overrides})


def test_the_cache_is_sized_to_the_model_when_its_config_is_known(tmp_path: Path) -> None:
    answers = sized_model_cache(_with_config(tmp_path))
    size = answers["model_cache_size"]
    assert size.endswith("Gi") and 131 < int(size.removesuffix("Gi")) < 200
    values = leaf_values(answers, "prod")
    assert values["modelStorage"] == {"sizeLimit": size}


def test_a_cache_smaller_than_the_weights_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        sized_model_cache(_with_config(tmp_path, model_cache_size="100Gi"))
    assert caught.value.field == "model_cache_size"
    assert "smaller than the model's weights" in str(caught.value)
    kept = sized_model_cache(_with_config(tmp_path, model_cache_size="300Gi"))
    assert kept["model_cache_size"] == "300Gi"


def test_new_refuses_the_default_cache_for_a_70b_model_it_knows(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLAMA_70B))
    done = subprocess.run(
        [CLI, "new", "--no-input", "--output-dir", str(tmp_path / "out"), "--no-git",
         "--set", "service_name=big", "--set", "model_id=meta-llama/Llama-3.1-70B-Instruct",
         "--set", "model_revision=main", "--set", f"model_config={config}",
         "--set", "model_cache_size=100Gi"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: model_cache_size: 100Gi is smaller than")
