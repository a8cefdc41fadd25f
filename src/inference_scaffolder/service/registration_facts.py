"""What one environment of a service asks the platform's routers for, read from its values.

The service chart renders no router entry: the platform's LiteLLM release and its ``models``
chart own them, and ``inference-scaffolder register`` proposes this service's entries to the
platform's routing repository. This module is the single place that turns an environment's
values (over the base chart's defaults) into those facts: the name to route, where the
engine answers, which key LiteLLM must send, and the gateway options.

Where LiteLLM sends requests:

- without an InferencePool, to the engine's Service,
  ``http://<service>.<namespace>.svc.<clusterDomain>:<service.port>/v1``;
- with one, to the internal gateway of the platform's ``inference-gateway`` release for this
  pool, ``http://<release>-inference-gateway.<namespace>.svc.<clusterDomain>:<port>/v1``, so
  every request passes the endpoint picker ``<release>-inference-gateway-epp``.

The engine's API key (vLLM's ``VLLM_API_KEY`` from Vault) reaches LiteLLM as the variable
``api_key_env``: ``routing.litellm.apiKeyEnv``, else ``ENGINE_KEY_<NAMESPACE>_<SERVICE>``
(upper case, ``-`` as ``_``), unique per service because LiteLLM's pod holds every service's
key in one environment. ``api_key_vault_path`` is where the platform's LiteLLM release reads
it from (the engine's own Vault path); no key value is ever read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inference_scaffolder.chart import base_values, coalesce_values
from inference_scaffolder.errors import UserError
from inference_scaffolder.service.intake import check_service_repository, load_mapping
from inference_scaffolder.service.serving_state import (
    check_environment,
    require_platform_routing_chart,
    serving_enabled,
    values_path_shown,
)

Engine = Literal["vllm", "tgi"]
ENGINES: tuple[str, ...] = ("vllm", "tgi")
# The inference-gateway chart's names for a release (its fullname and EPP helpers).
INFERENCE_GATEWAY_SUFFIX = "-inference-gateway"
ENDPOINT_PICKER_SUFFIX = "-inference-gateway-epp"
DEFAULT_GATEWAY_RELEASE_PREFIX = "epp-"


@dataclass(frozen=True)
class RegistrationFacts:
    """One environment's registration request (see the module docstring)."""

    service_name: str
    namespace: str
    environment: str
    served_model_name: str  # the name clients send, LiteLLM's model_name, x-ai-eg-model
    engine: Engine
    litellm_provider: str  # LiteLLM's provider prefix for the engine: hosted_vllm, openai
    base_url: str  # http://<host>:<port>/v1, the engine's Service or the internal gateway
    backend_hostname: str  # the host of base_url (an in-cluster Service name)
    backend_port: int  # the port of base_url
    api_key_env: str  # LiteLLM's variable holding the engine key; "" when no key is sent
    api_key_vault_path: str  # Vault path of the engine key; "" when the engine has none
    routing_enabled: bool  # routing.enabled: the environment asks to be registered
    public_serving: bool  # serving.enabled: false is the disabled state
    envoy_ai_gateway: bool  # opted in to the platform's Envoy AI Gateway (models chart)
    failover_backends: tuple[str, ...]  # refs of backends the platform's models chart has
    rate_limit_per_minute: int  # 0: no limit
    inference_pool: bool
    inference_gateway_release: str  # the platform's inference-gateway release for the pool
    endpoint_picker: str  # <release>-inference-gateway-epp (Service, port below)
    endpoint_picker_port: int
    inference_gateway: str  # <release>-inference-gateway, the internal Gateway
    chart_version: str  # the base chart version the environment pins

    @property
    def litellm_model(self) -> str:
        """LiteLLM's ``litellm_params.model``: provider prefix and the served name."""
        return f"{self.litellm_provider}/{self.served_model_name}"


def _mapping(values: Any, *keys: str) -> dict[str, Any]:
    """``values[k1][k2]...`` when each step is a mapping, else empty."""
    for key in keys:
        values = values.get(key) if isinstance(values, dict) else None
    return values if isinstance(values, dict) else {}


def gateway_release(values: dict[str, Any]) -> str:
    """The platform's inference-gateway release for this pool: the value, else the name the
    platform's guide uses per model, ``epp-<serviceName>``."""
    pool = _mapping(values, "routing", "inferencePool")
    return str(pool.get("gatewayRelease") or
               f"{DEFAULT_GATEWAY_RELEASE_PREFIX}{values.get('serviceName', '')}")


def api_key_env_name(namespace: str, service: str) -> str:
    """The default variable LiteLLM reads this service's engine key from."""
    return f"ENGINE_KEY_{namespace}_{service}".upper().replace("-", "_")


