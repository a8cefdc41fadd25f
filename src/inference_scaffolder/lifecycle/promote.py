"""Promotion: move the validated deployable identity one environment forward.

The *identity* of a deployment is what was tested together in the source environment:

- ``container.image.tag`` — the engine build;
- the whole ``model`` block — id and revision, plus the limits (``maxInputTokens``,
  ``maxTotalTokens``) and ``servedModelName`` that were validated with that model (a new
  revision with a shorter context, or a renamed served model, must not reach an environment
  half-applied);
- the base chart version the environment pins (``helmCharts[0].version`` in its
  kustomization.yaml): a chart change is staged like an engine or model change. A new
  version enters the first environment with ``chart_version`` (``promote --to dev
  --chart-version X``) and moves on from there.

Everything else in ``environments/<to>/values.yaml`` (hostname, replicas, resources, comments)
is the target's own and is kept: the file is edited with ruamel's round-trip loader.

Promotion only goes forward along dev → syst → uat → prod, never skips an environment the
repository has (unless ``allow_skip``), validates the source before and the target after the
edit, and commits on ``promote/<to>-<short sha of the promoted commit>`` without touching the
user's working tree or index: the commit is built from a private export with a temporary
index. Publishing (push, pull request) goes through :mod:`inference_scaffolder.publish`.
"""

from __future__ import annotations

import copy
import io
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from inference_scaffolder.answers import ENVIRONMENT_ORDER
from inference_scaffolder.chart import CHART_NAME
from inference_scaffolder.checks.gitops import validate_gitops
from inference_scaffolder.checks.validate import (
    DEFAULT_KUBE_VERSION,
    ValidationReport,
    validate_repo,
)
from inference_scaffolder.errors import UserError
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.lifecycle.routing_values import migrate_environment
from inference_scaffolder.publish import (
    PullRequestDraft,
    PushRejected,
    remote_heads,
)
from inference_scaffolder.rendering.charts import check_chart_ref
from inference_scaffolder.safe_fs import refuse_links
from inference_scaffolder.service.gitops_files import edit_first_helm_chart
from inference_scaffolder.service.intake import check_service_repository
from inference_scaffolder.service.layout import (
    chart_ref,
    first_helm_chart,
    kustomization_path,
    list_environments,
    release_name,
    values_file,
)
from inference_scaffolder.service.serving_state import chart_routes_through_platform
from inference_scaffolder.vcs import (
    commit_files,
    create_branch,
    current_branch,
    export_commit,
    open_repository,
    require_clean,
)
from inference_scaffolder.yamlio import load_repository_text, round_trip_yaml

PROMOTED_FROM_TRAILER = "Promoted-from"
# The "source" of a promotion that starts a new base chart version (no environment).
CHART_SOURCE = "chart-repository"


# --- identity ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """ruamel containers as plain dicts/lists (for comparison and JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Identity:
    """What a promotion moves; see the module docstring for why these fields."""

    image_tag: str | None
    model: dict[str, Any]
    chart_version: str | None

    def flat(self) -> dict[str, Any]:
        """``{dotted key: value}``, the unit in which changes are reported."""
        out: dict[str, Any] = {"container.image.tag": self.image_tag}
        out.update({f"model.{k}": v for k, v in self.model.items()})
        out["chart.version"] = self.chart_version
        return out

    def summary(self) -> str:
        revision = str(self.model.get("revision", "?"))
        short = revision[:12] if len(revision) == 40 else revision
        return (f"{self.model.get('id', '?')}@{short}, image {self.image_tag or '?'}, "
                f"chart {self.chart_version or '?'}")

    def to_json(self) -> dict[str, Any]:
        return {
            "image_tag": self.image_tag,
            "model_id": self.model.get("id"),
            "model_revision": self.model.get("revision"),
            "model": self.model,
            "chart_version": self.chart_version,
        }


def _image_tag(values: Any) -> str | None:
    container = values.get("container") if isinstance(values, dict) else None
    image = container.get("image") if isinstance(container, dict) else None
    tag = image.get("tag") if isinstance(image, dict) else None
    return None if tag is None else str(tag)


def _declared_chart_version(kustomization: Any) -> str | None:
    version = first_helm_chart(kustomization).get("version")
    return None if version is None else str(version)


def identity_from_text(values_text: str, chart_version: str | None,
                       shown: str = "values.yaml") -> Identity:
    """The identity in an environment's values.yaml text (plus the chart version given).

    The text may be any commit's (history reads old ones): it is checked first with the
    bounded loader, so broken YAML is one line naming ``shown`` and an alias bomb is refused
    before the identity is copied out of it."""
    load_repository_text(values_text, shown)
    values = round_trip_yaml().load(values_text) or {}
    model = values.get("model") if isinstance(values, dict) else None
    return Identity(_image_tag(values), _plain(model) if isinstance(model, dict) else {},
                    chart_version)


