"""Where the project's own files are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

TEMPLATE_NAME = "ml-inference-load"
BASE_CHART_NAME = "ml-inference-load"
_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def template_dir() -> Path:
    """The cookiecutter template folder.

    A wheel carries it as package data (``_template/``); a source checkout (editable install,
    tests) uses ``templates/`` at the repository root, so edits show up without reinstalling.
    """
    packaged = _PACKAGE_DIR / "_template" / TEMPLATE_NAME
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent / "templates" / TEMPLATE_NAME
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"cookiecutter template {TEMPLATE_NAME!r} not found by the package")


@cache
def base_chart_dir() -> Path:
    """The ML_INFERENCE_LOAD base chart this release generates for (its bytes live once).

    A wheel carries it as ``_charts/``; a source checkout uses ``charts/`` at the repository
    root, laid out as the platform's chart repository lays out its charts.
    """
    packaged = _PACKAGE_DIR / "_charts" / BASE_CHART_NAME
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent / "charts" / BASE_CHART_NAME
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"base chart {BASE_CHART_NAME!r} not found by the package")


def source_checkout_root() -> Path | None:
    """The repository root when running from a source checkout, else None."""
    root = _PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() else None
