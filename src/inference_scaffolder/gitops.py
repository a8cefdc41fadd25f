"""How Argo CD deploys a generated service, and the checks that keep that wiring honest.

Every environment gets two files:

- ``environments/<env>/kustomization.yaml``: a Kustomize ``helmCharts`` entry that inflates
  the repository's own ``chart/`` folder (``helmGlobals.chartHome: ../..`` + ``name: chart``)
  with that folder's ``values.yaml``. ``kubectl kustomize --enable-helm environments/<env>``
  renders offline exactly what Argo CD applies.
- ``argocd/<env>.yaml``: the Argo CD ``Application`` whose single source is that folder
  (``path: environments/<env>``), synced automatically into the environment's cluster,
  addressed by name (``destination.name: <env>``).

Argo CD renders Kustomize with Helm only when ``kustomize.buildOptions: --enable-helm`` is set
in ``argocd-cm``; docs/lifecycle.md says so. The chart is local, so ``helmCharts[].version`` is
a statement (kustomize does not read it for a local chart); the checks below make it agree
with ``chart/Chart.yaml`` so it cannot drift into a lie.
"""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.answers import Answers, repo_slug
from inference_scaffolder.go_yaml import safe_dump
from inference_scaffolder.tools import find_helm, find_tool, run_helm, short_go_run_env
from inference_scaffolder.validate import (
    KustomizeMode,
    ObjectResult,
    SchemaCatalog,
    default_crd_schema_dir,
    namespace_of,
    parse_rendered,
    release_name,
    validate_manifests,
)

KUSTOMIZE_API_VERSION = "kustomize.config.k8s.io/v1beta1"
APPLICATION_API_VERSION = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = "argocd"
ARGOCD_DIR = "argocd"
CHART_DIR = "chart"
KUBECTL_ENV = "INFERENCE_SCAFFOLDER_KUBECTL"


def kustomization_path(repo: Path, environment: str) -> Path:
    return repo / "environments" / environment / "kustomization.yaml"


def application_path(repo: Path, environment: str) -> Path:
    return repo / ARGOCD_DIR / f"{environment}.yaml"


# --- the files -------------------------------------------------------------------------------


def repo_chart_version(repo: Path) -> str:
    """The version in the repository's own ``chart/Chart.yaml`` (not the template's)."""
    return str(yamlio.load_file_shared(repo / CHART_DIR / "Chart.yaml")["version"])


