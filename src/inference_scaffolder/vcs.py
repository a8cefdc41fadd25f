"""Local git: the first commit of a generated repository, and commits built beside a user's
working tree without touching it (promote, update). Every git run goes through
:mod:`inference_scaffolder.gitcli`.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from inference_scaffolder import gitcli
from inference_scaffolder.errors import UserError
from inference_scaffolder.gitcli import Repository

SCAFFOLDER_NAME = "inference-scaffolder"
SCAFFOLDER_EMAIL = "inference-scaffolder@localhost"
# Author and committer of what the tool writes on its own (first commit, renders).
SCAFFOLDER_IDENTITY = {
    "GIT_AUTHOR_NAME": SCAFFOLDER_NAME,
    "GIT_AUTHOR_EMAIL": SCAFFOLDER_EMAIL,
    "GIT_COMMITTER_NAME": SCAFFOLDER_NAME,
    "GIT_COMMITTER_EMAIL": SCAFFOLDER_EMAIL,
}


# --- the first commit -------------------------------------------------------------------------


def initial_commit(project_dir: Path, message: str) -> str:
    """``git init`` on main and commit everything as the tool; returns the commit sha. The
    message is kept verbatim and the commit is never signed."""
    repo = Repository(project_dir, SCAFFOLDER_IDENTITY)
    repo.check("init", "--quiet", "--initial-branch=main")
    repo.check("add", "-A")
    repo.check("-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify",
               "--cleanup=verbatim", "--file=-", stdin=message)
    (project_dir / ".git" / "COMMIT_EDITMSG").unlink(missing_ok=True)
    return repo.head()


# --- a repository the user works in ----------------------------------------------------------


def open_repository(directory: Path) -> Repository:
    """The git repository whose top level is ``directory``."""
    return gitcli.open_repository(directory, "DIR")


def require_clean(repo: Repository, doing: str) -> None:
    """Refuse to work on a tree with uncommitted or untracked changes (they could be lost or
    slip into the commit unreviewed)."""
    if repo.is_dirty():
        raise UserError("DIR", f"the working tree has uncommitted changes; commit or stash them "
                        f"before {doing}")


def current_branch(repo: Repository) -> str:
    branch = repo.current_branch()
    if branch is None:
        raise UserError("DIR", "HEAD is detached; check out the branch to promote on (main)")
    return branch


# --- commits built beside the working tree (no checkout, no change to the user's index) ------


def export_commit(repo: Repository, commit: str, dest: Path) -> None:
    """The tree of ``commit`` as plain files in ``dest`` (``git archive``).

    The archive goes through a temporary file, not memory (a repository may hold large
    files), and is unpacked with tarfile's "data" filter: a symbolic link that points
    outside the repository (absolute, or up through ``..``) is refused with one line naming
    it instead of being recreated."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=dest.parent) as data:
        repo.archive(commit, data)
        data.seek(0)
        with tarfile.open(fileobj=data) as archive:
            try:
                archive.extractall(dest, filter="data")
            except tarfile.FilterError as exc:
                info = exc.tarinfo
                target = f" to {info.linkname}" if info.issym() or info.islnk() else ""
                raise UserError(info.name, f"is a link{target} that leaves the repository, or "
                                "a path outside it; refusing to follow it") from None


def author_environment(repo: Repository) -> dict[str, str]:
    """The user's git identity when configured (they made the change), else the tool's."""
    if repo.run("var", "GIT_AUTHOR_IDENT").ok:
        return {}
    return dict(SCAFFOLDER_IDENTITY)


def commit_files(repo: Repository, parent: str, files: dict[str, Path], message: str,
                 workdir: Path) -> str:
    """A commit on top of ``parent`` with ``files`` (repo path -> content file) replaced,
    built in a temporary index; returns its sha. Nothing else in the repository changes."""
    env = {"GIT_INDEX_FILE": str(workdir / "promote.index"), **author_environment(repo)}
    repo.check("read-tree", parent, env=env)
    for path, content in files.items():
        blob = repo.check("hash-object", "-w", "--", str(content), env=env).strip()
        listed = repo.check("ls-tree", parent, "--", path, env=env)
        mode = listed.split(" ", 1)[0] or "100644"
        repo.check("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
    tree = repo.check("write-tree", env=env).strip()
    return repo.check("commit-tree", tree, "-p", parent, "-m", message, env=env).strip()


def create_branch(repo: Repository, branch: str, commit: str) -> bool:
    """Create ``branch`` at ``commit``; True when an identical branch already existed (the same
    promotion prepared before). A different existing branch is refused, never moved."""
    existing = repo.resolve(f"refs/heads/{branch}")
    if existing:
        if repo.rev_parse(f"{existing}^{{tree}}") == repo.rev_parse(f"{commit}^{{tree}}"):
            return True
        raise UserError("--to", f"branch {branch} already exists with other changes; "
                        f"delete it (git branch -D {branch}) or promote from a new commit")
    repo.check("update-ref", f"refs/heads/{branch}", commit, "")
    return False


def commit_directory(repo: Repository, directory: Path, parents: list[str], message: str,
                     index: Path) -> str:
    """Commit the files of ``directory`` (honouring its .gitignore) into ``repo``'s object
    store with a private index; returns the commit sha. No ref, no working tree changes."""
    git_dir = _git_dir(repo)
    env = {**SCAFFOLDER_IDENTITY, "GIT_INDEX_FILE": str(index)}
    base = [f"--git-dir={git_dir}", f"--work-tree={directory}"]
    gitcli.check([*base, "add", "--all", "."], directory, env=env)
    tree = gitcli.check([*base, "write-tree"], directory, env=env).strip()
    parent_args = [arg for p in parents for arg in ("-p", p)]
    return gitcli.check([*base, "commit-tree", tree, *parent_args, "-m", message], directory,
                        env=env).strip()


def _git_dir(repo: Repository) -> str:
    """The repository's git folder, absolute."""
    return repo.check("rev-parse", "--absolute-git-dir").strip()
