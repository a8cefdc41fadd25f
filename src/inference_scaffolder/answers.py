"""The answers: one vocabulary for cookiecutter variables, answer files and the Backstage form.

Each answer is declared once in :data:`ANSWER_FIELDS`. Where an answer becomes a chart value,
its rules (pattern, bounds, enum) are read from the chart's values JSON Schema instead of
being written again, so the values schema drives answer validation, the Backstage form and
(through the schema repository) the TypeScript interface.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from inference_scaffolder.chart import values_schema
from inference_scaffolder.errors import UserError
from inference_scaffolder.go_yaml import NON_STRING_NAME_PATTERN

ENVIRONMENT_ORDER = ("dev", "syst", "uat", "prod")
ENGINES = ("tgi", "vllm")
GPU_TYPES = ("", "L4", "A10G", "A100-40", "A100-80", "H100-80", "H200-141")
TEMPLATE_DELIMITERS = ("{{", "}}", "{%", "%}", "{#", "#}")
# Variables the chart derives from the model and gpu answers; setting them again would
# silently fight the engine configuration.
RESERVED_ENV_NAMES = frozenset(
    {
        "PORT",
        "MODEL_ID",
        "REVISION",
        "MAX_INPUT_TOKENS",
        "MAX_INPUT_LENGTH",
        "MAX_TOTAL_TOKENS",
        "NUM_SHARD",
        "HF_HOME",
        "HUGGINGFACE_HUB_CACHE",
    }
)
# Variables that carry credentials: only ever from Vault (extra_secrets), never a plain value.
CREDENTIAL_ENV_NAMES = frozenset({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN",
                                  "VLLM_API_KEY"})
MAX_ANSWER_LENGTH = 4096
# Answers the chart writes unquoted as Kubernetes names (as charts do), with the env names.
PLAIN_NAME_ANSWERS = ("service_name", "service_catalog", "namespace", "secret_store")
# Far above any valid answers file (128 variables of 4096 characters, JSON-escaped), far
# below what would keep the YAML parser busy for minutes or exhaust memory (/dev/zero).
MAX_ANSWERS_FILE_BYTES = 8 * 1024 * 1024
# Characters the deployment path cannot carry: kustomize (Argo CD's renderer) refuses DEL, the
# C1 controls and U+FFFE/U+FFFF, and turns U+0085 into a space; a lone surrogate cannot even
# be written as UTF-8.
_UNCARRIED_CHARACTER = re.compile("[\x7f-\x9f\ufffe\uffff\ud800-\udfff]")

Answers = dict[str, Any]


@dataclass(frozen=True)
class AnswerField:
    """One answer: its form metadata, its default and where its rules come from."""

    key: str
    title: str
    page: str
    help: str
    default: Any = None
    required: bool = False
    values_path: str | None = None  # JSON pointer into the values schema's properties
    schema: Mapping[str, Any] = field(default_factory=dict)  # own rules, or overrides
    rule: str = ""  # the rule in words, for error messages
    ui: Mapping[str, Any] = field(default_factory=dict)


_DNS_LABEL_RULE = (
    "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a "
    "letter or digit"
)
_ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"

ANSWER_FIELDS: tuple[AnswerField, ...] = (
    # --- Service -------------------------------------------------------------------------
    AnswerField(
        "service_name", "Service name", "Service",
        "Name of the service, its repository and every Kubernetes object it creates.",
        default="", required=True, values_path="serviceName",
        rule=_DNS_LABEL_RULE + ", at most 53 characters",
        ui={"ui:autofocus": True},
    ),
    AnswerField(
        "description", "Description", "Service",
        "One sentence on what this service is for; shown in the catalog.",
        default="Serves a Hugging Face model over an OpenAI-compatible HTTP API.",
        schema={"type": "string", "minLength": 1, "maxLength": 300,
                "pattern": "^[^\\n\\r\\t]*$"},
        rule="must be one line of at most 300 characters",
    ),
    AnswerField(
        "owner", "Owner", "Service",
        "Backstage group (or user) that owns the service, as an entity reference.",
        default="group:default/ml-platform", required=True,
        schema={"type": "string", "maxLength": 253,
                "pattern": "^((group|user):)?([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?"
                           "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
        rule="must be a Backstage entity reference such as group:default/ml-platform",
        ui={"ui:field": "OwnerPicker",
            "ui:options": {"catalogFilter": [{"kind": ["Group", "User"]}]}},
    ),
    AnswerField(
        "system", "System", "Service",
        "Backstage system the service belongs to.",
        default="ml-inference", required=True,
        schema={"type": "string", "maxLength": 253,
                "pattern": "^(system:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?"
                           "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
        rule="must be a Backstage system name or reference such as system:default/ml-inference",
        ui={"ui:field": "EntityPicker", "ui:options": {"catalogFilter": [{"kind": "System"}]}},
    ),
    AnswerField(
        "service_catalog", "Service catalog", "Service",
        "Service catalog the workload is filed under (the platform's `catalog` label).",
        default="ml-inference", required=True, values_path="serviceCatalog",
        rule=_DNS_LABEL_RULE + ", at most 63 characters",
    ),
    AnswerField(
        "namespace", "Namespace", "Service",
        "Kubernetes namespace the service is deployed to in every environment.",
        default="ml-inference", required=True, values_path="namespace",
        rule=_DNS_LABEL_RULE + ", at most 63 characters",
    ),
    AnswerField(
        "lifecycle", "Lifecycle", "Service",
        "Backstage lifecycle of the component.",
        default="experimental", schema={"enum": ["experimental", "production", "deprecated"]},
        rule="must be one of experimental, production, deprecated",
    ),
    AnswerField(
        "repo_slug", "Repository", "Service",
        "GitHub owner/name of the service repository; empty means <owner name>/<service name>.",
        default="",
        schema={"type": "string", "maxLength": 140,
                "pattern": "^$|^[A-Za-z0-9]([-A-Za-z0-9]{0,38})/[A-Za-z0-9._-]{1,100}$"},
        rule="must be empty or a GitHub owner/name slug",
    ),
    AnswerField(
        "environments", "Environments", "Service",
        "Environments to deploy to, in promotion order (dev, syst, uat, prod).",
        default=list(ENVIRONMENT_ORDER), required=True,
        schema={"type": "array", "minItems": 1, "maxItems": 4, "uniqueItems": True,
                "items": {"enum": list(ENVIRONMENT_ORDER)}},
        rule="must be a non-empty subset of dev, syst, uat, prod without repeats",
        ui={"ui:widget": "checkboxes"},
    ),
    # --- Model ---------------------------------------------------------------------------
    AnswerField(
        "engine", "Inference engine", "Model",
        "tgi (Text Generation Inference) or vllm.",
        default="tgi", required=True, values_path="engine",
        rule="must be one of tgi, vllm",
    ),
    AnswerField(
        "model_id", "Model id", "Model",
        "Hugging Face model id, e.g. meta-llama/Llama-3.1-8B-Instruct. No default.",
        default="", required=True, values_path="model/properties/id",
        rule="must be a Hugging Face model id such as org/name (letters, digits, '.', '_', '-')",
    ),
    AnswerField(
        "model_revision", "Model revision", "Model",
        "Branch, tag or 40-hex commit of the model repository to serve. No default.",
        default="", required=True, values_path="model/properties/revision",
        rule="must be a branch, tag or 40-hex commit of the model repository",
    ),
    AnswerField(
        "served_model_name", "Served model name", "Model",
        "Name clients send as `model`; empty means the model id.",
        default="", values_path="model/properties/servedModelName",
        rule="must be empty or start with a letter or digit and use letters, digits, '._:/-'",
    ),
    AnswerField(
        "max_input_tokens", "Max input tokens", "Model",
        "Longest prompt accepted, in tokens.",
        default=4096, required=True, values_path="model/properties/maxInputTokens",
        rule="must be an integer from 1 to 1048576, lower than max_total_tokens",
    ),
    AnswerField(
        "max_total_tokens", "Max total tokens", "Model",
        "Prompt plus generated tokens per request: the context length served.",
        default=8192, required=True, values_path="model/properties/maxTotalTokens",
        rule="must be an integer from 2 to 1048576, higher than max_input_tokens",
    ),
    AnswerField(
        "engine_image_tag", "Engine image tag", "Model",
        "Image tag of the engine; empty means the chart's tested default for the engine.",
        default="", values_path="container/properties/image/properties/tag",
        rule="must be empty or a container image tag",
    ),
    AnswerField(
        "environment_variables", "Environment variables", "Model",
        "Extra variables for the engine, e.g. QUANTIZE=bitsandbytes (list of name/value).",
        default=[],
        schema={"type": "array", "maxItems": 128,
                "items": {"type": "object", "additionalProperties": False,
                          "required": ["name", "value"],
                          "properties": {
                              "name": {"type": "string", "pattern": _ENV_NAME_PATTERN,
                                       "maxLength": 128},
                              "value": {"type": "string", "maxLength": 4096}}}},
        rule="must be a list of {name, value}; names are letters, digits and '_' and "
             "do not start with a digit",
    ),
    AnswerField(
        "quantization", "Quantisation", "Model",
        "Quantisation method, e.g. awq, gptq, fp8, bitsandbytes (TGI's QUANTIZE, vLLM's "
        "--quantization); empty means the model's own.",
        default="", values_path="model/properties/quantization",
        rule="must be empty or a method name such as awq, gptq, fp8 or bitsandbytes",
    ),
    # --- GPU -----------------------------------------------------------------------------
    AnswerField(
        "gpu_count", "GPUs", "GPU",
        "NVIDIA GPUs per replica; the model is sharded across them.",
        default=1, required=True, values_path="gpu/properties/count",
        rule="must be an integer from 1 to 8",
    ),
    AnswerField(
        "gpu_type", "GPU type", "GPU",
        "GPU model the node pool offers; when set with model_config, a capacity check runs.",
        default="", schema={"enum": list(GPU_TYPES)},
        rule="must be empty or one of " + ", ".join(t for t in GPU_TYPES if t),
    ),
    AnswerField(
        "model_config", "Model config.json", "GPU",
        "Path to the model's config.json for the capacity check (read locally, never fetched).",
        default="",
        schema={"type": "string", "maxLength": 1024, "pattern": "^[^\\n\\r]*$"},
        rule="must be empty or a path to a local config.json",
    ),
    AnswerField(
        "cpu_request", "CPU request", "GPU",
        "CPU cores requested for tokenisation and the HTTP server.",
        default="4",
        values_path="container/properties/resources/properties/requests/properties/cpu",
        rule="must be a Kubernetes CPU quantity such as 4 or 500m",
    ),
    AnswerField(
        "memory_request", "Memory request", "GPU",
        "Host memory requested (the model is staged in host memory while loading).",
        default="32Gi",
        values_path="container/properties/resources/properties/requests/properties/memory",
        rule="must be a Kubernetes memory quantity such as 32Gi",
    ),
    AnswerField(
        "memory_limit", "Memory limit", "GPU",
        "Host memory limit.",
        default="64Gi",
        values_path="container/properties/resources/properties/limits/properties/memory",
        rule="must be a Kubernetes memory quantity such as 64Gi",
    ),
    AnswerField(
        "model_cache_size", "Model cache volume", "GPU",
        "Size of a shared volume (PersistentVolumeClaim, ReadWriteMany) for the Hugging Face "
        "cache, so a rescheduled pod does not download the model again; empty means none.",
        default="", values_path="modelCache/properties/size",
        schema={"pattern": "^$|^[0-9]+(\\.[0-9]+)?(k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?$"},
        rule="must be empty or a Kubernetes storage quantity such as 200Gi",
    ),
    AnswerField(
        "autoscaling_max_replicas", "Autoscaling: max replicas", "GPU",
        "Scale with KEDA on the engine's queue of waiting requests up to this many replicas; "
        "0 means a fixed single replica.",
        default=0, values_path="autoscaling/properties/maxReplicas",
        schema={"minimum": 0, "not": {"const": 1}},
        rule="must be 0 (no autoscaling) or an integer from 2 to 16",
    ),
    # --- Access --------------------------------------------------------------------------
    AnswerField(
        "ingress_host", "Public hostname", "Access",
        "Hostname of the public HTTPS endpoint in prod (other environments get <env>.<host>); "
        "empty means no ingress.",
        default="", values_path="ingress/properties/host",
        rule="must be empty or a lowercase fully qualified hostname",
    ),
    AnswerField(
        "hf_token_vault_path", "Hugging Face token Vault path", "Access",
        "Vault path of the Hugging Face token (gated models need one); empty means no token.",
        default="/secret/shared/huggingface/token",
        schema={"anyOf": [{"const": ""}, {"$ref": "#/$defs/vaultPath"}]},
        rule="must be empty or a Vault path such as /secret/shared/huggingface/token",
    ),
    AnswerField(
        "secret_store", "Secret store", "Access",
        "ClusterSecretStore that External Secrets reads Vault through.",
        default="vault-backend", required=True,
        values_path="container/properties/secretStore/properties/name",
        rule="must be a Kubernetes object name (DNS-1123 subdomain)",
    ),
    AnswerField(
        "extra_secrets", "Extra secrets", "Access",
        "More secrets from Vault as environment variables: list of {name, vaultPath, secretKey?}.",
        default=[],
        schema={"type": "array", "maxItems": 64,
                "items": {"type": "object", "additionalProperties": False,
                          "required": ["name", "vaultPath"],
                          "properties": {
                              "name": {"$ref": "#/$defs/envName"},
                              "secretKey": {"type": "string", "pattern": "^[-._a-zA-Z0-9]+$",
                                            "maxLength": 253},
                              "vaultPath": {"$ref": "#/$defs/vaultPath"}}}},
        rule="must be a list of {name, vaultPath, secretKey?} with environment-variable names "
             "and Vault paths",
    ),
    AnswerField(
        "image_pull_secret", "GHCR pull secret", "Access",
        "Pull the engine image with a GHCR credential from Vault (private registries).",
        default=False, values_path="imagePullSecret/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "image_pull_secret_vault_path", "Pull secret Vault path", "Access",
        "Vault path holding the dockerconfigjson, used when the pull secret is on.",
        default="/secret/shared/ghcr/dockerconfigjson",
        schema={"anyOf": [{"const": ""}, {"$ref": "#/$defs/vaultPath"}]},
        rule="must be empty or a Vault path",
    ),
    AnswerField(
        "basic_monitoring", "Basic monitoring", "Access",
        "Annotate pods so the Prometheus agent scrapes the engine's /metrics.",
        default=True, values_path="basicMonitoring/properties/enabled",
        rule="must be true or false",
    ),
    # --- Routing -------------------------------------------------------------------------
    AnswerField(
        "routing", "Register for routing", "Routing",
        "Register the served model name with the LiteLLM front door in every environment "
        "(switch it per environment in environments/<env>/values.yaml).",
        default=False, values_path="routing/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "envoy_ai_gateway", "Envoy AI Gateway route", "Routing",
        "Also route the model name through Envoy AI Gateway (AIGatewayRoute and backends).",
        default=False, values_path="routing/properties/envoyAIGateway/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "rate_limit_per_minute", "Rate limit (requests/minute)", "Routing",
        "Kuadrant rate limit for this model on the Envoy AI Gateway route; 0 means none.",
        default=0,
        values_path="routing/properties/rateLimit/properties/requestsPerMinute",
        schema={"minimum": 0},
        rule="must be 0 (no limit) or an integer from 1 to 1000000",
    ),
    AnswerField(
        "inference_pool", "InferencePool (endpoint picker)", "Routing",
        "Render an InferencePool so the gateway's endpoint picker chooses pods by load "
        "(vLLM only).",
        default=False, values_path="routing/properties/inferencePool/properties/enabled",
        rule="must be true or false",
    ),
)

FIELDS_BY_KEY = {f.key: f for f in ANSWER_FIELDS}


# --- the answers JSON Schema -------------------------------------------------------------


def _values_subschema(path: str) -> dict[str, Any]:
    """The values-schema fragment at ``properties/<path>``, with local refs inlined."""
    node: Any = values_schema()["properties"]
    for part in path.split("/"):
        node = node[part]
    return _inline_refs(copy.deepcopy(node))


def _inline_refs(node: Any) -> Any:
    """Replace ``#/$defs/...`` references to the values schema by their targets."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(values_schema()["$defs"][ref.removeprefix("#/$defs/")])
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return _inline_refs({**target, **extra})
        return {k: _inline_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v) for v in node]
    return node


