"""Every service name the answers allow fits everywhere a name goes: each label value, each
object name that must be a DNS label, and the names controllers derive from ours (Istio's
`<gateway>-istio` Service and Deployment, KEDA's `keda-hpa-<name>`), at every allowed length,
with every option that adds objects switched on. One name longer is refused by the answers,
before anything is rendered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from common import MINIMAL_ANSWERS

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.answers.fields import MAX_SERVICE_NAME_LENGTH
from inference_scaffolder.chart import chart_source_dir
from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import run_helm

DNS_LABEL = 63
LONGEST_NAMESPACE = "n" * 63
# Objects whose names become DNS labels (Service) or seed names a controller derives.
DERIVED_NAMES = {
    "Gateway": lambda name: [f"{name}-istio"],  # Istio's Service and Deployment
    "ScaledObject": lambda name: [f"keda-hpa-{name}"],  # KEDA's HorizontalPodAutoscaler
    "Service": lambda name: [name],
    "Deployment": lambda name: [name],
    "NetworkPolicy": lambda name: [name],
    "Pod": lambda name: [name],
}
# Names an object refers to that must be DNS labels: the platform's picker Service.
REFERENCED_NAMES = {
    "InferencePool": lambda spec: [spec["endpointPickerRef"]["name"]],
}
EVERY_OPTION: dict[str, Any] = {
    "engine": "vllm",
    "serviceCatalog": "c" * 63,
    "environment": "prod",
    "model": {"id": "org/model", "revision": "main"},
    "replicas": 2,
    "ingress": {"enabled": True, "host": "model.example.com"},
    "autoscaling": {"enabled": True, "prometheus": {"serverAddress": "http://thanos:9090"}},
    "modelCache": {"enabled": True, "storageClassName": "efs-sc"},
    "podDisruptionBudget": {"enabled": True},
    "networkPolicy": {"enabled": True},
    "imagePullSecret": {"enabled": True, "vaultPath": "/secret/ghcr"},
    "routing": {"enabled": True, "envoyAIGateway": {"enabled": True},
                "rateLimit": {"enabled": True},
                # The longest release the schema allows: the picker's Service name is 63.
                "inferencePool": {"enabled": True, "gatewayRelease": "r" * 41}},
}


def service_name(length: int) -> str:
    """A DNS-1123 label of ``length`` characters (letters and '-', ending in a letter)."""
    return ("svc-" * 20)[: length - 1] + "z" if length > 1 else "z"


def rendered(name: str, tmp_path: Path) -> list[dict[str, Any]]:
    values = tmp_path / f"{len(name)}.yaml"
    values.write_text(yaml.safe_dump({**EVERY_OPTION, "serviceName": name,
                                      "namespace": LONGEST_NAMESPACE}))
    done = run_helm(["template", name, str(chart_source_dir()), "-f", str(values)])
    assert done.ok, done.stderr
    return [doc for doc, _ in parse_rendered(done.stdout)]


def label_sets(document: dict[str, Any]) -> list[dict[str, str]]:
    """Every label mapping in an object: its own, a pod template's and selectors'."""
    found = [document["metadata"].get("labels") or {}]
    spec = document.get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(template, dict):
        found.append(template["metadata"].get("labels") or {})
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if isinstance(selector, dict):
        found.append(selector.get("matchLabels") or {})
    return found


def too_long(name: str, tmp_path: Path) -> list[str]:
    problems = []
    for document in rendered(name, tmp_path):
        kind = document["kind"]
        for labels in label_sets(document):
            problems += [f"{kind} label {key}={value}" for key, value in labels.items()
                         if len(str(value)) > DNS_LABEL]
        for derived in DERIVED_NAMES.get(kind, lambda _: [])(document["metadata"]["name"]):
            if len(derived) > DNS_LABEL:
                problems.append(f"{kind} derives {derived}")
        for referred in REFERENCED_NAMES.get(kind, lambda _: [])(document["spec"]):
            if len(referred) > DNS_LABEL:
                problems.append(f"{kind} refers to {referred}")
    return problems


def test_every_allowed_name_length_fits_every_label_and_derived_name(tmp_path: Path) -> None:
    problems = {length: too_long(service_name(length), tmp_path)
                for length in range(1, MAX_SERVICE_NAME_LENGTH + 1)}
    assert {length: found for length, found in problems.items() if found} == {}


def test_the_longest_allowed_name_reaches_the_limit(tmp_path: Path) -> None:
    """The cap is not loose: at the longest name, Istio's Service name is exactly 63."""
    name = service_name(MAX_SERVICE_NAME_LENGTH)
    gateway = next(d for d in rendered(name, tmp_path) if d["kind"] == "Gateway")
    assert len(f"{gateway['metadata']['name']}-istio") == DNS_LABEL


def test_one_character_more_is_refused_by_the_answers() -> None:
    name = service_name(MAX_SERVICE_NAME_LENGTH + 1)
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, "service_name": name})
    assert caught.value.field == "service_name"
    assert validate_answers({**MINIMAL_ANSWERS, "service_name": name[:-1]})


def test_the_chart_refuses_a_name_too_long_for_its_derived_names(tmp_path: Path) -> None:
    values = tmp_path / "long.yaml"
    values.write_text(yaml.safe_dump({**EVERY_OPTION, "serviceName": service_name(53)}))
    done = run_helm(["template", "x", str(chart_source_dir()), "-f", str(values)])
    assert not done.ok and "serviceName" in done.stderr


LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


@pytest.mark.parametrize("tag", ["_", "v1.0_", "_cu12", "0.6.", "a-", "x" * 62 + "_y"])
def test_every_image_tag_the_schema_allows_becomes_a_valid_version_label(
        tmp_path: Path, tag: str) -> None:
    """A container tag may start or end with '_', '.' or '-'; the API server refuses such a
    label value, so the chart's version label must cut those ends rather than break the apply."""
    values = tmp_path / "tag.yaml"
    values.write_text(yaml.safe_dump({**EVERY_OPTION, "serviceName": "svc",
                                      "namespace": "team", "container": {"image": {"tag": tag}}}))
    done = run_helm(["template", "svc", str(chart_source_dir()), "-f", str(values)])
    assert done.ok, done.stderr
    versions = {labels["app.kubernetes.io/version"]
                for document, _ in parse_rendered(done.stdout)
                for labels in label_sets(document) if "app.kubernetes.io/version" in labels}
    assert versions, "no object carries the version label"
    assert all(LABEL_VALUE.fullmatch(value) and len(value) <= DNS_LABEL for value in versions), \
        versions
