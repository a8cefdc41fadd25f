"""The difference report of ``schema-pr`` (``platform_pr.differences``) on its own: repository
text stays inert, hostile schemas stay bounded, the parser's member listing compares what
the types mean rather than how they are spelled."""

from __future__ import annotations

import json
import time
from pathlib import Path

from inference_scaffolder.chart import coalesce_values
from inference_scaffolder.platform_pr.differences import (
    MAX_KEYS,
    compare_existing,
    diff_keys,
    inert,
    schema_keys,
)
from inference_scaffolder.platform_pr.edits import ML_INFERENCE_LOAD, confined
from inference_scaffolder.platform_pr.node_tools import run_node_tool

CHART = ML_INFERENCE_LOAD.chart_path
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {"workloadType": {"const": "ML_INFERENCE_LOAD"},
                   "replicas": {"type": "integer"}},
}
OURS = {
    "Chart.yaml": b"apiVersion: v2\nname: ml-inference-load\nversion: 0.1.0\n"
                  b"maintainers:\n  - name: platform-team\n",
    "values.yaml": b"workloadType: ML_INFERENCE_LOAD\nreplicas: 1\n",
    "values.schema.json": json.dumps(SCHEMA).encode(),
}


def base_with(tmp_path: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = tmp_path / "base" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path / "base"


def proposed() -> dict[str, bytes]:
    return {f"{CHART}/{p}": c for p, c in OURS.items()}


def test_inert_neutralises_terminal_and_bidi_controls_and_cuts_long_text() -> None:
    assert inert("a\x1b[31mred\nnext\u202eevil\u200b") == (
        "a\\u001b[31mred\\u000anext\\u202eevil\\u200b")
    assert inert("x" * 500, limit=20) == "x" * 19 + "…"
    assert inert({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_hostile_chart_text_cannot_escape_the_report_or_the_pr_body(tmp_path: Path) -> None:
    hostile = "evil\x1b]8;;https://x\x07 ```` </details> @everyone"
    base = base_with(tmp_path, {
        f"{CHART}/Chart.yaml": (f"apiVersion: v2\nname: ml-inference-load\nversion: 0.0.3\n"
                                f"maintainers:\n  - name: {json.dumps(hostile)}\n"),
        f"{CHART}/values.yaml": "workloadType: ML_INFERENCE_LOAD\n",
        f"{CHART}/templates/\x1b[2Jclear.yaml": "kind: x\n",
    })
    report = compare_existing(confined(base), "main", proposed(), None,
                              OURS["Chart.yaml"].decode(), ML_INFERENCE_LOAD)
    assert report is not None and report.chart is not None
    text = "\n".join(report.lines())
    assert "\x1b" not in text and "\x07" not in text
    assert "templates/\\u001b[2Jclear.yaml" in report.chart.removed
    body = report.markdown()
    # the fence is longer than any backtick run inside, so the block cannot be closed early
    assert body.count("`````text\n") == 1 and body.rstrip().endswith("`````")
    assert "\x1b" not in body and "\x07" not in body


def test_no_report_when_the_chart_is_absent_or_identical(tmp_path: Path) -> None:
    empty = base_with(tmp_path / "a", {"README.md": "x\n"})
    same = base_with(tmp_path / "b", {f"{CHART}/{p}": c.decode() for p, c in OURS.items()})
    for base in (empty, same):
        assert compare_existing(confined(base), "main", proposed(), None,
                                OURS["Chart.yaml"].decode(), ML_INFERENCE_LOAD) is None


def test_without_a_readable_schema_the_values_files_keys_are_compared(tmp_path: Path) -> None:
    base = base_with(tmp_path, {
        f"{CHART}/Chart.yaml": "apiVersion: v2\nname: ml-inference-load\nversion: 0.0.1\n",
        f"{CHART}/values.yaml": "workloadType: ML_INFERENCE_LOAD\nreplicas: one\nold:\n  a: 1\n",
        f"{CHART}/values.schema.json": "{not json",
    })
    report = compare_existing(confined(base), "main", proposed(), None,
                              OURS["Chart.yaml"].decode(), ML_INFERENCE_LOAD)
    assert report is not None and report.chart is not None
    assert report.chart.values_source == "values.yaml"
    assert report.chart.values_keys.removed == ["old.a"]
    assert report.chart.values_keys.retyped == [
        {"key": "replicas", "existing": "string", "proposed": "integer"}]
    [check] = report.chart.values_files
    assert check.file == "values.yaml" and not check.valid
    assert any("/replicas" in error for error in check.errors)


def test_schema_walks_follow_references_and_stay_bounded() -> None:
    recursive = {
        "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"},
                                                            "name": {"type": "string"}}}},
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"},
                       "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
    }
    keys, _ = schema_keys(recursive)
    assert keys["tree"] == "object" and keys["tree.name"] == "string"
    assert keys["tags[]"] == "string"
    # each level doubles the ways to reach the next one: 2**40 paths without the bounds
    defs = {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2,
                      "properties": {f"k{i}": {"$ref": f"#/$defs/d{i + 1}"}}}
            for i in range(40)}
    started = time.monotonic()
    keys, truncated = schema_keys({"$defs": defs, "$ref": "#/$defs/d0"})
    assert time.monotonic() - started < 5
    assert truncated and len(keys) <= MAX_KEYS


