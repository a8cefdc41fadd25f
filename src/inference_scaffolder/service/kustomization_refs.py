"""What a Kustomization may point at: files of the repository, nothing else.

kustomize loads every path-valued field of a Kustomization through one loader that also
takes addresses: a resource ``https://host/x.yaml`` is fetched over HTTP, a resource
``github.com/org/repo//dir?ref=main`` is cloned with the host's git credentials, and a
generator's ``files`` entry, a patch, a replacement source, a values file or an OpenAPI
schema can be URLs too. A service repository is anyone's edit, and ``validate`` runs on
Backstage and CI hosts, so before kustomize sees a Kustomization (and every Kustomization it
reaches through ``resources``, ``components``, ``bases`` and plugin folders) each such field
must be a relative path to a file or folder of the repository:

- no scheme (``https://``, ``file://``, ``git::``, ``ssh:``), no ``git@host:``, no query
  (``?ref=``), no ``//`` (a remote repository's subfolder), no absolute path;
- it stays inside the repository (``..`` included, links resolved) and out of ``.git``;
- a resource, component, base or plugin entry must not read as ``host/org/repo``:
  kustomize tries to clone that before it looks for a local folder of the name;
- a chart is inflated from the repository the environment pins, or from none.

A refusal is one line naming the Kustomization, the field and the rule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference_scaffolder import yamlio
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.safe_fs import MAX_REPOSITORY_FILE_BYTES, read_text_file

# The names kustomize looks for in a folder, in its order.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Nested Kustomizations followed from one environment: a real one has a handful.
MAX_KUSTOMIZATIONS = 200
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_REMOTE_PREFIXES = ("git@", "git::", "gh:", "hg::", "s3::", "gcs::")
# Fields whose entries are files or Kustomization folders kustomize tries as remote
# repositories when they are not found locally.
_ENTRY_LISTS = ("resources", "components", "bases")
_FILE_LISTS = ("crds", "configurations")
_PLUGIN_LISTS = ("generators", "transformers", "validators")
_GENERATORS = ("configMapGenerator", "secretGenerator")


@dataclass
class _Walk:
    """One environment's walk: the repository, the pinned chart repository, what is left."""

    root: Path
    pinned: str | None
    shown_root: str | None
    pending: list[Path] = field(default_factory=list)
    seen: set[Path] = field(default_factory=set)

    def shown(self, path: Path) -> str:
        relative = path.relative_to(self.root).as_posix()
        return f"{self.shown_root.rstrip('/')}/{relative}" if self.shown_root else relative


@dataclass
class _File:
    """One Kustomization (or plugin configuration) being checked."""

    walk: _Walk
    folder: Path  # what relative paths in it are relative to
    shown: str  # the file, as the refusal names it

    def refuse(self, label: str, value: object, rule: str) -> UserError:
        return UserError(self.shown, f"{label} ({inert(value, 200)}) {rule}")


def check_kustomization_refs(root: Path, folder: str, *, pinned_repository: str | None = None,
                             shown_root: str | None = None) -> None:
    """Refuse, in one line, a Kustomization in ``root/folder`` (or one it reaches) that makes
    kustomize read anything but files of ``root``. ``pinned_repository``: the chart
    repository the environment pins (default: its Kustomization's ``helmCharts[0].repo``)."""
    base = root.resolve()
    walk = _Walk(base, pinned_repository, shown_root)
    start = base / folder
    top = _kustomization_file(start)
    if top is None:
        return
    walk.seen.add(start.resolve())
    data = _load(walk, top)
    if walk.pinned is None:
        first = _first_chart(data)
        walk.pinned = str(first.get("repo") or "") if first else None
    _check_kustomization(_File(walk, start, walk.shown(top)), data, top_level=True)
    while walk.pending:
        nested = walk.pending.pop()
        path = _kustomization_file(nested)
        if path is None:
            continue  # a folder of plain resources: kustomize says so, locally
        if len(walk.seen) > MAX_KUSTOMIZATIONS:
            raise UserError(walk.shown(start), f"reaches more than {MAX_KUSTOMIZATIONS} "
                            "Kustomizations")
        _check_kustomization(_File(walk, nested, walk.shown(path)), _load(walk, path),
                             top_level=False)


def _kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


def _first_chart(data: dict[str, Any]) -> dict[str, Any] | None:
    charts = data.get("helmCharts")
    if isinstance(charts, list) and charts and isinstance(charts[0], dict):
        return charts[0]
    return None


def _load(walk: _Walk, path: Path) -> dict[str, Any]:
    shown = walk.shown(path)
    data = yamlio.load_file_shared(path, shown)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(shown, "must hold a YAML mapping")
    return data


# --------------------------------------------------------------------------------------------
# One path
# --------------------------------------------------------------------------------------------


