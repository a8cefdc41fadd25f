"""Routing checks over rendered manifests: does every registration lead to a real backend?

JSON Schemas check each object alone. A route is only useful when its chain resolves:
LiteLLM entry -> Service; AIGatewayRoute -> AIServiceBackend -> Backend -> Service, or
AIGatewayRoute -> InferencePool -> pods; RateLimitPolicy -> the route. An engine with its own
API key must get it from every router in front of it (LiteLLM's api_key, the gateway's
BackendSecurityPolicy), from the Vault path the engine reads. Every registered
name must also be the name the engine serves, or clients get "model not found" from the
engine (vLLM) or a name the rest of the platform does not know (TGI ignores it). These
functions work on ``helm template`` output (a list of objects) and return problems as data;
``check_fleet_routing`` adds the check no single repository can make: one model name
registered by two services in one environment.

The CRDs' own CEL rules (an AIServiceBackend points at an Envoy Gateway Backend, a
BackendSecurityPolicy targets an AIServiceBackend or an InferencePool, ...) are evaluated for
every object by checks/cel.py; the few kept here are the ones a chain check below needs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inference_scaffolder.checks.manifests import ObjectResult
from inference_scaffolder.service.layout import list_environments, release_name
from inference_scaffolder.service.routing import (
    LITELLM_PROVIDERS,
    MODEL_HEADER,
    Manifest,
    Registration,
    RenderedObjects,
    containers,
    external_secret_target,
    gateway_scopes,
    is_vllm,
    litellm_config_maps,
    litellm_entries,
    litellm_key_secrets,
    metadata_of,
    model_header_values,
    pod_labels,
    registrations,
    render_objects,
    served_names,
)

# vLLM's API key variable: with it set, every /v1 request without the key gets 401.
VLLM_API_KEY_ENV = "VLLM_API_KEY"

# Envoy AI Gateway's own default (60s) cuts long generations; anything shorter is worse.
MIN_LLM_REQUEST_TIMEOUT_SECONDS = 60

_AI_GATEWAY_GROUP = "aigateway.envoyproxy.io"

_ENVOY_GATEWAY_GROUP = "gateway.envoyproxy.io"

_INFERENCE_GROUP = "inference.networking.k8s.io"

# The Secret key a BackendSecurityPolicy of type APIKey reads the key from.
_AI_GATEWAY_KEY_FIELD = "apiKey"


_GATEWAY_API_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class RoutingProblem:
    """One broken link in a routing chain, reported on the object that holds it."""

    kind: str
    name: str
    message: str
    api_version: str = ""


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _deployments_behind(rendered: RenderedObjects, service: Manifest) -> list[Manifest]:
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = rendered.namespace_of(service)
    return [d for d in rendered.of_kind("Deployment")
            if rendered.namespace_of(d) == namespace and _selects(selector, pod_labels(d))]


def _names_served_by(deployments: Iterable[Manifest]) -> set[str]:
    names: set[str] = set()
    for deployment in deployments:
        names |= served_names(deployment)[0]
    return names


def _service_by_host(rendered: RenderedObjects, host: str, port: int | None
                     ) -> tuple[Manifest | None, str]:
    """The rendered Service a cluster DNS name and port point at, or why there is none."""
    parts = host.split(".")
    if len(parts) < 2 or (len(parts) > 2 and parts[2] != "svc"):
        return None, f"{host} is not an in-cluster Service name (<service>.<namespace>.svc...)"
    service = rendered.get("Service", parts[1], parts[0])
    if service is None:
        return None, f"no Service {parts[1]}/{parts[0]} is rendered for {host}"
    ports = {p.get("port") for p in (service.get("spec") or {}).get("ports") or []}
    if port not in ports:
        return None, (f"Service {parts[1]}/{parts[0]} has no port {port} "
                      f"(its ports: {sorted(p for p in ports if p is not None)})")
    return service, ""


def _name_mismatch(registered: str, served: set[str], backend: str) -> str:
    if not served:
        return f"no engine serves {backend}: nothing answers model {registered!r}"
    if registered not in served:
        return (f"registers model {registered!r} but {backend} serves "
                f"{' / '.join(repr(n) for n in sorted(served))}")
    return ""


def _vault_path(rendered: RenderedObjects, namespace: str, secret: str, key: str) -> str:
    """The Vault path a rendered ExternalSecret reads into ``secret``'s ``key`` ('' if none)."""
    for external in rendered.of_kind("ExternalSecret"):
        if (rendered.namespace_of(external) != namespace
                or external_secret_target(external) != secret):
            continue
        for data in (external.get("spec") or {}).get("data") or []:
            if data.get("secretKey") == key:
                return str((data.get("remoteRef") or {}).get("key", ""))
    return ""


