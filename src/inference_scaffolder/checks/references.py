"""What controllers derive from a set of objects, and the references they must resolve.

The API server takes each object alone; a controller then reads them together and gives
up quietly (a status condition nobody reads) when a name it derives is not a valid name, or
when a reference in the same namespace leads nowhere. Checked over one set of objects (an
environment's render, or every input of ``check-manifests``):

- names controllers derive: Istio deploys a Gateway of class ``istio`` as a Deployment and
  Service named ``<gateway>-istio`` (Istio, "Kubernetes Gateway API", automated deployment:
  https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/), so that name
  must be a Service name (DNS-1035 label, at most 63 characters); Envoy AI Gateway generates
  an HTTPRoute of the same name as each AIGatewayRoute (https://aigateway.envoyproxy.io/,
  resources: AIGatewayRoute), which must not collide with a rendered one; an InferencePool's
  endpoint picker is reached at its Service's DNS name, so that name must be a Service name;
- references in the same namespace to the kinds a chart renders itself: a route's backends,
  a policy's target, a KEDA ScaledObject's workload, the Secrets that workloads, Gateway
  listeners and gateway policies read (written by a Secret, an ExternalSecret's target or a
  Certificate's secretName; checked only where the set writes Secrets in that namespace: a
  set that writes none relies on Secrets the platform provides). References to Gateways
  (the platform's shared gateways) and across namespaces are not followed.

A service's own routing chain (an InferencePool, its picker and its route on the internal
gateway) is :mod:`.routing`'s; this module does not repeat it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from inference_scaffolder.checks.apiserver import (
    DNS1035_LABEL_MAX,
    Finding,
    dns1035_label_errors,
    invalid,
    not_found,
    shown,
)

Manifest = Mapping[str, Any]
Key = tuple[str, str, str]  # kind, namespace, name

_CORE = ""
_GATEWAY_API = "gateway.networking.k8s.io"
_INFERENCE = "inference.networking.k8s.io"
_INFERENCE_GROUPS = {_INFERENCE, "inference.networking.x-k8s.io"}
_ENVOY_GATEWAY = "gateway.envoyproxy.io"
_AI_GATEWAY = "aigateway.envoyproxy.io"
# Gateway classes Istio's deployment controller serves with the default naming.
ISTIO_CLASSES = frozenset({"istio"})
# Kinds a route's backendRefs or a policy's targetRefs may name that a chart renders itself
# (a Gateway is the platform's: never followed).
_LOCAL_KINDS = {
    (_CORE, "Service"), (_INFERENCE, "InferencePool"), (_ENVOY_GATEWAY, "Backend"),
    (_AI_GATEWAY, "AIServiceBackend"), (_GATEWAY_API, "HTTPRoute"), (_GATEWAY_API, "GRPCRoute"),
}
# Keys cert-manager writes into a Certificate's Secret.
_CERTIFICATE_KEYS = {"tls.crt", "tls.key", "ca.crt"}
_POD_TEMPLATE = {"Deployment": ("spec", "template", "spec"),
                 "StatefulSet": ("spec", "template", "spec"),
                 "DaemonSet": ("spec", "template", "spec"),
                 "ReplicaSet": ("spec", "template", "spec"),
                 "Job": ("spec", "template", "spec"),
                 "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
                 "Pod": ("spec",)}


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for index, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, Mapping):
            yield index, item


def _name(obj: Manifest) -> str:
    return str(_map(obj.get("metadata")).get("name", ""))


def _namespace(obj: Manifest) -> str:
    return str(_map(obj.get("metadata")).get("namespace") or "")


def _group(obj: Manifest) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


class _Index:
    """The set by (kind, namespace, name), and the Secrets it writes per namespace."""

    def __init__(self, objects: Sequence[Manifest]) -> None:
        self.objects = objects
        self.by_key: dict[Key, Manifest] = {}
        for obj in objects:
            self.by_key.setdefault((str(obj.get("kind", "")), _namespace(obj), _name(obj)), obj)
        # namespace -> Secret name -> (writer index, the keys it writes or None if unknown)
        self.secrets: dict[str, dict[str, tuple[int, set[str] | None]]] = defaultdict(dict)
        self.secret_conflicts: list[tuple[int, Finding]] = []
        for index, obj in enumerate(objects):
            written = _secret_written(obj)
            if written is not None:
                self._add_secret(index, obj, *written)

    def _add_secret(self, index: int, obj: Manifest, path: str, name: str,
                    keys: set[str] | None) -> None:
        known = self.secrets[_namespace(obj)]
        if name in known:
            first = self.objects[known[name][0]]
            self.secret_conflicts.append((index, invalid(path, name, (
                f"Secret {name} is also written by {first.get('kind')}/{_name(first)}: two "
                "writers overwrite each other"))))
            return
        known[name] = (index, keys)

    def has(self, kind: str, namespace: str, name: str) -> bool:
        return (kind, namespace, name) in self.by_key


def _secret_written(obj: Manifest) -> tuple[str, str, set[str] | None] | None:
    """(field path, Secret name, its keys when known) for an object that writes a Secret."""
    kind, spec = obj.get("kind"), _map(obj.get("spec"))
    if kind == "Secret" and _group(obj) == _CORE:
        keys = {str(k) for f in ("data", "stringData") for k in _map(obj.get(f))}
        return "metadata.name", _name(obj), keys
    if kind == "Certificate" and isinstance(spec.get("secretName"), str):
        return "spec.secretName", spec["secretName"], set(_CERTIFICATE_KEYS)
    if kind == "ExternalSecret":
        target = _map(spec.get("target"))
        name = str(target["name"]) if isinstance(target.get("name"), str) else _name(obj)
        templated = bool(target.get("template")) or bool(spec.get("dataFrom"))
        known: set[str] | None = None if templated else {
            str(d.get("secretKey")) for _, d in _mappings(spec.get("data"))}
        return "spec.target.name", name, known
    return None


# --------------------------------------------------------------------------------------------
# Names controllers derive
# --------------------------------------------------------------------------------------------


def _istio_gateway(obj: Manifest) -> list[Finding]:
    """Istio's deployment controller names a Gateway's Deployment and Service
    ``<gateway>-<gatewayClassName>``; a Service name that is not a DNS-1035 label of at most
    63 characters is refused, and the Gateway is never programmed."""
    gateway_class = _map(obj.get("spec")).get("gatewayClassName")
    if gateway_class not in ISTIO_CLASSES:
        return []
    derived = f"{_name(obj)}-{gateway_class}"
    return [invalid("metadata.name", _name(obj),
                    f"Istio deploys this Gateway as Service and Deployment {shown(derived)} "
                    f"({len(derived)} characters), which the API server refuses ({problem}); "
                    "the Gateway would never be programmed")
            for problem in dns1035_label_errors(derived)]


def _picker_service(obj: Manifest) -> list[Finding]:
    """The endpoint picker is called at ``<service>.<namespace>.svc``: its Service name must
    be a Service name (v1 ``endpointPickerRef``, v1alpha2 ``extensionRef``)."""
    spec = _map(obj.get("spec"))
    findings = []
    for field in ("endpointPickerRef", "extensionRef"):
        ref = _map(spec.get(field))
        name = ref.get("name")
        if isinstance(name, str) and ref.get("kind", "Service") == "Service":
            findings += [invalid(f"spec.{field}.name", name, f"the endpoint picker's Service "
                                 f"cannot have this name: {problem}")
                         for problem in dns1035_label_errors(name)]
    return findings


def _generated_route_collision(obj: Manifest, index: _Index) -> list[Finding]:
    """Envoy AI Gateway writes an HTTPRoute named like each AIGatewayRoute; a rendered
    HTTPRoute of that name in that namespace would be overwritten."""
    if not index.has("HTTPRoute", _namespace(obj), _name(obj)):
        return []
    return [invalid("metadata.name", _name(obj), "Envoy AI Gateway generates an HTTPRoute of "
                    "this name, and one of that name is rendered too: the controller overwrites "
                    "it")]


# --------------------------------------------------------------------------------------------
# Same-namespace references
# --------------------------------------------------------------------------------------------


def _ref_target(ref: Mapping[str, Any], default_kind: str) -> tuple[str, str] | None:
    """(group, kind) of a Gateway API style reference, when it is one a chart renders."""
    group = str(ref.get("group", _CORE) or _CORE)
    kind = str(ref.get("kind", default_kind))
    return (group, kind) if (group, kind) in _LOCAL_KINDS else None


def _resolves(index: _Index, kind: str, namespace: str, name: str) -> bool:
    if index.has(kind, namespace, name):
        return True
    # An AIGatewayRoute stands for the HTTPRoute Envoy AI Gateway generates from it.
    return kind == "HTTPRoute" and index.has("AIGatewayRoute", namespace, name)


def _missing(path: str, kind: str, name: str, consequence: str) -> Finding:
    return Finding(path, f"Not found: {shown(name)}: no {kind} of that name is rendered in "
                         f"this namespace ({consequence})")


def _service_port_missing(index: _Index, namespace: str, ref: Mapping[str, Any]) -> bool:
    service = index.by_key.get(("Service", namespace, str(ref.get("name"))))
    port = ref.get("port")
    if service is None or not isinstance(port, int):
        return False
    return port not in {p.get("port") for _, p in _mappings(_map(service.get("spec"))
                                                            .get("ports"))}


def _route_findings(obj: Manifest, index: _Index) -> list[Finding]:
    """A route's backends in its namespace resolve (and a Service port is one it has); a
    parent Gateway rendered in the set has the listener a sectionName names."""
    namespace = _namespace(obj)
    spec = _map(obj.get("spec"))
    findings: list[Finding] = []
    for rule_index, rule in _mappings(spec.get("rules")):
        for ref_index, ref in _mappings(rule.get("backendRefs")):
            target = _ref_target(ref, "Service")
            if target is None or str(ref.get("namespace") or namespace) != namespace:
                continue
            path = f"spec.rules[{rule_index}].backendRefs[{ref_index}]"
            name = str(ref.get("name", ""))
            if not _resolves(index, target[1], namespace, name):
                findings.append(_missing(f"{path}.name", target[1], name,
                                         "the route's backend would not resolve"))
            elif target[1] == "Service" and _service_port_missing(index, namespace, ref):
                findings.append(not_found(f"{path}.port", ref.get("port")))
    for ref_index, ref in _mappings(spec.get("parentRefs")):
        gateway = index.by_key.get(("Gateway", str(ref.get("namespace") or namespace),
                                    str(ref.get("name", ""))))
        section = ref.get("sectionName")
        if gateway is None or section is None or ref.get("kind", "Gateway") != "Gateway":
            continue
        listeners = {li.get("name") for _, li in
                     _mappings(_map(gateway.get("spec")).get("listeners"))}
        if section not in listeners:
            findings.append(_missing(f"spec.parentRefs[{ref_index}].sectionName",
                                     "listener", str(section),
                                     "the Gateway would not accept the route"))
    return findings


def _target_refs(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(spec.get("targetRef"), Mapping):
        yield "spec.targetRef", spec["targetRef"]
    for ref_index, ref in _mappings(spec.get("targetRefs")):
        yield f"spec.targetRefs[{ref_index}]", ref


def _policy_findings(obj: Manifest, index: _Index) -> list[Finding]:
    """A policy's targetRefs (always in its own namespace) name a rendered object."""
    findings = []
    for path, ref in _target_refs(_map(obj.get("spec"))):
        target = _ref_target(ref, "")
        name = str(ref.get("name", ""))
        if target is not None and not _resolves(index, target[1], _namespace(obj), name):
            findings.append(_missing(f"{path}.name", target[1], name,
                                     "the policy would apply to nothing"))
    return findings


