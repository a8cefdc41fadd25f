"""How Argo CD deploys a generated service: the Kustomization and Application of each
environment.

- ``environments/<env>/kustomization.yaml``: a Kustomize ``helmCharts`` entry that inflates
  the platform's published base chart (``name`` + ``repo`` + ``version``: each environment
  pins the version it runs) with that folder's ``values.yaml``.
  ``kubectl kustomize --enable-helm environments/<env>`` renders what Argo CD applies.
- ``argocd/<env>.yaml``: the Argo CD ``Application`` whose single source is that folder
  (``path: environments/<env>``), synced automatically into the environment's cluster,
  addressed by name (``destination.name: <env>``).

Argo CD renders Kustomize with Helm only when ``kustomize.buildOptions: --enable-helm`` is set
in ``argocd-cm``; docs/lifecycle.md says so. A new base chart version reaches an environment
only when its pin changes there (``promote``), so a chart change is staged like any other.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference_scaffolder.answers import Answers, repo_slug
from inference_scaffolder.chart import CHART_NAME
from inference_scaffolder.errors import UserError
from inference_scaffolder.go_yaml import safe_dump
from inference_scaffolder.rendering.charts import populate_chart_home
from inference_scaffolder.safe_fs import refuse_links
from inference_scaffolder.service.layout import (
    ARGOCD_DIR,
    ENVIRONMENTS_DIR,
    application_path,
    chart_ref,
    kustomization_path,
)
from inference_scaffolder.yamlio import round_trip_yaml

KUSTOMIZE_API_VERSION = "kustomize.config.k8s.io/v1beta1"
APPLICATION_API_VERSION = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = "argocd"
# What ``kustomization()`` writes: a Kustomization with only these keys is the generated form.
GENERATED_KEYS = frozenset({"apiVersion", "kind", "helmCharts"})
GENERATED_CHART_KEYS = frozenset(
    {"name", "repo", "version", "releaseName", "namespace", "valuesFile", "skipTests"})
# Where a local `kubectl kustomize --enable-helm` keeps the charts it pulls (git-ignored).
KUSTOMIZE_CHART_HOME = "charts"


def kustomization(answers: Answers) -> dict[str, Any]:
    """One environment's Kustomization: the base chart, by repository and version, with its
    folder's values.yaml."""
    return {
        "apiVersion": KUSTOMIZE_API_VERSION,
        "kind": "Kustomization",
        "helmCharts": [
            {
                "name": CHART_NAME,
                "repo": answers["chart_repository"],
                "version": answers["chart_version"],
                "releaseName": answers["service_name"],
                "namespace": answers["namespace"],
                "valuesFile": "values.yaml",
                "skipTests": True,
            }
        ],
    }


def application(answers: Answers, environment: str) -> dict[str, Any]:
    """One environment's Argo CD Application, pointing at that environment's folder."""
    name = answers["service_name"]
    return {
        "apiVersion": APPLICATION_API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": f"{name}-{environment}",
            "namespace": ARGOCD_NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": name,
                "environment": environment,
                "service-catalog": answers["service_catalog"],
            },
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": f"https://github.com/{repo_slug(answers)}.git",
                "targetRevision": "main",
                "path": f"environments/{environment}",
            },
            "destination": {"name": environment, "namespace": answers["namespace"]},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "retry": {
                    "limit": 3,
                    "backoff": {"duration": "30s", "factor": 2, "maxDuration": "5m"},
                },
            },
            "revisionHistoryLimit": 10,
        },
    }


def _dump(data: dict[str, Any], header: str) -> str:
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + safe_dump(data, sort_keys=False, default_flow_style=False)


def kustomization_text(answers: Answers, environment: str) -> str:
    header = (
        f"{environment}: what Argo CD deploys for {answers['service_name']} "
        f"({ARGOCD_DIR}/{environment}.yaml points here).\n"
        f"The platform's base chart {CHART_NAME}, at the version pinned below, inflated with\n"
        "values.yaml. A new chart version reaches this environment only when this pin moves:\n"
        "`inference-scaffolder promote` carries it from the previous environment (revert the\n"
        "commit to roll back). Render it: kubectl kustomize --enable-helm "
        f"environments/{environment}\n"
        "Resources and patches of your own go here too and apply to this environment only\n"
        "(`inference-scaffolder validate` schema-checks the patched build)."
    )
    return _dump(kustomization(answers), header)


def application_text(answers: Answers, environment: str) -> str:
    header = (
        f"Argo CD Application for {answers['service_name']} in {environment}: syncs\n"
        f"environments/{environment} (Kustomize + Helm; argocd-cm needs\n"
        "`kustomize.buildOptions: --enable-helm`) into the cluster Argo CD knows as\n"
        f"`{environment}`. Apply it to the Argo CD namespace, or let an app-of-apps pick up\n"
        f"the {ARGOCD_DIR}/ folder."
    )
    return _dump(application(answers, environment), header)


def edit_first_helm_chart(text: str, shown: str, purpose: str,
                          edit: Callable[[Any, Any], None]) -> str:
    """A kustomization.yaml text with ``edit(document, helmCharts[0])`` applied in place,
    its comments, order and the team's other keys kept (ruamel's round trip)."""
    ruamel = round_trip_yaml()
    document = ruamel.load(text)
    charts = document.get("helmCharts") if isinstance(document, dict) else None
    if not (isinstance(charts, list) and charts and isinstance(charts[0], dict)):
        raise UserError(shown, f"has no helmCharts entry to {purpose}")
    edit(document, charts[0])
    out = io.StringIO()
    ruamel.dump(document, out)
    return out.getvalue()


def write_gitops_files(project_dir: Path, answers: Answers) -> None:
    """Write every environment's Kustomization and Argo CD Application."""
    for environment in answers["environments"]:
        target = kustomization_path(project_dir, environment)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(kustomization_text(answers, environment), encoding="utf-8")
        app = application_path(project_dir, environment)
        app.parent.mkdir(parents=True, exist_ok=True)
        app.write_text(application_text(answers, environment), encoding="utf-8")


def place_pinned_charts(repo: Path, environments: list[str]) -> list[str]:
    """Put each environment's pinned base chart where a local ``kubectl kustomize
    --enable-helm environments/<env>`` looks for it (``environments/<env>/charts/``,
    git-ignored), so that build runs offline; returns the folders written.

    The chart is the carried copy or a checked one from the platform's Helm repository,
    copied (never linked: the folder outlives this process and the package may move)."""
    placed = []
    for environment in environments:
        home = f"{ENVIRONMENTS_DIR}/{environment}/{KUSTOMIZE_CHART_HOME}"
        refuse_links(repo, home)  # written into: a link would carry the chart elsewhere
        ref = chart_ref(repo, environment)
        populate_chart_home(repo / home, ref, field=f"{ENVIRONMENTS_DIR}/{environment}/"
                            "kustomization.yaml", link_carried=False)
        placed.append(f"{home}/{ref.name}-{ref.version}")
    return placed
