"""Running ``inference-scaffolder verify`` in-process, as a user runs it: through the CLI
root's exit-code mapping, with its stdout and stderr captured."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inference_scaffolder import cli


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_verify(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    code = cli.main(["verify", *args])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def isolate_verify_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the verify command, and no API key from the developer's environment."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("verify",))
    monkeypatch.delenv("INFERENCE_API_KEY", raising=False)