def _scaled_object_findings(obj: Manifest, index: _Index) -> list[Finding]:
    """KEDA scales the workload its scaleTargetRef names, in its own namespace."""
    ref = _map(_map(obj.get("spec")).get("scaleTargetRef"))
    kind = str(ref.get("kind", "Deployment"))
    name = str(ref.get("name", ""))
    if kind != "Deployment" or index.has(kind, _namespace(obj), name):
        return []
    return [_missing("spec.scaleTargetRef.name", kind, name, "KEDA would scale nothing")]


# --------------------------------------------------------------------------------------------
# Secrets read in the same namespace
# --------------------------------------------------------------------------------------------


def _pod_spec(obj: Manifest) -> tuple[Mapping[str, Any], str] | None:
    parts = _POD_TEMPLATE.get(str(obj.get("kind")))
    if parts is None or _group(obj) not in ("", "apps", "batch"):
        return None
    node: Any = obj
    for part in parts:
        node = _map(node).get(part)
    return _map(node), ".".join(parts)


def _pod_secret_reads(spec: Mapping[str, Any], path: str
                      ) -> Iterator[tuple[str, str, str | None]]:
    """(field path, Secret name, key or None) for every Secret a pod reads, optional ones
    left out (the kubelet starts the pod without them)."""
    for ref_index, ref in _mappings(spec.get("imagePullSecrets")):
        yield f"{path}.imagePullSecrets[{ref_index}].name", str(ref.get("name", "")), None
    for vol_index, volume in _mappings(spec.get("volumes")):
        secret = _map(volume.get("secret"))
        if secret and not secret.get("optional") and "secretName" in secret:
            yield f"{path}.volumes[{vol_index}].secret.secretName", str(secret["secretName"]), None
    for field in ("initContainers", "containers"):
        for c_index, container in _mappings(spec.get(field)):
            where = f"{path}.{field}[{c_index}]"
            for e_index, variable in _mappings(container.get("env")):
                ref = _map(_map(variable.get("valueFrom")).get("secretKeyRef"))
                if ref and not ref.get("optional"):
                    yield (f"{where}.env[{e_index}].valueFrom.secretKeyRef",
                           str(ref.get("name", "")), str(ref.get("key", "")))
            for e_index, source in _mappings(container.get("envFrom")):
                ref = _map(source.get("secretRef"))
                if ref and not ref.get("optional"):
                    yield f"{where}.envFrom[{e_index}].secretRef.name", str(ref.get("name")), None