def _form_problem(value: object) -> str | None:
    """What makes ``value`` something other than a plain relative path, in words."""
    if not isinstance(value, str) or not value:
        return "must be a relative path (text)"
    if any(not ch.isprintable() for ch in value):
        return "holds control characters"
    if _SCHEME.match(value) and not value.startswith(("./", "../")):
        return ("is a URL or remote address: kustomize would fetch it; only files of the "
                "repository may be named")
    if value.startswith(_REMOTE_PREFIXES) or re.match(r"^[^/]*@[^/]*:", value):
        return "is a remote repository address: kustomize would clone it"
    if "?" in value:
        return "has a query (?ref=...): a remote repository address"
    if "//" in value:
        return "has '//' (a remote repository's subfolder)"
    if value.startswith(("/", "~")):
        return "is an absolute path; only paths relative to the Kustomization may be named"
    return None


def _place_problem(walk: _Walk, folder: Path, value: str, *, may_be_remote: bool
                   ) -> str | None:
    """Whether ``folder/value`` stays inside the repository and out of ``.git``, and (where
    kustomize would clone it: ``may_be_remote``) does not read as ``host/org/repo``."""
    lexical = Path(os.path.normpath(folder / value))
    if lexical != walk.root and walk.root not in lexical.parents:
        return "leaves the repository"
    try:
        resolved = lexical.resolve()
    except (OSError, RuntimeError):
        return "is a loop of symbolic links"
    if resolved != walk.root and walk.root not in resolved.parents:
        return "leaves the repository (through a symbolic link)"
    parts = {*lexical.relative_to(walk.root).parts, *resolved.relative_to(walk.root).parts}
    if ".git" in parts:
        return "is inside .git, which holds the clone's credentials"
    if may_be_remote and _host_like(value):
        return ("reads as a remote repository (host/org/repo), which kustomize clones before "
                "it looks for a local folder; write ./" + inert(value, 100) + " for a folder "
                "of the repository")
    return None


def _host_like(value: str) -> bool:
    """Whether an entry reads as ``host/org/repo``, which kustomize tries to clone first,
    even when a local folder of that name exists: a first segment with a dot or a colon
    (``github.com``, ``git.internal:8443``) and more segments after. ``./github.com/x`` and a
    plain missing file (``missing.yaml``) are local to kustomize."""
    first, slash, rest = value.partition("/")
    return bool(slash and rest) and first not in (".", "..") and ("." in first or ":" in first)


def _path(file: _File, label: str, value: object, *, may_be_remote: bool = False) -> Path:
    """``value`` as a checked path (refused in one line otherwise). ``may_be_remote``: a
    field whose entries kustomize may clone as remote repositories."""
    problem = _form_problem(value)
    if problem is None:
        assert isinstance(value, str)
        problem = _place_problem(file.walk, file.folder, value, may_be_remote=may_be_remote)
    if problem:
        raise file.refuse(label, value, problem)
    return (file.folder / str(value)).resolve()


def _entries(file: _File, data: dict[str, Any], key: str, label: str) -> Iterator[
        tuple[str, Any]]:
    """(label, item) of a list field; anything else than a list is refused."""
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        raise UserError(file.shown, f"{label} must be a list")
    for index, item in enumerate(value):
        yield f"{label}[{index}]", item


def _mappings(file: _File, data: dict[str, Any], key: str, label: str) -> Iterator[
        tuple[str, dict[str, Any]]]:
    for where, item in _entries(file, data, key, label):
        if not isinstance(item, dict):
            raise UserError(file.shown, f"{where} must be a mapping")
        yield where, item


def _is_inline(value: object) -> bool:
    """An inline patch or plugin configuration (YAML text), not a path."""
    return isinstance(value, str) and "\n" in value


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_kustomization(file: _File, data: dict[str, Any], *, top_level: bool) -> None:
    _check_entries(file, data)
    _check_files(file, data)
    for key in _GENERATORS:
        for label, item in _mappings(file, data, key, key):
            _check_generator_sources(file, item, label)
    _check_helm_globals(file, data)
    for label, chart in _mappings(file, data, "helmCharts", "helmCharts"):
        _check_helm_chart(file, chart, label, pinned_entry=top_level and label == "helmCharts[0]")
    _check_plugins(file, data)
    if data.get("helmChartInflationGenerator"):
        raise UserError(file.shown, "helmChartInflationGenerator is the deprecated form: use "
                        "helmCharts (checked against the pinned chart)")


def _check_entries(file: _File, data: dict[str, Any]) -> None:
    for key in _ENTRY_LISTS:
        for label, item in _entries(file, data, key, key):
            _follow(file, _path(file, label, item, may_be_remote=True))


def _follow(file: _File, target: Path) -> None:
    """Queue a folder's Kustomization (each folder once)."""
    if target.is_dir() and target not in file.walk.seen:
        file.walk.seen.add(target)
        file.walk.pending.append(target)


