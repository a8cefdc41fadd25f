"""Local git: the first commit of a generated repository, and commits built beside a user's
working tree without touching it (promote, update).

GitPython is imported inside the functions that need it: it costs ~50 ms, and ``new`` (which
only makes the first commit, with plain ``git``) should not pay for it.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from inference_scaffolder.confine import trusted_child_env
from inference_scaffolder.errors import UserError

if TYPE_CHECKING:
    import git

SCAFFOLDER_NAME = "inference-scaffolder"
SCAFFOLDER_EMAIL = "inference-scaffolder@localhost"
# Author and committer of what the tool writes on its own (first commit, renders).
SCAFFOLDER_IDENTITY = {
    "GIT_AUTHOR_NAME": SCAFFOLDER_NAME,
    "GIT_AUTHOR_EMAIL": SCAFFOLDER_EMAIL,
    "GIT_COMMITTER_NAME": SCAFFOLDER_NAME,
    "GIT_COMMITTER_EMAIL": SCAFFOLDER_EMAIL,
}


# --- the first commit (plain git) ------------------------------------------------------------




def _git(project_dir: Path, *args: str, stdin: str | None = None) -> str:
    """Run one git command in ``project_dir``; a failure carries git's own message."""
    done = subprocess.run(
        ["git", *args],
        cwd=project_dir,
        env={**trusted_child_env(), **SCAFFOLDER_IDENTITY},
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def initial_commit(project_dir: Path, message: str) -> str:
    """``git init`` on main and commit everything; returns the commit sha.

    Plain git commands, not GitPython: importing GitPython costs ~50 ms and two extra
    ``git version`` processes on every ``new``. The commit is byte-for-byte the one GitPython's
    ``index.commit`` wrote (same tree, identity, dates and verbatim message; never signed).
    """
    _git(project_dir, "init", "--quiet", "--initial-branch=main")
    _git(project_dir, "add", "-A")
    _git(project_dir, "-c", "commit.gpgsign=false", "commit", "--quiet", "--cleanup=verbatim",
         "--file=-", stdin=message)
    (project_dir / ".git" / "COMMIT_EDITMSG").unlink(missing_ok=True)  # as GitPython leaves it
    return _git(project_dir, "rev-parse", "HEAD").strip()


# --- a repository the user works in ----------------------------------------------------------


def open_repository(directory: Path) -> git.Repo:
    """The git repository whose top level is ``directory``."""
    import git  # GitPython: ~50 ms to import, kept off the `new` path

    try:
        repo = git.Repo(directory)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UserError("DIR", f"{directory} is not a git repository") from None
    if repo.bare or Path(repo.working_tree_dir or "").resolve() != directory.resolve():
        raise UserError("DIR", f"{directory} is not the top level of a git working tree")
    return repo


def require_clean(repo: git.Repo, doing: str) -> None:
    """Refuse to work on a tree with uncommitted or untracked changes (they could be lost or
    slip into the commit unreviewed)."""
    if repo.is_dirty(index=True, working_tree=True, untracked_files=True):
        raise UserError("DIR", f"the working tree has uncommitted changes; commit or stash them "
                        f"before {doing}")


def current_branch(repo: git.Repo) -> str:
    if repo.head.is_detached:
        raise UserError("DIR", "HEAD is detached; check out the branch to promote on (main)")
    return repo.active_branch.name


# --- commits built beside the working tree (no checkout, no change to the user's index) ------


def export_commit(repo: git.Repo, commit: str, dest: Path) -> None:
    """The tree of ``commit`` as plain files in ``dest`` (``git archive``).

    The archive goes through a temporary file, not memory (a repository may hold large
    files), and is unpacked with tarfile's "data" filter: a symbolic link that points
    outside the repository (absolute, or up through ``..``) is refused with one line naming
    it instead of being recreated."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=dest.parent) as data:
        repo.git.archive(commit, format="tar", output_stream=data)
        data.seek(0)
        with tarfile.open(fileobj=data) as archive:
            try:
                archive.extractall(dest, filter="data")
            except tarfile.FilterError as exc:
                info = exc.tarinfo
                target = f" to {info.linkname}" if info.issym() or info.islnk() else ""
                raise UserError(info.name, f"is a link{target} that leaves the repository, or "
                                "a path outside it; refusing to follow it") from None


def author_environment(repo: git.Repo) -> dict[str, str]:
    """The user's git identity when configured (they made the change), else the tool's."""
    probe = repo.git.execute(["git", "var", "GIT_AUTHOR_IDENT"], with_exceptions=False,
                             with_extended_output=True)
    if probe[0] == 0:
        return {}
    return dict(SCAFFOLDER_IDENTITY)


def commit_files(repo: git.Repo, parent: str, files: dict[str, Path], message: str,
                 workdir: Path) -> str:
    """A commit on top of ``parent`` with ``files`` (repo path -> content file) replaced,
    built in a temporary index; returns its sha. Nothing else in the repository changes."""
    env = {**os.environ, "GIT_INDEX_FILE": str(workdir / "promote.index"),
           **author_environment(repo)}
    run = repo.git.execute
    run(["git", "read-tree", parent], env=env)
    for path, content in files.items():
        blob = run(["git", "hash-object", "-w", "--", str(content)], env=env).strip()
        mode = run(["git", "ls-tree", parent, "--", path], env=env).split(" ", 1)[0] or "100644"
        run(["git", "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"], env=env)
    tree = run(["git", "write-tree"], env=env).strip()
    return run(["git", "commit-tree", tree, "-p", parent, "-m", message], env=env).strip()


def create_branch(repo: git.Repo, branch: str, commit: str) -> bool:
    """Create ``branch`` at ``commit``; True when an identical branch already existed (the same
    promotion prepared before). A different existing branch is refused, never moved."""
    import git

    try:
        existing = repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}")
    except git.GitCommandError:
        existing = ""
    if existing:
        if repo.git.rev_parse(f"{existing}^{{tree}}") == repo.git.rev_parse(f"{commit}^{{tree}}"):
            return True
        raise UserError("--to", f"branch {branch} already exists with other changes; "
                        f"delete it (git branch -D {branch}) or promote from a new commit")
    repo.git.update_ref(f"refs/heads/{branch}", commit, "")
    return False


def commit_directory(repo: git.Repo, directory: Path, parents: list[str], message: str,
                     index: Path) -> str:
    """Commit the files of ``directory`` (honouring its .gitignore) into ``repo``'s object
    store with a private index; returns the commit sha. No ref, no working tree changes."""
    env = {**os.environ, **SCAFFOLDER_IDENTITY, "GIT_INDEX_FILE": str(index)}
    import git

    run = git.Git(str(directory)).execute
    base = ["git", f"--git-dir={repo.git_dir}", f"--work-tree={directory}"]
    run([*base, "add", "--all", "."], env=env)
    tree = run([*base, "write-tree"], env=env).strip()
    parent_args = [arg for p in parents for arg in ("-p", p)]
    return run([*base, "commit-tree", tree, *parent_args, "-m", message], env=env).strip()