def _secret_reads(obj: Manifest) -> Iterator[tuple[str, str, str | None]]:
    pod = _pod_spec(obj)
    if pod is not None:
        yield from _pod_secret_reads(*pod)
    spec = _map(obj.get("spec"))
    if obj.get("kind") == "Gateway" and _group(obj) == _GATEWAY_API:
        for l_index, listener in _mappings(spec.get("listeners")):
            for c_index, ref in _mappings(_map(listener.get("tls")).get("certificateRefs")):
                if (ref.get("kind", "Secret") == "Secret" and not ref.get("group")
                        and not ref.get("namespace")):
                    yield (f"spec.listeners[{l_index}].tls.certificateRefs[{c_index}].name",
                           str(ref.get("name", "")), None)
    if obj.get("kind") == "BackendSecurityPolicy":
        ref = _map(_map(spec.get("apiKey")).get("secretRef"))
        if ref and not ref.get("namespace"):
            yield "spec.apiKey.secretRef.name", str(ref.get("name", "")), None


def _secret_findings(obj: Manifest, index: _Index) -> list[Finding]:
    """Each Secret read in a namespace where the set writes Secrets is one it writes, with
    the key read when the writer's keys are known."""
    written = index.secrets.get(_namespace(obj))
    if not written:
        return []
    findings = []
    for path, name, key in _secret_reads(obj):
        if name not in written:
            findings.append(_missing(path, "Secret", name, "nothing here writes it; the "
                                     "consumer would wait for it"))
            continue
        keys = written[name][1]
        if key is not None and keys is not None and key not in keys:
            findings.append(Finding(f"{path}.key", f"Not found: {shown(key)}: Secret {name} "
                                    f"is written with the keys {sorted(keys)}"))
    return findings


