"""Moving a repository from the copied-chart layout to the leaf layout.

Releases before 0.2.0 generated a service repository with its own copy of the chart in
``chart/`` (``chart/values.yaml`` holding the service's values over the chart's documented
defaults) and per-environment overrides in ``environments/<env>/values.yaml``. A leaf holds
no chart: each environment's values are complete and its Kustomization inflates the
platform's published base chart by repository and version.

The migration keeps what every environment deploys:

- each environment's values become ``chart/values.yaml`` merged with the environment's
  overrides (exactly what ``helm template chart -f environments/<env>/values.yaml`` read),
  less every value equal to the published base chart's default at the same version (Helm
  puts those back), so the file holds what the service itself sets;
- each Kustomization's ``helmCharts`` entry names the base chart, the platform's Helm
  repository and the version the repository's ``chart/Chart.yaml`` declared; the team's own
  resources and patches stay;
- ``chart/`` goes. A chart file other than ``values.yaml`` that differs from the published
  chart at that version is a change of the team's own: the migration refuses, naming the
  files, before anything is written (the change belongs in a Kustomize patch or in the base
  chart), so no edit is dropped silently.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.answers import Answers
from inference_scaffolder.chart import CHART_NAME, coalesce_values
from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering.charts import ChartRef, check_chart_ref, resolve_chart
from inference_scaffolder.safe_fs import ConfinedTree, refuse_links
from inference_scaffolder.service.files import dump_yaml, values_header
from inference_scaffolder.service.gitops_files import edit_first_helm_chart
from inference_scaffolder.service.layout import (
    LEGACY_CHART_DIR,
    kustomization_path,
    list_environments,
    values_file,
)

# Files of the old chart/ that are the service's own, not the chart's.
_SERVICE_OWN = ("values.yaml",)
# Values a leaf always states, even where they equal the base chart's default: what the
# service is and serves (promotion and the reviewers read them in the file).
_ALWAYS_STATED = ("workloadType", "serviceName", "serviceCatalog", "namespace", "environment",
                  "engine", "model")


@dataclass
class Migration:
    """What moving to the leaf layout changes (paths relative to the repository)."""

    chart: ChartRef
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _without_defaults(values: dict[str, Any], defaults: dict[str, Any],
                      keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """``values`` less every entry equal to the default Helm would use anyway."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if key in keep:
            out[key] = value
        elif isinstance(value, dict) and isinstance(default, dict):
            rest = _without_defaults(value, default)
            if rest:
                out[key] = rest
        elif key not in defaults or value != default:
            out[key] = value
    return out


def legacy_chart_ref(repo: Path, answers: Answers) -> ChartRef:
    """The published base chart the repository's ``chart/`` copy corresponds to."""
    chart = yamlio.load_file_shared(repo / LEGACY_CHART_DIR / "Chart.yaml") or {}
    ref = ChartRef(CHART_NAME, str(answers["chart_repository"]),
                   str(chart.get("version", "")) if isinstance(chart, dict) else "")
    check_chart_ref(ref, f"{LEGACY_CHART_DIR}/Chart.yaml")
    return ref


def changed_chart_files(repo: Path, published: Path) -> list[str]:
    """Files of the repository's ``chart/`` (values aside) that differ from the published
    chart, or that it lacks: the team's own changes to the chart."""
    ours = {k: v for k, v in ConfinedTree(repo).files(LEGACY_CHART_DIR).items()
            if k not in _SERVICE_OWN}
    theirs = {k: v for k, v in ConfinedTree(published).files().items()
              if k not in _SERVICE_OWN and not k.startswith("ci/")}
    return sorted(f"{LEGACY_CHART_DIR}/{name}" for name in set(ours) | set(theirs)
                  if name in ours and not _same_file(name, ours[name], theirs.get(name)))


def _same_file(name: str, ours: bytes, theirs: bytes | None) -> bool:
    """Byte for byte, except ``Chart.yaml``, which ``helm package`` writes anew (key order,
    quoting) when the platform publishes the chart: there the metadata must be equal."""
    if ours == theirs or theirs is None or name != "Chart.yaml":
        return ours == theirs
    try:
        return yamlio.load(ours.decode("utf-8")) == yamlio.load(theirs.decode("utf-8"))
    except (UnicodeDecodeError, UserError, yaml.YAMLError):
        return False


def leaf_values_from_legacy(repo: Path, environment: str,
                            defaults: dict[str, Any]) -> dict[str, Any]:
    """One environment's complete leaf values, as the old layout rendered them."""
    common = yamlio.load_file_shared(repo / LEGACY_CHART_DIR / "values.yaml") or {}
    overrides = yamlio.load_file_shared(values_file(repo, environment)) or {}
    merged = coalesce_values(copy.deepcopy(common), overrides)
    return _without_defaults(merged, defaults, _ALWAYS_STATED)


def leaf_kustomization_text(text: str, ref: ChartRef, shown: str) -> str:
    """The environment's kustomization.yaml pinned to the published chart; the team's own
    resources, patches and comments stay."""
    def pin(document: Any, entry: Any) -> None:
        entry["name"] = ref.name
        if "repo" in entry:
            entry["repo"] = ref.repository
        else:
            entry.insert(1, "repo", ref.repository)
        entry["version"] = ref.version
        globals_ = document.get("helmGlobals")
        if isinstance(globals_, dict):
            globals_.pop("chartHome", None)
            if not globals_:
                del document["helmGlobals"]
    return edit_first_helm_chart(text, shown, "move to the base chart", pin)


def plan_migration(repo: Path, answers: Answers) -> tuple[Migration, Path]:
    """Check the migration can keep everything (see the module docstring) before anything
    is written; returns the plan and the published chart it pins."""
    ref = legacy_chart_ref(repo, answers)
    published = resolve_chart(ref, field=f"{LEGACY_CHART_DIR}/Chart.yaml")
    changed = changed_chart_files(repo, published)
    if changed:
        raise UserError(LEGACY_CHART_DIR, f"{', '.join(changed)} differ from {ref.describe()}: "
                        "move that change into a Kustomize patch in environments/<env>/ (or "
                        "into the base chart), commit, and run update again; nothing was "
                        "changed")
    return Migration(ref), published


def migrate_to_leaf(repo: Path, answers: Answers) -> Migration:
    """Rewrite ``repo``'s working tree into the leaf layout (see the module docstring)."""
    migration, published = plan_migration(repo, answers)
    defaults = yamlio.load_file_shared(published / "values.yaml") or {}
    environments = list_environments(repo)
    for environment in environments:
        for written in (f"environments/{environment}/values.yaml",
                        f"environments/{environment}/kustomization.yaml"):
            refuse_links(repo, written)  # never write through a link
    new_files: dict[Path, str] = {}
    for environment in environments:
        values = leaf_values_from_legacy(repo, environment, defaults)
        service = str(values.get("serviceName") or repo.name)
        new_files[values_file(repo, environment)] = dump_yaml(
            values, values_header(service, environment))
        kustomization = kustomization_path(repo, environment)
        if kustomization.is_file():
            new_files[kustomization] = leaf_kustomization_text(
                kustomization.read_text(encoding="utf-8"), migration.chart,
                f"environments/{environment}/kustomization.yaml")
    for path, text in new_files.items():
        path.write_text(text, encoding="utf-8")
        migration.written.append(path.relative_to(repo).as_posix())
    migration.removed = sorted(f"{LEGACY_CHART_DIR}/{name}" for name in
                               ConfinedTree(repo).files(LEGACY_CHART_DIR))
    shutil.rmtree(repo / LEGACY_CHART_DIR)
    return migration
