"""The package carries a CRD schema for every custom resource it can render, so `validate`
needs no schema folder on a user's machine; a folder of the user's adds and overrides."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_routing import AI_GATEWAY_VERSIONS, platform_routing_objects

from inference_scaffolder.chart import base_values, chart_source_dir, values_schema
from inference_scaffolder.checks.manifests import (
    SchemaCatalog,
    bundled_crd_schema_dir,
    has_core_schema,
    validate_manifests,
)
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.service.gitops_files import APPLICATION_API_VERSION
from inference_scaffolder.tools import run_helm

CI_VALUES = chart_source_dir() / "ci" / "default-values.yaml"


def every_option_on(node: Any) -> dict[str, Any]:
    """Overrides that switch on every ``enabled`` flag the chart's values declare."""
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enabled" and isinstance(value, bool):
                out[key] = True
            elif isinstance(value, dict):
                nested = every_option_on(value)
                if nested:
                    out[key] = nested
    return out


def api_version_choices() -> list[dict[str, str]]:
    """Every combination of the apiVersion overrides the values schema allows."""
    properties = values_schema()["properties"]["apiVersions"]["properties"]
    keys = sorted(properties)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(properties[k]["enum"] for k in keys))]


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (deep_merge(merged[key], value)
                       if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


def rendered_kinds(tmp_path: Path, api_versions: dict[str, str]) -> set[tuple[str, str]]:
    values = deep_merge(every_option_on(base_values()), {
        "engine": "vllm",  # the InferencePool option needs vLLM
        # The engine's own key (probes and the Secret it is read from change with it).
        "container": {"secrets": [{"name": "VLLM_API_KEY", "secretKey": "vllm-api-key",
                                   "vaultPath": "/secret/ci/vllm-key"}]},
        "imagePullSecret": {"vaultPath": "/secret/ci/ghcr"},
        "ingress": {"host": "every-option.example.com"},
        # Autoscaling reads a queryable Prometheus; the chart refuses it without one.
        "autoscaling": {"prometheus": {"serverAddress": "http://thanos-query.monitoring:9090"}},
        "apiVersions": api_versions,
    })
    values_file = tmp_path / "every-option.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_helm(["template", "every-option", str(chart_source_dir()), "-f", str(CI_VALUES),
                     "-f", str(values_file)])
    assert done.ok, done.stderr
    return {(str(d["apiVersion"]), str(d["kind"])) for d, _ in parse_rendered(done.stdout)}


def _is_core(api_version: str, kind: str) -> bool:
    return has_core_schema("1.33", api_version, kind)


def bundled_file(api_version: str, kind: str) -> Path:
    group, _, version = api_version.rpartition("/")
    return bundled_crd_schema_dir() / group / f"{kind.lower()}_{version}.json"


def test_every_option_renders_custom_resources() -> None:
    """Guard: the option sweep below really reaches the optional custom resources."""
    overrides = every_option_on(base_values())
    for option in ("routing", "autoscaling", "ingress", "imagePullSecret", "modelCache"):
        assert option in overrides, option


def test_the_sweep_renders_the_inference_pool_and_its_route(tmp_path: Path) -> None:
    kinds = rendered_kinds(tmp_path, {})
    assert {k for _, k in kinds} >= {"InferencePool", "HTTPRoute", "ScaledObject"}


@pytest.mark.parametrize("ai_gateway", AI_GATEWAY_VERSIONS)
def test_the_platforms_routing_objects_have_bundled_schemas_and_pass_them(
    ai_gateway: str
) -> None:
    """The platform's gateway objects (its models chart) are checked by the same bundled
    schemas and CEL rules, in both API versions Envoy AI Gateway serves."""
    objects = platform_routing_objects("llm-serving", "llama", 80, "llama-3.1-8b", ai_gateway)
    custom = {(o["apiVersion"], o["kind"]) for o in objects
              if not _is_core(o["apiVersion"], o["kind"])}
    assert {k for _, k in custom} >= {"AIGatewayRoute", "AIServiceBackend", "Backend",
                                      "BackendSecurityPolicy", "RateLimitPolicy"}
    assert sorted(f"{a} {k}" for a, k in custom if not bundled_file(a, k).is_file()) == []
    results = validate_manifests([(o, "platform") for o in objects], SchemaCatalog("1.33", None))
    assert [(r.kind, r.errors, r.notes) for r in results if r.errors or r.notes] == []


@pytest.mark.parametrize("api_versions", api_version_choices(),
                         ids=lambda c: ",".join(v.rpartition("/")[2] for v in c.values()))
def test_every_rendered_custom_resource_has_a_bundled_schema(
    tmp_path: Path, api_versions: dict[str, str]
) -> None:
    kinds = rendered_kinds(tmp_path, api_versions)
    custom = {(a, k) for a, k in kinds if not _is_core(a, k)}
    assert custom, "the sweep rendered no custom resource"
    missing = sorted(f"{a} {k}" for a, k in custom if not bundled_file(a, k).is_file())
    assert missing == [], f"render these without a bundled schema: {missing}"


def test_the_gitops_application_has_a_bundled_schema() -> None:
    assert bundled_file(APPLICATION_API_VERSION, "Application").is_file()


@pytest.mark.slow
def test_bundled_schemas_are_valid_json_schemas_with_provenance() -> None:
    import jsonschema

    files = sorted(bundled_crd_schema_dir().rglob("*.json"))
    assert files
    for path in files:
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
    provenance = (bundled_crd_schema_dir() / "PROVENANCE.md").read_text(encoding="utf-8")
    for group in {p.parent.name for p in files}:
        assert group in provenance, f"{group} has no provenance entry"
    assert "Apache License" in (bundled_crd_schema_dir() / "LICENSE-Apache-2.0.txt").read_text()


# --- a platform's own schemas: added, and overriding -----------------------------------------

SERVICE_MONITOR = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                   "metadata": {"name": "m"}, "spec": {"endpoints": []}}


def test_a_kind_nobody_carries_is_an_error_naming_the_option() -> None:
    result = validate_manifests([(SERVICE_MONITOR, "t")], SchemaCatalog("1.33", None))[0]
    assert result.errors == [
        "no schema for monitoring.coreos.com/v1 ServiceMonitor (Kubernetes 1.33, CRD schemas: "
        "bundled; add its schema with --crd-schemas DIR)"]


def test_a_user_folder_adds_schemas_and_overrides_bundled_ones(tmp_path: Path) -> None:
    (tmp_path / "monitoring.coreos.com").mkdir()
    (tmp_path / "monitoring.coreos.com" / "servicemonitor_v1.json").write_text(
        json.dumps({"type": "object", "required": ["spec"]}))
    (tmp_path / "cert-manager.io").mkdir()
    (tmp_path / "cert-manager.io" / "certificate_v1.json").write_text(
        json.dumps({"type": "object", "required": ["platformApproval"]}))
    catalog = SchemaCatalog("1.33", tmp_path)
    certificate = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                   "metadata": {"name": "c"}, "spec": {"secretName": "s", "dnsNames": ["a"],
                                                       "issuerRef": {"name": "i"}}}
    monitor, cert = validate_manifests([(SERVICE_MONITOR, "t"), (certificate, "t")], catalog)
    assert monitor.ok
    assert cert.errors == ["(root): 'platformApproval' is a required property"]
    # Without the folder, the bundled Certificate schema accepts the same object.
    assert validate_manifests([(certificate, "t")], SchemaCatalog("1.33", None))[0].ok