def _engine_key_paths(rendered: RenderedObjects, deployments: Iterable[Manifest]
                      ) -> list[str] | None:
    """None when no vLLM in ``deployments`` wants an API key; else the Vault path of each
    key ('' where it is not read from a rendered ExternalSecret, e.g. ``--api-key``)."""
    paths: list[str] = []
    for deployment in deployments:
        for container in containers(deployment):
            if not is_vllm(container):
                continue
            args = [str(a) for a in container.get("args") or []]
            if any(a == "--api-key" or a.startswith("--api-key=") for a in args):
                paths.append("")
            for env in container.get("env") or []:
                if env.get("name") == VLLM_API_KEY_ENV:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                    paths.append(_vault_path(rendered, rendered.namespace_of(deployment),
                                             str(ref.get("name", "")), str(ref.get("key", ""))))
    return paths or None


def _engine_key_problems(rendered: RenderedObjects, name: str, api_key: object,
                         service: Manifest, namespace: str) -> list[str]:
    """An engine with an API key answers 401 to every request without it, so LiteLLM must
    send it: the registration references a variable that a rendered key Secret in LiteLLM's
    namespace fills from the Vault path the engine's own key comes from. A variable no
    rendered Secret provides is the platform's business, unless the chart rendered one."""
    engine_paths = _engine_key_paths(rendered, _deployments_behind(rendered, service))
    if engine_paths is None:
        return []
    if api_key in (None, "none"):
        return [f"model {name!r}: vLLM behind Service {rendered.namespace_of(service)}/"
                f"{metadata_of(service).get('name')} wants an API key ({VLLM_API_KEY_ENV}) "
                "but the registration sends none: every routed request would get 401 (the "
                "current chart wires the key from Vault: docs/routing.md)"]
    if not str(api_key).startswith("os.environ/"):
        return []  # a literal: reported on its own
    variable = str(api_key).removeprefix("os.environ/")
    provided = {str(data.get("secretKey")): str((data.get("remoteRef") or {}).get("key", ""))
                for external in litellm_key_secrets(rendered)
                if rendered.namespace_of(external) == namespace
                for data in (external.get("spec") or {}).get("data") or []}
    if not provided:
        return []
    if variable not in provided:
        return [f"model {name!r}: api_key names os.environ/{variable}, which no rendered "
                f"LiteLLM key Secret in namespace {namespace} provides"]
    known = sorted({p for p in engine_paths if p})
    if known and provided[variable] not in known:
        return [f"model {name!r}: LiteLLM would send the key at Vault path "
                f"{provided[variable]}, but the engine checks the key at {', '.join(known)}"]
    return []


def _check_litellm_entry(rendered: RenderedObjects, entry: Mapping[str, Any],
                         namespace: str) -> list[str]:
    name = str(entry.get("model_name", ""))
    params = entry.get("litellm_params") or {}
    provider, _, backend_name = str(params.get("model", "")).partition("/")
    problems = []
    if provider not in LITELLM_PROVIDERS or not backend_name:
        problems.append(f"model {name!r}: litellm_params.model must be "
                        f"<{'|'.join(LITELLM_PROVIDERS)}>/<served model name>")
    elif backend_name != name:
        problems.append(f"model {name!r} is sent to the engine as {backend_name!r}: one name "
                        "must run from client to engine")
    api_key = params.get("api_key")
    if api_key not in (None, "none") and not str(api_key).startswith("os.environ/"):
        problems.append(f"model {name!r}: api_key holds a literal value; reference the "
                        "LiteLLM pod's environment as os.environ/<VARIABLE>")
    url = urlsplit(str(params.get("api_base", "")))
    if url.scheme not in ("http", "https") or not url.hostname:
        return [*problems, f"model {name!r}: api_base {params.get('api_base')!r} is not a URL"]
    if url.path.rstrip("/") != "/v1":
        problems.append(f"model {name!r}: api_base must end in /v1 (the OpenAI API root)")
    port = url.port or (443 if url.scheme == "https" else 80)
    service, why = _service_by_host(rendered, url.hostname, port)
    if service is None:
        return [*problems, f"model {name!r}: api_base leads nowhere: {why}"]
    mismatch = _name_mismatch(name, _names_served_by(_deployments_behind(rendered, service)),
                              f"Service {metadata_of(service).get('name')}")
    problems += _engine_key_problems(rendered, name, api_key, service, namespace)
    return [*problems, *([f"LiteLLM {mismatch}"] if mismatch else [])]