# Answers that become Kubernetes names or environment-variable names, written unquoted.
_NAME_SCHEMA_PATHS = {
    **{key: () for key in PLAIN_NAME_ANSWERS},
    "environment_variables": ("items", "properties", "name"),
    "extra_secrets": ("items", "properties", "name"),
}
_NOT_YAML_NON_STRING = {"pattern": NON_STRING_NAME_PATTERN}


def _field_schema(answer: AnswerField) -> dict[str, Any]:
    base = _values_subschema(answer.values_path) if answer.values_path else {}
    own = _inline_refs(copy.deepcopy(dict(answer.schema)))
    merged = {**base, **own}
    if answer.key in _NAME_SCHEMA_PATHS:
        # Names such as "y", "on", "1e3" or "null" fit the name patterns, but Helm and kubectl
        # read them unquoted as booleans, numbers or null, and the manifest breaks.
        name_schema = merged
        for step in _NAME_SCHEMA_PATHS[answer.key]:
            name_schema = name_schema[step]
        name_schema["not"] = dict(_NOT_YAML_NON_STRING)
    merged["title"] = answer.title
    merged["description"] = answer.help
    merged["default"] = copy.deepcopy(answer.default)
    return merged


@cache
def _answers_schema_cached() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://platform.internal/schemas/ml-inference-load/answers.schema.json",
        "title": "ML inference service answers",
        "type": "object",
        "additionalProperties": False,
        "required": [f.key for f in ANSWER_FIELDS if f.required],
        "properties": {f.key: _field_schema(f) for f in ANSWER_FIELDS},
    }


