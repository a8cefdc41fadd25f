"""Progress of a fleet `validate` on standard error: its steps shown while standard error is
a terminal, nothing with --json (standard output stays one JSON document) or in a log."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from common import EXAMPLES
from terminal import CLI, in_terminal

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.generation.generate import generate

pytestmark = pytest.mark.slow

CHECKING = "rendering, linting and checking environments"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("fleet")
    return [generate(collect_answers(EXAMPLES / "tgi-tinyllama.yaml",
                                     [f"service_name={name}", "environments=dev"]),
                     out, git_init=False, validate=False).output
            for name in ("svc-a", "svc-b")]


def test_fleet_validate_shows_its_steps_on_a_terminal_only(
    fleet: list[Path], tmp_path: Path,
) -> None:
    repos = shlex.join(map(str, fleet))
    code, shown = in_terminal(f"{shlex.quote(CLI)} validate {repos}", tmp_path)
    assert code == 0, shown
    for step in ("✓ reading the repositories (2/2",
                 "✓ finding the base chart each environment pins (2/2",
                 f"✓ {CHECKING} (2/2"):
        assert step in shown, shown

    out = tmp_path / "report.json"
    code, shown = in_terminal(f"{shlex.quote(CLI)} validate {repos} --json > {out}", tmp_path)
    assert code == 0, shown
    assert shown.strip() == ""  # standard error is the terminal: still silent
    assert json.loads(out.read_text())["ok"] is True  # one JSON document

    logged = subprocess.run([CLI, "validate", *map(str, fleet)], capture_output=True,
                            text=True, timeout=300)
    assert logged.returncode == 0, logged.stderr
    assert CHECKING not in logged.stderr and "reading the repositories" not in logged.stderr
    assert "validation of" in logged.stderr  # the report itself is still there
