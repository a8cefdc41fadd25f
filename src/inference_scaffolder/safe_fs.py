"""Reading and writing files of repositories and paths the tool does not control.

The tool reads files that other people wrote: answers files, a model's config.json, service
repositories that teams edit and CI clones, and the shared platform repository that
``schema-pr`` clones. Any of them may hold a symbolic link to somewhere else on the host, a
FIFO or a device (a read blocks forever, or never ends), or a file of gigabytes. So every
read here:

- opens without blocking (``O_NONBLOCK``: opening a FIFO does not wait for a writer) and
  checks what it opened (``fstat``): only regular files are read;
- reads at most ``limit`` bytes, whatever the file claims its size is;
- names the file in a one-line :class:`UserError` when any of this fails.

Two ways to confine a tree:

- :func:`refuse_links_out` for a service repository on the user's disk: links that stay
  inside the repository are the team's business, links that leave it (or end at something
  that is not a file or a folder) are refused, and so are links into ``.git`` (or to it):
  a checkout's ``.git/config`` holds the CI's credentials (an ``extraheader``, a token in a
  remote URL), which a chart or Kustomization would print;
- :class:`ConfinedTree` for a throw-away clone the tool edits (``schema-pr``): no symbolic
  link at all on a path it reads, writes or deletes. Paths are opened component by
  component relative to the previous folder (``openat`` with ``O_NOFOLLOW``), so not even a
  link swapped in between a check and a use is followed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from inference_scaffolder.errors import UserError

# Far above any file of a chart, a values file, a TypeScript module or an answers record;
# far below what would hurt to hold in memory or parse.
MAX_REPOSITORY_FILE_BYTES = 8 * 1024 * 1024
# A walk of a folder stops (refuses) beyond this many entries: a chart has dozens.
MAX_TREE_ENTRIES = 20_000
_KIND_NAMES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
)


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words, for messages."""
    for test, name in _KIND_NAMES:
        if test(mode):
            return name
    return "not a regular file"


def refusal(field: str, shown: str, problem: str) -> UserError:
    """``<field>: <shown> <problem>``, without repeating the name when the field is it."""
    return UserError(field, problem if field == shown else f"{shown} {problem}")


def within(root: Path, path: Path) -> bool:
    """Whether ``path``, with every symbolic link resolved, is ``root`` or below it."""
    try:
        resolved = path.resolve()
        base = root.resolve()
    except (OSError, RuntimeError):  # a link loop
        return False
    return resolved == base or base in resolved.parents


# --------------------------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------------------------


def _read_fd(fd: int, shown: str, limit: int, field: str) -> bytes:
    """The content of the open ``fd``: a regular file of at most ``limit`` bytes."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise refusal(field, shown, f"is {kind_of(info.st_mode)}, not a regular file")
    if info.st_size > limit:
        raise refusal(field, shown, f"is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:  # it grew while being read
        raise refusal(field, shown, f"is larger than {limit} bytes")
    return b"".join(chunks)


def read_regular_file(
    path: Path, limit: int, field: str, *, follow_links: bool = True, shown: str | None = None
) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    ``follow_links=False`` refuses a symbolic link as the last component (a path the user
    named may be a link; a file inside a confined tree may not)."""
    name = shown or str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise refusal(field, name, "is a symbolic link; refusing to follow it") from None
        problem = f"cannot be read: {exc.strerror}"
        raise UserError(field, problem if field == name else f"cannot read {name}: "
                        f"{exc.strerror}") from None
    try:
        return _read_fd(fd, name, limit, field)
    finally:
        os.close(fd)


