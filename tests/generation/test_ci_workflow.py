"""A generated repository's own CI workflow passes as generated.

The workflow's ``run:`` steps are executed as a runner would: in the repository, with the
job's environment (``${{ vars.X || 'default' }}`` evaluated from the variables a platform team
sets), in a fresh virtualenv that has nothing installed, with helm and kubectl on PATH at the
versions the ``setup-*`` steps name. The scaffolder comes from a wheel built from this
checkout, through the workflow's own install-source variable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from common import PROJECT_ROOT

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.generation.generate import GenerationResult
from inference_scaffolder.service.ci_workflow import SOURCE_VARIABLE, WORKFLOW_PATH
from inference_scaffolder.tools import find_helm, find_kubectl

_VARIABLE_OR_DEFAULT = re.compile(r"\$\{\{ vars\.(\w+) \|\| '([^']*)' \}\}")


def evaluate(value: str, variables: dict[str, str]) -> str:
    """The GitHub expressions this workflow uses: ``vars.NAME || 'default'``; any other
    expression fails the test (the runner would need more than we emulate)."""
    resolved = _VARIABLE_OR_DEFAULT.sub(
        lambda m: variables.get(m.group(1)) or m.group(2), value)
    assert "${{" not in resolved, f"unsupported expression in {value!r}"
    return resolved


def tool_version(tool: str) -> str:
    args = ["version", "--short"] if Path(tool).name == "helm" else ["version", "--client"]
    out = subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout
    return re.search(r"v\d+\.\d+\.\d+", out).group(0)


@pytest.fixture(scope="module")
def workflow(tinyllama_repo: GenerationResult) -> dict[str, Any]:
    return yaml.safe_load((tinyllama_repo.output / WORKFLOW_PATH).read_text(encoding="utf-8"))


def test_the_workflow_pins_the_scaffolder_and_the_tools(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["validate"]
    assert evaluate(job["env"]["INFERENCE_SCAFFOLDER_SPEC"], {}) == \
        f"inference-scaffolder=={TEMPLATE_VERSION}"
    setup = {s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s}
    # The same helm and kubectl as the scaffolder runs here (helm 4, not 3).
    assert setup["azure/setup-helm"]["version"] == tool_version(find_helm())
    assert setup["azure/setup-kubectl"]["version"] == tool_version(find_kubectl())
    assert "CRD_SCHEMAS" not in yaml.safe_dump(workflow)  # the schemas are in the package


def test_the_workflow_steps_pass_as_generated(
    workflow: dict[str, Any], tinyllama_repo: GenerationResult, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(wheels), str(PROJECT_ROOT)], check=True, capture_output=True,
                   timeout=300)
    wheel = next(wheels.glob("inference_scaffolder-*.whl"))
    runner = tmp_path / "runner"
    subprocess.run([sys.executable, "-m", "venv", str(runner / "venv")], check=True,
                   timeout=120)
    # What the setup-helm / setup-kubectl / setup-python steps put on PATH.
    tools = runner / "tools"
    tools.mkdir()
    for tool in (find_helm(), find_kubectl()):
        (tools / Path(tool).name).symlink_to(tool)
    checkout = runner / "checkout"
    shutil.copytree(tinyllama_repo.output, checkout, symlinks=True)

    job = workflow["jobs"]["validate"]
    variables = {SOURCE_VARIABLE: str(wheel)}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("INFERENCE_SCAFFOLDER_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(runner / "venv" / "bin"), str(tools), "/usr/bin", "/bin"])
    env["HOME"] = str(runner)
    env.update({k: evaluate(str(v), variables) for k, v in job["env"].items()})
    runs = [step for step in job["steps"] if "run" in step]
    assert [s["name"] for s in runs] == ["Install the scaffolder", "Validate every environment"]
    for step in runs:
        step_env = {**env, **{k: evaluate(str(v), variables)
                              for k, v in step.get("env", {}).items()}}
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=checkout, env=step_env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{step['name']}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    report = yaml.safe_load((checkout / "validation.json").read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert report["crd_schemas"] == "bundled"
    assert [e["environment"] for e in report["environments"]] == ["dev", "syst", "uat", "prod"]


def test_the_install_script_pins_the_versions_the_workflow_names() -> None:
    """scripts/install-helm.sh and the generated workflow agree on one helm and kubectl."""
    from inference_scaffolder.tools import HELM_VERSION, KUBECTL_VERSION

    script = (PROJECT_ROOT / "scripts" / "install-helm.sh").read_text(encoding="utf-8")
    assert f"helm_version={HELM_VERSION}\n" in script
    assert f"kubectl_version={KUBECTL_VERSION}\n" in script
