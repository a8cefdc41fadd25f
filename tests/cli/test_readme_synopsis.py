"""The README's command synopsis lists every option each command takes, and every option
says what it is for in --help (a newcomer reads one or the other)."""

from __future__ import annotations

import re

import pytest
import typer.main
from common import PROJECT_ROOT

from inference_scaffolder import cli

cli._register_commands(["--help"])  # every command module
COMMANDS = typer.main.get_command(cli.app).commands


def synopsis() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return block.replace("\\\n", " ")


def synopsis_of(command: str) -> str:
    lines = [ln for ln in synopsis().splitlines()
             if re.match(rf"\s*inference-scaffolder {re.escape(command)}\b", ln)]
    assert len(lines) == 1, f"README synopsis has no single line for {command}"
    return lines[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_readme_synopsis_lists_every_visible_option(command: str) -> None:
    line = synopsis_of(command)
    options = [name for param in COMMANDS[command].params if not getattr(param, "hidden", False)
               for name in param.opts if name.startswith("--")]
    missing = [name for name in options if not re.search(rf"{re.escape(name)}\b", line)]
    assert missing == [], f"{command}: README synopsis lacks {missing}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_visible_option_has_help(command: str) -> None:
    bare = [param.opts[0] for param in COMMANDS[command].params
            if param.param_type_name == "option" and not getattr(param, "hidden", False)
            and not (param.help or "").strip()]
    assert bare == [], f"{command}: options without help: {bare}"