def _check_files(file: _File, data: dict[str, Any]) -> None:
    for key in _FILE_LISTS:
        for label, item in _entries(file, data, key, key):
            _path(file, label, item)
    for label, item in _entries(file, data, "patchesStrategicMerge", "patchesStrategicMerge"):
        if not _is_inline(item):
            _path(file, label, item)
    for key in ("patches", "patchesJson6902"):
        for label, item in _mappings(file, data, key, key):
            if "path" in item:
                _path(file, f"{label}.path", item["path"])
    _check_replacements(file, data, "")
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and "path" in openapi:
        _path(file, "openapi.path", openapi["path"])


def _check_replacements(file: _File, data: dict[str, Any], prefix: str) -> None:
    key = _join(prefix, "replacements")
    for label, item in _mappings(file, data, "replacements", key):
        if "path" in item:
            _path(file, f"{label}.path", item["path"])


def _check_generator_sources(file: _File, item: dict[str, Any], prefix: str) -> None:
    """``files`` (``path`` or ``key=path``), ``envs`` and ``env`` of a generator."""
    for label, entry in _entries(file, item, "files", _join(prefix, "files")):
        source = entry.split("=", 1)[1] if isinstance(entry, str) and "=" in entry else entry
        _path(file, label, source)
    for label, entry in _entries(file, item, "envs", _join(prefix, "envs")):
        _path(file, label, entry)
    if item.get("env"):
        _path(file, _join(prefix, "env"), item["env"])


def _check_helm_globals(file: _File, data: dict[str, Any]) -> None:
    globals_ = data.get("helmGlobals")
    if globals_ is None:
        return
    if not isinstance(globals_, dict):
        raise UserError(file.shown, "helmGlobals must be a mapping")
    for key in ("chartHome", "configHome"):
        if globals_.get(key) is not None:
            _path(file, f"helmGlobals.{key}", globals_[key])


def _check_helm_chart(file: _File, chart: dict[str, Any], prefix: str, *,
                      pinned_entry: bool) -> None:
    """A chart's values files are files of the repository; its repository is the pinned one
    (the pin itself is checked by ``layout.chart_ref``)."""
    if chart.get("valuesFile"):
        _path(file, _join(prefix, "valuesFile"), chart["valuesFile"])
    for label, entry in _entries(file, chart, "additionalValuesFiles",
                                 _join(prefix, "additionalValuesFiles")):
        _path(file, label, entry)
    for key in ("chartHome", "configHome"):
        if chart.get(key) is not None:
            _path(file, _join(prefix, key), chart[key])
    repo = chart.get("repo")
    if pinned_entry or repo in (None, ""):
        return
    pinned = (file.walk.pinned or "").rstrip("/")
    if not isinstance(repo, str) or not pinned or repo.rstrip("/") != pinned:
        raise file.refuse(_join(prefix, "repo"), repo, "must be the repository of the pinned "
                          f"chart ({inert(pinned) or 'none pinned'}) or be left out: "
                          "kustomize would `helm pull` from it")


def _check_plugins(file: _File, data: dict[str, Any]) -> None:
    """generators, transformers, validators: a path (a configuration file or a Kustomization
    folder) or an inline configuration, whose own path-valued fields are checked. Paths in
    a configuration are relative to the Kustomization, as kustomize reads them."""
    for key in _PLUGIN_LISTS:
        for label, item in _entries(file, data, key, key):
            if _is_inline(item):
                _check_plugin_documents(file, item, label)
                continue
            target = _path(file, label, item, may_be_remote=True)
            if target.is_dir():
                _follow(file, target)
                continue
            if not target.is_file():
                continue  # missing: kustomize's own local error
            shown = file.walk.shown(target)
            text = read_text_file(target, MAX_REPOSITORY_FILE_BYTES, shown)
            _check_plugin_documents(_File(file.walk, file.folder, shown), text, "")


def _check_plugin_documents(file: _File, text: str, prefix: str) -> None:
    for index, document in enumerate(yamlio.load_documents(text, source=file.shown)):
        if isinstance(document, dict):
            _check_plugin(file, document, prefix if index == 0 else f"{prefix}<{index}>")


def _check_plugin(file: _File, config: dict[str, Any], prefix: str) -> None:
    """A built-in plugin's configuration (PatchTransformer, ConfigMapGenerator,
    ReplacementTransformer, HelmChartInflationGenerator, ...): the same fields as in a
    Kustomization."""
    if "path" in config:
        _path(file, _join(prefix, "path"), config["path"])
    for label, item in _entries(file, config, "paths", _join(prefix, "paths")):
        _path(file, label, item)
    _check_generator_sources(file, config, prefix)
    _check_replacements(file, config, prefix)
    _check_helm_chart(file, config, prefix, pinned_entry=False)
