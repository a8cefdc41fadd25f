"""Interactive ``new`` in a real terminal: a rule between two answers is refused at its second
answer and that answer asked again, and the answers given so far survive any stop in a
private file that ``--answers`` resumes from without asking them again."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from inference_scaffolder.answers import FIELDS_BY_KEY, answer_fields

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "inference-scaffolder")
MODEL = {
    "service_name": "chat-demo",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "model_revision": "fe8a4ea1ffedaf415f4da2f062534de366a451e6",
}
PROMPT = re.compile(r"\n  (\w+)(?: \[[^\]\r\n]*\])?: ")
COLOURS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(cwd: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(CLI, ["new", *args], cwd=str(cwd), encoding="utf-8", timeout=120,
                         dimensions=(50, 250))


def next_question(child: pexpect.spawn) -> str:
    child.expect(PROMPT)
    return child.match.group(1)


def plain(text: str) -> str:
    return " ".join(COLOURS.sub("", text).split())


def answer_until(child: pexpect.spawn, stop: str, typed: dict[str, str]) -> None:
    """Answer each question (``typed``, else its default) until ``stop`` is asked."""
    while (key := next_question(child)) != stop:
        child.sendline(typed.get(key, ""))


def test_a_rule_between_answers_is_asked_again_and_a_stop_keeps_the_answers(
    tmp_path: Path,
) -> None:
    child = spawn(tmp_path, "--output-dir", "out", "--no-git", "--set", "environments=dev")
    answer_until(child, "max_total_tokens", {**MODEL, "max_input_tokens": "8192"})
    child.sendline("8192")  # the prompt's own rule: higher than max_input_tokens
    assert next_question(child) == "max_total_tokens", "asked again, not the next question"
    assert ("refused: max_input_tokens: must be lower than max_total_tokens (8192 >= 8192)"
            in plain(child.before))
    child.sendline("16384")
    answer_until(child, "gpu_count", {})
    child.sendintr()  # Ctrl-C at the next question
    child.expect(pexpect.EOF)
    child.close()
    shown = plain(child.before)
    assert child.exitstatus == 130, shown
    kept = tmp_path / "chat-demo.answers.yaml"
    assert (f"answers so far kept in {kept.name} (only you can read it); resume: "
            f"inference-scaffolder new --answers {kept.name} --output-dir out --no-git"
            in shown)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    answers = yaml.safe_load(kept.read_text())
    assert answers["max_input_tokens"] == 8192 and answers["max_total_tokens"] == 16384
    assert answers["environments"] == ["dev"]  # given with --set: kept too
    assert "gpu_count" not in answers  # never answered

    resumed = spawn(tmp_path, "--answers", kept.name, "--output-dir", "out", "--no-git")
    assert next_question(resumed) == "gpu_count"  # nothing kept is asked again
    resumed.sendline("")
    while resumed.expect([PROMPT, pexpect.EOF]) == 0:
        resumed.sendline("")
    resumed.close()
    assert resumed.exitstatus == 0, plain(resumed.before)
    record = yaml.safe_load((tmp_path / "out/chat-demo/.inference-scaffolder/answers.yaml")
                            .read_text())
    assert record["answers"]["max_total_tokens"] == 16384


def in_form_keys() -> list[str]:
    return [f.key for f in answer_fields() if f.in_form]


def test_a_missing_model_config_is_refused_when_typed_and_the_end_of_input_keeps_the_answers(
    tmp_path: Path,
) -> None:
    """Piped answers end early: exit 2 in one line, the answers typed so far kept; a model
    config path that does not exist is refused at its question; a credential-shaped answer is
    refused and never written."""
    token = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7"
    typed = {**MODEL, "description": token, "model_config": str(tmp_path / "missing.json")}
    lines = []
    for key in in_form_keys()[: in_form_keys().index("model_config") + 1]:
        lines += [typed[key]] if key in typed else [""]
        if key == "description":
            lines.append("")  # asked again after the refusal: the default
    done = subprocess.run([CLI, "new", "--output-dir", "out"], cwd=tmp_path,
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    shown = " ".join(done.stderr.split())
    assert f"refused: cannot read {typed['model_config']}" in shown
    assert done.stderr.strip().splitlines()[-1] == (
        "error: answers: standard input ended before every answer was given (--no-input "
        "takes the defaults)")
    kept = (tmp_path / "chat-demo.answers.yaml").read_text()
    assert token not in kept and "looks like" in shown
    answers = yaml.safe_load(kept)
    assert answers["model_revision"] == MODEL["model_revision"]
    assert "model_config" not in answers  # refused, so not given


def test_a_refusal_after_the_questions_keeps_the_answers_for_a_rerun(tmp_path: Path) -> None:
    """Every answer typed, then `new` refuses (the repository exists): the rerun with
    --answers asks nothing and generates."""
    (tmp_path / "out" / "chat-demo").mkdir(parents=True)
    typed = {**MODEL, "environments": "dev"}
    stdin = "".join(typed.get(key, "") + "\n" for key in in_form_keys())
    done = subprocess.run([CLI, "new", "--output-dir", "out", "--no-git"], cwd=tmp_path,
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "already exists; pass --force" in done.stderr
    kept = tmp_path / "chat-demo.answers.yaml"
    assert set(yaml.safe_load(kept.read_text())) >= set(in_form_keys())
    rerun = subprocess.run([CLI, "new", "--answers", kept.name, "--output-dir", "out",
                            "--no-git", "--force", "--json"], cwd=tmp_path,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "max_total_tokens" not in rerun.stderr  # nothing asked
    assert (tmp_path / "out" / "chat-demo" / "environments" / "dev").is_dir()


def test_answers_given_with_set_that_break_a_rule_are_refused_before_any_question(
    tmp_path: Path,
) -> None:
    done = subprocess.run([CLI, "new", "--set", "envoy_ai_gateway=false",
                           "--set", "rate_limit_per_minute=10"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: rate_limit_per_minute: needs envoy_ai_gateway: true "
                                   "(the limit applies to the gateway route)")
    assert list(tmp_path.iterdir()) == []  # nothing typed, nothing kept
    assert FIELDS_BY_KEY["rate_limit_per_minute"].in_form