def engine_key_vault_path(values: dict[str, Any], engine_facts: dict[str, Any]) -> str:
    """The Vault path of the engine's API key (the secret named like the engine's key
    variable), or "" when the engine checks no key."""
    variable = engine_facts.get("apiKeyEnv")
    if not variable:
        return ""
    for secret in _mapping(values, "container").get("secrets") or []:
        if isinstance(secret, dict) and secret.get("name") == variable:
            return str(secret.get("vaultPath") or "")
    return ""


def effective_values(service_dir: Path, environment: str) -> dict[str, Any]:
    """The environment's values as the chart sees them: the file over the base chart's
    defaults (a null drops a default, as in Helm)."""
    shown = values_path_shown(environment)
    values = load_mapping(service_dir, shown)
    return coalesce_values(base_values(), values, effective=True)


def _required_text(values: dict[str, Any], key: str, shown: str) -> str:
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise UserError(shown, f"has no {key}: the registration needs it")
    return value


def _port(value: Any, default: int, shown: str, key: str) -> int:
    """A port number from a values file (anyone's edit): an integer from 1 to 65535."""
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise UserError(shown, f"{key} must be a port number")
    port = int(value)
    if not 1 <= port <= 65535:
        raise UserError(shown, f"{key} must be a port number from 1 to 65535")
    return port


def _count(value: Any, shown: str, key: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(shown, f"{key} must be a whole number, at least 0")
    return value


def _names(value: Any, shown: str, key: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UserError(shown, f"{key} must be a list of backend names")
    return tuple(value)


def facts_from_values(values: dict[str, Any], environment: str, chart_version: str,
                      shown: str) -> RegistrationFacts:
    """The facts of one environment from its effective values (see :func:`effective_values`)."""
    service = _required_text(values, "serviceName", shown)
    namespace = _required_text(values, "namespace", shown)
    engine = values.get("engine")
    if engine not in ENGINES:
        raise UserError(shown, f"engine must be one of {', '.join(ENGINES)}")
    engine_facts = _mapping(values, "engineDefaults", str(engine))
    model = _mapping(values, "model")
    served = str(model.get("servedModelName") or model.get("id") or "")
    if not served:
        raise UserError(shown, "has no model.id: the registration needs the served name")
    routing = _mapping(values, "routing")
    pool = _mapping(routing, "inferencePool")
    domain = str(routing.get("clusterDomain") or "cluster.local")
    release = gateway_release(values)
    if pool.get("enabled"):
        host = f"{release}{INFERENCE_GATEWAY_SUFFIX}.{namespace}.svc.{domain}"
        port = _port(pool.get("gatewayPort"), 80, shown, "routing.inferencePool.gatewayPort")
    else:
        host = f"{service}.{namespace}.svc.{domain}"
        port = _port(_mapping(values, "service").get("port"), 80, shown, "service.port")
    vault_path = engine_key_vault_path(values, engine_facts)
    override = str(_mapping(routing, "litellm").get("apiKeyEnv") or "")
    gateway = _mapping(routing, "envoyAIGateway")
    rate = _mapping(routing, "rateLimit")
    return RegistrationFacts(
        service_name=service, namespace=namespace, environment=environment,
        served_model_name=served, engine=engine,
        litellm_provider=str(engine_facts.get("litellmProvider") or "openai"),
        base_url=f"http://{host}:{port}/v1", backend_hostname=host, backend_port=port,
        api_key_env=override or (api_key_env_name(namespace, service) if vault_path else ""),
        api_key_vault_path=vault_path,
        routing_enabled=bool(routing.get("enabled")),
        public_serving=serving_enabled(values),
        envoy_ai_gateway=bool(gateway.get("enabled")),
        failover_backends=_names(gateway.get("failoverBackends"), shown,
                                 "routing.envoyAIGateway.failoverBackends"),
        rate_limit_per_minute=_count(rate.get("requestsPerMinute"), shown,
                                     "routing.rateLimit.requestsPerMinute")
        if rate.get("enabled") else 0,
        inference_pool=bool(pool.get("enabled")),
        inference_gateway_release=release,
        endpoint_picker=f"{release}{ENDPOINT_PICKER_SUFFIX}",
        endpoint_picker_port=_port(_mapping(pool, "endpointPicker").get("port"), 9002, shown,
                                   "routing.inferencePool.endpointPicker.port"),
        inference_gateway=f"{release}{INFERENCE_GATEWAY_SUFFIX}",
        chart_version=chart_version,
    )


def registration_facts(service_dir: Path, environment: str) -> RegistrationFacts:
    """What ``environment`` of the service repository in ``service_dir`` asks the platform's
    routers for. The repository is read as hostile input (links out, special files, oversized
    or broken YAML refused in one line); an unknown environment, or one pinning a base chart
    that still registers the model by itself (before 0.2.0), is a :class:`UserError`."""
    service_dir = Path(service_dir).resolve()
    check_service_repository(service_dir)
    check_environment(service_dir, environment)
    version = require_platform_routing_chart(service_dir, environment)
    return facts_from_values(effective_values(service_dir, environment), environment, version,
                             values_path_shown(environment))
