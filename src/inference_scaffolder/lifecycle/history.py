"""What an environment ran when: the deploy history an operator rolls back along.

An environment deploys the base chart version its ``environments/<env>/kustomization.yaml``
pins, with the values beside it, through ``argocd/<env>.yaml``, from the branch Argo CD
follows (repositories from before the leaf layout deployed their own ``chart/``). Every
commit on that branch's first-parent line that touched one of those paths changed what the
environment runs, so ``git log --first-parent`` over them is the environment's deploy
history: for a pull request merged with a merge commit, the entry is the merge (when the
change reached the branch), not the branch commit. Each entry carries the identity (see
:mod:`promote`) as of that commit.

The cost is linear in the entries and a constant number of git processes, whatever the
length: one ``git log`` for the entries, one ``git log`` over the range the merges among
them brought in (only when a merge carries no promotion trailer of its own), and one
``git cat-file --batch`` for every file every entry needs. Each file read is bounded like
any repository file.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from inference_scaffolder import gitcli
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.lifecycle.promote import (
    PROMOTED_FROM_TRAILER,
    Identity,
    identity_from_text,
)
from inference_scaffolder.safe_fs import MAX_REPOSITORY_FILE_BYTES
from inference_scaffolder.service.layout import ARGOCD_DIR, LEGACY_CHART_DIR, first_helm_chart
from inference_scaffolder.vcs import open_repository
from inference_scaffolder.yamlio import load_repository_text

# What `history` lists unless told otherwise: enough to roll back along, quick to read.
DEFAULT_LIMIT = 50

_TRAILER_FORMAT = f"%(trailers:key={PROMOTED_FROM_TRAILER},valueonly,separator=%x2C)"
# NUL cannot be in a commit made by git (nor in an argument), so it separates the fields a
# hostile subject or author could otherwise forge (\x1e and \x1f can be in both).
_FIELD = "%x00"
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass
class HistoryEntry:
    sha: str
    date: str  # ISO 8601, committer date: when the change reached the branch
    author: str
    email: str
    subject: str
    identity: Identity | None  # None: the environment did not exist at this commit
    identity_changed: bool = True
    promoted_from: str | None = None  # "<env>@<sha>" from the commit's trailer

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "date": self.date,
            "author": self.author,
            "email": self.email,
            "subject": self.subject,
            "identity": self.identity.to_json() if self.identity else None,
            "identity_changed": self.identity_changed,
            "promoted_from": self.promoted_from,
        }


@dataclass(frozen=True)
class _Commit:
    """One record of ``git log``: what the format asked for, in order."""

    sha: str
    parents: tuple[str, ...]
    fields: tuple[str, ...]


def environment_paths(environment: str) -> list[str]:
    """Every path whose change changes what ``environment`` deploys."""
    return [f"environments/{environment}", LEGACY_CHART_DIR, f"{ARGOCD_DIR}/{environment}.yaml"]


def _files_of(environment: str) -> dict[str, str]:
    """The files an identity is read from, by role."""
    return {"values": f"environments/{environment}/values.yaml",
            "kustomization": f"environments/{environment}/kustomization.yaml",
            "legacy_chart": f"{LEGACY_CHART_DIR}/Chart.yaml"}


def _check_environment_name(environment: str) -> None:
    """A folder name: it becomes part of git path arguments and of cat-file's input lines."""
    if (not environment or environment in (".", "..") or "/" in environment
            or any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in environment)):
        raise UserError("--env", "must be the name of a folder under environments/ "
                        "(no '/', no control characters)")


def _git(repo: Repository, args: list[str]) -> str:
    return repo.check(*args, field_name="DIR", error=UserError)


def _records(out: str, width: int) -> list[_Commit]:
    """``git log`` output whose every record is ``width`` NUL-terminated fields, the first two
    the commit and its parents."""
    fields = out.split("\0")
    records = []
    for start in range(0, len(fields) - width + 1, width):
        sha, parents, *rest = fields[start:start + width]
        sha = sha.lstrip("\n")
        if not _SHA.fullmatch(sha) or not all(_SHA.fullmatch(p) for p in parents.split()):
            raise UserError("DIR", "git log gave a record that is not a commit (a commit "
                            "message holding a NUL byte?)")
        records.append(_Commit(sha, tuple(parents.split()), tuple(rest)))
    return records


def _log(repo: Repository, environment: str, limit: int | None) -> list[_Commit]:
    """The environment's entries, newest first: commit, parents, date, author, email,
    subject, promotion trailer."""
    fmt = _FIELD.join(["%H", "%P", "%cI", "%an", "%ae", "%s", _TRAILER_FORMAT]) + _FIELD
    args = ["log", "--first-parent", f"--format={fmt}"]
    if limit:
        args.append(f"--max-count={limit}")
    return _records(_git(repo, [*args, "--", *environment_paths(environment)]), 7)


def _introduced(chain: list[_Commit], graph: dict[str, _Commit]) -> dict[str, list[str]]:
    """For each merge on ``chain`` (a first-parent line, oldest first): the commits it
    brought in, as ``git log <first parent>..<second parent>`` lists them, in ``graph``'s
    order. One walk over the graph for the whole chain: a commit belongs to the oldest
    chain commit that reaches it."""
    order = {sha: index for index, sha in enumerate(graph)}
    seen: set[str] = set()
    brought: dict[str, list[str]] = {}
    for commit in chain:
        seen.add(commit.sha)
        for index, parent in enumerate(commit.parents):
            found = _walk(parent, graph, seen)
            if index == 1:
                brought[commit.sha] = sorted(found, key=order.__getitem__)
    return brought


