"""A service repository written for the routing objects the base chart no longer renders
(its own LiteLLM ConfigMap, AIGatewayRoute and picker name) is moved by ``update`` (and by
``promote --chart-version`` when the pin moves to 0.2.0) to values the new chart accepts,
with the team's comments and the decisions that still matter kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_render import generated
from service_answers import routed_llama

from inference_scaffolder.checks.validate import validate_repo
from inference_scaffolder.cli import main
from inference_scaffolder.lifecycle.promote import promote
from inference_scaffolder.lifecycle.routing_values import migrate_routing_values

ANSWERS = routed_llama("llama-moved", rate_limit_per_minute=60)
# What an environment said for the previous routing objects (the keys the new chart refuses).
OLD_ROUTING = """\
# LiteLLM runs in its own namespace on this platform.
routing:
  enabled: true
  litellm:
    enabled: true
    namespace: litellm
    apiKeyEnv: LLAMA_ENGINE_KEY
  envoyAIGateway:
    enabled: true
    gatewayName: ai-gateway
    gatewayNamespace: gateways
    requestTimeout: 600s
  rateLimit:
    enabled: true
    requestsPerMinute: 60
  inferencePool:
    enabled: true
    endpointPicker:
      serviceName: epp-shared-llama-inference-gateway-epp
      port: 9002
apiVersions:
  aiGateway: aigateway.envoyproxy.io/v1alpha1
  kuadrant: kuadrant.io/v1
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=Ada Operator",
                           "-c", "user.email=ada@example.com", *args],
                          capture_output=True, text=True, check=True)
    return done.stdout


def with_old_routing(values: Path) -> None:
    """The environment's values as the previous chart took them: routing block replaced."""
    document = yaml.safe_load(values.read_text())
    kept = {k: v for k, v in document.items() if k != "routing"}
    values.write_text(yaml.safe_dump(kept, sort_keys=False) + OLD_ROUTING)


@pytest.fixture
def old_repo(tmp_path: Path) -> Path:
    repo = generated(ANSWERS, tmp_path / "out").output
    for environment in ("dev", "prod"):
        with_old_routing(repo / "environments" / environment / "values.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "written for the chart's own routing objects")
    return repo


def test_the_new_chart_refuses_the_old_values(old_repo: Path) -> None:
    report = validate_repo(old_repo, kustomize="never")
    assert not report.ok
    assert any("litellm" in p for e in report.environments for p in e.problems())


def test_update_moves_the_values_and_the_repository_validates(
    old_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", str(old_repo), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "updated", report
    assert {"environments/dev/values.yaml", "environments/prod/values.yaml"} <= set(
        report["changed"])
    assert any("networkPolicy.litellmNamespace" in w for w in report["warnings"])
    staged = git(old_repo, "diff", "--cached", "--name-only").split()
    assert "environments/dev/values.yaml" in staged

    text = (old_repo / "environments/dev/values.yaml").read_text()
    assert "# LiteLLM runs in its own namespace on this platform." in text
    values = yaml.safe_load(text)
    assert values["routing"] == {
        "enabled": True,
        "litellm": {"apiKeyEnv": "LLAMA_ENGINE_KEY"},  # still the variable LiteLLM reads
        "envoyAIGateway": {"enabled": True},
        "rateLimit": {"enabled": True, "requestsPerMinute": 60},
        "inferencePool": {"enabled": True, "endpointPicker": {"port": 9002},
                          "gatewayRelease": "epp-shared-llama"},
    }
    assert values["networkPolicy"] == {"litellmNamespace": "litellm"}
    assert "apiVersions" not in values
    result = validate_repo(old_repo, kustomize="never")
    assert result.ok, [e.problems() for e in result.environments]
    assert "epp-shared-llama-inference-gateway-epp:9002" in result.environments[0].expects[0]

    git(old_repo, "commit", "-q", "-m", "update")
    assert main(["update", str(old_repo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "unchanged"


def test_an_environment_on_an_older_chart_keeps_its_values(old_repo: Path) -> None:
    """That chart still renders the objects its values describe: nothing to move yet."""
    kustomization = old_repo / "environments/prod/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("version: 0.2.0",
                                                               "version: 0.1.0"))
    before = (old_repo / "environments/prod/values.yaml").read_text()
    moved = migrate_routing_values(old_repo)
    assert moved.written == ["environments/dev/values.yaml"]
    assert (old_repo / "environments/prod/values.yaml").read_text() == before


def test_a_picker_name_of_another_form_is_dropped_with_a_note(old_repo: Path) -> None:
    values = old_repo / "environments/dev/values.yaml"
    values.write_text(values.read_text().replace("epp-shared-llama-inference-gateway-epp",
                                                 "llama-moved-epp"))
    moved = migrate_routing_values(old_repo)
    assert any("llama-moved-epp removed" in n and "gatewayRelease" in n for n in moved.notes)
    assert "gatewayRelease" not in yaml.safe_load(values.read_text())["routing"]["inferencePool"]


def test_promoting_the_new_chart_into_an_environment_moves_its_values(old_repo: Path) -> None:
    kustomization = old_repo / "environments/dev/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("version: 0.2.0",
                                                               "version: 0.1.0"))
    git(old_repo, "commit", "-q", "-am", "dev still on 0.1.0")

    started = promote(old_repo, None, "dev", chart_version="0.2.0")
    git(old_repo, "merge", "-q", "--ff-only", str(started.branch))

    values = yaml.safe_load((old_repo / "environments/dev/values.yaml").read_text())
    assert "enabled" not in values["routing"]["litellm"]
    assert values["networkPolicy"]["litellmNamespace"] == "litellm"
    assert yaml.safe_load(kustomization.read_text())["helmCharts"][0]["version"] == "0.2.0"
