"""Routing checks over rendered manifests: does every registration lead to a real backend?

JSON Schemas check each object alone. A route is only useful when its chain resolves:
LiteLLM entry -> Service; AIGatewayRoute -> AIServiceBackend -> Backend -> Service, or
AIGatewayRoute -> InferencePool -> pods; RateLimitPolicy -> the route. Every registered
name must also be the name the engine serves, or clients get "model not found" from the
engine (vLLM) or a name the rest of the platform does not know (TGI ignores it). These
functions work on ``helm template`` output (a list of objects) and return problems as data;
``check_fleet_routing`` adds the check no single repository can make: one model name
registered by two services in one environment.

The CEL rules of the CRDs that matter here (JSON Schema validation ignores CEL) are checked
too: AIServiceBackend points at an Envoy Gateway Backend, RateLimitPolicy targets a Gateway
API route, an InferencePool picker Service has a port.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from inference_scaffolder.errors import UserError

LITELLM_LABEL = "platform/litellm-registration"
SERVED_NAME_ANNOTATION = "platform/served-model-name"
MODEL_HEADER = "x-ai-eg-model"
LITELLM_PROVIDERS = ("openai", "hosted_vllm")
# Envoy AI Gateway's own default (60s) cuts long generations; anything shorter is worse.
MIN_LLM_REQUEST_TIMEOUT_SECONDS = 60
_AI_GATEWAY_GROUP = "aigateway.envoyproxy.io"
_ENVOY_GATEWAY_GROUP = "gateway.envoyproxy.io"
_INFERENCE_GROUP = "inference.networking.k8s.io"
_GATEWAY_API_GROUP = "gateway.networking.k8s.io"

Manifest = Mapping[str, Any]


@dataclass(frozen=True)
class RoutingProblem:
    """One broken link in a routing chain, reported on the object that holds it."""

    kind: str
    name: str
    message: str
    api_version: str = ""


@dataclass(frozen=True)
class Registration:
    """A model name a router sends somewhere: the unit the fleet check compares."""

    router: str  # "litellm" or "envoy-ai-gateway"
    scope: str  # the router instance: LiteLLM namespace, or gateway namespace/name
    model_name: str
    kind: str
    name: str
    namespace: str


# --- reading rendered objects ------------------------------------------------------------


def _meta(obj: Manifest) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _group(obj: Manifest) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def _key(obj: Manifest, default_namespace: str = "") -> tuple[str, str, str]:
    meta = _meta(obj)
    return (str(obj.get("kind", "")), str(meta.get("namespace") or default_namespace),
            str(meta.get("name", "")))


class RenderedObjects:
    """The rendered objects of one environment, indexed for reference lookups."""

    def __init__(self, objects: Iterable[Manifest]) -> None:
        self.objects = [o for o in objects if isinstance(o, Mapping)]
        self.default_namespace = next(
            (str(_meta(o).get("namespace")) for o in self.objects
             if o.get("kind") == "Deployment" and _meta(o).get("namespace")), "")
        self._by_key = {_key(o, self.default_namespace): o for o in self.objects}

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return self._by_key.get((kind, namespace or self.default_namespace, name))

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o.get("kind") == kind]

    def namespace_of(self, obj: Manifest) -> str:
        return str(_meta(obj).get("namespace") or self.default_namespace)


def _pod_labels(deployment: Manifest) -> Mapping[str, str]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def _containers(deployment: Manifest) -> list[Mapping[str, Any]]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _is_vllm(container: Mapping[str, Any]) -> bool:
    command = [str(c) for c in container.get("command") or []]
    return bool(command) and command[0].rsplit("/", 1)[-1] == "vllm"


def _vllm_served_names(container: Mapping[str, Any]) -> set[str]:
    """Names vLLM answers to: the last --served-model-name (one or more values), else the
    model argument of ``vllm serve``."""
    args = [str(a) for a in container.get("args") or []]
    names: list[str] = []
    for index, arg in enumerate(args):
        if arg.startswith("--served-model-name="):
            names = [arg.split("=", 1)[1]]
        elif arg == "--served-model-name":
            names = []
            for value in args[index + 1:]:
                if value.startswith("--"):
                    break
                names.append(value)
    if names:
        return set(names)
    positional = next((a for a in args if not a.startswith("-")), "")
    return {positional} if positional else set()


def _env_value(container: Mapping[str, Any], name: str) -> str:
    for entry in container.get("env") or []:
        if entry.get("name") == name and "value" in entry:
            return str(entry["value"])
    return ""


def served_names(deployment: Manifest) -> tuple[set[str], list[str]]:
    """The model names a Deployment's engine serves, and inconsistencies found on the way.

    vLLM's own arguments decide for vLLM. TGI's OpenAI API ignores the requested name, so
    the chart records the served name in an annotation; without it, TGI reports MODEL_ID.
    """
    annotation = (_meta(deployment).get("annotations") or {}).get(SERVED_NAME_ANNOTATION)
    problems: list[str] = []
    for container in _containers(deployment):
        if _is_vllm(container):
            names = _vllm_served_names(container)
            if annotation and annotation not in names:
                problems.append(
                    f"vLLM serves {sorted(names)} but the {SERVED_NAME_ANNOTATION} annotation "
                    f"says {annotation!r} (an extra --served-model-name in extraArgs?)")
            return names, problems
    if annotation:
        return {str(annotation)}, problems
    model_id = next((_env_value(c, "MODEL_ID") for c in _containers(deployment)
                     if _env_value(c, "MODEL_ID")), "")
    return ({model_id} if model_id else set()), problems


def _deployments_behind(rendered: RenderedObjects, service: Manifest) -> list[Manifest]:
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = rendered.namespace_of(service)
    return [d for d in rendered.of_kind("Deployment")
            if rendered.namespace_of(d) == namespace and _selects(selector, _pod_labels(d))]


def _names_behind_service(rendered: RenderedObjects, service: Manifest) -> set[str]:
    names: set[str] = set()
    for deployment in _deployments_behind(rendered, service):
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


# --- LiteLLM -----------------------------------------------------------------------------


def _litellm_config_maps(rendered: RenderedObjects) -> list[Manifest]:
    return [c for c in rendered.of_kind("ConfigMap")
            if (_meta(c).get("labels") or {}).get(LITELLM_LABEL) == "true"]


def litellm_entries(config_map: Manifest) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The model_list entries of a LiteLLM registration ConfigMap, and parse problems."""
    entries: list[Mapping[str, Any]] = []
    problems: list[str] = []
    for key, text in (config_map.get("data") or {}).items():
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(f"data.{key} is not YAML: {exc}")
            continue
        if not isinstance(document, Mapping) or not isinstance(document.get("model_list"),
                                                              list):
            problems.append(f"data.{key} has no model_list list")
            continue
        entries += [e for e in document["model_list"] if isinstance(e, Mapping)]
    return entries, problems


