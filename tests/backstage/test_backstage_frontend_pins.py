"""The test frontend and the test backend are one Backstage release.

backstage/frontend has its own package.json and lock (its 600 MB of React packages and
``--legacy-peer-deps`` stay out of the backend install), so nothing but this check keeps the
two on the same release: every @backstage package both locks hold must have the same
version, and each lock must hold one version of each @backstage package.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from backstage_harness import BACKSTAGE_DIR

FRONTEND_DIR = BACKSTAGE_DIR / "frontend"
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def backstage_versions(lock_file: Path) -> dict[str, set[str]]:
    """@backstage package name -> every version the lock installs (nested copies included)."""
    lock = json.loads(lock_file.read_text(encoding="utf-8"))
    versions: dict[str, set[str]] = defaultdict(set)
    for path, entry in lock["packages"].items():
        name = path.rpartition("node_modules/")[2]
        if name.startswith("@backstage/") and "version" in entry:
            versions[name].add(entry["version"])
    return versions


def test_each_lock_installs_one_version_of_each_backstage_package():
    for lock_file in (BACKSTAGE_DIR / "package-lock.json", FRONTEND_DIR / "package-lock.json"):
        duplicates = {n: v for n, v in backstage_versions(lock_file).items() if len(v) > 1}
        assert not duplicates, (lock_file, duplicates)


def test_packages_shared_by_frontend_and_backend_have_the_same_version():
    backend = backstage_versions(BACKSTAGE_DIR / "package-lock.json")
    frontend = backstage_versions(FRONTEND_DIR / "package-lock.json")
    shared = sorted(set(backend) & set(frontend))
    assert "@backstage/plugin-scaffolder-common" in shared  # the API both sides speak
    assert {n: (backend[n], frontend[n]) for n in shared if backend[n] != frontend[n]} == {}


def test_frontend_pins_exact_versions_and_overrides_every_shared_package():
    manifest = json.loads((FRONTEND_DIR / "package.json").read_text(encoding="utf-8"))
    loose = {
        name: spec
        for section in ("dependencies", "overrides")
        for name, spec in manifest[section].items()
        if not EXACT_VERSION.match(spec)
    }
    assert loose == {}
    backend = backstage_versions(BACKSTAGE_DIR / "package-lock.json")
    frontend = backstage_versions(FRONTEND_DIR / "package-lock.json")
    not_overridden = sorted((set(backend) & set(frontend)) - set(manifest["overrides"]))
    assert not_overridden == [], "pin these to the backend's versions in overrides"
