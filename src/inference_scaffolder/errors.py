"""Errors a user can act on, and the exit codes they carry.

One rule for every command:

- 2: the input cannot be used as given (malformed, missing, contradictory, a precondition
  unmet): a :class:`UserError`, one line naming the field (or option) and the rule;
- 1: the input was fine, but a check of what it describes failed (it does not validate, does
  not fit the GPUs, does not answer, a merge conflicts): :class:`CheckFailed` (one line) or
  :class:`ValidationFailed` (with a report); or a tool failed for reasons of its own or of
  the machine: :class:`ToolFailed` (a missing tool is a precondition unmet, 2);
- 0: done, every check passed.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import unicodedata


class UserError(Exception):
    """Bad input or an unmet precondition, reported as ``<field>: <rule>``."""

    exit_code = 2

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")

    def one_line(self) -> str:
        """The message flattened to a single line, as the CLI prints it."""
        return " ".join(str(self).split())


class CheckFailed(UserError):
    """Valid input whose check failed (e.g. the model does not fit): one line, exit code 1."""

    exit_code = 1


class ToolMissingError(UserError):
    """A required external tool (helm, tsc, git) cannot be found: a precondition unmet,
    exit code 2, with how to install it."""


class ToolFailed(UserError):
    """An external tool (git, npm, a pinned Node tool) failed on input that was fine: the
    machine or the tool is at fault, not the user's answers. One line, exit code 1."""

    exit_code = 1


class ValidationFailed(Exception):
    """Rendered output did not validate; carries the machine-readable report."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        self.report = report
        super().__init__(message)


# Characters a terminal obeys or that change how text reads: C0 and C1 controls (ESC, BEL,
# CSI), format characters (bidirectional overrides and isolates, zero-width), line and
# paragraph separators.
_UNPRINTED = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _escaped(text: str, keep: str = "") -> str:
    return "".join(
        f"\\u{ord(c):04x}" if c not in keep and unicodedata.category(c) in _UNPRINTED else c
        for c in text
    )


def _cut(shown: str, limit: int) -> str:
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def inert(value: object, limit: int = 300) -> str:
    """Text from outside (a repository, a server, a tool's error) made safe to print or put
    in a pull request body, on one line: control and format characters (terminal escapes,
    bidirectional overrides, zero-width characters, line breaks) become ``\\uXXXX``, a
    value that is not text is shown as JSON, and the result is cut at ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return _cut(_escaped(text[: limit + 1]), limit)


def inert_lines(value: object, limit: int = 4000) -> str:
    """Like :func:`inert`, but line feeds stay line feeds: for a message that may span lines
    (a tool's report). Every other control (``\\r`` included, which would overwrite the
    line) is escaped."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return _cut(_escaped(text[: limit + 1], keep="\n"), limit)
