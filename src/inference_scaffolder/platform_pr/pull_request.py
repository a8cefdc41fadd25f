"""``schema-pr``: propose the ML_INFERENCE_LOAD workload type to platform-schemas-types.

One run: clone the target's base branch into a temporary directory, apply the edits of
:mod:`edits` on it, run the checks the target's own CI would run (its ``npm test``: the ajv
values check of every chart and ``tsc --noEmit``; and ``helm lint``), and hand one commit on
top of the base branch to a publisher. Nothing reaches the remote, and no pull request is
opened or kept, unless every check passed in this run.

The pull-request branch is never built on: anyone who can push to the repository can push to
it. Every run rebuilds its one commit on the current base tip; when the remote branch is
exactly that (same parent, tree and message) the run reports ``unchanged``, else it pushes
over whatever the branch held (``updated``), compare-and-swap on the sha it observed, so
commits it did not write are dropped, never carried.

When the base branch already holds a different chart or interface for the workload type
(someone else's, with consumers), the run stops before anything is written with the report
of :mod:`differences` (status ``differs``), unless the caller chose ``update_existing``: then
the pull request proposes the replacement and carries that report in its body.

Concurrency: runs against the same repository and branch on one machine take a file lock in
a folder private to the user; across machines the push itself is compare-and-swap, and a run
that loses the race starts over, where it usually finds the winner's identical change.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.faults import fault_point
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.paths import base_chart_dir
from inference_scaffolder.platform_pr.chart_summary import chart_summary
from inference_scaffolder.platform_pr.differences import (
    Differences,
    compare_existing,
    removed_paths,
)
from inference_scaffolder.platform_pr.edits import (
    ML_INFERENCE_LOAD,
    ChangeSet,
    WorkloadType,
    apply_change_set,
    confined,
    plan_change_set,
)
from inference_scaffolder.platform_pr.node_tools import run_node_tool
from inference_scaffolder.platform_pr.typescript import TscResult, find_tsc, run_tsc
from inference_scaffolder.publish import (
    GitRemote,
    Publisher,
    PullRequestDraft,
    PushRejected,
    check_git,
    clone_branch,
    fetch_branch,
    remote_heads,
)
from inference_scaffolder.publish.proposal import (
    ProposalResult,
    branch_is_proposal,
    check_branch_name,
    commit_staged,
    pull_request_of_unchanged,
)
from inference_scaffolder.rendering.chart_inputs import refuse_unsafe_chart_inputs
from inference_scaffolder.safe_fs import ConfinedTree, NotPrivate, open_private_folder

DEFAULT_BRANCH = "inference-scaffolder/ml-inference-load"
DEFAULT_BASE = "main"
MAX_ATTEMPTS = 3
LOCK_TIMEOUT_SECONDS = 900.0

ChartWriter = Callable[[Path], None]
# Told each step as it begins (the CLI shows them on a terminal).
StepCallback = Callable[[str], None]


def _no_steps(step: str) -> None:
    """The step callback of a caller that shows none."""


@dataclass(frozen=True)
class SchemaPrOptions:
    """What to propose; where to (the repository) is the publisher's remote."""

    base: str = DEFAULT_BASE
    branch: str = DEFAULT_BRANCH
    dry_run: bool = False
    labels: tuple[str, ...] = ("inference-scaffolder",)
    draft: bool = False
    # Replace a different chart / interface the base branch already has (else: ``differs``).
    update_existing: bool = False


@dataclass(kw_only=True)
class SchemaPrResult(ProposalResult):
    """What ``schema-pr`` reports (``--json`` prints :meth:`as_json`); its status may also
    be ``differs``."""

    # What the base branch already has that differs from the proposal (None: nothing).
    differences: Differences | None = None

    def as_json(self) -> dict[str, object]:
        data = super().as_json()
        data["differences"] = self.differences.as_json() if self.differences else None
        return data


# --------------------------------------------------------------------------------------------
# Pull request text
# --------------------------------------------------------------------------------------------


