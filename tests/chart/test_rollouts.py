"""Rendered environments of both engines survive rollouts, drains and mixed GPU pools: a
ready pod remains through a rollout where no downtime is allowed, the pod drains before it
stops, a slow load is not a failed rollout, a chart bump alone restarts no pod, and the pod
lands only on the GPU model it was sized for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_render import engine_container, generated, pinned_chart, render, render_error
from helm_repo import chart_variant

from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm

MODEL = {
    "model_id": "Qwen/Qwen2.5-7B-Instruct",
    "model_revision": "a09a35458c702b33eeacc393d103063234e8bc28",
    "environments": ["dev", "prod"],
}
# TGI's launcher waits this long for its router to finish in-flight requests (fixed).
TGI_SHUTDOWN_SECONDS = 90


@pytest.fixture(scope="module", params=["vllm", "tgi"])
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> GenerationResult:
    answers = {**MODEL, "service_name": f"roll-{request.param}", "engine": request.param,
               "gpu_type": "H100-80"}
    return generated(answers, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def two_replica_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    """No spare GPU for a surge: two replicas instead."""
    answers = {**MODEL, "service_name": "roll-pair", "rollout_surge": False}
    return generated(answers, tmp_path_factory.mktemp("pair"))


def deployment(result: GenerationResult, environment: str, *sets: str) -> dict[str, Any]:
    return render(result.output, environment, *sets)[
        f"Deployment/{result.answers['service_name']}"]


def _count(value: int | str, replicas: int, *, round_up: bool) -> int:
    """maxSurge / maxUnavailable as pods (percentages as the Deployment controller rounds)."""
    if isinstance(value, int):
        return value
    share = int(value.rstrip("%")) * replicas
    return -(-share // 100) if round_up else share // 100


def fewest_ready_pods_during_rollout(spec: dict[str, Any]) -> int:
    """The fewest ready pods the controller may leave while it replaces every pod, from the
    strategy alone (pods being replaced are counted as gone, their successors as loading)."""
    replicas = spec.get("replicas", 1)
    if spec["strategy"]["type"] == "Recreate":
        return 0
    rolling = spec["strategy"]["rollingUpdate"]
    surge = _count(rolling["maxSurge"], replicas, round_up=True)
    unavailable = _count(rolling["maxUnavailable"], replicas, round_up=False)
    assert surge + unavailable > 0, "a rollout that cannot progress"
    return max(replicas - unavailable, 0)


def test_prod_keeps_a_ready_pod_through_a_rollout(repo: GenerationResult) -> None:
    assert fewest_ready_pods_during_rollout(deployment(repo, "prod")["spec"]) >= 1


def test_dev_says_it_allows_downtime_and_needs_no_spare_gpu(repo: GenerationResult) -> None:
    spec = deployment(repo, "dev")["spec"]
    assert repo.answers["allow_downtime"] == ["dev"]
    assert fewest_ready_pods_during_rollout(spec) == 0
    assert spec["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_without_a_spare_gpu_two_replicas_keep_one_ready(two_replica_repo: GenerationResult
                                                         ) -> None:
    objects = render(two_replica_repo.output, "prod")
    spec = objects["Deployment/roll-pair"]["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxSurge"] == 0
    assert fewest_ready_pods_during_rollout(spec) >= 1
    # A node drain evicts one replica at a time.
    assert objects["PodDisruptionBudget/roll-pair"]["spec"]["maxUnavailable"] == 1


def test_the_oracle_sees_the_old_default_as_an_outage(repo: GenerationResult) -> None:
    """The computation that proves the defaults would catch the previous prod default."""
    spec = deployment(repo, "prod", "strategy.maxSurge=0", "strategy.maxUnavailable=1")["spec"]
    assert fewest_ready_pods_during_rollout(spec) == 0


def test_the_pod_drains_before_it_stops(repo: GenerationResult) -> None:
    spec = deployment(repo, "prod")["spec"]["template"]["spec"]
    container = engine_container(render(repo.output, "prod"), repo.answers["service_name"])
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and int(sleep[1]) >= 5
    if repo.answers["engine"] == "vllm":
        args = container["args"]
        shutdown = int(args[args.index("--shutdown-timeout") + 1])
        assert shutdown > 0  # 0 is vLLM's default: abort in-flight requests
    else:
        shutdown = TGI_SHUTDOWN_SECONDS
        assert "args" not in container or "--shutdown-timeout" not in container["args"]
    assert spec["terminationGracePeriodSeconds"] >= int(sleep[1]) + shutdown


def test_a_grace_period_shorter_than_the_drain_is_refused(repo: GenerationResult) -> None:
    message = render_error(repo.output, "prod", "terminationGracePeriodSeconds=60")
    assert "terminationGracePeriodSeconds (60) must be at least" in message


def test_the_progress_deadline_covers_the_startup_budget(repo: GenerationResult) -> None:
    spec = deployment(repo, "prod")["spec"]
    probe = engine_container(render(repo.output, "prod"),
                             repo.answers["service_name"])["startupProbe"]
    budget = probe["initialDelaySeconds"] + probe["periodSeconds"] * probe["failureThreshold"]
    assert spec["progressDeadlineSeconds"] > budget
    message = render_error(repo.output, "prod", "progressDeadlineSeconds=600")
    assert "progressDeadlineSeconds (600) must be at least the startup probe's budget" in message


def _deployment_of(chart: Path, result: GenerationResult) -> dict[str, Any]:
    values = result.output / "environments" / "prod" / "values.yaml"
    done = run_helm(["template", result.answers["service_name"], str(chart), "-f", str(values)])
    assert done.ok, done.stderr
    return next(doc for doc, _ in parse_rendered(done.stdout) if doc["kind"] == "Deployment")


def test_a_chart_version_bump_alone_restarts_no_pod(repo: GenerationResult, tmp_path: Path
                                                    ) -> None:
    ours = _deployment_of(pinned_chart(repo.output, "prod"), repo)
    bumped = _deployment_of(chart_variant(tmp_path, "9.9.9"), repo)
    assert bumped["metadata"]["labels"]["helm.sh/chart"].endswith("-9.9.9")
    assert bumped["spec"]["template"] == ours["spec"]["template"]
    pod_labels = ours["spec"]["template"]["metadata"]["labels"]
    assert not {"helm.sh/chart", "app.kubernetes.io/version"} & set(pod_labels)
    assert "app.kubernetes.io/version" in ours["metadata"]["labels"]


def test_gpu_type_requires_that_gpu_product(repo: GenerationResult) -> None:
    spec = deployment(repo, "prod")["spec"]["template"]["spec"]
    [term] = spec["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    [expression] = term["matchExpressions"]
    assert expression["key"] == "nvidia.com/gpu.product"
    assert expression["operator"] == "In"
    assert expression["values"] and all("H100" in v for v in expression["values"])
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_no_gpu_type_keeps_the_plain_gpu_selector(two_replica_repo: GenerationResult) -> None:
    spec = deployment(two_replica_repo, "prod")["spec"]["template"]["spec"]
    assert "affinity" not in spec
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_the_gpu_label_and_product_names_are_platform_settings(repo: GenerationResult) -> None:
    spec = deployment(repo, "prod", "gpu.productLabel=example.com/gpu-model",
                      "gpu.products.H100-80={H100a}")["spec"]["template"]["spec"]
    [expression] = spec["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"]
    assert (expression["key"], expression["values"]) == ("example.com/gpu-model", ["H100a"])


def test_memory_is_guaranteed_and_the_cache_has_ephemeral_storage(repo: GenerationResult
                                                                  ) -> None:
    container = engine_container(render(repo.output, "prod"), repo.answers["service_name"])
    resources = container["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"]
    volume = next(v for v in deployment(repo, "prod")["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "model-cache")
    assert resources["requests"]["ephemeral-storage"] == volume["emptyDir"]["sizeLimit"]


@pytest.mark.parametrize(("sets", "field"), [
    (("container.resources.requests.memory=24Gi", "container.resources.limits.memory=16Gi"),
     "container.resources.requests.memory (24Gi) must not exceed"),
    (("container.resources.requests.cpu=8000m", "container.resources.limits.cpu=4000m"),
     "container.resources.requests.cpu (8000m) must not exceed"),
    (("container.resources.requests.cpu=0m",), "requests.cpu (0m) must be at least 500m"),
    (("container.resources.requests.memory=1Ki",), "requests.memory (1Ki) must be at least 1Gi"),
])
def test_resources_the_api_server_would_refuse_fail_the_render(
    repo: GenerationResult, sets: tuple[str, ...], field: str
) -> None:
    message = render_error(repo.output, "prod", *sets)
    assert field in message
