"""Optional serving features: model-cache volume, PodDisruptionBudget and KEDA autoscaling.
Off by default (nothing rendered); on, they render, validate and fit the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_render import (
    copy_repo,
    engine_container,
    env_entries,
    generated,
    render,
    render_error,
    set_environment_value,
)

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.checks.validate import validate_repo
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import GenerationResult

MODEL = {
    "model_id": "Qwen/Qwen2.5-7B-Instruct",
    "model_revision": "a09a35458c702b33eeacc393d103063234e8bc28",
    "environments": ["dev", "prod"],
}
OPTIONAL_KINDS = {"PersistentVolumeClaim", "PodDisruptionBudget", "ScaledObject"}
QUEUE_METRICS = {"tgi": "tgi_queue_size", "vllm": "vllm:num_requests_waiting"}


@pytest.fixture(scope="module", params=["tgi", "vllm"])
def options_repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> GenerationResult:
    """Model cache and autoscaling switched on through the answers."""
    answers = {**MODEL, "service_name": f"qwen-{request.param}", "engine": request.param,
               "model_cache_size": "120Gi", "model_cache_storage_class": "efs-sc",
               "autoscaling_max_replicas": 3,
               "prometheus_query_url": "http://thanos-query.monitoring.svc:9090"}
    return generated(answers, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def plain_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generated({**MODEL, "service_name": "qwen-plain"}, tmp_path_factory.mktemp("plain"))


def _pod_spec(objects: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return objects[f"Deployment/{name}"]["spec"]["template"]["spec"]


def test_options_are_off_by_default(plain_repo: GenerationResult) -> None:
    objects = render(plain_repo.output, "prod")
    assert not {o["kind"] for o in objects.values()} & OPTIONAL_KINDS
    deployment = objects["Deployment/qwen-plain"]
    assert deployment["spec"]["replicas"] == 1
    cache = next(v for v in _pod_spec(objects, "qwen-plain")["volumes"]
                 if v["name"] == "model-cache")
    assert cache["emptyDir"] == {"sizeLimit": "100Gi"}


def test_options_render_and_validate_in_every_environment(options_repo: GenerationResult
                                                          ) -> None:
    report = options_repo.report
    assert report is not None and report.ok, [e.problems() for e in report.environments]
    for environment in report.environments:
        assert {"PersistentVolumeClaim", "ScaledObject"} <= {o.kind for o in environment.objects}


def test_model_cache_is_a_shared_writable_volume_at_hf_home(options_repo: GenerationResult
                                                            ) -> None:
    name = options_repo.answers["service_name"]
    objects = render(options_repo.output, "prod")
    claim = objects[f"PersistentVolumeClaim/{name}-model-cache"]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]
    assert claim["resources"]["requests"]["storage"] == "120Gi"
    # ReadWriteMany only with a class named: the default class (EBS on EKS) cannot offer it.
    assert claim["storageClassName"] == "efs-sc"
    volume = next(v for v in _pod_spec(objects, name)["volumes"] if v["name"] == "model-cache")
    assert volume == {"name": "model-cache",
                      "persistentVolumeClaim": {"claimName": f"{name}-model-cache"}}
    container = engine_container(objects, name)
    mount = next(m for m in container["volumeMounts"] if m["name"] == "model-cache")
    assert not mount.get("readOnly")  # the Hugging Face cache writes lock files
    assert mount["mountPath"] == env_entries(container)["HF_HOME"]["value"]


def test_model_cache_can_use_an_existing_claim_and_storage_class(
    options_repo: GenerationResult
) -> None:
    name = options_repo.answers["service_name"]
    objects = render(options_repo.output, "dev", "modelCache.existingClaim=shared-hf-cache")
    assert f"PersistentVolumeClaim/{name}-model-cache" not in objects
    volume = next(v for v in _pod_spec(objects, name)["volumes"] if v["name"] == "model-cache")
    assert volume["persistentVolumeClaim"] == {"claimName": "shared-hf-cache"}
    objects = render(options_repo.output, "dev", "modelCache.storageClassName=efs-other")
    assert objects[f"PersistentVolumeClaim/{name}-model-cache"]["spec"][
        "storageClassName"] == "efs-other"


def test_read_write_once_cache_is_refused_when_two_pods_can_run(options_repo: GenerationResult
                                                                ) -> None:
    message = render_error(options_repo.output, "dev", "modelCache.accessMode=ReadWriteOnce")
    assert "use ReadWriteMany" in message
    objects = render(options_repo.output, "dev", "modelCache.accessMode=ReadWriteOnce",
                     "autoscaling.enabled=false")
    claim = objects[f"PersistentVolumeClaim/{options_repo.answers['service_name']}-model-cache"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    message = render_error(options_repo.output, "dev", "modelCache.accessMode=ReadWriteOnce",
                           "autoscaling.enabled=false", "strategy.maxSurge=1")
    assert "use ReadWriteMany" in message


def test_keda_scales_on_the_engine_queue(options_repo: GenerationResult) -> None:
    name = options_repo.answers["service_name"]
    engine = options_repo.answers["engine"]
    objects = render(options_repo.output, "prod")
    spec = objects[f"ScaledObject/{name}"]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": name}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 3)
    [trigger] = spec["triggers"]
    assert trigger["type"] == "prometheus"
    metadata = trigger["metadata"]
    assert metadata["query"] == (f'sum({QUEUE_METRICS[engine]}{{namespace="ml-inference",'
                                 f'app="{name}"}})')  # a stable label, not a pod-name regex
    assert metadata["serverAddress"] == "http://thanos-query.monitoring.svc:9090"
    scale_down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert scale_down["stabilizationWindowSeconds"] >= 600
    assert scale_down["policies"] == [{"type": "Pods", "value": 1,
                                       "periodSeconds": scale_down["policies"][0][
                                           "periodSeconds"]}]
    assert float(metadata["threshold"]) > 0
    # KEDA owns the replica count: a helm upgrade must not reset it.
    assert "replicas" not in objects[f"Deployment/{name}"]["spec"]
    objects = render(options_repo.output, "prod",
                     "autoscaling.prometheus.serverAddress=http://thanos.obs.svc:9090",
                     "autoscaling.query=sum(waiting)")
    metadata = objects[f"ScaledObject/{name}"]["spec"]["triggers"][0]["metadata"]
    assert metadata["serverAddress"] == "http://thanos.obs.svc:9090"
    assert metadata["query"] == "sum(waiting)"


def test_pod_disruption_budget_never_blocks_a_drain(options_repo: GenerationResult,
                                                    tmp_path: Path) -> None:
    repo = copy_repo(options_repo.output, tmp_path)
    set_environment_value(repo, "prod", "podDisruptionBudget", {"enabled": True})
    name = options_repo.answers["service_name"]
    objects = render(repo, "prod")
    budget = objects[f"PodDisruptionBudget/{name}"]["spec"]
    labels = objects[f"Deployment/{name}"]["spec"]["template"]["metadata"]["labels"]
    assert budget["maxUnavailable"] == 1
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert f"PodDisruptionBudget/{name}" not in render(repo, "dev")
    report = validate_repo(repo)
    assert report.ok, [e.problems() for e in report.environments]
    message = render_error(repo, "prod", "podDisruptionBudget.maxUnavailable=0")
    assert "/podDisruptionBudget/maxUnavailable': minimum: got 0, want 1" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [("autoscaling_max_replicas", 1), ("autoscaling_max_replicas", 17),
     ("model_cache_size", "lots"), ("model_cache_size", "100GB"),
     ("prometheus_query_url", "thanos:9090"), ("model_cache_storage_class", "EFS SC"),
     ("model_cache_access_mode", "ReadWriteOncePod"), ("allow_downtime", ["staging"])],
)
def test_bad_option_answers_are_refused(key: str, value: object) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**MODEL, "service_name": "x", key: value})
    assert caught.value.field.partition("[")[0] == key