def test_removed_keys_are_listed_one_by_one_added_ones_by_their_new_subtree() -> None:
    before = {"inference": "object", "inference.maxInputLength": "integer", "a": "string"}
    after = {"a": "integer", "engine": "object", "engine.port": "integer",
             "engine.images[]": "object", "engine.images[].tag": "string"}
    changes = diff_keys(before, after)
    assert changes.removed == ["inference.maxInputLength"]
    assert changes.added == ["engine"]
    assert changes.retyped == [{"key": "a", "existing": "string", "proposed": "integer"}]


def test_values_files_are_merged_over_the_new_defaults_as_helm_does() -> None:
    defaults = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": "x"}
    override = {"a": {"b": 9}, "d": [3], "e": None}
    assert coalesce_values(defaults, override, effective=True) == {
        "a": {"b": 9, "c": 2}, "d": [3]}
    # Layered as a values file (a leaf's), the null stays so Helm still drops the default.
    assert coalesce_values(defaults, override) == {"a": {"b": 9, "c": 2}, "d": [3], "e": None}


def listing(text: str) -> dict:
    request = {"workload": {"interface": "X", "module": "./x", "key": "X"}, "edits": [],
               "interface": None, "baseChartKeys": None,
               "members": {"name": "MlInferenceLoadSchema",
                           "existing": {"path": "m.ts", "text": text}}}
    return run_node_tool("platform-pr.cjs", request)["members"]["existing"]


def as_types(answer: dict) -> dict[str, str]:
    return {m["path"]: m["type"] + ("?" if m["optional"] else "") for m in answer["members"]}


def test_member_listing_reads_syntax_not_spelling() -> None:
    one = listing("""\
// inference: { decoy: string }
type Mode = 'fast' | 'slow';
export interface Image { repository: string; tag?: string }
export interface MlInferenceLoadSchema {
  workloadType: 'ML_INFERENCE_LOAD';
  "quoted-key": Mode;
  image: Image;
  secrets: { name: string /* the variable */ }[];
  [extra: string]: unknown;
}
""")
    two = listing("""\
export interface MlInferenceLoadSchema {
  workloadType: "ML_INFERENCE_LOAD"
  'quoted-key': "slow" | "fast"
  image: { repository: string, tag?: string }
  secrets: Array<{ name: string }>
  [k: string]: unknown
}
""")
    assert as_types(one) == as_types(two) == {
        "workloadType": '"ML_INFERENCE_LOAD"',
        "quoted-key": '"fast" | "slow"',
        "image": "object",
        "image.repository": "string",
        "image.tag": "string?",
        "secrets": "object[]",
        "secrets[].name": "string",
        "[key: string]": "unknown",
    }
    assert "inference" not in str(one)  # a comment is not a member


def test_member_listing_refuses_in_words_what_it_cannot_read() -> None:
    assert listing("export interface MlInferenceLoadSchema {")["error"]["rule"].startswith(
        "does not parse as TypeScript")
    assert listing("export interface Other { a: string }")["error"]["rule"] == (
        "declares no interface MlInferenceLoadSchema")
    cyclic = listing("""\
export interface Node { next: Node; value: string }
export interface MlInferenceLoadSchema { root: Node }
""")
    assert as_types(cyclic) == {"root": "object", "root.value": "string", "root.next": "Node"}


def test_the_pr_body_report_stays_within_githubs_body_limit(tmp_path: Path) -> None:
    many = {f"{CHART}/templates/{'x' * 150}-{i}.yaml": "kind: x\n" for i in range(2000)}
    base = base_with(tmp_path, {f"{CHART}/Chart.yaml": "version: 0.0.1\n", **many})
    report = compare_existing(confined(base), "main", proposed(), None,
                              OURS["Chart.yaml"].decode(), ML_INFERENCE_LOAD)
    assert report is not None
    body = report.markdown()
    assert len(body) < 45_000
    assert "(the report is cut here" in body and body.rstrip().endswith("```")
