"""cel-python's parser tables are computed once per user and kept in a private folder: a
run that meets CEL rules starts in milliseconds, and no one else can plant the cache (it is
a pickle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from inference_scaffolder.checks import cel
schema = {"type": "object", "properties": {"replicas": {"type": "integer"}},
          "x-kubernetes-validations": [{"rule": "self.replicas <= 3 && size(self) > 0",
                                        "message": "at most three replicas"}]}
findings = cel.cel_findings({"replicas": 5}, schema)
print(json.dumps([[f.path, f.message, f.evaluable] for f in findings]))
"""


def probe(cache_home: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_the_parser_tables_are_kept_in_a_private_folder_and_give_the_same_findings(
        tmp_path: Path) -> None:
    first = probe(tmp_path)
    folder = tmp_path / "inference-scaffolder-cel"
    assert [p.name for p in folder.iterdir()] == ["cel-parser.lark"]
    assert folder.stat().st_mode & 0o077 == 0
    assert probe(tmp_path) == first  # from the cache
    assert '"at most three replicas"' in first and "false" not in first


@pytest.mark.parametrize("plant", ["shared folder", "link"])
def test_a_cache_folder_others_could_write_is_never_read(tmp_path: Path, plant: str) -> None:
    folder = tmp_path / "inference-scaffolder-cel"
    if plant == "link":
        target = tmp_path / "elsewhere"
        target.mkdir(mode=0o700)
        folder.symlink_to(target)
    else:
        folder.mkdir()
        folder.chmod(0o777)
    planted = (folder / "cel-parser.lark")
    planted.write_bytes(b"not lark's cache: a pickle someone else wrote")
    assert '"at most three replicas"' in probe(tmp_path)
    assert planted.read_bytes() == b"not lark's cache: a pickle someone else wrote"
