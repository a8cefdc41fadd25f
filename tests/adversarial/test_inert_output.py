"""Text from outside reaches the terminal inert: a tool's error, a server's message, a commit's
subject or author never drives the terminal and is never read as Rich markup.

What a terminal would obey if printed raw: ESC sequences (colours, clearing the screen,
moving the cursor), OSC 52 (writes the clipboard), BEL, C1 controls, and the bidirectional
overrides that make text read differently from its bytes. Each is planted here from nothing:
a helm that fails with them, a server that answers with them, a commit that carries them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import git
import pytest
from fake_engine_server import EngineState, FakeEngineServer, Fault, openai_error
from hostile import run_cli

# A clipboard write, a screen clear, a colour, a bell, a C1 CSI and a right-to-left override.
HOSTILE = "x\x1b]52;c;ZWNobyBvd25lZA==\x07 \x1b[2J\x1b[31mred \x9b1m \u202eevil\u202c [/bold]"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


def assert_inert(text: str) -> None:
    """Nothing a terminal obeys is left; each shows as its escape instead."""
    for char in RAW_CONTROLS:
        assert char not in text, f"raw {char!r} printed"
    for shown in ("\\u001b", "\\u0007", "\\u202e"):
        assert shown in text, text


def fake_tool(folder: Path, message: str) -> Path:
    """A helm that fails every run with ``message`` on stderr, as a real error would."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "helm"
    script.write_text("#!/bin/sh\ncat >&2 <<'EOF'\nError: " + message + "\nEOF\nexit 1\n",
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_validate_prints_a_tools_error_inert_and_never_as_markup(
    repo_copy: Path, tmp_path: Path,
) -> None:
    """A helm error carrying ``[/bold]`` used to stop ``validate`` with a MarkupError
    traceback; escapes in it reached the terminal."""
    helm = fake_tool(tmp_path / "bin", HOSTILE)
    done = run_cli("validate", str(repo_copy), "--kustomize-build", "never", tmp=tmp_path / "t",
                   env={"INFERENCE_SCAFFOLDER_HELM": str(helm)})
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 1, done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert_inert(output)
    assert "[/bold]" in output  # shown as written, not read as markup
    problems = [line for line in done.stderr.splitlines() if "helm template failed" in line]
    assert problems and all("\\u001b]52;c;ZWNobyBvd25lZA==\\u0007" in p for p in problems)


def test_verify_prints_a_servers_message_inert(tmp_path: Path) -> None:
    state = EngineState(engine="vllm", model=HOSTILE)
    state.faults["/v1/chat/completions"] = Fault(status=500, body=openai_error(HOSTILE, "x", 500))
    with FakeEngineServer(state) as fake:
        done = run_cli("verify", fake.url, "--timeout", "5", "--poll-interval", "0.05",
                       "--requests", "1", "--endpoint", "chat", tmp=tmp_path)
        named = run_cli("verify", fake.url, "--timeout", "5", "--poll-interval", "0.05",
                        "--requests", "1", "--model", "other", tmp=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert_inert(done.stdout + done.stderr)
    assert "error: server error 500 on POST /v1/chat/completions: x\\u001b]52;c;" in done.stderr
    # The served model names, quoted when the requested one is not among them.
    assert named.returncode == 1, named.stderr
    assert_inert(named.stdout + named.stderr)


def hostile_commit(repo_dir: Path) -> str:
    """A change to prod's values committed with a hostile subject and author name."""
    values = repo_dir / "environments" / "prod" / "values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": f"Mallory {HOSTILE}",
           "GIT_AUTHOR_EMAIL": "m@example.com", "GIT_COMMITTER_NAME": "Mallory",
           "GIT_COMMITTER_EMAIL": "m@example.com"}
    subprocess.run(["git", "commit", "-q", "--cleanup=verbatim", "-am", f"deploy {HOSTILE}"],
                   cwd=repo_dir, env=env, check=True)
    return git.Repo(repo_dir).head.commit.hexsha


def test_history_prints_commit_subjects_and_authors_inert(
    repo_copy: Path, tmp_path: Path,
) -> None:
    sha = hostile_commit(repo_copy)
    commit = git.Repo(repo_copy).commit(sha)
    assert "\x1b]52;" in commit.summary and "\x1b" in commit.author.name  # planted as is

    done = run_cli("history", str(repo_copy), "--env", "prod", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_inert(done.stdout + done.stderr)
    newest = done.stdout.splitlines()[1]
    assert newest.split()[2] == sha[:12]
    assert "Mallory x\\u001b]52;c;ZWNobyBvd25lZA==\\u0007" in newest
    assert "deploy x\\u001b]52;c;" in newest


def test_history_json_keeps_the_exact_text_json_escaped(repo_copy: Path, tmp_path: Path) -> None:
    """JSON is for programs: the values are exact, and JSON's own escaping keeps the bytes
    off the terminal."""
    hostile_commit(repo_copy)
    done = run_cli("history", str(repo_copy), "--env", "prod", "--json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    for char in RAW_CONTROLS:
        assert char not in done.stdout
    newest = json.loads(done.stdout)[0]
    assert newest["subject"] == f"deploy {HOSTILE}"
    assert newest["author"] == f"Mallory {HOSTILE}"


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x85", "\u202a", "\u202e", "\u2066",
                                  "\u2069", "\u200f", "\u2028"])
def test_every_control_and_override_is_escaped(char: str) -> None:
    from inference_scaffolder.errors import inert, inert_lines

    assert char not in inert(f"a{char}b")
    assert char not in inert_lines(f"a{char}b\nc")
    assert inert_lines(f"a{char}b\nc").split("\n")[1] == "c"