def check_litellm(rendered: RenderedObjects) -> list[RoutingProblem]:
    """Every LiteLLM entry names the served model and points at a rendered Service port."""
    problems = []
    seen: dict[str, str] = {}
    for config_map in litellm_config_maps(rendered):
        entries, messages = litellm_entries(config_map)
        for entry in entries:
            name = str(entry.get("model_name", ""))
            if name in seen:
                messages.append(f"model {name!r} is registered twice (also in {seen[name]})")
            seen[name] = str(metadata_of(config_map).get("name"))
            messages += _check_litellm_entry(rendered, entry, rendered.namespace_of(config_map))
        problems += [_problem(config_map, m) for m in messages]
    return problems


def _duration_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|h|m|s)", text))


@dataclass(frozen=True)
class _GatewayBackend:
    """Where a route's backendRef ends: the object a BackendSecurityPolicy attaches to, and
    the Deployments that answer."""

    group: str
    kind: str
    namespace: str
    name: str
    deployments: list[Manifest]


def _ref_location(ref: Mapping[str, Any], route_ns: str) -> tuple[str, str]:
    """A backendRef's namespace (the route's when it names none) and name."""
    return str(ref.get("namespace") or route_ns), str(ref.get("name", ""))


def _follow_service_backend(rendered: RenderedObjects, route_ns: str,
                            ref: Mapping[str, Any]) -> tuple[_GatewayBackend | None, str]:
    """AIServiceBackend -> Backend -> Service: the Deployments at the end, or the gap."""
    namespace, name = _ref_location(ref, route_ns)
    ai_backend = rendered.get("AIServiceBackend", namespace, name)
    if ai_backend is None:
        return None, f"backendRef {name!r}: no AIServiceBackend {namespace}/{name} is rendered"
    backend_ref = (ai_backend.get("spec") or {}).get("backendRef") or {}
    if backend_ref.get("kind") != "Backend" or backend_ref.get("group") != _ENVOY_GATEWAY_GROUP:
        return None, (f"AIServiceBackend {name} must reference a {_ENVOY_GATEWAY_GROUP} "
                      "Backend")
    backend_ns = str(backend_ref.get("namespace") or namespace)
    backend = rendered.get("Backend", backend_ns, str(backend_ref.get("name", "")))
    if backend is None:
        return None, (f"AIServiceBackend {name} points at Backend "
                      f"{backend_ns}/{backend_ref.get('name')}, which is not rendered")
    deployments: list[Manifest] = []
    endpoints = (backend.get("spec") or {}).get("endpoints") or []
    if not endpoints:
        return None, f"Backend {metadata_of(backend).get('name')} has no endpoints"
    for endpoint in endpoints:
        fqdn = endpoint.get("fqdn") or {}
        service, why = _service_by_host(rendered, str(fqdn.get("hostname", "")),
                                        fqdn.get("port"))
        if service is None:
            return None, f"Backend {metadata_of(backend).get('name')} leads nowhere: {why}"
        deployments += _deployments_behind(rendered, service)
    return _GatewayBackend(_AI_GATEWAY_GROUP, "AIServiceBackend", namespace, name,
                           deployments), ""


def _follow_inference_pool(rendered: RenderedObjects, route_ns: str,
                           ref: Mapping[str, Any]) -> tuple[_GatewayBackend | None, str]:
    namespace, name = _ref_location(ref, route_ns)
    pool = rendered.get("InferencePool", namespace, name)
    if pool is None:
        return None, f"no InferencePool {namespace}/{name} is rendered"
    return _GatewayBackend(_INFERENCE_GROUP, "InferencePool", namespace, name,
                           _pool_deployments(rendered, pool)), ""


