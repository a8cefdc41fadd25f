"""The schema-pr pull request body tells reviewers what the proposed chart holds, read from
the chart itself: an optional part the chart has is never described as missing, and a part
added to or removed from the chart shows up in the body without anyone editing its text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from inference_scaffolder.paths import base_chart_dir
from inference_scaffolder.platform_pr.pull_request import pull_request_text


def test_the_body_lists_the_optional_parts_the_chart_has() -> None:
    _, body = pull_request_text()
    assert "### What the chart holds" in body
    assert "Not in this version" not in body
    for part in ("`modelCache`", "`autoscaling`", "`quantization`"):
        assert part in body, part
    assert "`model-cache-pvc.yaml`: PersistentVolumeClaim, when `and modelCache.enabled" in body
    assert "`keda-scaledobject.yaml`: ScaledObject, when `autoscaling.enabled`" in body
    assert "`deployment.yaml`: Deployment\n" in body


def test_the_list_follows_the_chart_it_proposes(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(base_chart_dir(), chart)
    (chart / "templates" / "model-cache-pvc.yaml").unlink()
    (chart / "templates" / "extra.yaml").write_text(
        "{{- if .Values.extra.enabled }}\napiVersion: v1\nkind: ConfigMap\n{{- end }}\n")
    schema_file = chart / "values.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    del schema["properties"]["modelCache"]
    schema["properties"]["extra"] = {
        "type": "object", "description": "An extra part. Longer text that is not shown.",
        "properties": {"enabled": {"type": "boolean"}}}
    schema_file.write_text(json.dumps(schema), encoding="utf-8")

    _, body = pull_request_text(chart_dir=chart)

    assert "- `extra.yaml`: ConfigMap, when `extra.enabled`" in body
    assert "- `extra` (`enabled`): An extra part.\n" in body
    assert "- `modelCache`" not in body and "PersistentVolumeClaim" not in body