# --------------------------------------------------------------------------------------------
# The set
# --------------------------------------------------------------------------------------------


def _object_findings(obj: Manifest, index: _Index) -> list[Finding]:
    kind, group = str(obj.get("kind", "")), _group(obj)
    findings = _secret_findings(obj, index)
    if group == _GATEWAY_API and kind == "Gateway":
        findings += _istio_gateway(obj)
    if group == _GATEWAY_API and kind in ("HTTPRoute", "GRPCRoute"):
        findings += _route_findings(obj, index)
    if group == _AI_GATEWAY and kind == "AIGatewayRoute":
        findings += _generated_route_collision(obj, index)
    if group in _INFERENCE_GROUPS and kind == "InferencePool":
        findings += _picker_service(obj)
    if group == "keda.sh" and kind == "ScaledObject":
        findings += _scaled_object_findings(obj, index)
    findings += _policy_findings(obj, index)
    return findings


def reference_findings(objects: Sequence[Any]) -> list[tuple[int, Finding]]:
    """Every derived-name and reference problem of the set, as (object's index, finding)."""
    manifests = [o if isinstance(o, Mapping) else {} for o in objects]
    index = _Index(manifests)
    found = list(index.secret_conflicts)
    for position, obj in enumerate(manifests):
        if obj:
            found += [(position, f) for f in _object_findings(obj, index)]
    return found


__all__ = ["DNS1035_LABEL_MAX", "ISTIO_CLASSES", "reference_findings"]