def _policies_on(rendered: RenderedObjects, backend: _GatewayBackend) -> list[Manifest]:
    return [policy for policy in rendered.of_kind("BackendSecurityPolicy")
            if rendered.namespace_of(policy) == backend.namespace
            and any(ref.get("group") == backend.group and ref.get("kind") == backend.kind
                    and ref.get("name") == backend.name
                    for ref in (policy.get("spec") or {}).get("targetRefs") or [])]


def _gateway_key_problems(rendered: RenderedObjects, backend: _GatewayBackend) -> list[str]:
    """An engine with an API key answers 401 without it, so the gateway must send it: one
    BackendSecurityPolicy of type APIKey on the backend, whose Secret holds the key (under
    ``apiKey``) from the Vault path the engine's own key comes from. A Secret no rendered
    ExternalSecret fills is the platform's business."""
    engine_paths = _engine_key_paths(rendered, backend.deployments)
    if engine_paths is None:
        return []
    target = f"{backend.kind} {backend.namespace}/{backend.name}"
    policies = _policies_on(rendered, backend)
    if not policies:
        return [f"vLLM behind {target} wants an API key ({VLLM_API_KEY_ENV}) but no "
                "BackendSecurityPolicy of type APIKey targets it: every request through the "
                "gateway would get 401"]
    if len(policies) > 1:
        return [f"{len(policies)} BackendSecurityPolicies target {target}; the gateway "
                "refuses more than one"]
    policy = policies[0]
    spec = policy.get("spec") or {}
    policy_name = metadata_of(policy).get("name")
    if spec.get("type") != "APIKey":
        return [f"BackendSecurityPolicy {policy_name} is of type {spec.get('type')}; vLLM "
                "checks a bearer key (type APIKey)"]
    secret_ref = (spec.get("apiKey") or {}).get("secretRef") or {}
    secret_ns = str(secret_ref.get("namespace") or rendered.namespace_of(policy))
    secret = str(secret_ref.get("name", ""))
    fillers = [e for e in rendered.of_kind("ExternalSecret")
               if rendered.namespace_of(e) == secret_ns and external_secret_target(e) == secret]
    if not fillers:
        return []
    path = _vault_path(rendered, secret_ns, secret, _AI_GATEWAY_KEY_FIELD)
    if not path:
        return [f"BackendSecurityPolicy {policy_name}: Secret {secret_ns}/{secret} has no "
                f"{_AI_GATEWAY_KEY_FIELD!r} key, where the gateway reads the API key"]
    known = sorted({p for p in engine_paths if p})
    if known and path not in known:
        return [f"BackendSecurityPolicy {policy_name}: the gateway would send the key at "
                f"Vault path {path}, but the engine checks the key at {', '.join(known)}"]
    return []


def _check_route_rule(rendered: RenderedObjects, route_ns: str, rule: Mapping[str, Any],
                      position: int) -> list[str]:
    where = f"rules[{position}]"
    models = model_header_values(rule)
    problems = []
    if not models:
        problems.append(f"{where} matches no {MODEL_HEADER} header: it would catch every model")
    timeout = ((rule.get("timeouts") or {}).get("request")) or ""
    if _duration_seconds(str(timeout)) < MIN_LLM_REQUEST_TIMEOUT_SECONDS:
        problems.append(f"{where}: timeouts.request {timeout or '(unset)'} is too short for "
                        f"LLM generations (at least {MIN_LLM_REQUEST_TIMEOUT_SECONDS}s)")
    refs = list(rule.get("backendRefs") or [])
    if not refs:
        return [*problems, f"{where} has no backendRefs"]
    pools = [r for r in refs if r.get("kind") == "InferencePool"]
    if pools and len(refs) > 1:
        problems.append(f"{where}: an InferencePool must be the rule's only backend")
    for ref in refs:
        group, kind = ref.get("group"), ref.get("kind")
        if (group is None) != (kind is None):
            problems.append(f"{where}: backendRef {ref.get('name')!r} needs group and kind "
                            "together")
            continue
        if kind is None:
            backend, gap = _follow_service_backend(rendered, route_ns, ref)
        elif group == _INFERENCE_GROUP and kind == "InferencePool":
            backend, gap = _follow_inference_pool(rendered, route_ns, ref)
        else:
            backend, gap = None, f"backendRef kind {group}/{kind} cannot serve a model"
        if backend is None:
            problems.append(f"{where}: {gap}")
            continue
        problems += [f"{where}: {m}" for m in _gateway_key_problems(rendered, backend)]
        served = _names_served_by(backend.deployments)
        for model in models:
            mismatch = _name_mismatch(model, served, f"backend {ref.get('name')}")
            if mismatch:
                problems.append(f"{where} {mismatch}")
    return problems