# What this run checked, in the body only when it ran (and passed) in this very run.
_CHECKED = """\
### Checked before the push
- [x] the repository's `npm test` passes on this branch: every chart's `values.yaml` \
validates against its `values.schema.json` (ajv, draft 2020-12), then `tsc --noEmit`
- [x] `helm lint` passes for `{wt.chart_path}` with its own `values.yaml` alone and with each \
`ci/*-values.yaml`
"""
_NOT_CHECKED = """\
### Not checked by this run
The base branch already holds this change: nothing was pushed and no check ran.
"""


def pull_request_text(
    wt: WorkloadType = ML_INFERENCE_LOAD,
    differences: Differences | None = None,
    *,
    checked: bool = True,
    chart_dir: Path | None = None,
) -> tuple[str, str]:
    """Title and body: what the change adds, what this run checked (``checked``: every check
    ran and passed; else none ran and the body says so), what the chart holds (read from
    ``chart_dir``, the chart proposed; the carried base chart by default), what a reviewer
    confirms, and (``differences``) what it replaces on the base branch."""
    chart_dir = chart_dir if chart_dir is not None else base_chart_dir()
    title = f"feat: add the {wt.screaming} workload type"
    checks = _CHECKED.format(wt=wt) if checked else _NOT_CHECKED
    body = f"""\
Adds the `{wt.screaming}` workload type: a base chart that serves a Hugging Face model over \
HTTP (Text Generation Inference or vLLM) on an NVIDIA GPU node, its values schema, the \
TypeScript interface generated from that schema, and its catalog entry.

Opened by `inference-scaffolder schema-pr`. The branch is one commit on the base branch; \
re-running the command rebuilds it there, and replaces any commit pushed to it by others.

{checks}
{chart_summary(chart_dir, wt.chart_path)}
### Acceptance checklist
- [x] chart at `{wt.chart_path}/` with a semver version (CI bumps it after merge)
- [x] `{wt.interface}` in `{wt.module_path}`, generated from the values schema and using the \
shared types where the shapes are the same
- [x] `{wt.interface}` added to the `WorkloadSchema` union, the index exports and \
`PlatformBaseCharts`
- [x] JSON Schema for the values (`values.schema.json`, `workloadType` const `{wt.screaming}`)
- [x] Backstage entry `{wt.catalog_path}` following the other base charts
- [ ] the objects under *What the chart holds* render as expected (`helm template` with a \
`ci/*-values.yaml`)
- [ ] GPU scheduling by default: `runtimeClassName: nvidia`, node selector \
`nvidia.com/gpu.present: "true"`, `nvidia.com/gpu` limit taken from `gpu.count`
- [ ] the Hugging Face token comes from Vault through `container.secrets` \
(`HUGGING_FACE_HUB_TOKEN`, secretKey `hf-token`), never as a value
- [ ] `model.id` and `model.revision` have no defaults: a render without them fails (`helm \
lint` only warns, so the chart lints alone; see the chart's README)
- [ ] values keep the existing charts' camelCase layout; monitoring through `basicMonitoring`
"""
    if differences is not None:
        body += "\n" + differences.markdown()
    return title, body


# --------------------------------------------------------------------------------------------
# Checks the target repository's CI would run
# --------------------------------------------------------------------------------------------


def check_chart_values(tree: Path, wt: WorkloadType, warnings: list[str]) -> None:
    """The values check of the repository's ``npm test`` (tools/check-values.cjs: ajv draft
    2020-12, allErrors, strict off, over every chart). Our chart must pass; another chart that
    fails was failing already (the change does not touch it), so that is only a warning."""
    answer = run_node_tool("check-values.cjs", args=[str(tree), "--json"], answer_codes=(0, 1))
    for result in answer["charts"]:
        if result["status"] != "fail":
            continue
        errors = result["errors"]
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        shown = "; ".join(errors[:3]) + more
        if result["chart"] == wt.kebab:
            raise UserError(
                f"{wt.chart_path}/values.yaml",
                f"does not validate against values.schema.json: {shown}",
            )
        warnings.append(f"values check: charts/{result['chart']} already fails: {shown}")


