"""This service's entries in the routers' values, and the structural edits that add, update,
disable or remove them.

Which entries are this service's:

- LiteLLM: the ``modelList`` items whose ``model_info.platform_service`` is
  ``<namespace>/<service>`` (LiteLLM keeps ``model_info`` as metadata of the deployment);
- models: the ``backends.<namespace>-<service>`` definition, and every ``models.<key>``
  entry that routes at priority 0 to a backend of that same name, under that name, in its own
  ``backends`` (a route the platform wrote by hand names its backends otherwise); in such a
  route, the service's backends are that one and ``<namespace>-<service>-failover-<n>``.
  A route the platform prepared for the served name without a primary backend is joined:
  the service becomes its priority-0 backend, and the platform's backends stay.

Nothing else in either file is touched. Values are assigned key by key, so an entry that
already says the right thing keeps its text (and a re-run its bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.registration.documents import ValuesDocument, to_plain
from inference_scaffolder.registration.facts import ServiceFacts

OWNER_KEY = "platform_service"
LITELLM_PATH = ("litellm-proxy", "litellm", "modelList")
BACKEND_SCHEMA = "OpenAI"
RATE_LIMIT_NAME = "per-minute"


class Action(StrEnum):
    """What a run does to this service's entries in one environment."""

    register = "register"  # add or update (and re-enable)
    disable = "disable"  # stop routing the name; the gateway keeps a disabled route
    remove = "remove"  # delete every entry of the service


_MISSING = object()


# --- plain data and minimal assignment ------------------------------------------------------


def plain(value: Any) -> Any:
    """ruamel's containers and scalars as plain Python data."""
    return to_plain(value)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    return type(plain(old)) is type(new) and plain(old) == new


def _fresh(value: Any) -> Any:
    """A new node in block style (a flow ``{}`` would read poorly among block entries)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        node = CommentedMap()
        node.fa.set_block_style()
        for key, item in value.items():
            node[key] = _fresh(item)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_fresh(v) for v in value)
        seq.fa.set_block_style()
        return seq
    return value


def assign(mapping: Any, key: str, value: Any) -> None:
    """``mapping[key] = value`` changing only what differs: a nested mapping is updated key
    by key (keys ``value`` lacks are removed), an equal value is left as written."""
    old = mapping.get(key, _MISSING)
    if isinstance(old, MutableMapping) and isinstance(value, Mapping):
        for stale in [k for k in old if k not in value]:
            del old[stale]
        for inner, item in value.items():
            assign(old, inner, item)
        return
    if old is not _MISSING and _same(old, value):
        return
    mapping[key] = _fresh(value)


def _mapping_at(document: ValuesDocument, container: Any, keys: Iterable[str], *,
                create: bool) -> Any:
    """The mapping at ``keys`` below ``container`` (created when asked; None when absent)."""
    node = container
    walked: list[str] = []
    for key in keys:
        walked.append(key)
        child = node.get(key)
        if child is None:
            if not create:
                return None
            child = _fresh({})
            node[key] = child
        if not isinstance(child, Mapping):
            raise UserError(document.path, f"{'.'.join(walked)} is not a mapping")
        node = child
    return node


# --- LiteLLM --------------------------------------------------------------------------------


def litellm_item(facts: ServiceFacts) -> dict[str, Any]:
    """The service's ``modelList`` item: the served name, routed to the engine (or the pool's
    internal gateway) with the engine key as a reference to a variable of LiteLLM's pod."""
    api_key = f"os.environ/{facts.api_key_env}" if facts.api_key_env else "none"
    return {
        "model_name": facts.served_model_name,
        "litellm_params": {
            "model": facts.litellm_model,
            "api_base": facts.base_url,
            "api_key": api_key,
        },
        "model_info": {OWNER_KEY: facts.owner},
    }


def item_owner(item: Any) -> str | None:
    info = item.get("model_info") if isinstance(item, Mapping) else None
    owner = info.get(OWNER_KEY) if isinstance(info, Mapping) else None
    return str(owner) if owner is not None else None