def check_ai_gateway(rendered: RenderedObjects) -> list[RoutingProblem]:
    """Every AIGatewayRoute rule matches one model name and reaches an engine serving it."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for route in rendered.of_kind("AIGatewayRoute"):
        namespace = rendered.namespace_of(route)
        spec = route.get("spec") or {}
        messages = []
        for parent in spec.get("parentRefs") or []:
            if parent.get("kind", "Gateway") != "Gateway":
                messages.append(f"parentRef {parent.get('name')!r}: only a Gateway can carry "
                                "an AIGatewayRoute")
        for position, rule in enumerate(spec.get("rules") or []):
            messages += _check_route_rule(rendered, namespace, rule, position)
            for model in model_header_values(rule):
                for gateway in gateway_scopes(route):
                    if (gateway, model) in seen:
                        messages.append(f"model {model!r} is routed twice on {gateway} "
                                        f"(also by {seen[(gateway, model)]})")
                    seen[(gateway, model)] = f"AIGatewayRoute {metadata_of(route).get('name')}"
        problems += [_problem(route, m) for m in messages]
    # What an AIServiceBackend may point at and what a BackendSecurityPolicy may target are
    # CEL rules of their CRDs, evaluated with every other rule by checks/cel.py.
    return problems


def check_rate_limits(rendered: RenderedObjects) -> list[RoutingProblem]:
    """A RateLimitPolicy targets a Gateway API route that is rendered (directly, or as the
    HTTPRoute an AIGatewayRoute of the same name generates)."""
    problems = []
    for policy in rendered.of_kind("RateLimitPolicy"):
        spec = policy.get("spec") or {}
        target = spec.get("targetRef") or {}
        kind, name = target.get("kind"), str(target.get("name", ""))
        namespace = rendered.namespace_of(policy)
        if target.get("group") != _GATEWAY_API_GROUP or kind not in (
                "HTTPRoute", "GRPCRoute", "Gateway"):
            problems.append(_problem(policy, "targetRef must be a gateway.networking.k8s.io "
                                     "HTTPRoute, GRPCRoute or Gateway (Kuadrant's rule)"))
            continue
        if kind == "HTTPRoute" and not (rendered.get("HTTPRoute", namespace, name)
                                        or rendered.get("AIGatewayRoute", namespace, name)):
            problems.append(_problem(policy, f"targets HTTPRoute {namespace}/{name}, which no "
                                     "rendered HTTPRoute or AIGatewayRoute produces"))
        limits = spec.get("limits") or (spec.get("defaults") or {}).get("limits") or (
            spec.get("overrides") or {}).get("limits")
        if not limits:
            problems.append(_problem(policy, "defines no limits"))
    return problems


def _pool_deployments(rendered: RenderedObjects, pool: Manifest) -> list[Manifest]:
    selector = ((pool.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    namespace = rendered.namespace_of(pool)
    return [d for d in rendered.of_kind("Deployment")
            if rendered.namespace_of(d) == namespace and _selects(selector, pod_labels(d))]


def check_inference_pools(rendered: RenderedObjects) -> list[RoutingProblem]:
    """An InferencePool selects vLLM pods on a port they listen on, with a reachable picker."""
    problems = []
    for pool in rendered.of_kind("InferencePool"):
        spec = pool.get("spec") or {}
        deployments = _pool_deployments(rendered, pool)
        if not deployments:
            problems.append(_problem(pool, "selector.matchLabels selects no rendered "
                                     "Deployment's pods"))
        ports = {p.get("number") for p in spec.get("targetPorts") or []}
        for deployment in deployments:
            pod_containers = containers(deployment)
            listening = {p.get("containerPort") for c in pod_containers
                         for p in c.get("ports") or []}
            if not ports or not ports <= listening:
                problems.append(_problem(pool, f"targetPorts {sorted(ports)} are not ports of "
                                         f"Deployment {metadata_of(deployment).get('name')} "
                                         f"({sorted(listening)})"))
            if not any(is_vllm(c) for c in pod_containers):
                problems.append(_problem(
                    pool, f"Deployment {metadata_of(deployment).get('name')} does not run vLLM: "
                    "the endpoint picker needs the model server's queue and KV-cache metrics, "
                    "which TGI does not export"))
        picker = spec.get("endpointPickerRef") or {}
        if picker.get("kind", "Service") == "Service" and not (picker.get("port") or {}).get(
                "number"):
            problems.append(_problem(pool, "endpointPickerRef to a Service needs port.number"))
    return problems


def _problem(obj: Manifest, message: str) -> RoutingProblem:
    return RoutingProblem(str(obj.get("kind", "")), str(metadata_of(obj).get("name", "")), message,
                          str(obj.get("apiVersion", "")))


def check_routing(objects: Iterable[Manifest]) -> list[RoutingProblem]:
    """Every cross-object routing problem in one environment's rendered objects."""
    rendered = RenderedObjects(objects)
    problems: list[RoutingProblem] = []
    for deployment in rendered.of_kind("Deployment"):
        problems += [_problem(deployment, m) for m in served_names(deployment)[1]]
    for check in (check_litellm, check_ai_gateway, check_rate_limits, check_inference_pools):
        problems += check(rendered)
    return problems