def decode_utf8(data: bytes, shown: str, field: str) -> str:
    """``data`` as UTF-8 text; a file that is not says so, with the first bad byte's offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refusal(field, shown, f"is not UTF-8 text (byte {exc.start})") from None


def read_text_file(
    path: Path, limit: int, field: str, *, follow_links: bool = True, shown: str | None = None
) -> str:
    """:func:`read_regular_file`, decoded as UTF-8."""
    data = read_regular_file(path, limit, field, follow_links=follow_links, shown=shown)
    return decode_utf8(data, shown or str(path), field)


# --------------------------------------------------------------------------------------------
# A repository on the user's disk: links may stay inside, never leave
# --------------------------------------------------------------------------------------------


def _shown(root: Path, path: Path, shown_root: str | None) -> str:
    """``path`` as a user knows it: relative to the repository, under ``shown_root``."""
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
    return f"{shown_root.rstrip('/')}/{relative}" if shown_root else relative


def _link_target(root: Path, link: Path, shown: str) -> Path:
    """The in-repository target of ``link`` (which may not exist: nothing to read there);
    refused when it leaves ``root``."""
    try:
        link.resolve()
    except (OSError, RuntimeError):
        raise UserError(shown, f"is a symbolic link to {os.readlink(link)} that never ends "
                        "(a loop of links)") from None
    if not within(root, link):
        raise UserError(shown, f"is a symbolic link to {os.readlink(link)}, outside the "
                        "repository; refusing to follow it")
    target = link.resolve()
    if in_git_dir(root, target):
        raise UserError(shown, f"is a symbolic link to {os.readlink(link)}, into .git (which "
                        "holds the clone's credentials); refusing to follow it")
    return target


def in_git_dir(root: Path, path: Path) -> bool:
    """Whether ``path`` (resolved, inside the resolved ``root``) is a ``.git`` folder or file,
    or anything in one."""
    try:
        return ".git" in path.relative_to(root).parts
    except ValueError:
        return False


def _entries(
    root: Path, start: Path, shown_root: str | None
) -> Iterator[tuple[Path, str, os.stat_result]]:
    """Every path at or below ``start`` with its shown name and own (not followed) status;
    the targets of links that stay inside ``root`` are visited too, each folder once."""
    pending = [start]
    seen: set[tuple[int, int]] = set()
    count = 0
    while pending:
        path = pending.pop()
        try:
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        shown = _shown(root, path, shown_root)
        count += 1
        if count > MAX_TREE_ENTRIES:
            raise UserError(_shown(root, start, shown_root),
                            f"holds more than {MAX_TREE_ENTRIES} files")
        yield path, shown, info
        if stat.S_ISLNK(info.st_mode):
            pending.append(_link_target(root, path, shown))
        elif stat.S_ISDIR(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(path) as listing:
                pending.extend(Path(entry.path) for entry in listing)


def refuse_links_out(
    root: Path,
    paths: Iterable[Path],
    *,
    shown_root: str | None = None,
    limit: int | None = MAX_REPOSITORY_FILE_BYTES,
    hard_links: bool = True,
) -> None:
    """Refuse, naming the first offender, anything at or below ``paths`` (inside ``root``)
    that a reader must not meet: a symbolic link leaving ``root`` or reaching into ``.git``,
    a FIFO, a device or a socket, or a file larger than ``limit``; with ``hard_links=False``
    also a file with more than one hard link (git never checks one out: in a fresh clone it
    was put there, and may be any file of the host). Paths that do not exist pass. Errors
    name the path relative to ``root``, under ``shown_root`` when given."""
    base = root.resolve()
    for start in paths:
        for _, shown, info in _entries(base, base / start.relative_to(root), shown_root):
            mode = info.st_mode
            if stat.S_ISLNK(mode) or stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise UserError(shown, f"is {kind_of(mode)}; a repository holds only files "
                                "and folders")
            if limit is not None and info.st_size > limit:
                raise UserError(shown, f"is larger than {limit} bytes")
            if not hard_links and info.st_nlink > 1:
                raise UserError(shown, f"has {info.st_nlink} hard links; a fresh clone holds "
                                "none")


def refuse_links(root: Path, relative: str, *, shown_root: str | None = None) -> None:
    """Refuse a symbolic link on any component of ``root/relative`` (a file about to be
    written in place: writing through a link would change its target instead)."""
    path = root
    for part in PurePosixPath(relative).parts:
        path = path / part
        if path.is_symlink():
            raise UserError(_shown(root, path, shown_root), "is a symbolic link; refusing to "
                            "write through it")


# --------------------------------------------------------------------------------------------
# A throw-away clone the tool edits: no link is followed on any path it touches
# --------------------------------------------------------------------------------------------


class ConfinedTree:
    """Files of one folder, read and written without following any symbolic link.

    Every path is relative (``a/b/c``, no ``..``); a link on any of its components is
    refused with one line naming it. ``field`` prefixes nothing: the error names the path.
    """

    def __init__(self, root: Path, *, limit: int = MAX_REPOSITORY_FILE_BYTES,
                 why: str = "") -> None:
        self.root = root
        self.limit = limit
        self._why = why

    # -- plumbing ------------------------------------------------------------------------

    def _refuse_link(self, relative: str) -> UserError:
        target = os.readlink(self.root / relative)
        reason = f": {self._why}" if self._why else ""
        return UserError(relative, f"is a symbolic link (to {target}); refusing to follow "
                         f"it{reason}")

    @staticmethod
    def _parts(relative: str) -> tuple[str, ...]:
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            raise UserError(relative or "(empty path)", "must be a path inside the repository")
        return parts

    def _open_dir(self, parts: tuple[str, ...], *, create: bool) -> int | None:
        """An fd of the folder ``parts`` (created when asked), or None when it is missing."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for depth, part in enumerate(parts):
            try:
                child = self._open_child_dir(fd, part)
                if child is None and create:
                    os.mkdir(part, 0o777, dir_fd=fd)
                    child = self._open_child_dir(fd, part)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            if child is None:
                return None
            if child < 0:
                raise self._not_a_folder(parts[: depth + 1], -child)
            fd = child
        return fd

    @staticmethod
    def _open_child_dir(fd: int, name: str) -> int | None:
        """The child folder's fd; None when missing; minus the lstat mode when it is not a
        folder (a link, a file)."""
        try:
            return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                           dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            return -os.lstat(name, dir_fd=fd).st_mode

    def _not_a_folder(self, parts: tuple[str, ...], mode: int) -> UserError:
        relative = "/".join(parts)
        if stat.S_ISLNK(mode):
            return self._refuse_link(relative)
        return UserError(relative, f"is {kind_of(mode)}, where a folder was expected")

    @contextmanager
    def _parent(self, relative: str, *, create: bool = False) -> Iterator[tuple[int, str] | None]:
        parts = self._parts(relative)
        fd = self._open_dir(parts[:-1], create=create)
        if fd is None:
            yield None
            return
        try:
            yield fd, parts[-1]
        finally:
            os.close(fd)

    # -- reading -------------------------------------------------------------------------

    def read(self, relative: str) -> bytes | None:
        """The bytes of a regular file, or None when it does not exist."""
        with self._parent(relative) as parent:
            if parent is None:
                return None
            dir_fd, name = parent
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise self._refuse_link(relative) from None
                raise UserError(relative, f"cannot read it: {exc.strerror}") from None
            try:
                return _read_fd(fd, relative, self.limit, relative)
            finally:
                os.close(fd)

    def read_text(self, relative: str) -> str | None:
        """A regular file as UTF-8 text, or None when it does not exist."""
        data = self.read(relative)
        return None if data is None else decode_utf8(data, relative, relative)

    def _mode(self, relative: str) -> int | None:
        """The ``lstat`` mode of what is at ``relative`` (None: nothing there); a link there
        is refused, and none on the way is followed."""
        with self._parent(relative) as parent:
            if parent is None:
                return None
            dir_fd, name = parent
            try:
                mode = os.lstat(name, dir_fd=dir_fd).st_mode
            except FileNotFoundError:
                return None
        if stat.S_ISLNK(mode):
            raise self._refuse_link(relative)
        return mode

    def is_file(self, relative: str) -> bool:
        """Whether a regular file is there (a link on the way is refused, not followed)."""
        mode = self._mode(relative)
        return mode is not None and stat.S_ISREG(mode)

    def exists(self, relative: str) -> bool:
        """Whether anything is at ``relative`` (a link there is refused)."""
        return self._mode(relative) is not None

    def files(self, relative: str = "") -> dict[str, bytes]:
        """Every regular file at or below the folder ``relative`` (``""``: the root), by path
        relative to that folder; a link, FIFO, device or socket on the way is refused."""
        parts = self._parts(relative) if relative else ()
        fd = self._open_dir(parts, create=False)
        if fd is None:
            return {}
        found: dict[str, bytes] = {}
        try:
            self._collect(fd, relative, "", found)
        finally:
            os.close(fd)
        return dict(sorted(found.items()))

    def _collect(self, fd: int, base: str, prefix: str, found: dict[str, bytes]) -> None:
        with os.scandir(fd) as listing:
            names = sorted(entry.name for entry in listing)
        for name in names:
            inner = f"{prefix}{name}"
            shown = f"{base}/{inner}" if base else inner
            mode = os.lstat(name, dir_fd=fd).st_mode
            if stat.S_ISLNK(mode):
                raise self._refuse_link(shown)
            if stat.S_ISDIR(mode):
                child = self._open_child_dir(fd, name)
                if child is None or child < 0:
                    raise UserError(shown, "changed while being read")
                try:
                    self._collect(child, base, f"{inner}/", found)
                finally:
                    os.close(child)
            elif stat.S_ISREG(mode):
                if len(found) >= MAX_TREE_ENTRIES:
                    raise UserError(base or ".", f"holds more than {MAX_TREE_ENTRIES} files")
                data = self.read(shown)
                if data is not None:
                    found[inner] = data
            else:
                raise UserError(shown, f"is {kind_of(mode)}; only files and folders are read")

    def names(self, relative: str) -> list[str]:
        """The names in the folder ``relative`` (sorted; empty when it does not exist)."""
        fd = self._open_dir(self._parts(relative), create=False)
        if fd is None:
            return []
        try:
            with os.scandir(fd) as listing:
                return sorted(entry.name for entry in listing)
        finally:
            os.close(fd)

    # -- writing -------------------------------------------------------------------------

    def write(self, relative: str, data: bytes) -> None:
        """Create or replace a regular file (its folders are created as needed)."""
        with self._parent(relative, create=True) as parent:
            assert parent is not None
            dir_fd, name = parent
            flags = (os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                fd = os.open(name, flags, 0o666, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise self._refuse_link(relative) from None
                raise UserError(relative, f"cannot write it: {exc.strerror}") from None
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise UserError(relative, f"is {kind_of(info.st_mode)}, not a regular file")
                os.ftruncate(fd, 0)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)

    def remove(self, relative: str) -> None:
        """Delete a file (a link there is refused: it was never ours to touch)."""
        with self._parent(relative) as parent:
            if parent is None:
                return
            dir_fd, name = parent
            try:
                mode = os.lstat(name, dir_fd=dir_fd).st_mode
            except FileNotFoundError:
                return
            if stat.S_ISLNK(mode):
                raise self._refuse_link(relative)
            if stat.S_ISDIR(mode):
                raise UserError(relative, "is a folder, where a file was expected")
            os.unlink(name, dir_fd=dir_fd)

    def refuse_links_out(self, skip: tuple[str, ...] = (".git",)) -> None:
        """Refuse any symbolic link anywhere in the tree (``skip`` aside) that leaves it,
        reaches into ``.git`` or ends at something that is not a file or folder, and any
        file with several hard links: tools that read the whole tree (a compiler, helm,
        the values check) would follow it, and a template can print what it reads."""
        refuse_links_out(self.root, [p for p in self.root.iterdir() if p.name not in skip],
                         limit=None, hard_links=False)


class NotPrivate(Exception):
    """A folder meant to be this user's alone is not (what is there, in words)."""


def open_private_folder(path: Path) -> int:
    """A descriptor of ``path``, created 0700 if absent; refused (:class:`NotPrivate`)
    unless it is a real folder (no link followed) of this user that no one else can use:
    what the tool keeps there (locks, caches) must not be anyone else's to plant."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise NotPrivate(f"cannot be created ({exc.strerror})") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise NotPrivate(f"is not a folder ({exc.strerror})") from None
    info = os.fstat(fd)
    problem = (
        "is not a folder" if not stat.S_ISDIR(info.st_mode)
        else f"belongs to uid {info.st_uid}" if info.st_uid != os.geteuid()
        else f"has mode {stat.S_IMODE(info.st_mode):04o}, not private"
        if info.st_mode & 0o077 else None
    )
    if problem:
        os.close(fd)
        raise NotPrivate(problem)
    return fd
