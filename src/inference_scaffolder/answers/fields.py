"""Every answer, declared once: its title, page, help, default and where its rules come from.

Where an answer becomes a chart value its rules are not written here: ``values_path`` points
into the chart's values JSON Schema (see :mod:`inference_scaffolder.answers.schema`).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENVIRONMENT_ORDER = ("dev", "syst", "uat", "prod")
ENGINES = ("vllm", "tgi")
# The values schema's gpu.type enum (tests keep them equal): the capacity table's names.
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
# The longest names derived from service_name: the helm test pod's label value
# `<name>-test-endpoint` and the Service Istio makes for the Gateway, `<name>-gateway-istio`,
# both 14 characters longer and bound to 63 (label value, DNS label).
LONGEST_NAME_SUFFIX = len("-gateway-istio")
MAX_SERVICE_NAME_LENGTH = 63 - LONGEST_NAME_SUFFIX
# The platform's inference-gateway release for a model's pool: `epp-<service>` unless named.
# Its chart names the picker `<release>-inference-gateway-epp`, a Service name (63 at most).
DEFAULT_GATEWAY_RELEASE_PREFIX = "epp-"
MAX_GATEWAY_RELEASE_LENGTH = 63 - len("-inference-gateway-epp")
# Answers the chart writes unquoted as Kubernetes names (as charts do), with the env names.
PLAIN_NAME_ANSWERS = ("service_name", "service_catalog", "namespace", "secret_store")
# Far above any valid answers file (128 variables of 4096 characters, JSON-escaped), far
# below what would keep the YAML parser busy for minutes or exhaust memory (/dev/zero).
MAX_ANSWERS_FILE_BYTES = 8 * 1024 * 1024
# Characters the deployment path cannot carry: kustomize (Argo CD's renderer) refuses DEL, the
# C1 controls and U+FFFE/U+FFFF, and turns U+0085 into a space; a lone surrogate cannot even
# be written as UTF-8.
UNCARRIED_CHARACTER = re.compile("[\x7f-\x9f\ufffe\uffff\ud800-\udfff]")

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
    # List answers of objects: each member's rule in words (CLI errors and form messages).
    item_rules: Mapping[str, str] = field(default_factory=dict)
    # A rule between two answers, which a JSON Schema cannot state: this answer must be lower
    # than the answer named here, for the reason given.
    lower_than: str = ""
    lower_than_reason: str = ""
    # False for the platform's settings (where charts and the scaffolder come from): they are
    # the platform team's configuration, recorded with the answers, not asked in the form.
    in_form: bool = True

    @property
    def lower_than_rule(self) -> str:
        """The refusal with ``{value}`` and ``{limit}`` left to fill in (CLI and form alike)."""
        return (f"must be lower than {self.lower_than} ({{value}} >= {{limit}}): "
                f"{self.lower_than_reason}")


def _environment_list(min_items: int) -> dict[str, Any]:
    """A list of environments, each once (a checkbox group in the form)."""
    return {"type": "array", **({"minItems": min_items} if min_items else {}),
            "maxItems": len(ENVIRONMENT_ORDER), "uniqueItems": True,
            "items": {"enum": list(ENVIRONMENT_ORDER)}}


_DNS_LABEL_RULE = (
    "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a "
    "letter or digit"
)
_ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_NAME_RULE = (
    "must be letters, digits and '_', not starting with a digit, at most 128 characters"
)
# Why a name Helm and kubectl would read unquoted as another type is refused (answers.schema).
YAML_NON_STRING_RULE = (
    "reads as a boolean, number or null in YAML, so Kubernetes tools would not see a name; "
    "choose another"
)

# Where the platform's configuration reaches the CLI (the Backstage action sets them from
# app-config; a CLI option of the same name wins over them).
CHART_REPOSITORY_VARIABLE = "INFERENCE_SCAFFOLDER_CHART_REPOSITORY"
SCAFFOLDER_SOURCE_VARIABLE = "INFERENCE_SCAFFOLDER_SOURCE"
# With no repository configured: a reserved name (RFC 2606) that never resolves, so nothing
# can be fetched from a host someone else registers; `new` warns and says what to set.
UNCONFIGURED_CHART_REPOSITORY = "https://charts.platform.invalid/platform-schemas-types"
PLATFORM_ANSWERS = ("chart_repository", "chart_version", "scaffolder_source")
# Room over the estimated weights for a cache sized from the model: tokenizer and config
# files, the lock and partial files of a download, and a second revision during promotion.
CACHE_HEADROOM_PERCENT = 25

ANSWER_FIELDS: tuple[AnswerField, ...] = (
    # --- Service -------------------------------------------------------------------------
    AnswerField(
        "service_name", "Service name", "Service",
        "Name of the service, its repository and every Kubernetes object it creates.",
        default="", required=True, values_path="serviceName",
        rule="must be a DNS-1035 label (it names a Service): lowercase letters, digits and '-', "
             "starting with a letter and ending with a letter or digit, at most "
             f"{MAX_SERVICE_NAME_LENGTH} characters (derived names such as <name>-gateway-istio "
             "must fit in 63)",
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
                # "." and ".." are path steps, not repository names (org/.. is org's parent).
                "pattern": "^$|^[A-Za-z0-9]([-A-Za-z0-9]{0,38})/"
                           "(?!\\.\\.?$)[A-Za-z0-9._-]{1,100}$"},
        rule="must be empty or a GitHub owner/name slug (the name not . or ..)",
    ),
    AnswerField(
        "environments", "Environments", "Service",
        "Environments to deploy to, in promotion order (dev, syst, uat, prod).",
        default=list(ENVIRONMENT_ORDER), required=True,
        schema=_environment_list(min_items=1),
        rule="must be at least one environment of dev, syst, uat, prod, each once",
        ui={"ui:widget": "checkboxes"},
    ),
    # --- Platform (configured by the platform team, recorded, not asked) -------------------
    AnswerField(
        "chart_repository", "Platform Helm repository", "Platform",
        "Helm repository the platform publishes its base charts to (https://, http:// or "
        "oci://); empty means the platform's configured default: --chart-repository, "
        f"${CHART_REPOSITORY_VARIABLE}, or Backstage's inferenceScaffolder.chartRepository.",
        default="",
        schema={"type": "string", "maxLength": 512,
                "pattern": "^$|^(https?|oci)://"
                           "[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                           "(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\\.?"
                           "(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}"
                           "|655[0-2][0-9]|6553[0-5]))?(/[-A-Za-z0-9._~/]*)?$"},
        rule="must be empty or an https://, http:// or oci:// URL of a Helm repository "
             "(host and path only: no credentials, query or spaces)",
        in_form=False,
    ),
    AnswerField(
        "chart_version", "Base chart version", "Platform",
        "Version of the ml-inference-load base chart every environment pins at first; empty "
        "means the version this scaffolder carries (rendered offline). Another version is "
        "fetched from chart_repository.",
        default="",
        schema={"type": "string", "maxLength": 64,
                "pattern": "^$|^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
                           "(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
                           "(\\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?$"},
        rule="must be empty or an exact semantic version such as 0.1.0 (no ranges, no '+build')",
        in_form=False,
    ),
    AnswerField(
        "scaffolder_source", "Scaffolder source for CI", "Platform",
        "The pip requirement the repository's CI installs inference-scaffolder from (a "
        "git+https URL at a tag, a wheel URL, or name==version on the platform's index); "
        "empty means the platform's configured default: --scaffolder-source, "
        f"${SCAFFOLDER_SOURCE_VARIABLE}, or Backstage's inferenceScaffolder.scaffolderSource.",
        default="",
        schema={"type": "string", "maxLength": 512, "pattern": "^$|^[^-\\s][^\\s]*$"},
        rule="must be empty or one pip requirement without spaces, not starting with '-'",
        in_form=False,
    ),
    # --- Model ---------------------------------------------------------------------------
    AnswerField(
        "engine", "Inference engine", "Model",
        "vllm (the default) or tgi (Text Generation Inference). TGI is in maintenance mode "
        "upstream (since December 2025; its repository was archived in March 2026): it stays "
        "supported for the services that run it, new services should use vLLM.",
        default="vllm", required=True, values_path="engine",
        rule="must be one of vllm, tgi",
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
        lower_than="max_total_tokens",
        lower_than_reason="generation needs room for output tokens",
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
        item_rules={"name": _ENV_NAME_RULE, "value": "must be at most 4096 characters"},
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
        "GPU model the pods must run on: they get a required node affinity on the GPU product "
        "label (nvidia.com/gpu.product from GPU Feature Discovery), so a mixed pool never "
        "places them on a smaller GPU; with model_config, a capacity check runs. Empty: any "
        "GPU node.",
        default="", values_path="gpu/properties/type",
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
        "CPU cores requested for tokenisation and the HTTP server (at least 500m).",
        default="4",
        values_path="container/properties/resources/properties/requests/properties/cpu",
        rule="must be a Kubernetes CPU quantity such as 4 or 500m",
    ),
    AnswerField(
        "memory_request", "Memory request", "GPU",
        "Host memory requested (the model is staged in host memory while loading); empty "
        "means the memory limit, so the pod is never the first evicted under memory pressure. "
        "At least 1Gi, at most the limit.",
        default="",
        values_path="container/properties/resources/properties/requests/properties/memory",
        schema={"pattern": "^$|^[0-9]{1,15}(\\.[0-9]{1,6})?(k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?$"},
        rule="must be empty or a Kubernetes memory quantity such as 32Gi",
    ),
    AnswerField(
        "memory_limit", "Memory limit", "GPU",
        "Host memory limit (at least 1Gi).",
        default="64Gi",
        values_path="container/properties/resources/properties/limits/properties/memory",
        rule="must be a Kubernetes memory quantity such as 64Gi",
    ),
    AnswerField(
        "model_cache_size", "Model cache size", "GPU",
        "Size of the Hugging Face cache: the emptyDir's limit and the pod's ephemeral-storage "
        "request, or the PersistentVolumeClaim's size. Empty: the estimated weights plus "
        f"{CACHE_HEADROOM_PERCENT}% when model_config is given, else 100Gi. A size below the "
        "estimated weights is refused.",
        default="", values_path="modelCache/properties/size",
        # At most 15 digits: a longer number is no size, and YAML tools read it as a float.
        schema={"pattern": "^$|^[0-9]{1,15}(\\.[0-9]{1,6})?(k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?$"},
        rule="must be empty or a Kubernetes storage quantity such as 200Gi",
    ),
    AnswerField(
        "model_cache_storage_class", "Model cache StorageClass", "GPU",
        "StorageClass of a persistent model cache (a PersistentVolumeClaim in every "
        "environment), so a restart or a rollback does not download the model again. It must "
        "offer the access mode below: ReadWriteMany on EKS means an EFS class, not the default "
        "EBS one. Empty: an emptyDir per pod (each new pod downloads the model).",
        default="", values_path="modelCache/properties/storageClassName",
        rule="must be empty or a StorageClass name (DNS-1123 subdomain)",
    ),
    AnswerField(
        "model_cache_access_mode", "Model cache access mode", "GPU",
        "ReadWriteMany lets every pod of a rollout or of autoscaling share the cache. "
        "ReadWriteOnce attaches it to one node: only for services where every environment "
        "allows downtime and nothing autoscales (one pod at a time).",
        default="ReadWriteMany", values_path="modelCache/properties/accessMode",
        rule="must be one of ReadWriteMany, ReadWriteOnce",
    ),
    AnswerField(
        "autoscaling_max_replicas", "Autoscaling: max replicas", "GPU",
        "Scale with KEDA on the engine's queue of waiting requests up to this many replicas; "
        "0 means a fixed number of replicas. Needs prometheus_query_url.",
        default=0, values_path="autoscaling/properties/maxReplicas",
        schema={"minimum": 0, "not": {"const": 1}},
        rule="must be 0 (no autoscaling) or an integer from 2 to 16",
    ),
    AnswerField(
        "prometheus_query_url", "Prometheus query endpoint", "GPU",
        "URL KEDA queries for the engine's queue (Thanos Query, Mimir, Amazon Managed "
        "Prometheus through a SigV4 proxy): the store the platform's Prometheus agent writes "
        "to. An agent-mode Prometheus cannot be queried. Required with autoscaling.",
        default="", values_path="autoscaling/properties/prometheus/properties/serverAddress",
        rule="must be empty or an http(s):// URL (host, port and path only)",
    ),
    # --- Availability ----------------------------------------------------------------------
    AnswerField(
        "allow_downtime", "Environments that allow downtime", "Availability",
        "Environments where a rollout may leave no ready pod while the new one loads the "
        "model (one replica replaced in place: no spare GPU needed). Every other environment "
        "keeps a ready pod through rollouts and rollbacks (see rollout_surge).",
        default=["dev"],
        schema=_environment_list(min_items=0),
        rule="must be a list of environments of dev, syst, uat, prod, each once",
        ui={"ui:widget": "checkboxes"},
    ),
    AnswerField(
        "rollout_surge", "Roll out with a spare GPU", "Availability",
        "In environments that allow no downtime: true starts the new pod beside the old one "
        "(maxSurge 1, maxUnavailable 0: the pool needs a spare GPU slot for each rollout); "
        "false runs two replicas all the time and replaces one at a time.",
        default=True, schema={"type": "boolean"},
        rule="must be true or false",
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
        item_rules={
            "name": _ENV_NAME_RULE,
            "secretKey": "must be letters, digits, '-', '_' or '.', at most 253 characters",
            "vaultPath": "must be a Vault path such as /secret/shared/huggingface/token, "
                         "at most 512 characters",
        },
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
        "Ask the platform's LiteLLM front door to route the served model name to this service "
        "in every environment (`inference-scaffolder register` proposes the entry to the "
        "platform's routing repository; switch it per environment in "
        "environments/<env>/values.yaml).",
        default=False, values_path="routing/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "envoy_ai_gateway", "Envoy AI Gateway backend", "Routing",
        "Also ask to be the primary backend of the served name on the platform's Envoy AI "
        "Gateway (its models chart), with the failover backends below.",
        default=False, values_path="routing/properties/envoyAIGateway/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "failover_backends", "Failover backends", "Routing",
        "Backends the platform's models chart already defines (backends.<name>) that take the "
        "served name when this service fails, in priority order. The models chart wants at "
        "least two enabled backends per model: this service and one named here or already in "
        "the platform's entry for the name (register refuses otherwise).",
        default=[],
        values_path="routing/properties/envoyAIGateway/properties/failoverBackends",
        rule="must be a list of at most 8 backend names of the platform's models chart "
             "(DNS-1123 labels), each once",
    ),
    AnswerField(
        "rate_limit_per_minute", "Rate limit (requests/minute)", "Routing",
        "Rate limit for this model on the platform's Envoy AI Gateway route; 0 means none.",
        default=0,
        values_path="routing/properties/rateLimit/properties/requestsPerMinute",
        schema={"minimum": 0},
        rule="must be 0 (no limit) or an integer from 1 to 1000000",
    ),
    AnswerField(
        "inference_pool", "InferencePool (endpoint picker)", "Routing",
        "Render an InferencePool so the endpoint picker of the platform's inference-gateway "
        "release chooses pods by load; LiteLLM then routes through that release's internal "
        "gateway (vLLM only).",
        default=False, values_path="routing/properties/inferencePool/properties/enabled",
        rule="must be true or false",
    ),
    AnswerField(
        "inference_gateway_release", "Inference gateway release", "Routing",
        "Release of the platform's inference-gateway chart for this model's pool, in the "
        "service's namespace: its endpoint picker is <release>-inference-gateway-epp (port "
        "9002) and its internal Gateway <release>-inference-gateway. Empty: epp-<service "
        "name>, the platform's name for a model's release. Used with inference_pool.",
        default="",
        values_path="routing/properties/inferencePool/properties/gatewayRelease",
        rule="must be empty or a release name: lowercase letters, digits and '-', starting "
             "with a letter, at most 41 characters (the picker's name must fit in 63)",
    ),
)

FIELDS_BY_KEY = {f.key: f for f in ANSWER_FIELDS}


def unknown_answer_rule(key: str) -> str:
    """Why ``key`` is refused, with the closest answer name when one is near (a typo such as
    ``gpu_cont`` would otherwise leave ``gpu_count`` silently at its default)."""
    close = difflib.get_close_matches(key, FIELDS_BY_KEY, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"is not an answer ({hint}known: {', '.join(FIELDS_BY_KEY)})"


def answer_fields() -> tuple[AnswerField, ...]:
    """The answers in form order, with their page and ``ui:`` hints."""
    return ANSWER_FIELDS


def default_answers() -> Answers:
    """Every answer at its default (model_id and model_revision stay empty: no defaults)."""
    return {f.key: copy.deepcopy(f.default) for f in ANSWER_FIELDS}


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
