"""``validate``: every environment of one or many service repositories, offline, with the
real tools and schemas.

For every environment: ``helm lint`` and ``helm template`` with that environment's values,
every rendered object against its schema (:mod:`.manifests`), the routing chains
(:mod:`.routing`), the GitOps wiring (:mod:`.gitops`) and, when the answers name a GPU, the
capacity (:mod:`.capacity`). One pool of workers and one schema catalog serve a whole fleet.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference_scaffolder import yamlio
from inference_scaffolder.checks.apiserver import parse_quantity
from inference_scaffolder.checks.capacity import (
    check_service_capacity,
    estimated_weights_bytes,
    gib,
)
from inference_scaffolder.checks.gitops import (
    KUSTOMIZE_MODES,
    KustomizeMode,
    build_leaf,
    gitops_objects,
    is_generated_kustomization,
)
from inference_scaffolder.checks.manifests import (
    ObjectResult,
    SchemaCatalog,
    crd_schema_dir,
    describe_schema_sources,
    validate_manifests,
)
from inference_scaffolder.checks.routing import routing_results
from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering.charts import resolve_chart
from inference_scaffolder.rendering.helm import (
    DEFAULT_KUBE_VERSION,
    EnvironmentRender,
    chart_is_batchable,
    lint_chart,
    lint_charts,
    parse_rendered,
    render_batch,
    render_chart,
)
from inference_scaffolder.service.intake import check_service_repository
from inference_scaffolder.service.layout import (
    ANSWERS_RECORD,
    MODEL_CONFIG_COPY,
    chart_ref,
    has_legacy_chart,
    list_environments,
    namespace_of,
    recorded_path,
    release_name,
    values_file,
)
from inference_scaffolder.service.routing import pool_expectations
from inference_scaffolder.tools import find_kubectl

__all__ = ["DEFAULT_KUBE_VERSION", "KustomizeMode", "ValidationReport", "validate_repo",
           "validate_repos"]

# The most environments one `helm lint` process takes.
LINT_BATCH_LIMIT = 64

# How far a run is: (step, done, total), called from worker threads too (the CLI shows it).
ProgressCallback = Callable[[str, int, int], None]
CHECKING_STEP = "rendering, linting and checking environments"


def _no_progress(step: str, done: int, total: int) -> None:
    """The progress callback of a caller that shows none."""


@dataclass
class EnvironmentResult:
    environment: str
    lint_ok: bool = False
    lint_output: str = ""
    render_error: str = ""
    objects: list[ObjectResult] = field(default_factory=list)
    # Checks that could not run, and why (shown, never counted as passed or failed).
    notes: list[str] = field(default_factory=list)
    # What the environment expects the platform to run (the inference-gateway release's
    # endpoint picker and internal Gateway for an InferencePool): facts, not problems.
    expects: list[str] = field(default_factory=list)
    # What helm rendered, kept for checks across repositories (not part of the report).
    rendered: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.lint_ok and not self.render_error and all(o.ok for o in self.objects)

    def problems(self) -> list[str]:
        out = []
        if not self.lint_ok:
            out.append(f"helm lint failed: {_last_error_line(self.lint_output)}")
        if self.render_error:
            out.append(f"helm template failed: {self.render_error}")
        for obj in self.objects:
            out += [f"{obj.kind}/{obj.name}: {e}" for e in obj.errors]
        return out


@dataclass
class ValidationReport:
    repo: str
    kube_version: str
    crd_schemas: str  # where custom resource schemas came from: "bundled", or "DIR (then bundled)"
    environments: list[EnvironmentResult]

    @property
    def ok(self) -> bool:
        return bool(self.environments) and all(e.ok for e in self.environments)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "repo": self.repo,
            "kube_version": self.kube_version,
            "crd_schemas": self.crd_schemas,
            "environments": [
                {
                    "environment": e.environment,
                    "ok": e.ok,
                    "lint_ok": e.lint_ok,
                    "render_error": e.render_error or None,
                    "problems": e.problems(),
                    "notes": e.notes,
                    "expects": e.expects,
                    "objects": [{**asdict(o), "ok": o.ok} for o in e.objects],
                }
                for e in self.environments
            ],
        }


def _last_error_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if "ERROR" in ln or "Error" in ln]
    return lines[-1] if lines else " ".join(output.split())[-300:]


def lint_environment(repo: Path, environment: str, chart: Path, kube: str) -> tuple[bool, str]:
    """``helm lint`` of the environment's base chart with its values."""
    return lint_chart(chart, values_file(repo, environment), kube)


