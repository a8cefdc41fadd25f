"""Installed with a plain (non-editable) ``pip install``, the CLI finds its template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from common import EXAMPLES, PROJECT_ROOT

from inference_scaffolder.tools import find_helm


def test_wheel_install_works_from_any_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels),
         str(PROJECT_ROOT)], check=True, capture_output=True, timeout=300)
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
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "inference-scaffolder"), "new", "--answers",
         str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input", "--output-dir", str(elsewhere),
         "--set", "environments=dev", "--json"],
        capture_output=True, text=True, cwd=elsewhere, timeout=300,
        # Outside the checkout helm comes from configuration; the CRD schemas are the wheel's.
        env={**{k: v for k, v in os.environ.items() if k != "INFERENCE_SCAFFOLDER_CRD_SCHEMAS"},
             "INFERENCE_SCAFFOLDER_HELM": find_helm()})
    assert done.returncode == 0, done.stderr
    located = subprocess.check_output(
        [str(venv / "bin" / "python"), "-c",
         "from inference_scaffolder.paths import template_dir; print(template_dir())"],
        text=True, cwd=elsewhere).strip()
    assert located.startswith(str(site)), located  # the wheel's copy, not the checkout
    assert (elsewhere / "tinyllama-chat" / "chart" / "values.schema.json").is_file()
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