def kustomization(answers: Answers, chart_version: str) -> dict[str, Any]:
    """One environment's Kustomization: the in-repo chart with its folder's values.yaml."""
    return {
        "apiVersion": KUSTOMIZE_API_VERSION,
        "kind": "Kustomization",
        "helmGlobals": {"chartHome": "../.."},
        "helmCharts": [
            {
                "name": CHART_DIR,
                "version": chart_version,
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


def kustomization_text(answers: Answers, environment: str, chart_version: str) -> str:
    header = (
        f"{environment}: what Argo CD deploys for {answers['service_name']} "
        f"({ARGOCD_DIR}/{environment}.yaml points here).\n"
        f"Render it offline: kubectl kustomize --enable-helm environments/{environment}\n"
        "The chart is this repository's chart/ folder (chartHome + name); `version` must equal\n"
        "chart/Chart.yaml (`inference-scaffolder validate` checks it). Kustomize patches added\n"
        "here apply to this environment only (validate then schema-checks the patched build)."
    )
    return _dump(kustomization(answers, chart_version), header)


def application_text(answers: Answers, environment: str) -> str:
    header = (
        f"Argo CD Application for {answers['service_name']} in {environment}: syncs\n"
        f"environments/{environment} (Kustomize + Helm; argocd-cm needs\n"
        "`kustomize.buildOptions: --enable-helm`) into the cluster Argo CD knows as\n"
        f"`{environment}`. Apply it to the Argo CD namespace, or let an app-of-apps pick up\n"
        f"the {ARGOCD_DIR}/ folder."
    )
    return _dump(application(answers, environment), header)


def write_gitops_files(project_dir: Path, answers: Answers) -> None:
    """Write every environment's Kustomization and Argo CD Application."""
    version = repo_chart_version(project_dir)
    for environment in answers["environments"]:
        target = kustomization_path(project_dir, environment)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(kustomization_text(answers, environment, version), encoding="utf-8")
        app = application_path(project_dir, environment)
        app.parent.mkdir(parents=True, exist_ok=True)
        app.write_text(application_text(answers, environment), encoding="utf-8")


# --- kubectl kustomize -----------------------------------------------------------------------


@cache
def find_kubectl() -> str | None:
    """kubectl (which embeds kustomize): $INFERENCE_SCAFFOLDER_KUBECTL, PATH, project tools."""
    return find_tool("kubectl", KUBECTL_ENV)


@cache
def _helm_major_version() -> str:
    out = run_helm(["version", "--short"])
    return out.stdout.strip().lstrip("v").split(".")[0] if out.ok else ""


def _helm_command_for_kustomize(workdir: Path) -> str:
    """The helm kustomize should run. Kustomize 5.7 probes ``helm version -c`` and accepts
    only Helm 3; with Helm 4 (same ``template`` behaviour) a tiny shim answers the probe
    and hands every other call to the real helm."""
    helm = find_helm()
    if _helm_major_version() == "3":
        return helm
    shim = workdir / "helm"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo v3.99.0+helm4; exit 0; fi\n'
        f'exec {shlex.quote(helm)} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return str(shim)


@dataclass(frozen=True)
class KustomizeBuild:
    ok: bool
    stdout: str
    error: str


def kustomize_build(kubectl: str, directory: Path) -> KustomizeBuild:
    """``kubectl kustomize --enable-helm DIR``, offline, with a throw-away helm home."""
    with tempfile.TemporaryDirectory(prefix="kustomize-") as tmp:
        helm = _helm_command_for_kustomize(Path(tmp))
        env = {**short_go_run_env(), "HELM_CACHE_HOME": tmp, "HELM_CONFIG_HOME": tmp,
               "HELM_DATA_HOME": tmp}
        try:
            done = subprocess.run(
                [kubectl, "kustomize", "--enable-helm", "--helm-command", helm, str(directory)],
                capture_output=True, text=True, timeout=120, env=env, check=False,
            )
        except subprocess.TimeoutExpired:
            return KustomizeBuild(False, "", "timed out after 120 s")
    error = " ".join(done.stderr.split())[-400:] if done.returncode else ""
    return KustomizeBuild(done.returncode == 0, done.stdout, error)


def _canonical_objects(stdout: str) -> list[str]:
    return sorted(json.dumps(doc, sort_keys=True) for doc, _ in parse_rendered(stdout))


def _object_names(canonical: list[str]) -> set[str]:
    names = set()
    for text in canonical:
        doc = json.loads(text)
        names.add(f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}")
    return names


# --- checks ----------------------------------------------------------------------------------


def _load_yaml(path: Path, errors: list[str]) -> dict[str, Any]:
    """The file's mapping (shared with other readers: do not modify), or why there is none."""
    if not path.is_file():
        errors.append(f"missing {path.name}")
        return {}
    try:
        data = yamlio.load_file_shared(path)
    except yaml.YAMLError as exc:
        errors.append(f"not valid YAML: {' '.join(str(exc).split())}")
        return {}
    if not isinstance(data, dict):
        errors.append("not a YAML mapping")
        return {}
    return data


def _check_helm_chart_entry(
    repo: Path, environment: str, data: dict[str, Any], errors: list[str]
) -> dict[str, Any]:
    """The single helmCharts entry must inflate this repo's chart with this env's values."""
    charts = data.get("helmCharts")
    if not isinstance(charts, list) or len(charts) != 1 or not isinstance(charts[0], dict):
        errors.append("helmCharts must hold exactly one chart (the repository's chart/)")
        return {}
    entry = charts[0]
    env_dir = repo / "environments" / environment
    home = (data.get("helmGlobals") or {}).get("chartHome", "charts")
    chart_dir = (env_dir / str(home) / str(entry.get("name", ""))).resolve()
    if chart_dir != (repo / CHART_DIR).resolve():
        errors.append(f"helmCharts[0] must point at {CHART_DIR}/ (chartHome ../.., name chart)")
    if entry.get("repo"):
        errors.append("helmCharts[0].repo must be empty: the chart is the repository's chart/")
    expected = {
        "version": repo_chart_version(repo),
        "releaseName": release_name(repo),
        "namespace": namespace_of(repo, environment),
        "valuesFile": "values.yaml",
    }
    for key, want in expected.items():
        if str(entry.get(key, "")) != want:
            errors.append(f"helmCharts[0].{key} is {entry.get(key)!r}, expected {want!r}")
    return entry


def _without_test_hooks(stdout: str) -> str:
    """Rendered objects minus `helm test` hooks, as `helmCharts.skipTests` renders them."""
    kept = [doc for doc, _ in parse_rendered(stdout)
            if ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook")
            != "test"]
    # YAML, not json.dumps: JSON writes characters beyond U+FFFF as surrogate-pair escapes,
    # which the YAML parser reading this back refuses (an emoji in a value crashed validate).
    return "\n---\n".join(yaml.safe_dump(doc) for doc in kept)


def _compare_with_helm(repo: Path, environment: str, entry: dict[str, Any], built: str,
                       errors: list[str], helm_output: str | None = None) -> None:
    """Kustomize must render exactly the objects ``helm template`` renders for the env.

    ``helm_output`` is the environment's render that ``validate`` already made; without it
    (promote's own check) helm runs here.
    """
    if helm_output is None:
        args = ["template", str(entry.get("releaseName")), str(repo / CHART_DIR),
                "--namespace", str(entry.get("namespace")),
                "-f", str(repo / "environments" / environment / "values.yaml")]
        helm = run_helm(args)
        if not helm.ok:
            errors.append(f"helm template failed: {' '.join(helm.stderr.split())[-300:]}")
            return
        helm_output = helm.stdout
    if entry.get("skipTests"):
        helm_output = _without_test_hooks(helm_output)
    from_kustomize = _canonical_objects(built)
    from_helm = _canonical_objects(helm_output)
    if from_kustomize != from_helm:
        only_k = sorted(_object_names(from_kustomize) - _object_names(from_helm))
        only_h = sorted(_object_names(from_helm) - _object_names(from_kustomize))
        detail = (f"only in kustomize: {only_k or '-'}; only in helm: {only_h or '-'}"
                  if only_k or only_h else "same objects, different content")
        errors.append(f"kustomize build differs from helm template ({detail})")


_GENERATED_KEYS = {"apiVersion", "kind", "helmGlobals", "helmCharts"}
_GENERATED_CHART_KEYS = {"name", "version", "releaseName", "namespace", "valuesFile", "skipTests"}


def _is_generated_form(data: dict[str, Any]) -> bool:
    """Only what ``kustomization()`` writes: no patches, resources or extra chart options,
    so the build is ``helm template`` of the chart with these values and nothing else."""
    charts = data.get("helmCharts")
    return (set(data) <= _GENERATED_KEYS
            and data.get("helmGlobals") == {"chartHome": "../.."}
            and isinstance(charts, list) and len(charts) == 1 and isinstance(charts[0], dict)
            and set(charts[0]) <= _GENERATED_CHART_KEYS
            and isinstance(charts[0].get("skipTests", False), bool))


def is_generated_kustomization(repo: Path, environment: str) -> bool:
    """Whether the environment's Kustomization is still in the generated form."""
    try:
        data = yamlio.load_file_shared(kustomization_path(repo, environment))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and _is_generated_form(data)


def check_kustomization(
    repo: Path, environment: str, catalog: SchemaCatalog, *, build: KustomizeMode = "always",
    helm_output: str | None = None, started: Future[KustomizeBuild] | None = None,
) -> ObjectResult:
    """Structure of the environment's Kustomization, then a real ``kubectl kustomize``.

    As generated, the build must equal ``helm template`` for the environment (what the README
    promises). Once the team adds its own patches or resources, the build may differ; then
    every object it produces is schema-checked instead. ``build="auto"`` skips the build of
    a Kustomization in the generated form: with the structure checked above, it is that
    ``helm template`` by construction (validate still builds one such per run for real).
    ``started`` is the build when validate already started it, beside the helm renders.
    """
    path = kustomization_path(repo, environment)
    result = ObjectResult(KUSTOMIZE_API_VERSION, "Kustomization", environment,
                          str(path.relative_to(repo)))
    data = _load_yaml(path, result.errors)
    if not data:
        return result
    if data.get("apiVersion") != KUSTOMIZE_API_VERSION or data.get("kind") != "Kustomization":
        result.errors.append(f"must be apiVersion {KUSTOMIZE_API_VERSION}, kind Kustomization")
    entry = _check_helm_chart_entry(repo, environment, data, result.errors)
    if build == "never" or (build == "auto" and _is_generated_form(data)):
        return result
    kubectl = find_kubectl()
    if result.errors or kubectl is None:
        return result
    built = started.result() if started is not None else kustomize_build(kubectl, path.parent)
    if not built.ok:
        result.errors.append(f"kubectl kustomize --enable-helm failed: {built.error}")
    elif set(data) <= _GENERATED_KEYS:
        _compare_with_helm(repo, environment, entry, built.stdout, result.errors, helm_output)
    else:
        result.errors += [f"{o.kind}/{o.name}: {e}" for o in
                          validate_manifests(parse_rendered(built.stdout), catalog)
                          for e in o.errors]
    return result


def check_application(repo: Path, environment: str, catalog: SchemaCatalog) -> ObjectResult:
    """The Argo CD Application: its CRD schema, and that it deploys this environment."""
    path = application_path(repo, environment)
    result = ObjectResult(APPLICATION_API_VERSION, "Application", environment,
                          str(path.relative_to(repo)))
    data = _load_yaml(path, result.errors)
    if not data:
        return result
    result.name = str((data.get("metadata") or {}).get("name", environment))
    validator = catalog.validator_for(str(data.get("apiVersion", "")), str(data.get("kind", "")))
    if validator is None:
        result.errors.append(f"no schema for {data.get('apiVersion')} {data.get('kind')} "
                             "(pass --crd-schemas with the argoproj.io CRD schemas)")
    else:
        result.errors += [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: str(list(e.path)))
        ]
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else [
        s for s in spec.get("sources") or [] if isinstance(s, dict)
    ]
    wanted_path = f"environments/{environment}"
    if not any(str(s.get("path", "")).strip("/") == wanted_path for s in sources):
        result.errors.append(f"no source with path {wanted_path}")
    namespace = namespace_of(repo, environment)
    destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    if destination.get("namespace") != namespace:
        result.errors.append(
            f"spec.destination.namespace is {destination.get('namespace')!r}, expected "
            f"{namespace!r}"
        )
    return result


def gitops_objects(
    repo: Path, environment: str, catalog: SchemaCatalog, *, build: KustomizeMode = "always",
    helm_output: str | None = None, started: Future[KustomizeBuild] | None = None,
) -> list[ObjectResult]:
    """The GitOps files' results, appended to an environment's objects by ``validate``."""
    return [check_kustomization(repo, environment, catalog, build=build,
                               helm_output=helm_output, started=started),
            check_application(repo, environment, catalog)]


@dataclass
class GitopsReport:
    """The GitOps checks on their own (``promote`` runs them when validate_repo does not)."""

    kustomize: str  # "ran" or why it did not
    objects: dict[str, list[ObjectResult]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.ok for objs in self.objects.values() for o in objs)

    def problems(self, environment: str) -> list[str]:
        return [f"{o.kind}/{o.name}: {e}" for o in self.objects.get(environment, [])
                for e in o.errors]


def validate_gitops(
    repo: Path, environments: list[str], *, kube_version: str = "1.33",
    crd_schemas: Path | None = None,
) -> GitopsReport:
    """Check the Kustomization and Application of each of ``environments``."""
    repo = repo.resolve()
    crd_dir = crd_schemas if crd_schemas is not None else default_crd_schema_dir()
    catalog = SchemaCatalog(kube_version, crd_dir)
    report = GitopsReport("ran" if find_kubectl() else "not run: kubectl not found")
    for environment in environments:
        report.objects[environment] = gitops_objects(repo, environment, catalog)
    return report
