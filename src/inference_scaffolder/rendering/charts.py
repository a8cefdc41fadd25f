"""The base chart an environment inflates, by name, repository and version, on this machine.

A service's ``environments/<env>/kustomization.yaml`` names the platform's published chart
(``helmCharts``: ``name``, ``repo``, ``version``). ``kubectl kustomize --enable-helm`` looks
for it at ``<chartHome>/<name>-<version>/<name>/`` and only runs ``helm pull`` when it is not
there. This module finds that chart without trusting the repository:

1. the chart this release carries (``chart.chart_source_dir()``), when name and version are
   its own, whatever the repository URL: ``new`` and ``validate`` of a fresh service never
   need the network;
2. a copy fetched earlier, from a cache keyed by the repository URL, trusted only after the
   same check a fresh download gets;
3. otherwise ``helm pull`` of the packaged chart (not untarred by helm: Helm turns a
   symbolic link in an archive into an empty file, so the archive itself is what must be
   checked) with throw-away Helm homes and no credentials; the archive is unpacked here
   (files and folders only, bounded), checked, and renamed into the cache in one step.

The check of a fresh download and of a cached copy includes what helm itself would reach
out for: a values.schema.json ``$ref`` to a URL or a host file, an unknown ``$schema``, YAML
aliases beyond the bound (``rendering.chart_inputs``).

Everything from a repository is hostile: sizes and counts are bounded, nothing but regular
files and folders is accepted, the chart must call itself what it was asked for, and text
from it (helm's errors, file names) is printed inert.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, cast
from urllib.parse import urlsplit

import yaml

from inference_scaffolder import chart, yamlio
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.rendering.chart_inputs import chart_inputs_problem
from inference_scaffolder.safe_fs import kind_of, read_regular_file
from inference_scaffolder.tools import run_helm_isolated

CACHE_ENV = "INFERENCE_SCAFFOLDER_CHART_CACHE"
# A chart is templates and a schema: ~100 KB. Far above any real one, far below harm.
MAX_CHART_BYTES = 10 * 1024 * 1024
MAX_CHART_FILES = 2_000
MAX_CHART_DEPTH = 16
MAX_CHART_YAML_BYTES = 256 * 1024
# Bytes a tar stream may hold beyond its files' contents (a 512-byte header per entry, pax
# records, padding) before the archive counts as too large.
_TAR_OVERHEAD_BYTES = 4 * 1024 * 1024
PULL_TIMEOUT_SECONDS = 120.0
SCHEMES = ("https", "http", "oci")
MAX_REPOSITORY_CHARS = 2048
MAX_VERSION_CHARS = 128

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_HOST_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?")
# Semantic Versioning 2.0 without build metadata: numbers without leading zeros, an optional
# pre-release of dot-separated identifiers (numeric ones without leading zeros).
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_EXACT_SEMVER = re.compile(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?")


@dataclass(frozen=True)
class ChartRef:
    """A chart as a ``helmCharts`` entry names it."""

    name: str
    repository: str
    version: str

    def describe(self) -> str:
        """``ml-inference-load 0.1.0 from https://...``, for messages."""
        return f"{self.name} {self.version} from {self.repository}"


# --------------------------------------------------------------------------------------------
# Checking a reference
# --------------------------------------------------------------------------------------------


def _name_problem(name: object) -> str | None:
    if isinstance(name, str) and _DNS_LABEL.fullmatch(name):
        return None
    return (f"chart name {name!r} must be a DNS-1123 label (lowercase letters, digits and '-', "
            "at most 63 characters)")


def _version_problem(version: object) -> str | None:
    if isinstance(version, str) and len(version) <= MAX_VERSION_CHARS \
            and _EXACT_SEMVER.fullmatch(version):
        return None
    return (f"chart version {version!r} must be an exact semantic version such as 1.2.3 (no "
            "range, no 'v', no '+build'): anything else would follow whatever the "
            "repository publishes next")


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return len(host) <= 253 and _HOST_NAME.fullmatch(host) is not None
    return True