def render_environment(repo: Path, environment: str, chart: Path, release: str,
                       kube: str) -> EnvironmentRender:
    """``helm template`` of one environment on its own (when it cannot be batched)."""
    return render_chart(chart, values_file(repo, environment), release,
                        namespace_of(repo, environment), kube)


def check_environment(
    repo: Path, environment: str, chart: Path, catalog: SchemaCatalog, release: str,
    *, kustomize: KustomizeMode = "always", started: Future[Any] | None = None,
) -> EnvironmentResult:
    """Render and check one environment (the unbatched path)."""
    rendered = render_environment(repo, environment, chart, release,
                                  f"{catalog.kube_version}.0")
    return check_rendered(repo, environment, catalog, rendered, kustomize=kustomize,
                          started=started)


def check_rendered(
    repo: Path, environment: str, catalog: SchemaCatalog, rendered: EnvironmentRender,
    *, kustomize: KustomizeMode = "always", started: Future[Any] | None = None,
) -> EnvironmentResult:
    """Schema-check one environment's render, then its routing and GitOps wiring.

    ``started``: the environment's ``kubectl kustomize`` build, when validate started it
    beside the helm renders."""
    result = EnvironmentResult(environment)
    if not rendered.ok:
        result.render_error = rendered.error
        return result
    docs = parse_rendered(rendered.stdout)
    result.rendered = [doc for doc, _ in docs]
    result.objects = validate_manifests(docs, catalog) + routing_results(docs)
    result.objects += gitops_objects(repo, environment, catalog, build=kustomize,
                                     helm_output=rendered.stdout, started=started)
    result.objects += capacity_results(repo, environment, result.rendered, result.notes)
    result.notes += [note for obj in result.objects for note in obj.notes]
    result.expects = [e.describe() for e in pool_expectations(result.rendered)]
    return result


def capacity_results(
    repo: Path, environment: str, rendered: list[dict[str, Any]], notes: list[str]
) -> list[ObjectResult]:
    """The capacity check for an environment, when the recorded answers name a GPU type and
    the model's config.json, and the environment still serves that model. When it cannot
    run, ``notes`` says why (a skipped check is not a passed one)."""
    record_file = repo / ANSWERS_RECORD
    if not record_file.is_file():
        return []
    answers = (yamlio.load_file_shared(record_file) or {}).get("answers", {})
    if not answers.get("gpu_type"):
        return []  # no GPU type named: the team did not ask for the check
    if not answers.get("model_config"):
        notes.append("capacity check skipped: the answers name gpu_type but no model_config")
        return []
    config_path = recorded_path(repo, str(answers["model_config"]))
    if config_path is None:
        notes.append(f"capacity check skipped: model_config {answers['model_config']!r} is "
                     "outside the repository or in .git (run new again, or copy the config.json to "
                     f"{MODEL_CONFIG_COPY} and record that path)")
        return []
    if not config_path.is_file():
        notes.append(f"capacity check skipped: the model config {config_path} is missing")
        return []
    deployment = next((d for d in rendered if d.get("kind") == "Deployment"), None)
    env_values = yamlio.load_file_shared(values_file(repo, environment)) or {}
    model = env_values.get("model") or {}
    if deployment is None or model.get("id") != answers.get("model_id"):
        notes.append(f"capacity check skipped: {environment} serves {model.get('id')!r}, not "
                     f"{answers.get('model_id')!r} whose config.json the repository keeps")
        return []
    limits = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    result = ObjectResult("inference-scaffolder/v1", "CapacityCheck", environment,
                          str(config_path))
    try:
        check_service_capacity(
            model_config_path=str(config_path), gpu_type=answers["gpu_type"],
            gpu_count=int(limits["nvidia.com/gpu"]),
            max_total_tokens=int(model.get("maxTotalTokens", answers["max_total_tokens"])),
            engine=str(answers["engine"]),
            quantization=str(model.get("quantization") or answers.get("quantization") or ""),
        )
    except UserError as exc:
        result.errors.append(exc.rule)
    quantization = str(model.get("quantization") or answers.get("quantization") or "")
    result.errors.extend(_cache_problems(rendered, deployment, str(config_path), quantization))
    return [result]


