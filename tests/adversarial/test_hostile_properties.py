"""Property: whatever a hostile repository holds, the tool stays inside it and ends.

Hypothesis plants random hostile things in random places of

- the target repository of ``schema-pr --dry-run`` (a local bare repository; git can hold
  links, big files, odd bytes and long lines, but no FIFO), and
- a service repository given to ``validate`` (working tree: FIFOs too) or ``promote``
  (committed: what git can hold),

links in and out (to a folder and a file outside, to /dev/zero, inside, to a parent),
FIFOs, large files, bytes that are not UTF-8, one very long line, very deep nesting and
alias bombs, and asserts for every run:

- nothing outside the repository changes (a folder of victims beside it is compared byte
  for byte, links and modes included), and no temporary folder stays behind;
- the command ends within a bound (a subprocess timeout, not a timing assert);
- the exit code is 0, 1 or 2, with at most one ``error:`` line and no traceback.

The examples are derandomized and few, so CI time stays bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hostile import (
    RUN_BOUND_SECONDS,
    bare_with,
    commit_all,
    error_lines,
    leftovers,
    make_outside,
    place_link,
    run_cli,
    snapshot,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference_scaffolder.generation.generate import GenerationResult

pytestmark = pytest.mark.slow

PROPERTY_SETTINGS = settings(
    max_examples=20, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LINK_KINDS = ("link-out-folder", "link-out-file", "link-dev-zero", "link-inside", "link-parent")
CONTENT_KINDS = ("big-file", "odd-bytes", "long-line", "deep-nesting", "alias-bomb",
                 "plain-file")

TARGET_PLACES = (
    "charts/ml-inference-load", "charts/ml-inference-load/values.yaml",
    "charts/ml-inference-load/templates/extra.yaml", "charts", "src/shared/platform.ts",
    "src/shared/index.ts", "src/workloadChartValues/index.ts",
    "src/workloadChartValues/workloadSchema.ts",
    ".cat/backstage/ml-inference-load.catalog-info.yaml",
    ".cat/backstage/basic-container-load.catalog-info.yaml",
    "charts/basic-container-load/values.yaml", "src/extra/added.ts", "docs/notes.md",
)
SERVICE_PLACES = (
    "environments", "environments/dev", "environments/dev/values.yaml",
    "environments/dev/kustomization.yaml", "environments/dev/extra.yaml",
    "environments/dev/charts", "environments/syst", "environments/syst/values.yaml",
    "environments/syst/kustomization.yaml", "environments/prod/kustomization.yaml",
    "argocd", "argocd/dev.yaml", "argocd/syst.yaml", ".inference-scaffolder",
    ".inference-scaffolder/answers.yaml", ".inference-scaffolder/model-config.json",
    # A repository from before the leaf layout: its chart/ copy is read too.
    "chart", "chart/Chart.yaml", "docs/extra.md", "README.md",
)


def plants(places: tuple[str, ...], kinds: tuple[str, ...]) -> st.SearchStrategy:
    """1-3 (place, kind) pairs: what to plant where."""
    return st.lists(st.tuples(st.sampled_from(places), st.sampled_from(kinds)),
                    min_size=1, max_size=3, unique_by=lambda pair: pair[0]).filter(
        lambda plan: not any(inner.startswith(outer + "/") for outer, _ in plan
                             for inner, _ in plan))


def content(kind: str) -> bytes:
    """A file of the hostile kind (deterministic: the places vary, not the bytes)."""
    if kind == "big-file":
        return b"# padding\n" + b"x" * (9 * 1024 * 1024)
    if kind == "odd-bytes":
        return b"key: \xff\xfe\x00\x1b[31m\xc3\x28 caf\xe9\r\n\x85\xe2\x80\xa8\n"
    if kind == "long-line":
        return b"export type X = " + b"A | " * 75_000 + b"B;\n"
    if kind == "deep-nesting":
        return b"a: " + b"[" * 30_000 + b"]" * 30_000 + b"\n"
    if kind == "plain-file":  # harmless: where nothing else breaks, the run goes through
        return b"# notes\n"
    # alias-bomb: nine levels of ten aliases
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return ("\n".join(lines) + "\n").encode()


def link_target(kind: str, root: Path, place: str, outside: Path) -> str:
    return {
        "link-out-folder": str(outside / "nested"),
        "link-out-file": str(outside / "victim.txt"),
        "link-dev-zero": "/dev/zero",
        "link-inside": os.path.relpath(root / "README.md", (root / place).parent),
        "link-parent": "..",
    }[kind]


def plant(root: Path, place: str, kind: str, outside: Path) -> None:
    """Put ``kind`` at ``root/place`` (replacing a file or folder there)."""
    path = root / place
    if kind.startswith("link"):
        place_link(root, place, link_target(kind, root, place, outside))
        return
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(content(kind))


def assert_contained(done: subprocess.CompletedProcess[str], outside: Path,
                     before: dict, tmp: Path) -> None:
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(error_lines(done)) <= 1, done.stderr[-3000:]
    assert snapshot(outside) == before
    assert leftovers(tmp) == []


@pytest.mark.node
@PROPERTY_SETTINGS
@given(planted=plants(TARGET_PLACES, LINK_KINDS + CONTENT_KINDS))
def test_schema_pr_dry_run_stays_inside_a_hostile_target(planted: list[tuple[str, str]]
                                                         ) -> None:
    with tempfile.TemporaryDirectory(prefix="hostile-target-") as name:
        root = Path(name)
        outside = make_outside(root)
        seed = root / "seed"
        seed.mkdir()
        links: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for place, kind in planted:
            if kind.startswith("link"):
                # Targets as the clone will see them: relative ones stay relative.
                links[place] = link_target(kind, Path("/repo"), place, outside)
            else:
                files[place] = content(kind)
        bare = bare_with(root, links=links, files=files)
        before = snapshot(outside)
        bare_before = snapshot(bare)
        done = run_cli("schema-pr", "--repo", str(bare), "--dry-run", tmp=root / "tmp",
                       timeout=RUN_BOUND_SECONDS)
        assert_contained(done, outside, before, root / "tmp")
        assert snapshot(bare) == bare_before


@PROPERTY_SETTINGS
@given(planted=plants(SERVICE_PLACES, (*LINK_KINDS, *CONTENT_KINDS, "fifo")),
       command=st.sampled_from(["validate", "promote"]))
def test_validate_and_promote_stay_inside_a_hostile_service_repository(
    tinyllama_repo: GenerationResult, planted: list[tuple[str, str]], command: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="hostile-service-") as name:
        root = Path(name)
        outside = make_outside(root)
        repo = root / "service"
        shutil.copytree(tinyllama_repo.output, repo, symlinks=True)
        has_fifo = any(kind == "fifo" for _, kind in planted)
        for place, kind in planted:
            plant(repo, place, kind, outside)
        if command == "promote" and not has_fifo:  # git cannot hold a FIFO
            commit_all(repo)
            args = ["promote", str(repo), "--from", "dev", "--to", "syst"]
        else:
            args = ["validate", str(repo)]
        before = snapshot(outside)
        done = run_cli(*args, tmp=root / "tmp", timeout=RUN_BOUND_SECONDS)
        assert_contained(done, outside, before, root / "tmp")
