"""Running the installed CLI with a terminal as standard error, as a user at a shell does:
what a command shows only on a terminal (its progress) can be seen there."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pexpect

CLI = str(Path(sys.executable).parent / "inference-scaffolder")
COLOURS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(command: str, cwd: Path) -> tuple[int, str]:
    """Run ``command`` (a shell line) with a terminal as standard error; what it showed."""
    child = pexpect.spawn("bash", ["-c", command], cwd=str(cwd), encoding="utf-8",
                          timeout=300, dimensions=(40, 200))
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, COLOURS.sub("", child.before)
