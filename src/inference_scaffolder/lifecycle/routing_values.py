"""Moving an environment's values off the routing objects the base chart no longer renders.

From base chart 0.2.0 on, the platform's routers own every router entry (``register``
proposes them to the platform's routing repository), so the chart's values schema refuses
what only the removed objects used. An environment pinning 0.2.0 or later is edited here
(with a round-trip YAML library: the team's comments, order and other values stay):

- ``routing.litellm.enabled`` goes (the LiteLLM ConfigMap is gone); ``routing.litellm.namespace``
  becomes ``networkPolicy.litellmNamespace``, the one thing it still decided (which namespace
  the NetworkPolicy lets call the engine); ``routing.litellm.apiKeyEnv`` stays;
- ``routing.envoyAIGateway.gatewayName``, ``gatewayNamespace`` and ``requestTimeout`` go: the
  platform's models chart names its gateway and timeouts;
- ``routing.inferencePool.endpointPicker.serviceName`` goes: the picker is now the platform's
  inference-gateway release's, ``<release>-inference-gateway-epp``; a name of that form
  becomes ``routing.inferencePool.gatewayRelease``;
- ``apiVersions.aiGateway``, ``envoyGateway`` and ``kuadrant`` go (nothing renders them).

An environment pinning an older chart keeps its values (that chart still renders the
objects); ``promote --chart-version`` applies the same edit when it moves the pin.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import MAX_REPOSITORY_FILE_BYTES, read_text_file, refuse_links
from inference_scaffolder.service.layout import chart_ref, list_environments, values_file
from inference_scaffolder.service.registration_facts import ENDPOINT_PICKER_SUFFIX
from inference_scaffolder.service.serving_state import (
    chart_routes_through_platform,
    values_path_shown,
    write_atomically,
)
from inference_scaffolder.yamlio import round_trip_yaml

_REMOVED_API_VERSIONS = ("aiGateway", "envoyGateway", "kuadrant")
_REMOVED_GATEWAY_KEYS = ("gatewayName", "gatewayNamespace", "requestTimeout")
_MAX_RELEASE_LENGTH = 41


@dataclass
class RoutingValuesMigration:
    """What the migration changed: files written (relative paths) and what it did to them."""

    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _mapping(node: Any, key: str) -> Any:
    value = node.get(key) if hasattr(node, "get") else None
    return value if hasattr(value, "get") and hasattr(value, "pop") else None


def _drop_if_empty(parent: Any, key: str) -> None:
    child = _mapping(parent, key)
    if child is not None and not child:
        del parent[key]


def _migrate_litellm(document: Any, routing: Any, notes: list[str]) -> None:
    litellm = _mapping(routing, "litellm")
    if litellm is None:
        return
    if "enabled" in litellm:
        del litellm["enabled"]
        notes.append("routing.litellm.enabled removed (the chart renders no LiteLLM ConfigMap; "
                     "`inference-scaffolder register` proposes the entry)")
    if "namespace" in litellm:
        namespace = litellm.pop("namespace")
        if namespace:
            policy = _mapping(document, "networkPolicy")
            if policy is None:
                from ruamel.yaml.comments import CommentedMap

                policy = document["networkPolicy"] = CommentedMap()
            policy.setdefault("litellmNamespace", namespace)
            notes.append(f"routing.litellm.namespace {namespace} moved to "
                         "networkPolicy.litellmNamespace (the namespace the NetworkPolicy "
                         "lets call the engine)")
        else:
            notes.append("routing.litellm.namespace removed")
    _drop_if_empty(routing, "litellm")


def _remove_keys(parent: Any, key: str, shown: str, keys: tuple[str, ...], why: str,
                 notes: list[str]) -> None:
    """Remove ``keys`` from the mapping ``parent[key]`` (``shown`` is its path in the
    file), noting them with ``why``, and the mapping itself once it is empty."""
    child = _mapping(parent, key)
    if child is None:
        return
    removed = [name for name in keys if name in child]
    for name in removed:
        del child[name]
    if removed:
        notes.append(f"{shown}.{', '.join(removed)} removed ({why})")
    _drop_if_empty(parent, key)


def _migrate_gateway(routing: Any, notes: list[str]) -> None:
    _remove_keys(routing, "envoyAIGateway", "routing.envoyAIGateway", _REMOVED_GATEWAY_KEYS,
                 "the platform's models chart names its gateway and timeouts", notes)


def _release_of(picker: str) -> str:
    """The inference-gateway release a picker Service name of the platform's form names."""
    release = picker.removesuffix(ENDPOINT_PICKER_SUFFIX)
    fits = release != picker and 0 < len(release) <= _MAX_RELEASE_LENGTH
    return release if fits and release[0].isalpha() else ""


