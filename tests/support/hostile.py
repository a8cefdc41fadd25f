"""Helpers for tests that treat repositories and files as hostile.

- :func:`run_cli` runs the real CLI in a subprocess with a time bound and a private
  ``TMPDIR`` (so a test can check that no temporary folder was left behind);
- :func:`snapshot` records a folder completely (types, bytes, link targets, modes), so a test
  can prove that nothing outside the repository under test changed;
- :func:`bare_with` builds a platform-schemas-types bare repository whose commit holds
  symbolic links and odd files (git stores a link as a link);
- :func:`commit_all` commits a service repository's working tree as it is.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from schema_repo_fixture import fixture_files, git, write_tree

CLI = str(Path(sys.executable).with_name("inference-scaffolder"))
# Every command a test runs must end well within this (no hang on FIFOs, devices, big files).
RUN_BOUND_SECONDS = 240


def run_cli(*args: str, tmp: Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: int = RUN_BOUND_SECONDS) -> subprocess.CompletedProcess[str]:
    """The CLI with ``TMPDIR=tmp`` (created); raises TimeoutExpired past ``timeout``."""
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "TMPDIR": str(tmp), **(env or {})},
                          timeout=timeout, stdin=subprocess.DEVNULL)


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def assert_refused(done: subprocess.CompletedProcess[str], field: str | None = None,
                   *, mentions: str = "") -> str:
    """Exit 2 with exactly one ``error:`` line (naming ``field`` when given), no traceback;
    returns that line."""
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = error_lines(done)
    assert len(lines) == 1, done.stderr
    if field is not None:
        assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert mentions in lines[0], lines[0]
    return lines[0]


def snapshot(root: Path) -> dict[str, tuple[str, object]]:
    """Everything under ``root`` (not following links): path -> (kind, content)."""
    found: dict[str, tuple[str, object]] = {}
    if not os.path.lexists(root):
        return found
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                found[key] = ("file", (path.read_bytes(), stat.S_IMODE(info.st_mode)))
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                found[key] = ("other", stat.S_IFMT(info.st_mode))
    return found


def make_outside(root: Path) -> Path:
    """A folder beside the repositories, with files a run must never touch."""
    outside = root / "outside"
    (outside / "nested").mkdir(parents=True)
    (outside / "victim.txt").write_text("precious\n")
    (outside / "nested" / "values.yaml").write_text("namespace: stolen\n")
    (outside / "Chart.yaml").write_text("apiVersion: v2\nname: stolen\nversion: 9.9.9\n")
    return outside


def place_link(root: Path, relative: str, target: str) -> None:
    """Make ``root/relative`` a symbolic link to ``target`` (replacing what was there)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    os.symlink(target, path)


def bare_with(root: Path, *, links: dict[str, str] | None = None,
              files: dict[str, bytes] | None = None, name: str = "target.git") -> Path:
    """A bare platform-schemas-types repository whose ``main`` also holds ``links``
    (path -> link target) and ``files`` (path -> bytes)."""
    work = root / f"{name}-seed"
    work.mkdir(parents=True)
    write_tree(work, fixture_files())
    for relative, data in (files or {}).items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        path.write_bytes(data)
    for relative, target in (links or {}).items():
        place_link(work, relative, target)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "hostile fixture", cwd=work)
    bare = root / name
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True,
                   capture_output=True)
    shutil.rmtree(work)
    return bare


def commit_all(repo: Path, message: str = "hand edit") -> None:
    """Commit the working tree as it is (links stay links)."""
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=repo)


def leftovers(tmp: Path) -> list[str]:
    """What a run left in its TMPDIR (the lock folder of schema-pr is meant to stay)."""
    if not tmp.exists():
        return []
    lock_folder = f"inference-scaffolder-{os.geteuid()}"
    return sorted(p.name for p in tmp.iterdir() if p.name != lock_folder)