def _check_litellm_entry(rendered: RenderedObjects, entry: Mapping[str, Any]) -> list[str]:
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
    mismatch = _name_mismatch(name, _names_behind_service(rendered, service),
                              f"Service {_meta(service).get('name')}")
    return [*problems, *([f"LiteLLM {mismatch}"] if mismatch else [])]


def check_litellm(rendered: RenderedObjects) -> list[RoutingProblem]:
    """Every LiteLLM entry names the served model and points at a rendered Service port."""
    problems = []
    seen: dict[str, str] = {}
    for config_map in _litellm_config_maps(rendered):
        entries, messages = litellm_entries(config_map)
        for entry in entries:
            name = str(entry.get("model_name", ""))
            if name in seen:
                messages.append(f"model {name!r} is registered twice (also in {seen[name]})")
            seen[name] = str(_meta(config_map).get("name"))
            messages += _check_litellm_entry(rendered, entry)
        problems += [_problem(config_map, m) for m in messages]
    return problems


# --- Envoy AI Gateway --------------------------------------------------------------------


def _model_header_values(rule: Mapping[str, Any]) -> list[str]:
    values = []
    for match in rule.get("matches") or []:
        for header in match.get("headers") or []:
            if str(header.get("name", "")).lower() == MODEL_HEADER and header.get(
                    "type", "Exact") == "Exact":
                values.append(str(header.get("value", "")))
    return values


def _duration_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|h|m|s)", text))


def _follow_service_backend(rendered: RenderedObjects, route_ns: str,
                            ref: Mapping[str, Any]) -> tuple[set[str] | None, str]:
    """AIServiceBackend -> Backend -> Service: the names served at the end, or the gap."""
    namespace = str(ref.get("namespace") or route_ns)
    name = str(ref.get("name", ""))
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
    names: set[str] = set()
    endpoints = (backend.get("spec") or {}).get("endpoints") or []
    if not endpoints:
        return None, f"Backend {_meta(backend).get('name')} has no endpoints"
    for endpoint in endpoints:
        fqdn = endpoint.get("fqdn") or {}
        service, why = _service_by_host(rendered, str(fqdn.get("hostname", "")),
                                        fqdn.get("port"))
        if service is None:
            return None, f"Backend {_meta(backend).get('name')} leads nowhere: {why}"
        names |= _names_behind_service(rendered, service)
    return names, ""


