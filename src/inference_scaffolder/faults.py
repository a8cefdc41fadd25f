"""Named fault points: a test hook that kills the process at a chosen step.

Crash-safety claims ("a run killed half-way converges when re-run") can only be tested by
really killing a run at the interesting moments. Code calls :func:`fault_point` with a name
at each such moment; when the environment variable ``INFERENCE_SCAFFOLDER_FAULT_POINT``
names that point, the process sends itself SIGKILL there, so nothing (no ``finally``, no
atexit, no temp-dir cleanup) runs, exactly like a machine losing power. Unset, it does
nothing. The points in use:

- ``after-branch-created``: schema-pr built and committed its branch locally; nothing pushed.
- ``after-push``: the branch was pushed; no pull request was looked up or opened yet.
- ``before-pr-create``: the GitHub publisher is about to open the pull request.
"""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "INFERENCE_SCAFFOLDER_FAULT_POINT"


def fault_point(name: str) -> None:
    """Die with SIGKILL here when ``$INFERENCE_SCAFFOLDER_FAULT_POINT`` equals ``name``."""
    if os.environ.get(FAULT_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
