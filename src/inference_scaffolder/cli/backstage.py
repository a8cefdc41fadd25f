"""``inference-scaffolder backstage-template``: regenerate (or check) the Backstage files.

Writes ``template.yaml`` and the ``inference:scaffold`` action's input schema from the
answers schema. ``--check`` changes nothing and exits 1 when a file is out of date, so CI
catches a form that no longer matches the answers.
"""

from __future__ import annotations

from pathlib import Path

import typer

from inference_scaffolder.backstage import stale_files, write_generated_files
from inference_scaffolder.errors import UserError
from inference_scaffolder.paths import source_checkout_root


def _repository_root(root: Path | None) -> Path:
    """The checkout to write into: ``--root``, else the one this package runs from."""
    if root is not None:
        if not (root / "pyproject.toml").is_file():
            raise UserError("--root", f"{root} is not the inference-scaffolder repository")
        return root
    found = source_checkout_root()
    if found is None:
        raise UserError("--root", "not running from a source checkout; pass the repository path")
    return found


def backstage_template(
    check: bool = typer.Option(
        False, "--check", help="Change nothing; exit 1 if a generated file is out of date."
    ),
    root: Path | None = typer.Option(
        None, "--root", help="Repository checkout to write into (default: this checkout)."
    ),
) -> None:
    """Generate template.yaml and the scaffolder action schema from the answers schema."""
    base = _repository_root(root)
    if check:
        stale = stale_files(base)
        for path in stale:
            typer.echo(f"out of date: {path.relative_to(base)}", err=True)
        if stale:
            typer.echo("error: run `inference-scaffolder backstage-template` and commit", err=True)
            raise typer.Exit(1)
        typer.echo("Backstage files are up to date")
        return
    written = write_generated_files(base)
    for path in written:
        typer.echo(f"wrote {path.relative_to(base)}")
    if not written:
        typer.echo("Backstage files are up to date")


def register(app: typer.Typer) -> None:
    """Add ``backstage-template`` to the root command."""
    app.command("backstage-template")(backstage_template)