def answers_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a complete answers document."""
    return copy.deepcopy(_answers_schema_cached())


def answer_fields() -> tuple[AnswerField, ...]:
    """The answers in form order, with their page and ``ui:`` hints."""
    return ANSWER_FIELDS


def default_answers() -> Answers:
    """Every answer at its default (model_id and model_revision stay empty: no defaults)."""
    return {f.key: copy.deepcopy(f.default) for f in ANSWER_FIELDS}


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with JSON Schema's (ECMA 262) meaning of ``$``: end of the text.

    Python's ``$`` also matches just before a final newline, so ``^[a-z]+$`` would accept
    ``"name\\n"``, which Backstage (ECMA) and Helm (Go) refuse: a trailing newline would
    slip into names, paths and YAML. Unescaped ``$`` outside a character class becomes ``\\Z``.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterable[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = _answers_schema_cached()
    checker = jsonschema.validators.extend(
        jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
    )
    return checker(schema, format_checker=None)


# --- reading answers ---------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys and aliases.

    PyYAML keeps the last of two equal keys silently, and aliases let a small file expand to
    a huge document; an answers file needs neither.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise UserError("--answers", f"YAML aliases are not allowed (line {line})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool | None):
                raise UserError("--answers", f"a key must be a name, not a "
                                f"{type(key).__name__} (line {key_node.start_mark.line + 1})")
            if key in seen:
                raise UserError(str(key), f"is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise UserError(key, "is given twice")
        seen[key] = value
    return seen


def _load_json(text: str, path: Path) -> Any:
    """A ``.json`` answers file (what the Backstage action writes) is read as JSON: a YAML
    parser takes the raw U+2028 that JSON.stringify leaves in strings for a line break and
    drops the spaces around it."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise UserError("--answers", f"{path} is not valid JSON at line {exc.lineno}: "
                                     f"{exc.msg}") from None


