"""The routing objects the platform renders for one model, not the service chart: its Envoy
AI Gateway ``models`` chart (Backend, AIServiceBackend, AIGatewayRoute with a failover
backend, BackendSecurityPolicy and the Secret it reads, a Kuadrant RateLimitPolicy) and a
LiteLLM configuration ConfigMap. ``check-manifests`` checks such objects (the CRD schemas,
their CEL rules, the references between them) wherever they come from; the tests use these
to keep that coverage now that the service chart renders none of them."""

from __future__ import annotations

from typing import Any

AI_GATEWAY_VERSIONS = ("aigateway.envoyproxy.io/v1beta1", "aigateway.envoyproxy.io/v1alpha1")


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm",
                       "app.kubernetes.io/part-of": "models"}}


def _backend_pair(name: str, namespace: str, hostname: str, port: int,
                  ai_gateway: str) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "Backend",
         "metadata": _meta(f"{name}-backend", namespace),
         "spec": {"endpoints": [{"fqdn": {"hostname": hostname, "port": port}}]}},
        {"apiVersion": ai_gateway, "kind": "AIServiceBackend", "metadata": _meta(name, namespace),
         "spec": {"schema": {"name": "OpenAI", "prefix": "/v1"},
                  "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend",
                                 "name": f"{name}-backend"}}},
    ]


def _vault_secret(name: str, namespace: str, key: str) -> dict[str, Any]:
    """A Secret the platform fills from the engine key's Vault path (External Secrets)."""
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": _meta(name, namespace),
            "spec": {"refreshInterval": "1h",
                     "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault-backend"},
                     "target": {"name": name, "creationPolicy": "Owner"},
                     "data": [{"secretKey": key, "remoteRef": {"key": "/secret/ci/vllm-key",
                                                               "property": "value"}}]}}


def platform_routing_objects(namespace: str, service: str, port: int, served_name: str,
                             ai_gateway: str = AI_GATEWAY_VERSIONS[0]) -> list[dict[str, Any]]:
    """One model on the platform's gateway: this service at priority 0, a failover at 1."""
    route = f"{service}-model"
    return [
        *_backend_pair(service, namespace, f"{service}.{namespace}.svc.cluster.local", port,
                       ai_gateway),
        *_backend_pair("shared-fallback", namespace, "fallback.example.com", 443, ai_gateway),
        {"apiVersion": ai_gateway, "kind": "AIGatewayRoute", "metadata": _meta(route, namespace),
         "spec": {
             "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                             "name": "ai-gateway"}],
             "rules": [{
                 "name": route,
                 "matches": [{"headers": [{"type": "Exact", "name": "x-ai-eg-model",
                                           "value": served_name}]}],
                 "backendRefs": [{"name": service, "priority": 0},
                                 {"name": "shared-fallback", "priority": 1}],
                 "timeouts": {"request": "300s"},
             }]}},
        {"apiVersion": ai_gateway, "kind": "BackendSecurityPolicy",
         "metadata": _meta(service, namespace),
         "spec": {"type": "APIKey", "apiKey": {"secretRef": {"name": f"{service}-apikey"}},
                  "targetRefs": [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend",
                                  "name": service}]}},
        _vault_secret(f"{service}-apikey", namespace, "apiKey"),
        {"apiVersion": "kuadrant.io/v1", "kind": "RateLimitPolicy",
         "metadata": _meta(f"{route}-rate-limit", namespace),
         "spec": {"targetRef": {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                "name": route},
                  "limits": {"per-model": {"rates": [{"limit": 60, "window": "1m"}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("litellm-config", namespace),
         "data": {"config.yaml": f"model_list:\n- model_name: {served_name}\n"}},
        # The engine key LiteLLM's pod loads (os.environ/<variable>), from the engine's Vault path.
        _vault_secret("litellm-engine-keys", namespace,
                      f"ENGINE_KEY_{namespace}_{service}".upper().replace("-", "_")),
    ]
