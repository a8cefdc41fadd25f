"""``inference-scaffolder register DIR --env ENV --routing-repo ...`` on a generated service:
the pull request carries the facts the service's values give (served name, engine provider,
address, key variable, gateway opt-in and failover), --disable also turns the environment's
own public serving off so nothing public serves the name, and refusals are one line, exit 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from chart_render import generated, render_list, set_environment_value
from common import EXAMPLES
from routing_repo import OTHER_MODEL, branch_sha, make_routing_repo, merge, show

from inference_scaffolder.cli import main

pytestmark = pytest.mark.slow

LITELLM = "environments/{env}/inference-infrastructure.yaml"
MODELS = "environments/{env}/models.yaml"
SERVICE = "llama31-8b-instruct"
BRANCH = f"inference-scaffolder/register/dev/llm-serving/{SERVICE}"
PUBLIC_KINDS = {"Gateway", "HTTPRoute", "Certificate"}


@pytest.fixture(scope="session")
def service_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vLLM example with routing on, the Envoy AI Gateway with one failover backend the
    routing repository defines, and a public hostname (so there is something to turn off)."""
    answers = yaml.safe_load((EXAMPLES / "vllm-llama-8b.yaml").read_text(encoding="utf-8"))
    answers.update(routing=True, envoy_ai_gateway=True, failover_backends=["shared-vllm"],
                   ingress_host="llm.example.com")
    return generated(answers, tmp_path_factory.mktemp("service")).output


@pytest.fixture
def service(service_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(service_template, tmp_path / SERVICE, symlinks=True))


@pytest.fixture
def routing(tmp_path: Path) -> Path:
    return make_routing_repo(tmp_path / "platform")


