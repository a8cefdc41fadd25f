"""Disabled means denied: with ``serving.enabled: false`` (what ``register --disable`` writes
through ``set_public_serving``) no environment renders anything that serves the model to a
client: no public Gateway, listener, HTTPRoute or Certificate for its host, and no route on
the internal gateway. The edit keeps the team's file as it was, and undoing it restores it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from chart_render import copy_repo, generated, render_list
from service_answers import routed_llama

from inference_scaffolder.answers import environment_host
from inference_scaffolder.checks.validate import validate_repo
from inference_scaffolder.errors import UserError
from inference_scaffolder.service.serving_state import public_serving, set_public_serving

ENVIRONMENTS = ["dev", "syst", "uat", "prod"]
HOST = "llama.example.com"
SERVED = routed_llama("llama-public", environments=ENVIRONMENTS, ingress_host=HOST,
                      envoy_ai_gateway=False)
# What serves a client: a route or a listener in front of the engine.
SERVING_KINDS = {"Gateway", "HTTPRoute", "GRPCRoute", "Ingress", "InferencePool", "Certificate"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(SERVED, tmp_path_factory.mktemp("served")).output


def _host(environment: str) -> str:
    return environment_host({"ingress_host": HOST}, environment)


def _listeners_and_routes_for(objects: list[dict[str, Any]], host: str) -> list[str]:
    """Every object that names the host or carries a listener or route at all."""
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects
            if o["kind"] in SERVING_KINDS or host in json.dumps(o)]


def test_disabling_leaves_no_public_path_in_any_environment(served: Path,
                                                            tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    before = {env: render_list(repo, env) for env in ENVIRONMENTS}
    for env in ENVIRONMENTS:
        found = _listeners_and_routes_for(before[env], _host(env))
        assert {"Gateway/llama-public-gateway", "HTTPRoute/llama-public-http-route",
                "HTTPRoute/llama-public-pool-route", "InferencePool/llama-public-pool"} <= set(
                    found), found
        gateway = next(o for o in before[env] if o["kind"] == "Gateway")
        assert [lst["hostname"] for lst in gateway["spec"]["listeners"]] == [_host(env)]

    for env in ENVIRONMENTS:
        assert set_public_serving(repo, env, False) is True
        assert set_public_serving(repo, env, False) is False  # already disabled: no change
        assert public_serving(repo, env) is False

    for env in ENVIRONMENTS:
        after = render_list(repo, env)
        assert _listeners_and_routes_for(after, _host(env)) == [], env
        # The engine keeps running (enabling again loads no model), reachable in-cluster only.
        assert {o["kind"] for o in after} >= {"Deployment", "Service"}
    report = validate_repo(repo, kustomize="never")
    assert report.ok, [e.problems() for e in report.environments]

    for env in ENVIRONMENTS:
        assert set_public_serving(repo, env, True) is True
        assert render_list(repo, env) == before[env]


def test_disabling_one_environment_leaves_the_others_serving(served: Path,
                                                             tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    set_public_serving(repo, "prod", False)
    assert _listeners_and_routes_for(render_list(repo, "prod"), _host("prod")) == []
    assert "Gateway" in {o["kind"] for o in render_list(repo, "uat")}


def test_the_edit_keeps_the_teams_file_and_undoing_it_restores_it(served: Path,
                                                                   tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    values = repo / "environments/dev/values.yaml"
    text = values.read_text().replace("ingress:\n", "# our own note on the hostname\ningress:\n")
    values.write_text(text)
    values.chmod(0o640)

    set_public_serving(repo, "dev", False)
    disabled = values.read_text()
    assert disabled.startswith(text.rstrip("\n"))  # comments, order, quoting: all kept
    assert disabled.endswith("serving:\n  enabled: false\n")
    assert oct(values.stat().st_mode & 0o777) == oct(0o640)

    set_public_serving(repo, "dev", True)
    assert values.read_text() == text
    assert set_public_serving(repo, "dev", True) is False


def test_an_existing_serving_block_is_edited_in_place(served: Path, tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    values = repo / "environments/dev/values.yaml"
    values.write_text(values.read_text() + "serving:\n  enabled: true  # on in dev\n")
    assert set_public_serving(repo, "dev", False) is True
    # The comment stays where it was (its column kept).
    assert values.read_text().endswith("serving:\n  enabled: false # on in dev\n")


def test_an_unknown_environment_is_refused_and_nothing_changes(served: Path,
                                                                tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    with pytest.raises(UserError) as caught:
        set_public_serving(repo, "staging", False)
    assert caught.value.field == "--env"
    assert "'staging' is not an environment" in caught.value.rule
    assert not (repo / "environments/staging").exists()


def test_a_linked_values_file_is_never_written_through(served: Path, tmp_path: Path) -> None:
    repo = copy_repo(served, tmp_path)
    target = tmp_path / "elsewhere.yaml"
    values = repo / "environments/dev/values.yaml"
    target.write_text(values.read_text())
    values.unlink()
    os.symlink(target, values)
    with pytest.raises(UserError) as caught:
        set_public_serving(repo, "dev", False)
    assert "symbolic link" in caught.value.rule
    assert "serving:" not in target.read_text()


def test_an_environment_on_an_older_chart_cannot_be_disabled_by_a_value(
    served: Path, tmp_path: Path
) -> None:
    """Charts before 0.2.0 know no serving value (their schema would refuse it): say how to
    move on instead of writing a file that no longer renders."""
    repo = copy_repo(served, tmp_path)
    kustomization = repo / "environments/dev/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("version: 0.2.0",
                                                               "version: 0.1.0"))
    values = (repo / "environments/dev/values.yaml").read_text()
    with pytest.raises(UserError) as caught:
        set_public_serving(repo, "dev", False)
    assert caught.value.field == "environments/dev/kustomization.yaml"
    assert "promote DIR --to dev --chart-version 0.2.0" in caught.value.rule
    assert (repo / "environments/dev/values.yaml").read_text() == values