def _walk(start: str, graph: dict[str, _Commit], seen: set[str]) -> list[str]:
    """Commits reachable from ``start`` inside ``graph`` and not yet ``seen`` (now seen)."""
    found, todo = [], [start]
    while todo:
        sha = todo.pop()
        if sha in seen or sha not in graph:
            continue
        seen.add(sha)
        found.append(sha)
        todo.extend(graph[sha].parents)
    return found


def _merged_trailers(repo: Repository, merges: list[_Commit]) -> dict[str, str]:
    """For merge commits without a promotion trailer of their own: the trailer of the newest
    commit each brought in. One ``git log`` over the range from the newest merge down to the
    first parent of the oldest (everything older is reachable from every merge's first
    parent, so it was brought in by none of them)."""
    if not merges:
        return {}
    newest, oldest = merges[0], merges[-1]
    fmt = _FIELD.join(["%H", "%P", _TRAILER_FORMAT]) + _FIELD
    graph = {c.sha: c for c in _records(
        _git(repo, ["log", f"--format={fmt}", newest.sha, "--not", oldest.parents[0]]), 3)}
    chain, sha = [], newest.sha
    while sha in graph:
        chain.append(graph[sha])
        sha = graph[sha].parents[0] if graph[sha].parents else ""
    brought = _introduced(list(reversed(chain)), graph)
    trailers = {}
    for merge in merges:
        found = [graph[s].fields[0].strip() for s in brought.get(merge.sha, [])]
        trailers[merge.sha] = next((t for t in found if t), "")
    return trailers


def _read_blob(stream: IO[bytes], spec: str) -> str | None:
    """One answer of ``git cat-file --batch``: the file's text, or None when the commit has
    no file there. Past the size bound, nothing more is read."""
    header = stream.readline().decode("utf-8", "replace").rstrip("\n")
    if not header or header.endswith((" missing", " ambiguous")):  # the spec, then why
        return None
    oid, _, rest = header.partition(" ")
    kind, _, size_text = rest.partition(" ")
    if not _SHA.fullmatch(oid) or not size_text.isdigit():
        raise UserError(spec, f"git cat-file answered '{inert(header, 80)}'")
    size = int(size_text)
    if size > MAX_REPOSITORY_FILE_BYTES:
        raise UserError(spec, f"is larger than {MAX_REPOSITORY_FILE_BYTES // (1 << 20)} MiB")
    data = stream.read(size + 1)[:size]  # the content, then a newline
    if kind != "blob":
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(spec, "is not UTF-8") from None


def _files_at(repo: Repository, specs: Iterable[str]) -> dict[str, str | None]:
    """``{"<sha>:<path>": text or None}`` from one ``git cat-file --batch``."""
    wanted = list(dict.fromkeys(specs))
    answers: dict[str, str | None] = {}
    with tempfile.TemporaryFile() as requests:  # a file, not a pipe: no write/read deadlock
        requests.write("".join(f"{spec}\n" for spec in wanted).encode())
        requests.seek(0)
        with gitcli.streaming(["cat-file", "--batch"], repo.path, requests) as answer:
            for spec in wanted:
                answers[spec] = _read_blob(answer, spec)
    return answers


def _mapping(text: str | None, spec: str) -> dict[str, Any]:
    """A YAML mapping as committed (bounded, one-line errors), or empty."""
    data = load_repository_text(text, spec) if text else None
    return data if isinstance(data, dict) else {}


def _shown(sha: str, path: str) -> str:
    return f"{sha[:12]}:{path}"


def _identity(sha: str, files: dict[str, str], texts: dict[str, str | None]) -> Identity | None:
    """The identity an environment had at ``sha``: its values, and the base chart version
    its kustomization pinned (or, before the leaf layout, the repository's own chart's)."""
    values = texts[f"{sha}:{files['values']}"]
    if values is None:
        return None
    entry = first_helm_chart(_mapping(texts[f"{sha}:{files['kustomization']}"],
                                      _shown(sha, files["kustomization"])))
    version = str(entry["version"]) if entry.get("version") is not None and entry.get(
        "repo") else None
    if version is None:
        chart = _mapping(texts[f"{sha}:{files['legacy_chart']}"],
                         _shown(sha, files["legacy_chart"]))
        version = str(chart["version"]) if "version" in chart else None
    return identity_from_text(values, version, _shown(sha, files["values"]))


def environment_history(directory: Path, environment: str, *,
                        limit: int | None = None) -> list[HistoryEntry]:
    """Newest first: every commit that changed what ``environment`` deploys (the newest
    ``limit`` of them, each compared with the one before it)."""
    _check_environment_name(environment)
    repo = open_repository(directory.resolve())
    if not repo.has_commits():
        raise UserError("DIR", f"{directory} has no commits")
    log = _log(repo, environment, limit + 1 if limit else None)
    merges = [c for c in log if len(c.parents) > 1 and not c.fields[4].strip()]
    trailers = _merged_trailers(repo, merges)
    files = _files_of(environment)
    texts = _files_at(repo, (f"{c.sha}:{path}" for c in log for path in files.values()))
    entries = []
    for commit in log:
        date, author, email, subject, trailer = commit.fields
        promoted_from = trailer.strip() or trailers.get(commit.sha, "")
        entries.append(HistoryEntry(commit.sha, date, author, email, subject,
                                    _identity(commit.sha, files, texts),
                                    promoted_from=promoted_from or None))
    if not any(entry.identity for entry in entries):
        raise UserError("--env", f"environment {environment!r} has no history in this "
                        "repository (no environments/<env>/values.yaml was ever committed)")
    for newer, older in pairwise(entries):
        newer.identity_changed = newer.identity != older.identity
    return entries[:limit] if limit else entries
