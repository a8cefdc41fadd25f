"""Where the project's own files are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

TEMPLATE_NAME = "ml-inference-load"
BASE_CHART_NAME = "ml-inference-load"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(packaged: Path, checkout: Path, what: str) -> Path:
    """A folder the wheel carries as package data, else the source checkout's (editable
    install, tests), so edits show up without reinstalling."""
    for candidate in (packaged, checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{what} not found by the package")


@cache
def template_dir() -> Path:
    """The cookiecutter template folder (``_template/`` in a wheel, ``templates/``)."""
    return _shipped(_PACKAGE_DIR / "_template" / TEMPLATE_NAME,
                    _PACKAGE_DIR.parent.parent / "templates" / TEMPLATE_NAME,
                    f"cookiecutter template {TEMPLATE_NAME!r}")


@cache
def base_chart_dir() -> Path:
    """The ML_INFERENCE_LOAD base chart this release generates for, whose bytes live once
    (``_charts/`` in a wheel; ``charts/`` at the checkout's root, laid out as the platform's
    chart repository lays out its charts)."""
    return _shipped(_PACKAGE_DIR / "_charts" / BASE_CHART_NAME,
                    _PACKAGE_DIR.parent.parent / "charts" / BASE_CHART_NAME,
                    f"base chart {BASE_CHART_NAME!r}")


def source_checkout_root() -> Path | None:
    """The repository root when running from a source checkout, else None."""
    root = _PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() else None
