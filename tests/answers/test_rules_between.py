"""Rules between answers, checked as soon as their answers are known: what lets interactive
``new`` refuse a mistake at its second answer instead of after every question."""

from __future__ import annotations

import pytest

from inference_scaffolder.answers import (
    FIELDS_BY_KEY,
    answer_fields,
    check_answer,
    check_rules_between,
)
from inference_scaffolder.answers.rules import RULES_BETWEEN_ANSWERS
from inference_scaffolder.errors import UserError


def known(**raw: object) -> dict[str, object]:
    """Answers as an interactive prompt holds them: each checked on its own."""
    return {key: check_answer(key, value) for key, value in raw.items()}


def test_a_rule_waits_for_its_second_answer() -> None:
    check_rules_between(known(max_input_tokens="8192"), "max_input_tokens")
    with pytest.raises(UserError) as refused:
        check_rules_between(known(max_input_tokens="8192", max_total_tokens="8192"),
                            "max_total_tokens")
    assert refused.value.field == "max_input_tokens"
    assert "must be lower than max_total_tokens (8192 >= 8192)" in refused.value.rule


@pytest.mark.parametrize(("first", "second", "field"), [
    ({"envoy_ai_gateway": "false"}, {"rate_limit_per_minute": "100"}, "rate_limit_per_minute"),
    ({"routing": "false"}, {"inference_pool": "true"}, "inference_pool"),
    ({"engine": "tgi"}, {"inference_pool": "true"}, "inference_pool"),
    ({"memory_request": "96Gi"}, {"memory_limit": "64Gi"}, "memory_request"),
    ({"autoscaling_max_replicas": "4"}, {"prometheus_query_url": ""}, "prometheus_query_url"),
    ({"image_pull_secret": "true"}, {"image_pull_secret_vault_path": ""},
     "image_pull_secret_vault_path"),
])
def test_each_rule_is_refused_at_its_last_answer_only(
    first: dict[str, str], second: dict[str, str], field: str,
) -> None:
    check_rules_between(known(**first), next(iter(first)))
    with pytest.raises(UserError) as refused:
        check_rules_between(known(**first, **second), next(iter(second)))
    assert refused.value.field == field


def test_an_answer_that_breaks_a_rule_alone_is_refused_when_typed() -> None:
    """Rules the schema cannot state about one answer need no second one."""
    with pytest.raises(UserError, match="must be at least 500m"):
        check_rules_between(known(cpu_request="100m"), "cpu_request")
    with pytest.raises(UserError, match="MODEL_ID is set by the chart"):
        check_rules_between(known(environment_variables="MODEL_ID=x"), "environment_variables")


def test_with_latest_only_the_rules_it_completes_are_checked() -> None:
    broken = known(max_input_tokens="9000", max_total_tokens="8192", gpu_count="2")
    check_rules_between(broken, "gpu_count")  # gpu_count is in no rule with them
    with pytest.raises(UserError):
        check_rules_between(broken)


def test_every_rule_can_be_set_right_by_the_answer_asked_last() -> None:
    """Interactive `new` asks the last answer of a broken rule again, so that answer must be
    one the form asks, after the others of the rule."""
    order = [f.key for f in answer_fields()]
    for rule in RULES_BETWEEN_ANSWERS:
        assert set(rule.keys) <= set(FIELDS_BY_KEY), rule.keys
        last = max(rule.keys, key=order.index)
        assert FIELDS_BY_KEY[last].in_form, rule.keys


def test_a_rule_sees_only_the_answers_it_names() -> None:
    """A rule reading an answer it does not name would be checked too early (or with a
    default) in interactive `new`; it fails loudly instead."""
    every = known(max_input_tokens="100", max_total_tokens="200")
    rule = next(r for r in RULES_BETWEEN_ANSWERS if "max_total_tokens" in r.keys)
    rule.apply(every)
    with pytest.raises(KeyError):
        type(rule)(("max_total_tokens",), rule.check).apply(every)
