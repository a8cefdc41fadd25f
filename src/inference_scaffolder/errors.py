"""Errors a user can act on.

Every refusal the tool makes is a :class:`UserError`: the CLI prints it as one line naming
the field (or option) and the rule, and exits with code 2. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


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


class ToolMissingError(UserError):
    """A required external tool (helm, tsc, git) cannot be found."""


class ValidationFailed(Exception):
    """Rendered output did not validate; carries the machine-readable report."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        self.report = report
        super().__init__(message)
