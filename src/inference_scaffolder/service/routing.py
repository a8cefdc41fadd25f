"""What a service's rendered objects say about routing: the names each engine serves, and
the platform's inference-gateway objects an InferencePool expects.

The service chart renders no router entry: the platform's LiteLLM release and its Envoy AI
Gateway ``models`` chart own them (``inference-scaffolder register`` proposes this service's
entries, from :mod:`.registration_facts`). What stays in a service's render is the
engine, and with an InferencePool, the pool and its HTTPRoute on the internal Gateway of
the platform's inference-gateway release. This module reads those out of ``helm template``
output; whether they fit together is :mod:`inference_scaffolder.checks.routing`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SERVED_NAME_ANNOTATION = "platform/served-model-name"

INFERENCE_GROUP = "inference.networking.k8s.io"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
# The inference-gateway chart's names: <release>-inference-gateway (the internal Gateway)
# and <release>-inference-gateway-epp (the endpoint picker's Service).
PICKER_SUFFIX = "-epp"

Manifest = Mapping[str, Any]


@dataclass(frozen=True)
class PoolExpectation:
    """What one rendered InferencePool needs from the platform: the picker Service (and
    port) of its inference-gateway release and the internal Gateway its route attaches to."""

    namespace: str
    pool: str
    endpoint_picker: str
    endpoint_picker_port: int | None
    gateways: tuple[str, ...]  # the parent Gateways of the routes to the pool

    def describe(self) -> str:
        """One line for ``validate``'s report."""
        port = f":{self.endpoint_picker_port}" if self.endpoint_picker_port else ""
        gateways = ", ".join(self.gateways) or "(no route to the pool)"
        return (f"InferencePool {self.namespace}/{self.pool} expects the platform's "
                f"endpoint picker Service {self.endpoint_picker}{port} and internal Gateway "
                f"{gateways} in namespace {self.namespace}")

def metadata_of(obj: Manifest) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def object_key(obj: Manifest, default_namespace: str = "") -> tuple[str, str, str]:
    meta = metadata_of(obj)
    return (str(obj.get("kind", "")), str(meta.get("namespace") or default_namespace),
            str(meta.get("name", "")))


class RenderedObjects:
    """The rendered objects of one environment, indexed for reference lookups."""

    def __init__(self, objects: Iterable[Manifest]) -> None:
        self.objects = [o for o in objects if isinstance(o, Mapping)]
        self.default_namespace = next(
            (str(metadata_of(o).get("namespace")) for o in self.objects
             if o.get("kind") == "Deployment" and metadata_of(o).get("namespace")), "")
        self._by_key = {object_key(o, self.default_namespace): o for o in self.objects}

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return self._by_key.get((kind, namespace or self.default_namespace, name))

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o.get("kind") == kind]

    def namespace_of(self, obj: Manifest) -> str:
        return str(metadata_of(obj).get("namespace") or self.default_namespace)


def pod_labels(deployment: Manifest) -> Mapping[str, str]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def containers(deployment: Manifest) -> list[Mapping[str, Any]]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


def is_vllm(container: Mapping[str, Any]) -> bool:
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
    annotation = (metadata_of(deployment).get("annotations") or {}).get(SERVED_NAME_ANNOTATION)
    problems: list[str] = []
    for container in containers(deployment):
        if is_vllm(container):
            names = _vllm_served_names(container)
            if annotation and annotation not in names:
                problems.append(
                    f"vLLM serves {sorted(names)} but the {SERVED_NAME_ANNOTATION} annotation "
                    f"says {annotation!r} (an extra --served-model-name in extraArgs?)")
            return names, problems
    if annotation:
        return {str(annotation)}, problems
    model_id = next((_env_value(c, "MODEL_ID") for c in containers(deployment)
                     if _env_value(c, "MODEL_ID")), "")
    return ({model_id} if model_id else set()), problems


def pool_routes(rendered: RenderedObjects, pool: Manifest) -> list[Manifest]:
    """The HTTPRoutes whose backends include ``pool`` (same namespace)."""
    namespace, name = rendered.namespace_of(pool), str(metadata_of(pool).get("name", ""))
    return [route for route in rendered.of_kind("HTTPRoute")
            if rendered.namespace_of(route) == namespace
            and any(ref.get("group") == INFERENCE_GROUP and ref.get("kind") == "InferencePool"
                    and ref.get("name") == name
                    for rule in (route.get("spec") or {}).get("rules") or []
                    for ref in rule.get("backendRefs") or [])]


def parent_gateways(route: Manifest) -> list[str]:
    """The names of a route's parent Gateways (Gateway API's default kind is Gateway)."""
    return [str(ref.get("name", "")) for ref in (route.get("spec") or {}).get("parentRefs") or []
            if ref.get("kind", "Gateway") == "Gateway"
            and ref.get("group", GATEWAY_API_GROUP) == GATEWAY_API_GROUP]


def pool_expectations(objects: Iterable[Manifest]) -> list[PoolExpectation]:
    """What each rendered InferencePool expects the platform to run (``validate`` names it)."""
    rendered = RenderedObjects(objects)
    found = []
    for pool in rendered.of_kind("InferencePool"):
        picker = (pool.get("spec") or {}).get("endpointPickerRef") or {}
        port = (picker.get("port") or {}).get("number")
        gateways = tuple(dict.fromkeys(g for route in pool_routes(rendered, pool)
                                       for g in parent_gateways(route)))
        found.append(PoolExpectation(rendered.namespace_of(pool),
                                     str(metadata_of(pool).get("name", "")),
                                     str(picker.get("name", "")),
                                     port if isinstance(port, int) else None, gateways))
    return found