def load_answers_file(path: Path) -> Answers:
    """Read a YAML (or JSON) answers file with the safe loader; aliases are refused.

    The size is bounded before parsing and a nesting too deep for the parser is refused, so
    a hostile file costs a second, not minutes or a traceback."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ANSWERS_FILE_BYTES + 1)
    except OSError as exc:
        raise UserError("--answers", f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_ANSWERS_FILE_BYTES:
        raise UserError("--answers", f"{path} is larger than {MAX_ANSWERS_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError("--answers", f"{path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = _load_json(text, path) if path.suffix == ".json" else yaml.load(
            text, Loader=_StrictLoader)
    except RecursionError:
        raise UserError("--answers", f"{path} is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError("--answers", f"{path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("--answers", f"{path} must hold a mapping of answer names to values")
    return data


def parse_set_overrides(pairs: Iterable[str]) -> Answers:
    """``KEY=VALUE`` strings from ``--set``; list answers take comma-separated values."""
    result: Answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError("--set", f"expected KEY=VALUE, got {pair!r}")
        if key not in FIELDS_BY_KEY:
            raise UserError(key, f"is not an answer (known: {', '.join(FIELDS_BY_KEY)})")
        result[key] = value
    return result


# --- normalising ---------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def _as_bool(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return value


def _as_int(key: str, value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        return int(value)
    return value


def _as_list(key: str, value: Any) -> Any:
    """Comma-separated strings (``--set``, cookiecutter prompts) become lists."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _as_env_list(key: str, value: Any) -> Any:
    """Name/value pairs given as a mapping or ``A=1,B=2`` become a list of {name, value}."""
    if isinstance(value, str):
        items = [item for item in value.split(",") if item.strip()]
        pairs = [item.partition("=") for item in items]
        if any(not sep for _, sep, _ in pairs):
            raise UserError(key, "must be NAME=VALUE pairs separated by commas")
        return [{"name": n.strip(), "value": v} for n, _, v in pairs]
    if isinstance(value, dict):
        # Numbers become their text; a nested list or mapping is left for the schema to refuse.
        return [{"name": str(k), "value": str(v) if isinstance(v, int | float) else v}
                for k, v in value.items()]
    return value


