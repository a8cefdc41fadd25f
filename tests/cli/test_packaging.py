"""Built as a release is (``python -m build``) and installed with a plain ``pip install``,
the CLI finds its template, the base chart it generates for, its CRD schemas and, after
``install-node-tools``, the Node tools ``schema-pr`` runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from common import EXAMPLES, PROJECT_ROOT
from schema_repo_fixture import make_bare_repo

from inference_scaffolder.chart import chart_version
from inference_scaffolder.tools import find_helm


@dataclass(frozen=True)
class WheelInstall:
    venv: Path
    site: Path

    @property
    def cli(self) -> str:
        return str(self.venv / "bin" / "inference-scaffolder")


def _outside_env(**extra: str) -> dict[str, str]:
    """The environment of a user outside the checkout: helm from configuration, nothing of
    the checkout's configuration."""
    dropped = {"INFERENCE_SCAFFOLDER_CRD_SCHEMAS", "INFERENCE_SCAFFOLDER_NODE_TOOLS",
               "INFERENCE_SCAFFOLDER_TSC"}
    return {**{k: v for k, v in os.environ.items() if k not in dropped},
            "INFERENCE_SCAFFOLDER_HELM": find_helm(), **extra}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel_install(tmp_path_factory: pytest.TempPathFactory) -> WheelInstall:
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheels = tmp_path / "wheels"
    # As a release is built: `python -m build` makes the sdist, then the wheel from the
    # unpacked sdist, so a file the sdist leaves out breaks the wheel here too.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(wheels), str(PROJECT_ROOT)],
        capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    sdist = next(wheels.glob("inference_scaffolder-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml"} <= names, sorted(names)
    wheel = next(wheels.glob("inference_scaffolder-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Reuse this environment's dependencies (no network install of the whole stack): the
    # package itself comes only from the wheel, so a missing package-data file would show.
    site = Path(subprocess.check_output(
        [str(venv / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                    "--quiet", str(wheel)], check=True, capture_output=True, timeout=300)
    return WheelInstall(venv, site)


def test_wheel_install_works_from_any_directory(wheel_install: WheelInstall,
                                                tmp_path: Path) -> None:
    venv, site = wheel_install.venv, wheel_install.site
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "inference-scaffolder"), "new", "--answers",
         str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input", "--output-dir", str(elsewhere),
         "--set", "environments=dev", "--json"],
        capture_output=True, text=True, cwd=elsewhere, timeout=300,
        # Outside the checkout helm comes from configuration; the CRD schemas are the wheel's.
        env=_outside_env(INFERENCE_SCAFFOLDER_CHART_CACHE=str(tmp_path / "chart-cache")))
    assert done.returncode == 0, done.stderr
    located = subprocess.check_output(
        [str(venv / "bin" / "python"), "-c",
         "from inference_scaffolder.paths import template_dir; print(template_dir())"],
        text=True, cwd=elsewhere).strip()
    assert located.startswith(str(site)), located  # the wheel's copy, not the checkout
    # The base chart travels in the wheel (`new` rendered and validated it offline) ...
    chart = Path(subprocess.check_output(
        [str(venv / "bin" / "python"), "-c",
         "from inference_scaffolder.chart import chart_source_dir; print(chart_source_dir())"],
        text=True, cwd=elsewhere).strip())
    assert chart == site / "inference_scaffolder" / "_charts" / "ml-inference-load", chart
    for name in ("Chart.yaml", "values.yaml", "values.schema.json", "templates/deployment.yaml",
                 "templates/_helpers.tpl"):
        assert (chart / name).is_file(), name
    source = PROJECT_ROOT / "charts" / "ml-inference-load"
    assert _files(chart) == _files(source)  # the bytes of this checkout's chart
    assert not (tmp_path / "chart-cache").exists()  # nothing was fetched or cached
    carried = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert carried["version"] == chart_version()
    # ... and the generated repository is a leaf pinning it: no copy of the chart.
    service = elsewhere / "tinyllama-chat"
    assert not (service / "chart").exists()
    assert (service / "environments" / "dev" / "values.yaml").is_file()
    kustomization = yaml.safe_load(
        (service / "environments" / "dev" / "kustomization.yaml").read_text())
    assert [(c["name"], c["version"]) for c in kustomization["helmCharts"]] == [
        ("ml-inference-load", carried["version"])]
    # Validated with the CRD schemas inside the wheel, which carries their provenance.
    assert json.loads(done.stdout)["validation"]["crd_schemas"] == "bundled"
    bundled = site / "inference_scaffolder" / "checks" / "crd_schemas"
    assert (bundled / "PROVENANCE.md").is_file()
    assert (bundled / "LICENSE-Apache-2.0.txt").is_file()
    assert (bundled / "cert-manager.io" / "certificate_v1.json").is_file()
    # schema-pr's pinned Node tools travel with the release (`npm ci` there installs them).
    node_tools = site / "inference_scaffolder" / "_node_tools"
    for name in ("package.json", "package-lock.json", "ts-edit.cjs", "schema-to-ts.cjs",
                 "check-values.cjs", "platform-pr.cjs"):
        assert (node_tools / name).is_file(), name


def test_a_wheel_installs_its_node_tools_and_opens_the_schema_pr(wheel_install: WheelInstall,
                                                                 tmp_path: Path) -> None:
    """From a wheel, schema-pr first says how to get its Node tools; install-node-tools gets
    them (from npm's cache here: the checkout's `npm ci` filled it, and tests stay off the
    network) into the user's data folder, and schema-pr then runs end to end."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _outside_env(XDG_DATA_HOME=str(tmp_path / "data"))
    bare = make_bare_repo(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([wheel_install.cli, *args], capture_output=True, text=True,
                              cwd=elsewhere, env=env, timeout=600)

    before = run("schema-pr", "--repo", str(bare), "--dry-run")
    assert before.returncode == 2, before.stderr
    assert "run `inference-scaffolder install-node-tools`" in before.stderr

    installed = run("install-node-tools", "--offline", "--json")
    assert installed.returncode == 0, installed.stderr
    tools = Path(json.loads(installed.stdout)["node_tools"])
    assert tools.parent == tmp_path / "data" / "inference-scaffolder" / "node-tools"
    assert (tools / "node_modules" / "typescript").is_dir()
    assert [p.name for p in tools.parent.iterdir()] == [tools.name]  # no leftover temp folder
    again = run("install-node-tools", "--offline", "--json")
    assert json.loads(again.stdout)["node_tools"] == str(tools)

    done = run("schema-pr", "--repo", str(bare), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "opened"
