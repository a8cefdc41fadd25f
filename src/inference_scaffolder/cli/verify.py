"""``inference-scaffolder verify``: smoke-test a deployed TGI/vLLM server.

Exit codes: 0 passed; 1 the server failed verification (not ready, bad or slow answers),
raised as ValidationFailed; 2 bad input, raised as UserError. The CLI root prints both.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from inference_scaffolder.errors import ValidationFailed
from inference_scaffolder.verify import (
    ENGINE_CHOICES,
    Progress,
    VerifyOptions,
    VerifyReport,
    parse_endpoints,
    run_verification,
)

# On a log, a readiness wait that does not change state still says it is alive this often.
HEARTBEAT_SECONDS = 30.0


@contextmanager
def stderr_progress(console: Console | None = None,
                    clock: Callable[[], float] = time.monotonic) -> Iterator[Progress]:
    """A live status line on a terminal (elapsed time, budget, last probe answer); on a log
    (CI, helm test) one line per new state, and a heartbeat while a state lasts."""
    console = console or Console(stderr=True)
    if console.is_terminal:
        with console.status("connecting…") as status:
            yield lambda message: status.update(Text(message))  # a URL is not markup
        return
    last: dict[str, Any] = {"state": "", "printed": 0.0}

    def log_changes(message: str) -> None:
        # One line per readiness state or per endpoint, not per poll or per request.
        if message.startswith("waiting for "):
            state = message.split("): ", 1)[-1]
        else:
            state = message.split(":", 1)[0]
        now = clock()
        if state != last["state"] or now - last["printed"] >= HEARTBEAT_SECONDS:
            console.print(message, highlight=False, markup=False, soft_wrap=True)
            last.update(state=state, printed=now)

    yield log_changes


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def render_report(report: VerifyReport) -> None:
    """Human output: a latency table on stdout, each problem as one ``error:`` line."""
    console = Console()
    if report.engine:
        # No model when the one asked for is not served: the error line below says so.
        serving = f" serving {report.model!r}" if report.model else ""
        console.print(
            f"{report.engine} at {report.base_url}{serving}, "
            f"ready after {report.ready_after_seconds:g}s",
            highlight=False,
            markup=False,
        )
    if report.endpoints:
        table = Table(title=f"latency (SLO: p95 ≤ {report.slo_seconds:g}s)")
        for column in ("endpoint", "requests", "ok", "p50", "p95", "result"):
            table.add_column(column, justify="left" if column == "endpoint" else "right")
        for result in report.endpoints:
            verdict = "[red]FAIL[/red]" if result.problems else "[green]ok[/green]"
            table.add_row(
                result.path,
                str(result.sent),
                str(result.succeeded),
                _seconds(result.percentile(50)),
                _seconds(result.percentile(95)),
                verdict,
            )
        console.print(table)
    for problem in report.all_problems():
        typer.echo(f"error: {problem}", err=True)
    typer.echo("verify: PASS" if report.passed else "verify: FAIL")


def verify(
    url: str = typer.Argument(..., help="Base URL of the server, e.g. http://127.0.0.1:8080"),
    model: str | None = typer.Option(
        None, "--model", help="Model name to request (default: what the server says it serves)."
    ),
    engine: str = typer.Option(
        "auto", "--engine", help=f"One of {', '.join(ENGINE_CHOICES)}; auto asks /info."
    ),
    requests: int = typer.Option(5, "--requests", help="Test completions per endpoint."),
    timeout: float = typer.Option(
        600.0, "--timeout",
        help="Seconds to wait for readiness before failing (no poll runs past it)."
    ),
    slo_seconds: float = typer.Option(
        3.0, "--slo-seconds", help="p95 latency each endpoint must meet."
    ),
    request_timeout: float = typer.Option(
        60.0, "--request-timeout",
        help="Seconds one request may take in total (connect, headers, body) before it "
             "counts as failed."
    ),
    max_tokens: int = typer.Option(
        16, "--max-tokens", help="Tokens each test completion asks for."
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="Comma list of chat, completions, generate (default: tgi chat,generate; "
        "vllm chat,completions).",
    ),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="INFERENCE_API_KEY",
        show_default=False,
        help="Bearer key if the server wants one (prefer the INFERENCE_API_KEY variable).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable report."),
    poll_interval: float = typer.Option(1.0, "--poll-interval", hidden=True),
) -> None:
    """Wait for a TGI/vLLM server, send test completions, check shape and p95 latency."""
    options = VerifyOptions(
        base_url=url,
        model=model,
        engine=engine.lower(),
        requests=requests,
        timeout=timeout,
        slo_seconds=slo_seconds,
        request_timeout=request_timeout,
        max_tokens=max_tokens,
        endpoints=parse_endpoints(endpoint),
        api_key=api_key or None,
        poll_interval=poll_interval,
    )
    with stderr_progress() as progress:
        report = run_verification(options, progress)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        for problem in report.all_problems():
            typer.echo(f"error: {problem}", err=True)
    else:
        render_report(report)
    if not report.passed:
        count = len(report.all_problems())
        raise ValidationFailed(
            f"verification failed ({count} problem{'s' if count > 1 else ''})",
            report=report.to_dict(),
        )


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the root command."""
    app.command("verify")(verify)
