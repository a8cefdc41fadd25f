"""``new`` and ``validate``: generate a service repository and check one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from inference_scaffolder.answers import (
    Answers,
    answers_json_schema,
    gather_answers,
    validate_answers,
)
from inference_scaffolder.checks.validate import (
    ValidationReport,
    validate_repos,
)
from inference_scaffolder.cli.interactive import PROGRAM, Interview, kept_on_exit, resolve_path
from inference_scaffolder.cli.options import (
    DEFAULT_KUBE_VERSION,
    ChartRepository,
    CrdSchemas,
    KubeVersion,
    ScaffolderSource,
)
from inference_scaffolder.cli.progress import progress_wanted, step_progress
from inference_scaffolder.errors import UserError, ValidationFailed, inert, inert_lines
from inference_scaffolder.generation.generate import generate
from inference_scaffolder.service.gitops_files import place_pinned_charts
from inference_scaffolder.service.intake import check_service_repository
from inference_scaffolder.service.layout import list_environments

_err = Console(stderr=True)
# A problem or note is shown whole up to this many characters (helm's errors can be long).
SHOWN_CHARS = 2000


def _labelled(label: str, style: str, *parts: str) -> Text:
    """``label: part…`` with only the label styled. Every part is text from outside (a
    tool's error, a file's name, a value) and goes through ``inert_lines``; a Text object is
    never read as markup, so ``[/bold]`` in a helm error is shown, not parsed."""
    text = Text.assemble((label, style))
    for part in parts:
        text.append(": ")
        text.append(inert_lines(part, SHOWN_CHARS))
    return text


def _resolve_model_config(raw: Answers, answers_file: Path | None) -> None:
    """A relative model_config is read next to the answers file (else the working dir) and
    recorded absolute, so ``validate`` can rerun the capacity check later. Done before the
    answers are validated: the absolute path is what the rules see."""
    path = raw.get("model_config")
    if not isinstance(path, str) or not path or "\x00" in path:
        return  # the answer's own rule refuses it
    beside = answers_file.parent if answers_file else None
    try:
        found_beside = beside is not None and (beside / path).exists()
    except OSError:  # a name too long for the file system: not there
        found_beside = False
    raw["model_config"] = resolve_path(path, beside if beside and found_beside else Path.cwd())


def _print_report(report: ValidationReport) -> None:
    table = Table(title=Text(f"validation of {inert(report.repo)} "
                             f"(Kubernetes {inert(report.kube_version, 40)})"))
    table.add_column("environment")
    table.add_column("helm lint")
    table.add_column("objects")
    table.add_column("result")
    for env in report.environments:
        checked = f"{sum(o.ok for o in env.objects)}/{len(env.objects)} valid"
        table.add_row(Text(inert(env.environment, 80)), "ok" if env.lint_ok else "FAILED",
                      checked, Text("ok", "green") if env.ok else Text("FAILED", "red"))
    _err.print(table)
    for env in report.environments:
        name = inert(env.environment, 80)
        for problem in env.problems():
            _err.print(_labelled(name, "red", problem), highlight=False)
        for note in env.notes:
            _err.print(_labelled("note", "yellow", name, note), highlight=False)
        for expected in env.expects:
            _err.print(_labelled("expects", "cyan", name, expected), highlight=False)


def new(
    answers: Path | None = typer.Option(None, "--answers", help="YAML/JSON answers file."),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE override (lists: a,b,c)."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt; use defaults."),
    output_dir: Path = typer.Option(Path("."), "--output-dir", help="Parent folder of the repo."),
    force: bool = typer.Option(False, "--force", help="Replace an existing repo."),
    no_git: bool = typer.Option(False, "--no-git", help="Skip git init and first commit."),
    kube_version: KubeVersion = DEFAULT_KUBE_VERSION,
    crd_schemas: CrdSchemas = None,
    chart_repository: ChartRepository = "",
    scaffolder_source: ScaffolderSource = "",
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Generate a service repository from the answers, validated for every environment.

    Without --no-input, asks every answer of the form that --answers and --set do not give;
    if it stops after an answer, it keeps the answers in a file --answers resumes from."""
    raw = gather_answers(answers, set_, platform={
        "chart_repository": chart_repository, "scaffolder_source": scaffolder_source})
    _resolve_model_config(raw, answers)
    options = _NewOptions(output_dir, force, no_git, kube_version, crd_schemas, as_json)
    if no_input:
        _generate(validate_answers(raw), options)
        return
    interview = Interview(raw)
    with kept_on_exit(interview, options.resume_command):
        interview.ask_remaining()
        _generate(validate_answers(interview.answers()), options)