def _as_secret_list(key: str, value: Any) -> Any:
    """Secrets given as ``{NAME: vaultPath}`` or ``NAME=path`` become {name, vaultPath}."""
    if isinstance(value, str):
        value = dict(item.partition("=")[::2] for item in value.split(",") if item.strip())
    if isinstance(value, dict):
        return [{"name": str(k).strip(), "vaultPath": str(v).strip()} for k, v in value.items()]
    return value


_NORMALISERS = {
    "environments": _as_list,
    "gpu_count": _as_int,
    "max_input_tokens": _as_int,
    "max_total_tokens": _as_int,
    "image_pull_secret": _as_bool,
    "basic_monitoring": _as_bool,
    "routing": _as_bool,
    "envoy_ai_gateway": _as_bool,
    "inference_pool": _as_bool,
    "rate_limit_per_minute": _as_int,
    "autoscaling_max_replicas": _as_int,
    "environment_variables": _as_env_list,
    "extra_secrets": _as_secret_list,
}


def _normalise(raw: Mapping[str, Any]) -> Answers:
    answers = default_answers()
    for key, value in raw.items():
        normaliser = _NORMALISERS.get(key)
        answers[key] = normaliser(key, value) if normaliser else value
    for key in ("cpu_request", "memory_request", "memory_limit", "engine_image_tag",
                "model_cache_size"):
        if isinstance(answers[key], int | float) and not isinstance(answers[key], bool):
            answers[key] = str(answers[key])
    if isinstance(answers.get("environments"), list):
        chosen = set(answers["environments"])
        if chosen <= set(ENVIRONMENT_ORDER) and len(chosen) == len(answers["environments"]):
            answers["environments"] = [e for e in ENVIRONMENT_ORDER if e in chosen]
    for secret in answers.get("extra_secrets") or []:
        if isinstance(secret, dict) and not secret.get("secretKey") and isinstance(
            secret.get("name"), str
        ):
            secret["secretKey"] = secret["name"].lower().replace("_", "-")
    return answers


