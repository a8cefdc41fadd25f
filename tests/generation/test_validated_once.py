"""``new`` validates its answers once: generation trusts the validated answers it is given,
and only a plain cookiecutter run, whose hooks get nothing but cookiecutter's context (which
its user controls), validates in the hooks (tests/cli/test_cli.py runs that path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from common import EXAMPLES

from inference_scaffolder.answers import rules
from inference_scaffolder.cli import generate as cli_generate
from inference_scaffolder.cli import main
from inference_scaffolder.generation import hooks


def test_new_validates_the_answers_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    validate = rules.validate_answers

    def counted(raw: dict[str, Any]) -> dict[str, Any]:
        calls.append(dict(raw))
        return validate(raw)

    # Wherever the CLI and generation can reach the validation from.
    monkeypatch.setattr(rules, "validate_answers", counted)
    monkeypatch.setattr(hooks, "validate_answers", counted)
    monkeypatch.setattr(cli_generate, "validate_answers", counted, raising=False)
    code = main(["new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                 "--output-dir", str(tmp_path), "--no-git", "--set", "environments=dev"])
    assert code == 0
    assert (tmp_path / "tinyllama-chat" / "environments" / "dev" / "values.yaml").is_file()
    assert len(calls) == 1
