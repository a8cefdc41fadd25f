"""Running git: the one way every command does it (``new``'s first commit, promote and
update beside a working tree, history, and schema-pr's clone, fetch and push).

The ``git`` executable, not a Python library, and always through :func:`run`:

- a library such as GitPython runs this same executable for nearly everything, but hands it
  the whole environment of the process; here every run gets the host's environment without
  its secrets (:func:`confine.without_secrets`: a ``GITHUB_TOKEN`` of the host is not git's
  to see) and without the variables that point git at another repository, plus exactly what
  the caller adds (a remote's credential helper, a private index, an identity);
- git is looked up once, in absolute ``PATH`` entries only (never the working directory,
  which may be a repository someone pushed a ``git`` into), and a missing git is one line
  naming how to install it, for every command alike;
- git never prompts and never follows an HTTP redirect (``http.followRedirects=false``: a
  redirect is the one way credentials could travel to another host);
- nothing is imported at start-up beyond the standard library.

A :class:`Repository` is a folder git runs in; its few facts (HEAD, branch, cleanliness,
a remote's URL) are one git command each.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

from inference_scaffolder.confine import without_secrets
from inference_scaffolder.errors import ToolFailed, ToolMissingError, UserError
from inference_scaffolder.tools import which_on_path

# Every run: never follow a redirect, so credentials never travel with one.
GIT_SAFETY_CONFIG = ("-c", "http.followRedirects=false")
GIT_INSTALL_HINT = ("not found on PATH: install git (e.g. `apt-get install git`, "
                    "`brew install git`, https://git-scm.com/downloads)")
# Variables that make git work on another repository, index or object store than the folder
# it runs in (a git hook that runs this tool has GIT_DIR set, for one).
_LOCATING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
             "GIT_PREFIX", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")


@dataclass(frozen=True)
class GitOutput:
    """How one git run ended: its exit status and what it wrote."""

    status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0


@cache
def git_executable() -> str:
    """The absolute path of git; a one-line :class:`ToolMissingError` when there is none."""
    found = which_on_path("git")
    if found is None:
        raise ToolMissingError("git", GIT_INSTALL_HINT)
    return found


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a git run: the host's without secrets or repository pointers,
    never prompting, plus ``extra``."""
    env = {k: v for k, v in without_secrets(os.environ).items() if k.upper() not in _LOCATING}
    return {**env, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", **(extra or {})}


def _command(args: list[str]) -> list[str]:
    return [git_executable(), *GIT_SAFETY_CONFIG, *args]


def run(args: list[str], cwd: Path, *, env: Mapping[str, str] | None = None,
        stdin: str | None = None, stdout: IO[bytes] | None = None) -> GitOutput:
    """``git args`` in ``cwd``; never raises on a non-zero status (the caller decides what
    it means). ``stdout``: a binary file to write the output to instead of capturing it
    (an archive)."""
    try:
        done = subprocess.run(
            _command(args), cwd=cwd, env=git_environment(env), input=stdin,
            stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
            text=stdout is None, encoding="utf-8" if stdout is None else None,
            errors="replace" if stdout is None else None, check=False)
    except FileNotFoundError:  # git removed after it was found, or cwd gone
        if not cwd.is_dir():
            raise
        git_executable.cache_clear()
        raise ToolMissingError("git", GIT_INSTALL_HINT) from None
    err = done.stderr if isinstance(done.stderr, str) else done.stderr.decode("utf-8", "replace")
    return GitOutput(done.returncode, done.stdout if stdout is None else "", err)


def failure_reason(stderr: str, limit: int = 300) -> str:
    """git's own reason on one line: its last ``fatal:``/``error:`` line, else its last."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    picked = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
    text = (picked or lines or ["git exited with an error"])[-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check(args: list[str], cwd: Path, *, env: Mapping[str, str] | None = None,
          stdin: str | None = None, field_name: str = "git", doing: str | None = None,
          error: type[UserError] = ToolFailed) -> str:
    """Like :func:`run`, but a non-zero status is one line (``error``, naming
    ``field_name``; by default a tool failure, exit code 1); returns the output."""
    out = run(args, cwd, env=env, stdin=stdin)
    if not out.ok:
        what = doing or f"git {args[0] if args else ''}".strip()
        raise error(field_name, f"{what} failed: {failure_reason(out.stderr)}")
    return out.stdout


@contextmanager
def streaming(args: list[str], cwd: Path, stdin: IO[bytes]) -> Iterator[IO[bytes]]:
    """git reading ``stdin`` (a file) and answering on a pipe, read as it comes (``cat-file
    --batch``); the process is killed when the block ends."""
    with subprocess.Popen(_command(args), cwd=cwd, env=git_environment(), stdin=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
        assert process.stdout is not None
        try:
            yield process.stdout
        finally:
            process.kill()


@dataclass(frozen=True)
class Repository:
    """A git working tree (or a bare repository) that git runs in, with the environment
    every run there gets (an identity, a private index)."""

    path: Path
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def working_dir(self) -> str:
        """The folder as a string (the attribute publishers read)."""
        return str(self.path)

    def run(self, *args: str, env: Mapping[str, str] | None = None,
            stdin: str | None = None) -> GitOutput:
        return run(list(args), self.path, env={**self.env, **(env or {})}, stdin=stdin)

    def check(self, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None,
              field_name: str = "git", doing: str | None = None,
              error: type[UserError] = ToolFailed) -> str:
        return check(list(args), self.path, env={**self.env, **(env or {})}, stdin=stdin,
                     field_name=field_name, doing=doing, error=error)

    def rev_parse(self, revision: str) -> str:
        """The object ``revision`` names (one line, exit 1 when it names none)."""
        return self.check("rev-parse", "--verify", "--end-of-options", revision).strip()

    def resolve(self, revision: str) -> str | None:
        """The object ``revision`` names, or None when it names none."""
        out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", revision)
        return out.stdout.strip() if out.ok and out.stdout.strip() else None

    def has_commits(self) -> bool:
        return self.resolve("HEAD^{commit}") is not None

    def head(self) -> str:
        return self.rev_parse("HEAD^{commit}")

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        out = self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        return out.stdout.strip() or None if out.ok else None

    def is_dirty(self) -> bool:
        """Whether anything is staged, changed or untracked (ignored files do not count)."""
        return bool(self.check("status", "--porcelain", "--untracked-files=normal").strip())

    def config_value(self, key: str) -> str | None:
        out = self.run("config", "--get", key)
        return out.stdout.strip() if out.ok else None

    def lines(self, *args: str) -> list[str]:
        """The non-empty lines of a git command's output."""
        return [line for line in self.check(*args).splitlines() if line]

    def archive(self, commit: str, dest: IO[bytes], *paths: str,
                field_name: str = "git") -> None:
        """``git archive --format=tar`` of ``commit`` (only ``paths`` when given) into
        ``dest``; a failure is one line naming ``field_name``."""
        out = run(["archive", "--format=tar", commit, "--", *paths], self.path, env=self.env,
                  stdout=dest)
        if not out.ok:
            raise UserError(field_name, f"cannot export {commit}: {failure_reason(out.stderr)}")


def open_repository(directory: Path, field_name: str = "DIR") -> Repository:
    """The git working tree whose top level is ``directory``; one line when it is none."""
    if not directory.is_dir():
        raise UserError(field_name, f"{directory} is not a git repository")
    out = run(["rev-parse", "--is-bare-repository", "--show-toplevel"], directory)
    if not out.ok:
        raise UserError(field_name, f"{directory} is not a git repository")
    bare, _, top = out.stdout.strip().partition("\n")
    if bare == "true" or not top or Path(top).resolve() != directory.resolve():
        raise UserError(field_name, f"{directory} is not the top level of a git working tree")
    return Repository(directory)