def read_identity(repo: Path, environment: str) -> Identity:
    """The identity an environment of a checked-out repository declares."""
    values = values_file(repo, environment).read_text(encoding="utf-8")
    kustomization = kustomization_path(repo, environment)
    declared = (_declared_chart_version(round_trip_yaml().load(kustomization.read_text(
        encoding="utf-8"))) if kustomization.is_file() else None)
    return identity_from_text(values, declared)


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "from": self.old, "to": self.new}


def identity_changes(old: Identity, new: Identity) -> list[Change]:
    """Per dotted key, what a promotion from ``new``'s environment would change in ``old``'s."""
    before, after = old.flat(), new.flat()
    if new.chart_version is None:  # a source without a kustomization declares no chart
        del before["chart.version"], after["chart.version"]
    keys = list(after) + [k for k in before if k not in after]
    return [Change(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


# --- editing the target --------------------------------------------------------------------


def _dump(ruamel: YAML, document: Any) -> str:
    out = io.StringIO()
    ruamel.dump(document, out)
    return out.getvalue()


def copy_identity_values(source_text: str, target_text: str) -> str:
    """The target values.yaml text with the source's image tag and model block in it.

    Edits in place so the target's comments, key order and other settings survive; model
    keys the source no longer has are removed (the block moves as one unit).
    """
    ruamel = round_trip_yaml()
    source = ruamel.load(source_text) or {}
    target = ruamel.load(target_text)
    if target is None:
        target = ruamel.load("{}\n")
    source_model = source.get("model")
    if isinstance(source_model, dict):
        target_model = target.get("model")
        if not isinstance(target_model, dict):
            target["model"] = copy.deepcopy(source_model)
        else:
            for key in [k for k in target_model if k not in source_model]:
                del target_model[key]
            for key, value in source_model.items():
                if target_model.get(key) != value:
                    target_model[key] = copy.deepcopy(value)
    tag = _image_tag(source)
    if tag is not None and _image_tag(target) != tag:
        container = target.setdefault("container", {})
        image = container.setdefault("image", {})
        image["tag"] = source["container"]["image"]["tag"]
    return _dump(ruamel, target)


def copy_chart_version(target_text: str, version: str, path: str = "kustomization.yaml") -> str:
    """The target kustomization.yaml text declaring chart ``version``."""
    def pin(_document: Any, entry: Any) -> None:
        entry["version"] = version
    return edit_first_helm_chart(target_text, path, "set the chart version in", pin)


# --- preconditions -------------------------------------------------------------------------


def plan_route(source: str, target: str, present: list[str], allow_skip: bool) -> list[str]:
    """Check the promotion goes forward between environments of the repository; returns the
    environments it skips (refused unless ``allow_skip``)."""
    order = list(ENVIRONMENT_ORDER)
    for option, name in (("--from", source), ("--to", target)):
        if name not in order:
            raise UserError(option, f"unknown environment {name!r}; one of {', '.join(order)}")
        if name not in present:
            raise UserError(option, f"environment {name!r} is not in this repository "
                            f"(it has {', '.join(present) or 'none'})")
    if order.index(target) <= order.index(source):
        raise UserError("--to", f"promotion goes forward only ({' → '.join(present)}); "
                        f"{source} → {target} is not forward. To go back, revert a promotion "
                        "(see `inference-scaffolder history`)")
    skipped = [e for e in present if order.index(source) < order.index(e) < order.index(target)]
    if skipped and not allow_skip:
        raise UserError("--to", f"{source} → {target} skips {', '.join(skipped)}; promote "
                        "through it first, or pass --allow-skip")
    return skipped


def plan_chart_start(target: str, present: list[str], allow_skip: bool) -> list[str]:
    """A new base chart version starts in the repository's first environment; returns the
    environments before ``target`` it would leave behind (refused unless ``allow_skip``)."""
    if target not in present:
        raise UserError("--to", f"environment {target!r} is not in this repository "
                        f"(it has {', '.join(present) or 'none'})")
    before = present[:present.index(target)]
    if before and not allow_skip:
        raise UserError("--to", f"a new chart version starts in {present[0]} and is promoted "
                        f"from there; starting it in {target} skips {', '.join(before)} "
                        "(pass --allow-skip to do so)")
    return before


# --- the promotion -------------------------------------------------------------------------


@dataclass
class PromotionResult:
    status: str  # "promoted" | "unchanged"
    source: str
    target: str
    base: str
    promoted_commit: str
    identity: Identity
    changes: list[Change] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    branch: str | None = None
    commit: str | None = None
    branch_existed: bool = False
    publisher: str | None = None
    pushed: bool = False
    pull_request: str | None = None
    title: str = ""
    body: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "from": self.source,
            "to": self.target,
            "base": self.base,
            "promoted_commit": self.promoted_commit,
            "identity": self.identity.to_json(),
            "changes": [c.to_json() for c in self.changes],
            "skipped": self.skipped,
            "branch": self.branch,
            "commit": self.commit,
            "branch_existed": self.branch_existed,
            "publisher": self.publisher,
            "pushed": self.pushed,
            "pull_request": self.pull_request,
            "title": self.title,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ValidationOptions:
    kube_version: str = DEFAULT_KUBE_VERSION
    crd_schemas: Path | None = None


def first_problem(report: ValidationReport, tree: Path, environment: str,
                  options: ValidationOptions) -> str | None:
    """The first problem of ``environment``: helm + schemas, and the GitOps files when
    ``validate_repo`` does not check them itself yet."""
    for env in report.environments:
        problems = env.problems()
        if problems:
            return problems[0]
    checked_gitops = any(o.kind == "Kustomization" for e in report.environments for o in e.objects)
    if not checked_gitops and kustomization_path(tree, environment).is_file():
        gitops = validate_gitops(tree, [environment], kube_version=options.kube_version,
                                 crd_schemas=options.crd_schemas)
        problems = gitops.problems(environment)
        if problems:
            return problems[0]
    return None


def check_environment(tree: Path, environment: str, options: ValidationOptions) -> str | None:
    report = validate_repo(tree, environments=[environment], kube_version=options.kube_version,
                           crd_schemas=options.crd_schemas)
    return first_problem(report, tree, environment, options)


def chart_start_text(service: str, result: PromotionResult) -> tuple[str, str]:
    """Title and body of the pull request that starts a base chart version in one
    environment (also its commit message)."""
    change = next(c for c in result.changes if c.key == "chart.version")
    title = (f"Start base chart {CHART_NAME} {change.new} in {result.target} "
             f"({service}, was {change.old})")
    skipped = (f"\n\nStarted past (explicitly allowed): {', '.join(result.skipped)}."
               if result.skipped else "")
    body = (
        f"Pins `{result.target}` to {CHART_NAME} {change.new} from the platform's Helm "
        f"repository (was {change.old}); every other environment keeps its pin until this "
        f"version is promoted to it.{skipped}\n\nValidated with `inference-scaffolder "
        f"validate` (helm lint, helm template, schemas, kustomize) for `{result.target}` "
        "with the new chart. To roll back after merging, revert this commit."
    )
    return title, body


def pull_request_text(service: str, result: PromotionResult) -> tuple[str, str]:
    """Title and body of the promotion's pull request (also its commit message)."""
    if result.source == CHART_SOURCE:
        return chart_start_text(service, result)
    title = f"Promote {service} to {result.target}: {result.identity.summary()}"
    rows = "\n".join(f"| `{c.key}` | `{c.old}` | `{c.new}` |" for c in result.changes)
    skipped = (f"\n\nSkipped (explicitly allowed): {', '.join(result.skipped)}."
               if result.skipped else "")
    body = (
        f"Promotes what `{result.source}` runs at {result.promoted_commit[:12]} to "
        f"`{result.target}`.\n\n| value | {result.target} now | after |\n|---|---|---|\n{rows}"
        f"{skipped}\n\nValidated with `inference-scaffolder validate` (helm lint, helm template, "
        f"schemas, kustomize) for `{result.source}` before and `{result.target}` after the "
        "change. To roll back after merging, revert this commit "
        f"(`inference-scaffolder history . --env {result.target}` lists earlier states)."
    )
    return title, body


def promote(
    directory: Path,
    source: str | None,
    target: str,
    *,
    allow_skip: bool = False,
    publisher: Any | None = None,
    validation: ValidationOptions | None = None,
    chart_version: str | None = None,
) -> PromotionResult:
    """Promote ``source``'s identity to ``target`` on a new branch; see the module docstring.

    With ``chart_version`` (and no ``source``) the target's base chart pin moves to that
    version instead: how a new chart version enters the first environment."""
    options = validation or ValidationOptions()
    if chart_version is None and source is None:
        raise UserError("--from", "is required (or --chart-version, to start a new base "
                        "chart version in the first environment)")
    if chart_version is not None and source is not None:
        raise UserError("--chart-version", "starts a new base chart version in one "
                        "environment; promote it onward with --from, not together")
    directory = directory.resolve()
    repo = open_repository(directory)
    if not repo.has_commits():
        raise UserError("DIR", f"{directory} has no commits")
    present = list_environments(directory)
    skipped = (plan_route(source, target, present, allow_skip) if source is not None
               else plan_chart_start(target, present, allow_skip))
    require_clean(repo, "promoting")
    base = current_branch(repo)
    head = repo.head()
    with tempfile.TemporaryDirectory(prefix="promote-") as tmp_name:
        tmp = Path(tmp_name)
        tree = tmp / "tree"
        export_commit(repo, head, tree)
        check_service_repository(tree)  # links out, FIFOs, broken YAML: one line, not a crash
        current = read_identity(tree, target)
        if source is None:
            check_chart_ref(replace(chart_ref(tree, target), version=str(chart_version)),
                            "--chart-version")
            wanted = replace(current, chart_version=chart_version)
        else:
            wanted = read_identity(tree, source)
        changes = identity_changes(current, wanted)
        result = PromotionResult("unchanged", source or CHART_SOURCE, target, base, head,
                                 wanted, changes, skipped)
        if not changes:
            return result
        problem = check_environment(tree, source, options) if source is not None else None
        if problem:
            raise UserError("--from", f"{source} does not validate, so it cannot be promoted: "
                            f"{problem}")
        edited = _edit_target(tree, source, target, wanted)
        problem = check_environment(tree, target, options)
        if problem:
            raise UserError("--to", f"{target} does not validate after the promotion; nothing "
                            f"was committed: {problem}")
        result.status = "promoted"
        result.title, result.body = pull_request_text(release_name(tree, target), result)
        trailer = (f"\n\n{PROMOTED_FROM_TRAILER}: {source}@{head}" if source is not None
                   else "")
        result.commit = commit_files(repo, head, edited, f"{result.title}\n\n{result.body}"
                                     f"{trailer}", tmp)
    suffix = f"chart-{chart_version}-" if source is None else ""
    result.branch = f"promote/{target}-{suffix}{head[:7]}"
    result.branch_existed = create_branch(repo, result.branch, result.commit)
    if result.branch_existed:
        result.commit = repo.rev_parse(f"refs/heads/{result.branch}")
    if publisher is not None:
        _publish(repo, publisher, result)
    return result


def _edit_target(tree: Path, source: str | None, target: str,
                 identity: Identity) -> dict[str, Path]:
    """Write the promoted identity into the exported tree (the chart pin alone when there
    is no ``source``); returns the files changed."""
    edited: dict[str, Path] = {}
    # The files promote rewrites must be files: a link (even to another environment's
    # values) would carry the edit elsewhere, and git would record it as a link.
    for written in (f"environments/{target}/values.yaml",
                    f"environments/{target}/kustomization.yaml"):
        refuse_links(tree, written)
    if source is not None:
        source_values = values_file(tree, source)
        target_values = values_file(tree, target)
        text = copy_identity_values(source_values.read_text(encoding="utf-8"),
                                    target_values.read_text(encoding="utf-8"))
        if text != target_values.read_text(encoding="utf-8"):
            target_values.write_text(text, encoding="utf-8")
            edited[f"environments/{target}/values.yaml"] = target_values
    target_kustomization = kustomization_path(tree, target)
    if identity.chart_version is not None and target_kustomization.is_file():
        current = target_kustomization.read_text(encoding="utf-8")
        updated = copy_chart_version(current, identity.chart_version,
                                     f"environments/{target}/kustomization.yaml")
        if updated != current:
            target_kustomization.write_text(updated, encoding="utf-8")
            edited[f"environments/{target}/kustomization.yaml"] = target_kustomization
    if identity.chart_version is not None and chart_routes_through_platform(
            identity.chart_version) and migrate_environment(tree, target):
        # The chart the pin moves to refuses the values of the routing objects it no longer
        # renders (lifecycle.routing_values).
        edited[f"environments/{target}/values.yaml"] = values_file(tree, target)
    return edited


def _publish(repo: Repository, publisher: Any, result: PromotionResult) -> None:
    """Push the branch (and open the pull request) through the shared publishers."""
    result.publisher = publisher.name
    publisher.preflight()
    cwd = Path(repo.working_dir)
    heads = remote_heads(publisher.remote, cwd, result.base, result.branch or "")
    if heads.get(result.base) not in (None, result.promoted_commit):
        result.warnings.append(
            f"{result.base} on the remote is not at the promoted commit "
            f"{result.promoted_commit[:12]}; the pull request shows the difference"
        )
    draft = PullRequestDraft(result.title, result.body, ("promotion",))
    try:
        publication = publisher.publish(repo, result.branch, result.base, result.commit,
                                        heads.get(result.branch or ""), draft)
    except PushRejected:
        raise UserError("--publisher", f"{result.branch} moved on the remote while pushing; "
                        "nothing was pushed, run promote again") from None
    result.pushed = True
    result.pull_request = publication.pull_request
    result.warnings += publication.warnings
