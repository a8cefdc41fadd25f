"""What each hardening option renders: non-root engines get the writable paths they need,
images can be pinned by digest, the NetworkPolicy admits exactly the namespaces that call or
scrape the engine, and the `helm test` pod is locked down."""

from __future__ import annotations

from typing import Any

import pytest

from inference_scaffolder.chart import chart_source_dir
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm

pytestmark = pytest.mark.slow

DIGEST = "sha256:" + "0123456789abcdef" * 4
Objects = dict[str, dict[str, Any]]


def render(*sets: str) -> Objects:
    chart = chart_source_dir()
    args = ["template", "svc", str(chart), "-f", str(chart / "ci" / "default-values.yaml")]
    for value in sets:
        args += ["--set", value]
    result = run_helm(args)
    assert result.ok, result.stderr
    return {f"{d['kind']}/{d['metadata']['name']}": d for d, _ in parse_rendered(result.stdout)}


def pod_spec(objects: Objects) -> dict[str, Any]:
    return objects["Deployment/lint-check"]["spec"]["template"]["spec"]


def engine(objects: Objects) -> dict[str, Any]:
    return pod_spec(objects)["containers"][0]


@pytest.mark.parametrize("engine_name", ["tgi", "vllm"])
def test_non_root_engine_gets_user_home_tmp_and_a_writable_cache(engine_name: str) -> None:
    objects = render(f"engine={engine_name}", "podSecurity.runAsNonRoot=true")
    spec = pod_spec(objects)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["fsGroup"] == 10001  # the model cache becomes writable
    container = engine(objects)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {"/tmp", "/home/engine", "/data", "/dev/shm"} <= set(mounts)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["sizeLimit"] == "10Gi"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HOME"] == "/home/engine" and env["USER"] == "engine"
    assert env["HF_HOME"] == "/data"


def test_root_engine_by_default_keeps_the_images_own_user() -> None:
    objects = render()
    spec = pod_spec(objects)
    assert "runAsNonRoot" not in spec["securityContext"]
    assert "readOnlyRootFilesystem" not in engine(objects)["securityContext"]
    assert {v["name"] for v in spec["volumes"]} == {"dshm", "model-cache"}


def test_engine_image_pinned_by_digest() -> None:
    assert engine(render(f"container.image.digest={DIGEST}"))["image"] == (
        f"ghcr.io/huggingface/text-generation-inference@{DIGEST}"
    )
    # A digest in engineDefaults pins the engine's default image only.
    pinned_default = render(f"engineDefaults.tgi.image.digest={DIGEST}")
    assert engine(pinned_default)["image"].endswith(f"@{DIGEST}")
    custom_tag = render(f"engineDefaults.tgi.image.digest={DIGEST}", "container.image.tag=3.3.6")
    assert engine(custom_tag)["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.6"


def test_a_malformed_digest_is_refused_by_the_schema() -> None:
    chart = chart_source_dir()
    result = run_helm(["template", "svc", str(chart), "-f", str(chart / "ci/default-values.yaml"),
                       "--set", "container.image.digest=sha256:xyz"])
    assert not result.ok and "/container/image/digest" in result.stderr


def test_network_policy_admits_own_router_and_monitoring_namespaces() -> None:
    objects = render(
        "networkPolicy.enabled=true", "routing.enabled=true",
        "networkPolicy.litellmNamespace=litellm", "routing.envoyAIGateway.enabled=true",
        "networkPolicy.extraNamespaces[0]=batch",
    )
    policy = objects["NetworkPolicy/lint-check"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app": "lint-check"}}
    assert policy["policyTypes"] == ["Ingress"]  # the engine still downloads the model
    (rule,) = policy["ingress"]
    (selector,) = rule["from"]
    (expression,) = selector["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name"
    # LiteLLM's namespace and the platform gateways' Envoy proxies call the engine.
    assert expression["values"] == [
        "lint-check", "litellm", "envoy-gateway-system", "monitoring", "batch",
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    test_policy = objects["NetworkPolicy/lint-check-test-endpoint"]["spec"]
    assert test_policy == {"podSelector": {"matchLabels": {"app": "lint-check-test-endpoint"}},
                           "policyTypes": ["Ingress"]}


def test_network_policy_admits_the_internal_gateways_proxies_with_a_pool() -> None:
    """With an InferencePool the engine is called by the internal gateway's Envoy proxies."""
    objects = render("networkPolicy.enabled=true", "engine=vllm", "routing.enabled=true",
                     "routing.inferencePool.enabled=true")
    rule = objects["NetworkPolicy/lint-check"]["spec"]["ingress"][0]
    values = rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert values == ["lint-check", "envoy-gateway-system", "monitoring"]


def test_network_policy_without_routing_admits_own_namespace_and_monitoring() -> None:
    objects = render("networkPolicy.enabled=true", "engine=vllm")
    rule = objects["NetworkPolicy/lint-check"]["spec"]["ingress"][0]
    values = rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert values == ["lint-check", "monitoring"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


def test_no_network_policy_by_default() -> None:
    assert not [k for k in render() if k.startswith("NetworkPolicy/")]


def test_helm_test_pod_is_locked_down() -> None:
    pod = render(f"helmTest.image.digest={DIGEST}")["Pod/lint-check-test-endpoint"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    (container,) = pod["containers"]
    assert container["image"] == f"curlimages/curl@{DIGEST}"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def test_exec_probe_runs_the_program_at_its_path() -> None:
    objects = render("container.livenessProbe.type=exec",
                     "container.livenessProbe.path=/usr/local/bin/healthy")
    assert engine(objects)["livenessProbe"]["exec"] == {"command": ["/usr/local/bin/healthy"]}
    chart = chart_source_dir()
    result = run_helm(["template", "svc", str(chart), "-f", str(chart / "ci/default-values.yaml"),
                       "--set", "container.livenessProbe.type=exec"])
    assert not result.ok and "/container/livenessProbe" in result.stderr
