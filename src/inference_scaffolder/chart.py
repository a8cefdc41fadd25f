"""The ML_INFERENCE_LOAD chart: where it lives, its values schema and its base values.

The chart exists once, in ``charts/ml-inference-load`` (``_charts/`` in a wheel): it is the base
chart the platform publishes from platform-schemas-types (``schema-pr`` proposes these bytes),
and the chart every generated service inflates by repository and version. ``validate`` and
``new`` render with this copy when an environment pins its version, offline.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder.paths import base_chart_dir

CHART_NAME = "ml-inference-load"
WORKLOAD_TYPE = "ML_INFERENCE_LOAD"

# Values every catalog entry (and so the generated TypeScript interface) must set, although
# the schema cannot demand them: the base chart's values.yaml (validated against the schema by
# the platform repo) has no service to name and deliberately no model. The templates `required`
# the model; for the identity an ad-hoc render falls back to the release name and namespace.
RENDER_REQUIRED_VALUES = ("serviceName", "serviceCatalog", "namespace", "model")

# Files of the chart directory that describe linting, not the chart.
_NOT_SHIPPED = ("ci",)


def chart_source_dir() -> Path:
    """The base chart folder this package carries (the single source of the chart)."""
    return base_chart_dir()


@cache
def values_schema() -> dict[str, Any]:
    """The chart's values JSON Schema (draft 2020-12)."""
    return json.loads((chart_source_dir() / "values.schema.json").read_text(encoding="utf-8"))


@cache
def base_values() -> dict[str, Any]:
    """The chart's default values, as the base chart ships them."""
    return yaml.safe_load((chart_source_dir() / "values.yaml").read_text(encoding="utf-8"))


def chart_version(chart_dir: Path | None = None) -> str:
    """The semver version in Chart.yaml (of this package's chart unless one is given)."""
    if chart_dir is None:
        return _carried_version()
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    return str(chart["version"])


@cache
def _carried_version() -> str:
    """The carried chart's version, read once: a fleet asks for it per environment."""
    return chart_version(chart_source_dir())


def engine_defaults(engine: str) -> dict[str, Any]:
    """Per-engine facts (image, port, probe paths) as the chart's values.yaml records them."""
    return base_values()["engineDefaults"][engine]


def coalesce_values(base: Any, override: Any, *, effective: bool = False) -> Any:
    """Values as Helm coalesces a values file over the chart's: mapping by mapping, the
    override's scalars and lists replacing the base's (base keys keep their order).

    ``effective``: the values a template sees, where a null removes the key (Helm's way to
    drop a default); otherwise a null stays, as a values file layered later must keep it.
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for key, value in override.items():
        if value is None and effective:
            out.pop(key, None)
        else:
            out[key] = coalesce_values(base.get(key), value, effective=effective)
    return out


def write_base_chart(dest: Path, *, include_lint_values: bool = True) -> None:
    """Copy the chart with its generic base values.yaml into ``dest`` (created)."""
    ignore = None if include_lint_values else shutil.ignore_patterns(*_NOT_SHIPPED)
    shutil.copytree(chart_source_dir(), dest, ignore=ignore)
