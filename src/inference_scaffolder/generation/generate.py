"""Generating a service repository: cookiecutter into a temporary directory, validation,
first commit, then one rename into place. A failed run leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cookiecutter.main import cookiecutter

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.answers import (
    ANSWER_FIELDS,
    Answers,
    answer_warnings,
    answers_json_schema,
)
from inference_scaffolder.checks.capacity import (
    check_answers_capacity,
    load_model_config,
    sized_model_cache,
)
from inference_scaffolder.checks.manifests import crd_schema_dir, resolve_kube_version
from inference_scaffolder.checks.validate import (
    DEFAULT_KUBE_VERSION,
    ValidationReport,
    validate_repo,
)
from inference_scaffolder.errors import UserError, ValidationFailed
from inference_scaffolder.generation.hooks import first_commit
from inference_scaffolder.paths import template_dir
from inference_scaffolder.service.files import write_service_files

_CHOICE_FIELDS = {"engine", "lifecycle", "gpu_type"}


# --- cookiecutter.json -------------------------------------------------------------------


def _cookiecutter_default(key: str, default: Any) -> Any:
    """An answer's default in a form that survives cookiecutter's prompts.

    Cookiecutter turns a list into a single choice, so list answers are kept as
    comma-separated strings (environments) or mappings (name -> value pairs).
    """
    if key in _CHOICE_FIELDS:
        options = answers_json_schema()["properties"][key]["enum"]
        return [default, *[o for o in options if o != default]]
    if key in {"environments", "allow_downtime", "failover_backends"}:
        return ",".join(default)
    if key in {"environment_variables", "extra_secrets"}:
        return {}
    return default


def cookiecutter_json() -> dict[str, Any]:
    """The template's cookiecutter.json, derived from the answer declarations."""
    context: dict[str, Any] = {
        f.key: _cookiecutter_default(f.key, f.default) for f in ANSWER_FIELDS
    }
    context.update(
        {
            "_validate": True,
            "_git_init": True,
            "_template_version": TEMPLATE_VERSION,
            # Cookiecutter renders only the folder name; every file is copied as-is and
            # finished by the post-generation hook (in `new`, by the same code in-process),
            # so no answer is ever template source.
            "_copy_without_render": ["*"],
            "_extensions": ["answers_guard.AnswersAreData"],
        }
    )
    return context


def _to_cookiecutter_value(key: str, value: Any) -> Any:
    if key in {"environments", "allow_downtime", "failover_backends"}:
        return ",".join(value)
    if key == "environment_variables":
        return {e["name"]: e["value"] for e in value}
    if key == "extra_secrets":
        return {s["name"]: s["vaultPath"] for s in value}
    return value


def cookiecutter_extra_context(answers: Answers) -> dict:
    """Validated answers as cookiecutter overrides: cookiecutter renders only the project
    folder's name from them; the files are written from ``answers`` themselves."""
    return {key: _to_cookiecutter_value(key, value) for key, value in answers.items()}


# --- generation ----------------------------------------------------------------------------


@dataclass
class GenerationResult:
    output: Path
    answers: Answers
    files: list[str]
    report: ValidationReport | None
    commit: str | None

    @property
    def warnings(self) -> list[str]:
        return answer_warnings(self.answers)

    def summary(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "service_name": self.answers["service_name"],
            "engine": self.answers["engine"],
            "model": f"{self.answers['model_id']}@{self.answers['model_revision']}",
            "environments": self.answers["environments"],
            "files": self.files,
            "commit": self.commit,
            "warnings": self.warnings,
            "validation": self.report.to_json() if self.report else None,
        }


def _check_target(target: Path, force: bool) -> None:
    if target.is_symlink():
        raise UserError("--output-dir", f"{target} is a symbolic link; refusing to replace it")
    if target.exists() and not force:
        raise UserError("--output-dir", f"{target} already exists; pass --force to replace it")