def run(capsys: pytest.CaptureFixture[str], service: Path, routing: Path | str, *extra: str,
        env: str = "dev") -> tuple[int, str, str]:
    code = main(["register", str(service), "--env", env, "--routing-repo", str(routing),
                 *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code: int, err: str, field: str, fragment: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"error: {field}: "), err
    assert fragment in err, err


def model_list(routing: Path, ref: str, env: str = "dev") -> list[dict]:
    values = yaml.safe_load(show(routing, ref, LITELLM.format(env=env)))
    return values["litellm-proxy"]["litellm"]["modelList"]


def test_register_proposes_the_services_own_facts(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    code, out, err = run(capsys, service, routing, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["status"], result["branch"]) == ("opened", BRANCH)
    assert result["pull_request"] is None and result["title"].startswith(
        "Register llama-3.1-8b-instruct")
    item = model_list(routing, BRANCH)[-1]
    assert item == {
        "model_name": "llama-3.1-8b-instruct",
        "litellm_params": {
            "model": "hosted_vllm/llama-3.1-8b-instruct",
            "api_base": f"http://{SERVICE}.llm-serving.svc.cluster.local:80/v1",
            "api_key": "os.environ/ENGINE_KEY_LLM_SERVING_LLAMA31_8B_INSTRUCT"},
        "model_info": {"platform_service": f"llm-serving/{SERVICE}"}}
    routes = yaml.safe_load(show(routing, BRANCH, MODELS.format(env="dev")))["models"]
    (route,) = [r for r in routes.values() if r["modelMatch"] == "llama-3.1-8b-instruct"]
    assert [(b["ref"], b["priority"]) for b in route["backends"].values()] == [
        (f"llm-serving-{SERVICE}", 0), ("shared-vllm", 1)]
    # The platform is told which variable LiteLLM needs, and from where (never a value).
    assert ("`ENGINE_KEY_LLM_SERVING_LLAMA31_8B_INSTRUCT`: the engine key, read from the "
            "engine's Vault path `/secret/ml-inference/llama31-8b/api-key`") in result["body"]
    assert result["service_change"]["changed"] is False
    again = json.loads(run(capsys, service, routing, "--json")[1])
    assert again["status"] == "unchanged"


def test_with_an_inference_pool_litellm_goes_through_the_internal_gateway(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    set_environment_value(service, "dev", "routing.inferencePool.enabled", True)
    code, _, err = run(capsys, service, routing)
    assert code == 0, err
    api_base = model_list(routing, BRANCH)[-1]["litellm_params"]["api_base"]
    assert api_base.startswith(f"http://epp-{SERVICE}-inference-gateway.llm-serving.svc.")
    assert api_base.endswith("/v1")


def test_disable_removes_the_entry_and_turns_public_serving_off(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path,
        tmp_path: Path) -> None:
    assert run(capsys, service, routing)[0] == 0
    merge(routing, BRANCH, tmp_path)
    before = {env: render_list(service, env) for env in ("dev", "prod")}
    assert {o["kind"] for o in before["dev"]} >= PUBLIC_KINDS
    code, out, err = run(capsys, service, routing, "--disable")
    assert code == 0, err
    assert out.startswith(f"updated: {BRANCH} at ")
    assert ("service repository: environments/dev/values.yaml: serving turned off "
            "(serving.enabled: false), not committed") in out
    assert "llama-3.1-8b-instruct" not in [i["model_name"] for i in model_list(routing, BRANCH)]
    values = yaml.safe_load((service / "environments/dev/values.yaml").read_text())
    assert values["serving"] == {"enabled": False}
    after = {env: render_list(service, env) for env in ("dev", "prod")}
    assert not PUBLIC_KINDS & {o["kind"] for o in after["dev"]}
    assert after["prod"] == before["prod"]  # one environment only
    # Registering again turns serving back on: the values file is as generated.
    merge(routing, BRANCH, tmp_path)
    code, out, err = run(capsys, service, routing)
    assert code == 0, err
    assert "serving turned on" in out
    assert "serving" not in yaml.safe_load((service / "environments/dev/values.yaml").read_text())


def test_dry_run_prints_the_diff_and_changes_nothing_anywhere(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    values_before = (service / "environments/dev/values.yaml").read_bytes()
    code, out, err = run(capsys, service, routing, "--disable", "--dry-run")
    assert code == 0, err
    assert "would turn serving off" in out
    assert (service / "environments/dev/values.yaml").read_bytes() == values_before
    code, out, err = run(capsys, service, routing, "--dry-run")
    assert code == 0, err
    assert "+      - model_name: llama-3.1-8b-instruct" in out
    assert "dry run: would report opened" in err
    assert branch_sha(routing, BRANCH) is None


def test_unknown_environment_of_the_service_is_one_line(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    code, _, err = run(capsys, service, routing, env="staging")
    one_line_error(code, err, "--env", "'staging' is not an environment of")


def test_unknown_environment_of_the_routing_repository_is_one_line(
        capsys: pytest.CaptureFixture[str], service: Path, tmp_path: Path) -> None:
    routing = make_routing_repo(tmp_path / "dev-only", environments=("dev",))
    code, _, err = run(capsys, service, routing, env="prod")
    one_line_error(code, err, "--env",
                   "has no environments/prod/inference-infrastructure.yaml")


def test_a_name_another_service_registers_is_one_line(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    set_environment_value(service, "dev", "model.servedModelName", OTHER_MODEL)
    code, _, err = run(capsys, service, routing)
    one_line_error(code, err, "served_model_name",
                   f"'{OTHER_MODEL}' is already registered by llm-serving/other")


def test_the_failover_rule_is_one_line(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    set_environment_value(service, "dev", "routing.envoyAIGateway.failoverBackends", [])
    code, _, err = run(capsys, service, routing)
    one_line_error(code, err, "failover_backends", "at least two enabled backends")


def test_an_environment_that_no_longer_asks_for_routing_leaves_the_routers(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path,
        tmp_path: Path) -> None:
    assert run(capsys, service, routing)[0] == 0
    merge(routing, BRANCH, tmp_path)
    set_environment_value(service, "dev", "routing.enabled", False)
    values_before = (service / "environments/dev/values.yaml").read_text()
    code, out, err = run(capsys, service, routing, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "updated" and result["title"].startswith("Remove ")
    assert result["warnings"][0].endswith("this service's router entries are removed")
    assert "llama-3.1-8b-instruct" not in [i["model_name"] for i in model_list(routing, BRANCH)]
    assert result["service_change"] is None
    assert (service / "environments/dev/values.yaml").read_text() == values_before


def test_disable_and_remove_together_is_one_line(
        capsys: pytest.CaptureFixture[str], service: Path, routing: Path) -> None:
    code, _, err = run(capsys, service, routing, "--disable", "--remove")
    one_line_error(code, err, "--disable", "exclude each other")


def test_an_unreachable_routing_repository_is_named_by_its_option(
        capsys: pytest.CaptureFixture[str], service: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, service, f"file://{tmp_path}/missing.git")
    one_line_error(code, err, "--routing-repo", "missing.git")
