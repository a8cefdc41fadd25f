"""safe_fs: the one way the tool reads and writes files of trees it does not control."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import (
    ConfinedTree,
    read_regular_file,
    read_text_file,
    refuse_links,
    refuse_links_out,
    within,
)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(repository, a folder outside it with a victim file)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious")
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (repo / "a" / "b" / "file").write_text("inside")
    return repo, outside


def test_confined_tree_never_follows_a_link_on_any_component(tree: tuple[Path, Path]) -> None:
    repo, outside = tree
    os.symlink(outside, repo / "a" / "out")
    os.symlink("b", repo / "a" / "in")
    files = ConfinedTree(repo)
    for relative in ("a/out/victim", "a/in/file", "a/out"):
        with pytest.raises(UserError) as refused:
            files.read(relative)
        assert refused.value.field in ("a/out", "a/in")
        assert "symbolic link" in refused.value.rule
    for action in (lambda: files.write("a/out/victim", b"x"),
                   lambda: files.write("a/out/new", b"x"),
                   lambda: files.remove("a/out/victim"),
                   lambda: files.files("a"),
                   lambda: files.names("a/out"),
                   lambda: files.exists("a/out/victim")):
        with pytest.raises(UserError):
            action()
    assert (outside / "victim").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]


def test_confined_tree_reads_writes_and_lists_plain_files(tree: tuple[Path, Path]) -> None:
    repo, _ = tree
    files = ConfinedTree(repo, limit=16)
    assert files.read("a/b/file") == b"inside"
    assert files.read("a/b/missing") is None and files.read("x/y/z") is None
    files.write("new/deep/file", b"written")
    assert (repo / "new" / "deep" / "file").read_bytes() == b"written"
    assert files.files("new") == {"deep/file": b"written"}
    files.remove("new/deep/file")
    assert not (repo / "new" / "deep" / "file").exists()
    (repo / "big").write_bytes(b"x" * 17)
    with pytest.raises(UserError, match="larger than 16"):
        files.read("big")
    with pytest.raises(UserError, match="inside the repository"):
        files.read("../outside/victim")


def test_special_files_are_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(UserError, match="not a regular file"):
            read_regular_file(path, 1024, "--answers")
    with pytest.raises(UserError, match="FIFO"):
        ConfinedTree(tmp_path).read("fifo")
    (tmp_path / "text").write_bytes(b"caf\xe9")
    with pytest.raises(UserError, match="not UTF-8 text"):
        read_text_file(tmp_path / "text", 1024, "model_config")


def test_refuse_links_out_lets_links_inside_pass(tree: tuple[Path, Path]) -> None:
    repo, outside = tree
    os.symlink("b", repo / "a" / "in")
    os.symlink("..", repo / "a" / "b" / "parent")  # a loop through the parent: walked once
    os.symlink("missing", repo / "a" / "dangling")
    refuse_links_out(repo, [repo / "a"])
    os.symlink(outside / "victim", repo / "a" / "b" / "out")
    with pytest.raises(UserError) as refused:
        refuse_links_out(repo, [repo / "a"], shown_root="REPO")
    assert refused.value.field == "REPO/a/b/out"
    assert "outside the repository" in refused.value.rule


def test_refuse_links_out_refuses_special_files_big_files_and_loops(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    os.mkfifo(repo / "fifo")
    with pytest.raises(UserError, match="FIFO"):
        refuse_links_out(repo, [repo])
    (repo / "fifo").unlink()
    (repo / "big").write_bytes(b"x" * 11)
    with pytest.raises(UserError, match="larger than 10"):
        refuse_links_out(repo, [repo], limit=10)
    (repo / "big").unlink()
    os.symlink("two", repo / "one")
    os.symlink("one", repo / "two")
    with pytest.raises(UserError, match="loop"):
        refuse_links_out(repo, [repo])


def test_within_and_refuse_links(tree: tuple[Path, Path]) -> None:
    repo, outside = tree
    os.symlink(outside, repo / "out")
    assert within(repo, repo / "a" / "b" / "file")
    assert not within(repo, repo / "out" / "victim")
    with pytest.raises(UserError, match="symbolic link"):
        refuse_links(repo, "out/victim")
    refuse_links(repo, "a/b/file")


@pytest.mark.parametrize(
    ("links", "named"),
    [({"a/creds": "../.git/config"}, "a/creds"),
     ({"a/gitdir": "../.git"}, "a/gitdir"),
     ({"a/objects": "../.git/objects"}, "a/objects"),
     # a chain: the first link points at a link that reaches .git (both are refused; the
     # walk may meet either first)
     ({"a/first": "second", "a/second": "../.git/config"}, "a/first a/second"),
     # .git as a file (a worktree's pointer to its git folder)
     ({"a/worktree": "../b/.git"}, "a/worktree")],
    ids=["config", "folder", "objects", "chain", "git-file"],
)
def test_a_link_into_git_is_refused_though_it_stays_inside(
    tmp_path: Path, links: dict[str, str], named: str
) -> None:
    """.git/config of a CI checkout holds its credentials (extraheader, a token in a remote
    URL); a template or a Kustomization would print what the link reaches."""
    repo = tmp_path / "repo"
    (repo / "a").mkdir(parents=True)
    (repo / ".git" / "objects").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[http]\n\textraheader = AUTHORIZATION: basic x\n")
    (repo / "b").mkdir()
    (repo / "b" / ".git").write_text("gitdir: ../.git\n")
    for relative, target in links.items():
        os.symlink(target, repo / relative)
    with pytest.raises(UserError) as refused:
        refuse_links_out(repo, [repo / "a"])
    assert refused.value.field in named.split()
    assert ".git" in refused.value.rule
    with pytest.raises(UserError) as refused:
        ConfinedTree(repo).refuse_links_out()
    assert ".git" in refused.value.rule


def test_links_to_names_that_only_look_like_git_pass(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".gitignore").write_text("/x\n")
    (repo / "a").mkdir()
    os.symlink("../.github/workflows", repo / "a" / "workflows")
    os.symlink("../.gitignore", repo / "a" / "ignore")
    refuse_links_out(repo, [repo / "a"])


def test_a_hard_link_is_refused_in_a_fresh_clone_only(tmp_path: Path) -> None:
    """git never checks out a hard link, so in the tool's own clone one was planted (it
    may be any file of the host on that file system). On a user's disk (validate) hard
    links are the user's own business and pass."""
    repo = tmp_path / "repo"
    (repo / "a").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    os.link(victim, repo / "a" / "linked")
    refuse_links_out(repo, [repo / "a"])
    with pytest.raises(UserError) as refused:
        ConfinedTree(repo).refuse_links_out()
    assert refused.value.field == "a/linked"
    assert "hard links" in refused.value.rule
