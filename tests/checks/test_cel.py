"""CRD CEL rules (``x-kubernetes-validations``) are evaluated offline the way the API server
evaluates them on create, so `validate` refuses what the cluster would refuse; a rule that
cannot be evaluated is a note, never a pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_routing import platform_routing_objects
from test_bundled_schemas import CI_VALUES, api_version_choices, deep_merge, every_option_on

from inference_scaffolder.chart import base_values, chart_source_dir
from inference_scaffolder.checks.cel import CelFinding, cel_findings, schema_rules
from inference_scaffolder.checks.manifests import (
    SchemaCatalog,
    bundled_crd_schema_dir,
    validate_manifests,
)
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm


def obj_schema(properties: dict[str, Any], rules: list[dict[str, Any]] | None = None,
               **extra: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if rules:
        node["x-kubernetes-validations"] = rules
    return node


def failures(obj: dict[str, Any], schema: dict[str, Any]) -> list[tuple[str, str]]:
    found = cel_findings(obj, schema)
    assert all(f.evaluable for f in found), found
    return [(f.path, f.message) for f in found]


# --- the evaluator on small schemas ---------------------------------------------------------

def test_a_broken_rule_is_reported_with_its_path_and_message() -> None:
    schema = obj_schema({"spec": obj_schema(
        {"min": {"type": "integer"}, "max": {"type": "integer"}},
        [{"rule": "self.min <= self.max", "message": "min must not exceed max"}])})
    assert failures({"spec": {"min": 1, "max": 2}}, schema) == []
    assert failures({"spec": {"min": 3, "max": 2}}, schema) == [("spec", "min must not exceed max")]


def test_a_rule_without_message_names_itself() -> None:
    schema = obj_schema({"a": {"type": "string", "x-kubernetes-validations": [
        {"rule": "self != 'x'"}]}})
    assert failures({"a": "x"}, schema) == [("a", "failed rule: self != 'x'")]


def test_defaults_are_applied_before_the_rules_run() -> None:
    """The API server defaults first: a missing field with a default is seen by the rule."""
    spec = obj_schema({"mode": {"type": "string", "default": "Strict"},
                       "nested": obj_schema({"level": {"type": "integer", "default": 5}})},
                      [{"rule": "self.mode == 'Strict' ? self.nested.level < 3 : true",
                        "message": "strict mode needs level below 3"}])
    spec["properties"]["nested"]["default"] = {}
    schema = obj_schema({"spec": spec})
    assert failures({"spec": {}}, schema) == [("spec", "strict mode needs level below 3")]
    assert failures({"spec": {"mode": "Loose"}}, schema) == []


def test_self_is_bound_in_list_items_and_map_values() -> None:
    item = obj_schema({"port": {"type": "integer"}},
                      [{"rule": "self.port > 0", "message": "port must be positive"}])
    schema = obj_schema({"spec": obj_schema({
        "list": {"type": "array", "items": item},
        "map": {"type": "object", "additionalProperties": item},
    })})
    obj = {"spec": {"list": [{"port": 1}, {"port": 0}], "map": {"a": {"port": 2},
                                                                  "b.c": {"port": -1}}}}
    assert failures(obj, schema) == [("spec.list[1]", "port must be positive"),
                                     ("spec.map['b.c']", "port must be positive")]


def test_rules_on_absent_values_do_not_run() -> None:
    schema = obj_schema({"spec": obj_schema({"opt": {"type": "string",
                                                      "x-kubernetes-validations": [
                                                          {"rule": "false", "message": "x"}]}})})
    assert failures({"spec": {}}, schema) == []


def test_message_expression_is_evaluated() -> None:
    schema = obj_schema({"n": {"type": "integer", "x-kubernetes-validations": [
        {"rule": "self < 10", "message": "too big",
         "messageExpression": "'n is ' + string(self) + ', over 9'"}]}})
    assert failures({"n": 12}, schema) == [("n", "n is 12, over 9")]


def test_field_path_and_reason_are_honoured() -> None:
    schema = obj_schema({"spec": obj_schema({"a": {"type": "string"}}, [
        {"rule": "has(self.a)", "message": "a is required", "fieldPath": ".a",
         "reason": "FieldValueRequired"}])})
    assert failures({"spec": {}}, schema) == [("spec.a (FieldValueRequired)", "a is required")]


def test_transition_rules_do_not_apply_on_create() -> None:
    schema = obj_schema({"spec": obj_schema({"a": {"type": "string"}}, [
        {"rule": "self.a == oldSelf.a", "message": "a is immutable"},
        {"rule": "false", "optionalOldSelf": True, "message": "never on create"}])})
    assert cel_findings({"spec": {"a": "x"}}, schema) == []


@pytest.mark.parametrize(("rule", "reason"), [
    ("self.?a.orValue('') == ''", "cannot parse"),
    ("isURL(self.a)", "calls isURL"),
    ("self.a.quantity().isGreaterThan(quantity('1'))", "calls isGreaterThan, quantity"),
])
def test_a_rule_it_cannot_evaluate_is_a_note_never_a_pass(rule: str, reason: str) -> None:
    schema = obj_schema({"spec": obj_schema({"a": {"type": "string"}},
                                            [{"rule": rule, "message": "m"}])})
    [finding] = cel_findings({"spec": {"a": "x"}}, schema)
    assert finding == CelFinding("spec", finding.message, rule, evaluable=False)
    assert reason in finding.message


def test_an_evaluation_error_refuses_the_object() -> None:
    """The API server refuses an object whose rule errors (e.g. reading an absent field)."""
    schema = obj_schema({"spec": obj_schema({"a": {"type": "string"}, "b": {"type": "string"}},
                                            [{"rule": "self.b == 'x'", "message": "b is x"}])})
    [(path, message)] = failures({"spec": {"a": "y"}}, schema)
    assert path == "spec" and message.startswith("b is x (evaluation error: ")


@pytest.mark.parametrize(("rule", "value", "ok"), [
    ("self.lowerAscii() == 'abc'", "AbC", True),
    ("self.upperAscii() == 'ABC'", "abc", True),
    ("self.split('/')[0].size() < 3", "ab/cdef", True),
    ("self.split('/', 2) == ['a', 'b/c']", "a/b/c", True),
    ("self.split('/').join('-') == 'a-b'", "a/b", True),
    ("self.replace('a', 'b') == 'bbc'", "abc", True),
    ("self.substring(1, 3) == 'bc'", "abcd", True),
    ("self.indexOf('c') == 2 && self.lastIndexOf('a') == 3", "abca", True),
    ("self.trim() == 'x'", "  x ", True),
    ("self.find('[0-9]+') == '42'", "ab42cd7", True),
    ("self.findAll('[0-9]+') == ['42', '7']", "ab42cd7", True),
    ("self.matches('^[a-z]+$')", "abc1", False),
    ("self.startsWith('a') && self.endsWith('c') && self.contains('b')", "abc", True),
    ("duration(self) < duration('1h30m')", "90s", True),
    ("duration(self) < duration('1h30m')", "2h", False),
])
def test_string_functions_the_bundled_rules_use(rule: str, value: str, ok: bool) -> None:
    schema = obj_schema({"s": {"type": "string", "x-kubernetes-validations": [
        {"rule": rule, "message": "broken"}]}})
    assert failures({"s": value}, schema) == ([] if ok else [("s", "broken")])


@pytest.mark.parametrize(("rule", "ok"), [
    ("self.all(x, x > 0)", True),
    ("self.exists_one(x, x == 2)", True),
    ("self.filter(x, x > 1).size() == 2", True),
    ("self.map(x, x * 2) == [2, 4, 6]", True),
    ("self.isSorted() && self.sum() == 6 && self.max() == 3 && self.min() == 1", True),
    ("self.indexOf(2) == 1", True),
    ("self.exists(x, x > 3)", False),
])
def test_list_functions_the_bundled_rules_use(rule: str, ok: bool) -> None:
    schema = obj_schema({"l": {"type": "array", "items": {"type": "integer"},
                               "x-kubernetes-validations": [{"rule": rule, "message": "no"}]}})
    assert failures({"l": [1, 2, 3]}, schema) == ([] if ok else [("l", "no")])


def test_a_hostile_list_cannot_make_evaluation_run_away() -> None:
    """A nested comprehension over a huge list is estimated, not run: a note, and it ends."""
    rule = "self.all(a, self.all(b, a == b || a != b))"
    schema = obj_schema({"l": {"type": "array", "items": {"type": "integer"},
                               "x-kubernetes-validations": [{"rule": rule, "message": "m"}]}})
    [finding] = cel_findings({"l": list(range(20_000))}, schema)
    assert not finding.evaluable and "budget" in finding.message
    assert cel_findings({"l": list(range(20))}, schema) == []


# --- custom resources as rendered (the chart's and the platform's routing objects): valid,
# --- and refused when one rule breaks ----------------------------------------------------------

ROUTING = {
    "engine": "vllm",
    "container": {"secrets": [{"name": "VLLM_API_KEY", "secretKey": "vllm-api-key",
                               "vaultPath": "/secret/ci/vllm-key"}]},
    "autoscaling": {"prometheus": {"serverAddress": "http://prometheus.monitoring:9090"}},
    "imagePullSecret": {"vaultPath": "/secret/ci/ghcr"},
    "ingress": {"host": "every-option.example.com"},
}


def render_every_option(tmp_path: Path, extra: dict[str, Any]) -> list[dict[str, Any]]:
    values = deep_merge(deep_merge(every_option_on(base_values()), ROUTING), extra)
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_helm(["template", "cel", str(chart_source_dir()), "-f", str(CI_VALUES),
                     "-f", str(values_file)])
    assert done.ok, done.stderr
    return [doc for doc, _ in parse_rendered(done.stdout)]


Render = list[dict[str, Any]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Render, int]]:
    """Per custom resource kind the chart renders, and the platform renders for its model
    (its gateway's objects): the set it is in and its position."""
    objects: dict[str, tuple[Render, int]] = {}
    docs = render_every_option(tmp_path_factory.mktemp("cel"), {})
    docs += platform_routing_objects("lint-check", "lint-check", 80, "tinyllama")
    for position, doc in enumerate(docs):
        objects.setdefault(doc["kind"], (docs, position))
    return objects


def check(docs: Render, position: int, obj: dict[str, Any]) -> list[str]:
    """The problems `validate` reports for ``obj`` in place of the object at ``position``
    of its render (the other objects are there for the checks that look across them)."""
    replaced = [(obj if i == position else d, "rendered") for i, d in enumerate(docs)]
    result = validate_manifests(replaced, SchemaCatalog("1.33", None))[position]
    assert result.notes == []
    return result.errors


def bundled_file(obj: dict[str, Any]) -> Path:
    group, _, version = obj["apiVersion"].rpartition("/")
    return bundled_crd_schema_dir() / group / f"{obj['kind'].lower()}_{version}.json"


def bundled_messages(obj: dict[str, Any]) -> set[str]:
    return {r.get("message", "")
            for r in schema_rules(json.loads(bundled_file(obj).read_text()))}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return mutate


def _append_copy(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        node: Any = obj
        for part in path.split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        node.append(copy.deepcopy(node[0]))
    return mutate


# (kind, mutation, field path, the CRD rule's own message)
MUTATIONS = [
    ("HTTPRoute", _set("spec.rules.0.matches.0.path.value", "/v1//chat"),
     "spec.rules[0].matches[0].path",
     "must not contain '//' when type one of ['Exact', 'PathPrefix']"),
    ("Gateway", _set("spec.listeners.0.protocol", "HTTP"), "spec.listeners",
     "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"),
    ("AIGatewayRoute", _set("spec.rules.0.name", "route-not-found"), "spec.rules[0]",
     "rule name route-not-found is reserved"),
    ("AIServiceBackend", _set("spec.backendRef.kind", "Service"), "spec.backendRef",
     "BackendRef must be a Backend resource of Envoy Gateway. See "
     "https://github.com/envoyproxy/ai-gateway/issues/902 for more details."),
    ("BackendSecurityPolicy", _set("spec.targetRefs.0.kind", "Service"), "spec.targetRefs",
     "targetRefs must reference AIServiceBackend or InferencePool resources"),
    ("Backend", _set("spec.endpoints.0.ip", {"address": "10.0.0.1", "port": 8000}),
     "spec.endpoints[0]", "only one of fqdn, ip or unix can be specified"),
    ("InferencePool", _append_copy("spec.targetPorts"), "spec.targetPorts",
     "port number must be unique"),
    ("ScaledObject", _set("spec.minReplicaCount", 9), "spec",
     "minReplicaCount must be less than or equal to maxReplicaCount"),
    ("RateLimitPolicy", _set("spec.targetRef.group", "example.com"), "spec.targetRef",
     "Invalid targetRef.group. The only supported value is 'gateway.networking.k8s.io'"),
]


@pytest.mark.parametrize(("kind", "mutate", "path", "message"), MUTATIONS,
                         ids=[m[0] for m in MUTATIONS])
def test_each_rendered_kind_is_refused_when_one_cel_rule_breaks(
    rendered: dict[str, tuple[Render, int]], kind: str,
    mutate: Callable[[dict[str, Any]], None], path: str, message: str,
) -> None:
    docs, position = rendered[kind]
    original = docs[position]
    assert message in bundled_messages(original), "not the CRD's own message"
    assert check(docs, position, original) == []
    broken = copy.deepcopy(original)
    mutate(broken)
    assert check(docs, position, broken) == [f"{path}: {message}"]


def test_every_rendered_kind_with_rules_has_a_mutation(
    rendered: dict[str, tuple[Render, int]]
) -> None:
    with_rules = {kind for kind, (docs, position) in rendered.items()
                  if bundled_file(docs[position]).is_file() and bundled_messages(docs[position])}
    assert with_rules == {kind for kind, *_ in MUTATIONS}


@pytest.mark.parametrize("api_versions", api_version_choices(),
                         ids=lambda c: ",".join(v.rpartition("/")[2] for v in c.values()))
@pytest.mark.parametrize("pool", [True, False], ids=["pool", "backend"])
def test_every_option_passes_every_cel_rule(tmp_path: Path, api_versions: dict[str, str],
                                            pool: bool) -> None:
    docs = render_every_option(tmp_path, {"apiVersions": api_versions,
                                          "routing": {"inferencePool": {"enabled": pool}}})
    results = validate_manifests([(d, "rendered") for d in docs], SchemaCatalog("1.33", None))
    assert [(r.kind, r.errors, r.notes) for r in results if r.errors or r.notes] == []
