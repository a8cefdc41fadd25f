"""Where the routing repository keeps each environment's router values.

Defaults: ``environments/{env}/inference-infrastructure.yaml`` (the LiteLLM umbrella
release) and ``environments/{env}/models.yaml`` (the Envoy AI Gateway models release). A
routing repository with another layout says so once, in ``.inference-scaffolder/routing.yaml``
at its root, for every service team::

    litellmValues: clusters/{env}/infra/values.yaml
    modelsValues: clusters/{env}/models/values.yaml

A command-line option (``--litellm-values`` / ``--models-values``) overrides both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.safe_fs import ConfinedTree

DEFAULT_LITELLM_VALUES = "environments/{env}/inference-infrastructure.yaml"
DEFAULT_MODELS_VALUES = "environments/{env}/models.yaml"
CONFIG_FILE = ".inference-scaffolder/routing.yaml"
CONFIG_KEYS = {"litellmValues": "--litellm-values", "modelsValues": "--models-values"}
ENVIRONMENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class RoutingLayout:
    """Path templates of the two values files (``{env}`` is the environment)."""

    litellm_values: str = DEFAULT_LITELLM_VALUES
    models_values: str = DEFAULT_MODELS_VALUES

    def litellm_path(self, environment: str) -> str:
        return self.litellm_values.replace("{env}", environment)

    def models_path(self, environment: str) -> str:
        return self.models_values.replace("{env}", environment)


def check_environment_name(environment: str) -> str:
    """An environment name is part of a path: a plain lower-case name only."""
    if not ENVIRONMENT_NAME.match(environment) or len(environment) > 63:
        raise UserError("--env", f"{inert(environment, 80)!r} is not an environment name "
                        "(lower-case letters, digits and '-')")
    return environment


def check_template(template: Any, field: str) -> str:
    """A path template: relative, inside the repository, with ``{env}`` and no other
    placeholder, naming a YAML file."""
    text = str(template) if isinstance(template, str) else ""
    path = PurePosixPath(text)
    problem = ""
    if "{env}" not in text:
        problem = "must contain {env}"
    elif re.search(r"[{}]", text.replace("{env}", "")):
        problem = "may hold no placeholder but {env}"
    elif path.is_absolute() or ".." in path.parts or "\\" in text or "\0" in text:
        problem = "must be a relative path inside the routing repository"
    elif path.suffix not in (".yaml", ".yml"):
        problem = "must name a .yaml file"
    if problem:
        raise UserError(field, f"{inert(text, 120)!r} {problem}")
    return text


def read_layout(tree: ConfinedTree, litellm_option: str | None,
                models_option: str | None) -> RoutingLayout:
    """The layout: options first, then the routing repository's config file, then the
    defaults."""
    configured = _configured(tree)
    litellm = litellm_option or configured.get("litellmValues") or DEFAULT_LITELLM_VALUES
    models = models_option or configured.get("modelsValues") or DEFAULT_MODELS_VALUES
    litellm_field = "--litellm-values" if litellm_option else f"{CONFIG_FILE}: litellmValues"
    models_field = "--models-values" if models_option else f"{CONFIG_FILE}: modelsValues"
    return RoutingLayout(check_template(litellm, litellm_field),
                         check_template(models, models_field))


def _configured(tree: ConfinedTree) -> dict[str, Any]:
    text = tree.read_text(CONFIG_FILE)
    if text is None:
        return {}
    try:
        data = yamlio.load(text, source=CONFIG_FILE)
    except yaml.YAMLError as exc:
        raise UserError(CONFIG_FILE, yamlio.describe_yaml_error(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(CONFIG_FILE, "must be a mapping (litellmValues, modelsValues)")
    unknown = sorted(str(k) for k in data if k not in CONFIG_KEYS)
    if unknown:
        raise UserError(CONFIG_FILE, f"unknown key {inert(unknown[0], 60)!r} (known: "
                        f"{', '.join(CONFIG_KEYS)})")
    return {k: v for k, v in data.items() if v is not None}