def _follow_inference_pool(rendered: RenderedObjects, route_ns: str,
                           ref: Mapping[str, Any]) -> tuple[set[str] | None, str]:
    namespace = str(ref.get("namespace") or route_ns)
    pool = rendered.get("InferencePool", namespace, str(ref.get("name", "")))
    if pool is None:
        return None, f"no InferencePool {namespace}/{ref.get('name')} is rendered"
    names: set[str] = set()
    for deployment in _pool_deployments(rendered, pool):
        names |= served_names(deployment)[0]
    return names, ""


def _check_route_rule(rendered: RenderedObjects, route_ns: str, rule: Mapping[str, Any],
                      position: int) -> list[str]:
    where = f"rules[{position}]"
    models = _model_header_values(rule)
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
            served, gap = _follow_service_backend(rendered, route_ns, ref)
        elif group == _INFERENCE_GROUP and kind == "InferencePool":
            served, gap = _follow_inference_pool(rendered, route_ns, ref)
        else:
            served, gap = None, f"backendRef kind {group}/{kind} cannot serve a model"
        if served is None:
            problems.append(f"{where}: {gap}")
            continue
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
            for model in _model_header_values(rule):
                for gateway in _gateway_scopes(route):
                    if (gateway, model) in seen:
                        messages.append(f"model {model!r} is routed twice on {gateway} "
                                        f"(also by {seen[(gateway, model)]})")
                    seen[(gateway, model)] = f"AIGatewayRoute {_meta(route).get('name')}"
        problems += [_problem(route, m) for m in messages]
    for ai_backend in rendered.of_kind("AIServiceBackend"):
        ref = (ai_backend.get("spec") or {}).get("backendRef") or {}
        if ref.get("kind") != "Backend" or ref.get("group") != _ENVOY_GATEWAY_GROUP:
            problems.append(_problem(ai_backend, "backendRef must be a "
                                     f"{_ENVOY_GATEWAY_GROUP} Backend"))
    return problems


def _gateway_scopes(route: Manifest) -> list[str]:
    namespace = str(_meta(route).get("namespace", ""))
    return [f"Gateway {p.get('namespace') or namespace}/{p.get('name')}"
            for p in (route.get("spec") or {}).get("parentRefs") or []]


# --- rate limits and inference pools -------------------------------------------------------


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
            if rendered.namespace_of(d) == namespace and _selects(selector, _pod_labels(d))]


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
            containers = _containers(deployment)
            listening = {p.get("containerPort") for c in containers for p in c.get("ports") or []}
            if not ports or not ports <= listening:
                problems.append(_problem(pool, f"targetPorts {sorted(ports)} are not ports of "
                                         f"Deployment {_meta(deployment).get('name')} "
                                         f"({sorted(listening)})"))
            if not any(_is_vllm(c) for c in containers):
                problems.append(_problem(
                    pool, f"Deployment {_meta(deployment).get('name')} does not run vLLM: the "
                    "endpoint picker needs the model server's queue and KV-cache metrics, "
                    "which TGI does not export"))
        picker = spec.get("endpointPickerRef") or {}
        if picker.get("kind", "Service") == "Service" and not (picker.get("port") or {}).get(
                "number"):
            problems.append(_problem(pool, "endpointPickerRef to a Service needs port.number"))
    return problems


# --- putting it together -------------------------------------------------------------------


