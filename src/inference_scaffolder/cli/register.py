"""``inference-scaffolder register``: the pull request that joins (or leaves) the routers."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inference_scaffolder.cli.options import (
    DraftPullRequest,
    GitHubApiUrl,
    GitHubRepo,
    GitHubTokenEnv,
    PublisherChoice,
    chosen_publisher,
)
from inference_scaffolder.errors import UserError
from inference_scaffolder.publish import (
    DEFAULT_GITHUB_API,
    DEFAULT_TOKEN_ENV,
    PublisherKind,
    normalize_repo_argument,
)
from inference_scaffolder.registration.entries import Action
from inference_scaffolder.registration.facts import service_facts
from inference_scaffolder.registration.pull_request import (
    DEFAULT_BASE,
    RegisterOptions,
    RegisterResult,
    run_register,
)
from inference_scaffolder.registration.service_side import apply_public_serving


def _action(disable: bool, remove: bool) -> Action:
    if disable and remove:
        raise UserError("--disable", "and --remove exclude each other")
    return Action.remove if remove else Action.disable if disable else Action.register


def _routing_repo(value: str) -> str:
    try:
        return normalize_repo_argument(value)
    except UserError as exc:
        raise UserError("--routing-repo", exc.rule) from None


def _as_routing_repo(exc: UserError) -> UserError:
    """The shared git and lock plumbing names the repository ``--repo``, as schema-pr's
    option is called; here it is ``--routing-repo``."""
    if exc.field != "--repo":
        return exc
    rule = exc.rule.replace("another schema-pr run", "another register run")
    return UserError("--routing-repo", rule)


def _print_human(result: RegisterResult) -> None:
    if result.dry_run:
        if result.diff:
            typer.echo(result.diff, nl=False)
        typer.echo(f"dry run: would report {result.status} for {result.branch} "
                   f"({len(result.files)} file(s)); nothing was pushed", err=True)
    else:
        commit = (result.commit or "")[:12]
        typer.echo(f"{result.status}: {result.branch} at {commit} ({len(result.files)} file(s))")
        if result.pull_request:
            typer.echo(f"pull request: {result.pull_request}")
        elif result.status != "unchanged":
            typer.echo(f"pull request title: {result.title}")
    if result.service_change is not None:
        typer.echo(str(result.service_change["line"]))
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``register`` command to the CLI."""

    @app.command("register")
    def register_command(
        directory: Path = typer.Argument(..., help="The service repository."),
        env: str = typer.Option(..., "--env", help="The environment to (de)register."),
        routing_repo: str = typer.Option(
            ..., "--routing-repo",
            help="Git URL or local path (checkout or bare) of the platform's routing "
                 "repository."),
        disable: bool = typer.Option(
            False, "--disable",
            help="Deregister: remove the LiteLLM entry, disable the gateway route, and turn "
                 "the environment's own public serving off."),
        remove: bool = typer.Option(
            False, "--remove",
            help="Remove every entry of the service (and its gateway backend), serving off."),
        base: str = typer.Option(DEFAULT_BASE, "--base", help="Branch the pull request targets."),
        branch: str | None = typer.Option(
            None, "--branch",
            help="Branch to push to; default: inference-scaffolder/register/ENV/NAMESPACE/"
                 "SERVICE."),
        litellm_values: str | None = typer.Option(
            None, "--litellm-values",
            help="Path template of the LiteLLM values ({env}); default: the routing "
                 "repository's .inference-scaffolder/routing.yaml, else "
                 "environments/{env}/inference-infrastructure.yaml."),
        models_values: str | None = typer.Option(
            None, "--models-values",
            help="Path template of the models values ({env}); default: as above, else "
                 "environments/{env}/models.yaml."),
        publisher: PublisherChoice = PublisherKind.local,
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print the unified diff; push, open and write nothing."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
        github_api_url: GitHubApiUrl = DEFAULT_GITHUB_API,
        github_token_env: GitHubTokenEnv = DEFAULT_TOKEN_ENV,
        github_repo: GitHubRepo = None,
        label: list[str] = typer.Option(
            ["inference-scaffolder"], "--label",
            help="Label for a new pull request (repeatable)."),
        draft: DraftPullRequest = False,
    ) -> None:
        """Open (or update) the routing repository's pull request that registers, disables
        or removes this service's router entries in one environment.

        LiteLLM: one litellm-proxy.litellm.modelList item; Envoy AI Gateway (when the
        service opts in): its backend and model route with failover. --disable and --remove
        also turn the environment's own public serving off in DIR (written, not committed)."""
        action = _action(disable, remove)
        facts = service_facts(directory, env)
        # register converges on what the environment asks for: with routing.enabled false,
        # the router entries go (the service's own serving is left as it is).
        unrouted = action is Action.register and not facts.routing_enabled
        routing_action = Action.remove if unrouted else action
        repo_url = _routing_repo(routing_repo)
        chosen = chosen_publisher(publisher, repo_url, github_api_url, github_token_env,
                                  github_repo)
        options = RegisterOptions(
            environment=env, action=routing_action, base=base, branch=branch, dry_run=dry_run,
            labels=tuple(label), draft=draft, litellm_values=litellm_values,
            models_values=models_values)
        try:
            result = run_register(facts, options, chosen)
        except UserError as exc:
            raise _as_routing_repo(exc) from None
        if unrouted:
            result.warnings.insert(0, f"environments/{env}/values.yaml has routing.enabled: "
                                   "false: this service's router entries are removed")
        else:
            change = apply_public_serving(directory, env, facts, action, dry_run=dry_run)
            result.service_change = {**change.as_json(), "line": change.line()}
        if json_output:
            typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
        else:
            _print_human(result)
