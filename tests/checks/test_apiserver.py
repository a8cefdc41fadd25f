"""What the API server and the controllers refuse beyond the JSON Schemas, proven by mutation:
a corpus of valid rendered objects passes `check-manifests`, and each mutation that breaks
exactly one rule is refused with that rule's own message at the field it breaks."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_routing import platform_routing_objects

from inference_scaffolder import cli
from inference_scaffolder.chart import base_values, chart_source_dir
from inference_scaffolder.checks.apiserver import apiserver_findings, parse_quantity
from inference_scaffolder.checks.references import reference_findings
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm

Objects = list[dict[str, Any]]
CI_VALUES = chart_source_dir() / "ci" / "default-values.yaml"


def _every_option_on(node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (node.items() if isinstance(node, dict) else []):
        if key == "enabled" and isinstance(value, bool):
            out[key] = True
        elif isinstance(value, dict) and (nested := _every_option_on(value)):
            out[key] = nested
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (_merge(merged[key], value) if isinstance(value, dict)
                       and isinstance(merged.get(key), dict) else value)
    return merged


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """The base chart with every option on: each kind it can render, valid; with the
    routing objects the platform renders for its model (its gateway's and LiteLLM's)."""
    values = _merge(_every_option_on(base_values()), {
        "engine": "vllm",
        "container": {"secrets": [{"name": "VLLM_API_KEY", "secretKey": "vllm-api-key",
                                   "vaultPath": "/secret/ci/vllm-key"}]},
        "imagePullSecret": {"vaultPath": "/secret/ci/ghcr"},
        "ingress": {"host": "every-option.example.com"},
        "autoscaling": {"prometheus": {"serverAddress": "http://thanos.monitoring.svc:9090"}},
    })
    values_file = tmp_path_factory.mktemp("corpus") / "every-option.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_helm(["template", "every-option", str(chart_source_dir()), "-f", str(CI_VALUES),
                     "-f", str(values_file), "--namespace", "lint-check"])
    assert done.ok, done.stderr
    rendered = [doc for doc, _ in parse_rendered(done.stdout)]
    return rendered + platform_routing_objects("lint-check", "lint-check", 80, "tinyllama")


def check_manifests(objects: Objects, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    *options: str) -> tuple[int, list[str]]:
    """`inference-scaffolder check-manifests FILE`: (exit code, problem lines)."""
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    capsys.readouterr()
    code = cli.main(["check-manifests", str(path), *options])
    return code, capsys.readouterr().out.splitlines()


def one(objects: Objects, kind: str, name: str = "") -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in ("", o["metadata"]["name"])]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def engine(objects: Objects) -> dict[str, Any]:
    return one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def _set_service_name(objects: Objects, name: str) -> None:
    service = one(objects, "Service")
    old = service["metadata"]["name"]
    service["metadata"]["name"] = name
    for ref in one(objects, "HTTPRoute", PUBLIC_ROUTE)["spec"]["rules"][0]["backendRefs"]:
        if ref["name"] == old:
            ref["name"] = name


def _public_backend(objects: Objects) -> dict[str, Any]:
    return one(objects, "HTTPRoute", PUBLIC_ROUTE)["spec"]["rules"][0]["backendRefs"][0]


def _rename_public_route(objects: Objects, name: str) -> None:
    one(objects, "HTTPRoute", PUBLIC_ROUTE)["metadata"]["name"] = name


def _rename_gateway(objects: Objects, name: str) -> None:
    one(objects, "Gateway")["metadata"]["name"] = name
    one(objects, "HTTPRoute", PUBLIC_ROUTE)["spec"]["parentRefs"][0]["name"] = name


PUBLIC_ROUTE = "lint-check-http-route"
Mutation = Callable[[Objects], None]
# (what breaks, the change, the object refused, the field path, the rule's words)
MUTATIONS: list[tuple[str, Mutation, str, str, str]] = [
    ("label value longer than 63",
     lambda o: one(o, "ConfigMap")["metadata"]["labels"].update(catalog="c" * 64),
     "ConfigMap", "metadata.labels", "must be no more than 63 characters"),
    ("label value with a bad character",
     lambda o: one(o, "PersistentVolumeClaim")["metadata"]["labels"].update(catalog="a b"),
     "PersistentVolumeClaim", "metadata.labels", "a valid label must be an empty string"),
    ("label key prefix not a DNS subdomain",
     lambda o: one(o, "Service")["metadata"]["labels"].update({"Example.COM/x": "y"}),
     "Service", "metadata.labels", "prefix part a lowercase RFC 1123 subdomain"),
    ("annotation key with two slashes",
     lambda o: one(o, "Deployment")["metadata"]["annotations"].update({"a/b/c": "x"}),
     "Deployment", "metadata.annotations", "a qualified name must consist of"),
    ("annotations over 256 KiB",
     lambda o: one(o, "Certificate")["metadata"].update(annotations={"big": "x" * 262144}),
     "Certificate", "metadata.annotations", "Too long: must have at most 262144 bytes"),
    ("object name not a DNS-1123 subdomain",
     lambda o: one(o, "PodDisruptionBudget")["metadata"].update(name="Lint_Check"),
     "PodDisruptionBudget", "metadata.name", "a lowercase RFC 1123 subdomain must consist"),
    ("Service name not a DNS-1035 label",
     lambda o: _set_service_name(o, "1-lint-check"),
     "Service", "metadata.name", "a DNS-1035 label must consist of lower case"),
    ("namespace not a DNS-1123 label",
     lambda o: one(o, "NetworkPolicy", "lint-check")["metadata"].update(namespace="a.b"),
     "NetworkPolicy", "metadata.namespace", "a lowercase RFC 1123 label must consist"),
    ("container name not a DNS-1123 label",
     lambda o: engine(o).update(name="vLLM"),
     "Deployment", "spec.template.spec.containers[0].name", "a lowercase RFC 1123 label"),
    ("port name with consecutive hyphens",
     lambda o: engine(o)["ports"].append({"name": "met--rics", "containerPort": 9000}),
     "Deployment", "spec.template.spec.containers[0].ports[1].name",
     "must not contain consecutive hyphens"),
    ("port name longer than 15",
     lambda o: engine(o)["ports"].append({"name": "metrics-endpoint", "containerPort": 9000}),
     "Deployment", "spec.template.spec.containers[0].ports[1].name",
     "must be no more than 15 characters"),
    ("two ports of one name",
     lambda o: engine(o)["ports"].append({"name": "http", "containerPort": 9000}),
     "Deployment", "spec.template.spec.containers[0].ports[1].name",
     'Duplicate value: "http"'),
    ("two volumes of one name",
     lambda o: one(o, "Deployment")["spec"]["template"]["spec"]["volumes"].append(
         {"name": "dshm", "emptyDir": {}}),
     "Deployment", "spec.template.spec.volumes[2].name", 'Duplicate value: "dshm"'),
    ("a mount of a volume the pod lacks",
     lambda o: engine(o)["volumeMounts"].append({"name": "scratch", "mountPath": "/tmp"}),
     "Deployment", "spec.template.spec.containers[0].volumeMounts[2].name",
     'Not found: "scratch"'),
    ("a probe on a port the container lacks",
     lambda o: engine(o)["readinessProbe"]["httpGet"].update(port="metrics"),
     "Deployment", "spec.template.spec.containers[0].readinessProbe.httpGet.port",
     "is not the name of a port of this container"),
    ("memory request above its limit",
     lambda o: engine(o)["resources"]["requests"].update(memory="65Gi"),
     "Deployment", "spec.template.spec.containers[0].resources.requests[memory]",
     "must be less than or equal to memory limit of 64Gi"),
    ("cpu quantity that does not parse",
     lambda o: one(o, "Pod")["spec"]["containers"][0]["resources"]["limits"].update(
         cpu="100 m"),
     "Pod", "spec.containers[0].resources.limits[cpu]", "quantities must match the regular"),
    ("GPU request unequal to its limit",
     lambda o: engine(o)["resources"]["requests"].update({"nvidia.com/gpu": 2}),
     "Deployment", "spec.template.spec.containers[0].resources.requests[nvidia.com/gpu]",
     "must be equal to nvidia.com/gpu limit of 1"),
    ("GPU requested without a limit",
     lambda o: engine(o)["resources"]["limits"].pop("nvidia.com/gpu"),
     "Deployment", "spec.template.spec.containers[0].resources.limits",
     "Limit must be set for non overcommitable resources"),
    ("a fraction of a GPU",
     lambda o: one(o, "Pod")["spec"]["containers"][0]["resources"]["limits"].update(
         {"nvidia.com/gpu": "0.5"}),
     "Pod", "spec.containers[0].resources.limits[nvidia.com/gpu]", "must be an integer"),
    ("selector that misses the pod template",
     lambda o: one(o, "Deployment")["spec"]["selector"]["matchLabels"].update(tier="gpu"),
     "Deployment", "spec.template.metadata.labels",
     "`selector` does not match template `labels`"),
    ("environment variable name with '='",
     lambda o: engine(o)["env"].append({"name": "A=B", "value": "x"}),
     "Deployment", "spec.template.spec.containers[0].env[2].name",
     "printable ASCII characters other than '='"),
    ("ConfigMap key with a space",
     lambda o: one(o, "ConfigMap")["data"].update({"models list.yaml": ""}),
     "ConfigMap", "data[models list.yaml]", "a valid config key must consist"),
    ("selector expression In without values",
     lambda o: one(o, "NetworkPolicy", "lint-check")["spec"]["ingress"][0]["from"][0][
         "namespaceSelector"]["matchExpressions"][0].update(values=[]),
     "NetworkPolicy", "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
     "must be specified when `operator` is 'In' or 'NotIn'"),
    # Names controllers derive
    ("Istio's <gateway>-istio Service name over 63",
     lambda o: _rename_gateway(o, "g" * 58),
     "Gateway", "metadata.name", "Istio deploys this Gateway as Service and Deployment"),
    ("endpoint picker Service name not a DNS-1035 label",
     lambda o: one(o, "InferencePool")["spec"]["endpointPickerRef"].update(name="9-epp"),
     "InferencePool", "spec.endpointPickerRef.name", "the endpoint picker's Service cannot"),
    ("a rendered HTTPRoute named like an AIGatewayRoute",
     lambda o: _rename_public_route(o, "lint-check-model"),
     "AIGatewayRoute", "metadata.name", "Envoy AI Gateway generates an HTTPRoute of this name"),
    # Same-namespace references
    ("route backend Service not rendered",
     lambda o: _public_backend(o).update(name="other"),
     "HTTPRoute", "spec.rules[0].backendRefs[0].name", "no Service of that name is rendered"),
    ("route backend port the Service lacks",
     lambda o: _public_backend(o).update(port=8080),
     "HTTPRoute", "spec.rules[0].backendRefs[0].port", "Not found: 8080"),
    ("route parent listener the Gateway lacks",
     lambda o: one(o, "HTTPRoute", PUBLIC_ROUTE)["spec"]["parentRefs"][0].update(
         sectionName="http"),
     "HTTPRoute", "spec.parentRefs[0].sectionName", "no listener of that name"),
    ("policy target not rendered",
     lambda o: one(o, "BackendSecurityPolicy")["spec"]["targetRefs"][0].update(name="pool"),
     "BackendSecurityPolicy", "spec.targetRefs[0].name", "the policy would apply to nothing"),
    ("rate limit on a route nothing renders (the AIGatewayRoute's HTTPRoute does count)",
     lambda o: one(o, "RateLimitPolicy")["spec"]["targetRef"].update(name="nothing"),
     "RateLimitPolicy", "spec.targetRef.name", "the policy would apply to nothing"),
    ("KEDA target not rendered",
     lambda o: one(o, "ScaledObject")["spec"]["scaleTargetRef"].update(name="other"),
     "ScaledObject", "spec.scaleTargetRef.name", "KEDA would scale nothing"),
    ("listener certificate nobody writes",
     lambda o: one(o, "Certificate")["spec"].update(secretName="other-tls"),
     "Gateway", "spec.listeners[0].tls.certificateRefs[0].name", "nothing here writes it"),
    ("a Secret key the ExternalSecret does not write",
     lambda o: engine(o)["env"][1]["valueFrom"]["secretKeyRef"].update(key="api-key"),
     "Deployment", "spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.key",
     'Not found: "api-key": Secret lint-check-secrets is written with the keys'),
    ("two writers of one Secret",
     lambda o: one(o, "ExternalSecret", "litellm-engine-keys")["spec"]["target"]
     .update(name="lint-check-tls-cert"),
     "ExternalSecret", "spec.target.name", "is also written by Certificate/lint-check-tls-cert"),
]


def test_the_corpus_renders_every_kind_the_rules_cover(corpus: Objects) -> None:
    """Guard: each mutation below has its object to break."""
    kinds = {o["kind"] for o in corpus}
    assert {m[2] for m in MUTATIONS} <= kinds


def test_the_corpus_passes(corpus: Objects, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert check_manifests(corpus, tmp_path, capsys) == (0, [])


@pytest.mark.parametrize(("kind", "path", "words", "change"),
                         [pytest.param(m[2], m[3], m[4], m[1], id=m[0]) for m in MUTATIONS])
def test_each_mutation_is_refused_with_its_rule(
    corpus: Objects, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    kind: str, path: str, words: str, change: Mutation,
) -> None:
    mutated = copy.deepcopy(corpus)
    change(mutated)
    code, lines = check_manifests(mutated, tmp_path, capsys)
    assert code == 1
    assert len(lines) == 1, lines  # exactly one rule broken
    _, shown_object, shown_path, message = lines[0].split(": ", 3)
    assert shown_object.startswith(f"{kind}/")
    assert shown_path == path
    assert words in message


def test_environment_variable_names_follow_the_requested_kubernetes_version(
    corpus: Objects, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Before 1.32 (RelaxedEnvironmentVariableValidation) a name must not start with a
    digit; from 1.32 any printable ASCII but '=' is taken."""
    mutated = copy.deepcopy(corpus)
    engine(mutated)["env"].append({"name": "1ST", "value": "x"})
    assert check_manifests(mutated, tmp_path, capsys, "--kube-version", "1.33") == (0, [])
    code, lines = check_manifests(mutated, tmp_path, capsys, "--kube-version", "1.31")
    assert code == 1 and len(lines) == 1
    assert "must not start with a digit" in lines[0]


