"""The generated repository's own CI: a GitHub Actions workflow that runs ``validate`` on
every change with the same tools, and the same scaffolder release, as the team runs locally.

Written as data (GitHub's ``${{ }}`` expressions are plain strings here, never template
source). Where the scaffolder comes from is a repository or organisation variable, so a
platform team can point every service at its own package index or at a git tag:

- ``INFERENCE_SCAFFOLDER_SOURCE``: a pip requirement; default
  ``inference-scaffolder==<template version>`` (the release that generated the repository;
  ``update`` moves it with the template). Examples:
  ``git+https://github.com/acme/inference-scaffolder@v0.1.0``, a wheel URL.
- ``PIP_INDEX_URL``: the package index; default PyPI.
"""

from __future__ import annotations

from typing import Any

from inference_scaffolder.answers import Answers
from inference_scaffolder.tools import HELM_VERSION, KUBECTL_VERSION

WORKFLOW_PATH = ".github/workflows/validate.yaml"
PYTHON_VERSION = "3.12"
SOURCE_VARIABLE = "INFERENCE_SCAFFOLDER_SOURCE"
INDEX_VARIABLE = "PIP_INDEX_URL"
DEFAULT_INDEX = "https://pypi.org/simple"


def scaffolder_requirement(template_version: str) -> str:
    return f"inference-scaffolder=={template_version}"


def _variable_or(name: str, default: str) -> str:
    return f"${{{{ vars.{name} || '{default}' }}}}"


def ci_workflow(answers: Answers, template_version: str) -> dict[str, Any]:
    """The workflow: install the pinned tools and scaffolder, validate every environment."""
    return {
        "name": "validate",
        "on": {"pull_request": {}, "push": {"branches": ["main"]}},
        "permissions": {"contents": "read"},
        "jobs": {"validate": {
            "runs-on": "ubuntu-latest",
            "env": {
                "INFERENCE_SCAFFOLDER_SPEC": _variable_or(
                    SOURCE_VARIABLE, scaffolder_requirement(template_version)),
                "PIP_INDEX_URL": _variable_or(INDEX_VARIABLE, DEFAULT_INDEX),
            },
            "steps": [
                {"uses": "actions/checkout@v4"},
                {"uses": "azure/setup-helm@v4", "with": {"version": HELM_VERSION}},
                {"uses": "azure/setup-kubectl@v4", "with": {"version": KUBECTL_VERSION}},
                {"uses": "actions/setup-python@v5", "with": {"python-version": PYTHON_VERSION}},
                {"name": "Install the scaffolder",
                 "run": 'python -m pip install "$INFERENCE_SCAFFOLDER_SPEC"'},
                {"name": "Validate every environment",
                 "run": "inference-scaffolder validate . --json > validation.json "
                        "|| { cat validation.json; exit 1; }"},
            ],
        }},
    }


WORKFLOW_HEADER = (
    "Validates every environment on each change (helm lint, helm template, Kubernetes and\n"
    "CRD schemas, GitOps wiring), with the command the team runs locally:\n"
    "  inference-scaffolder validate .\n"
    f"The scaffolder is pinned to the release that generated this repository. Set the\n"
    f"repository or organisation variable {SOURCE_VARIABLE} to install it from elsewhere\n"
    "(e.g. git+https://github.com/<org>/inference-scaffolder@v<version>), and\n"
    f"{INDEX_VARIABLE} for a private package index. helm and kubectl match the versions\n"
    "the scaffolder is tested with."
)
