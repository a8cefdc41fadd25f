"""What a service registers, and the names its router entries take.

The facts come from the service repository (``service`` reads them from an environment's
values); a repository is anyone's edit, so every fact is checked again here before it is
written into the platform's files. Everything else (entry names, the LiteLLM provider, the
backend's address) is derived from the facts, in one place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inference_scaffolder.checks.apiserver import (
    DNS1123_LABEL_MAX,
    dns1123_label_errors,
    dns1123_subdomain_errors,
)
from inference_scaffolder.errors import UserError, inert

# LiteLLM's providers for an engine's OpenAI-compatible API (the chart names one per engine,
# engineDefaults.<engine>.litellmProvider). vLLM has its own, ``hosted_vllm``. TGI's Messages
# API is OpenAI-compatible, so LiteLLM's ``openai`` provider with an ``api_base`` reaches it;
# LiteLLM's ``huggingface`` provider speaks Hugging Face's hosted Inference API instead.
LITELLM_PROVIDERS = {"vllm": ("hosted_vllm", "openai"), "tgi": ("openai",)}
ENGINES = tuple(LITELLM_PROVIDERS)
ENV_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BACKEND_REF = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
MAX_SERVED_NAME = 256
MAX_NAME = DNS1123_LABEL_MAX  # a resource name: a DNS label


@dataclass(frozen=True)
class ServiceFacts:
    """One service in one environment, as its router entries need it."""

    service_name: str
    namespace: str
    served_model_name: str
    engine: str  # vllm | tgi
    litellm_provider: str  # hosted_vllm | openai
    base_url: str  # the OpenAI API root LiteLLM and the gateway send to (…/v1)
    api_key_env: str | None  # LiteLLM's variable holding the engine key (None: no key)
    envoy_ai_gateway: bool
    failover_backends: tuple[str, ...] = ()
    rate_limit_per_minute: int | None = None
    api_key_vault_path: str = ""  # where the engine key lives (a path, never the key)
    routing_enabled: bool = True  # the environment asks for a registration (routing.enabled)
    public_serving: bool = True  # serving.enabled: false is the disabled state

    @property
    def owner(self) -> str:
        """Who an entry belongs to, as written into LiteLLM entries: ``namespace/service``."""
        return f"{self.namespace}/{self.service_name}"

    @property
    def backend_key(self) -> str:
        """The service's name in the models values' ``backends`` (and in its own models
        entry's ``backends``, which is how that entry is known to be this service's)."""
        return f"{self.namespace}-{self.service_name}"

    @property
    def model_key(self) -> str:
        """The key of ``models.<key>``: the served name when it is a resource name (the
        chart names objects after it), else a stable slug of it; ``modelMatch`` always
        carries the exact served name."""
        return model_key_of(self.served_model_name)

    @property
    def litellm_model(self) -> str:
        return f"{self.litellm_provider}/{self.served_model_name}"

    @property
    def address(self) -> tuple[str, int, str]:
        """Host, port and path of :attr:`base_url`."""
        parts = urlsplit(self.base_url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default, parts.path.rstrip("/")

    @property
    def engine_key_secret(self) -> str:
        """The Secret the models release reads the engine key from (``apiKeySecretRef``):
        the variable's name as a resource name; the platform fills it from Vault."""
        return (self.api_key_env or "").lower().replace("_", "-").strip("-")


def model_key_of(served: str) -> str:
    if not dns1123_label_errors(served):
        return served
    slug = re.sub(r"[^a-z0-9]+", "-", served.lower()).strip("-")[: MAX_NAME - 9].strip("-")
    digest = hashlib.sha256(served.encode()).hexdigest()[:8]
    return f"{slug or 'model'}-{digest}"


def _name(value: Any, field: str) -> str:
    text = str(value or "")
    if dns1123_label_errors(text):
        raise UserError(field, f"{inert(text, 80)!r} is not a lower-case DNS label")
    return text


