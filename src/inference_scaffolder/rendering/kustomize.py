"""``kubectl kustomize --enable-helm``: what Argo CD renders from an environment's folder."""

from __future__ import annotations

import atexit
import shlex
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from inference_scaffolder.confine import run_confined
from inference_scaffolder.tools import find_helm, helm_homes, run_helm, short_go_run_env

BUILD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class KustomizeBuild:
    ok: bool
    stdout: str
    error: str


@cache
def _helm_major_version() -> str:
    out = run_helm(["version", "--short"])
    return out.stdout.strip().lstrip("v").split(".")[0] if out.ok else ""


_SHIM_LOCK = threading.Lock()


def _helm_command_for_kustomize() -> str:
    with _SHIM_LOCK:
        return _helm_command_once()


@cache
def _helm_command_once() -> str:
    """The helm kustomize should run. Kustomize 5.7 probes ``helm version -c`` and accepts
    only Helm 3; with Helm 4 (same ``template`` behaviour) a tiny shim answers the probe
    and hands every other call to the real helm.

    The shim is written once per process, before any build needs it: a program written
    while other threads start processes can be held open for writing by one of their
    children for a moment, and executing it then fails ("text file busy")."""
    helm = find_helm()
    if _helm_major_version() == "3":
        return helm
    folder = Path(tempfile.mkdtemp(prefix="kustomize-helm-"))
    atexit.register(shutil.rmtree, folder, True)
    shim = folder / "helm"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo v3.99.0+helm4; exit 0; fi\n'
        f'exec {shlex.quote(helm)} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o500)
    return str(shim)


def kustomize_build(kubectl: str, directory: Path, *, network: bool = False) -> KustomizeBuild:
    """``kubectl kustomize --enable-helm DIR``, confined (:mod:`inference_scaffolder.confine`).

    The folder is a repository's, so the build gets none of the caller's environment
    (tokens, cloud credentials, proxies, helm and kubectl configuration), no network (a
    remote resource fails to load), a file system it can write only in ``DIR`` (where
    kustomize puts the charts it inflates) and its scratch folder, and bounded memory,
    output and time. ``network`` lets kustomize pull charts itself, as Argo CD's does: the
    tests use it to show that a leaf builds online; the tool never does."""
    with tempfile.TemporaryDirectory(prefix="kustomize-") as tmp:
        helm = _helm_command_for_kustomize()
        done = run_confined(
            [kubectl, "kustomize", "--enable-helm", "--helm-command", helm, str(directory)],
            cwd=directory, timeout=BUILD_TIMEOUT_SECONDS, writable=[directory],
            scratch=Path(tmp), env={**short_go_run_env(), **helm_homes(Path(tmp))},
            network=network,
        )
    if done.breach:
        return KustomizeBuild(False, "", f"kubectl kustomize {done.breach}")
    error = " ".join(done.stderr.split())[-400:] if done.returncode else ""
    return KustomizeBuild(done.returncode == 0, done.stdout, error)
