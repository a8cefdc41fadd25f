"""The folder of ``schema-pr``'s local lock files is private to the user running it.

Any local user can create names in the shared temporary folder. Whatever they put at the
lock folder's name (a file, a link, a folder of theirs, a folder anyone can write to), a run
must neither end in a traceback nor use it: it takes its lock in a folder only its user can
write, or runs without the local lock and says so (the push stays compare-and-swap).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr.pull_request import repo_lock

SHARED_NAME = "inference-scaffolder-locks"  # the shared folder earlier versions used
OTHER_UID = 65534  # nobody


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of its own, and no runtime folder, for each test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return folder


def private_name() -> str:
    return f"inference-scaffolder-{os.geteuid()}"


def plant(kind: str, path: Path, elsewhere: Path) -> None:
    """What another local user could leave at ``path``."""
    if kind == "file":
        path.write_text("not a folder\n")
    elif kind == "link":
        elsewhere.mkdir(exist_ok=True)
        path.symlink_to(elsewhere)
    elif kind == "world-writable":
        path.mkdir()
        path.chmod(0o777)
    elif kind == "group-readable":
        path.mkdir()
        path.chmod(0o750)
    elif kind == "other-owner":
        if os.geteuid() != 0:
            pytest.skip("planting a folder owned by another user needs root")
        path.mkdir(mode=0o700)
        os.chown(path, OTHER_UID, OTHER_UID)
    else:
        raise AssertionError(kind)


KINDS = ["file", "link", "world-writable", "group-readable", "other-owner"]


def assert_private(folder: Path) -> None:
    info = folder.lstat()
    assert stat.S_ISDIR(info.st_mode)
    assert info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) & 0o077 == 0


@pytest.mark.parametrize("kind", KINDS)
def test_anything_at_the_old_shared_name_is_ignored(tmp: Path, kind: str) -> None:
    shared, elsewhere = tmp / SHARED_NAME, tmp.parent / "elsewhere"
    plant(kind, shared, elsewhere)
    with repo_lock("repo\nbranch") as warning:
        assert warning is None
    for folder in (shared, elsewhere):  # no lock file in another user's reach
        if folder.is_dir():
            assert list(folder.iterdir()) == []
    assert_private(tmp / private_name())
    assert next(p.name for p in (tmp / private_name()).iterdir()).endswith(".lock")


@pytest.mark.parametrize("kind", KINDS)
def test_anything_but_a_private_folder_at_the_lock_name_is_not_used(
    tmp: Path, kind: str
) -> None:
    planted = tmp / private_name()
    elsewhere = tmp.parent / "elsewhere"
    plant(kind, planted, elsewhere)
    before = planted.lstat()
    with repo_lock("repo\nbranch") as warning:
        assert warning is not None and "not serialised" in warning
        assert str(planted) in warning and "\n" not in warning
    after = planted.lstat()
    assert (after.st_mode, after.st_uid, after.st_ino) == (
        before.st_mode, before.st_uid, before.st_ino)
    if planted.is_dir() and not planted.is_symlink():
        assert list(planted.iterdir()) == []  # no lock file written into it
    if elsewhere.exists():
        assert list(elsewhere.iterdir()) == []  # nothing through the link


def test_the_lock_folder_is_created_private_and_serialises_runs(tmp: Path) -> None:
    outcome: list[str] = []

    def second_run() -> None:
        try:
            with repo_lock("repo\nbranch", timeout=0.2):
                outcome.append("entered")
        except UserError as exc:
            outcome.append(str(exc))

    with repo_lock("repo\nbranch") as warning:
        assert warning is None
        other = threading.Thread(target=second_run)
        other.start()
        other.join(timeout=30)
    assert len(outcome) == 1 and "held the lock" in outcome[0]
    assert_private(tmp / private_name())
    with repo_lock("repo\nbranch"):  # released: the next run gets it
        pass


def test_the_runtime_folder_is_preferred_when_set(
    tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with repo_lock("repo\nbranch") as warning:
        assert warning is None
    assert_private(runtime / "inference-scaffolder")
    assert not (tmp / private_name()).exists()


def test_a_bad_runtime_folder_falls_back_to_the_temporary_folder(
    tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    plant("world-writable", runtime / "inference-scaffolder", tmp_path / "elsewhere")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with repo_lock("repo\nbranch") as warning:
        assert warning is None
    assert_private(tmp / private_name())


@pytest.mark.slow
def test_schema_pr_with_both_names_planted_runs_and_says_it_was_not_serialised(
    tmp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from schema_repo_fixture import branch_sha, make_bare_repo

    from inference_scaffolder.cli import main

    bare = make_bare_repo(tmp_path)
    plant("file", tmp / SHARED_NAME, tmp_path / "elsewhere")
    plant("link", tmp / private_name(), tmp_path / "elsewhere")
    code = main(["schema-pr", "--repo", str(bare), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["status"] == "opened"
    assert result["commit"] == branch_sha(bare, "inference-scaffolder/ml-inference-load")
    assert any("not serialised" in w for w in result["warnings"])
    assert list((tmp_path / "elsewhere").iterdir()) == []