# --- checking ------------------------------------------------------------------------------


def _walk_strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk_strings(str(k), path)
            yield from _walk_strings(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk_strings(v, f"{path}[{i}]")


def reject_template_source(raw: Mapping[str, Any]) -> None:
    """Refuse any answer that carries template syntax.

    Cookiecutter renders answer strings as Jinja, and a values file may reach Helm's ``tpl``:
    an answer such as ``{{ cycler.__init__.__globals__.os.system(...) }}`` would run code.
    Answers are data, so template delimiters are refused outright, before any rendering.
    """
    for key, value in raw.items():
        for path, text in _walk_strings(value, str(key)):
            for delimiter in TEMPLATE_DELIMITERS:
                if delimiter in text:
                    raise UserError(
                        path,
                        f"must not contain the template delimiter {delimiter!r}: "
                        "answers are data, never template source",
                    )
            if len(text) > MAX_ANSWER_LENGTH:
                raise UserError(path, f"is longer than {MAX_ANSWER_LENGTH} characters")
            if "\x00" in text:
                raise UserError(path, "must not contain NUL characters")
            uncarried = _UNCARRIED_CHARACTER.search(text)
            if uncarried:
                raise UserError(path, f"must not contain the character "
                                      f"U+{ord(uncarried.group()):04X}: YAML and kustomize on "
                                      "the way to the cluster drop or refuse it")


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_error_to_user_error(error: jsonschema.ValidationError) -> UserError:
    path = list(error.absolute_path)
    key = str(path[0]) if path else ""
    if error.validator == "required" and not path:
        missing = re.search(r"'([^']+)' is a required property", error.message)
        key = missing.group(1) if missing else key
        answer = FIELDS_BY_KEY.get(key)
        return UserError(key, "is required" + (" (no default)" if answer and answer.default in
                                                ("", None) else ""))
    if error.validator == "additionalProperties" and not path:
        unknown = re.findall(r"'([^']+)'", error.message)
        name = unknown[0] if unknown else "?"
        return UserError(name, f"is not an answer (known: {', '.join(FIELDS_BY_KEY)})")
    answer = FIELDS_BY_KEY.get(key)
    where = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    if error.validator == "not" and error.validator_value == _NOT_YAML_NON_STRING:
        return UserError(where, f"{error.instance!r} reads as a boolean, number or null in "
                                "YAML, so Kubernetes tools would not see a name; choose another")
    if answer is not None and len(path) == 1 and answer.rule:
        return UserError(where, f"{answer.rule} (got {_describe_value(error.instance)})")
    return UserError(where, f"{_plain_rule(error)} (got {_describe_value(error.instance)})")


def _plain_rule(error: jsonschema.ValidationError) -> str:
    """A short rule text for nested errors, where the field's own rule text is too broad."""
    v, expected = error.validator, error.validator_value
    texts = {
        "pattern": f"must match {expected}",
        "maxLength": f"must be at most {expected} characters",
        "minLength": "must not be empty" if expected == 1 else f"needs {expected}+ characters",
        "enum": "must be one of " + ", ".join(map(str, expected or [])),
        "type": f"must be of type {expected}",
        "required": error.message.replace("'", ""),
        "additionalProperties": error.message.replace("'", ""),
        "maxItems": f"must have at most {expected} entries",
    }
    return texts.get(v, error.message)


def _check_cross_field_rules(answers: Answers) -> None:
    if answers["max_input_tokens"] >= answers["max_total_tokens"]:
        raise UserError(
            "max_input_tokens",
            f"must be lower than max_total_tokens ({answers['max_input_tokens']} >= "
            f"{answers['max_total_tokens']}): generation needs room for output tokens",
        )
    seen: dict[str, str] = {}
    if answers["hf_token_vault_path"]:
        from inference_scaffolder.chart import engine_defaults

        defaults = engine_defaults(answers["engine"])
        for name in [defaults["hfTokenEnv"], *defaults.get("hfTokenAliases", [])]:
            seen[name] = "hf_token_vault_path"
    entries = [("environment_variables", e) for e in answers["environment_variables"]]
    entries += [("extra_secrets", s) for s in answers["extra_secrets"]]
    for index, (key, entry) in enumerate(entries):
        name = entry["name"]
        position = index if key == "environment_variables" else index - len(
            answers["environment_variables"])
        if name in RESERVED_ENV_NAMES:
            raise UserError(
                f"{key}[{position}].name",
                f"{name} is set by the chart from the model and gpu answers; "
                "change those answers instead",
            )
        if key == "environment_variables" and name in CREDENTIAL_ENV_NAMES:
            raise UserError(f"{key}[{position}].name",
                            f"{name} holds a credential: give its Vault path in extra_secrets, "
                            "never a plain value")
        if name in seen:
            raise UserError(f"{key}[{position}].name",
                            f"{name} is defined twice (also in {seen[name]})")
        if key == "environment_variables" and name == "QUANTIZE" and answers["quantization"]:
            raise UserError(f"{key}[{position}].name",
                            "QUANTIZE is set from the quantization answer; give only one")
        seen[name] = key
    secret_keys: set[str] = {"hf-token"} if answers["hf_token_vault_path"] else set()
    for index, secret in enumerate(answers["extra_secrets"]):
        if secret["secretKey"] in secret_keys:
            raise UserError(f"extra_secrets[{index}].secretKey",
                            f"{secret['secretKey']} is used twice")
        secret_keys.add(secret["secretKey"])
    if answers["image_pull_secret"] and not answers["image_pull_secret_vault_path"]:
        raise UserError("image_pull_secret_vault_path",
                        "is required when image_pull_secret is true")
    if answers["ingress_host"] and len(answers["ingress_host"]) + len("uat.") > 253:
        raise UserError("ingress_host", "is too long to prefix with an environment name")
    _check_routing_rules(answers)


def _check_routing_rules(answers: Answers) -> None:
    """Routing options that depend on each other or on the engine (the chart refuses the same)."""
    if answers["inference_pool"] and answers["engine"] == "tgi":
        raise UserError(
            "inference_pool",
            "needs engine vllm: the InferencePool's endpoint picker schedules on the model "
            "server's queue and KV-cache metrics, which TGI does not export",
        )
    for key in ("envoy_ai_gateway", "inference_pool"):
        if answers[key] and not answers["routing"]:
            raise UserError(key, "needs routing: true (it registers the model for routing)")
    if answers["rate_limit_per_minute"] and not answers["envoy_ai_gateway"]:
        raise UserError("rate_limit_per_minute",
                        "needs envoy_ai_gateway: true (the limit applies to the gateway route)")


def validate_answers(raw: Mapping[str, Any]) -> Answers:
    """Check every answer and return them complete and normalised.

    Raises :class:`UserError` naming the first offending field and its rule.
    """
    if not isinstance(raw, Mapping):
        raise UserError("answers", "must be a mapping of answer names to values")
    for key in raw:
        if key not in FIELDS_BY_KEY:
            raise UserError(str(key), f"is not an answer (known: {', '.join(FIELDS_BY_KEY)})")
    reject_template_source(raw)
    answers = _normalise(raw)
    for answer in ANSWER_FIELDS:
        if answer.required and answer.default in ("", None) and answers.get(answer.key) in (
            "", None
        ):
            raise UserError(answer.key, "is required (no default)")
    errors = sorted(_validator().iter_errors(answers), key=_error_order)
    if errors:
        raise _schema_error_to_user_error(errors[0])
    _check_cross_field_rules(answers)
    return answers


def _error_order(error: jsonschema.ValidationError) -> tuple[int, str]:
    """Report errors in form order, so the first field a user sees is the first reported."""
    path = list(error.absolute_path)
    keys = list(FIELDS_BY_KEY)
    key = str(path[0]) if path else ""
    return (keys.index(key) if key in keys else -1, str(error.message))


def collect_answers(
    answers_file: Path | None, overrides: Iterable[str] = ()
) -> Answers:
    """Defaults, then the answers file, then ``--set`` overrides; validated."""
    raw: Answers = {}
    if answers_file is not None:
        raw.update(load_answers_file(answers_file))
    raw.update(parse_set_overrides(overrides))
    return validate_answers(raw)


def environment_host(answers: Answers, environment: str) -> str:
    """Public hostname per environment: prod gets the answer, others ``<env>.<host>``."""
    host = answers["ingress_host"]
    if not host:
        return ""
    return host if environment == "prod" else f"{environment}.{host}"


def owner_name(answers: Answers) -> str:
    """The entity name part of the owner reference (``group:default/ml`` -> ``ml``)."""
    return answers["owner"].split(":")[-1].split("/")[-1]


def repo_slug(answers: Answers) -> str:
    """GitHub owner/name of the service repository."""
    return answers["repo_slug"] or f"{owner_name(answers)}/{answers['service_name']}"


def served_model_name(answers: Answers) -> str:
    """The model name clients send (defaults to the model id)."""
    return answers["served_model_name"] or answers["model_id"]
