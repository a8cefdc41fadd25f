"""A routing repository is shared: anyone who can push to it writes the files ``register``
reads. Links (to host files or out of the clone), oversized files, alias bombs, deep nesting,
several documents and non-mapping values are refused in one line, nothing is pushed, and no
host file is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from routing_repo import LITELLM_VALUES, branch_sha, commit_files, make_routing_repo

from inference_scaffolder.errors import UserError
from inference_scaffolder.publish import LocalPublisher
from inference_scaffolder.registration.facts import checked_facts
from inference_scaffolder.registration.pull_request import RegisterOptions, run_register

LITELLM = "environments/dev/inference-infrastructure.yaml"
MODELS = "environments/dev/models.yaml"
BRANCH = "inference-scaffolder/register/dev/llm-serving/tinyllama"
FACTS = checked_facts(
    service_name="tinyllama", namespace="llm-serving", served_model_name="tiny-chat",
    engine="vllm", litellm_provider="hosted_vllm",
    base_url="http://tinyllama.llm-serving.svc.cluster.local:80/v1",
    api_key_env="ENGINE_KEY_LLM_SERVING_TINYLLAMA", envoy_ai_gateway=True,
    failover_backends=("shared-vllm",))

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
litellm-proxy:
  litellm:
    modelList: [*g]
"""


def refused(bare: Path) -> UserError:
    with pytest.raises(UserError) as caught:
        run_register(FACTS, RegisterOptions("dev"), LocalPublisher(str(bare)))
    assert "\n" not in caught.value.one_line()
    assert branch_sha(bare, BRANCH) is None
    return caught.value


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return make_routing_repo(tmp_path)


def test_a_values_file_linked_to_a_host_file_is_not_followed(
        bare: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.yaml"
    secret.write_text("litellm-proxy: {litellm: {modelList: []}}\nhost_only_marker: 1\n")
    commit_files(bare, tmp_path, {}, "link", links={LITELLM: str(secret)})
    error = refused(bare)
    assert error.field == LITELLM and "symbolic link" in error.rule


def test_a_linked_environment_folder_is_not_followed(bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {}, "move dev", links={"environments/dev": "../elsewhere"})
    error = refused(bare)
    assert error.field == "environments/dev" and "symbolic link" in error.rule


def test_a_linked_layout_file_is_not_followed(bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {}, "layout", links={".inference-scaffolder/routing.yaml":
                                                      "/etc/hostname"})
    error = refused(bare)
    assert error.field == ".inference-scaffolder/routing.yaml"


def test_a_huge_values_file_is_refused_unread(bare: Path, tmp_path: Path) -> None:
    padding = "# " + "x" * 1022 + "\n"
    commit_files(bare, tmp_path, {LITELLM: LITELLM_VALUES + padding * 9 * 1024}, "huge")
    error = refused(bare)
    assert error.field == LITELLM and "larger than" in error.rule


def test_a_yaml_alias_bomb_is_refused(bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {LITELLM: BOMB}, "bomb")
    error = refused(bare)
    assert error.field == LITELLM and "aliases expand" in error.rule


def test_deep_nesting_is_refused(bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {MODELS: "models: " + "[" * 5000 + "]" * 5000 + "\n"},
                 "deep")
    error = refused(bare)
    assert error.field == MODELS and "nesting" in error.rule


@pytest.mark.parametrize(("text", "fragment"), [
    ("a: 1\n---\nb: 2\n", "holds 2 YAML documents"),
    ("- just\n- a list\n", "where a mapping of values was expected"),
    ("litellm-proxy:\n  litellm:\n    modelList: {a: 1}\n", "modelList is not a list"),
    ("litellm-proxy:\n  litellm: [1]\n", "litellm-proxy.litellm is not a mapping"),
    ("a: 1\na: 2\n", "cannot be edited as YAML"),
    ("a: [\n", "is not valid YAML"),
])
def test_values_files_of_the_wrong_shape_are_refused(
        bare: Path, tmp_path: Path, text: str, fragment: str) -> None:
    commit_files(bare, tmp_path, {LITELLM: text}, "odd")
    error = refused(bare)
    assert error.field == LITELLM and fragment in error.rule, error


def test_a_layout_pointing_out_of_the_repository_is_refused(
        bare: Path, tmp_path: Path) -> None:
    commit_files(bare, tmp_path, {".inference-scaffolder/routing.yaml":
                                  "litellmValues: ../../{env}/values.yaml\n"}, "layout")
    error = refused(bare)
    assert error.field == ".inference-scaffolder/routing.yaml: litellmValues"
    assert "inside the routing repository" in error.rule


def test_facts_from_a_service_repository_are_checked_before_use() -> None:
    """A service repository is anyone's edit too: nothing it says is written unchecked."""
    good = dict(service_name="a", namespace="b", served_model_name="m", engine="vllm",
                base_url="http://a.b.svc.cluster.local:80/v1", api_key_env="",
                envoy_ai_gateway=False)
    for change, field in [
        ({"served_model_name": "m\nx"}, "served_model_name"),
        ({"base_url": "http://user:pw@a.b.svc:80/v1"}, "base_url"),
        ({"base_url": "file:///etc/passwd"}, "base_url"),
        ({"api_key_env": "A=B"}, "api_key_env"),
        ({"litellm_provider": "bedrock"}, "litellm_provider"),
        ({"failover_backends": ["a b"]}, "failover_backends"),
        ({"namespace": "../x"}, "namespace"),
        # A name read from a file may end in a line break: it is no resource name.
        ({"namespace": "b\n"}, "namespace"),
        ({"service_name": "a\n"}, "service_name"),
        ({"base_url": "http://a.b.svc.cluster.local\n:80/v1"}, "base_url"),
        ({"api_key_env": "KEY\n"}, "api_key_env"),
        ({"failover_backends": ["shared\n"]}, "failover_backends"),
        ({"api_key_vault_path": "/secret/key\n"}, "api_key_vault_path"),
    ]:
        with pytest.raises(UserError) as caught:
            checked_facts(**{**good, **change})
        assert caught.value.field == field, change
