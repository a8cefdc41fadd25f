"""Where things are in a service repository, and the few facts read straight from its files.

Every other module asks here instead of joining path segments itself, so the layout a
generated repository has is written down once.
"""

from __future__ import annotations

from pathlib import Path

from inference_scaffolder import yamlio
from inference_scaffolder.answers import ENVIRONMENT_ORDER
from inference_scaffolder.safe_fs import within

CHART_DIR = "chart"
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
    kept with them recorded absolute paths; their capacity check is skipped, with a note)."""
    path = repo / recorded
    return path if within(repo, path) else None


def chart_dir(repo: Path) -> Path:
    return repo / CHART_DIR


def values_file(repo: Path, environment: str) -> Path:
    """An environment's overrides: what ``helm template ... -f`` adds to the chart's values."""
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


def namespace_of(repo: Path, environment: str) -> str:
    """The namespace the chart renders into: the environment's override, else the chart's."""
    for path in (values_file(repo, environment), chart_dir(repo) / "values.yaml"):
        if path.is_file():
            values = yamlio.load_file_shared(path) or {}
            if isinstance(values, dict) and values.get("namespace"):
                return str(values["namespace"])
    return ""


def release_name(repo: Path) -> str:
    """The Helm release name: the chart's ``serviceName``, else the folder's name."""
    values = yamlio.load_file_shared(chart_dir(repo) / "values.yaml") or {}
    return str(values.get("serviceName") or repo.name)


def repo_chart_version(repo: Path) -> str:
    """The version in the repository's own ``chart/Chart.yaml`` (not the template's)."""
    return str(yamlio.load_file_shared(chart_dir(repo) / "Chart.yaml")["version"])
