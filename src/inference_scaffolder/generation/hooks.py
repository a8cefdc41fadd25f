"""What the template's pre- and post-generation hooks do in a plain ``cookiecutter`` run.

The hook scripts in ``templates/ml-inference-load/hooks`` only decode cookiecutter's context
and call these functions. Cookiecutter hands a hook nothing but that context, which whoever
runs it controls (``cookiecutter.json``, ``key=value`` arguments, a config file), so both
hooks validate the answers from it themselves. ``new`` does not run the hook scripts: it
validates the answers once and writes the same files in-process
(:func:`inference_scaffolder.generation.generate.run_template`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.answers import Answers, answer_warnings, validate_answers
from inference_scaffolder.errors import UserError, ValidationFailed
from inference_scaffolder.service.files import write_service_files
from inference_scaffolder.vcs import initial_commit

# Cookiecutter keys that are not answers: private settings and its own bookkeeping.
_PRIVATE_PREFIX = "_"


def answers_from_context(context: dict[str, Any]) -> Answers:
    """The answers in a cookiecutter context (its public keys), validated."""
    public = {k: v for k, v in context.items() if not k.startswith(_PRIVATE_PREFIX)}
    return validate_answers(public)


def _report(exc: Exception) -> int:
    message = exc.one_line() if isinstance(exc, UserError) else str(exc)
    print(f"error: {message}", file=sys.stderr)
    return 2 if isinstance(exc, UserError) else 1


def pre_generate(context: dict[str, Any]) -> int:
    """Refuse invalid answers before any file of the template is copied. Cookiecutter runs
    this hook once it has rendered the answers and created the (empty) project folder, and
    removes that folder when the hook refuses."""
    try:
        answers_from_context(context)
    except UserError as exc:
        return _report(exc)
    return 0


def post_generate(context: dict[str, Any], project_dir: Path) -> int:
    """Write the answer-dependent files, then validate the repository and commit it (unless
    ``_validate`` / ``_git_init`` are false). The answers are validated again: this hook runs
    in a process of its own and cannot know what the pre-generation hook checked."""
    try:
        answers = answers_from_context(context)
        for warning in answer_warnings(answers):
            print(f"warning: {warning}", file=sys.stderr)
        write_service_files(project_dir, answers)
        if _enabled(context.get("_validate", True)):
            from inference_scaffolder.checks.validate import validate_repo

            report = validate_repo(project_dir)
            if not report.ok:
                problems = [p for env in report.environments for p in env.problems()]
                raise ValidationFailed(
                    f"generated repository does not validate: {problems[0]}", report
                )
        if _enabled(context.get("_git_init", True)):
            first_commit(project_dir, answers)
    except (UserError, ValidationFailed) as exc:
        return _report(exc)
    return 0


def first_commit(project_dir: Path, answers: Answers) -> str:
    """The generated repository's first commit, its message saying what it serves."""
    message = (
        f"Generate {answers['service_name']} from ml-inference-load {TEMPLATE_VERSION}\n\n"
        f"Serves {answers['model_id']}@{answers['model_revision']} with {answers['engine']} "
        f"in {', '.join(answers['environments'])}."
    )
    return initial_commit(project_dir, message)


def _enabled(flag: Any) -> bool:
    if isinstance(flag, str):
        return flag.strip().lower() not in {"false", "no", "0", "off", ""}
    return bool(flag)
