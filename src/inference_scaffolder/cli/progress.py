"""Progress of long commands (``schema-pr``, ``validate`` of a fleet) on standard error.

Shown only while standard error is a terminal and the command prints no JSON: a log sent to
a file or a pipe, and a ``--json`` run, get their results and nothing else.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from inference_scaffolder.errors import inert


class StepProgress:
    """The step under way, with a spinner and its time; each finished step stays as a line.

    The library calls :meth:`step` and :meth:`count` from its worker threads too."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._task: TaskID | None = None
        self._current = ""
        self._count = ""
        self._started = 0.0

    def step(self, text: str) -> None:
        """A step begins; the one before it has finished."""
        with self._lock:
            self._begin(text, count="")

    def count(self, text: str, done: int, total: int) -> None:
        """Counted work: ``done`` of ``total`` things of the step ``text``."""
        with self._lock:
            shown = f"{done}/{total}"
            if self._task is None or inert(text, 200) != self._current:
                self._begin(text, count=shown)
            else:
                self._count = shown
                self._progress.update(self._task, count=shown)

    def close(self, failed: bool) -> None:
        """End the display; the last step is marked as failed when the command failed."""
        with self._lock:
            self._finish(failed)

    def _begin(self, text: str, count: str) -> None:
        self._finish(failed=False)
        self._current, self._count = inert(text, 200), count
        self._started = time.monotonic()
        self._task = self._progress.add_task(self._current, total=None, count=count)

    def _finish(self, failed: bool) -> None:
        if self._task is None:
            return
        seconds = time.monotonic() - self._started
        self._progress.remove_task(self._task)
        self._progress.refresh()  # else the line printed next repeats the stale display
        self._task = None
        mark = ("✗ ", "red") if failed else ("✓ ", "green")
        detail = f" ({self._count}, {seconds:.1f} s)" if self._count else f" ({seconds:.1f} s)"
        self._progress.console.print(Text.assemble(mark, self._current, (detail, "dim")),
                                     highlight=False)


def progress_wanted(as_json: bool) -> bool:
    """Whether a command shows its progress: not with --json, only on a terminal."""
    return not as_json and sys.stderr.isatty()


@contextmanager
def step_progress(enabled: bool) -> Iterator[StepProgress | None]:
    """A :class:`StepProgress` on standard error while the block runs, or None (silent)."""
    if not enabled:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.fields[count]}", markup=False),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        # Standard output keeps only what the command prints for it.
        redirect_stdout=False,
    )
    with progress:
        reporter = StepProgress(progress)
        try:
            yield reporter
        except BaseException:
            reporter.close(failed=True)
            raise
        reporter.close(failed=False)
