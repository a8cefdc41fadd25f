"""Progress of `schema-pr` on standard error: its steps shown while standard error is a
terminal (a run takes seconds, more under load), nothing with --json."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from schema_repo_fixture import make_bare_repo
from terminal import CLI, in_terminal

pytestmark = pytest.mark.slow



def test_schema_pr_shows_its_steps_on_a_terminal_but_not_with_json(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path / "first")
    code, shown = in_terminal(f"{shlex.quote(CLI)} schema-pr --repo {shlex.quote(str(bare))}",
                              tmp_path)
    assert code == 0, shown
    steps = ["✓ cloning main", "✓ helm lint charts/ml-inference-load",
             "✓ type check (tsc --noEmit)", "✓ publishing inference-scaffolder/ml-inference-load"]
    for step in steps:
        assert step in shown, shown
    positions = [shown.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "opened: inference-scaffolder/ml-inference-load" in shown

    bare = make_bare_repo(tmp_path / "second")
    out = tmp_path / "result.json"
    code, shown = in_terminal(
        f"{shlex.quote(CLI)} schema-pr --repo {shlex.quote(str(bare))} --json > {out}", tmp_path)
    assert code == 0, shown
    assert shown.strip() == ""  # standard error is the terminal: still silent
    assert json.loads(out.read_text())["status"] == "opened"  # one JSON document
