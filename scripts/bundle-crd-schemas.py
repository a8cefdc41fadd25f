#!/usr/bin/env python3
"""Refresh the CRD JSON Schemas the package carries (maintainers only; not run by users or CI).

    python3 scripts/bundle-crd-schemas.py SOURCE_DIR

SOURCE_DIR is a schema collection in kubeconform's layout (``<group>/<kind>_<version>.json``),
converted from the upstream CRDs as src/inference_scaffolder/checks/crd_schemas/PROVENANCE.md
describes. Only the kinds below are copied: every custom resource the chart and the GitOps
files can render, for every apiVersion the values allow (tests/checks/test_bundled_schemas.py
renders every option and fails when a rendered kind is missing here). The files are written
minified with sorted keys, so a refresh shows as a real diff only when the schema changed.
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
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(Path(sys.argv[1])))