def lint_values_files(chart_dir: Path) -> list[Path]:
    """The ``ci/*-values.yaml`` files chart-testing lints (and installs) a chart with."""
    ci = chart_dir / "ci"
    return sorted(ci.glob("*-values.yaml")) if ci.is_dir() else []


def helm_lint(chart_dir: Path, label: str) -> None:
    """``helm lint`` with the chart's own values alone (the repository's rule), then once per
    ``ci/*-values.yaml`` (what chart-testing runs)."""
    from inference_scaffolder.tools import run_helm

    for values in [None, *lint_values_files(chart_dir)]:
        args = ["lint", str(chart_dir)] + (["--values", str(values)] if values else [])
        result = run_helm(args)
        if not result.ok:
            detail = _lint_errors(result.stdout + "\n" + result.stderr)
            using = f" with ci/{values.name}" if values else " with its own values.yaml alone"
            raise UserError(
                "helm lint",
                f"{label}{using} failed: "
                + ("; ".join(detail[:5]) or result.stderr.strip()[-400:]),
            )


def _lint_errors(output: str) -> list[str]:
    """Each ``[ERROR]`` of helm lint with its indented continuation lines, one string each."""
    errors: list[str] = []
    collecting = False
    for line in output.splitlines():
        if "[ERROR]" in line:
            errors.append(line.strip())
            collecting = True
        elif collecting and line[:1].isspace() and line.strip():
            errors[-1] += " " + line.strip()
        else:
            collecting = False
    return errors


def type_check(tree: Path, baseline_tree: Callable[[], Path], warnings: list[str],
               scope: Mapping[str, Any] | None = None) -> None:
    """``tsc --noEmit`` on the edited tree. Errors the base tree already has (typically
    modules that need an ``npm ci`` this clone never ran) are reported as warnings; any error
    the edits introduce aborts the run with the compiler's own message."""
    tsc = find_tsc()
    edited = run_tsc(tree, tsc, scope=scope)
    if edited.ok:
        return
    before = run_tsc(baseline_tree(), tsc)
    new_errors = _new_diagnostics(edited, before)
    if new_errors or (not edited.diagnostics and edited.output):
        shown = [str(d) for d in new_errors[:5]] or [edited.output[-600:]]
        more = f" (and {len(new_errors) - 5} more)" if len(new_errors) > 5 else ""
        raise UserError("tsc", "type check failed: " + "; ".join(shown) + more)
    warnings.append(
        f"tsc: {len(edited.diagnostics)} error(s) already present before the change were ignored "
        f"(first: {edited.diagnostics[0]})"
    )


def _new_diagnostics(edited: TscResult, before: TscResult) -> list:
    remaining = Counter(d.identity() for d in before.diagnostics)
    new = []
    for diagnostic in edited.diagnostics:
        if remaining[diagnostic.identity()] > 0:
            remaining[diagnostic.identity()] -= 1
        else:
            new.append(diagnostic)
    return new


# --------------------------------------------------------------------------------------------
# Lock
# --------------------------------------------------------------------------------------------


LOCK_FOLDER_NAME = "inference-scaffolder"


def _lock_folder_candidates() -> list[Path]:
    """Where this user's lock files may live: the runtime folder (private by design), else
    a per-user name in the temporary folder (shared: anyone may have planted that name)."""
    candidates: list[Path] = []
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        candidates.append(Path(runtime) / LOCK_FOLDER_NAME)
    candidates.append(Path(tempfile.gettempdir()) / f"{LOCK_FOLDER_NAME}-{os.geteuid()}")
    return candidates


def _private_lock_folder() -> tuple[int | None, str | None]:
    """The first candidate that is this user's private folder (a descriptor), else None
    and why not, for a warning."""
    refused: list[str] = []
    for path in _lock_folder_candidates():
        try:
            return open_private_folder(path), None
        except NotPrivate as exc:
            refused.append(f"{path} {exc}")
    return None, "; ".join(refused)


