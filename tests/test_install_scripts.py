"""The setup scripts decide "already installed" reliably.

CI once failed at random in scripts/install-helm.sh: the version check piped
`kubectl version --client` into `grep -q` under `set -o pipefail`. grep exits at its first
match, kubectl then dies of SIGPIPE writing its second line, and pipefail turns that into
"did not give helm ... and kubectl ...". Here the tools are stand-ins that pause before their
second line, which makes that race certain instead of occasional.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from common import PROJECT_ROOT

from inference_scaffolder.tools import HELM_VERSION, KUBECTL_VERSION


def _stand_in(path: Path, *lines: str) -> None:
    """An executable that prints ``lines``, pausing before each after the first."""
    body = "".join(f"{'sleep 0.3; ' if i else ''}echo '{line}'\n" for i, line in enumerate(lines))
    path.write_text(f"#!/bin/sh\n{body}", encoding="utf-8")
    path.chmod(0o755)


def _install_helm_in(root: Path) -> subprocess.CompletedProcess[str]:
    (root / "scripts").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "scripts" / "install-helm.sh", root / "scripts")
    # Offline: should the check fail, the script must not fetch anything from a test.
    env = {**os.environ, "npm_config_offline": "true", "npm_config_cache": str(root / "npm")}
    return subprocess.run(["bash", str(root / "scripts" / "install-helm.sh")],
                          capture_output=True, text=True, env=env, timeout=120)


def test_pinned_tools_that_print_several_lines_count_as_installed(tmp_path: Path) -> None:
    bin_dir = tmp_path / ".tools" / "bin"
    bin_dir.mkdir(parents=True)
    _stand_in(bin_dir / "helm", f"{HELM_VERSION}+g0000000", "(a second line)")
    _stand_in(bin_dir / "kubectl", f"Client Version: {KUBECTL_VERSION}",
              "Kustomize Version: v5.7.1")
    done = _install_helm_in(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stdout
    assert "(a second line)" in (bin_dir / "helm").read_text()  # the stand-ins were kept


def test_another_kubectl_version_is_not_taken_for_the_pinned_one(tmp_path: Path) -> None:
    """The check still tells versions apart: a kubectl whose *server* line carries the pinned
    version is not the pinned client."""
    bin_dir = tmp_path / ".tools" / "bin"
    bin_dir.mkdir(parents=True)
    _stand_in(bin_dir / "helm", f"{HELM_VERSION}+g0000000")
    _stand_in(bin_dir / "kubectl", "Client Version: v1.30.0",
              f"Server Version: {KUBECTL_VERSION}")
    done = _install_helm_in(tmp_path)
    assert "already installed" not in done.stdout
