"""What a service registers with the platform's routers, read from its rendered objects.

A registration is a model name a router sends to this service: an entry of a LiteLLM
``model_list`` ConfigMap, or an Envoy AI Gateway route on the ``x-ai-eg-model`` header. This
module reads them (and the names each engine actually serves) out of ``helm template``
output, and computes the values the LiteLLM release needs to load every registration of an
environment. Whether the chains resolve is :mod:`inference_scaffolder.checks.routing`'s job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering.charts import resolve_chart
from inference_scaffolder.rendering.helm import DEFAULT_KUBE_VERSION, parse_rendered, render_chart
from inference_scaffolder.service.layout import (
    chart_ref,
    namespace_of,
    release_name,
    values_file,
)

LITELLM_LABEL = "platform/litellm-registration"
# An ExternalSecret in LiteLLM's namespace carrying an engine's API key to the LiteLLM pod.
LITELLM_KEY_LABEL = "platform/litellm-engine-key"


SERVED_NAME_ANNOTATION = "platform/served-model-name"


MODEL_HEADER = "x-ai-eg-model"


LITELLM_PROVIDERS = ("openai", "hosted_vllm")


Manifest = Mapping[str, Any]



@dataclass(frozen=True)
class Registration:
    """A model name a router sends somewhere: the unit the fleet check compares."""

    router: str  # "litellm" or "envoy-ai-gateway"
    scope: str  # the router instance: LiteLLM namespace, or gateway namespace/name
    model_name: str
    kind: str
    name: str
    namespace: str


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


def litellm_config_maps(rendered: RenderedObjects) -> list[Manifest]:
    return [c for c in rendered.of_kind("ConfigMap")
            if (metadata_of(c).get("labels") or {}).get(LITELLM_LABEL) == "true"]


def litellm_key_secrets(rendered: RenderedObjects) -> list[Manifest]:
    """The ExternalSecrets that give LiteLLM an engine's API key (label LITELLM_KEY_LABEL)."""
    return [e for e in rendered.of_kind("ExternalSecret")
            if (metadata_of(e).get("labels") or {}).get(LITELLM_KEY_LABEL) == "true"]


def external_secret_target(external: Manifest) -> str:
    """The name of the Secret an ExternalSecret creates (its target, else its own name)."""
    spec = external.get("spec") or {}
    return str((spec.get("target") or {}).get("name") or metadata_of(external).get("name", ""))


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


def model_header_values(rule: Mapping[str, Any]) -> list[str]:
    values = []
    for match in rule.get("matches") or []:
        for header in match.get("headers") or []:
            if str(header.get("name", "")).lower() == MODEL_HEADER and header.get(
                    "type", "Exact") == "Exact":
                values.append(str(header.get("value", "")))
    return values


def gateway_scopes(route: Manifest) -> list[str]:
    namespace = str(metadata_of(route).get("namespace", ""))
    return [f"Gateway {p.get('namespace') or namespace}/{p.get('name')}"
            for p in (route.get("spec") or {}).get("parentRefs") or []]


def registrations(objects: Iterable[Manifest]) -> list[Registration]:
    """Model names this environment's objects register, per router instance."""
    rendered = RenderedObjects(objects)
    found = []
    for config_map in litellm_config_maps(rendered):
        namespace = rendered.namespace_of(config_map)
        for entry in litellm_entries(config_map)[0]:
            found.append(Registration("litellm", f"LiteLLM in namespace {namespace}",
                                      str(entry.get("model_name", "")), "ConfigMap",
                                      str(metadata_of(config_map).get("name")), namespace))
    for route in rendered.of_kind("AIGatewayRoute"):
        for rule in (route.get("spec") or {}).get("rules") or []:
            for model in model_header_values(rule):
                found += [Registration("envoy-ai-gateway", scope, model, "AIGatewayRoute",
                                       str(metadata_of(route).get("name")),
                                       rendered.namespace_of(route))
                          for scope in gateway_scopes(route)]
    return found


# --- the LiteLLM release side ----------------------------------------------------------------

LITELLM_MODELS_DIR = "/etc/litellm/models"
LITELLM_CHECKSUM_ANNOTATION = "checksum/model-registrations"


def render_objects(repo: Path, environment: str, release: str) -> tuple[list[Manifest], str]:
    """The environment rendered exactly as ``validate`` renders it (namespace, Kubernetes
    version), as objects, or the render error."""
    chart = resolve_chart(chart_ref(repo, environment))
    rendered = render_chart(chart, values_file(repo, environment), release,
                            namespace_of(repo, environment), f"{DEFAULT_KUBE_VERSION}.0")
    if not rendered.ok:
        return [], rendered.error
    return [d for d, _ in parse_rendered(rendered.stdout)], ""


def litellm_release_values(repos: Sequence[Path], environment: str) -> dict[str, Any]:
    """Values for the LiteLLM release (its Helm chart's ``proxy_config``, ``volumes``,
    ``volumeMounts``, ``podAnnotations`` and, when an engine has an API key,
    ``environmentSecrets``) that load every registration file of ``repos`` in ``environment``.

    LiteLLM reads its configuration only when it starts. The pod annotation is a checksum of
    all the registration checksums, so ``helm upgrade`` of the LiteLLM release with these
    values rolls its pods exactly when a registration was added, changed or disabled.
    ``environmentSecrets`` are loaded with envFrom: each key of those Secrets (the engine key
    Secrets the charts render in LiteLLM's namespace) becomes the variable a registration
    references as ``os.environ/<variable>``.
    """
    files: dict[str, tuple[str, str]] = {}  # ConfigMap name -> (namespace, checksum)
    key_secrets: set[str] = set()
    for repo in dict.fromkeys(Path(r).resolve() for r in repos):
        objects, error = render_objects(repo, environment, release_name(repo))
        if error:
            raise UserError("DIR", f"{repo} does not render {environment}: {error}")
        rendered = RenderedObjects(objects)
        for config_map in litellm_config_maps(rendered):
            meta = metadata_of(config_map)
            files[str(meta["name"])] = (
                str(meta.get("namespace", "")),
                str((meta.get("annotations") or {}).get("platform/registration-checksum", "")))
        key_secrets.update(external_secret_target(e) for e in litellm_key_secrets(rendered))
    names = sorted(files)
    namespaces = sorted({files[n][0] for n in names})
    if len(namespaces) > 1:
        raise UserError("DIR", f"the LiteLLM files of {environment} are in several namespaces "
                        f"({', '.join(namespaces)}); a pod mounts ConfigMaps of its own "
                        "namespace only: set routing.litellm.namespace to LiteLLM's")
    digest = hashlib.sha256("\n".join(f"{n}={files[n][1]}" for n in names).encode()).hexdigest()
    values: dict[str, Any] = {
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
    if key_secrets:  # absent otherwise: Helm replaces lists, so an empty one would clobber
        values["environmentSecrets"] = sorted(key_secrets)
    return values