@contextmanager
def repo_lock(key: str, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[str | None]:
    """Serialise runs on this machine that target the same repository and branch.

    Yields None, or a warning when no private lock folder could be had: the run then goes
    on unserialised (the compare-and-swap push still decides between runs) rather than
    take its lock where another user could hold, replace or redirect it."""
    folder, refused = _private_lock_folder()
    if folder is None:
        yield (f"runs on this machine are not serialised: no private lock folder "
               f"({inert(refused or '', 600)})")
        return
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o600, dir_fd=folder)
    finally:
        os.close(folder)
    with os.fdopen(fd, "a+") as handle:
        _acquire(handle, timeout)
        try:
            yield None
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: IO[str], timeout: float) -> None:
    """Take the exclusive lock, polling (so a stuck run ends in a message, not a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise UserError(
                    "--repo",
                    "another schema-pr run on this repository and "
                    f"branch held the lock for {int(timeout)} s",
                ) from None
            time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def default_chart_writer() -> tuple[ChartWriter, tuple[str, ...]]:
    """The chart as the cookiecutter template ships it, and the values it requires at render."""
    from inference_scaffolder import chart

    return chart.write_base_chart, tuple(chart.RENDER_REQUIRED_VALUES)


def run_schema_pr(
    options: SchemaPrOptions,
    publisher: Publisher,
    *,
    chart_writer: ChartWriter | None = None,
    render_required: tuple[str, ...] | None = None,
    wt: WorkloadType = ML_INFERENCE_LOAD,
    on_step: StepCallback | None = None,
) -> SchemaPrResult:
    """Prepare, check and publish the change; see the module docstring. ``on_step`` is told
    each step as it begins."""
    step = on_step or _no_steps
    if chart_writer is None:
        chart_writer, default_required = default_chart_writer()
        render_required = default_required if render_required is None else render_required
    with tempfile.TemporaryDirectory(prefix="schema-pr-") as tmp_name:
        tmp = Path(tmp_name)
        check_branch_name(options.base, "--base", tmp)
        check_branch_name(options.branch, "--branch", tmp)
        if options.base == options.branch:
            raise UserError("--branch", "must differ from --base")
        chart_dir = tmp / "chart"
        chart_writer(chart_dir)
        if not options.dry_run:
            step("checking access to the repository")
            publisher.preflight()
        run = _Run(options, publisher, chart_dir, tuple(render_required or ()), wt, tmp, step)
        if options.dry_run:
            return run.attempt(0)
        step("waiting for other schema-pr runs on this branch")
        with repo_lock(f"{publisher.remote.display}\n{options.branch}") as unserialised:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    result = run.attempt(attempt)
                except PushRejected:
                    step(f"the branch moved on the remote: starting over "
                         f"(attempt {attempt + 2} of {MAX_ATTEMPTS})")
                    continue
                result.warnings.extend([unserialised] if unserialised else [])
                return result
        raise UserError(
            "--branch",
            f"{options.branch} kept moving on the remote during "
            f"{MAX_ATTEMPTS} attempts; nothing was pushed, try again",
        )


def _require_named_deletes(
    changes: ChangeSet, base_view: ConfinedTree, differences: Differences | None,
    wt: WorkloadType,
) -> None:
    """The change deletes no file of the base branch that the report does not name as
    removed."""
    named = removed_paths(differences, wt)
    unnamed = [p for p in changes.deletes if p not in named and base_view.exists(p)]
    if unnamed:
        raise RuntimeError(f"schema-pr would delete unreported files: {unnamed}")


@dataclass(frozen=True)
class _Prepared:
    """The change staged on top of the base branch, checked, not yet committed."""

    base_tip: str
    observed: str | None  # the remote branch's sha when the run looked (None: absent)
    files: list[str]
    tree: str  # the git tree the commit will have
    title: str
    body: str
    warnings: list[str]
    differences: Differences | None


@dataclass
class _Run:
    options: SchemaPrOptions
    publisher: Publisher
    chart_dir: Path
    render_required: tuple[str, ...]
    wt: WorkloadType
    tmp: Path
    step: StepCallback = _no_steps

    @property
    def remote(self) -> GitRemote:
        return self.publisher.remote

    def attempt(self, number: int) -> SchemaPrResult:
        """One try: the change rebuilt on the base branch, whatever the branch holds now."""
        workdir = self.tmp / f"attempt-{number}"
        workdir.mkdir()
        self.step("reading the remote's branches")
        heads = remote_heads(self.remote, workdir, self.options.base, self.options.branch)
        if self.options.base not in heads:
            raise UserError(
                "--base", f"branch {self.options.base!r} does not exist in {self.remote.display}"
            )
        self.step(f"cloning {self.options.base}")
        repo = clone_branch(self.remote, self.options.base, workdir / "repo")
        base_tip = repo.head()
        # Only looked at, never built on: anyone who can push to the repository can push
        # to the branch, and nothing of theirs may ride along in the pull request.
        observed = (
            fetch_branch(repo, self.remote, self.options.branch)
            if self.options.branch in heads
            else None
        )
        repo.check("checkout", "-q", "-B", self.options.branch, base_tip)
        tree = Path(repo.working_dir)
        # Anyone who can push a branch controls this tree: the compiler, ajv and helm read
        # all of it, so a link that leaves it (to /dev/zero, a host file) stops the run here.
        confined(tree).refuse_links_out()
        # Every chart helm or the values check reads: no schema $ref out, no YAML bomb.
        refuse_unsafe_chart_inputs(tree)
        base_view = confined(tree)
        self.step("generating the interface and locating the edits (Node)")
        changes = plan_change_set(
            tree,
            self.chart_dir,
            self.wt,
            render_required=self.render_required,
            existing_interface=base_view.read_text(self.wt.module_path),
        )
        self.step(f"comparing with what {self.options.base} already has")
        differences = compare_existing(
            base_view,
            self.options.base,
            changes.proposed,
            changes.members,
            (self.chart_dir / "Chart.yaml").read_text(encoding="utf-8"),
            self.wt,
        )
        _require_named_deletes(changes, base_view, differences, self.wt)
        if differences is not None and not self.options.update_existing:
            title, body = pull_request_text(self.wt, differences, chart_dir=self.chart_dir)
            return self._differs(changes, title, body, differences)
        if changes.is_empty():
            return self._already_on_base(base_tip, differences)
        prepared = self._prepare(repo, changes, base_tip, observed, workdir, differences)
        if observed is not None and branch_is_proposal(
                repo, observed, base_tip, prepared.tree, prepared.title):
            return self._unchanged(prepared, observed)
        return self._propose(repo, prepared)

    def _prepare(
        self,
        repo: Repository,
        changes: ChangeSet,
        base_tip: str,
        observed: str | None,
        workdir: Path,
        differences: Differences | None,
    ) -> _Prepared:
        """Apply and stage the change on the base branch and run every check on it: each
        path that can open or keep a pull request goes through here first."""
        tree = Path(repo.working_dir)
        apply_change_set(tree, changes)
        repo.check("add", "-A")
        files = repo.lines("diff", "--cached", "--name-only")
        warnings: list[str] = []
        self._run_checks(repo, tree, base_tip, workdir, warnings, changes.tsconfig_scope)
        title, body = pull_request_text(self.wt, differences, chart_dir=self.chart_dir)
        return _Prepared(base_tip, observed, files, repo.check("write-tree").strip(), title, body,
                         warnings, differences)

    def _differs(
        self, changes: ChangeSet, title: str, body: str, differences: Differences
    ) -> SchemaPrResult:
        """Stop: the base branch has its own, different version, and replacing it was not
        asked for. Nothing is written anywhere; the report says what would change."""
        return self._nothing_pushed("differs", None, changes.paths, title, body, differences)

    def _already_on_base(self, base_tip: str, differences: Differences | None
                         ) -> SchemaPrResult:
        """The base branch holds the change already (merged): nothing to propose, no
        check run, the branch and any pull request of it left alone."""
        title, body = pull_request_text(self.wt, differences, checked=False,
                                        chart_dir=self.chart_dir)
        return self._nothing_pushed("unchanged", base_tip, [], title, body, differences)

    def _nothing_pushed(self, status: str, commit: str | None, files: list[str], title: str,
                        body: str, differences: Differences | None) -> SchemaPrResult:
        """A result of a run that stops before any push: no pull request, no diff."""
        return SchemaPrResult(
            status=status, branch=self.options.branch, commit=commit, files=files,
            pull_request=None, title=title, body=body, dry_run=self.options.dry_run,
            diff="" if self.options.dry_run else None, differences=differences,
        )

    def _unchanged(self, prepared: _Prepared, observed: str) -> SchemaPrResult:
        """The branch already is this run's commit (checked again in this run): nothing is
        pushed; the pull request a killed run never opened is opened now."""
        pull = None
        warnings = list(prepared.warnings)
        if not self.options.dry_run:
            draft = PullRequestDraft(prepared.title, prepared.body, self.options.labels,
                                     self.options.draft)
            pull, opened_warnings = pull_request_of_unchanged(
                self.publisher, self.options.branch, self.options.base, observed, draft)
            warnings += opened_warnings
        return SchemaPrResult(
            status="unchanged",
            branch=self.options.branch,
            commit=observed,
            files=[],
            pull_request=pull,
            title=prepared.title,
            body=prepared.body,
            dry_run=self.options.dry_run,
            diff="" if self.options.dry_run else None,
            warnings=warnings,
            differences=prepared.differences,
        )

    def _propose(self, repo: Repository, prepared: _Prepared) -> SchemaPrResult:
        """Commit on the base tip and push over whatever the branch held when observed
        (compare-and-swap on that sha: a push in between fails and the run starts over)."""
        status = "updated" if prepared.observed else "opened"
        if self.options.dry_run:
            diff = repo.check("diff", "--cached", "--no-color", "--no-ext-diff").removesuffix("\n")
            return SchemaPrResult(
                status=status,
                branch=self.options.branch,
                commit=None,
                files=prepared.files,
                pull_request=None,
                title=prepared.title,
                body=prepared.body,
                dry_run=True,
                diff=diff + "\n",
                warnings=prepared.warnings,
                differences=prepared.differences,
            )
        self.step("committing")
        commit = commit_staged(repo, self.remote, prepared.title)
        fault_point("after-branch-created")
        self.step(f"publishing {self.options.branch}")
        draft = PullRequestDraft(prepared.title, prepared.body, self.options.labels,
                                 self.options.draft)
        publication = self.publisher.publish(
            repo, self.options.branch, self.options.base, commit, prepared.observed, draft
        )
        return SchemaPrResult(
            status=status,
            branch=self.options.branch,
            commit=commit,
            files=prepared.files,
            pull_request=publication.pull_request,
            title=prepared.title,
            body=prepared.body,
            warnings=prepared.warnings + publication.warnings,
            differences=prepared.differences,
        )

    def _run_checks(
        self, repo: Repository, tree: Path, start: str, workdir: Path, warnings: list[str],
        tsconfig_scope: Mapping[str, Any] | None = None,
    ) -> None:
        chart = tree / self.wt.chart_path

        def baseline() -> Path:
            base_tree = workdir / "baseline"
            check_git(
                ["worktree", "add", "--quiet", "--detach", str(base_tree), start],
                tree,
                self.remote,
                "git",
                "preparing the baseline tree",
            )
            return base_tree

        tsc_warnings: list[str] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The compiler is the longest check and needs nothing of the others: it runs
            # beside them. Errors still come in a fixed order: values, lint, types.
            typed = pool.submit(type_check, tree, baseline, tsc_warnings, tsconfig_scope)
            self.step("checking every chart's values against its schema (ajv), "
                      "tsc --noEmit beside")
            check_chart_values(tree, self.wt, warnings)
            self.step(f"helm lint {self.wt.chart_path}")
            helm_lint(chart, self.wt.chart_path)
            self.step("type check (tsc --noEmit)")
            typed.result()
        warnings.extend(tsc_warnings)
