"""Interactive ``new``: the questions of the Backstage form, each answer checked as it is typed.

A rule between answers is checked as soon as the last of its answers is given, and that one
is asked again; a model config path is read when it is typed. Whatever ends the run after
the first answer (Ctrl-C, the end of the input, a refusal, a failed check, the terminal
closing), the answers given so far are kept in a private YAML file that ``--answers`` resumes
from: the answers it holds are not asked again.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.text import Text

from inference_scaffolder.answers import (
    ANSWER_FIELDS,
    AnswerField,
    Answers,
    RuleBetweenAnswers,
    check_answer,
    check_rules_between,
)
from inference_scaffolder.errors import UserError, inert, inert_lines

_err = Console(stderr=True)
# Refusals are shown whole up to this many characters.
SHOWN_CHARS = 2000
# The resume file's name is tried with these many numbered variants before giving up.
MAX_RESUME_NAMES = 100
PROGRAM = "inference-scaffolder"


class InputEnded(UserError):
    """Standard input ended before every answer was given."""

    def __init__(self) -> None:
        super().__init__("answers", "standard input ended before every answer was given "
                                    "(--no-input takes the defaults)")


def resolve_path(value: str, base: Path) -> str:
    """A typed or file-given path made absolute (relative ones from ``base``), so the
    capacity check and ``validate`` find the file later from anywhere."""
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (base / path).resolve())


def _check_model_config_file(answers: Answers) -> None:
    """The model config is read when it is given: a regular, bounded JSON object."""
    if answers["model_config"]:
        from inference_scaffolder.checks.capacity import load_model_config

        load_model_config(answers["model_config"])


def _check_cache_holds_weights(answers: Answers) -> None:
    """A model cache smaller than the weights the model config implies is refused."""
    if answers["model_config"]:
        from inference_scaffolder.checks.capacity import sized_model_cache

        sized_model_cache(dict(answers))


# Rules that read files: the CLI's, on top of the answers' own rules.
FILE_RULES = (
    RuleBetweenAnswers(("model_config",), _check_model_config_file),
    RuleBetweenAnswers(("quantization", "model_config", "model_cache_size"),
                       _check_cache_holds_weights),
)


def shown_default(value: object) -> str:
    """An answer's default written the way it is typed (as with --set)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _read_line(prompt: str) -> str:
    """One line from standard input after ``prompt`` on standard error (standard output
    stays for --json)."""
    # Not wrapped by rich (the terminal wraps a long one), so it ends as written.
    _err.print(prompt, end="", markup=False, highlight=False, soft_wrap=True)
    sys.stderr.flush()
    try:
        return input()
    except EOFError:
        _err.print()
        raise InputEnded from None


def _refused(exc: UserError, key: str) -> None:
    """Say why an answer was refused; name the other answer when a rule between two was."""
    rule = exc.rule if exc.field == key else f"{exc.field}: {exc.rule}"
    # Not wrapped by rich: a long path in it stays whole (and copyable).
    _err.print(Text.assemble(("  refused", "red"), ": ", inert_lines(rule, SHOWN_CHARS)),
               highlight=False, soft_wrap=True)


@dataclass
class Interview:
    """The answers of one interactive ``new``: those given (answers file, --set, platform
    options), checked before the first question, and those typed, in the order asked."""

    given: Answers
    typed: Answers = field(default_factory=dict)
    checked: Answers = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.given.items():
            self.checked[key] = check_answer(key, value)
        check_rules_between(self.checked)
        check_rules_between(self.checked, rules=FILE_RULES)

    def known(self) -> Answers:
        return {**self.checked, **self.typed}

    def answers(self) -> Answers:
        """Every answer given or typed (in form order), for ``validate_answers``."""
        known = {**self.given, **self.typed}
        return {f.key: known[f.key] for f in ANSWER_FIELDS if f.key in known}

    def ask_remaining(self) -> None:
        """Ask every answer of the form not given, page by page."""
        page = ""
        for answer in ANSWER_FIELDS:
            if answer.key in self.given or not answer.in_form:
                continue
            if answer.page != page:
                page = answer.page
                _err.print(f"\n[bold underline]{page}[/]", highlight=False)
            self._ask(answer)

    def _ask(self, answer: AnswerField) -> None:
        """Ask one answer until it passes its own rule and every rule it completes."""
        _err.print(f"[bold]{answer.title}[/] ({answer.key})", highlight=False)
        _err.print(f"  {answer.help}", style="dim", markup=False, highlight=False)
        default = shown_default(answer.default)
        prompt = f"  {answer.key} [{default}]: " if default else f"  {answer.key}: "
        while True:
            raw = _read_line(prompt) or default
            try:
                self.typed[answer.key] = self._checked(answer.key, raw)
                self._check_rules(answer.key)
            except UserError as exc:
                self.typed.pop(answer.key, None)
                _refused(exc, answer.key)
                continue
            return

    @staticmethod
    def _checked(key: str, raw: str) -> Any:
        value = check_answer(key, raw)
        if key == "model_config" and value:
            value = check_answer(key, resolve_path(value, Path.cwd()))
        return value

    def _check_rules(self, latest: str) -> None:
        known = self.known()
        check_rules_between(known, latest)
        check_rules_between(known, latest, rules=FILE_RULES)

    def keep(self, command: Callable[[Path], list[str]]) -> None:
        """Write the answers given so far for ``--answers`` and say how to resume; nothing
        when no answer was typed (the given ones are where the user gave them)."""
        if not self.typed:
            return
        kept = {f.key: self.known()[f.key] for f in ANSWER_FIELDS if f.key in self.known()}
        name = str(kept.get("service_name") or "new")
        try:
            path = write_private_answers(Path.cwd(), name, kept, command)
        except OSError as exc:
            _say(f"the answers given so far could not be kept: {exc.strerror}")
            return
        _say(f"answers so far kept in {path.name} (only you can read it); resume: "
             f"{shlex.join(command(Path(path.name)))}")


def _say(text: str) -> None:
    """A line on standard error that never fails the exit it explains (the terminal may be
    gone)."""
    with suppress(OSError):
        _err.print(inert(text, SHOWN_CHARS), markup=False, highlight=False, soft_wrap=True)


def write_private_answers(folder: Path, name: str, answers: Mapping[str, Any],
                          command: Callable[[Path], list[str]]) -> Path:
    """``<name>.answers.yaml`` in ``folder`` (numbered if taken; never replaces a file),
    readable by its owner only: answers hold Vault paths, never secret values, but are the
    user's business."""
    body = yaml.safe_dump(dict(answers), sort_keys=False, allow_unicode=True, width=100)
    for number in range(1, MAX_RESUME_NAMES + 1):
        path = folder / (f"{name}.answers.yaml" if number == 1 else
                         f"{name}.answers-{number}.yaml")
        header = (f"# The answers given to `{PROGRAM} new` before it stopped.\n"
                  f"# Resume: {shlex.join(command(Path(path.name)))}\n")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(header + body)
        return path
    raise FileExistsError(0, f"{name}.answers.yaml and {MAX_RESUME_NAMES - 1} numbered "
                             "variants exist")


@contextmanager
def kept_on_exit(interview: Interview, command: Callable[[Path], list[str]]) -> Iterator[None]:
    """Keep the interview's answers whatever ends the block: an error, Ctrl-C, or SIGTERM /
    SIGHUP (a closed terminal), which end it as Ctrl-C would."""
    previous = _stop_on_signals()
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            _say("")  # the terminal shows ^C where the answer was being typed
        interview.keep(command)
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt (so the answers are kept), in the main
    thread only (elsewhere Python allows no handler)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, interrupt)
    return previous
