"""``inference-scaffolder capacity``: will the model fit on the GPUs asked for?

Exit codes (the rule of :mod:`inference_scaffolder.errors`): 0 it fits (breakdown printed);
1 it does not fit (``error: capacity: needs X GiB, have Y GiB usable on N×T``); 2 the input is
bad. Both refusals are printed as one line by the CLI root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inference_scaffolder.checks.capacity import (
    ENGINES,
    CapacityEstimate,
    default_dtype,
    default_max_total_tokens,
    estimate,
    gib,
    load_model_config,
)
from inference_scaffolder.errors import CheckFailed, UserError

# The library names answers' fields (gpu_type); on the command line they are options.
OPTION_FOR_FIELD = {
    name: "--" + name.replace("_", "-")
    for name in (
        "model_config",
        "gpu_type",
        "gpu_count",
        "max_total_tokens",
        "dtype",
        "engine",
        "concurrent_sequences",
    )
}


def breakdown_table(result: CapacityEstimate) -> Table:
    """Rows a reviewer can check by hand; every size in GiB."""
    table = Table(
        title=f"{result.parameters / 1e9:.2f}B parameters, {result.dtype}, {result.engine}"
    )
    table.add_column("item")
    table.add_column("GiB", justify="right")
    table.add_column("how")
    table.add_row(
        "weights",
        gib(result.weights_bytes),
        f"{result.parameters:,} params × {result.dtype} "
        f"({result.weights_bytes / result.parameters:.2f} B/param)",
    )
    table.add_row(
        "KV cache",
        gib(result.kv_cache_bytes),
        f"{result.kv_bytes_per_token:,} B/token × {result.max_total_tokens:,} tokens × "
        f"{result.concurrent_sequences} sequence(s)",
    )
    table.add_row("runtime overhead", gib(result.overhead_bytes), "1 GiB per GPU + 10% of weights")
    table.add_row("[bold]needed[/bold]", f"[bold]{gib(result.required_bytes)}[/bold]", "")
    table.add_row(
        "GPU memory",
        gib(result.total_gpu_bytes),
        f"{result.gpu_count} × {result.gpu_type} ({gib(result.gpu_memory_bytes)} GiB each)",
    )
    table.add_row(
        "[bold]usable[/bold]",
        f"[bold]{gib(result.usable_bytes)}[/bold]",
        f"× {result.memory_fraction:g} ({result.engine} {result.fraction_setting})",
    )
    table.add_row("headroom", gib(result.headroom_bytes), "usable − needed")
    return table


def capacity(
    model_config: Annotated[
        Path,
        typer.Option(
            "--model-config", help="The model's config.json (read locally, never fetched)."
        ),
    ],
    gpu_type: str = typer.Option(
        ..., "--gpu-type", help="L4, A10G, A100-40, A100-80, H100-80 or H200-141."
    ),
    gpu_count: int = typer.Option(..., "--gpu-count", help="GPUs per replica."),
    max_total_tokens: int | None = typer.Option(
        None,
        "--max-total-tokens",
        help="Longest sequence (prompt + output); default: the model's max_position_embeddings.",
    ),
    dtype: str | None = typer.Option(
        None,
        "--dtype",
        help="float32, bfloat16, float16, fp8, int8, int4, awq, gptq; default: the config's.",
    ),
    engine: str = typer.Option("vllm", "--engine", help=f"One of {', '.join(ENGINES)}."),
    concurrent_sequences: int | None = typer.Option(
        None,
        "--concurrent-sequences",
        help="Full-length sequences the KV cache must hold at once (default 1, both engines).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable estimate."),
) -> None:
    """Estimate GPU memory (weights + KV cache + overhead) and say whether it fits."""
    try:
        config = load_model_config(model_config)
        result = estimate(
            config,
            gpu_type=gpu_type,
            gpu_count=gpu_count,
            max_total_tokens=(
                max_total_tokens
                if max_total_tokens is not None
                else default_max_total_tokens(config)
            ),
            dtype=dtype if dtype is not None else default_dtype(config),
            engine=engine.lower(),
            concurrent_sequences=concurrent_sequences,
        )
    except UserError as exc:
        raise UserError(OPTION_FOR_FIELD.get(exc.field, exc.field), exc.rule) from exc
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        Console().print(breakdown_table(result))
    refusal = result.refusal()
    if refusal:
        raise CheckFailed("capacity", refusal)
    if not as_json:
        typer.echo(
            f"fits: {gib(result.required_bytes)} GiB needed of {gib(result.usable_bytes)} GiB "
            f"usable on {result.gpu_count}×{result.gpu_type}"
        )


def register(app: typer.Typer) -> None:
    """Add ``capacity`` to the root command."""
    app.command("capacity")(capacity)