def _redacted(repository: str) -> str:
    """The URL as it may be printed: what could hold a credential (user information, query,
    fragment) replaced by ``***``; refusals are read in CI logs."""
    scheme, sep, rest = repository.partition("://")
    if not sep:
        scheme, rest = "", repository
    end = min((i for i in (rest.find(mark) for mark in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    for mark in "?#":
        head, found, _ = tail.partition(mark)
        tail = head + (f"{mark}***" if found else "")
    return scheme + sep + authority + tail


def _repository_problem(repository: object) -> str | None:
    if not isinstance(repository, str):
        return f"chart repository {repository!r} must be a URL"
    shown = _redacted(repository)
    shown = repr(shown) if len(shown) <= 200 else repr(shown[:200] + "...")
    if len(repository) > MAX_REPOSITORY_CHARS:
        return f"chart repository {shown} is longer than {MAX_REPOSITORY_CHARS} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in repository):
        return f"chart repository {shown} must not contain whitespace or control characters"
    parts = urlsplit(repository)
    if parts.scheme not in SCHEMES or not parts.netloc:
        return f"chart repository {shown} must be an https://, http:// or oci:// URL with a host"
    if "@" in parts.netloc:
        return (f"chart repository {shown} must not carry credentials (user:password@): the "
                "URL is written into the repository and printed")
    if parts.query or parts.fragment or repository.endswith(("?", "#")):
        return f"chart repository {shown} must not have a query or a fragment"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return f"chart repository {shown} has an invalid port"
    if not parts.hostname or not _host_ok(parts.hostname):
        return f"chart repository {shown} has an invalid host name"
    return None


def check_chart_ref(ref: ChartRef, field: str) -> None:
    """Refuse, in one line naming ``field``, a reference helm or kustomize could resolve to
    something else than one fixed chart, or that leaks or smuggles anything."""
    for problem in (_name_problem(ref.name), _version_problem(ref.version),
                    _repository_problem(ref.repository)):
        if problem:
            raise UserError(field, problem)


# --------------------------------------------------------------------------------------------
# Where charts are
# --------------------------------------------------------------------------------------------


def chart_cache_dir() -> Path:
    """``$INFERENCE_SCAFFOLDER_CHART_CACHE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)
    ``/inference-scaffolder/charts``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().absolute() / "inference-scaffolder" / "charts"


def cache_entry(ref: ChartRef) -> Path:
    """The cache's ``<name>-<version>`` folder for ``ref`` (kustomize's chart home layout),
    under a folder per repository: two repositories may publish different bytes under one
    version."""
    digest = hashlib.sha256(ref.repository.encode("utf-8")).hexdigest()[:16]
    return chart_cache_dir() / digest / f"{ref.name}-{ref.version}"


def is_bundled(ref: ChartRef) -> bool:
    """Whether ``ref`` is the chart this release carries (used offline, whatever the URL)."""
    return ref.name == chart.CHART_NAME and ref.version == chart.chart_version()


# --------------------------------------------------------------------------------------------
# Checking a chart tree (a fresh download, or the cache)
# --------------------------------------------------------------------------------------------


def _walk(root: Path) -> tuple[list[tuple[str, int]], str | None]:
    """Every entry below ``root`` as (relative path, lstat mode), never following a link,
    and the first problem: a link or anything that is not a file or folder, an unprintable
    name, too many files, too many bytes, too deep."""
    found: list[tuple[str, int]] = []
    pending: list[tuple[Path, str, int]] = [(root, "", 0)]
    total = 0
    while pending:
        folder, prefix, depth = pending.pop()
        if depth > MAX_CHART_DEPTH:
            return found, f"{inert(prefix)} is nested more than {MAX_CHART_DEPTH} folders deep"
        with os.scandir(folder) as listing:  # not sorted: a huge folder is never listed whole
            for entry in listing:
                relative = f"{prefix}{entry.name}"
                if not entry.name.isprintable():
                    return found, f"{inert(relative)} has an unprintable name"
                info = entry.stat(follow_symlinks=False)
                found.append((relative, info.st_mode))
                if stat.S_ISDIR(info.st_mode):
                    pending.append((Path(entry.path), f"{relative}/", depth + 1))
                elif not stat.S_ISREG(info.st_mode):
                    return found, (f"{inert(relative)} is {kind_of(info.st_mode)}; a chart "
                                   "holds only files and folders")
                else:
                    total += info.st_size
                if len(found) > MAX_CHART_FILES:
                    return found, f"holds more than {MAX_CHART_FILES} files"
                if total > MAX_CHART_BYTES:
                    return found, f"is larger than {MAX_CHART_BYTES} bytes"
    return found, None


def _chart_yaml_problem(chart_dir: Path, ref: ChartRef) -> str | None:
    """Whether ``Chart.yaml`` parses and names ``ref``'s chart and version."""
    try:
        text = read_regular_file(chart_dir / "Chart.yaml", MAX_CHART_YAML_BYTES, "Chart.yaml",
                                 follow_links=False).decode("utf-8")
        data = yamlio.load(text, source="Chart.yaml")
    except (UserError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return "its Chart.yaml is not a readable YAML file"
    if not isinstance(data, dict):
        return "its Chart.yaml is not a mapping"
    name, version = str(data.get("name")), str(data.get("version"))
    if (name, version) != (ref.name, ref.version):
        return (f"its Chart.yaml says {inert(name, 80)} {inert(version, 80)}, not "
                f"{ref.name} {ref.version}")
    return None


def chart_tree_problem(entry: Path, ref: ChartRef) -> str | None:
    """What is wrong with ``entry`` (a ``<name>-<version>`` folder) as the home of ``ref``'s
    chart, or None: it must hold one folder ``<name>`` of files and folders only, within
    the bounds, whose Chart.yaml names ``ref``'s chart and version, whose values.schema.json
    refers to nothing outside itself and whose YAML is bounded (``chart_inputs``)."""
    try:
        mode = entry.lstat().st_mode
        if not stat.S_ISDIR(mode):
            return f"is {'a file' if stat.S_ISREG(mode) else kind_of(mode)}, not a folder"
        names: list[str] = []
        with os.scandir(entry) as listing:
            for found in listing:  # one is expected: stop at the second
                names.append(found.name)
                if len(names) > 1:
                    break
        if names != [ref.name] or not stat.S_ISDIR((entry / ref.name).lstat().st_mode):
            return f"must hold exactly one folder {ref.name}, holds {inert(', '.join(names))}"
        _, problem = _walk(entry)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return (problem or _chart_yaml_problem(entry / ref.name, ref)
            or chart_inputs_problem(entry / ref.name))


# --------------------------------------------------------------------------------------------
# Unpacking an archive from a repository
# --------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    """The decompressed stream went past its bound."""


class _BoundedReader:
    """A read-only stream that fails once more than ``limit`` bytes were read from it, so a
    small archive cannot decompress into an unbounded amount of memory or disk."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(self._left + 1 if size < 0 else min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise _TooLarge
        return data


def _member_problem(member: tarfile.TarInfo, name: str, seen: set[str]) -> str | None:
    """Whether an archive entry may be unpacked: a file or folder, inside ``<name>/``, with a
    plain relative path, once."""
    shown = inert(member.name, 120)
    parts = PurePosixPath(member.name).parts
    if not (member.isfile() or member.isdir()):
        what = "a link" if member.issym() or member.islnk() else "not a file or folder"
        return f"{shown} is {what}; a chart holds only files and folders"
    if (member.name.startswith("/") or not parts or parts[0] != name
            or any(p in ("", ".", "..") for p in parts)):
        return f"{shown} is not a path inside {name}/"
    if not member.name.isprintable():
        return f"{shown} has an unprintable name"
    if member.isfile() and str(PurePosixPath(*parts)) in seen:
        return f"{shown} appears twice"
    return None


def _unpack_stream(archive: tarfile.TarFile, dest: Path, name: str) -> str | None:
    seen: set[str] = set()
    total = count = 0
    for member in archive:
        problem = _member_problem(member, name, seen)
        if problem:
            return problem
        count += 1
        total += member.size if member.isfile() else 0
        if count > MAX_CHART_FILES:
            return f"holds more than {MAX_CHART_FILES} files"
        if total > MAX_CHART_BYTES:
            return f"is larger than {MAX_CHART_BYTES} bytes"
        relative = PurePosixPath(*PurePosixPath(member.name).parts)
        target = dest.joinpath(*relative.parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        seen.add(str(relative))
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        if source is None:
            return f"{inert(member.name, 120)} cannot be read"
        # O_EXCL + O_NOFOLLOW: the folder is ours and new, so nothing can be there already.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
    return None


def unpack_chart_archive(archive: Path, dest: Path, name: str) -> str | None:
    """Unpack a chart archive (``.tgz``) into the new folder ``dest`` (``dest/<name>/...``),
    refusing links, paths outside ``<name>/`` and anything over the bounds; the problem, or
    None. Only regular files and folders are ever created."""
    try:
        info = archive.lstat()
        if not stat.S_ISREG(info.st_mode):
            return f"the download is {kind_of(info.st_mode)}"
        if info.st_size > MAX_CHART_BYTES:
            return f"the archive is larger than {MAX_CHART_BYTES} bytes"
        dest.mkdir()
        with archive.open("rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
            bounded = _BoundedReader(cast(IO[bytes], unzipped),
                                     MAX_CHART_BYTES + _TAR_OVERHEAD_BYTES)
            with tarfile.open(fileobj=cast(IO[bytes], bounded), mode="r|") as stream:
                return _unpack_stream(stream, dest, name)
    except _TooLarge:
        return f"the archive unpacks to more than {MAX_CHART_BYTES} bytes"
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError):
        return "the download is not a gzip-compressed tar archive"
    except OSError as exc:
        return f"the archive cannot be unpacked: {inert(exc.strerror or str(exc))}"


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def pull_command(ref: ChartRef, destination: Path) -> list[str]:
    """The ``helm pull`` arguments that download ``ref``'s archive into ``destination``.

    The chart is named as kustomize names it when it pulls (``--repo <repo> <name>`` for an
    HTTP(S) repository, ``<repo>/<name>`` for an OCI one, trailing ``/`` dropped), so both
    reach the same chart; unlike kustomize, nothing is untarred by helm."""
    if ref.repository.startswith("oci://"):
        source = [f"{ref.repository.rstrip('/')}/{ref.name}"]
    else:
        source = ["--repo", ref.repository, ref.name]
    return ["pull", *source, "--version", ref.version, "--destination", str(destination)]


def _helm_error(stderr: str, stdout: str) -> str:
    """helm's last error line, inert, without its ``Error:`` prefix."""
    lines = [line for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "helm failed without a message"
    return inert(last.removeprefix("Error:").strip())


def _download(ref: ChartRef, workdir: Path) -> tuple[Path | None, str]:
    """``helm pull`` of ``ref`` into ``workdir/download``: (the archive, "") or (None, why)."""
    download = workdir / "download"
    download.mkdir()
    pulled = run_helm_isolated(pull_command(ref, download), timeout=PULL_TIMEOUT_SECONDS)
    if not pulled.ok:
        return None, _helm_error(pulled.stderr, pulled.stdout)
    files = list(download.iterdir())
    if len(files) != 1:
        return None, f"helm left {len(files)} files where one chart archive was expected"
    return files[0], ""


def _not_fetched(ref: ChartRef, field: str, why: str) -> UserError:
    carried = chart.chart_version()
    if ref.name != chart.CHART_NAME:
        carried = f"{chart.CHART_NAME} {carried}"
    return UserError(field, f"{ref.name} {ref.version} is not bundled (this release carries "
                     f"{carried}) and could not be fetched from {ref.repository}: {why}")


def _discard(path: Path) -> None:
    """Remove a file, link or folder (a folder's links are removed, never followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _evict(entry: Path, workdir: Path) -> None:
    """Move an untrusted cache entry aside (one rename: a concurrent resolver sees it or
    nothing), then delete it."""
    aside = workdir / "evicted"
    try:
        os.rename(entry, aside)
    except FileNotFoundError:
        return
    _discard(aside)


def _fetch_into_cache(ref: ChartRef, field: str, entry: Path) -> Path:
    """Download, unpack and check ``ref`` beside the cache, then rename it into place."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".fetch-", dir=entry.parent))
    try:
        if os.path.lexists(entry):  # present but not trusted (checked by the caller)
            _evict(entry, workdir)
        archive, why = _download(ref, workdir)
        if archive is None:
            raise _not_fetched(ref, field, why)
        staged = workdir / entry.name
        problem = unpack_chart_archive(archive, staged, ref.name)
        problem = problem or chart_tree_problem(staged, ref)
        if problem:
            raise _not_fetched(ref, field, f"the chart {problem}")
        try:
            os.rename(staged, entry)
        except OSError:
            # Another resolver won the race: use its copy, if it is sound.
            problem = chart_tree_problem(entry, ref)
            if problem is not None:
                raise _not_fetched(ref, field, f"the cached copy {problem}") from None
        return entry / ref.name
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def resolve_chart(ref: ChartRef, *, field: str = "chart_version") -> Path:
    """The folder of ``ref``'s chart (Chart.yaml at its root): the bundled chart, a checked
    cached copy, or a checked fresh download that is then cached. A chart that cannot be
    had is one :class:`UserError` naming ``field``, the repository and the version."""
    check_chart_ref(ref, field)
    if is_bundled(ref):
        return chart.chart_source_dir()
    entry = cache_entry(ref)
    if os.path.lexists(entry) and chart_tree_problem(entry, ref) is None:
        return entry / ref.name
    try:
        return _fetch_into_cache(ref, field, entry)
    except OSError as exc:  # the cache itself: not writable, full
        why = f"the chart cache {entry.parent} cannot be written: {inert(exc.strerror or '')}"
        raise _not_fetched(ref, field, why) from None


# --------------------------------------------------------------------------------------------
# A chart home for kustomize
# --------------------------------------------------------------------------------------------


def _copy_chart(source: Path, target: Path, field: str) -> None:
    """Copy a chart's files and folders (no link is copied or followed) into ``target``."""
    entries, problem = _walk(source)
    if problem:
        raise UserError(field, f"the chart at {source} {problem}")
    target.mkdir(parents=True)
    for relative, mode in entries:
        path = target / relative
        if stat.S_ISDIR(mode):
            path.mkdir()
        else:
            data = read_regular_file(source / relative, MAX_CHART_BYTES, field,
                                     follow_links=False, shown=relative)
            path.write_bytes(data)


def populate_chart_home(chart_home: Path, ref: ChartRef, *, field: str = "chart_version",
                        link_carried: bool = True) -> None:
    """Make ``<chart_home>/<name>-<version>/<name>/`` hold ``ref``'s chart, so that
    ``kubectl kustomize --enable-helm`` finds it there and never pulls.

    A copy of a cached chart, not links into the cache: the folder can then be moved or
    deleted on its own, and a later eviction or re-fetch in the cache cannot change a build
    that is running. The chart this release carries is linked instead: it is the package's
    own read-only data, and a fleet's builds (``validate --kustomize-build always``) would
    otherwise spend a tenth of their time copying it (``link_carried=False`` copies it too,
    for a chart home that outlives this process). Whatever was at that ``<name>-<version>``
    is replaced in one rename."""
    source = resolve_chart(ref, field=field)
    chart_home.mkdir(parents=True, exist_ok=True)
    entry = chart_home / f"{ref.name}-{ref.version}"
    workdir = Path(tempfile.mkdtemp(prefix=".populate-", dir=chart_home))
    try:
        staged = workdir / entry.name
        if link_carried and is_bundled(ref):
            staged.mkdir()
            (staged / ref.name).symlink_to(source.resolve(), target_is_directory=True)
        else:
            _copy_chart(source, staged / ref.name, field)
        if os.path.lexists(entry):
            os.rename(entry, workdir / "replaced")
        os.rename(staged, entry)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
