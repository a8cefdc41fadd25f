"""``register`` against a local bare routing repository (local publisher): the pull request
branch adds, updates, disables, re-enables and removes exactly this service's entries, runs
are idempotent and concurrent-safe, and refusals stop before anything is pushed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from routing_repo import (
    LITELLM_VALUES,
    MODELS_VALUES,
    OTHER_MODEL,
    branch_sha,
    commit_count,
    commit_files,
    git,
    make_routing_repo,
    merge,
    show,
)

from inference_scaffolder.errors import UserError
from inference_scaffolder.publish import LocalPublisher
from inference_scaffolder.registration.entries import Action
from inference_scaffolder.registration.facts import ServiceFacts, checked_facts
from inference_scaffolder.registration.pull_request import (
    RegisterOptions,
    RegisterResult,
    run_register,
)

LITELLM = "environments/dev/inference-infrastructure.yaml"
MODELS = "environments/dev/models.yaml"
BRANCH = "inference-scaffolder/register/dev/llm-serving/tinyllama"


def service(**changes: object) -> ServiceFacts:
    fields: dict[str, object] = dict(
        service_name="tinyllama", namespace="llm-serving", served_model_name="tiny-chat",
        engine="vllm", litellm_provider="hosted_vllm",
        base_url="http://tinyllama.llm-serving.svc.cluster.local:80/v1",
        api_key_env="ENGINE_KEY_LLM_SERVING_TINYLLAMA", envoy_ai_gateway=True,
        failover_backends=("shared-vllm",), rate_limit_per_minute=0)
    fields.update(changes)
    return checked_facts(**fields)


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return make_routing_repo(tmp_path)


def register(bare: Path, facts: ServiceFacts, action: Action = Action.register,
             **options: object) -> RegisterResult:
    return run_register(facts, RegisterOptions("dev", action=action, **options),  # type: ignore[arg-type]
                        LocalPublisher(str(bare)))


def model_list(bare: Path, ref: str) -> list[dict]:
    return yaml.safe_load(show(bare, ref, LITELLM))["litellm-proxy"]["litellm"]["modelList"]


def models(bare: Path, ref: str) -> dict:
    return yaml.safe_load(show(bare, ref, MODELS))


def names(bare: Path, ref: str) -> list[str]:
    return [item["model_name"] for item in model_list(bare, ref)]


def test_register_adds_one_litellm_item_and_a_failover_route(bare: Path) -> None:
    result = register(bare, service())
    assert (result.status, result.branch) == ("opened", BRANCH)
    assert result.commit == branch_sha(bare, BRANCH)
    assert result.files == [LITELLM, MODELS]
    assert names(bare, BRANCH) == ["gpt-4o", OTHER_MODEL, "tiny-chat"]
    assert model_list(bare, BRANCH)[-1] == {
        "model_name": "tiny-chat",
        "litellm_params": {
            "model": "hosted_vllm/tiny-chat",
            "api_base": "http://tinyllama.llm-serving.svc.cluster.local:80/v1",
            "api_key": "os.environ/ENGINE_KEY_LLM_SERVING_TINYLLAMA"},
        "model_info": {"platform_service": "llm-serving/tinyllama"}}
    values = models(bare, BRANCH)
    assert values["backends"]["llm-serving-tinyllama"] == {
        "resourceName": "llm-serving-tinyllama", "schema": "OpenAI", "prefix": "/v1",
        "fqdn": {"hostname": "tinyllama.llm-serving.svc.cluster.local", "port": 80},
        "apiKeySecretRef": {"name": "engine-key-llm-serving-tinyllama", "key": "apiKey"}}
    route = values["models"]["tiny-chat"]
    assert route["enabled"] is True and route["modelMatch"] == "tiny-chat"
    assert route["backends"] == {
        "llm-serving-tinyllama": {"enabled": True, "ref": "llm-serving-tinyllama",
                                  "priority": 0, "weight": 100},
        "llm-serving-tinyllama-failover-1": {"enabled": True, "ref": "shared-vllm",
                                             "priority": 1}}
    # One commit on main; main itself is untouched until a reviewer merges.
    assert commit_count(bare, BRANCH) == 2
    assert names(bare, "main") == ["gpt-4o", OTHER_MODEL]


def test_the_edit_keeps_comments_order_quotes_and_the_files_list_layout(bare: Path) -> None:
    register(bare, service())
    litellm = show(bare, BRANCH, LITELLM)
    assert litellm.startswith(LITELLM_VALUES.format(env="dev"))  # every line before, as is
    assert litellm[len(LITELLM_VALUES.format(env="dev")):].startswith(
        "      - model_name: tiny-chat\n        litellm_params:\n")
    models_text = show(bare, BRANCH, MODELS)
    for line in MODELS_VALUES.splitlines():
        assert line in models_text.splitlines()
    assert 'modelMatch: "gpt-4"' in models_text and "# Managed providers" in models_text


def test_second_run_is_unchanged_and_pushes_nothing(bare: Path) -> None:
    first = register(bare, service())
    second = register(bare, service())
    assert second.status == "unchanged"
    assert second.commit == first.commit == branch_sha(bare, BRANCH)


def test_registration_already_merged_is_unchanged_and_opens_no_branch(
        bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    main = branch_sha(bare, "main")
    result = register(bare, service())
    assert (result.status, result.files, result.commit) == ("unchanged", [], main)


def test_update_rewrites_the_entry_in_place_and_drops_the_old_name(
        bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    moved = service(served_model_name="tiny-chat-v2",
                    base_url="http://epp-tinyllama-inference-gateway.llm-serving.svc"
                             ".cluster.local:80/v1", failover_backends=("shared-vllm",
                                                                        "openai-primary"))
    result = register(bare, moved)
    assert result.status == "updated"  # the merged branch is rebuilt on main
    assert names(bare, BRANCH) == ["gpt-4o", OTHER_MODEL, "tiny-chat-v2"]
    assert model_list(bare, BRANCH)[-1]["litellm_params"]["api_base"].startswith(
        "http://epp-tinyllama-inference-gateway.")
    routes = models(bare, BRANCH)["models"]
    assert set(routes) == {"gpt-4", "tiny-chat-v2"}
    assert routes["tiny-chat-v2"]["backends"]["llm-serving-tinyllama-failover-2"] == {
        "enabled": True, "ref": "openai-primary", "priority": 2}


def test_disable_removes_the_litellm_item_and_disables_the_route(
        bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    result = register(bare, service(), Action.disable)
    assert result.status == "updated" and result.title.startswith("Disable tiny-chat")
    assert names(bare, BRANCH) == ["gpt-4o", OTHER_MODEL]
    route = models(bare, BRANCH)["models"]["tiny-chat"]
    assert route["enabled"] is False
    assert "llm-serving-tinyllama" in models(bare, BRANCH)["backends"]
    assert register(bare, service(), Action.disable).status == "unchanged"


def test_reenable_after_a_merged_disable_restores_the_entries(
        bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    registered = show(bare, "main", LITELLM), show(bare, "main", MODELS)
    register(bare, service(), Action.disable)
    merge(bare, BRANCH, tmp_path)
    result = register(bare, service())
    assert result.status == "updated"  # the branch of the disable is reused
    assert (show(bare, BRANCH, LITELLM), show(bare, BRANCH, MODELS)) == registered


def test_remove_deletes_every_entry_of_the_service(bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    register(bare, service(), Action.remove)
    assert show(bare, BRANCH, LITELLM) == LITELLM_VALUES.format(env="dev")
    assert show(bare, BRANCH, MODELS) == MODELS_VALUES


def test_a_stale_proposal_is_withdrawn_when_main_already_says_it(
        bare: Path, tmp_path: Path) -> None:
    """A --disable proposed and then undone must not stay mergeable."""
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    register(bare, service(), Action.disable)
    result = register(bare, service())
    assert result.status == "unchanged"
    assert branch_sha(bare, BRANCH) == branch_sha(bare, "main")
    assert any("now equals main" in w for w in result.warnings)


def test_without_the_gateway_only_litellm_changes_and_an_old_route_goes(
        bare: Path, tmp_path: Path) -> None:
    result = register(bare, service(envoy_ai_gateway=False, failover_backends=()))
    assert result.files == [LITELLM]
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    register(bare, service(envoy_ai_gateway=False))
    assert show(bare, BRANCH, MODELS) == MODELS_VALUES


def test_tgi_goes_through_litellms_openai_provider_and_no_key_is_none(bare: Path) -> None:
    register(bare, service(engine="tgi", litellm_provider="openai", api_key_env="",
                           envoy_ai_gateway=False))
    params = model_list(bare, BRANCH)[-1]["litellm_params"]
    assert params["model"] == "openai/tiny-chat"
    assert params["api_key"] == "none"


def test_dry_run_prints_the_diff_and_pushes_nothing(bare: Path) -> None:
    result = register(bare, service(), dry_run=True)
    assert result.status == "opened" and result.dry_run
    assert branch_sha(bare, BRANCH) is None
    assert result.diff is not None
    assert f"+++ b/{LITELLM}" in result.diff and "+      - model_name: tiny-chat" in result.diff
    assert "+  tiny-chat:" in result.diff


def test_concurrent_registrations_of_two_services_keep_both(
        bare: Path, tmp_path: Path) -> None:
    second = service(service_name="mistral", served_model_name="mistral-chat",
                     base_url="http://mistral.llm-serving.svc.cluster.local:80/v1",
                     api_key_env="ENGINE_KEY_LLM_SERVING_MISTRAL")
    results: dict[str, RegisterResult] = {}

    def run(name: str, facts: ServiceFacts) -> None:
        results[name] = register(bare, facts)

    threads = [threading.Thread(target=run, args=a) for a in
               (("tiny", service()), ("mistral", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["tiny"].branch != results["mistral"].branch
    assert {r.status for r in results.values()} == {"opened"}
    assert names(bare, results["tiny"].branch)[-1] == "tiny-chat"
    assert names(bare, results["mistral"].branch)[-1] == "mistral-chat"
    # The first merge moves main; the other pull request rebuilt on it carries both.
    merge(bare, results["tiny"].branch, tmp_path)
    again = register(bare, second)
    assert again.status == "updated"
    assert names(bare, again.branch) == ["gpt-4o", OTHER_MODEL, "tiny-chat", "mistral-chat"]
    assert set(models(bare, again.branch)["models"]) == {"gpt-4", "tiny-chat", "mistral-chat"}


def test_a_push_to_the_branch_by_someone_else_is_replaced(bare: Path, tmp_path: Path) -> None:
    register(bare, service())
    work = tmp_path / "intruder"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(bare), str(work))
    (work / "extra.txt").write_text("not part of the registration\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "ride along")
    git(work, "push", "-q", "origin", BRANCH)
    result = register(bare, service())
    assert result.status == "updated"
    assert commit_count(bare, BRANCH) == 2
    assert "extra.txt" not in _tree(bare, BRANCH)


def _tree(bare: Path, ref: str) -> list[str]:
    return git(bare, "ls-tree", "-r", "--name-only", ref).splitlines()


# --- refusals: one line, nothing pushed -----------------------------------------------------


def assert_refused(bare: Path, facts: ServiceFacts, field: str, *fragments: str,
                   action: Action = Action.register, **options: object) -> None:
    with pytest.raises(UserError) as caught:
        register(bare, facts, action, **options)
    assert caught.value.field == field, caught.value
    for fragment in fragments:
        assert fragment in caught.value.rule, caught.value.rule
    assert "\n" not in caught.value.one_line()
    assert branch_sha(bare, BRANCH) is None


def test_unknown_environment_is_refused(bare: Path) -> None:
    with pytest.raises(UserError) as caught:
        run_register(service(), RegisterOptions("staging"), LocalPublisher(str(bare)))
    assert caught.value.field == "--env"
    assert "environments/staging/inference-infrastructure.yaml" in caught.value.rule


def test_a_name_another_service_registers_is_refused(bare: Path) -> None:
    assert_refused(bare, service(served_model_name=OTHER_MODEL), "served_model_name",
                   "'other-model' is already registered by llm-serving/other", LITELLM)


def test_a_name_the_platform_routes_on_the_gateway_is_refused(bare: Path) -> None:
    assert_refused(bare, service(served_model_name="gpt-4"), "served_model_name",
                   "the route to openai-primary", "models.gpt-4")


def test_a_platform_entry_without_owner_counts_as_taken(bare: Path) -> None:
    assert_refused(bare, service(served_model_name="gpt-4o", envoy_ai_gateway=False),
                   "served_model_name", "the platform's own")


def test_fewer_than_two_enabled_backends_is_refused(bare: Path) -> None:
    assert_refused(bare, service(failover_backends=()), "failover_backends",
                   "at least two enabled backends", "openai-primary, shared-vllm")


def test_a_failover_backend_the_platform_does_not_define_is_refused(bare: Path) -> None:
    assert_refused(bare, service(failover_backends=("nowhere",)), "failover_backends",
                   "'nowhere' is not defined in environments/dev/models.yaml")


def test_the_gateway_without_models_values_is_refused(bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {MODELS: None}, "no gateway in dev")
    assert_refused(bare, service(), "--env", "has no environments/dev/models.yaml")


def test_a_change_that_breaks_the_models_chart_rules_is_refused(
        bare: Path, tmp_path: Path) -> None:
    """Removing the service's backend while another model fails over to it would leave a
    dangling ref: the backend is kept instead, and said so."""
    register(bare, service())
    merge(bare, BRANCH, tmp_path)
    values = yaml.safe_load(show(bare, "main", MODELS))
    values["models"]["gpt-4"]["backends"]["failover"]["ref"] = "llm-serving-tinyllama"
    commit_files(bare, tmp_path, {MODELS: yaml.safe_dump(values)}, "gpt-4 fails over")
    result = register(bare, service(), Action.remove)
    assert "llm-serving-tinyllama" in models(bare, BRANCH)["backends"]
    assert "tiny-chat" not in models(bare, BRANCH)["models"]
    assert "still route to it" in result.body


def test_problems_already_on_main_are_warnings_not_refusals(
        bare: Path, tmp_path: Path) -> None:
    broken = MODELS_VALUES.replace("        ref: shared-vllm\n", "        ref: gone\n")
    commit_files(bare, tmp_path, {MODELS: broken}, "a dangling ref")
    result = register(bare, service(envoy_ai_gateway=False, failover_backends=()))
    assert result.status == "opened"
    assert any("models.gpt-4" in w and "'gone'" in w for w in result.warnings)


def test_a_literal_key_elsewhere_is_reported_without_its_value(
        bare: Path, tmp_path: Path) -> None:
    secret = "sk-live-do-not-print-0123456789"
    text = LITELLM_VALUES.format(env="dev").replace("os.environ/OPENAI_API_KEY", secret)
    commit_files(bare, tmp_path, {LITELLM: text}, "a key pasted in")
    result = register(bare, service(envoy_ai_gateway=False, failover_backends=()))
    assert any("never hold a key" in w for w in result.warnings)
    assert secret not in repr(result.warnings) + result.body


def test_layout_from_the_routing_repositorys_config_file(tmp_path: Path) -> None:
    bare = make_routing_repo(tmp_path, environments=(), extra={
        ".inference-scaffolder/routing.yaml":
            "litellmValues: clusters/{env}/infra.yaml\nmodelsValues: clusters/{env}/ai.yaml\n",
        "clusters/dev/infra.yaml": LITELLM_VALUES.format(env="dev"),
        "clusters/dev/ai.yaml": MODELS_VALUES,
    })
    result = register(bare, service())
    assert result.files == ["clusters/dev/ai.yaml", "clusters/dev/infra.yaml"]


def test_layout_options_override_and_are_checked(bare: Path) -> None:
    with pytest.raises(UserError) as caught:
        register(bare, service(), litellm_values="../elsewhere/{env}.yaml")
    assert caught.value.field == "--litellm-values"
    assert "inside the routing repository" in caught.value.rule


def test_served_names_that_are_not_resource_names_get_a_stable_key(bare: Path) -> None:
    facts = service(served_model_name="TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    register(bare, facts)
    (key,) = set(models(bare, BRANCH)["models"]) - {"gpt-4"}
    assert key == facts.model_key and key.startswith("tinyllama-tinyllama-1-1b-chat-v1-0-")
    assert models(bare, BRANCH)["models"][key]["modelMatch"] == facts.served_model_name


def test_a_layout_the_round_trip_cannot_keep_is_said_in_a_warning(
        bare: Path, tmp_path: Path) -> None:
    odd = LITELLM_VALUES.format(env="dev").replace("  enabled: true\n  className",
                                                   "  enabled:    true\n  className")
    commit_files(bare, tmp_path, {LITELLM: odd}, "odd spacing")
    result = register(bare, service(envoy_ai_gateway=False, failover_backends=()))
    assert [w for w in result.warnings if w.startswith(f"{LITELLM}: its layout is not kept")]
    # A file the run does not edit is left as it is, however it is spaced.
    odd_models = MODELS_VALUES.replace("  name: ai-gateway", "  name:    ai-gateway")
    commit_files(bare, tmp_path, {MODELS: odd_models}, "odd spacing in models")
    result = register(bare, service(envoy_ai_gateway=False, failover_backends=()))
    assert result.files == [LITELLM] and show(bare, BRANCH, MODELS) == odd_models


def test_values_written_in_yaml_1_1_forms_are_read_as_helm_reads_them(
        bare: Path, tmp_path: Path) -> None:
    """``enabled: yes`` is a boolean to helm: not a problem, before or after the edit."""
    text = MODELS_VALUES.replace("    enabled: true\n    modelMatch", "    enabled: yes\n"
                                 "    modelMatch")
    commit_files(bare, tmp_path, {MODELS: text}, "yes")
    result = register(bare, service())
    assert result.status == "opened" and result.warnings == []


def test_a_push_between_look_and_push_makes_the_run_start_over(
        bare: Path, tmp_path: Path) -> None:
    """Compare-and-swap: the branch moved after the run looked at it; the push is refused,
    the run rebuilds on what is there now, and nothing of the other push rides along."""
    register(bare, service())
    intruder = tmp_path / "intruder"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(bare), str(intruder))
    publisher = LocalPublisher(str(bare))
    original = publisher.publish
    calls: list[str | None] = []

    def publish_after_someone_else(repo, branch, base, commit, expected, pr):  # type: ignore[no-untyped-def]
        calls.append(expected)
        if len(calls) == 1:
            (intruder / "late.txt").write_text("pushed meanwhile\n")
            git(intruder, "add", "-A")
            git(intruder, "commit", "-q", "-m", "meanwhile")
            git(intruder, "push", "-q", "origin", BRANCH)
        return original(repo, branch, base, commit, expected, pr)

    publisher.publish = publish_after_someone_else  # type: ignore[method-assign]
    result = run_register(service(served_model_name="tiny-chat-v2"), RegisterOptions("dev"),
                          publisher)
    assert result.status == "updated" and len(calls) == 2 and calls[0] != calls[1]
    assert "late.txt" not in _tree(bare, BRANCH)
    assert names(bare, BRANCH)[-1] == "tiny-chat-v2"


PREPARED = MODELS_VALUES + """\
  tiny-chat:
    enabled: false
    modelMatch: tiny-chat
    backends:
      fallback:
        enabled: true
        ref: openai-primary
        modelNameOverride: gpt-4o-mini
        priority: 1