def _cache_problems(rendered: list[dict[str, Any]], deployment: dict[str, Any],
                    config_path: str, quantization: str) -> list[str]:
    """The model cache as rendered (the emptyDir's size limit, or the claim the chart
    renders) must hold the weights: a smaller one fills up mid-download, and the kubelet
    evicts the pod (emptyDir) or the download fails (claim). A claim made elsewhere
    (``existingClaim``) is not seen here."""
    size = _model_cache_size(rendered, deployment)
    if size is None:
        return []
    try:
        weights = estimated_weights_bytes(config_path, quantization)
    except UserError:
        return []  # the capacity check above reports why the config cannot be read
    parsed = parse_quantity(size)
    if parsed is None or parsed >= weights:
        return []
    return [f"the model cache ({size}) is smaller than the model's weights "
            f"({gib(weights)} GiB estimated from its config.json): the download would not fit"]


def _model_cache_size(rendered: list[dict[str, Any]], deployment: dict[str, Any]) -> str | None:
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    cache_volume = next((v for v in volumes if v.get("name") == MODEL_CACHE_VOLUME), None)
    if cache_volume is None:
        return None
    if "emptyDir" in cache_volume:
        return (cache_volume["emptyDir"] or {}).get("sizeLimit")
    claim = (cache_volume.get("persistentVolumeClaim") or {}).get("claimName")
    pvc = next((o for o in rendered if o.get("kind") == "PersistentVolumeClaim"
                and o.get("metadata", {}).get("name") == claim), None)
    return pvc["spec"]["resources"]["requests"].get("storage") if pvc else None


def _checked_repo(repo: Path) -> Path:
    if not repo.exists():
        raise UserError("DIR", f"{repo} does not exist")
    if not repo.is_dir():
        raise UserError("DIR", f"{repo} is not a directory")
    repo = repo.resolve()
    check_service_repository(repo, shown_root=str(repo))  # links out, FIFOs, broken YAML
    if has_legacy_chart(repo):
        raise UserError("DIR", f"{repo} carries its own chart/ (a repository from before the "
                        "leaf layout): run `inference-scaffolder update` on it to move it to "
                        "the platform's base chart (docs/lifecycle.md)")
    return repo


# The Deployment's volume that holds the Hugging Face cache (the chart's name for it).
MODEL_CACHE_VOLUME = "model-cache"


# (repository, environment, release name, the base chart the environment pins)
Job = tuple[Path, str, str, Path]


def _kustomize_modes(jobs: list[Job], mode: KustomizeMode) -> dict[tuple[Path, str], KustomizeMode]:
    """What the Kustomize check does per environment.

    In "auto" mode an environment whose Kustomization is exactly the generated one renders
    by construction what its ``helm template`` renders, which is checked anyway; one such
    environment per run still gets the real build, proving the generated form works with
    this kubectl and helm. Environments the team changed always get the real build.
    """
    if mode != "auto":
        return {(repo, env): mode for repo, env, _, _ in jobs}
    modes: dict[tuple[Path, str], KustomizeMode] = {}
    proven = False
    for repo, env, _, _ in jobs:
        generated = is_generated_kustomization(repo, env)
        modes[(repo, env)] = "auto" if generated and proven else "always"
        proven = proven or generated
    return modes


class _EnvironmentsDone:
    """Counts the environments whose check and lint have both finished, for the progress
    callback (futures finish on worker threads)."""

    PARTS = 2  # the check and the lint

    def __init__(self, total: int, progress: ProgressCallback) -> None:
        self.total, self.progress = total, progress
        self.parts: Counter[tuple[Path, str]] = Counter()
        self.done = 0
        self.lock = threading.Lock()

    def watch(self, future: Future, keys: list[tuple[Path, str]]) -> None:
        """Count ``keys`` one part further when ``future`` finishes."""
        future.add_done_callback(lambda _: self._finished(keys))

    def _finished(self, keys: list[tuple[Path, str]]) -> None:
        with self.lock:
            for key in keys:
                self.parts[key] += 1
                self.done += self.parts[key] == self.PARTS
            done = self.done
        self.progress(CHECKING_STEP, done, self.total)


