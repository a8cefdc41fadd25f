#!/usr/bin/env python3
"""Refresh the CRD JSON Schemas the package carries (maintainers only; not run by users or CI).

    python3 scripts/bundle-crd-schemas.py SOURCE_DIR
    python3 scripts/bundle-crd-schemas.py --check-upstream CRD_DIR


SOURCE_DIR is a schema collection in kubeconform's layout (``<group>/<kind>_<version>.json``),
converted from the upstream CRDs as src/inference_scaffolder/checks/crd_schemas/PROVENANCE.md
describes. Only the kinds below are copied: every custom resource the chart and the GitOps
files can render, for every apiVersion the values allow (tests/checks/test_bundled_schemas.py
renders every option and fails when a rendered kind is missing here). The files are written
minified with sorted keys, so a refresh shows as a real diff only when the schema changed.

``--check-upstream CRD_DIR`` reads full upstream CustomResourceDefinitions (YAML, as
``git show <tag>:<path>`` gives them) and checks that every CEL rule
(``x-kubernetes-validations``) and every ``default`` of each served version is in the bundled
schema at the same place (the conversion must not drop them; checks/cel.py evaluates them).
Only this script reads such a folder: nothing at run time or in tests does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "inference_scaffolder" / "checks" / \
    "crd_schemas"

BUNDLED = {
    "argoproj.io": ["application_v1alpha1"],
    "aigateway.envoyproxy.io": [
        "aigatewayroute_v1alpha1", "aigatewayroute_v1beta1",
        "aiservicebackend_v1alpha1", "aiservicebackend_v1beta1",
        "backendsecuritypolicy_v1alpha1", "backendsecuritypolicy_v1beta1",
    ],
    "cert-manager.io": ["certificate_v1"],
    "external-secrets.io": ["externalsecret_v1", "externalsecret_v1beta1"],
    "gateway.envoyproxy.io": ["backend_v1alpha1"],
    "gateway.networking.k8s.io": ["gateway_v1", "gateway_v1beta1", "httproute_v1",
                                  "httproute_v1beta1"],
    "inference.networking.k8s.io": ["inferencepool_v1"],
    "keda.sh": ["scaledobject_v1alpha1"],
    "kuadrant.io": ["ratelimitpolicy_v1"],
}


def _marks(node: object, path: str = "", names: bool = False) -> set[tuple[str, str]]:
    """Every (schema path, rule or default) in a schema, for comparison. ``names``: node is
    a ``properties`` map, whose keys are field names (a field may be called "default")."""
    found: set[tuple[str, str]] = set()
    if isinstance(node, dict) and names:
        for key, child in node.items():
            found |= _marks(child, f"{path}/{key}")
    elif isinstance(node, dict):
        for rule in node.get("x-kubernetes-validations") or []:
            found.add((path, "rule " + json.dumps(rule, sort_keys=True)))
        if "default" in node:
            found.add((path, "default " + json.dumps(node["default"], sort_keys=True)))
        for key, child in node.items():
            if key not in ("x-kubernetes-validations", "default"):
                found |= _marks(child, f"{path}/{key}", names=key == "properties")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found |= _marks(child, f"{path}/{index}")
    return found


def check_upstream(crd_dir: Path) -> int:
    """Compare the bundled schemas' rules and defaults with the upstream CRDs in crd_dir."""
    import yaml  # the package depends on PyYAML

    missing = 0
    for crd_file in sorted(crd_dir.glob("*.yaml")):
        crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            bundled = TARGET / group / f"{kind.lower()}_{version['name']}.json"
            if not bundled.is_file():
                continue
            upstream = _marks(version["schema"]["openAPIV3Schema"])
            lost = upstream - _marks(json.loads(bundled.read_text(encoding="utf-8")))
            for where, what in sorted(lost):
                print(f"{bundled.relative_to(TARGET)}: {where}: missing {what[:120]}")
            missing += len(lost)
            print(f"{crd_file.name} {version['name']}: {len(upstream)} rules and defaults, "
                  f"{len(upstream) - len(lost)} kept in {bundled.relative_to(TARGET)}")
    return 1 if missing else 0


def main(source: Path) -> int:
    if not source.is_dir():
        print(f"error: SOURCE_DIR: {source} is not a directory", file=sys.stderr)
        return 2
    written = 0
    for group, names in BUNDLED.items():
        for name in names:
            schema = json.loads((source / group / f"{name}.json").read_text(encoding="utf-8"))
            target = TARGET / group / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n",
                              encoding="utf-8")
            written += 1
    print(f"wrote {written} schemas into {TARGET}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check-upstream":
        raise SystemExit(check_upstream(Path(sys.argv[2])))
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(Path(sys.argv[1])))
