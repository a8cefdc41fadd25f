"""`install-node-tools` when npm cannot install: one line naming the command, exit 1 (the
machine, not the input, is at fault), and no half-installed folder left where `schema-pr`
would look."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference_scaffolder.cli import main
from inference_scaffolder.platform_pr import node_tools


def test_a_failed_npm_install_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    # An empty npm cache and --offline: npm ci cannot get a single package.
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))
    code = main(["install-node-tools", "--offline"])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: install-node-tools: npm ci failed"), err
    installs = data / "inference-scaffolder" / "node-tools"
    assert list(installs.iterdir()) == []  # no temporary folder, no partial install
    assert not (node_tools.user_tools_dir() / "node_modules").exists()
