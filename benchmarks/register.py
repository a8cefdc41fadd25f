"""Benchmark of ``register``: how long the command takes, and how long until LiteLLM routes it.

    .venv/bin/python benchmarks/register.py [--repeats 3] [--output PATH] [--no-litellm]

Figures (medians of ``--repeats`` runs, each a real process):

- ``register`` (local publisher, a local bare routing repository) when the environment's
  LiteLLM values hold 1 registration (the platform's own entries aside) and when they hold
  200 (and the models values 200 routes): the run that opens the branch, the re-run that
  reports ``unchanged``, and a ``--dry-run``;
- from starting the LiteLLM proxy (the version ``scripts/install-real-serving.sh`` installs)
  on the branch's ``modelList`` to the first request for the registered name answered 200 by
  a stand-in engine, with 1 and with 200 entries. Without a database, LiteLLM reads its
  configuration only when it starts, so this is how long a registration takes to become
  effective once the values are deployed (plus the rollout of LiteLLM's pod).

Writes JSON (``benchmarks/results/register.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "inference-scaffolder")
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "support")]

from fake_engine_server import EngineState, FakeEngineServer  # noqa: E402
from routing_repo import (  # noqa: E402
    LITELLM_VALUES,
    MODELS_VALUES,
    git,
    make_routing_repo,
    show,
)

from inference_scaffolder.answers import collect_answers  # noqa: E402
from inference_scaffolder.generation.generate import generate  # noqa: E402

LITELLM_PATH = "environments/dev/inference-infrastructure.yaml"
MODELS_PATH = "environments/dev/models.yaml"
LITELLM_VENV = Path(os.environ.get("INFERENCE_SCAFFOLDER_LITELLM_VENV",
                                   ROOT / ".tools" / "litellm"))


def median(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timed_command(command: list[str]) -> float:
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))


def service_repo(workdir: Path) -> Path:
    """The vLLM example with routing, the gateway and a failover backend the routing
    repository defines."""
    answers = yaml.safe_load((ROOT / "examples" / "vllm-llama-8b.yaml").read_text())
    answers.update(routing=True, envoy_ai_gateway=True, failover_backends=["shared-vllm"])
    path = workdir / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    return generate(collect_answers(path), workdir / "service", git_init=False).output


def crowded_values(count: int) -> dict[str, str]:
    """The environment's two values files with ``count`` other services registered."""
    litellm = LITELLM_VALUES.format(env="dev")
    models = MODELS_VALUES
    for number in range(count):
        name = f"svc-{number:03d}"
        litellm += (f"      - model_name: model-{number:03d}\n"
                    f"        litellm_params:\n"
                    f"          model: hosted_vllm/model-{number:03d}\n"
                    f"          api_base: http://{name}.team.svc.cluster.local:80/v1\n"
                    f"          api_key: os.environ/ENGINE_KEY_TEAM_{number:03d}\n"
                    f"        model_info:\n"
                    f"          platform_service: team/{name}\n")
        models += (f"  model-{number:03d}:\n    enabled: true\n"
                   f"    modelMatch: model-{number:03d}\n    backends:\n"
                   f"      team-{name}:\n        enabled: true\n        ref: shared-vllm\n"
                   f"        priority: 0\n      failover-1:\n        enabled: true\n"
                   f"        ref: openai-primary\n        priority: 1\n")
    return {LITELLM_PATH: litellm, MODELS_PATH: models}


def time_register(workdir: Path, service: Path, others: int, repeats: int
                  ) -> dict[str, float]:
    template = make_routing_repo(workdir / f"template-{others}", environments=(),
                                 extra=crowded_values(others))
    opened, unchanged, dry = [], [], []
    for number in range(repeats):
        bare = workdir / f"routing-{others}-{number}.git"
        shutil.copytree(template, bare)
        command = [CLI, "register", str(service), "--env", "dev", "--routing-repo", str(bare),
                   "--json"]
        dry.append(timed_command([*command, "--dry-run"]))
        opened.append(timed_command(command))
        unchanged.append(timed_command(command))
    return {"dry_run": median(dry), "opened": median(opened), "unchanged": median(unchanged),
            "bare": str(workdir / f"routing-{others}-0.git")}


def branch_model_list(bare: Path) -> list[dict]:
    branch = git(bare, "for-each-ref", "--format=%(refname:short)",
                 "refs/heads/inference-scaffolder/").splitlines()[0]
    values = yaml.safe_load(show(bare, branch, LITELLM_PATH))
    return values["litellm-proxy"]["litellm"]["modelList"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def restart_to_first_route(workdir: Path, model_list: list[dict], served: str,
                           engine_url: str) -> float:
    """Seconds from starting LiteLLM on ``model_list`` (every api_base on the stand-in) to
    the first 200 for ``served``."""
    for item in model_list:
        params = item["litellm_params"]
        if "api_base" in params:
            params["api_base"] = engine_url + urlsplit(params["api_base"]).path
        params["api_key"] = "os.environ/BENCH_KEY" if "api_key" in params else None
        if params["api_key"] is None:
            del params["api_key"]
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"model_list": model_list}))
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir),
           "LITELLM_MASTER_KEY": "sk-bench", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "BENCH_KEY": "engine-key", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    process = subprocess.Popen([str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config),
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        while time.perf_counter() - started < 300:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=30,
                                    headers={"Authorization": "Bearer sk-bench"},
                                    json={"model": served, "max_tokens": 2,
                                          "messages": [{"role": "user", "content": "hi"}]})
                if answer.status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("LiteLLM exited before it routed the name")
            time.sleep(0.1)
        raise RuntimeError("LiteLLM did not route the name within 300 s")
    finally:
        process.terminate()
        process.wait(timeout=60)


def time_restarts(workdir: Path, bare: Path, served: str, repeats: int) -> float:
    samples = []
    with FakeEngineServer(EngineState(model=served, api_key="engine-key")) as engine:
        for number in range(repeats):
            run_dir = workdir / f"litellm-{bare.name}-{number}"
            run_dir.mkdir()
            samples.append(restart_to_first_route(run_dir, branch_model_list(bare), served,
                                                  engine.url))
    return median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/register.json")
    parser.add_argument("--no-litellm", action="store_true",
                        help="skip the LiteLLM restart figures")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        workdir = Path(tmp)
        service = service_repo(workdir)
        served = "llama-3.1-8b-instruct"
        for others, label in ((0, "1_registration"), (199, "200_registrations")):
            timings = time_register(workdir, service, others, args.repeats)
            bare = Path(str(timings.pop("bare")))
            results[f"register_{label}"] = timings
            if not args.no_litellm and (LITELLM_VENV / "bin" / "litellm").is_file():
                results[f"litellm_start_to_first_routed_request_{label}"] = time_restarts(
                    workdir, bare, served, args.repeats)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    for name, value in results.items():
        if isinstance(value, dict):
            for step, seconds in value.items():
                print(f"{name} {step:<12} {seconds:8.3f} s")
        else:
            print(f"{name:<58} {value:8.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
