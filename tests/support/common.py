"""Constants shared by the tests (importable as ``common`` from any test module)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "examples"
MINIMAL_ANSWERS = {
    "service_name": "llm-test",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "model_revision": "main",
}
