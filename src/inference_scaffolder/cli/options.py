"""Options several commands share, declared once so their names and help stay the same."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference_scaffolder.rendering.helm import DEFAULT_KUBE_VERSION

__all__ = ["DEFAULT_KUBE_VERSION", "CrdSchemas", "KubeVersion"]

KubeVersion = Annotated[str, typer.Option(
    "--kube-version",
    help="Kubernetes version to render for and to check the objects' schemas of.")]
CrdSchemas = Annotated[Path | None, typer.Option(
    "--crd-schemas",
    help="Your own CRD schemas (kubeconform layout), added to the bundled ones.")]