def model_list(document: ValuesDocument, *, create: bool) -> Any:
    """``litellm-proxy.litellm.modelList`` of the document (None when absent and not
    created)."""
    from ruamel.yaml.comments import CommentedSeq

    parent = _mapping_at(document, document.data, LITELLM_PATH[:-1], create=create)
    if parent is None:
        return None
    items = parent.get("modelList")
    if items is None:
        if not create:
            return None
        items = _fresh([])
        parent["modelList"] = items
    if not isinstance(items, list):
        raise UserError(document.path, f"{'.'.join(LITELLM_PATH)} is not a list")
    if create and not items and isinstance(items, CommentedSeq):
        items.fa.set_block_style()  # `modelList: []` grows as a block list
    return items


def edit_litellm(document: ValuesDocument, facts: ServiceFacts, action: Action) -> None:
    """Register: exactly one item of the service, with the served name (an existing one is
    updated where it is; others of the service, e.g. an earlier served name, go). Disable
    and remove: no item of the service (LiteLLM then refuses the name)."""
    items = model_list(document, create=action is Action.register)
    if items is None:
        return
    owned = [i for i, item in enumerate(items) if item_owner(item) == facts.owner]
    keep: int | None = None
    if action is Action.register:
        named = [i for i in owned
                 if plain(items[i]).get("model_name") == facts.served_model_name]
        candidates = named or owned
        keep = candidates[0] if candidates else None
    for index in reversed(owned):
        if index != keep:
            del items[index]
    if action is not Action.register:
        return
    if keep is None:
        items.append(_fresh(litellm_item(facts)))
        return
    position = keep - sum(1 for i in owned if i < keep)
    if not isinstance(items[position], Mapping):  # pragma: no cover - owned means mapping
        raise AssertionError("an owned item is a mapping")
    for key, value in litellm_item(facts).items():
        assign(items[position], key, value)


# --- models (Envoy AI Gateway) --------------------------------------------------------------


def backend_entry(facts: ServiceFacts) -> dict[str, Any]:
    """``backends.<namespace>-<service>``: the service's in-cluster address and API schema."""
    host, port, prefix = facts.address
    entry: dict[str, Any] = {
        "resourceName": facts.backend_key,
        "schema": BACKEND_SCHEMA,
        "prefix": prefix or "/",
        "fqdn": {"hostname": host, "port": port},
    }
    if facts.api_key_env:
        entry["apiKeySecretRef"] = {"name": facts.engine_key_secret, "key": "apiKey"}
    if facts.base_url.startswith("https://"):
        entry["tlsHostname"] = host
    return entry


def route_backends(facts: ServiceFacts, skip_refs: Iterable[str] = ()) -> dict[str, Any]:
    """The service's backends of its model route: itself at priority 0, each failover
    backend one priority further in the order the service names them (a ref the route
    already has from the platform is not added twice)."""
    skipped = set(skip_refs)
    backends: dict[str, Any] = {
        facts.backend_key: {"enabled": True, "ref": facts.backend_key, "priority": 0,
                            "weight": 100},
    }
    for number, ref in enumerate(facts.failover_backends, start=1):
        if ref not in skipped:
            backends[f"{facts.backend_key}-failover-{number}"] = {
                "enabled": True, "ref": ref, "priority": number}
    return backends


def rate_limit(facts: ServiceFacts) -> dict[str, Any]:
    return {"limits": {RATE_LIMIT_NAME: {"rates": [
        {"limit": facts.rate_limit_per_minute, "window": "1m"}]}}}


def model_entry(facts: ServiceFacts, *, enabled: bool) -> dict[str, Any]:
    """A new ``models.<key>``: the route of the served name to :func:`route_backends`."""
    entry: dict[str, Any] = {
        "enabled": enabled,
        "modelMatch": facts.served_model_name,
        "backends": route_backends(facts),
    }
    if facts.rate_limit_per_minute:
        entry["rateLimit"] = rate_limit(facts)
    return entry


def _is_own_key(key: Any, facts: ServiceFacts) -> bool:
    return key == facts.backend_key or str(key).startswith(f"{facts.backend_key}-failover-")


