"""``inference-scaffolder schema-pr``: open the PR adding ML_INFERENCE_LOAD to the schema repo."""

from __future__ import annotations

import json

import typer

from inference_scaffolder.cli.options import (
    DraftPullRequest,
    GitHubApiUrl,
    GitHubRepo,
    GitHubTokenEnv,
    PublisherChoice,
    chosen_publisher,
    echo_pull_request_text,
)
from inference_scaffolder.cli.progress import progress_wanted, step_progress
from inference_scaffolder.platform_pr.node_tools import install_node_tools
from inference_scaffolder.platform_pr.pull_request import (
    DEFAULT_BASE,
    DEFAULT_BRANCH,
    SchemaPrOptions,
    SchemaPrResult,
    run_schema_pr,
)
from inference_scaffolder.publish import (
    DEFAULT_GITHUB_API,
    DEFAULT_TOKEN_ENV,
    PublisherKind,
    normalize_repo_argument,
)

REPLACE_HINT = (
    "nothing was pushed or opened: rerun with --update-existing to propose replacing them "
    "(the report goes into the pull request body)"
)


def _print_differences(result: SchemaPrResult) -> None:
    """The report of what the base branch already has: in full when it stopped the run,
    as one line when the pull request replaces it (its body holds the report)."""
    if result.differences is None:
        return
    if result.status == "differs":
        typer.echo(f"differs: {result.differences.summary()}")
        for line in result.differences.lines():
            typer.echo(line)
        typer.echo(REPLACE_HINT)
    else:
        typer.echo(f"the branch replaces what {result.differences.base} has: "
                   f"{result.differences.summary()}")


def _print_human(result: SchemaPrResult) -> None:
    if result.status == "differs":
        _print_differences(result)
    elif result.dry_run:
        if result.diff:
            typer.echo(result.diff, nl=False)
        summary = (
            f"dry run: would report {result.status} for {result.branch} "
            f"({len(result.files)} file(s)); nothing was pushed"
        )
        typer.echo(summary, err=True)
    else:
        commit = (result.commit or "")[:12]
        typer.echo(f"{result.status}: {result.branch} at {commit} ({len(result.files)} file(s))")
        if result.pull_request:
            typer.echo(f"pull request: {result.pull_request}")
        elif result.status != "unchanged":
            echo_pull_request_text(result.title, result.body)
        _print_differences(result)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``schema-pr`` and ``install-node-tools`` commands to the CLI."""

    @app.command("schema-pr")
    def schema_pr(
        repo: str = typer.Option(
            ...,
            "--repo",
            help="Git URL or local path (checkout or bare) of platform-schemas-types.",
        ),
        base: str = typer.Option(DEFAULT_BASE, "--base", help="Branch the pull request targets."),
        branch: str = typer.Option(
            DEFAULT_BRANCH, "--branch", help="Branch to push the change to."
        ),
        publisher: PublisherChoice = PublisherKind.local,
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print the unified diff; push nothing, open nothing."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
        github_api_url: GitHubApiUrl = DEFAULT_GITHUB_API,
        github_token_env: GitHubTokenEnv = DEFAULT_TOKEN_ENV,
        github_repo: GitHubRepo = None,
        label: list[str] = typer.Option(
            ["inference-scaffolder"], "--label", help="Label for a new pull request (repeatable)."
        ),
        draft: DraftPullRequest = False,
        update_existing: bool = typer.Option(
            False,
            "--update-existing",
            help="Propose replacing a different chart / interface the base branch already "
            "has (without it: print the differences, exit 1, change nothing).",
        ),
    ) -> None:
        """Open (or update) the pull request adding the ML_INFERENCE_LOAD workload type.

        When the base branch already has a different chart or interface for it, only
        reports the differences (exit 1) unless --update-existing is given."""
        repo_url = normalize_repo_argument(repo)
        chosen = chosen_publisher(publisher, repo_url, github_api_url, github_token_env,
                                  github_repo)
        options = SchemaPrOptions(
            base=base,
            branch=branch,
            dry_run=dry_run,
            labels=tuple(label),
            draft=draft,
            update_existing=update_existing,
        )
        with step_progress(progress_wanted(json_output)) as shown:
            result = run_schema_pr(options, chosen, on_step=shown.step if shown else None)
        if json_output:
            typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
        else:
            _print_human(result)
        if result.status == "differs":
            raise typer.Exit(1)

    @app.command("install-node-tools")
    def install_node_tools_command(
        offline: bool = typer.Option(
            False, "--offline", help="Install from npm's cache only (no registry access)."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Install the pinned Node tools schema-pr runs (for a wheel; a checkout has them).

        TypeScript, json-schema-to-typescript and ajv, with `npm ci`, into the user's data
        folder; scripts/bootstrap.sh installs them in a source checkout."""
        installed = install_node_tools(offline=offline)
        if json_output:
            typer.echo(json.dumps({"node_tools": str(installed)}))
        else:
            typer.echo(f"Node tools installed in {installed}")