"""


def test_a_route_the_platform_prepared_is_joined_as_its_primary(
        bare: Path, tmp_path: Path) -> None:
    """The platform may prepare the name's route with its own failover backend: the
    service becomes its priority-0 backend (no failover of its own needed), the platform's
    backend stays, and leaving the route gives it back to the platform, disabled."""
    commit_files(bare, tmp_path, {MODELS: PREPARED}, "a route waiting for its primary")
    result = register(bare, service(failover_backends=()))
    assert result.status == "opened"
    route = models(bare, BRANCH)["models"]["tiny-chat"]
    assert route["enabled"] is True
    assert route["backends"] == {
        "fallback": {"enabled": True, "ref": "openai-primary",
                     "modelNameOverride": "gpt-4o-mini", "priority": 1},
        "llm-serving-tinyllama": {"enabled": True, "ref": "llm-serving-tinyllama",
                                  "priority": 0, "weight": 100}}
    merge(bare, BRANCH, tmp_path)
    register(bare, service(failover_backends=()), Action.remove)
    route = models(bare, BRANCH)["models"]["tiny-chat"]
    assert route["enabled"] is False and list(route["backends"]) == ["fallback"]
    assert "llm-serving-tinyllama" not in models(bare, BRANCH)["backends"]


def test_a_route_with_another_primary_is_not_joined(bare: Path, tmp_path: Path) -> None:
    taken = PREPARED.replace("    enabled: false\n    modelMatch: tiny-chat",
                             "    enabled: true\n    modelMatch: tiny-chat").replace(
        "gpt-4o-mini\n        priority: 1", "gpt-4o-mini\n        priority: 0")
    assert taken.count("priority: 0") == 2
    commit_files(bare, tmp_path, {MODELS: taken}, "the platform routes tiny-chat itself")
    assert_refused(bare, service(), "served_model_name", "the route to openai-primary")
