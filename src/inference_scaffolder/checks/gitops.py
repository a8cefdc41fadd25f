"""Checks that keep the GitOps wiring honest: each environment's Kustomization and Argo CD
Application must deploy exactly what ``validate`` checked.

The files themselves are described in :mod:`inference_scaffolder.service.gitops_files`.
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.chart import CHART_NAME
from inference_scaffolder.checks.manifests import (
    ObjectResult,
    SchemaCatalog,
    crd_schema_dir,
    validate_manifests,
)
from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering.chart_inputs import chart_input_problems
from inference_scaffolder.rendering.charts import (
    check_chart_ref,
    populate_chart_home,
    resolve_chart,
)
from inference_scaffolder.rendering.helm import parse_rendered, render_chart
from inference_scaffolder.rendering.kustomize import KustomizeBuild, kustomize_build
from inference_scaffolder.safe_fs import ConfinedTree
from inference_scaffolder.service.gitops_files import (
    APPLICATION_API_VERSION,
    GENERATED_CHART_KEYS,
    GENERATED_KEYS,
    KUSTOMIZE_API_VERSION,
    KUSTOMIZE_CHART_HOME,
)
from inference_scaffolder.service.kustomization_refs import check_kustomization_refs
from inference_scaffolder.service.layout import (
    ENVIRONMENTS_DIR,
    application_path,
    chart_ref,
    kustomization_path,
    namespace_of,
    ref_of_entry,
    release_name,
    values_file,
)
from inference_scaffolder.tools import find_kubectl

# "always": a real `kubectl kustomize` per environment; "auto": per environment whose
# Kustomization the team changed, and once per run for the generated form; "never": structure
# checks only.
KustomizeMode = Literal["always", "auto", "never"]
KUSTOMIZE_MODES: tuple[KustomizeMode, ...] = ("always", "auto", "never")


def _canonical_objects(stdout: str) -> list[str]:
    return sorted(json.dumps(doc, sort_keys=True) for doc, _ in parse_rendered(stdout))


def _object_names(canonical: list[str]) -> set[str]:
    names = set()
    for text in canonical:
        doc = json.loads(text)
        names.add(f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}")
    return names


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
    """The single helmCharts entry must inflate the platform's base chart, pinned by
    repository and exact version, with this environment's values."""
    charts = data.get("helmCharts")
    if not isinstance(charts, list) or len(charts) != 1 or not isinstance(charts[0], dict):
        errors.append(f"helmCharts must hold exactly one chart (the base chart {CHART_NAME})")
        return {}
    entry = charts[0]
    if data.get("helmGlobals"):
        errors.append("helmGlobals must be left out: the chart comes from its repository, "
                      "pinned by version")
    if entry.get("name") != CHART_NAME:
        errors.append(f"helmCharts[0].name is {entry.get('name')!r}, expected {CHART_NAME!r}")
    try:
        check_chart_ref(ref_of_entry(entry), "helmCharts[0]")
    except UserError as exc:
        errors.append(f"helmCharts[0]: {exc.rule}")
    expected = {
        "releaseName": release_name(repo, environment),
        "namespace": namespace_of(repo, environment),
        "valuesFile": "values.yaml",
    }
    for key, want in expected.items():
        if str(entry.get(key, "")) != want:
            errors.append(f"helmCharts[0].{key} is {entry.get(key)!r}, expected {want!r}")
    return entry


def build_leaf(kubectl: str, repo: Path, environment: str) -> KustomizeBuild:
    """``kubectl kustomize --enable-helm`` of the environment's folder, offline.

    The folder is copied (regular files only, no link followed) into a scratch directory
    whose chart home already holds the pinned base chart, so kustomize pulls nothing and
    writes nothing into the repository. An environment's own resources and patches live in
    its folder (docs/lifecycle.md), so the copy is everything the build reads. The copy is
    checked before kustomize sees it (:func:`check_build_inputs`).
    """
    folder = f"{ENVIRONMENTS_DIR}/{environment}"
    with tempfile.TemporaryDirectory(prefix="leaf-build-") as tmp:
        target = Path(tmp) / folder
        try:
            ref = chart_ref(repo, environment)
            files = ConfinedTree(repo).files(folder)
            for relative, data in files.items():
                if relative.split("/")[0] == KUSTOMIZE_CHART_HOME:
                    continue  # charts a local build pulled: the pinned one is put there below
                path = target / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            check_build_inputs(Path(tmp), folder, ref.repository)
            populate_chart_home(target / KUSTOMIZE_CHART_HOME, ref)
        except UserError as exc:
            return KustomizeBuild(False, "", f"{exc.field}: {exc.rule}")
        return kustomize_build(kubectl, target)


def check_build_inputs(root: Path, folder: str, pinned_repository: str) -> None:
    """What kustomize will read of ``root/folder`` (the build's copy, exactly what it
    reads): every Kustomization names files of the copy only, inflates charts from the
    pinned repository only, and no chart in the copy (a nested chart home) has a
    values.schema.json that refers outside itself or YAML beyond the bounds."""
    check_kustomization_refs(root, folder, pinned_repository=pinned_repository)
    for relative, problem in chart_input_problems(root / folder):
        raise UserError(f"{folder}/{relative}", problem)


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
    (promote's own check) helm runs here, with helm's default Kubernetes version as
    kustomize's own helm call has.
    """
    if helm_output is None:
        try:
            chart = resolve_chart(chart_ref(repo, environment))
        except UserError as exc:
            errors.append(f"{exc.field}: {exc.rule}")
            return
        helm = render_chart(chart, values_file(repo, environment),
                            str(entry.get("releaseName")), str(entry.get("namespace")), None)
        if not helm.ok:
            errors.append(f"helm template failed: {helm.error[-300:]}")
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


def _is_generated_form(data: dict[str, Any]) -> bool:
    """Only what ``kustomization()`` writes: no patches, resources or extra chart options,
    so the build is ``helm template`` of the chart with these values and nothing else."""
    charts = data.get("helmCharts")
    return (set(data) <= GENERATED_KEYS
            and isinstance(charts, list) and len(charts) == 1 and isinstance(charts[0], dict)
            and set(charts[0]) <= GENERATED_CHART_KEYS
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
    built = started.result() if started is not None else build_leaf(kubectl, repo, environment)
    if not built.ok:
        result.errors.append(f"kubectl kustomize --enable-helm failed: {built.error}")
    elif set(data) <= GENERATED_KEYS:
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
    result.errors += validate_manifests([(data, result.source)], catalog)[0].errors
    spec: dict[str, Any] = data["spec"] if isinstance(data.get("spec"), dict) else {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else [
        s for s in spec.get("sources") or [] if isinstance(s, dict)
    ]
    wanted_path = f"environments/{environment}"
    if not any(str(s.get("path", "")).strip("/") == wanted_path for s in sources):
        result.errors.append(f"no source with path {wanted_path}")
    namespace = namespace_of(repo, environment)
    destination: dict[str, Any] = (spec["destination"] if isinstance(spec.get("destination"), dict)
                                   else {})
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
    crd_dir = crd_schema_dir(crd_schemas)
    catalog = SchemaCatalog(kube_version, crd_dir)
    report = GitopsReport("ran" if find_kubectl() else "not run: kubectl not found")
    for environment in environments:
        report.objects[environment] = gitops_objects(repo, environment, catalog)
    return report
