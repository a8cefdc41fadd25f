"""Running a program on content nobody here controls (a repository's charts, Kustomizations,
TypeScript sources): helm, kubectl, tsc and the Node tools.

What a confined run gets, whatever the content makes the program do:

- **an environment of its own**: ``PATH`` with absolute entries only (never the working
  directory), a throw-away ``HOME``/``TMPDIR``/XDG folders, the locale, and what the caller
  names explicitly. No token, no ``GIT_*``/``npm_config_*``/cloud/proxy variables of the host;
- **no network** (unless the run is a download), **a read-only file system except its scratch
  folder and the folders the caller names**, and its own process namespace, through
  bubblewrap when it is installed; without bubblewrap, ``unshare --net`` still takes the
  network away where the kernel allows it (see :func:`sandbox`);
- **bounded memory** (an address-space limit), **bounded output** (captured to files whose
  size the kernel caps) and **bounded time** (the whole process group is killed).

Every breach is reported as a failed run with one line that says which bound was hit.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MEMORY_ENV = "INFERENCE_SCAFFOLDER_TOOL_MEMORY_MIB"
SANDBOX_ENV = "INFERENCE_SCAFFOLDER_SANDBOX"  # "auto" (default), "bwrap", "unshare", "none"
DEFAULT_MEMORY_MIB = 3072
OUTPUT_LIMIT_BYTES = 64 * 1024 * 1024
_RESERVE = 8 * 1024 * 1024 * 1024  # address space reserved but never used (Go, V8)
# The host variables a confined program keeps: the locale and where CA certificates are
# (needed by a download; not secrets). Everything else is set by this module or the caller.
_KEPT = ("LANG", "LC_ALL", "LC_CTYPE", "SSL_CERT_FILE", "SSL_CERT_DIR", "TZ")
# What a download (helm pull) keeps beyond that: how to reach the network.
NETWORK_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                     "no_proxy")
_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "heap out of memory",
                  "allocation failed", "std::bad_alloc", "memoryerror")


@dataclass(frozen=True)
class Confined:
    """How a program ran: its exit status and captured output (both cut at the output
    bound), and, when a bound stopped it, which (``breach``)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    breach: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.breach


def safe_path(path: str | None = None) -> str:
    """``PATH`` without its relative entries (``.``, empty, ``bin``): those name the working
    directory, which may be a repository someone pushed a ``git`` or ``node`` into; a program
    that looks a tool up (``#!/usr/bin/env node``) would run it."""
    entries = (path if path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep)
    return os.pathsep.join(e for e in entries if os.path.isabs(e))


def harden_process_path() -> None:
    """Drop relative ``PATH`` entries from this process's own environment, so every program
    it starts, directly or through a library (GitPython) or another program, looks tools up
    in absolute folders only."""
    os.environ["PATH"] = safe_path()


def memory_limit_bytes() -> int:
    """The address-space bound of a confined program: ``$INFERENCE_SCAFFOLDER_TOOL_MEMORY_MIB``
    (a whole number of MiB, at least 256) or 3 GiB."""
    raw = os.environ.get(MEMORY_ENV, "")
    mib = int(raw) if raw.isdigit() and len(raw) <= 7 and int(raw) >= 256 else DEFAULT_MEMORY_MIB
    return mib * 1024 * 1024


def confined_env(scratch: Path, extra: Mapping[str, str] | None = None, *,
                 network: bool = False, tool_dirs: Sequence[str] = ()) -> dict[str, str]:
    """The whole environment of a confined program: see the module docstring."""
    path = os.pathsep.join([*tool_dirs, safe_path()])
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    if network:
        env.update({k: os.environ[k] for k in NETWORK_VARIABLES if k in os.environ})
    env.update({
        "PATH": path, "HOME": str(scratch), "TMPDIR": str(scratch),
        "XDG_CACHE_HOME": str(scratch / "cache"), "XDG_CONFIG_HOME": str(scratch / "config"),
        "XDG_DATA_HOME": str(scratch / "data"),
    })
    env.update(extra or {})
    return env


@cache
def sandbox() -> str:
    """Which confinement this host offers: ``bwrap`` (bubblewrap: read-only file system,
    no network, own process namespace), ``unshare`` (no network only) or ``none``.
    ``$INFERENCE_SCAFFOLDER_SANDBOX`` may ask for less, never for what does not work."""
    wanted = os.environ.get(SANDBOX_ENV, "auto")
    if wanted == "none":
        return "none"
    if wanted in ("auto", "bwrap") and _works(_bwrap_prefix(Path("/"), (), network=False)):
        return "bwrap"
    if wanted in ("auto", "bwrap", "unshare") and _works(_unshare_prefix()):
        return "unshare"
    return "none"


def _works(prefix: list[str]) -> bool:
    """Whether ``prefix true`` runs here (user namespaces may be disabled)."""
    if not prefix or not Path(prefix[0]).is_file():
        return False
    try:
        return subprocess.run([*prefix, "/bin/true"], capture_output=True, timeout=20,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _bwrap_prefix(cwd: Path, writable: Sequence[Path], *, network: bool) -> list[str]:
    bwrap = shutil.which("bwrap", path=safe_path()) or ""
    if not bwrap:
        return []
    prefix = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
              "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
              "--new-session"]
    if not network:
        prefix.append("--unshare-net")
    for folder in writable:
        prefix += ["--bind", str(folder), str(folder)]
    return [*prefix, "--chdir", str(cwd)]


