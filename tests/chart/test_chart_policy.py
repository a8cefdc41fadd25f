"""checkov on the rendered chart: every combination of the hardening options passes, except
the findings the chart README accepts (each with its reason and the condition it holds for).

The allow-list is read from the chart's README, so what is documented is exactly what is
enforced: a finding the table does not list fails, and so does a listed one that no longer
occurs (a stale reason), per combination.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from common import PROJECT_ROOT

from inference_scaffolder.chart import chart_source_dir
from inference_scaffolder.tools import run_helm

pytestmark = pytest.mark.slow

CHECKOV_ENV = "INFERENCE_SCAFFOLDER_CHECKOV"
DIGEST = "sha256:" + "ab" * 32
README_SECTION = "## checkov findings we accept"


@dataclass(frozen=True)
class Combination:
    """One choice of every option the hardening depends on."""

    engine: str
    non_root: bool
    network_policy: bool
    engine_digest: bool
    test_digest: bool
    features: bool  # routing, autoscaling, model cache, PDB, pull secret all on

    @property
    def name(self) -> str:
        flags = [self.non_root, self.network_policy, self.engine_digest, self.test_digest,
                 self.features]
        return f"{self.engine}-" + "".join("1" if f else "0" for f in flags)

    def sets(self) -> list[str]:
        # Distinct names and namespaces per combination: checkov's graph checks match
        # NetworkPolicies to pods by labels across every file of one run.
        values = [
            f"serviceName=c-{self.name}", f"namespace=ns-{self.name}", f"engine={self.engine}",
            f"podSecurity.runAsNonRoot={str(self.non_root).lower()}",
            f"networkPolicy.enabled={str(self.network_policy).lower()}",
        ]
        if self.engine_digest:
            values.append(f"container.image.digest={DIGEST}")
        if self.test_digest:
            values.append(f"helmTest.image.digest={DIGEST}")
        if self.features:
            values += [
                "routing.enabled=true", "networkPolicy.litellmNamespace=litellm",
                "routing.envoyAIGateway.enabled=true",
                "routing.rateLimit.enabled=true", "autoscaling.enabled=true",
                "autoscaling.prometheus.serverAddress=http://prometheus.monitoring.svc:9090",
                "modelCache.enabled=true", "podDisruptionBudget.enabled=true",
                "imagePullSecret.enabled=true", "imagePullSecret.vaultPath=/secret/ghcr",
                f"routing.inferencePool.enabled={str(self.engine == 'vllm').lower()}",
            ]
        return values


COMBINATIONS = [
    Combination(*choice)
    for choice in itertools.product(["tgi", "vllm"], *[(False, True)] * 5)
]

# The README's "When" column, as predicates over a combination.
CONDITIONS: dict[str, Callable[[Combination], bool]] = {
    "always": lambda c: True,
    "podSecurity.runAsNonRoot off": lambda c: not c.non_root,
    "networkPolicy.enabled off": lambda c: not c.network_policy,
    "container.image.digest empty": lambda c: not c.engine_digest,
    "helmTest.image.digest empty": lambda c: not c.test_digest,
}


@dataclass(frozen=True)
class Accepted:
    check: str
    kind: str
    when: str
    why: str


def accepted_findings() -> list[Accepted]:
    """The rows of the README's table of accepted findings."""
    text = (chart_source_dir() / "README.md").read_text(encoding="utf-8")
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"CKV2?_K8S_\d+", cells[0]):
            rows.append(Accepted(*cells))
    return rows


def find_checkov() -> str:
    """checkov from $INFERENCE_SCAFFOLDER_CHECKOV or the venv scripts/install-checkov.sh
    makes; missing is a failure, not a skip (the test must run in CI)."""
    configured = os.environ.get(CHECKOV_ENV)
    candidate = Path(configured) if configured else PROJECT_ROOT / ".tools/checkov/bin/checkov"
    assert candidate.is_file(), f"no checkov at {candidate}: run scripts/install-checkov.sh"
    return str(candidate)


def render_combinations(directory: Path) -> None:
    chart = chart_source_dir()
    for combination in COMBINATIONS:
        args = ["template", f"r-{combination.name}", str(chart),
                "-f", str(chart / "ci" / "default-values.yaml")]
        for value in combination.sets():
            args += ["--set", value]
        result = run_helm(args)
        assert result.ok, (combination, result.stderr)
        (directory / f"{combination.name}.yaml").write_text(result.stdout, encoding="utf-8")


def checkov_failures(directory: Path) -> dict[str, set[tuple[str, str]]]:
    """Failed (check, object kind) pairs per rendered file (combination name)."""
    done = subprocess.run(
        [find_checkov(), "-d", str(directory), "--framework", "kubernetes", "--quiet",
         "--compact", "--output", "json", "--skip-download"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    reports = json.loads(done.stdout)
    failures: dict[str, set[tuple[str, str]]] = {c.name: set() for c in COMBINATIONS}
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report["results"]["failed_checks"]:
            name = Path(failed["file_path"]).stem
            failures[name].add((failed["check_id"], failed["resource"].split(".", 1)[0]))
    return failures


def test_the_readme_table_names_only_known_conditions() -> None:
    rows = accepted_findings()
    assert len(rows) >= 5, "the README table of accepted checkov findings was not found"
    for row in rows:
        assert row.when in CONDITIONS, row
        assert len(row.why.split()) >= 5, f"{row.check}: one real reason per check"


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str]]]:
    directory = tmp_path_factory.mktemp("rendered-combinations")
    render_combinations(directory)
    return checkov_failures(directory)


def test_every_combination_fails_exactly_the_accepted_checks(
    failures: dict[str, set[tuple[str, str]]],
) -> None:
    rows = accepted_findings()
    problems = []
    for combination in COMBINATIONS:
        expected = {(r.check, r.kind) for r in rows if CONDITIONS[r.when](combination)}
        found = failures[combination.name]
        if found - expected:
            problems.append(f"{combination.name}: not accepted {sorted(found - expected)}")
        if expected - found:
            problems.append(f"{combination.name}: accepted but passing {sorted(expected - found)}")
    assert not problems, "\n".join(problems)


def test_the_fully_hardened_combination_fails_only_the_unconditional_checks(
    failures: dict[str, set[tuple[str, str]]],
) -> None:
    hardened = Combination("vllm", True, True, True, True, True)
    assert failures[hardened.name] == {
        ("CKV_K8S_11", "Deployment"),
        ("CKV_K8S_35", "Deployment"),
        ("CKV_K8S_8", "Pod"),
        ("CKV_K8S_9", "Pod"),
    }