def _primary(backend: Any) -> bool:
    return isinstance(backend, Mapping) and backend.get("priority", 0) == 0


def owns_model(entry: Any, backend_key: str) -> bool:
    """Whether a ``models`` entry is the service's (see the module docstring)."""
    backends = entry.get("backends") if isinstance(entry, Mapping) else None
    own = backends.get(backend_key) if isinstance(backends, Mapping) else None
    return _primary(own) and isinstance(own, Mapping) and own.get("ref") == backend_key


def joinable(entry: Any, facts: ServiceFacts) -> bool:
    """A route the platform prepared for the served name and left without a primary: no
    enabled backend at priority 0 (it may hold the failover backends). The service joins
    it as its priority-0 backend; the platform's backends stay."""
    if not isinstance(entry, Mapping) or owns_model(entry, facts.backend_key):
        return False
    if entry.get("modelMatch", facts.served_model_name) != facts.served_model_name:
        return False
    backends = entry.get("backends")
    if backends is not None and not isinstance(backends, Mapping):
        return False
    return not any(_primary(b) and b.get("enabled") is True
                   for b in (backends or {}).values())


def _references(models: Any, backend_key: str) -> list[str]:
    """Model entries that route to ``backend_key`` from a backend the service did not
    write (a platform route failing over to it)."""
    found = []
    for key, entry in (models or {}).items():
        backends = entry.get("backends") if isinstance(entry, Mapping) else None
        if not isinstance(backends, Mapping):
            continue
        if any(isinstance(b, Mapping) and b.get("ref") == backend_key and name != backend_key
               for name, b in backends.items()):
            found.append(str(key))
    return found


def _defined_backends(document: ValuesDocument, facts: ServiceFacts) -> list[str]:
    backends = document.data.get("backends")
    defined = sorted(str(k) for k in backends) if isinstance(backends, Mapping) else []
    return [name for name in defined if name != facts.backend_key]


def check_failover_refs(document: ValuesDocument, facts: ServiceFacts) -> None:
    """The failover backends must be ones the platform defines in this environment."""
    defined = _defined_backends(document, facts)
    shown = ", ".join(inert(n, 60) for n in defined[:12]) or "none"
    for ref in facts.failover_backends:
        if ref == facts.backend_key:
            raise UserError("failover_backends", f"{ref!r} is this service itself; name a "
                            "backend of another service or provider")
        if ref not in defined:
            raise UserError("failover_backends", f"backend {ref!r} is not defined in "
                            f"{document.path} (backends there: {shown})")


def check_two_backends(document: ValuesDocument, facts: ServiceFacts, route: Any) -> None:
    """Seed rule of the models chart: an enabled model needs two enabled backends."""
    enabled = [b for b in (route.get("backends") or {}).values()
               if isinstance(b, Mapping) and b.get("enabled") is True]
    if len(enabled) >= 2:
        return
    shown = ", ".join(inert(n, 60) for n in _defined_backends(document, facts)[:12]) or "none"
    raise UserError("failover_backends", "the models chart routes a model only with at least "
                    "two enabled backends: name a failover backend defined in "
                    f"{document.path} (backends there: {shown})")


def _join(models: Any, facts: ServiceFacts) -> Any:
    """Add or update the service's route, keeping backends the platform put there."""
    entry = models.get(facts.model_key)
    if entry is None:
        models[facts.model_key] = _fresh(model_entry(facts, enabled=True))
        return models[facts.model_key]
    if not isinstance(entry.get("backends"), Mapping):
        entry["backends"] = _fresh({})
    route = entry["backends"]
    created_by_service = all(_is_own_key(k, facts) for k in route)
    foreign_refs = [str(b.get("ref")) for k, b in route.items()
                    if not _is_own_key(k, facts) and isinstance(b, Mapping)
                    and b.get("enabled") is True]
    wanted = route_backends(facts, skip_refs=foreign_refs)
    for stale in [k for k in route if _is_own_key(k, facts) and k not in wanted]:
        del route[stale]
    for key, value in wanted.items():
        assign(route, key, value)
    assign(entry, "enabled", True)
    assign(entry, "modelMatch", facts.served_model_name)
    if facts.rate_limit_per_minute:
        assign(entry, "rateLimit", rate_limit(facts))
    elif created_by_service and "rateLimit" in entry:
        del entry["rateLimit"]
    return entry


