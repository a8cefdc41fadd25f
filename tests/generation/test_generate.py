"""Generating a service repository: rendered manifests, layout, atomicity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import pytest
import yaml
from chart_render import pinned_chart
from common import EXAMPLES, MINIMAL_ANSWERS

from inference_scaffolder import chart
from inference_scaffolder.answers import collect_answers, validate_answers
from inference_scaffolder.errors import UserError, ValidationFailed
from inference_scaffolder.generation.generate import GenerationResult, generate
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import find_helm


def helm_template(repo: Path, environment: str, *extra: str) -> dict[str, dict[str, Any]]:
    """Objects that `helm template <svc> <pinned base chart> -f environments/<env>/values.yaml`
    renders: what the environment's kustomization inflates."""
    completed = subprocess.run(
        [find_helm(), "template", repo.name, str(pinned_chart(repo, environment)),
         "-f", str(repo / "environments" / environment / "values.yaml"), *extra],
        capture_output=True, text=True, check=True,
    )
    return {f"{d['kind']}/{d['metadata']['name']}": d for d, _ in parse_rendered(completed.stdout)}


def engine_container(objects: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    pod = objects[f"Deployment/{name}"]["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return pod["containers"][0]


def env_map(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_example_validates_in_every_environment(tinyllama_repo: GenerationResult) -> None:
    report = tinyllama_repo.report
    assert report is not None and report.ok
    assert [e.environment for e in report.environments] == ["dev", "syst", "uat", "prod"]
    kinds = {o.kind for o in report.environments[0].objects}
    assert kinds == {"Deployment", "Service", "ExternalSecret", "Gateway", "HTTPRoute",
                     "Certificate", "Pod", "Kustomization", "Application"}


def test_repository_layout(tinyllama_repo: GenerationResult) -> None:
    repo = tinyllama_repo.output
    for path in ["catalog-info.yaml", "mkdocs.yml", "docs/index.md", "docs/runbook.md",
                 "README.md", ".github/workflows/validate.yaml",
                 ".inference-scaffolder/answers.yaml"]:
        assert (repo / path).is_file(), path
    environments = ["dev", "prod", "syst", "uat"]
    assert sorted(p.name for p in (repo / "environments").iterdir()) == environments
    for env in environments:
        assert sorted(p.name for p in (repo / "environments" / env).iterdir()) == [
            "kustomization.yaml", "values.yaml"]
        assert (repo / "argocd" / f"{env}.yaml").is_file()
    # A leaf: the base chart is pinned by version, never copied in.
    assert not (repo / "chart").exists()
    assert not list(repo.rglob("Chart.yaml")) and not list(repo.rglob("values.schema.json"))
    # What an environment inflates (the pinned base chart) has the notes and the helm test.
    base = pinned_chart(repo, "dev")
    assert base == chart.chart_source_dir()  # the version this release carries: offline
    for path in ["templates/NOTES.txt", "templates/tests/test-endpoint.yaml"]:
        assert (base / path).is_file(), path
    assert not list(repo.rglob("*.j2"))
    readme = (repo / "README.md").read_text()
    assert "helm rollback tinyllama-chat" in readme
    assert "TinyLlama/TinyLlama-1.1B-Chat-v1.0" in readme


def test_first_commit_holds_every_file(tinyllama_repo: GenerationResult) -> None:
    repo = git.Repo(tinyllama_repo.output)
    assert repo.active_branch.name == "main"
    assert not repo.is_dirty(untracked_files=True)
    assert repo.head.commit.hexsha == tinyllama_repo.commit
    assert "tinyllama-chat" in repo.head.commit.message


def test_gpu_scheduling(tinyllama_repo: GenerationResult) -> None:
    objects = helm_template(tinyllama_repo.output, "dev")
    pod = objects["Deployment/tinyllama-chat"]["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"]
    container = engine_container(objects, "tinyllama-chat")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert env_map(container)["NUM_SHARD"] == "1"


def test_tgi_engine_configuration(tinyllama_repo: GenerationResult) -> None:
    container = engine_container(helm_template(tinyllama_repo.output, "prod"), "tinyllama-chat")
    env = env_map(container)
    tag = chart.engine_defaults("tgi")["image"]["tag"]
    assert container["image"] == f"ghcr.io/huggingface/text-generation-inference:{tag}"
    assert env["MODEL_ID"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert env["REVISION"] == "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
    assert env["PORT"] == "8080"
    assert env["MAX_INPUT_TOKENS"] == "1024"
    assert env["MAX_TOTAL_TOKENS"] == "2048"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def test_probes_cover_a_model_download(tinyllama_repo: GenerationResult) -> None:
    container = engine_container(helm_template(tinyllama_repo.output, "dev"), "tinyllama-chat")
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_shared_memory_and_rollout_strategy(tinyllama_repo: GenerationResult) -> None:
    objects = helm_template(tinyllama_repo.output, "dev")
    deployment = objects["Deployment/tinyllama-chat"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    mounts = {m["mountPath"] for m in engine_container(objects, "tinyllama-chat")["volumeMounts"]}
    assert "/dev/shm" in mounts
    # A rollout must never need a second GPU: no surge.
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert deployment["spec"]["revisionHistoryLimit"] == 2


def test_hf_token_comes_from_vault_never_as_a_value(tinyllama_repo: GenerationResult) -> None:
    objects = helm_template(tinyllama_repo.output, "dev")
    external = objects["ExternalSecret/tinyllama-chat-secrets"]
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["secretStoreRef"] == {"name": "vault-backend",
                                                  "kind": "ClusterSecretStore"}
    assert external["spec"]["data"] == [
        {"secretKey": "hf-token",
         "remoteRef": {"key": "/secret/shared/huggingface/token", "property": "value"}}]
    env = env_map(engine_container(objects, "tinyllama-chat"))
    assert env["HUGGING_FACE_HUB_TOKEN"] == {
        "secretKeyRef": {"name": "tinyllama-chat-secrets", "key": "hf-token"}}
    assert not [k for k in objects if k.startswith("Secret/")]


def test_no_secret_value_reaches_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    canary = "hf_" + "CANARYcanaryCANARYcanaryCANARY0001"
    monkeypatch.setenv("HF_TOKEN", canary)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", canary)
    result = generate(validate_answers(MINIMAL_ANSWERS), tmp_path)
    for path in result.output.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_ingress_objects_per_environment(tinyllama_repo: GenerationResult) -> None:
    dev = helm_template(tinyllama_repo.output, "dev")
    prod = helm_template(tinyllama_repo.output, "prod")
    assert prod["Gateway/tinyllama-chat-gateway"]["spec"]["listeners"][0]["hostname"] == (
        "tinyllama.ml.example.com")
    assert dev["HTTPRoute/tinyllama-chat-http-route"]["spec"]["hostnames"] == [
        "dev.tinyllama.ml.example.com"]
    certificate = prod["Certificate/tinyllama-chat-tls-cert"]["spec"]
    assert certificate["issuerRef"]["name"] == "letsencrypt-prod"
    assert certificate["secretName"] == "tinyllama-chat-tls-cert"
    assert prod["Gateway/tinyllama-chat-gateway"]["spec"]["gatewayClassName"] == "istio"


def test_monitoring_annotations(tinyllama_repo: GenerationResult) -> None:
    objects = helm_template(tinyllama_repo.output, "dev")
    annotations = objects["Deployment/tinyllama-chat"]["spec"]["template"]["metadata"][
        "annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                           "prometheus.io/path": "/metrics"}


def test_api_versions_can_be_overridden_for_older_clusters(tinyllama_repo: GenerationResult
                                                           ) -> None:
    objects = helm_template(tinyllama_repo.output, "dev",
                            "--set", "apiVersions.externalSecrets=external-secrets.io/v1beta1")
    assert objects["ExternalSecret/tinyllama-chat-secrets"]["apiVersion"] == (
        "external-secrets.io/v1beta1")


def test_environment_files_hold_the_complete_leaf_values(tinyllama_repo: GenerationResult
                                                          ) -> None:
    """Each environment file is the whole of what the service sets in that environment (no
    common values file exists to inherit from); environments differ only where they must."""
    repo = tinyllama_repo.output
    assert not (repo / "chart").exists()
    files = {env: yaml.safe_load((repo / "environments" / env / "values.yaml").read_text())
             for env in ("dev", "syst", "uat", "prod")}
    dev = files["dev"]
    assert list(dev)[:7] == ["workloadType", "serviceName", "serviceCatalog", "namespace",
                             "environment", "engine", "model"]
    assert set(dev) == {"workloadType", "serviceName", "serviceCatalog", "namespace",
                        "environment", "engine", "model", "gpu", "container", "basicMonitoring",
                        "imagePullSecret", "ingress", "replicas", "strategy"}
    assert (dev["workloadType"], dev["serviceName"], dev["serviceCatalog"], dev["namespace"],
            dev["engine"]) == ("ML_INFERENCE_LOAD", "tinyllama-chat", "ml-inference",
                               "ml-inference", "tgi")
    assert dev["model"] == {"id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                            "revision": "fe8a4ea1ffedaf415f4da2f062534de366a451e6",
                            "maxInputTokens": 1024, "maxTotalTokens": 2048}
    assert dev["gpu"] == {"count": 1}
    assert dev["container"]["image"] == {"tag": chart.engine_defaults("tgi")["image"]["tag"]}
    assert dev["container"]["secretStore"] == {"name": "vault-backend"}
    assert dev["container"]["resources"]["limits"]["memory"] == "64Gi"
    for env, values in files.items():
        assert values["environment"] == env
        host = "tinyllama.ml.example.com" if env == "prod" else f"{env}.tinyllama.ml.example.com"
        assert values["ingress"] == {"enabled": True, "host": host}
        # Dev allows downtime (one pod replaced in place); the others keep a ready pod.
        surge = 0 if env == "dev" else 1
        assert values["strategy"] == {"type": "RollingUpdate", "maxSurge": surge,
                                      "maxUnavailable": 1 - surge}, env
        # Everything else is the same service, written out in full in every environment.
        per_environment = ("environment", "ingress", "strategy")
        assert {k: v for k, v in values.items() if k not in per_environment} == {
            k: v for k, v in dev.items() if k not in per_environment}, env


def test_helm_test_hook_checks_a_completion(tinyllama_repo: GenerationResult) -> None:
    pod = helm_template(tinyllama_repo.output, "dev")["Pod/tinyllama-chat-test-endpoint"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "/v1/chat/completions" in script and "choices" in script


def test_catalog_info_annotations(tinyllama_repo: GenerationResult) -> None:
    entity = yaml.safe_load((tinyllama_repo.output / "catalog-info.yaml").read_text())
    assert entity["kind"] == "Component"
    annotations = entity["metadata"]["annotations"]
    assert annotations["github.com/project-slug"] == "ml-platform/tinyllama-chat"
    assert annotations["backstage.io/kubernetes-id"] == "tinyllama-chat"
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert annotations["platform/workload-type"] == "ML_INFERENCE_LOAD"
    assert entity["spec"]["owner"] == "group:default/ml-platform"


def test_recorded_answers_allow_replay(tinyllama_repo: GenerationResult) -> None:
    record = yaml.safe_load(
        (tinyllama_repo.output / ".inference-scaffolder/answers.yaml").read_text())
    assert record["template_version"]
    assert validate_answers(record["answers"]) == tinyllama_repo.answers


def test_vllm_example_validates_with_engine_arguments(tmp_path: Path) -> None:
    result = generate(collect_answers(EXAMPLES / "vllm-llama-8b.yaml"), tmp_path)
    assert result.report is not None and result.report.ok
    objects = helm_template(result.output, "prod")
    container = engine_container(objects, "llama31-8b-instruct")
    assert container["command"] == ["vllm", "serve"]
    args = container["args"]
    assert args[0] == "meta-llama/Llama-3.1-8B-Instruct"
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    assert args[args.index("--served-model-name") + 1] == "llama-3.1-8b-instruct"
    # The example sets VLLM_API_KEY: vLLM then answers 401 on /v1/*, so readiness uses /health.
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert "ExternalSecret/llama31-8b-instruct-ghcr-docker-config" in objects
    pod = objects["Deployment/llama31-8b-instruct"]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "llama31-8b-instruct-ghcr-docker-config"}]
    assert "Gateway/llama31-8b-instruct-gateway" not in objects


@pytest.mark.parametrize(
    ("model_sets", "message"),
    [
        ("", "model.id is required (no default)"),  # the template's own `required`
        ("model.id=a/b,model.maxInputTokens=1,model.maxTotalTokens=2",
         "at '/model': missing property 'revision'"),  # the values schema
    ],
)
def test_render_without_model_fails_clearly(
    tinyllama_repo: GenerationResult, model_sets: str, message: str
) -> None:
    """The base chart's own values carry no model: only an environment file makes it
    renderable."""
    sets = ",".join(filter(None, ["ingress.host=x.example.com", model_sets]))
    completed = subprocess.run(
        [find_helm(), "template", "x", str(pinned_chart(tinyllama_repo.output, "dev")),
         "--set", sets],
        capture_output=True, text=True)
    assert completed.returncode != 0
    assert message in completed.stderr


def test_failed_validation_leaves_nothing_behind(tmp_path: Path) -> None:
    # A platform schema (overriding the bundled one) that this chart's ExternalSecret fails.
    strict = tmp_path / "platform-crds" / "external-secrets.io"
    strict.mkdir(parents=True)
    (strict / "externalsecret_v1.json").write_text('{"required": ["platformOwner"]}')
    out = tmp_path / "out"
    with pytest.raises(ValidationFailed, match="platformOwner"):
        generate(validate_answers(MINIMAL_ANSWERS), out, crd_schemas=strict.parent)
    assert not out.exists() or list(out.iterdir()) == []


def test_existing_repository_is_kept_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "llm-test"
    existing.mkdir()
    (existing / "precious.txt").write_text("user work")
    with pytest.raises(UserError, match="--force"):
        generate(validate_answers(MINIMAL_ANSWERS), tmp_path)
    assert (existing / "precious.txt").read_text() == "user work"
    result = generate(validate_answers(MINIMAL_ANSWERS), tmp_path, force=True)
    assert not (result.output / "precious.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["llm-test"]


def test_chart_renders_as_a_dependency_of_an_umbrella_chart(
    tinyllama_repo: GenerationResult, tmp_path: Path
) -> None:
    """Platforms bundle workload charts in umbrella charts; Helm then passes `global` in."""
    import shutil

    umbrella = tmp_path / "umbrella"
    shutil.copytree(pinned_chart(tinyllama_repo.output, "dev"),
                    umbrella / "charts" / "ml-inference-load")
    (umbrella / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "umbrella", "version": "0.1.0",
        "dependencies": [{"name": "ml-inference-load", "version": "*"}]}))
    env = yaml.safe_load((tinyllama_repo.output / "environments/dev/values.yaml").read_text())
    (umbrella / "values.yaml").write_text(
        yaml.safe_dump({"global": {"team": "ml"}, "ml-inference-load": env}))
    done = subprocess.run([find_helm(), "template", "u", str(umbrella)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "kind: Deployment" in done.stdout


def test_a_branch_revision_is_accepted_with_a_warning_that_says_how_to_pin(
    tmp_path: Path,
) -> None:
    args = [str(Path(sys.executable).parent / "inference-scaffolder"), "new", "--answers",
            str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input", "--no-git", "--set",
            "environments=dev", "--output-dir", str(tmp_path)]
    # A configured platform: its settings warn when unset, which is not this test's subject.
    env = {**os.environ,
           "INFERENCE_SCAFFOLDER_CHART_REPOSITORY": "https://charts.example.com/platform",
           "INFERENCE_SCAFFOLDER_SOURCE": "inference-scaffolder==0.2.0"}
    pinned = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=300,
                            env=env)
    assert pinned.returncode == 0, pinned.stderr
    assert "warning" not in pinned.stderr and json.loads(pinned.stdout)["warnings"] == []
    moving = subprocess.run([*args, "--force", "--set", "model_revision=main"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert moving.returncode == 0, moving.stderr
    warning = " ".join(moving.stderr.split())
    assert "warning: model_revision: 'main' is a branch or tag" in warning
    assert ("git ls-remote https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0 main"
            in warning)


def test_documents_a_generated_repository_points_at_are_in_it(
    tinyllama_repo: GenerationResult,
) -> None:
    """A comment or doc that sends a reader to docs/<page>.md must find that page in the
    repository, unless it names inference-scaffolder's own documentation."""
    import re

    missing = []
    for path in tinyllama_repo.output.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for page in re.findall(r"\bdocs/[\w.-]+\.md\b", line):
                if "inference-scaffolder" in line:
                    continue
                if not (tinyllama_repo.output / page).is_file():
                    missing.append(f"{path.relative_to(tinyllama_repo.output)}: {page}")
    assert missing == []
