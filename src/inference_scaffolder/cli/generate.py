"""``new`` and ``validate``: generate a service repository and check one."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from inference_scaffolder.answers import (
    AnswerField,
    answer_fields,
    answers_json_schema,
    check_answer,
    collect_answers,
)
from inference_scaffolder.checks.validate import (
    ValidationReport,
    validate_repos,
)
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


def _shown_default(value: object) -> str:
    """An answer's default written the way it is typed (as with --set)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _ask(answer: AnswerField) -> str:
    """Ask one answer until it passes its own rule; say why a refused one was refused."""
    _err.print(f"[bold]{answer.title}[/] ({answer.key})", highlight=False)
    _err.print(f"  {answer.help}", style="dim", markup=False, highlight=False)
    default = _shown_default(answer.default)
    while True:
        raw = typer.prompt(f"  {answer.key}", default=default, show_default=bool(default),
                           err=True)
        try:
            check_answer(answer.key, raw)
        except UserError as exc:
            _err.print(_labelled("  refused", "red", exc.rule), highlight=False)
            continue
        return str(raw)


def _prompt_answers(overrides: list[str]) -> list[str]:
    """Interactive ``new``: every answer not given with --set, page by page, with the title,
    help and default the Backstage form shows; each checked as soon as it is typed."""
    given = {o.partition("=")[0].strip() for o in overrides}
    asked = []
    page = ""
    for answer in answer_fields():
        if answer.key in given or not answer.in_form:
            continue
        if answer.page != page:
            page = answer.page
            _err.print(f"\n[bold underline]{page}[/]", highlight=False)
        asked.append(f"{answer.key}={_ask(answer)}")
    return asked


def _resolve_model_config(collected: dict, answers_file: Path | None) -> None:
    """A relative model_config is read next to the answers file (else the working dir) and
    recorded absolute, so ``validate`` can rerun the capacity check later."""
    path = collected.get("model_config")
    if not path or Path(path).is_absolute():
        return
    base = answers_file.parent if answers_file and (answers_file.parent / path).exists() else None
    collected["model_config"] = str(((base or Path.cwd()) / path).resolve())


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
    """Generate a service repository from the answers, validated for every environment."""
    overrides = list(set_)
    if not no_input and answers is None:
        overrides += _prompt_answers(overrides)
    collected = collect_answers(answers, overrides, platform={
        "chart_repository": chart_repository, "scaffolder_source": scaffolder_source})
    _resolve_model_config(collected, answers)
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
