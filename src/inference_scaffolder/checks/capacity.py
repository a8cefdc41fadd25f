"""Will a model fit on the GPUs asked for? An estimate from ``config.json`` alone.

No network, no weights: the parameter count is computed from a Llama-style architecture
(embeddings, per-layer q/k/v/o attention with grouped-query KV heads, a gated MLP of three
matrices, two norms per layer, a final norm, and an LM head unless tied to the embeddings).

All sizes are bytes; the report shows GiB (2**30 bytes). GPU memory is the total the
driver reports (nvidia-smi ``memory.total``, in MiB), not the marketing figure in GB.

Memory needed = weights + KV cache + runtime overhead, where
- weights: quantized layers (attention and MLP matrices) at the dtype's bytes per parameter
  plus group-scale overhead; embeddings, LM head and norms stay 16-bit under quantization
  (AWQ/GPTQ/fp8 leave them unquantized);
- KV cache: 2 (K and V) x layers x kv_heads x head_dim x bytes x max_total_tokens x
  concurrent sequences, in the activation dtype (fp32 for float32 models, else 16-bit);
- overhead: a fixed 1 GiB per GPU (CUDA context, cuBLAS/NCCL workspaces, CUDA graphs) plus
  10% of the weights (activation and temporary buffers, which grow with model width).
It is compared with GPU memory x count x the engine's memory fraction (vLLM
``--gpu-memory-utilization`` 0.9; TGI ``--cuda-memory-fraction`` 1.0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inference_scaffolder.answers.fields import CACHE_HEADROOM_PERCENT
from inference_scaffolder.answers.rules import quantity
from inference_scaffolder.errors import CheckFailed, UserError, inert
from inference_scaffolder.safe_fs import read_text_file
from inference_scaffolder.service.layout import MAX_MODEL_CONFIG_BYTES

GIB = 2**30
MIB = 2**20

# memory.total as nvidia-smi reports it, in MiB; nominal marketing size in the comment.
GPU_MEMORY_MIB: Mapping[str, int] = {
    "L4": 23034,  # 24 GB
    "A10G": 23028,  # 24 GB
    "A100-40": 40960,  # 40 GB
    "A100-80": 81920,  # 80 GB
    "H100-80": 81559,  # 80 GB
    "H200-141": 143771,  # 141 GB
}

# Bytes per parameter of a quantizable matrix, and how many 16-bit extra bytes each group
# of weights carries for its scale/zero point (int4 schemes quantize in groups of 128).
INT4_GROUP_SIZE = 128
INT4_GROUP_BYTES = 4  # one fp16 scale + one fp16 (or packed) zero per group, rounded up
DTYPE_BYTES: Mapping[str, float] = {
    "float32": 4.0,
    "bfloat16": 2.0,
    "float16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "awq": 0.5,
    "gptq": 0.5,
}
DTYPE_ALIASES: Mapping[str, str] = {
    "fp32": "float32",
    "bf16": "bfloat16",
    "fp16": "float16",
    "half": "float16",
    "float8": "fp8",
    "fp8_e4m3": "fp8",
}
QUANTIZED = frozenset({"fp8", "int8", "int4", "awq", "gptq"})
GROUP_QUANTIZED = frozenset({"int4", "awq", "gptq"})

FIXED_OVERHEAD_PER_GPU_BYTES = 1 * GIB
OVERHEAD_FRACTION_OF_WEIGHTS = 0.10


@dataclass(frozen=True)
class EngineProfile:
    """What an engine assumes by default about memory and batching."""

    name: str
    memory_fraction: float
    fraction_setting: str
    concurrent_sequences: int


# Both engines refuse to start unless one full-length sequence fits in the KV cache (vLLM
# checks max_model_len against the cache; TGI requires max_batch_total_tokens >=
# max_total_tokens), so one sequence is the floor this estimate checks by default.
ENGINES: Mapping[str, EngineProfile] = {
    "vllm": EngineProfile("vllm", 0.90, "--gpu-memory-utilization", 1),
    "tgi": EngineProfile("tgi", 1.00, "--cuda-memory-fraction", 1),
}


@dataclass(frozen=True)
class ModelShape:
    """The ``config.json`` fields the estimate uses, validated."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    attention_bias: bool
    mlp_bias: bool