def _leave(models: Any, key: str, facts: ServiceFacts) -> None:
    """Take the service out of a route: the route goes when only the service's backends
    were in it; a route the platform prepared keeps its backends, disabled."""
    entry = models[key]
    route = entry.get("backends")
    if isinstance(route, MutableMapping):
        for own in [k for k in route if _is_own_key(k, facts)]:
            del route[own]
    if not route:
        del models[key]
    else:
        assign(entry, "enabled", False)


def edit_models(document: ValuesDocument, facts: ServiceFacts, action: Action) -> list[str]:
    """Register with the gateway on: the backend and the model route (any other route of
    the service goes). Disable: the service's routes stay, ``enabled: false``. Remove, or
    register with the gateway off: the service leaves its routes, and its backend goes
    unless a platform route still fails over to it. Returns notes for the pull request."""
    routing = action is Action.register and facts.envoy_ai_gateway
    if routing:
        check_failover_refs(document, facts)
    models = _mapping_at(document, document.data, ("models",), create=routing)
    owned = [str(k) for k, entry in (models or {}).items() if owns_model(entry, facts.backend_key)]
    notes: list[str] = []
    if routing:
        backends = _mapping_at(document, document.data, ("backends",), create=True)
        assign(backends, facts.backend_key, backend_entry(facts))
        for key in owned:
            if key != facts.model_key:
                _leave(models, key, facts)
        check_two_backends(document, facts, _join(models, facts))
        return notes
    if action is Action.disable:
        for key in owned:
            assign(models[key], "enabled", False)
        return notes
    for key in owned:
        _leave(models, key, facts)
    backends = _mapping_at(document, document.data, ("backends",), create=False)
    if backends is not None and facts.backend_key in backends:
        users = _references(models, facts.backend_key)
        if users:
            notes.append(f"backends.{facts.backend_key} is kept: "
                         f"{', '.join('models.' + u for u in users)} still route to it")
        else:
            del backends[facts.backend_key]
    return notes


# --- who else registers the name (the fleet check) ------------------------------------------


@dataclass(frozen=True)
class Claim:
    """Another registration of the served name in this environment."""

    path: str
    where: str
    owner: str

    def describe(self, served: str) -> str:
        return (f"model name {inert(served, 120)!r} is already registered by {self.owner} "
                f"in {self.path} ({self.where})")


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` where each step is a mapping, else None."""
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def litellm_claims(data: Any, path: str, facts: ServiceFacts) -> list[Claim]:
    items = dig(data, *LITELLM_PATH)
    claims = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, Mapping) or item.get("model_name") != facts.served_model_name:
            continue
        owner = item_owner(item)
        if owner != facts.owner:
            who = inert(owner, 120) if owner else "an entry without platform_service (the " \
                "platform's own)"
            claims.append(Claim(path, f"{'.'.join(LITELLM_PATH)}[{index}]", who))
    return claims


def models_claims(data: Any, path: str, facts: ServiceFacts) -> list[Claim]:
    models = dig(data, "models")
    claims = []
    for key, entry in (models.items() if isinstance(models, Mapping) else []):
        if not isinstance(entry, Mapping) or owns_model(entry, facts.backend_key):
            continue
        if key == facts.model_key and joinable(entry, facts):
            continue
        match = entry.get("modelMatch", key)
        if match != facts.served_model_name and key != facts.model_key:
            continue
        backends = entry.get("backends")
        primaries = sorted(str(b.get("ref")) for b in (backends or {}).values()
                           if isinstance(b, Mapping) and b.get("priority", 0) == 0) \
            if isinstance(backends, Mapping) else []
        who = f"the route to {', '.join(inert(p, 60) for p in primaries) or 'no backend'}"
        claims.append(Claim(path, f"models.{inert(key, 120)}", who))
    return claims