@dataclass(frozen=True)
class _NewOptions:
    """The options of ``new`` that are not answers."""

    output_dir: Path
    force: bool
    no_git: bool
    kube_version: str
    crd_schemas: Path | None
    as_json: bool

    def resume_command(self, answers_file: Path) -> list[str]:
        """``new`` again with these options, its answers from ``answers_file``."""
        command = [PROGRAM, "new", "--answers", str(answers_file)]
        if self.output_dir != Path("."):
            command += ["--output-dir", str(self.output_dir)]
        if self.kube_version != DEFAULT_KUBE_VERSION:
            command += ["--kube-version", self.kube_version]
        if self.crd_schemas is not None:
            command += ["--crd-schemas", str(self.crd_schemas)]
        flags = {"--force": self.force, "--no-git": self.no_git, "--json": self.as_json}
        return command + [flag for flag, given in flags.items() if given]


def _generate(collected: Answers, options: _NewOptions) -> None:
    """Generate from validated answers and report (a summary, or JSON on stdout)."""
    output_dir, as_json = options.output_dir, options.as_json
    force, no_git = options.force, options.no_git
    kube_version, crd_schemas = options.kube_version, options.crd_schemas
    try:
        result = generate(
            collected, output_dir, force=force, git_init=not no_git,
            kube_version=kube_version, crd_schemas=crd_schemas,
        )
    except ValidationFailed as exc:
        if isinstance(exc.report, ValidationReport):
            _print_report(exc.report)
        raise
    for warning in result.warnings:
        _err.print(_labelled("warning", "yellow", warning), highlight=False)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
        return
    if result.report:
        _print_report(result.report)
    _err.print(
        f"[green]generated[/] {result.output} ({len(result.files)} files, "
        f"{', '.join(result.answers['environments'])}"
        + (f", commit {result.commit[:12]}" if result.commit else "") + ")",
        highlight=False,
    )


def validate(
    directories: list[Path] = typer.Argument(..., help="Generated service repositories."),
    kube_version: KubeVersion = DEFAULT_KUBE_VERSION,
    crd_schemas: CrdSchemas = None,
    kustomize_build: str = typer.Option(
        "auto", "--kustomize-build",
        help="`kubectl kustomize` per environment: always; auto = where the team changed "
             "the Kustomization, plus one generated one per run; never = structure only."),
    skip_kustomize_build: bool = typer.Option(
        False, "--skip-kustomize-build", help="Same as --kustomize-build never."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """helm lint + helm template + schema checks for every environment of each repository.

    Each environment with an InferencePool also names the endpoint picker and internal
    Gateway it expects the platform to run.
    """
    mode = "never" if skip_kustomize_build else kustomize_build
    with step_progress(progress_wanted(as_json)) as shown:
        reports = validate_repos(directories, kube_version=kube_version,
                                 crd_schemas=crd_schemas,
                                 kustomize=mode,  # type: ignore[arg-type]  # checked inside
                                 progress=shown.count if shown else None)
    ok = all(r.ok for r in reports)
    if as_json:
        payload = (reports[0].to_json() if len(reports) == 1 else
                   {"ok": ok, "repos": [r.to_json() for r in reports]})
        typer.echo(json.dumps(payload, indent=2))
    else:
        for report in reports:
            _print_report(report)
    if not ok:
        raise typer.Exit(1)


def charts(
    directory: Path = typer.Argument(..., help="A generated service repository."),
    environments: list[str] = typer.Option(
        [], "--env", help="Only this environment (repeatable); default: every one."),
    as_json: bool = typer.Option(False, "--json", help="Print the folders written as JSON."),
) -> None:
    """Put each environment's pinned base chart in environments/<env>/charts/ (git-ignored),
    so a plain `kubectl kustomize --enable-helm environments/<env>` runs offline."""
    if not directory.is_dir():
        raise UserError("DIR", f"{directory} is not a directory")
    repo = directory.resolve()
    check_service_repository(repo)
    known = list_environments(repo)
    unknown = [e for e in environments if e not in known]
    if unknown:
        raise UserError("--env", f"{unknown[0]!r} is not an environment of this repository "
                        f"(it has {', '.join(known) or 'none'})")
    placed = place_pinned_charts(repo, environments or known)
    if as_json:
        typer.echo(json.dumps({"placed": placed}, indent=2))
        return
    for folder in placed:
        _err.print(f"placed {folder}", highlight=False, markup=False)


def answers_schema() -> None:
    """Print the answers JSON Schema (the source of the Backstage form)."""
    typer.echo(json.dumps(answers_json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    app.command("new")(new)
    app.command("validate")(validate)
    app.command("charts")(charts)
    app.command("answers-schema")(answers_schema)
