"""The ``inference-scaffolder`` command line.

One sub-module per command group; each exposes ``register(app)``. This module owns the
shared behaviour: every error one line, with exit code 2 for input that cannot be used and 1
for a check or a tool that failed (:mod:`inference_scaffolder.errors`), never a traceback.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from inference_scaffolder import __version__
from inference_scaffolder.confine import harden_process_path
from inference_scaffolder.errors import UserError, ValidationFailed

# Which module defines each command. Only the module of the command being run is imported,
# so `new` does not pay for the HTTP client of `verify` or the GitHub client of `schema-pr`.
COMMANDS = {
    "new": "generate",
    "validate": "generate",
    "check-manifests": "check_manifests",
    "charts": "generate",
    "answers-schema": "generate",
    "schema-pr": "schema_pr",
    "install-node-tools": "schema_pr",
    "register": "register",
    "promote": "lifecycle",
    "history": "lifecycle",
    "update": "lifecycle",
    "verify": "verify",
    "capacity": "capacity",
    "backstage-template": "backstage",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))

app = typer.Typer(
    name="inference-scaffolder",
    help="Scaffold GPU inference services and keep platform-schemas-types in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"inference-scaffolder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Scaffold GPU inference services and keep platform-schemas-types in step."""


def _register_commands(argv: list[str] | None = None) -> None:
    """Import the module of the command named in ``argv`` (all of them for help or typos)."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), None)
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        import_module(f"{__name__}.{name}").register(app)


def _click_exception_type() -> type[Exception]:
    """The base of the usage errors the app raises.

    typer 0.26+ carries its own copy of click, whose exceptions do not derive from the
    ``click`` package's; ``typer.BadParameter`` derives from whichever one typer uses.
    """
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: maps each error to one line and its exit code."""
    harden_process_path()  # before any program (git, helm, node) is looked up
    _register_commands(argv)
    try:
        # Without standalone mode click returns the exit code of typer.Exit instead of raising.
        returned = app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        return exc.exit_code
    except ValidationFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 130
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        if isinstance(exc, _click_exception_type()):
            context = getattr(exc, "ctx", None)
            hint = f" (see {context.command_path} --help)" if context is not None else ""
            message = exc.format_message()  # type: ignore[attr-defined]  # a click exception
            typer.echo(f"error: {' '.join(message.split())}{hint}", err=True)
            return 2
        raise
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
