"""Where things are in a service repository, and the few facts read straight from its files.

A service repository is a kustomized-helm leaf: per environment, the values (the leaf's API)
and a Kustomization that inflates the platform's published base chart by repository and
version. It holds no chart of its own.

Every other module asks here instead of joining path segments itself, so the layout a
generated repository has is written down once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from inference_scaffolder import yamlio
from inference_scaffolder.answers import CHART_REPOSITORY_VARIABLE, ENVIRONMENT_ORDER
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.rendering.charts import ChartRef, check_chart_ref, is_bundled
from inference_scaffolder.safe_fs import in_git_dir, within

# Where releases before the leaf layout kept a copy of the chart (``update`` migrates them).
LEGACY_CHART_DIR = "chart"
ENVIRONMENTS_DIR = "environments"
ARGOCD_DIR = "argocd"
ANSWERS_RECORD = Path(".inference-scaffolder") / "answers.yaml"
# The model's config.json, kept with the repository so the capacity check can run again
# on any machine (the answers record points here, relative to the repository).
MODEL_CONFIG_COPY = Path(".inference-scaffolder") / "model-config.json"
# Far above any real config.json (a few KiB), far below what would hurt to read.
MAX_MODEL_CONFIG_BYTES = 1024 * 1024


def recorded_path(repo: Path, recorded: str) -> Path | None:
    """A path from the answers record, relative to the repository (as ``new`` records it),
    or None when it leads outside the repository: a record is anyone's edit, and the tool
    reads no file outside the tree it was given (repositories from before the config was
    kept with them recorded absolute paths; their capacity check is skipped, with a note).
    Nothing in ``.git`` either: a checkout's ``.git/config`` holds its credentials."""
    path = repo / recorded
    if not within(repo, path) or in_git_dir(repo.resolve(), path.resolve()):
        return None
    return path


def values_file(repo: Path, environment: str) -> Path:
    """An environment's values: the leaf's API, what the base chart is inflated with."""
    return repo / ENVIRONMENTS_DIR / environment / "values.yaml"


def kustomization_path(repo: Path, environment: str) -> Path:
    return repo / ENVIRONMENTS_DIR / environment / "kustomization.yaml"


def application_path(repo: Path, environment: str) -> Path:
    return repo / ARGOCD_DIR / f"{environment}.yaml"


def list_environments(repo: Path) -> list[str]:
    """The environments a repository has, in promotion order (unknown names last)."""
    env_dir = repo / ENVIRONMENTS_DIR
    found = [p.parent.name for p in env_dir.glob("*/values.yaml")] if env_dir.is_dir() else []
    order = {name: i for i, name in enumerate(ENVIRONMENT_ORDER)}
    return sorted(found, key=lambda n: (order.get(n, len(order)), n))


def has_legacy_chart(repo: Path) -> bool:
    """Whether the repository still carries its own copy of the chart (releases before the
    leaf layout); ``update`` moves it to the leaf layout."""
    return (repo / LEGACY_CHART_DIR / "Chart.yaml").is_file()


def _values(repo: Path, environment: str) -> dict:
    path = values_file(repo, environment)
    values = yamlio.load_file_shared(path) if path.is_file() else None
    return values if isinstance(values, dict) else {}


def namespace_of(repo: Path, environment: str) -> str:
    """The namespace the chart renders into: the environment's ``namespace`` value."""
    return str(_values(repo, environment).get("namespace") or "")


def release_name(repo: Path, environment: str | None = None) -> str:
    """The Helm release name: the environment's (else the first environment's)
    ``serviceName``, else the folder's name."""
    names = [environment] if environment else list_environments(repo)
    for name in names:
        service = _values(repo, name).get("serviceName")
        if service:
            return str(service)
    return repo.name


def first_helm_chart(kustomization: Any) -> dict:
    """A Kustomization's ``helmCharts[0]`` (empty when there is none): which base chart,
    from which repository, at which version the environment inflates."""
    charts = kustomization.get("helmCharts") if isinstance(kustomization, dict) else None
    if isinstance(charts, list) and charts and isinstance(charts[0], dict):
        return charts[0]
    return {}


def ref_of_entry(entry: dict) -> ChartRef:
    """The chart a ``helmCharts`` entry names (unchecked: see ``check_chart_ref``)."""
    return ChartRef(str(entry.get("name") or ""), str(entry.get("repo") or ""),
                    str(entry.get("version") or ""))


def helm_chart_entry(repo: Path, environment: str) -> dict:
    """The environment's ``helmCharts[0]`` (empty when there is none)."""
    path = kustomization_path(repo, environment)
    return first_helm_chart(yamlio.load_file_shared(path) if path.is_file() else None)


def chart_ref(repo: Path, environment: str) -> ChartRef:
    """The base chart an environment pins, checked: a kustomization is anyone's edit."""
    entry = helm_chart_entry(repo, environment)
    shown = f"{ENVIRONMENTS_DIR}/{environment}/kustomization.yaml"
    if not entry:
        raise UserError(shown, "has no helmCharts entry naming the base chart")
    ref = ref_of_entry(entry)
    check_chart_ref(ref, f"{shown}: helmCharts[0]")
    _refuse_foreign_repository(ref, shown)
    return ref


def _refuse_foreign_repository(ref: ChartRef, shown: str) -> None:
    """Where the platform names its Helm repository ($INFERENCE_SCAFFOLDER_CHART_REPOSITORY),
    a chart this release does not carry is fetched from there only: a kustomization is
    anyone's edit, and must not make a Backstage or CI host fetch from hosts of its choice."""
    platform = os.environ.get(CHART_REPOSITORY_VARIABLE, "").strip().rstrip("/")
    if not platform or ref.repository.rstrip("/") == platform or is_bundled(ref):
        return
    raise UserError(shown, f"pins {ref.name} {ref.version} from {inert(ref.repository)}, not "
                    f"from the platform's Helm repository {platform} "
                    f"(${CHART_REPOSITORY_VARIABLE}); nothing was fetched")
