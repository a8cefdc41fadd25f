"""The edited values checked against the shapes the platform's charts document.

Two JSON Schemas (draft 2020-12, in ``schemas/``) describe what ``register`` writes: the
LiteLLM ``modelList`` of the inference-infrastructure chart and the ``backends`` / ``models``
of the models chart. Beside them, the models chart's own rules: every enabled model has at
least two enabled backends, and every ``ref`` names a defined backend.

The routing repository is shared, so it may already hold entries that break these rules.
Those were broken before this change: they are reported as warnings. A problem the change
introduces stops the run before anything is pushed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from inference_scaffolder.errors import UserError, inert

LITELLM_SCHEMA = "inference-infrastructure.schema.json"
MODELS_SCHEMA = "models.schema.json"
MAX_WARNINGS = 10


@dataclass(frozen=True, order=True)
class Problem:
    """One rule a values file breaks, at a path that survives reordering (list items are
    named by their ``model_name``)."""

    path: str
    where: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.where}: {self.message}"


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    text = resources.files("inference_scaffolder.registration").joinpath(
        "schemas", name).read_text(encoding="utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _where(data: Any, error_path: Iterable[Any]) -> str:
    """A dotted path; a list index is shown as the item's ``model_name`` when it has one."""
    parts: list[str] = []
    node = data
    for step in error_path:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            name = item.get("model_name") if isinstance(item, Mapping) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{inert(name, 80) if name else step}]"]
        else:
            parts.append(inert(step, 80))
        node = node[step] if isinstance(node, list | Mapping) else None
    return ".".join(parts) or "(top level)"


def _message(error: jsonschema.ValidationError) -> str:
    """The rule broken, without the offending value: a value may be a key someone wrote
    where a reference belongs, and it must not reach a terminal or a pull request."""
    rule, bound = error.validator, error.validator_value
    if error.absolute_path and error.absolute_path[-1] == "api_key":
        return "must reference a variable of LiteLLM's pod (os.environ/NAME), never hold a key"
    texts = {
        "pattern": f"does not match {bound}",
        "type": f"is not of type {bound}",
        "minimum": f"is below {bound}",
        "maximum": f"is above {bound}",
        "minLength": "is empty" if bound == 1 else f"is shorter than {bound}",
        "minItems": f"has fewer than {bound} item(s)",
    }
    if rule in ("required", "additionalProperties"):
        return error.message  # names keys, not values
    return texts.get(str(rule), f"breaks the schema's {rule!r} rule")


def schema_problems(data: Any, schema: str, path: str) -> list[Problem]:
    validator = _validator(schema)
    return sorted(Problem(path, _where(data, e.absolute_path), inert(_message(e), 200))
                  for e in validator.iter_errors(data))


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def routing_rules(data: Any, path: str) -> list[Problem]:
    """The models chart's rules beside its schema: two enabled backends per enabled model,
    and refs that name defined backends (``enabled`` counts only when written ``true``)."""
    if not isinstance(data, Mapping):
        return []
    backends = _mapping(data.get("backends"))
    models = _mapping(data.get("models"))
    problems = []
    for key, entry in models.items():
        if not isinstance(entry, Mapping) or entry.get("enabled") is not True:
            continue
        routes = _mapping(entry.get("backends"))
        enabled = [b for b in routes.values() if isinstance(b, Mapping)
                   and b.get("enabled") is True]
        where = f"models.{inert(key, 80)}"
        if len(enabled) < 2:
            problems.append(Problem(path, where, f"has {len(enabled)} enabled backend(s); "
                                    "the chart requires at least 2"))
        for backend in enabled:
            if backend.get("ref") not in backends:
                problems.append(Problem(path, where, f"routes to backend "
                                        f"{inert(backend.get('ref'), 80)!r}, which is not "
                                        "defined in backends"))
    return problems


def problems_of(litellm: tuple[str, Any] | None,
                models: tuple[str, Any] | None) -> set[Problem]:
    """Every problem of the two files (``(path, data)``; None: not part of this run)."""
    found: set[Problem] = set()
    if litellm is not None:
        found.update(schema_problems(litellm[1], LITELLM_SCHEMA, litellm[0]))
    if models is not None:
        found.update(schema_problems(models[1], MODELS_SCHEMA, models[0]))
        found.update(routing_rules(models[1], models[0]))
    return found


def compare(before: set[Problem], after: set[Problem]) -> list[str]:
    """Refuse problems the change introduces (the first one, one line); return the ones
    the files already had as warnings."""
    introduced = sorted(after - before)
    if introduced:
        first = introduced[0]
        more = f" (and {len(introduced) - 1} more)" if len(introduced) > 1 else ""
        raise UserError(first.path, f"after the change, {first.where}: {first.message}{more}; "
                        "nothing was pushed")
    kept = sorted(after & before)
    warnings = [f"already on the base branch: {p.line()}" for p in kept[:MAX_WARNINGS]]
    if len(kept) > MAX_WARNINGS:
        warnings.append(f"already on the base branch: {len(kept) - MAX_WARNINGS} more "
                        "problem(s) of the same files")
    return warnings
