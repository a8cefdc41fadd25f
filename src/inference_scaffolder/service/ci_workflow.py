"""The generated repository's own CI: a GitHub Actions workflow that runs ``validate`` on
every change with the same tools as the team runs locally, and the scaffolder from the
source the platform configured.

Written as data (GitHub's ``${{ }}`` expressions are plain strings here, never template
source). Where the scaffolder comes from is the platform's setting ``scaffolder_source`` (a
pip requirement: a ``git+https://…@<tag>`` URL, a wheel URL, or ``name==version`` on the
platform's own index), recorded with the answers and written into the workflow. The
repository or organisation variable ``INFERENCE_SCAFFOLDER_SOURCE`` overrides it, and
``PIP_INDEX_URL`` names a private index. With no source at all the first step fails with one
line naming that variable: a bare package name would install whatever a public index serves
under it.
"""

from __future__ import annotations

from typing import Any

from inference_scaffolder.answers import SCAFFOLDER_SOURCE_VARIABLE, Answers
from inference_scaffolder.tools import HELM_VERSION, KUBECTL_VERSION

WORKFLOW_PATH = ".github/workflows/validate.yaml"
PYTHON_VERSION = "3.12"
SOURCE_VARIABLE = SCAFFOLDER_SOURCE_VARIABLE
INDEX_VARIABLE = "PIP_INDEX_URL"
DEFAULT_INDEX = "https://pypi.org/simple"
# The one line the first step prints when no source is configured (also the test's anchor).
NO_SOURCE_MESSAGE = (
    f"error: {SOURCE_VARIABLE}: no source of inference-scaffolder is configured; set the "
    f"repository or organisation variable {SOURCE_VARIABLE} to the pip requirement the "
    "platform publishes it as (a git+https URL at a tag, a wheel URL, or name==version on "
    "the platform's index)"
)


def _variable_or(name: str, default: str) -> str:
    if not default:
        return f"${{{{ vars.{name} }}}}"
    return f"${{{{ vars.{name} || '{default}' }}}}"


def _check_source_step() -> dict[str, Any]:
    """Fails first, in one line, when nothing says where the scaffolder comes from."""
    quoted = NO_SOURCE_MESSAGE.replace("'", "'\\''")
    return {"name": "Check the scaffolder source",
            "run": f"if [ -z \"$INFERENCE_SCAFFOLDER_SPEC\" ]; then echo '{quoted}' >&2; "
                   "exit 1; fi"}


def ci_workflow(answers: Answers) -> dict[str, Any]:
    """The workflow: check the source, install the pinned tools and the scaffolder,
    validate every environment."""
    # GitHub expressions quote with single quotes; a requirement with one is refused by
    # the answer's rule (no spaces), and doubled here all the same.
    source = str(answers.get("scaffolder_source") or "").replace("'", "''")
    return {
        "name": "validate",
        "on": {"pull_request": {}, "push": {"branches": ["main"]}},
        "permissions": {"contents": "read"},
        "jobs": {"validate": {
            "runs-on": "ubuntu-latest",
            "env": {
                "INFERENCE_SCAFFOLDER_SPEC": _variable_or(SOURCE_VARIABLE, source),
                "PIP_INDEX_URL": _variable_or(INDEX_VARIABLE, DEFAULT_INDEX),
            },
            "steps": [
                _check_source_step(),
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


def workflow_header(answers: Answers) -> str:
    """The comment at the top of the workflow: what it does and what a team may set."""
    source = answers.get("scaffolder_source") or ""
    where = (f"The scaffolder is installed from {source} (the platform's setting when this\n"
             "repository was generated)." if source else
             "No scaffolder source was configured when this repository was generated: the\n"
             "first step fails until one is set.")
    return (
        "Validates every environment on each change (helm lint, helm template, Kubernetes and\n"
        "CRD schemas, GitOps wiring), with the command the team runs locally:\n"
        "  inference-scaffolder validate .\n"
        f"{where} The repository or organisation variable\n"
        f"{SOURCE_VARIABLE} overrides it (a pip requirement, e.g.\n"
        "git+https://github.com/<org>/inference-scaffolder@v<version>), and\n"
        f"{INDEX_VARIABLE} names a private package index. helm and kubectl match the versions\n"
        "the scaffolder is tested with; the base chart comes from the platform's Helm\n"
        "repository at the version each environment pins."
    )