def routing_results(docs: Sequence[tuple[Mapping[str, Any], str]]) -> list[ObjectResult]:
    """Routing problems as ``validate.ObjectResult`` entries (only failing objects), so
    ``check_environment`` can append them to its schema results."""
    sources = {(str(d.get("kind", "")), str(metadata_of(d).get("name", ""))): s for d, s in docs}
    grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for problem in check_routing([d for d, _ in docs]):
        grouped[(problem.api_version, problem.kind, problem.name)].append(problem.message)
    return [ObjectResult(api, kind, name, sources.get((kind, name), "routing"),
                         [f"routing: {m}" for m in messages])
            for (api, kind, name), messages in grouped.items()]


def find_duplicate_registrations(
    by_service: Mapping[str, Mapping[str, Sequence[Registration]]],
) -> list[str]:
    """Model names that two services register with the same router in one environment.

    ``by_service`` maps a service label to {environment: registrations}.
    """
    owners: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for service, environments in by_service.items():
        for environment, found in environments.items():
            for registration in found:
                owners[(environment, registration.scope, registration.model_name)].add(service)
    return [f"{environment}: model {model!r} is registered by {len(services)} services on "
            f"{scope}: {', '.join(sorted(services))}; a name must lead to one service"
            for (environment, scope, model), services in sorted(owners.items())
            if len(services) > 1]


def check_fleet_routing(repos: Sequence[Path]) -> list[str]:
    """Render every environment of several generated repositories and report model names
    registered twice in one environment, plus environments that do not render.

    Per-repository routing problems are ``validate``'s job (``routing_results``); this adds
    the check that needs the whole fleet. Returns problem lines; empty means fine.
    """
    unique = list(dict.fromkeys(Path(r).resolve() for r in repos))
    jobs = [(repo, env, release_name(repo)) for repo in unique for env in list_environments(repo)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 4))) as pool:
        rendered = list(pool.map(lambda job: render_objects(*job), jobs))
    by_service: dict[str, dict[str, list[Registration]]] = defaultdict(dict)
    problems = []
    for (repo, environment, release), (objects, error) in zip(jobs, rendered, strict=True):
        label = f"{release} ({repo})"
        if error:
            problems.append(f"{label} {environment}: cannot render: {error}")
            continue
        by_service[label][environment] = registrations(objects)
    return problems + find_duplicate_registrations(by_service)


def fleet_routing_problems(reports: Sequence[Any]) -> list[str]:
    """Duplicate registrations across already validated repositories (no second render)."""
    by_service = {
        f"{Path(report.repo).name} ({report.repo})": {
            env.environment: registrations(env.rendered)
            for env in report.environments if env.rendered
        }
        for report in reports
    }
    return find_duplicate_registrations(by_service)
