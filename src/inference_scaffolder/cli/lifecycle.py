"""``promote``, ``history`` and ``update``: living with a generated service repository."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inference_scaffolder.cli.options import (
    DEFAULT_KUBE_VERSION,
    ChartRepository,
    CrdSchemas,
    KubeVersion,
    ScaffolderSource,
    echo_pull_request_text,
)
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.lifecycle.history import (
    DEFAULT_LIMIT,
    HistoryEntry,
    environment_history,
)
from inference_scaffolder.lifecycle.promote import (
    CHART_SOURCE,
    PromotionResult,
    ValidationOptions,
    open_repository,
    promote,
)
from inference_scaffolder.lifecycle.update import (
    DirectoryTemplate,
    TemplateSource,
    UpdateResult,
    template_for_version,
    update_repository,
)
from inference_scaffolder.publish import (
    DEFAULT_GITHUB_API,
    DEFAULT_TOKEN_ENV,
    GitHubSettings,
    PublisherKind,
    make_publisher,
)


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


# --- promote ---------------------------------------------------------------------------------


def _origin_url(directory: Path) -> str:
    url = open_repository(directory.resolve()).config_value("remote.origin.url")
    if not url:
        raise UserError("--publisher", "the repository has no `origin` remote to push to")
    return url


def _print_promotion(result: PromotionResult) -> None:
    if result.status == "unchanged":
        typer.echo(f"unchanged: {result.target} already runs "
                   + ("that chart version" if result.source == CHART_SOURCE
                      else f"what {result.source} runs")
                   + f" ({result.identity.summary()})")
        return
    typer.echo(f"promoted {result.source} → {result.target} on {result.branch} "
               f"(commit {(result.commit or '')[:12]}"
               + (", already prepared" if result.branch_existed else "") + ")")
    for change in result.changes:
        typer.echo(f"  {change.key}: {change.old} → {change.new}")
    if result.skipped:
        typer.echo(f"  skipped (allowed): {', '.join(result.skipped)}")
    if result.pull_request:
        typer.echo(f"pull request: {result.pull_request}")
    elif result.pushed:
        typer.echo(f"pushed {result.branch}")
        echo_pull_request_text(result.title, result.body)
    else:
        typer.echo(f"not pushed: git push origin {result.branch}, then open a pull request "
                   f"into {result.base} (or rerun with --publisher)")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def promote_command(
    directory: Path = typer.Argument(..., help="The service repository (a git checkout)."),
    from_: str | None = typer.Option(None, "--from", help="Environment to promote from."),
    to: str = typer.Option(..., "--to", help="Environment to promote to (the next one)."),
    chart_version: str | None = typer.Option(
        None, "--chart-version",
        help="Instead of --from: pin --to (the first environment) to this base chart "
             "version from the platform's Helm repository."),
    allow_skip: bool = typer.Option(False, "--allow-skip",
                                    help="Allow skipping environments in between."),
    publisher: PublisherKind | None = typer.Option(
        None, "--publisher",
        help="Omit to commit on a local branch only; local: also push it to origin; "
             "github: also open the pull request."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    kube_version: KubeVersion = DEFAULT_KUBE_VERSION,
    crd_schemas: CrdSchemas = None,
    github_api_url: str = typer.Option(DEFAULT_GITHUB_API, "--github-api-url",
                                       envvar="GITHUB_API_URL",
                                       help="GitHub REST API root (GitHub Enterprise: "
                                            "https://HOST/api/v3)."),
    github_token_env: str = typer.Option(DEFAULT_TOKEN_ENV, "--github-token-env",
                                         help="Variable holding the GitHub token."),
    github_repo: str | None = typer.Option(None, "--github-repo",
                                           help="owner/name; default: from origin's URL."),
) -> None:
    """Copy the validated image tag, model and chart version to the next environment, or
    start a new base chart version in the first one (--chart-version)."""
    chosen = None
    if publisher is not None:
        settings = GitHubSettings(api_url=github_api_url, token_env=github_token_env,
                                  repository=github_repo)
        chosen = make_publisher(publisher.value, _origin_url(directory), settings)
    result = promote(directory, from_, to, allow_skip=allow_skip, publisher=chosen,
                     validation=ValidationOptions(kube_version, crd_schemas),
                     chart_version=chart_version)
    if json_output:
        _echo_json(result.as_json())
    else:
        _print_promotion(result)


# --- history ---------------------------------------------------------------------------------


def _history_line(entry: HistoryEntry) -> str:
    """One entry; everything but the commit id is the repository's text (author, subject,
    trailer, values), so it is printed inert: no terminal escape, no clipboard write."""
    when = inert(entry.date[:16].replace("T", " "), 16)
    what = inert(entry.identity.summary()) if entry.identity else "(environment absent)"
    source = (f" [from {inert(entry.promoted_from.split('@')[0], 60)}]"
              if entry.promoted_from else "")
    same = "" if entry.identity_changed else " (same identity)"
    return (f"{when}  {entry.sha[:12]}  {inert(entry.author, 80)}: {what}{same}{source} — "
            f"{inert(entry.subject)}")


def _print_history(environment: str, entries: list[HistoryEntry]) -> None:
    typer.echo(f"what {inert(environment, 80)} ran, newest first (roll back by reverting to "
               "an earlier identity):")
    for entry in entries:
        typer.echo(_history_line(entry))


def history_command(
    directory: Path = typer.Argument(..., help="The service repository (a git checkout)."),
    env: str = typer.Option(..., "--env", help="Environment whose history to list."),
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", min=1,
                              help="List at most this many, newest first."),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List what an environment ran when: identity, date, author, commit (for rollbacks)."""
    entries = environment_history(directory, env, limit=limit + 1)  # one more: are there more?
    shown = entries[:limit]
    if json_output:
        _echo_json([e.to_json() for e in shown])
    else:
        _print_history(env, shown)
    if len(entries) > limit:
        typer.echo(f"note: older entries not listed; raise --limit (now {limit}) to see them",
                   err=True)