@dataclass(frozen=True)
class ParameterCount:
    """Parameters split by whether quantization applies to them."""

    embeddings: int
    lm_head: int
    attention: int
    mlp: int
    norms: int

    @property
    def quantizable(self) -> int:
        return self.attention + self.mlp

    @property
    def unquantized(self) -> int:
        return self.embeddings + self.lm_head + self.norms

    @property
    def total(self) -> int:
        return self.quantizable + self.unquantized


@dataclass(frozen=True)
class CapacityEstimate:
    """Memory breakdown for one model on one GPU shape; ``fits`` is the verdict."""

    engine: str
    dtype: str
    parameters: int
    weights_bytes: int
    kv_cache_bytes: int
    kv_bytes_per_token: int
    max_total_tokens: int
    concurrent_sequences: int
    overhead_bytes: int
    gpu_type: str
    gpu_count: int
    gpu_memory_bytes: int
    memory_fraction: float
    fraction_setting: str
    attention_heads: int

    @property
    def required_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    @property
    def total_gpu_bytes(self) -> int:
        return self.gpu_memory_bytes * self.gpu_count

    @property
    def usable_bytes(self) -> int:
        return int(self.total_gpu_bytes * self.memory_fraction)

    @property
    def headroom_bytes(self) -> int:
        return self.usable_bytes - self.required_bytes

    @property
    def shardable(self) -> bool:
        """Tensor parallelism splits attention heads evenly across the GPUs."""
        return self.attention_heads % self.gpu_count == 0

    @property
    def fits(self) -> bool:
        return self.shardable and self.required_bytes <= self.usable_bytes

    def refusal(self) -> str | None:
        """The one-line reason it does not fit, naming the numbers; ``None`` when it fits."""
        where = f"{self.gpu_count}×{self.gpu_type}"
        if self.required_bytes > self.usable_bytes:
            return (
                f"needs {gib(self.required_bytes)} GiB, have {gib(self.usable_bytes)} GiB usable "
                f"on {where} ({self.engine} {self.fraction_setting} {self.memory_fraction:g})"
            )
        if not self.shardable:
            return (
                f"{self.attention_heads} attention heads cannot be split evenly over "
                f"{self.gpu_count} GPUs (tensor parallelism needs a divisor)"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """Everything, plus the derived totals, in bytes and GiB."""
        data = asdict(self)
        for name in ("required_bytes", "total_gpu_bytes", "usable_bytes", "headroom_bytes"):
            data[name] = getattr(self, name)
        for name in [key for key in data if key.endswith("_bytes") and key != "kv_bytes_per_token"]:
            data[name.removesuffix("_bytes") + "_gib"] = round(data[name] / GIB, 2)
        data["shardable"] = self.shardable
        data["fits"] = self.fits
        return data


def gib(value: int) -> str:
    """Bytes as GiB with one decimal, the unit every message uses."""
    return f"{value / GIB:.1f}"


# --------------------------------------------------------------------------- inputs


# Bounds of a config.json, which is anyone's file: the largest integer any model declares has
# a dozen digits (a vocabulary, a context length); 20 keeps every product the estimate
# computes far inside a float, where a 4 KB file of one 3,999-digit integer overflowed it
# (and past 4,300 digits Python refuses to convert the text at all). Configs nest a few levels.
MAX_CONFIG_INTEGER_DIGITS = 20
MAX_CONFIG_DEPTH = 32


class _Refused:
    """A number no model has, left in place by the JSON parser so the key can be named."""

    __slots__ = ("rule",)

    def __init__(self, rule: str) -> None:
        self.rule = rule


def _bounded_int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_CONFIG_INTEGER_DIGITS:
        return _Refused(f"an integer of more than {MAX_CONFIG_INTEGER_DIGITS} digits "
                        f"({digits}); no model has one")
    return int(text)


def _finite_float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _non_finite(text)


def _non_finite(text: str) -> _Refused:
    return _Refused(f"{inert(text, 40)} is not a finite number")


def _first_refusal(data: Any) -> tuple[str, str] | None:
    """Where the parsed config holds a refused number or nests too deeply (path, rule), in
    document order; walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, _Refused):
            return path, value.rule
        if depth > MAX_CONFIG_DEPTH:
            return path, f"is nested deeper than {MAX_CONFIG_DEPTH} levels"
        if isinstance(value, dict):
            items = [(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(v, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            continue
        stack.extend((v, p, depth + 1) for v, p in reversed(items))
    return None


def load_model_config(path: str | Path) -> dict[str, Any]:
    """Read a Hugging Face ``config.json``; any problem is a UserError naming the file (and
    the key: an integer of more than 20 digits, NaN, an infinity, nesting too deep)."""
    file = Path(path)
    # A FIFO, a device (/dev/zero) or a huge file is refused unread: regular files, bounded.
    text = read_text_file(file, MAX_MODEL_CONFIG_BYTES, "model_config")
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float,
                          parse_constant=_non_finite)
    except json.JSONDecodeError as exc:
        raise UserError(
            "model_config", f"{file} is not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from exc
    except RecursionError:
        raise UserError("model_config", f"{file} is nested too deeply") from None
    if not isinstance(data, dict):
        raise UserError("model_config", f"{file} must hold a JSON object")
    refused = _first_refusal(data)
    if refused:
        raise UserError("model_config", f"{file}: {inert(refused[0], 120)}: {refused[1]}")
    return data


def _text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Multimodal configs nest the language model under ``text_config``."""
    nested = config.get("text_config")
    if "hidden_size" not in config and isinstance(nested, Mapping):
        return nested
    return config


def _positive_int(config: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = config.get(name, default)
    if value is None:
        raise UserError(f"model_config.{name}", "is missing; expected a positive integer")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UserError(f"model_config.{name}",
                        f"must be a positive integer, got {inert(repr(value), 60)}")
    return value


def _flag(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name, False)
    if not isinstance(value, bool):
        raise UserError(f"model_config.{name}",
                        f"must be true or false, got {inert(repr(value), 60)}")
    return value


def model_shape(model_config: Mapping[str, Any]) -> ModelShape:
    """Validate the fields the estimate needs; mixture-of-experts is refused, not guessed."""
    config = _text_config(model_config)
    for moe_field in ("num_local_experts", "n_routed_experts", "num_experts"):
        if config.get(moe_field):
            raise UserError(
                f"model_config.{moe_field}",
                "mixture-of-experts models are not covered by this dense (Llama-style) estimate",
            )
    hidden = _positive_int(config, "hidden_size")
    heads = _positive_int(config, "num_attention_heads")
    kv_heads = _positive_int(config, "num_key_value_heads", heads)
    if heads % kv_heads:
        raise UserError(
            "model_config.num_key_value_heads",
            f"must divide num_attention_heads ({heads}), got {kv_heads}",
        )
    if config.get("head_dim") is None and hidden % heads:
        raise UserError(
            "model_config.num_attention_heads",
            f"must divide hidden_size ({hidden}) when head_dim is not given",
        )
    return ModelShape(
        hidden_size=hidden,
        num_hidden_layers=_positive_int(config, "num_hidden_layers"),
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=_positive_int(config, "head_dim", hidden // heads),
        intermediate_size=_positive_int(config, "intermediate_size"),
        vocab_size=_positive_int(config, "vocab_size"),
        tie_word_embeddings=_flag(config, "tie_word_embeddings"),
        attention_bias=_flag(config, "attention_bias"),
        mlp_bias=_flag(config, "mlp_bias"),
    )


def count_parameters(shape: ModelShape) -> ParameterCount:
    """Parameter count of a Llama-style decoder with grouped-query attention."""
    h, layers = shape.hidden_size, shape.num_hidden_layers
    q_width = shape.num_attention_heads * shape.head_dim
    kv_width = shape.num_key_value_heads * shape.head_dim
    attention = h * q_width + 2 * h * kv_width + q_width * h  # q, k, v, o
    if shape.attention_bias:
        attention += q_width + 2 * kv_width + h
    mlp = 3 * h * shape.intermediate_size  # gate, up, down
    if shape.mlp_bias:
        mlp += 2 * shape.intermediate_size + h
    embeddings = shape.vocab_size * h
    return ParameterCount(
        embeddings=embeddings,
        lm_head=0 if shape.tie_word_embeddings else embeddings,
        attention=attention * layers,
        mlp=mlp * layers,
        norms=2 * h * layers + h,  # input + post-attention norm per layer, final norm
    )


def normalize_dtype(dtype: str) -> str:
    """Canonical dtype name; aliases such as ``bf16`` and torch's ``torch.bfloat16`` accepted."""
    name = dtype.strip().lower().removeprefix("torch.")
    name = DTYPE_ALIASES.get(name, name)
    if name not in DTYPE_BYTES:
        raise UserError("dtype", f"unknown {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    return name


def default_dtype(model_config: Mapping[str, Any]) -> str:
    """The dtype the checkpoint declares (``torch_dtype``, or ``dtype`` in newer configs)."""
    config = _text_config(model_config)
    declared = config.get("torch_dtype") or config.get("dtype") or model_config.get("torch_dtype")
    if isinstance(declared, str):
        try:
            return normalize_dtype(declared)
        except UserError:
            pass
    return "bfloat16"


def default_max_total_tokens(model_config: Mapping[str, Any]) -> int:
    """The model's context length, which is what vLLM serves by default (max_model_len)."""
    config = _text_config(model_config)
    if config.get("max_position_embeddings") is None:
        raise UserError(
            "max_total_tokens",
            "model_config has no max_position_embeddings; pass --max-total-tokens",
        )
    return _positive_int(config, "max_position_embeddings")


def normalize_gpu_type(gpu_type: str) -> str:
    """Match the GPU table case-insensitively, ignoring a trailing ``GB``/``-GB``."""
    wanted = gpu_type.strip().upper().removesuffix("GB").removesuffix("-")
    for name in GPU_MEMORY_MIB:
        if name.upper() == wanted:
            return name
    raise UserError("gpu_type", f"unknown {gpu_type!r}; known: {', '.join(GPU_MEMORY_MIB)}")


# --------------------------------------------------------------------------- estimate


def weights_bytes(params: ParameterCount, dtype: str) -> int:
    """Quantization applies to the attention and MLP matrices only."""
    if dtype not in QUANTIZED:
        return math.ceil(params.total * DTYPE_BYTES[dtype])
    per_param = DTYPE_BYTES[dtype]
    if dtype in GROUP_QUANTIZED:
        per_param += INT4_GROUP_BYTES / INT4_GROUP_SIZE
    return math.ceil(params.quantizable * per_param + params.unquantized * 2)


def kv_bytes_per_token(shape: ModelShape, dtype: str) -> int:
    """K and V for every layer; cached in the activation dtype (16-bit unless float32)."""
    element = 4 if dtype == "float32" else 2
    return 2 * shape.num_hidden_layers * shape.num_key_value_heads * shape.head_dim * element


def _check_count(name: str, value: Any) -> None:
    """A positive integer the estimate can multiply: at most 20 digits, like the config's."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(name, f"must be a positive integer, got {inert(repr(value), 60)}")
    if value >= 10**MAX_CONFIG_INTEGER_DIGITS:
        raise UserError(name, f"must have at most {MAX_CONFIG_INTEGER_DIGITS} digits")


def estimate(
    model_config: Mapping[str, Any],
    gpu_type: str,
    gpu_count: int,
    max_total_tokens: int,
    dtype: str,
    engine: str,
    concurrent_sequences: int | None = None,
) -> CapacityEstimate:
    """Memory needed to serve ``model_config`` versus what ``gpu_count`` × ``gpu_type`` offer."""
    if engine not in ENGINES:
        raise UserError("engine", f"unknown {engine!r}; choose from {', '.join(ENGINES)}")
    _check_count("gpu_count", gpu_count)
    _check_count("max_total_tokens", max_total_tokens)
    profile = ENGINES[engine]
    sequences = (
        profile.concurrent_sequences if concurrent_sequences is None else concurrent_sequences
    )
    _check_count("concurrent_sequences", sequences)
    gpu = normalize_gpu_type(gpu_type)
    canonical_dtype = normalize_dtype(dtype)
    shape = model_shape(model_config)
    params = count_parameters(shape)
    weights = weights_bytes(params, canonical_dtype)
    per_token = kv_bytes_per_token(shape, canonical_dtype)
    overhead = FIXED_OVERHEAD_PER_GPU_BYTES * gpu_count + math.ceil(
        weights * OVERHEAD_FRACTION_OF_WEIGHTS
    )
    return CapacityEstimate(
        engine=engine,
        dtype=canonical_dtype,
        parameters=params.total,
        weights_bytes=weights,
        kv_cache_bytes=per_token * max_total_tokens * sequences,
        kv_bytes_per_token=per_token,
        max_total_tokens=max_total_tokens,
        concurrent_sequences=sequences,
        overhead_bytes=overhead,
        gpu_type=gpu,
        gpu_count=gpu_count,
        gpu_memory_bytes=GPU_MEMORY_MIB[gpu] * MIB,
        memory_fraction=profile.memory_fraction,
        fraction_setting=profile.fraction_setting,
        attention_heads=shape.num_attention_heads,
    )


# --------------------------------------------------------------------------- from answers

# What a serving quantisation method stores a weight in, for the estimate.
QUANTIZATION_DTYPES: Mapping[str, str] = {
    "awq": "awq",
    "gptq": "gptq",
    "marlin": "int4",
    "bitsandbytes-nf4": "int4",
    "bitsandbytes-fp4": "int4",
    "bitsandbytes": "int8",
    "eetq": "int8",
    "fp8": "fp8",
}


def dtype_for(model_config: Mapping[str, Any], quantization: str) -> str:
    """The estimate's dtype: the quantisation's storage, else the checkpoint's own dtype."""
    return QUANTIZATION_DTYPES.get(quantization, "") or default_dtype(model_config)


def check_service_capacity(
    *,
    model_config_path: str,
    gpu_type: str,
    gpu_count: int,
    max_total_tokens: int,
    engine: str,
    quantization: str = "",
) -> CapacityEstimate:
    """The check ``new`` and ``validate`` run when the answers name a GPU type and a local
    config.json (never fetched); a model that does not fit is refused naming the numbers."""
    config = load_model_config(model_config_path)
    result = estimate(config, gpu_type, gpu_count, max_total_tokens,
                      dtype_for(config, quantization), engine)
    reason = result.refusal()
    if reason:
        name = inert(config.get("_name_or_path") or "the model", 120)
        raise CheckFailed("gpu_type", f"{name} does not fit: {reason}")
    return result


def check_answers_capacity(answers: Mapping[str, Any]) -> CapacityEstimate | None:
    """Run the capacity check for answers that name both a GPU type and a model config."""
    if not (answers.get("gpu_type") and answers.get("model_config")):
        return None
    return check_service_capacity(
        model_config_path=answers["model_config"], gpu_type=answers["gpu_type"],
        gpu_count=answers["gpu_count"], max_total_tokens=answers["max_total_tokens"],
        engine=answers["engine"], quantization=answers.get("quantization", ""),
    )


# --------------------------------------------------------------------------- model cache


def estimated_weights_bytes(model_config_path: str, quantization: str = "") -> int:
    """The weights the engine downloads, estimated from config.json (no GPU needed)."""
    config = load_model_config(model_config_path)
    params = count_parameters(model_shape(config))
    return weights_bytes(params, normalize_dtype(dtype_for(config, quantization)))


def cache_size_for(weights: int, headroom_percent: int) -> str:
    """A cache size in whole GiB: the weights plus the headroom, rounded up."""
    return f"{math.ceil(weights * (100 + headroom_percent) / 100 / GIB)}Gi"


def sized_model_cache(answers: dict[str, Any]) -> dict[str, Any]:
    """Answers with the model cache sized to the model when model_config is given: an empty
    size becomes the weights plus headroom; a size below the weights is refused (the
    download would fill the volume and the pod be evicted or fail mid-download)."""
    if not answers.get("model_config"):
        return answers
    weights = estimated_weights_bytes(answers["model_config"], answers.get("quantization", ""))
    size = answers.get("model_cache_size")
    if not size:
        return {**answers, "model_cache_size": cache_size_for(weights, CACHE_HEADROOM_PERCENT)}
    if quantity(size) < weights:
        raise UserError("model_cache_size",
                        f"{size} is smaller than the model's weights ({gib(weights)} GiB "
                        "estimated from model_config): the download would not fit")
    return answers
