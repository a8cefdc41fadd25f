"""Options several commands share, declared once so their names and help stay the same, and
the output they share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference_scaffolder.publish import (
    GitHubPublisher,
    GitHubSettings,
    LocalPublisher,
    PublisherKind,
    make_publisher,
)
from inference_scaffolder.rendering.helm import DEFAULT_KUBE_VERSION

__all__ = ["DEFAULT_KUBE_VERSION", "ChartRepository", "CrdSchemas", "DraftPullRequest",
           "GitHubApiUrl", "GitHubRepo", "GitHubTokenEnv", "KubeVersion", "PublisherChoice",
           "ScaffolderSource", "chosen_publisher", "echo_pull_request_text"]

KubeVersion = Annotated[str, typer.Option(
    "--kube-version",
    help="Kubernetes version to render for and to check the objects' schemas of.")]
CrdSchemas = Annotated[Path | None, typer.Option(
    "--crd-schemas",
    help="Your own CRD schemas (kubeconform layout), added to the bundled ones.")]
# The platform's settings, for the platform answers an answers file leaves empty (before
# their variables, INFERENCE_SCAFFOLDER_CHART_REPOSITORY and INFERENCE_SCAFFOLDER_SOURCE).
ChartRepository = Annotated[str, typer.Option(
    "--chart-repository",
    help="The platform's Helm repository of base charts (https://, http:// or oci://); "
         "default $INFERENCE_SCAFFOLDER_CHART_REPOSITORY.")]
ScaffolderSource = Annotated[str, typer.Option(
    "--scaffolder-source",
    help="The pip requirement the repository's CI installs the scaffolder from; default "
         "$INFERENCE_SCAFFOLDER_SOURCE.")]

# How a proposing command (schema-pr, register) delivers its branch.
PublisherChoice = Annotated[PublisherKind, typer.Option(
    "--publisher",
    help="local: push the branch only; github: also find or open the pull request.")]
GitHubApiUrl = Annotated[str, typer.Option(
    "--github-api-url", envvar="GITHUB_API_URL",
    help="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).")]
GitHubTokenEnv = Annotated[str, typer.Option(
    "--github-token-env", help="Name of the environment variable holding the GitHub token.")]
GitHubRepo = Annotated[str | None, typer.Option(
    "--github-repo",
    help="owner/name on GitHub; default: taken from the repository's GitHub URL.")]
DraftPullRequest = Annotated[bool, typer.Option(
    "--draft", help="Open the pull request as a draft.")]


def chosen_publisher(kind: PublisherKind, repo_url: str, api_url: str, token_env: str,
                     github_repo: str | None) -> LocalPublisher | GitHubPublisher:
    """The publisher the options above name, for ``repo_url``."""
    settings = GitHubSettings(api_url=api_url, token_env=token_env, repository=github_repo)
    return make_publisher(kind.value, repo_url, settings)


def echo_pull_request_text(title: str, body: str) -> None:
    """The pull request's title and body, for a branch pushed without a forge (``--publisher
    local``): whoever opens the pull request pastes them."""
    typer.echo(f"pull request title: {title}")
    typer.echo("pull request body:")
    typer.echo(body.rstrip("\n"))
