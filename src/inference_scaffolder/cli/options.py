"""Options several commands share, declared once so their names and help stay the same, and
the output they share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference_scaffolder.rendering.helm import DEFAULT_KUBE_VERSION

__all__ = ["DEFAULT_KUBE_VERSION", "ChartRepository", "CrdSchemas", "KubeVersion",
           "ScaffolderSource", "echo_pull_request_text"]

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


def echo_pull_request_text(title: str, body: str) -> None:
    """The pull request's title and body, for a branch pushed without a forge (``--publisher
    local``): whoever opens the pull request pastes them."""
    typer.echo(f"pull request title: {title}")
    typer.echo("pull request body:")
    typer.echo(body.rstrip("\n"))