def _unshare_prefix() -> list[str]:
    unshare = shutil.which("unshare", path=safe_path()) or ""
    if not unshare:
        return []
    return [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--net", "--map-current-user"]


def _prefix(cwd: Path, writable: Sequence[Path], network: bool) -> list[str]:
    kind = sandbox()
    if kind == "bwrap":
        return _bwrap_prefix(cwd, writable, network=network)
    if kind == "unshare" and not network:
        return _unshare_prefix()
    return []


def _limit_resources(memory: int, output: int) -> None:
    """Runs in the child before exec: memory, file size (the captured output is a file) and
    no core dumps. Memory is bounded as the kernel counts what a program actually uses
    (``RLIMIT_DATA``: its writable private mappings, heap included), with the address space
    (``RLIMIT_AS``) bounded too, more loosely: Go and V8 reserve large address ranges they
    never touch, and an address-space bound tight enough to matter stops them at start."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_AS, (memory + _RESERVE, memory + _RESERVE))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def run_confined(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    writable: Sequence[Path] = (),
    network: bool = False,
    scratch: Path | None = None,
) -> Confined:
    """Run ``command`` confined (see the module docstring). ``env`` adds to the confined
    environment; ``writable`` folders are the only ones the program may write besides its
    scratch folder (``scratch``, or a temporary one deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="confined-") as private:
        work = scratch or Path(private) / "scratch"
        work.mkdir(exist_ok=True)
        full_env = confined_env(work, env, network=network,
                                tool_dirs=[str(Path(command[0]).parent)])
        prefix = _prefix(cwd, [work, *writable], network)
        return _run(list(command), prefix, cwd, full_env, stdin, timeout, Path(private))


def _run(command: list[str], prefix: list[str], cwd: Path, env: dict[str, str],
         stdin: str | None, timeout: float, private: Path) -> Confined:
    memory = memory_limit_bytes()
    out_path, err_path = private / "stdout", private / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            process = subprocess.Popen(
                [*prefix, *command], cwd=cwd, env=env, stdout=out, stderr=err,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=lambda: _limit_resources(memory, OUTPUT_LIMIT_BYTES),
            )
        except OSError as exc:
            return Confined(command, 127, "", f"cannot run {Path(command[0]).name}: "
                            f"{exc.strerror}")
        breach = _wait(process, stdin, timeout)
    stdout, stderr = _read_capped(out_path), _read_capped(err_path)
    breach = breach or _breach_from(process.returncode, stderr, memory, out_path, err_path)
    return Confined(command, process.returncode, stdout, stderr, breach)


def _wait(process: subprocess.Popen[bytes], stdin: str | None, timeout: float) -> str:
    """Feed stdin and wait; past ``timeout`` a timer kills the whole process group. (A
    blocking wait with a timer, not ``wait(timeout=...)``, which polls with sleeps of up to
    50 ms and so adds tens of milliseconds to every short run.)"""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        process.communicate(stdin.encode() if stdin is not None else None)
    except BrokenPipeError:
        process.wait()
    finally:
        timer.cancel()
    return f"did not finish within {int(timeout)} s" if expired.is_set() else ""


def _breach_from(returncode: int, stderr: str, memory: int, *outputs: Path) -> str:
    """Which bound ended a failed run, when one did."""
    if returncode == 0:
        return ""
    if returncode == -signal.SIGXFSZ or any(p.stat().st_size >= OUTPUT_LIMIT_BYTES
                                            for p in outputs):
        return f"wrote more than {OUTPUT_LIMIT_BYTES // (1024 * 1024)} MiB of output"
    ends = (stderr[:4000] + stderr[-4000:]).lower()
    if any(s in ends for s in _OUT_OF_MEMORY):
        return f"exceeded its memory bound of {memory // (1024 * 1024)} MiB"
    return ""


def _read_capped(path: Path, limit: int = OUTPUT_LIMIT_BYTES) -> str:
    with open(path, "rb") as handle:
        return handle.read(limit).decode("utf-8", errors="replace")


def trusted_child_env() -> dict[str, str]:
    """The environment for a Python child of this tool running its own (trusted) code:
    the host's, minus secrets and the Git/npm configuration variables a hostile value could
    steer."""
    return {k: v for k, v in without_secrets(os.environ).items()
            if not _steering(k)} | {"PATH": safe_path(), "PYTHONNOUSERSITE": "1"}


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variables that hold credentials (tokens, passwords, keys, cloud
    credentials): for git, which needs the user's SSH agent and proxy settings but gets its
    one credential from the tool's own helper."""
    return {k: v for k, v in env.items() if not _secret(k)} | {"PATH": safe_path(env.get("PATH"))}


_SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY", "APIKEY",
                   "PRIVATE_KEY", "ACCESS_KEY", "SESSION_KEY", "AUTH_HEADER", "BEARER")
_SECRET_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "ACTIONS_", "VAULT_")


def _secret(name: str) -> bool:
    upper = name.upper()
    return any(m in upper for m in _SECRET_MARKERS) or upper.startswith(_SECRET_PREFIXES)


def _steering(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(("GIT_", "NPM_CONFIG_", "SSH_AUTH")) or upper == "PYTHONPATH"