def _served_name(value: Any) -> str:
    text = str(value or "")
    if not text or len(text) > MAX_SERVED_NAME or inert(text, MAX_SERVED_NAME) != text \
            or any(c.isspace() for c in text):
        raise UserError("served_model_name", f"{inert(text, 80)!r} is not a model name a "
                        "router can match (printable, no spaces, at most "
                        f"{MAX_SERVED_NAME} characters)")
    return text


def _base_url(value: Any) -> str:
    text = str(value or "")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    # urlsplit drops line breaks and tabs before it parses: they are refused first.
    if not text.isprintable() or " " in text or parts.scheme not in ("http", "https") \
            or dns1123_subdomain_errors(parts.hostname or "") \
            or (parts.port is not None and port is None) or parts.query or parts.fragment \
            or parts.username or parts.password or not parts.path.rstrip("/").endswith("/v1"):
        raise UserError("base_url", f"{inert(text, 120)!r} is not an in-cluster http(s) URL "
                        "ending in /v1")
    return text.rstrip("/")


def _failovers(values: Any) -> tuple[str, ...]:
    refs = tuple(str(v) for v in values or ())
    for ref in refs:
        if not BACKEND_REF.fullmatch(ref) or len(ref) > 253:
            raise UserError("failover_backends", f"{inert(ref, 80)!r} is not a backend name")
    if len(set(refs)) != len(refs):
        raise UserError("failover_backends", "names a backend twice")
    return refs


def _vault_path(value: Any) -> str:
    text = str(value or "")
    if text and (not re.fullmatch(r"/?[A-Za-z0-9_./-]+", text) or len(text) > 512):
        raise UserError("api_key_vault_path", f"{inert(text, 80)!r} is not a Vault path")
    return text


def checked_facts(**fields: Any) -> ServiceFacts:
    """:class:`ServiceFacts` from untrusted values, each checked (one line per problem)."""
    engine = str(fields.get("engine") or "")
    if engine not in ENGINES:
        raise UserError("engine", f"{inert(engine, 40)!r} is not one of {', '.join(ENGINES)}")
    provider = str(fields.get("litellm_provider") or LITELLM_PROVIDERS[engine][0])
    if provider not in LITELLM_PROVIDERS[engine]:
        raise UserError("litellm_provider", f"{inert(provider, 40)!r} is not LiteLLM's "
                        f"provider for {engine} ({', '.join(LITELLM_PROVIDERS[engine])})")
    key_env = fields.get("api_key_env") or None
    if key_env is not None and not ENV_VARIABLE.fullmatch(str(key_env)):
        raise UserError("api_key_env", f"{inert(key_env, 80)!r} is not a variable name")
    limit = fields.get("rate_limit_per_minute")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise UserError("rate_limit_per_minute", "must be a whole number (0: no limit)")
    return ServiceFacts(
        service_name=_name(fields.get("service_name"), "service_name"),
        namespace=_name(fields.get("namespace"), "namespace"),
        served_model_name=_served_name(fields.get("served_model_name")),
        engine=engine,
        litellm_provider=provider,
        base_url=_base_url(fields.get("base_url")),
        api_key_env=str(key_env) if key_env else None,
        envoy_ai_gateway=bool(fields.get("envoy_ai_gateway")),
        failover_backends=_failovers(fields.get("failover_backends")),
        rate_limit_per_minute=limit or None,
        api_key_vault_path=_vault_path(fields.get("api_key_vault_path")),
        routing_enabled=bool(fields.get("routing_enabled", True)),
        public_serving=bool(fields.get("public_serving", True)),
    )


def service_facts(service_dir: Path, environment: str) -> ServiceFacts:
    """The facts of ``environment`` in the service repository ``service_dir``."""
    from inference_scaffolder.service.registration_facts import registration_facts

    # checked_facts takes the facts it knows by name and checks each; the rest (the
    # pool's names, the pinned chart) are the service side's, not the routers'.
    return checked_facts(**asdict(registration_facts(service_dir, environment)))