@pytest.mark.parametrize(("text", "value"), [
    ("64Gi", 64 * 2**30), ("500m", 0.5), ("1e3", 1000), ("1.5k", 1500), ("4", 4), (".5", 0.5),
])
def test_quantities_parse_as_kubernetes_reads_them(text: str, value: float) -> None:
    assert float(parse_quantity(text) or -1) == value


@pytest.mark.parametrize("text", ["64GB", "1e", "", "--1", "1e99999999999999999999", "1" * 300,
                                  True, None, [1]])
def test_what_is_not_a_quantity_is_none(text: Any) -> None:
    assert parse_quantity(text) is None


def test_a_huge_exponent_is_compared_without_running_away() -> None:
    container = {"name": "c", "resources": {"requests": {"memory": "1e999999999"},
                                            "limits": {"memory": "1"}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [container]}}
    assert [f.path for f in apiserver_findings(pod)] == [
        "spec.containers[0].resources.requests[memory]"]


@pytest.mark.parametrize("hostile", [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": [], "spec": "x"},
    {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
        "containers": ["x", {"name": 3, "ports": "p", "env": [None], "resources": []}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"labels": {1: 2}},
     "spec": {"ports": [{"name": None}, 7]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
     "spec": {"rules": [{"backendRefs": [None, {"name": []}]}], "parentRefs": "x"}},
])
def test_objects_of_any_shape_are_checked_without_an_exception(hostile: dict) -> None:
    apiserver_findings(hostile)
    reference_findings([hostile, "not an object", None])


def test_platform_gateways_and_other_namespaces_are_not_followed(corpus: Objects) -> None:
    """A route to the platform's shared Gateway, or a backend in another namespace, is the
    platform's: no finding for what the set does not render."""
    mutated = copy.deepcopy(corpus)
    route = one(mutated, "HTTPRoute", PUBLIC_ROUTE)
    route["spec"]["parentRefs"][0].update(name="shared-gateway", sectionName="https-any")
    route["spec"]["rules"][0]["backendRefs"][0].update(namespace="elsewhere", name="other")
    assert reference_findings(mutated) == []


def test_a_set_that_writes_no_secret_relies_on_the_platforms(corpus: Objects) -> None:
    without = [o for o in copy.deepcopy(corpus)
               if o["kind"] not in ("ExternalSecret", "Certificate")]
    assert reference_findings(without) == []


def test_the_longest_service_name_renders_with_no_problem(tmp_path: Path) -> None:
    """Every name derived from the longest service name the answers take (labels, the Istio
    Gateway's Service, the endpoint picker) fits the rules, with every option on."""
    from inference_scaffolder.answers.fields import MAX_SERVICE_NAME_LENGTH

    name = "s" * MAX_SERVICE_NAME_LENGTH
    values = _merge(_every_option_on(base_values()), {
        "serviceName": name, "engine": "vllm",
        # The longest inference-gateway release: the picker's Service name is exactly 63.
        "routing": {"inferencePool": {"gatewayRelease": "r" * 41}},
        "container": {"secrets": [{"name": "VLLM_API_KEY", "secretKey": "vllm-api-key",
                                   "vaultPath": "/secret/ci/vllm-key"}]},
        "imagePullSecret": {"vaultPath": "/secret/ci/ghcr"},
        "ingress": {"host": "every-option.example.com"},
        "autoscaling": {"prometheus": {"serverAddress": "http://thanos.monitoring.svc:9090"}},
    })
    values_file = tmp_path / "long.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_helm(["template", name, str(chart_source_dir()), "-f", str(CI_VALUES),
                     "-f", str(values_file), "--namespace", "n" * 63])
    assert done.ok, done.stderr
    objects = [doc for doc, _ in parse_rendered(done.stdout)]
    assert one(objects, "Gateway")["metadata"]["name"] == f"{name}-gateway"
    problems = [f"{o['kind']}: {f.line()}" for o in objects for f in apiserver_findings(o)]
    problems += [f"{objects[i]['kind']}: {f.line()}" for i, f in reference_findings(objects)]
    assert problems == []