def _migrate_pool(routing: Any, notes: list[str]) -> None:
    pool = _mapping(routing, "inferencePool")
    picker = _mapping(pool, "endpointPicker") if pool is not None else None
    if picker is None or "serviceName" not in picker:
        return
    name = str(picker.pop("serviceName") or "")
    release = _release_of(name)
    if release and not pool.get("gatewayRelease"):
        pool["gatewayRelease"] = release
        notes.append(f"routing.inferencePool.endpointPicker.serviceName {name} became "
                     f"routing.inferencePool.gatewayRelease {release}")
    elif name:
        notes.append(f"routing.inferencePool.endpointPicker.serviceName {name} removed: the "
                     "pool's picker is now <release>-inference-gateway-epp of the platform's "
                     "inference-gateway release (routing.inferencePool.gatewayRelease, default "
                     "epp-<serviceName>); check that the platform runs it")
    _drop_if_empty(pool, "endpointPicker")


def _migrate_api_versions(document: Any, notes: list[str]) -> None:
    _remove_keys(document, "apiVersions", "apiVersions", _REMOVED_API_VERSIONS,
                 "no such object is rendered", notes)


def migrate_values_text(text: str, shown: str) -> tuple[str, list[str]]:
    """The values file's text without the removed routing values, and what changed."""
    try:
        document = round_trip_yaml().load(text)
    except Exception as exc:  # ruamel's errors have no common base worth naming
        problem = " ".join(str(getattr(exc, "problem", "") or "invalid YAML").split())
        raise UserError(shown, f"is not valid YAML: {problem}") from None
    if not hasattr(document, "get"):
        return text, []
    notes: list[str] = []
    routing = _mapping(document, "routing")
    if routing is not None:
        _migrate_litellm(document, routing, notes)
        _migrate_gateway(routing, notes)
        _migrate_pool(routing, notes)
    _migrate_api_versions(document, notes)
    if not notes:
        return text, []
    out = io.StringIO()
    round_trip_yaml().dump(document, out)
    return out.getvalue(), notes


def migrate_environment(repo: Path, environment: str) -> list[str]:
    """Migrate one environment's values file in place (see the module docstring); returns
    what changed (nothing when there was nothing to move)."""
    shown = values_path_shown(environment)
    refuse_links(repo, shown)  # written in place: never through a link
    path = values_file(repo, environment)
    text = read_text_file(path, MAX_REPOSITORY_FILE_BYTES, shown, follow_links=False,
                          shown=shown)
    new_text, notes = migrate_values_text(text, shown)
    if new_text != text:
        write_atomically(path, new_text)
    return notes


def migrate_routing_values(repo: Path, skip: Iterable[str] = ()) -> RoutingValuesMigration:
    """Migrate every environment that pins a base chart of 0.2.0 or later; ``skip`` lists
    values files left alone (a merge conflict the user resolves first)."""
    result = RoutingValuesMigration()
    skipped = set(skip)
    for environment in list_environments(repo):
        shown = values_path_shown(environment)
        if shown in skipped:
            continue
        if not chart_routes_through_platform(chart_ref(repo, environment).version):
            continue
        notes = migrate_environment(repo, environment)
        if notes:
            result.written.append(shown)
            result.notes += [f"{shown}: {note}" for note in notes]
    return result