def _problem(obj: Manifest, message: str) -> RoutingProblem:
    return RoutingProblem(str(obj.get("kind", "")), str(_meta(obj).get("name", "")), message,
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


def routing_results(docs: Sequence[tuple[Mapping[str, Any], str]]) -> list[Any]:
    """Routing problems as ``validate.ObjectResult`` entries (only failing objects), so
    ``check_environment`` can append them to its schema results."""
    from inference_scaffolder.validate import ObjectResult

    sources = {(str(d.get("kind", "")), str(_meta(d).get("name", ""))): s for d, s in docs}
    grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for problem in check_routing([d for d, _ in docs]):
        grouped[(problem.api_version, problem.kind, problem.name)].append(problem.message)
    return [ObjectResult(api, kind, name, sources.get((kind, name), "routing"),
                         [f"routing: {m}" for m in messages])
            for (api, kind, name), messages in grouped.items()]


def registrations(objects: Iterable[Manifest]) -> list[Registration]:
    """Model names this environment's objects register, per router instance."""
    rendered = RenderedObjects(objects)
    found = []
    for config_map in _litellm_config_maps(rendered):
        namespace = rendered.namespace_of(config_map)
        for entry in litellm_entries(config_map)[0]:
            found.append(Registration("litellm", f"LiteLLM in namespace {namespace}",
                                      str(entry.get("model_name", "")), "ConfigMap",
                                      str(_meta(config_map).get("name")), namespace))
    for route in rendered.of_kind("AIGatewayRoute"):
        for rule in (route.get("spec") or {}).get("rules") or []:
            for model in _model_header_values(rule):
                found += [Registration("envoy-ai-gateway", scope, model, "AIGatewayRoute",
                                       str(_meta(route).get("name")),
                                       rendered.namespace_of(route))
                          for scope in _gateway_scopes(route)]
    return found


# --- the fleet -----------------------------------------------------------------------------


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


def _render_environment(repo: Path, environment: str, release: str) -> tuple[list[Manifest],
                                                                             str]:
    """The environment rendered exactly as ``validate`` renders it (namespace, Kubernetes
    version), as objects, or the render error."""
    from inference_scaffolder.validate import (
        DEFAULT_KUBE_VERSION,
        parse_rendered,
        render_environment,
    )

    rendered = render_environment(repo, environment, release, f"{DEFAULT_KUBE_VERSION}.0")
    if not rendered.ok:
        return [], rendered.error
    return [d for d, _ in parse_rendered(rendered.stdout)], ""


def check_fleet_routing(repos: Sequence[Path]) -> list[str]:
    """Render every environment of several generated repositories and report model names
    registered twice in one environment, plus environments that do not render.

    Per-repository routing problems are ``validate``'s job (``routing_results``); this adds
    the check that needs the whole fleet. Returns problem lines; empty means fine.
    """
    from inference_scaffolder.validate import list_environments, release_name

    unique = list(dict.fromkeys(Path(r).resolve() for r in repos))
    jobs = [(repo, env, release_name(repo)) for repo in unique for env in list_environments(repo)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 4))) as pool:
        rendered = list(pool.map(lambda job: _render_environment(*job), jobs))
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


# --- the LiteLLM release side ----------------------------------------------------------------

LITELLM_MODELS_DIR = "/etc/litellm/models"
LITELLM_CHECKSUM_ANNOTATION = "checksum/model-registrations"


def litellm_release_values(repos: Sequence[Path], environment: str) -> dict[str, Any]:
    """Values for the LiteLLM release (its Helm chart's ``proxy_config``, ``volumes``,
    ``volumeMounts`` and ``podAnnotations``) that load every registration file of ``repos``
    in ``environment``.

    LiteLLM reads its configuration only when it starts. The pod annotation is a checksum of
    all the registration checksums, so ``helm upgrade`` of the LiteLLM release with these
    values rolls its pods exactly when a registration was added, changed or disabled.
    """
    from inference_scaffolder.validate import release_name

    files: dict[str, tuple[str, str]] = {}  # ConfigMap name -> (namespace, checksum)
    for repo in dict.fromkeys(Path(r).resolve() for r in repos):
        objects, error = _render_environment(repo, environment, release_name(repo))
        if error:
            raise UserError("DIR", f"{repo} does not render {environment}: {error}")
        for config_map in _litellm_config_maps(RenderedObjects(objects)):
            meta = _meta(config_map)
            files[str(meta["name"])] = (
                str(meta.get("namespace", "")),
                str((meta.get("annotations") or {}).get("platform/registration-checksum", "")))
    names = sorted(files)
    namespaces = sorted({files[n][0] for n in names})
    if len(namespaces) > 1:
        raise UserError("DIR", f"the LiteLLM files of {environment} are in several namespaces "
                        f"({', '.join(namespaces)}); a pod mounts ConfigMaps of its own "
                        "namespace only: set routing.litellm.namespace to LiteLLM's")
    digest = hashlib.sha256("\n".join(f"{n}={files[n][1]}" for n in names).encode()).hexdigest()
    return {
        "proxy_config": {"include": [f"{LITELLM_MODELS_DIR}/{n}.yaml" for n in names]},
        "volumes": [{
            "name": "model-registrations",
            "projected": {"sources": [
                {"configMap": {"name": n, "items": [{"key": "models.yaml", "path": f"{n}.yaml"}]}}
                for n in names]},
        }],
        "volumeMounts": [{"name": "model-registrations", "mountPath": LITELLM_MODELS_DIR,
                          "readOnly": True}],
        "podAnnotations": {LITELLM_CHECKSUM_ANNOTATION: digest},
    }