class _FleetRun:
    """One validation run: renders, lints and checks on a shared pool of workers.

    Environments of a repository are rendered by one batched helm call where possible (see
    helm_batch); their lints are collected across repositories into few helm processes.
    Everything else runs environment by environment, as before batching existed.
    """

    def __init__(self, pool: ThreadPoolExecutor, catalog: SchemaCatalog,
                 modes: dict[tuple[Path, str], KustomizeMode], workdir: Path,
                 lint_batch: int, done: _EnvironmentsDone) -> None:
        self.pool, self.catalog, self.modes, self.workdir = pool, catalog, modes, workdir
        self.done = done
        self.kube = f"{catalog.kube_version}.0"
        self.lint_batch = lint_batch
        self.checks: dict[tuple[Path, str], Future[EnvironmentResult]] = {}
        self.lints: dict[tuple[Path, str], Future[tuple[bool, str]]] = {}
        self.lint_chunks: list[tuple[list[tuple[Path, str]], Future]] = []
        self.pending_lint: list[tuple[tuple[Path, str], Path]] = []
        self.builds: dict[tuple[Path, str], Future] = {}
        self.shown: dict[Path, str] = {}  # a lint copy -> the chart as a user knows it

    def _start_kustomize_builds(self) -> None:
        """Start the real Kustomize builds first: they do not need the helm renders, and
        submitted before every check that waits for them, they cannot starve the pool."""
        kubectl = find_kubectl()
        if kubectl is None:
            return
        for (repo, env), mode in self.modes.items():
            if mode == "always":
                self.builds[(repo, env)] = self.pool.submit(build_leaf, kubectl, repo, env)

    def run(self, groups: list[Group]) -> None:
        self._start_kustomize_builds()
        renders: dict[Future, Group] = {}
        for group in groups:
            if len(group.environments) > 1:
                renders[self.pool.submit(self._render_group, group)] = group
            else:
                self._one_by_one(group)
        for future in as_completed(renders):
            group = renders[future]
            repo = group.repo
            outcome = future.result()
            if outcome is None:
                self._one_by_one(group)
                continue
            for env, rendered in outcome.items():
                self.checks[(repo, env)] = self.pool.submit(
                    check_rendered, repo, env, self.catalog, rendered,
                    kustomize=self.modes[(repo, env)], started=self.builds.get((repo, env)))
                self.done.watch(self.checks[(repo, env)], [(repo, env)])
                self.pending_lint.append(((repo, env), rendered.lint_chart))
                self.shown[rendered.lint_chart] = group.shown
                if len(self.pending_lint) >= self.lint_batch:
                    self._flush_lints()
        self._flush_lints()

    def _render_group(self, group: Group) -> dict[str, EnvironmentRender] | None:
        if not chart_is_batchable(group.chart):
            return None
        workdir = Path(tempfile.mkdtemp(dir=self.workdir))
        files = {env: values_file(group.repo, env) for env in group.environments}
        return render_batch(group.chart, files, group.release, group.namespace, self.kube,
                            workdir)

    def _one_by_one(self, group: Group) -> None:
        repo = group.repo
        for env in group.environments:
            self.lints[(repo, env)] = self.pool.submit(lint_environment, repo, env, group.chart,
                                                       self.kube)
            self.checks[(repo, env)] = self.pool.submit(
                check_environment, repo, env, group.chart, self.catalog, group.release,
                kustomize=self.modes[(repo, env)], started=self.builds.get((repo, env)))
            self.done.watch(self.lints[(repo, env)], [(repo, env)])
            self.done.watch(self.checks[(repo, env)], [(repo, env)])

    def _flush_lints(self) -> None:
        if not self.pending_lint:
            return
        keys = [key for key, _ in self.pending_lint]
        charts = [chart for _, chart in self.pending_lint]
        shown = {chart: self.shown[chart] for _, chart in self.pending_lint}
        chunk = self.pool.submit(lint_charts, charts, self.kube, shown, values_validated=True)
        self.lint_chunks.append((keys, chunk))
        self.done.watch(chunk, keys)
        self.pending_lint = []

    def results(self, jobs: list[Job]) -> list[EnvironmentResult]:
        lints = {key: future.result() for key, future in self.lints.items()}
        for keys, future in self.lint_chunks:
            by_chart = future.result()
            lints.update(zip(keys, by_chart.values(), strict=True))
        out = []
        for repo, env, _, _ in jobs:
            result = self.checks[(repo, env)].result()
            result.lint_ok, result.lint_output = lints[(repo, env)]
            out.append(result)
        return out


