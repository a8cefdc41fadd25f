"""Answers of the services the routing tests generate, written once: the pinned models they
serve and the routing they opt into; each test adds what it is about."""

from __future__ import annotations

from typing import Any

LLAMA_8B_VLLM: dict[str, Any] = {
    "engine": "vllm",
    "model_id": "meta-llama/Llama-3.1-8B-Instruct",
    "model_revision": "0e9e39f249a16976918f6564b8830bc894c89659",
    "served_model_name": "llama-3.1-8b",
}
TINYLLAMA_TGI: dict[str, Any] = {
    "engine": "tgi",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "model_revision": "fe8a4ea1ffedaf415f4da2f062534de366a451e6",
}


def routed_llama(service_name: str, **more: Any) -> dict[str, Any]:
    """Llama 3.1 8B on vLLM in ``llm-serving``, dev and prod, routed through the Envoy AI
    Gateway behind an InferencePool; ``more`` adds or replaces answers."""
    return {"service_name": service_name, "namespace": "llm-serving", **LLAMA_8B_VLLM,
            "environments": ["dev", "prod"], "routing": True, "envoy_ai_gateway": True,
            "inference_pool": True, **more}


def routed_tinyllama(service_name: str, **more: Any) -> dict[str, Any]:
    """TinyLlama on TGI, dev and prod, routed (LiteLLM only); ``more`` adds or replaces
    answers."""
    return {"service_name": service_name, **TINYLLAMA_TGI, "environments": ["dev", "prod"],
            "routing": True, **more}
