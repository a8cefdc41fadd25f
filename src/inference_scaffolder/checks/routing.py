"""Routing checks over a service's rendered objects: what the service itself must get right.

The router entries (LiteLLM's ``modelList``, the Envoy AI Gateway models) live in the
platform's routing repository and are checked by ``inference-scaffolder register`` before it
proposes them, the check that one model name leads to one service included: the routing
repository holds every registration, so that check can always run there. What a service's
own render still carries, and checks here:

- the name each engine serves (vLLM's arguments, TGI's annotation) is consistent;
- an InferencePool selects vLLM pods on a port they listen on, names a picker Service with a
  port, and that picker and the Gateway its HTTPRoute attaches to belong to one release of
  the platform's inference-gateway chart (``<release>-inference-gateway-epp`` and
  ``<release>-inference-gateway``): a missing picker fails every request (the gateway's
  ext_proc is fail-closed on this path), a route on another release's Gateway bypasses it;
- the route to a pool has the pool as its only backend and a timeout long enough for LLM
  generations.

These functions work on ``helm template`` output (a list of objects) and return problems as
data. The CRDs' own CEL rules are evaluated for every object by checks/cel.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inference_scaffolder.checks.manifests import ObjectResult
from inference_scaffolder.service.routing import (
    INFERENCE_GROUP,
    PICKER_SUFFIX,
    Manifest,
    RenderedObjects,
    containers,
    is_vllm,
    metadata_of,
    parent_gateways,
    pod_labels,
    pool_routes,
    served_names,
)

# The inference-gateway chart's names: its Gateway is <release>-inference-gateway.
INFERENCE_GATEWAY_SUFFIX = "-inference-gateway"

# Envoy's and the gateways' own defaults (15s to 60s) cut long generations.
MIN_LLM_REQUEST_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RoutingProblem:
    """One broken link in a routing chain, reported on the object that holds it."""

    kind: str
    name: str
    message: str
    api_version: str = ""


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _duration_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|h|m|s)", text))


def _pool_deployments(rendered: RenderedObjects, pool: Manifest) -> list[Manifest]:
    selector = ((pool.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    namespace = rendered.namespace_of(pool)
    return [d for d in rendered.of_kind("Deployment")
            if rendered.namespace_of(d) == namespace and _selects(selector, pod_labels(d))]


def _pool_selection_problems(rendered: RenderedObjects, pool: Manifest) -> list[str]:
    """The pool selects rendered vLLM pods on ports they listen on."""
    deployments = _pool_deployments(rendered, pool)
    if not deployments:
        return ["selector.matchLabels selects no rendered Deployment's pods"]
    ports = {p.get("number") for p in (pool.get("spec") or {}).get("targetPorts") or []}
    problems = []
    for deployment in deployments:
        name = metadata_of(deployment).get("name")
        pod_containers = containers(deployment)
        listening = {p.get("containerPort") for c in pod_containers for p in c.get("ports") or []}
        if not ports or not ports <= listening:
            problems.append(f"targetPorts {sorted(ports)} are not ports of Deployment {name} "
                            f"({sorted(listening)})")
        if not any(is_vllm(c) for c in pod_containers):
            problems.append(f"Deployment {name} does not run vLLM: the endpoint picker needs the "
                            "model server's queue and KV-cache metrics, which TGI does not "
                            "export")
    return problems


def _picker_problems(rendered: RenderedObjects, pool: Manifest) -> list[str]:
    """The picker is a Service with a port, and its release's Gateway carries the pool's
    routes: picker ``<release>-inference-gateway-epp``, Gateway ``<release>-inference-gateway``."""
    picker = (pool.get("spec") or {}).get("endpointPickerRef") or {}
    if picker.get("kind", "Service") != "Service":
        return []
    problems = []
    if not (picker.get("port") or {}).get("number"):
        problems.append("endpointPickerRef to a Service needs port.number")
    name = str(picker.get("name", ""))
    if not name.endswith(INFERENCE_GATEWAY_SUFFIX + PICKER_SUFFIX):
        problems.append(f"endpointPickerRef {name!r} is not the picker of a platform "
                        f"inference-gateway release (<release>{INFERENCE_GATEWAY_SUFFIX}"
                        f"{PICKER_SUFFIX}): no such Service runs, and every request would fail")
        return problems
    expected_gateway = name.removesuffix(PICKER_SUFFIX)
    routes = pool_routes(rendered, pool)
    if not routes:
        problems.append(f"no HTTPRoute leads to the pool: attach one to Gateway "
                        f"{expected_gateway}, the internal gateway of its picker's release")
    for route in routes:
        others = [g for g in parent_gateways(route) if g != expected_gateway]
        if others:
            problems.append(f"HTTPRoute {metadata_of(route).get('name')} attaches to "
                            f"{', '.join(others)}, not {expected_gateway}, the Gateway of the "
                            f"picker's release: requests there would not pass the picker {name}")
    return problems


def _route_problems(route: Manifest) -> list[str]:
    """A route to an InferencePool: the pool alone in its rule, a long enough timeout."""
    problems = []
    for position, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        refs = list(rule.get("backendRefs") or [])
        pools = [r for r in refs if r.get("group") == INFERENCE_GROUP
                 and r.get("kind") == "InferencePool"]
        if not pools:
            continue
        where = f"rules[{position}]"
        if len(refs) > 1:
            problems.append(f"{where}: an InferencePool must be the rule's only backend")
        timeout = (rule.get("timeouts") or {}).get("request") or ""
        if _duration_seconds(str(timeout)) < MIN_LLM_REQUEST_TIMEOUT_SECONDS:
            problems.append(f"{where}: timeouts.request {timeout or '(unset)'} is too short for "
                            f"LLM generations (at least {MIN_LLM_REQUEST_TIMEOUT_SECONDS}s)")
    return problems


def check_inference_pools(rendered: RenderedObjects) -> list[RoutingProblem]:
    """Every InferencePool and the routes to it (see the module docstring)."""
    problems = []
    routes: dict[tuple[str, str], Manifest] = {}
    for pool in rendered.of_kind("InferencePool"):
        messages = _pool_selection_problems(rendered, pool) + _picker_problems(rendered, pool)
        problems += [_problem(pool, m) for m in messages]
        for route in pool_routes(rendered, pool):
            routes[(rendered.namespace_of(route), str(metadata_of(route).get("name")))] = route
    for route in routes.values():
        problems += [_problem(route, m) for m in _route_problems(route)]
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
    problems += check_inference_pools(rendered)
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