# --- update ----------------------------------------------------------------------------------


def _print_update(result: UpdateResult) -> None:
    if result.status == "unchanged":
        typer.echo(f"unchanged: the repository already matches template {result.to_version}")
        return
    typer.echo(f"template {result.from_version} → {result.to_version}: "
               f"{len(result.changed)} file(s) changed (staged, not committed)")
    for path in result.changed:
        typer.echo(f"  {'CONFLICT ' if path in result.conflicts else ''}{path}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.conflicts:
        typer.echo("resolve the conflict markers, `git add` the files, run "
                   "`inference-scaffolder validate .`, then commit", err=True)
    else:
        typer.echo("review with `git diff --cached`, run `inference-scaffolder validate .`, "
                   "then commit")


def _recorded_version(directory: Path) -> str:
    from inference_scaffolder.service.files import read_answers_record

    return str(read_answers_record(directory.resolve()).get("template_version", ""))


def update_command(
    directory: Path = typer.Argument(..., help="The service repository (a git checkout)."),
    to: str | None = typer.Option(None, "--to", help="Template version (default: this one)."),
    template_dir: Path | None = typer.Option(
        None, "--template-dir", help="Render the new version from this template folder."),
    base_template_dir: Path | None = typer.Option(
        None, "--base-template-dir",
        help="Render the recorded (old) version from this template folder."),
    template_repo: Path | None = typer.Option(
        None, "--template-repo",
        help="inference-scaffolder git repository whose v<version> tags hold other versions."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    chart_repository: ChartRepository = "",
    scaffolder_source: ScaffolderSource = "",
) -> None:
    """Merge a newer template into the repository (conflicts are marked; exit code 1)."""
    from inference_scaffolder import TEMPLATE_VERSION

    recorded = _recorded_version(directory)
    target: TemplateSource = (
        DirectoryTemplate.at(template_dir, to) if template_dir is not None
        else template_for_version(to or TEMPLATE_VERSION, template_repo=template_repo)
    )
    base: TemplateSource = (
        DirectoryTemplate.at(base_template_dir, recorded) if base_template_dir is not None
        else template_for_version(recorded, template_repo=template_repo, option="--template-repo")
    )
    result = update_repository(directory, base, target, platform={
        "chart_repository": chart_repository, "scaffolder_source": scaffolder_source})
    if json_output:
        _echo_json(result.as_json())
    else:
        _print_update(result)
    if result.conflicts:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("promote")(promote_command)
    app.command("history")(history_command)
    app.command("update")(update_command)
