"""A generated repository's own CI workflow passes as generated.

The workflow's ``run:`` steps are executed as a runner would: in the repository, with the
job's environment (``${{ vars.X || 'default' }}`` evaluated from the variables a platform team
sets), in a fresh virtualenv that has nothing installed, with helm and kubectl on PATH at the
versions the ``setup-*`` steps name. The scaffolder comes from a wheel built from this
checkout, configured as the platform's scaffolder source when the repository is generated.
With no source configured, the first step fails with one line naming the variable to set.
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
from common import EXAMPLES, PROJECT_ROOT

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.generation.generate import generate
from inference_scaffolder.service.ci_workflow import (
    NO_SOURCE_MESSAGE,
    SOURCE_VARIABLE,
    WORKFLOW_PATH,
)
from inference_scaffolder.tools import find_helm, find_kubectl

_VARIABLE_OR_DEFAULT = re.compile(r"\$\{\{ vars\.(\w+)(?: \|\| '([^']*)')? \}\}")


def evaluate(value: str, variables: dict[str, str]) -> str:
    """The GitHub expressions this workflow uses: ``vars.NAME`` and ``vars.NAME ||
    'default'``; any other expression fails the test (the runner would need more than we
    emulate)."""
    resolved = _VARIABLE_OR_DEFAULT.sub(
        lambda m: variables.get(m.group(1)) or (m.group(2) or ""), value)
    assert "${{" not in resolved, f"unsupported expression in {value!r}"
    return resolved


def tool_version(tool: str) -> str:
    args = ["version", "--short"] if Path(tool).name == "helm" else ["version", "--client"]
    out = subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout
    return re.search(r"v\d+\.\d+\.\d+", out).group(0)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout: what the platform publishes as the scaffolder source."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(wheels), str(PROJECT_ROOT)], check=True, capture_output=True,
                   timeout=300)
    return next(wheels.glob("inference_scaffolder-*.whl"))


def generated(tmp_path: Path, *overrides: str) -> Path:
    answers = collect_answers(EXAMPLES / "tgi-tinyllama.yaml", list(overrides))
    return generate(answers, tmp_path / "out", git_init=False).output


def workflow_of(repo: Path) -> dict[str, Any]:
    return yaml.safe_load((repo / WORKFLOW_PATH).read_text(encoding="utf-8"))


def run_steps(repo: Path, workflow: dict[str, Any], variables: dict[str, str],
              runner: Path) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    """The job's ``run:`` steps in order, as a runner runs them, until one fails."""
    subprocess.run([sys.executable, "-m", "venv", str(runner / "venv")], check=True,
                   timeout=120)
    # What the setup-helm / setup-kubectl / setup-python steps put on PATH.
    tools = runner / "tools"
    tools.mkdir()
    for tool in (find_helm(), find_kubectl()):
        (tools / Path(tool).name).symlink_to(tool)
    checkout = runner / "checkout"
    shutil.copytree(repo, checkout, symlinks=True)
    job = workflow["jobs"]["validate"]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("INFERENCE_SCAFFOLDER_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(runner / "venv" / "bin"), str(tools), "/usr/bin", "/bin"])
    env["HOME"] = str(runner)
    env.update({k: evaluate(str(v), variables) for k, v in job["env"].items()})
    done = []
    for step in (s for s in job["steps"] if "run" in s):
        step_env = {**env, **{k: evaluate(str(v), variables)
                              for k, v in step.get("env", {}).items()}}
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=checkout, env=step_env,
                                capture_output=True, text=True, timeout=900)
        done.append((step["name"], result))
        if result.returncode:
            break
    return done


def test_the_workflow_installs_the_configured_source_and_pins_the_tools(
    tmp_path: Path, wheel: Path
) -> None:
    source = "git+https://git.example.com/platform/inference-scaffolder@v0.2.0"
    workflow = workflow_of(generated(tmp_path, f"scaffolder_source={source}"))
    job = workflow["jobs"]["validate"]
    assert evaluate(job["env"]["INFERENCE_SCAFFOLDER_SPEC"], {}) == source
    # A team or organisation variable still points it elsewhere.
    assert evaluate(job["env"]["INFERENCE_SCAFFOLDER_SPEC"], {SOURCE_VARIABLE: "x==1"}) == "x==1"
    setup = {s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s}
    # The same helm and kubectl as the scaffolder runs here (helm 4, not 3).
    assert setup["azure/setup-helm"]["version"] == tool_version(find_helm())
    assert setup["azure/setup-kubectl"]["version"] == tool_version(find_kubectl())
    assert "CRD_SCHEMAS" not in yaml.safe_dump(workflow)  # the schemas are in the package
    assert "inference-scaffolder==" not in yaml.safe_dump(workflow)  # no bare public name


def test_the_workflow_steps_pass_with_the_configured_source(
    tmp_path: Path, wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Configured the way a platform configures it: the variable the CLI reads.
    monkeypatch.setenv(SOURCE_VARIABLE, str(wheel))
    repo = generated(tmp_path)
    steps = run_steps(repo, workflow_of(repo), {}, tmp_path / "runner")

    assert [(name, r.returncode) for name, r in steps] == [
        ("Check the scaffolder source", 0), ("Install the scaffolder", 0),
        ("Validate every environment", 0)], steps[-1][1].stderr[-2000:]
    report = yaml.safe_load((tmp_path / "runner/checkout/validation.json").read_text())
    assert report["ok"] is True
    assert report["crd_schemas"] == "bundled"
    assert [e["environment"] for e in report["environments"]] == ["dev", "syst", "uat", "prod"]


def test_with_no_source_the_first_step_fails_in_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SOURCE_VARIABLE, raising=False)
    repo = generated(tmp_path)
    steps = run_steps(repo, workflow_of(repo), {}, tmp_path / "runner")

    assert [name for name, _ in steps] == ["Check the scaffolder source"]
    failed = steps[0][1]
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr == NO_SOURCE_MESSAGE + "\n"
    assert failed.stderr.startswith(f"error: {SOURCE_VARIABLE}: ")


def test_the_install_script_pins_the_versions_the_workflow_names() -> None:
    """scripts/install-helm.sh and the generated workflow agree on one helm and kubectl."""
    from inference_scaffolder.tools import HELM_VERSION, KUBECTL_VERSION

    script = (PROJECT_ROOT / "scripts" / "install-helm.sh").read_text(encoding="utf-8")
    assert f"helm_version={HELM_VERSION}\n" in script
    assert f"kubectl_version={KUBECTL_VERSION}\n" in script
