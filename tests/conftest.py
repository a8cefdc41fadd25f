"""Shared fixtures: example answers and one generated repository reused across tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from common import EXAMPLES

from inference_scaffolder.answers import collect_answers
from inference_scaffolder.generation.generate import GenerationResult, generate


@pytest.fixture(scope="session")
def tinyllama_repo(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    """The TGI example generated once: render + validate + commit, every environment."""
    out = tmp_path_factory.mktemp("generated")
    answers = collect_answers(EXAMPLES / "tgi-tinyllama.yaml")
    return generate(answers, out)


@pytest.fixture
def repo_copy(tinyllama_repo: GenerationResult, tmp_path: Path) -> Path:
    """A private copy of the generated repository that a test may modify."""
    target = tmp_path / tinyllama_repo.output.name
    shutil.copytree(tinyllama_repo.output, target, symlinks=True)
    return target
