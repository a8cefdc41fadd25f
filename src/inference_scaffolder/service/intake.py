"""A service repository, checked before anything reads it.

Service repositories are edited by their teams and cloned by others and by CI, so the tool
treats their content as untrusted input. Before ``validate``, ``promote`` or ``update`` reads
one, every folder it reads (``environments/``, ``argocd/``, ``.inference-scaffolder/``, and
the ``chart/`` copy of a repository from before the leaf layout) is walked once:

- a symbolic link that leaves the repository is refused (helm, kubectl and the YAML reader
  would follow it to any file on the host), and so is a FIFO, a device or a socket (a read
  would block or never end) and a file above the size bound;
- a symbolic link into ``.git`` is refused too (its ``config`` holds the CI's credentials);
- every YAML file the tool itself parses must be UTF-8, valid YAML and a mapping;
- every environment's Kustomization (and each one it reaches) names files of the repository
  only, never a URL or a remote repository kustomize would fetch
  (:mod:`inference_scaffolder.service.kustomization_refs`).

Each refusal is one line naming the file, so a hand edit gone wrong reads like any other
user error instead of a traceback from deep inside a check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import refuse_links_out
from inference_scaffolder.service.kustomization_refs import check_kustomization_refs
from inference_scaffolder.service.layout import (
    ANSWERS_RECORD,
    ARGOCD_DIR,
    ENVIRONMENTS_DIR,
    LEGACY_CHART_DIR,
)

# Folders whose files the tool or the tools it runs (helm, kubectl) read.
READ_FOLDERS = (LEGACY_CHART_DIR, ENVIRONMENTS_DIR, ARGOCD_DIR, str(ANSWERS_RECORD.parent))


def _yaml_files(repo: Path) -> list[tuple[str, bool]]:
    """(repository path, may be empty) of every YAML file the tool parses itself."""
    files = [(f"{LEGACY_CHART_DIR}/Chart.yaml", False), (f"{LEGACY_CHART_DIR}/values.yaml", True)]
    environments = repo / ENVIRONMENTS_DIR
    if environments.is_dir():
        for folder in sorted(p for p in environments.iterdir() if p.is_dir()):
            files += [(f"{ENVIRONMENTS_DIR}/{folder.name}/values.yaml", True),
                      (f"{ENVIRONMENTS_DIR}/{folder.name}/kustomization.yaml", False)]
    argocd = repo / ARGOCD_DIR
    if argocd.is_dir():
        files += [(f"{ARGOCD_DIR}/{p.name}", False) for p in sorted(argocd.glob("*.yaml"))]
    files.append((ANSWERS_RECORD.as_posix(), False))
    return files


def _type_name(data: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "empty"}.get(
        type(data), f"a {type(data).__name__}")


def load_mapping(repo: Path, relative: str, *, may_be_empty: bool = True,
                 shown_root: str | None = None) -> dict[str, Any]:
    """A repository YAML file that must hold a mapping (or nothing, when allowed)."""
    shown = f"{shown_root.rstrip('/')}/{relative}" if shown_root else relative
    data = yamlio.load_file_shared(repo / relative, shown)
    if data is None and may_be_empty:
        return {}
    if not isinstance(data, dict):
        raise UserError(shown, f"must hold a YAML mapping, not {_type_name(data)}")
    return data


def check_service_repository(repo: Path, *, shown_root: str | None = None) -> None:
    """Refuse a repository the tool cannot read safely (see the module docstring); errors
    name files relative to the repository, under ``shown_root`` when given."""
    refuse_links_out(repo, [repo / folder for folder in READ_FOLDERS], shown_root=shown_root)
    for relative, may_be_empty in _yaml_files(repo):
        if (repo / relative).is_file():
            load_mapping(repo, relative, may_be_empty=may_be_empty, shown_root=shown_root)
    environments = repo / ENVIRONMENTS_DIR
    if environments.is_dir():
        for folder in sorted(p.name for p in environments.iterdir() if p.is_dir()):
            check_kustomization_refs(repo, f"{ENVIRONMENTS_DIR}/{folder}",
                                     shown_root=shown_root)
    record = repo / ANSWERS_RECORD
    if record.is_file():
        answers = load_mapping(repo, ANSWERS_RECORD.as_posix(), shown_root=shown_root).get(
            "answers", {})
        if not isinstance(answers, dict):
            shown = ANSWERS_RECORD.as_posix()
            raise UserError(f"{shown_root}/{shown}" if shown_root else shown,
                            f"its answers must be a mapping, not {_type_name(answers)}")
