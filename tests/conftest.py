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


# What each folder's or file's tests need beyond the core (markers in pyproject.toml); a test
# elsewhere that needs one carries the marker itself.
NEEDS_BY_PATH = {
    "backstage": "backstage",
    "real_serving": "real_serving",
    "platform_pr": "node",
    "cli/test_packaging.py": "build",
    "chart/test_chart_policy.py": "checkov",
    # End to end through processes (the CLI, helm and kustomize per case, servers): seconds
    # per test.
    "adversarial/test_confinement.py": "slow",
    "adversarial/test_properties.py": "slow",
    "checks/test_routing.py": "slow",
    "checks/test_litellm_engine_key.py": "slow",
    "chart/test_name_lengths.py": "slow",
    "cli/test_cli.py": "slow",
    "generation/test_ci_workflow.py": "slow",
    "generation/test_capacity_in_generation.py": "slow",
    "lifecycle/test_chart_versions.py": "slow",
    "lifecycle/test_history.py": "slow",
    "lifecycle/test_promote.py": "slow",
    "rendering/test_base_charts.py": "slow",
    "rendering/test_helm_batch.py": "slow",
    "verify/test_hostile_servers.py": "slow",
    "verify/test_verify_refusals.py": "slow",
    "registration/test_register_local.py": "slow",
    "routing/test_routing_migration.py": "slow",
}
# Fixtures that bring a tool of a tier with them.
NEEDS_BY_FIXTURE = {
    "backstage_module": "backstage",
}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under a folder or file of ``NEEDS_BY_PATH`` with what it needs, so a
    tier can deselect it (``scripts/test.sh --fast``)."""
    for item in items:
        relative = item.path.relative_to(TESTS).as_posix()
        for prefix, marker in NEEDS_BY_PATH.items():
            if relative == prefix or relative.startswith(prefix + "/"):
                item.add_marker(marker)
        for fixture, marker in NEEDS_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
