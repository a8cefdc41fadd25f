"""Tests for the capacity estimate and ``inference-scaffolder capacity``.

Parameter counts are checked against the published sizes of known models, whose
``config.json`` fields are written out here (architecture facts, not copied files).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference_scaffolder import cli
from inference_scaffolder.checks.capacity import (
    GIB,
    count_parameters,
    default_dtype,
    estimate,
    load_model_config,
    model_shape,
)
from inference_scaffolder.errors import UserError

LLAMA_2_7B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
}
LLAMA_3_8B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
LLAMA_3_70B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 8192,
    "intermediate_size": 28672,
    "num_attention_heads": 64,
    "num_hidden_layers": 80,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
LLAMA_3_2_1B = {  # tied embeddings and an explicit head_dim
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 2048,
    "head_dim": 64,
    "intermediate_size": 8192,
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}
MISTRAL_7B = {
    "architectures": ["MistralForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


@pytest.mark.parametrize(
    ("config", "published"),
    [
        (LLAMA_2_7B, 6.74e9),
        (LLAMA_3_8B, 8.03e9),
        (LLAMA_3_70B, 70.6e9),
        (LLAMA_3_2_1B, 1.24e9),
        (MISTRAL_7B, 7.24e9),
    ],
    ids=["llama-2-7b", "llama-3-8b", "llama-3-70b", "llama-3.2-1b", "mistral-7b"],
)
def test_parameter_count_matches_published_sizes(config: dict, published: float) -> None:
    total = count_parameters(model_shape(config)).total
    assert total == pytest.approx(published, rel=0.01)


def test_tied_embeddings_drop_the_lm_head() -> None:
    untied = count_parameters(model_shape({**LLAMA_3_2_1B, "tie_word_embeddings": False}))
    tied = count_parameters(model_shape(LLAMA_3_2_1B))
    assert untied.total - tied.total == 128256 * 2048
    assert tied.lm_head == 0


def test_grouped_query_attention_shrinks_the_kv_cache() -> None:
    full = estimate({**LLAMA_3_8B, "num_key_value_heads": 32}, "H100-80", 1, 8192, "bf16", "vllm")
    grouped = estimate(LLAMA_3_8B, "H100-80", 1, 8192, "bf16", "vllm")
    # Llama-3-8B: 2 (K,V) x 32 layers x 8 kv heads x 128 dims x 2 bytes per token.
    assert grouped.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2
    assert grouped.kv_cache_bytes == grouped.kv_bytes_per_token * 8192
    assert full.kv_cache_bytes == 4 * grouped.kv_cache_bytes


def test_kv_cache_scales_with_tokens_and_sequences() -> None:
    one = estimate(LLAMA_3_8B, "L4", 1, 4096, "bfloat16", "vllm")
    four = estimate(LLAMA_3_8B, "L4", 1, 4096, "bfloat16", "vllm", concurrent_sequences=4)
    longer = estimate(LLAMA_3_8B, "L4", 1, 8192, "bfloat16", "vllm")
    assert four.kv_cache_bytes == 4 * one.kv_cache_bytes
    assert longer.kv_cache_bytes == 2 * one.kv_cache_bytes
    assert one.concurrent_sequences == 1


def test_refuses_70b_bf16_on_one_80gb_gpu_and_accepts_it_on_four() -> None:
    one = estimate(LLAMA_3_70B, "H100-80", 1, 8192, "bfloat16", "vllm")
    four = estimate(LLAMA_3_70B, "H100-80", 4, 8192, "bfloat16", "vllm")
    assert not one.fits
    assert four.fits
    assert one.weights_bytes > 130 * GIB  # 70.6B params x 2 bytes
    assert one.refusal() == (
        f"needs {one.required_bytes / GIB:.1f} GiB, have {one.usable_bytes / GIB:.1f} GiB usable "
        "on 1×H100-80 (vllm --gpu-memory-utilization 0.9)"
    )
    assert four.refusal() is None


def test_quantization_shrinks_weights_but_not_embeddings() -> None:
    bf16 = estimate(LLAMA_3_70B, "A100-80", 1, 4096, "bfloat16", "vllm")
    int4 = estimate(LLAMA_3_70B, "A100-80", 1, 4096, "awq", "vllm")
    fp8 = estimate(LLAMA_3_70B, "A100-80", 1, 4096, "fp8", "vllm")
    params = count_parameters(model_shape(LLAMA_3_70B))
    assert bf16.weights_bytes == params.total * 2
    assert fp8.weights_bytes == params.quantizable * 1 + params.unquantized * 2
    assert int4.weights_bytes > params.quantizable * 0.5 + params.unquantized * 2  # + scales
    assert int4.weights_bytes < params.quantizable * 0.55 + params.unquantized * 2
    assert not bf16.fits
    assert int4.fits  # a 4-bit 70B fits on one 80 GB card, as AWQ users run it


def test_float32_doubles_weights_and_kv_cache() -> None:
    half = estimate(LLAMA_2_7B, "A100-80", 1, 4096, "float16", "tgi")
    full = estimate(LLAMA_2_7B, "A100-80", 1, 4096, "float32", "tgi")
    assert full.weights_bytes == 2 * half.weights_bytes
    assert full.kv_cache_bytes == 2 * half.kv_cache_bytes


def test_engine_memory_fraction_decides_a_borderline_case() -> None:
    # Llama-3-8B at its full 8k context on one L4: fine for both engines.
    vllm = estimate(LLAMA_3_8B, "L4", 1, 8192, "bfloat16", "vllm")
    tgi = estimate(LLAMA_3_8B, "L4", 1, 8192, "bfloat16", "tgi")
    assert vllm.fits and tgi.fits
    assert vllm.usable_bytes == int(23034 * 2**20 * 0.9)
    assert tgi.usable_bytes == 23034 * 2**20
    # ...and a required size between the two usable sizes fits only under TGI's 1.0.
    tokens = next(
        t
        for t in range(8192, 200_000, 1024)
        if not estimate(LLAMA_3_8B, "L4", 1, t, "bfloat16", "vllm").fits
    )
    assert estimate(LLAMA_3_8B, "L4", 1, tokens, "bfloat16", "tgi").fits


def test_overhead_is_fixed_per_gpu_plus_a_tenth_of_weights() -> None:
    one = estimate(LLAMA_3_8B, "A10G", 1, 2048, "bfloat16", "vllm")
    two = estimate(LLAMA_3_8B, "A10G", 2, 2048, "bfloat16", "vllm")
    assert two.overhead_bytes - one.overhead_bytes == GIB
    assert one.overhead_bytes == GIB + -(-one.weights_bytes // 10)


def test_heads_that_do_not_split_over_the_gpus_do_not_fit() -> None:
    result = estimate(LLAMA_3_8B, "H100-80", 3, 2048, "bfloat16", "vllm")
    assert result.required_bytes < result.usable_bytes
    assert not result.fits
    assert result.refusal() == (
        "32 attention heads cannot be split evenly over 3 GPUs (tensor parallelism needs a divisor)"
    )


@pytest.mark.parametrize(
    ("gpu", "name"),
    [("h100-80", "H100-80"), ("A100-80GB", "A100-80"), ("h200-141gb", "H200-141"), ("l4", "L4")],
)
def test_gpu_names_are_matched_forgivingly(gpu: str, name: str) -> None:
    assert estimate(LLAMA_2_7B, gpu, 1, 1024, "fp16", "vllm").gpu_type == name


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"gpu_type": "T4"}, "gpu_type", "unknown 'T4'; known: L4, A10G"),
        ({"gpu_count": 0}, "gpu_count", "must be a positive integer"),
        ({"max_total_tokens": 0}, "max_total_tokens", "must be a positive integer"),
        ({"dtype": "int3"}, "dtype", "unknown 'int3'"),
        ({"engine": "triton"}, "engine", "unknown 'triton'"),
    ],
)
def test_bad_arguments_name_the_field(change: dict, field: str, rule: str) -> None:
    arguments = {
        "gpu_type": "L4",
        "gpu_count": 1,
        "max_total_tokens": 1024,
        "dtype": "bfloat16",
        "engine": "vllm",
        **change,
    }
    with pytest.raises(UserError) as caught:
        estimate(LLAMA_2_7B, **arguments)
    assert caught.value.field == field
    assert rule in caught.value.rule


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({k: v for k, v in LLAMA_2_7B.items() if k != "hidden_size"}, "model_config.hidden_size"),
        ({**LLAMA_2_7B, "num_hidden_layers": "32"}, "model_config.num_hidden_layers"),
        ({**LLAMA_2_7B, "vocab_size": -1}, "model_config.vocab_size"),
        ({**LLAMA_2_7B, "num_key_value_heads": 5}, "model_config.num_key_value_heads"),
        ({**LLAMA_2_7B, "tie_word_embeddings": "yes"}, "model_config.tie_word_embeddings"),
        ({**MISTRAL_7B, "num_local_experts": 8}, "model_config.num_local_experts"),
    ],
)
def test_malformed_config_names_the_field(config: dict, field: str) -> None:
    with pytest.raises(UserError) as caught:
        estimate(config, "L4", 1, 1024, "bfloat16", "vllm")
    assert caught.value.field == field


def test_multimodal_configs_use_their_text_config() -> None:
    wrapped = {"model_type": "llava", "text_config": LLAMA_2_7B, "vision_config": {}}
    assert count_parameters(model_shape(wrapped)) == count_parameters(model_shape(LLAMA_2_7B))


def test_default_dtype_comes_from_the_config() -> None:
    assert default_dtype(LLAMA_2_7B) == "float16"
    assert default_dtype({"dtype": "torch.bfloat16"}) == "bfloat16"
    assert default_dtype({}) == "bfloat16"


def test_load_model_config_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "config.json"
    broken.write_text('{"hidden_size": 4096,')
    with pytest.raises(UserError) as caught:
        load_model_config(broken)
    assert caught.value.field == "model_config"
    assert "is not valid JSON (line 1" in caught.value.rule
    with pytest.raises(UserError, match="cannot read"):
        load_model_config(tmp_path / "missing.json")
    broken.write_text("[1, 2]")
    with pytest.raises(UserError, match="must hold a JSON object"):
        load_model_config(broken)


def test_estimate_serialises_for_machines() -> None:
    data = estimate(LLAMA_3_8B, "L4", 1, 8192, "bfloat16", "vllm").to_dict()
    json.dumps(data)
    assert data["fits"] is True
    assert data["required_bytes"] == (
        data["weights_bytes"] + data["kv_cache_bytes"] + data["overhead_bytes"]
    )
    assert data["usable_gib"] == round(data["usable_bytes"] / GIB, 2)


# --------------------------------------------------------------------------- CLI


@pytest.fixture(autouse=True)
def _isolated_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("capacity",))


def write_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def run_capacity(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["capacity", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_the_breakdown_when_it_fits(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, LLAMA_3_70B)
    code, out, err = run_capacity(
        capsys, "--model-config", str(config), "--gpu-type", "H100-80", "--gpu-count", "4"
    )
    assert code == 0, err
    for row in ("weights", "KV cache", "runtime overhead", "needed", "usable", "headroom"):
        assert row in out
    assert "70.55B parameters, bfloat16, vllm" in out
    assert "fits: " in out and "on 4×H100-80" in out
    assert err == ""


def test_cli_refuses_with_the_numbers(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, LLAMA_3_70B)
    code, out, err = run_capacity(
        capsys, "--model-config", str(config), "--gpu-type", "A100-80", "--gpu-count", "1"
    )
    expected = estimate(LLAMA_3_70B, "A100-80", 1, 8192, "bfloat16", "vllm")
    assert code == 1  # a check of valid input failed (2 is for bad input)
    assert err.strip() == (
        f"error: capacity: needs {expected.required_bytes / GIB:.1f} GiB, "
        f"have {expected.usable_bytes / GIB:.1f} GiB usable on 1×A100-80 "
        "(vllm --gpu-memory-utilization 0.9)"
    )
    assert "weights" in out  # the breakdown still shows where the memory goes


def test_cli_json_output(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, LLAMA_3_8B)
    code, out, _ = run_capacity(
        capsys,
        *("--model-config", str(config), "--gpu-type", "l4", "--gpu-count", "1"),
        *("--max-total-tokens", "4096", "--dtype", "fp8", "--engine", "tgi", "--json"),
    )
    assert code == 0
    data = json.loads(out)
    assert data["gpu_type"] == "L4"
    assert data["dtype"] == "fp8"
    assert data["engine"] == "tgi"
    assert data["memory_fraction"] == 1.0
    assert data["max_total_tokens"] == 4096
    assert data["fits"] is True


def test_cli_defaults_tokens_and_dtype_from_the_config(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, LLAMA_2_7B)
    code, out, _ = run_capacity(
        capsys, "--model-config", str(config), "--gpu-type", "A10G", "--gpu-count", "1", "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert data["max_total_tokens"] == 4096
    assert data["dtype"] == "float16"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--gpu-type", "T4"), "error: --gpu-type: unknown 'T4'; known: L4, A10G, A100-40"),
        (("--gpu-count", "0"), "error: --gpu-count: must be a positive integer, got 0"),
        (("--dtype", "int3"), "error: --dtype: unknown 'int3'"),
    ],
)
def test_cli_bad_options_exit_2_naming_the_option(
    tmp_path: Path, capsys, args: tuple[str, ...], message: str
) -> None:
    config = write_config(tmp_path, LLAMA_2_7B)
    base = {"--gpu-type": "L4", "--gpu-count": "1"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in base.items() for item in pair]
    code, _, err = run_capacity(capsys, "--model-config", str(config), *flat)
    assert code == 2
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


def test_cli_malformed_config_names_the_field(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, {**LLAMA_2_7B, "intermediate_size": None})
    code, _, err = run_capacity(
        capsys, "--model-config", str(config), "--gpu-type", "L4", "--gpu-count", "1"
    )
    assert code == 2
    assert err.strip() == (
        "error: model_config.intermediate_size: is missing; expected a positive integer"
    )


def test_cli_config_without_context_length_needs_max_total_tokens(tmp_path: Path, capsys) -> None:
    config = write_config(
        tmp_path, {k: v for k, v in LLAMA_2_7B.items() if k != "max_position_embeddings"}
    )
    code, _, err = run_capacity(
        capsys, "--model-config", str(config), "--gpu-type", "L4", "--gpu-count", "1"
    )
    assert code == 2
    assert err.startswith("error: --max-total-tokens: model_config has no max_position_embeddings")


@pytest.mark.parametrize("option", ["--max-total-tokens", "--gpu-count", "--concurrent-sequences"])
def test_cli_refuses_a_count_too_long_to_estimate_with(
    tmp_path: Path, capsys, option: str
) -> None:
    """A 4,000-digit count overflowed the float arithmetic of the estimate (a traceback)."""
    config = write_config(tmp_path, LLAMA_2_7B)
    args = {"--gpu-type": "L4", "--gpu-count": "1", option: "1" + "0" * 3999}
    code, _, err = run_capacity(capsys, "--model-config", str(config),
                                *[part for pair in args.items() for part in pair])
    assert code == 2
    assert err == f"error: {option}: must have at most 20 digits\n"
