"""One real vLLM engine at a time, shared by every test that wants that configuration.

An engine takes a minute or more to start on 2 cores, so each configuration starts once per
run. Tests ask for one with ``uses_engine("open")`` / ``uses_engine("keyed")`` (an indirect,
session-scoped parametrization): pytest then runs all tests of one configuration together
and stops that engine before it starts the next, so only one engine holds memory at a time.

Configurations, both generated from ``examples/vllm-llama-8b.yaml`` with ``routing: true``:
- ``open``: one GPU (``--tensor-parallel-size 1``), no engine API key;
- ``keyed``: the example as it is: two GPUs (``--tensor-parallel-size 2``) and
  ``VLLM_API_KEY`` from Vault.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import generated, render_list
from common import EXAMPLES
from serving_programs import (
    ENVIRONMENT,
    RunningEngine,
    fake_vault,
    require_real_serving,
    running_engine,
)

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "open": {"routing": True, "gpu_count": 1, "extra_secrets": [],
             "image_pull_secret": False},
    "keyed": {"routing": True},
}


def generate_service(configuration: str, out: Path) -> Path:
    """Generate (and validate) the example with the configuration's answers."""
    answers = yaml.safe_load((EXAMPLES / "vllm-llama-8b.yaml").read_text(encoding="utf-8"))
    answers.update(CONFIGURATIONS[configuration])
    return generated(answers, out).output


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """The running engine of ``request.param``'s configuration (see the module docstring)."""
    require_real_serving()
    configuration = str(request.param)
    workdir = tmp_path_factory.mktemp(f"engine-{configuration}")
    repo = generate_service(configuration, workdir / "generated")
    objects = render_list(repo, ENVIRONMENT)
    with running_engine(configuration, repo, ENVIRONMENT, objects, fake_vault(objects),
                        workdir) as running:
        yield running