def make_output_dir(output_dir: Path) -> list[Path]:
    """Create ``output_dir`` and its missing parents; returns the folders created, deepest
    first, so that a failed run can take them away again. A file (or anything that is not
    a folder) on the way is refused before any folder is created."""
    missing: list[Path] = []
    existing = output_dir
    while not existing.exists() and not existing.is_symlink():
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        raise UserError("--output-dir", f"{existing} exists and is not a folder")
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except OSError as exc:
            remove_empty_folders(created[::-1])
            raise UserError("--output-dir", f"cannot create {folder}: {exc.strerror}") from None
        created.append(folder)
    return created[::-1]


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove the folders a failed run created (deepest first), as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def isolated_cookiecutter_config(workdir: Path) -> Path:
    """A config that keeps cookiecutter's replay and clone dirs inside the temp dir and
    ignores any ``default_context`` the user's own config would inject."""
    config = workdir / "cookiecutter-config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cookiecutters_dir": str(workdir / "cookiecutters"),
                "replay_dir": str(workdir / "replay"),
                "default_context": {},
            }
        ),
        encoding="utf-8",
    )
    return config


def run_template(answers: Answers, workdir: Path, template: Path | None = None) -> Path:
    """Copy the template (default: this package's) with cookiecutter, then write the
    answer-dependent files here, as the template's post-generation hook does.

    ``answers`` are validated answers (:func:`~inference_scaffolder.answers.validate_answers`)
    and are not checked again: the hook scripts, which validate what cookiecutter's context
    holds, are for a plain ``cookiecutter`` run, where nothing has validated the answers yet.
    """
    produced = Path(
        cookiecutter(
            str(template or template_dir()),
            no_input=True,
            extra_context=cookiecutter_extra_context(answers),
            output_dir=str(workdir / "out"),
            config_file=str(isolated_cookiecutter_config(workdir)),
            accept_hooks=False,
        )
    )
    write_service_files(produced, answers)
    return produced


def _move_into_place(produced: Path, target: Path, workdir: Path) -> None:
    """Rename the finished repo into place; with --force the old one goes only after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        previous = workdir / "previous"
        os.replace(target, previous)
        try:
            os.replace(produced, target)
        except OSError:
            os.replace(previous, target)
            raise
        return
    os.replace(produced, target)


def _list_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )


def generate(
    answers: Answers,
    output_dir: Path,
    *,
    force: bool = False,
    git_init: bool = True,
    validate: bool = True,
    kube_version: str | None = None,
    crd_schemas: Path | None = None,
) -> GenerationResult:
    """Render, validate and commit a service repo; it appears at ``output_dir/<name>`` only
    when every step succeeded. ``answers`` are validated answers (``validate_answers`` or
    ``collect_answers``): they are not checked again."""
    output_dir = output_dir.absolute()
    target = output_dir / answers["service_name"]
    _check_target(target, force)
    if validate:  # bad options are refused before anything is created
        resolve_kube_version(kube_version or DEFAULT_KUBE_VERSION)
        crd_schema_dir(crd_schemas)
    if answers.get("model_config"):  # a regular JSON file, bounded; never a FIFO
        load_model_config(answers["model_config"])
    check_answers_capacity(answers)
    answers = sized_model_cache(answers)
    created = make_output_dir(output_dir)
    try:
        workdir = Path(tempfile.mkdtemp(prefix=".inference-scaffolder-", dir=output_dir))
        try:
            produced = run_template(answers, workdir)
            report = None
            if validate:
                options: dict[str, Any] = {"crd_schemas": crd_schemas}
                if kube_version:
                    options["kube_version"] = kube_version
                report = validate_repo(produced, **options)
                if not report.ok:
                    first = next(p for env in report.environments for p in env.problems())
                    raise ValidationFailed(f"generated repository does not validate: {first}",
                                           report)
            commit = first_commit(produced, answers) if git_init else None
            files = _list_files(produced)
            _check_target(target, force)
            _move_into_place(produced, target, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except BaseException:
        remove_empty_folders(created)
        raise
    if report is not None:
        report.repo = str(target)
    return GenerationResult(target, answers, files, report, commit)