@dataclass
class Group:
    """Environments one umbrella render can take: same repository, release, namespace and
    base chart version."""

    repo: Path
    release: str
    namespace: str
    chart: Path
    shown: str  # the chart as a user knows it: name and version
    environments: list[str] = field(default_factory=list)


def _groups(jobs: list[Job]) -> list[Group]:
    grouped: dict[tuple[Path, str, str, Path], Group] = {}
    for repo, env, release, chart in jobs:
        namespace = namespace_of(repo, env)
        key = (repo, release, namespace, chart)
        if key not in grouped:
            ref = chart_ref(repo, env)
            grouped[key] = Group(repo, release, namespace, chart, f"{ref.name} {ref.version}")
        grouped[key].environments.append(env)
    return list(grouped.values())


def validate_repos(
    repos: list[Path],
    *,
    kube_version: str = DEFAULT_KUBE_VERSION,
    crd_schemas: Path | None = None,
    environments: list[str] | None = None,
    kustomize: KustomizeMode = "auto",
    progress: ProgressCallback | None = None,
) -> list[ValidationReport]:
    """Validate every environment of several repositories.

    One pool runs the helm processes for the whole fleet, and one schema catalog compiles
    each validator once. ``progress`` hears each step and how far it is.
    """
    progress = progress or _no_progress
    checked: list[Path] = []
    for repo in repos:
        checked.append(_checked_repo(repo))
        progress("reading the repositories", len(checked), len(repos))
    crd_dir = crd_schema_dir(crd_schemas)
    if kustomize not in KUSTOMIZE_MODES:
        raise UserError("--kustomize-build", f"must be one of {', '.join(KUSTOMIZE_MODES)}")
    catalog = SchemaCatalog(kube_version, crd_dir)
    planned: list[tuple[Path, str]] = []
    for repo in checked:
        names = environments if environments is not None else list_environments(repo)
        if not names:
            raise UserError("DIR", f"{repo} has no environments/<env>/values.yaml")
        planned.extend((repo, name) for name in names)
    jobs: list[Job] = []
    for repo, name in planned:
        # The pinned base chart: carried by this release, cached, or fetched; else one
        # line naming the repository and version.
        shown = f"environments/{name}/kustomization.yaml"
        jobs.append((repo, name, release_name(repo, name),
                     resolve_chart(chart_ref(repo, name), field=shown)))
        progress("finding the base chart each environment pins", len(jobs), len(planned))
    # Threads mostly wait for helm and kubectl; even one environment has three processes.
    workers = max(4, 2 * (os.cpu_count() or 1))
    # Enough lint processes to keep every core busy, each taking as many charts as it can.
    lint_batch = max(1, min(LINT_BATCH_LIMIT, math.ceil(len(jobs) / (os.cpu_count() or 1))))
    with (tempfile.TemporaryDirectory(prefix="inference-scaffolder-validate-") as tmp,
          ThreadPoolExecutor(max_workers=workers) as pool):
        done = _EnvironmentsDone(len(jobs), progress)
        progress(CHECKING_STEP, 0, len(jobs))
        run = _FleetRun(pool, catalog, _kustomize_modes(jobs, kustomize), Path(tmp), lint_batch,
                        done)
        run.run(_groups(jobs))
        results = run.results(jobs)
    reports = []
    for repo in checked:
        mine = [r for (owner, _, _, _), r in zip(jobs, results, strict=True) if owner == repo]
        reports.append(ValidationReport(str(repo), catalog.kube_version,
                                        describe_schema_sources(crd_dir), mine))
    return reports


def validate_repo(
    repo: Path,
    *,
    kube_version: str = DEFAULT_KUBE_VERSION,
    crd_schemas: Path | None = None,
    environments: list[str] | None = None,
    kustomize: KustomizeMode = "auto",
) -> ValidationReport:
    """Validate every environment of one generated repository."""
    return validate_repos([repo], kube_version=kube_version, crd_schemas=crd_schemas,
                          environments=environments, kustomize=kustomize)[0]
