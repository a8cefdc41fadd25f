"""What an environment ran when: the deploy history an operator rolls back along.

An environment deploys the base chart version its ``environments/<env>/kustomization.yaml``
pins, with the values beside it, through ``argocd/<env>.yaml``, from the branch Argo CD
follows (repositories from before the leaf layout deployed their own ``chart/``). Every
commit on that branch's first-parent line that touched one of those paths changed what the
environment runs, so ``git log --first-parent`` over them is the environment's deploy
history: for a pull request merged with a merge commit, the entry is the merge (when the
change reached the branch), not the branch commit. Each entry carries the identity (see
:mod:`promote`) as of that commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import git

from inference_scaffolder.errors import UserError
from inference_scaffolder.lifecycle.promote import (
    PROMOTED_FROM_TRAILER,
    Identity,
    identity_from_text,
)
from inference_scaffolder.service.layout import ARGOCD_DIR, LEGACY_CHART_DIR, first_helm_chart
from inference_scaffolder.vcs import open_repository
from inference_scaffolder.yamlio import load_repository_text

_TRAILER_FORMAT = f"%(trailers:key={PROMOTED_FROM_TRAILER},valueonly,separator=%x2C)"
_FIELD = "\x1f"
_RECORD = "\x1e"


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


def environment_paths(environment: str) -> list[str]:
    """Every path whose change changes what ``environment`` deploys."""
    return [f"environments/{environment}", LEGACY_CHART_DIR, f"{ARGOCD_DIR}/{environment}.yaml"]


def _file_at(repo: git.Repo, sha: str, path: str) -> str | None:
    status, out, _ = repo.git.execute(["git", "show", f"{sha}:{path}"], with_exceptions=False,
                                      with_extended_output=True)
    return out if status == 0 else None


def _mapping_at(repo: git.Repo, sha: str, path: str) -> dict[str, Any]:
    """A YAML mapping as committed at ``sha`` (bounded, one-line errors), or empty."""
    text = _file_at(repo, sha, path)
    data = load_repository_text(text, f"{sha[:12]}:{path}") if text else None
    return data if isinstance(data, dict) else {}


def chart_version_at(repo: git.Repo, sha: str, environment: str) -> str | None:
    """The base chart version ``environment`` pinned at ``sha``: its kustomization's, or
    the repository's own chart for commits from before the leaf layout."""
    kustomization = _mapping_at(repo, sha, f"environments/{environment}/kustomization.yaml")
    entry = first_helm_chart(kustomization)
    if entry.get("version") is not None and entry.get("repo"):
        return str(entry["version"])
    chart = _mapping_at(repo, sha, f"{LEGACY_CHART_DIR}/Chart.yaml")
    return str(chart["version"]) if "version" in chart else None


def identity_at(repo: git.Repo, sha: str, environment: str) -> Identity | None:
    """The identity ``environment`` had at commit ``sha``."""
    values = _file_at(repo, sha, f"environments/{environment}/values.yaml")
    if values is None:
        return None
    return identity_from_text(values, chart_version_at(repo, sha, environment),
                              f"{sha[:12]}:environments/{environment}/values.yaml")


def _log(repo: git.Repo, environment: str, limit: int | None) -> list[list[str]]:
    fmt = _FIELD.join(["%H", "%P", "%cI", "%an", "%ae", "%s", _TRAILER_FORMAT])
    args = ["git", "log", "--first-parent", f"--format={fmt}{_RECORD}"]
    if limit:
        args.append(f"--max-count={limit}")
    status, out, err = repo.git.execute([*args, "--", *environment_paths(environment)],
                                        with_exceptions=False, with_extended_output=True)
    if status != 0:
        raise UserError("DIR", f"git log failed: {' '.join(str(err).split())[-200:]}")
    return [r.strip("\n").split(_FIELD) for r in str(out).split(_RECORD) if r.strip()]


def _merged_trailer(repo: git.Repo, parents: list[str]) -> str:
    """For a merge commit: the promotion trailer of the newest commit it brought in."""
    if len(parents) < 2:
        return ""
    status, out, _ = repo.git.execute(
        ["git", "log", f"--format={_TRAILER_FORMAT}", f"{parents[0]}..{parents[1]}"],
        with_exceptions=False, with_extended_output=True,
    )
    found = [line.strip() for line in str(out).splitlines() if line.strip()] if status == 0 else []
    return found[0] if found else ""


def environment_history(directory: Path, environment: str, *,
                        limit: int | None = None) -> list[HistoryEntry]:
    """Newest first: every commit that changed what ``environment`` deploys."""
    repo = open_repository(directory.resolve())
    if not repo.head.is_valid():
        raise UserError("DIR", f"{directory} has no commits")
    entries = []
    for sha, parents, date, author, email, subject, trailer in _log(repo, environment, limit):
        promoted_from = trailer.strip() or _merged_trailer(repo, parents.split())
        entries.append(HistoryEntry(sha, date, author, email, subject,
                                    identity_at(repo, sha, environment),
                                    promoted_from=promoted_from or None))
    if not any(entry.identity for entry in entries):
        raise UserError("--env", f"environment {environment!r} has no history in this "
                        "repository (no environments/<env>/values.yaml was ever committed)")
    for newer, older in pairwise(entries):
        newer.identity_changed = newer.identity != older.identity
    return entries
