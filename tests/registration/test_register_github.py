"""``register --publisher github`` against the loopback GitHub (REST and git smart HTTP over
real repositories): one pull request per service and environment, found again by later runs,
retitled when the proposal changes, and never opened twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from github_fake import FakeGitHub, serving
from routing_repo import make_routing_repo

from inference_scaffolder.publish import GitHubPublisher, GitHubSettings
from inference_scaffolder.registration.entries import Action
from inference_scaffolder.registration.facts import ServiceFacts, checked_facts
from inference_scaffolder.registration.pull_request import (
    RegisterOptions,
    RegisterResult,
    run_register,
)

pytestmark = pytest.mark.slow

TOKEN = "ghs_registerFixtureToken0123456789"
SLUG = "platform/routing"
LITELLM = "environments/dev/inference-infrastructure.yaml"


def service(name: str = "tinyllama", served: str = "tiny-chat") -> ServiceFacts:
    return checked_facts(
        service_name=name, namespace="llm-serving", served_model_name=served, engine="vllm",
        litellm_provider="hosted_vllm",
        base_url=f"http://{name}.llm-serving.svc.cluster.local:80/v1",
        api_key_env=f"ENGINE_KEY_LLM_SERVING_{name.upper()}", envoy_ai_gateway=False)


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    root = tmp_path / "git"
    with serving(root, SLUG, make_routing_repo(root, name=f"{SLUG}.git"), TOKEN) as fake:
        yield fake


def register(fake: FakeGitHub, facts: ServiceFacts,
             action: Action = Action.register) -> RegisterResult:
    settings = GitHubSettings(api_url=fake.api_url, seconds_between_requests=0,
                              seconds_between_writes=0)
    return run_register(facts, RegisterOptions("dev", action=action),
                        GitHubPublisher(fake.git_url(SLUG), settings))


def branch_model_names(fake: FakeGitHub, branch: str) -> list[str]:
    import subprocess

    text = subprocess.run(["git", "show", f"{branch}:{LITELLM}"], cwd=fake.repos[SLUG],
                          capture_output=True, text=True, check=True).stdout
    return [i["model_name"] for i in yaml.safe_load(text)["litellm-proxy"]["litellm"]["modelList"]]


def test_opens_one_pull_request_and_reports_it(github: FakeGitHub) -> None:
    result = register(github, service())
    assert result.status == "opened"
    assert result.pull_request == f"{github.base_url}/{SLUG}/pull/1"
    [pull] = github.open_pulls(SLUG)
    assert (pull.head, pull.base) == (result.branch, "main")
    assert pull.title == "Register tiny-chat (llm-serving/tinyllama) in dev"
    assert "os.environ/ENGINE_KEY_LLM_SERVING_TINYLLAMA" in pull.body
    assert pull.labels == ["inference-scaffolder"]
    assert TOKEN not in repr(result.as_json())


def test_second_run_is_unchanged_and_reuses_the_pull_request(github: FakeGitHub) -> None:
    first = register(github, service())
    posts = github.requests.count(("POST", f"/api/v3/repos/{SLUG}/pulls"))
    second = register(github, service())
    assert second.status == "unchanged"
    assert second.pull_request == first.pull_request
    assert github.requests.count(("POST", f"/api/v3/repos/{SLUG}/pulls")) == posts
    assert len(github.pulls[SLUG]) == 1


def test_a_changed_registration_updates_and_retitles_the_same_pull_request(
        github: FakeGitHub) -> None:
    first = register(github, service())
    second = register(github, service(served="tiny-chat-v2"))
    assert second.status == "updated"
    assert second.pull_request == first.pull_request
    [pull] = github.open_pulls(SLUG)
    assert pull.title == "Register tiny-chat-v2 (llm-serving/tinyllama) in dev"
    assert branch_model_names(github, second.branch)[-1] == "tiny-chat-v2"


def test_disabling_before_the_merge_withdraws_the_proposal(github: FakeGitHub) -> None:
    """Main never had the entry: the branch goes back to main, nothing is left to merge."""
    first = register(github, service())
    later = register(github, service(), Action.disable)
    assert later.status == "unchanged"
    assert github.branch_sha(SLUG, first.branch) == github.branch_sha(SLUG, "main")
    assert any("changes nothing" in w for w in later.warnings)


def test_two_services_get_two_pull_requests_with_their_own_entries(github: FakeGitHub) -> None:
    one = register(github, service())
    two = register(github, service("mistral", "mistral-chat"))
    assert one.pull_request != two.pull_request
    assert len(github.open_pulls(SLUG)) == 2
    assert branch_model_names(github, one.branch)[-1] == "tiny-chat"
    assert branch_model_names(github, two.branch)[-1] == "mistral-chat"
    assert "tiny-chat" not in branch_model_names(github, two.branch)
