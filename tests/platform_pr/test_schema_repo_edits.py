"""The file edits: minimal, style-preserving, idempotent, and refusing unexpected shapes; found
with the TypeScript parser, so comments, strings and odd formatting cannot mislead them and
any input is handled in linear time."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
import yaml
from schema_repo_fixture import INDEX_TS, WORKLOAD_SCHEMA_TS, fixture_files, write_tree

from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr.edits import (
    ML_INFERENCE_LOAD,
    WorkloadType,
    add_platform_base_chart,
    add_to_index,
    add_to_workload_schema,
    apply_change_set,
    keep_published_version,
    plan_change_set,
    render_catalog_entry,
)
from inference_scaffolder.platform_pr.node_tools import run_node_tool

NEW = "MlInferenceLoadSchema"


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# -- workloadSchema.ts ----------------------------------------------------------------------


def test_workload_schema_gets_one_import_and_one_union_member() -> None:
    after = add_to_workload_schema(WORKLOAD_SCHEMA_TS)
    removed, added = changed_lines(WORKLOAD_SCHEMA_TS, after)
    assert removed == [
        "export type WorkloadSchema = BasicContainerLoadSchema | BasicContainerRolloutSchema"
        " | StatefulContainerLoadSchema;"
    ]
    assert added == [
        # two of three imports use double quotes: the majority style wins
        'import { MlInferenceLoadSchema } from "./mlInferenceLoad";',
        "export type WorkloadSchema = BasicContainerLoadSchema | BasicContainerRolloutSchema"
        " | StatefulContainerLoadSchema | MlInferenceLoadSchema;",
    ]
    assert after.splitlines()[3] == 'import { MlInferenceLoadSchema } from "./mlInferenceLoad";'


def test_workload_schema_edit_is_idempotent() -> None:
    once = add_to_workload_schema(WORKLOAD_SCHEMA_TS)
    assert add_to_workload_schema(once) == once


def test_quote_tie_follows_the_last_import_and_semicolons_follow_the_majority() -> None:
    text = (
        "import { ASchema } from './a'\n"
        'import { BSchema } from "./b"\n'
        "\n"
        "export type WorkloadSchema = ASchema | BSchema\n"
    )
    after = add_to_workload_schema(text)
    assert 'import { MlInferenceLoadSchema } from "./mlInferenceLoad"\n' in after
    assert "export type WorkloadSchema = ASchema | BSchema | MlInferenceLoadSchema\n" in after


def test_crlf_and_missing_final_newline_are_kept() -> None:
    text = "import { ASchema } from './a';\r\n\r\nexport type WorkloadSchema = ASchema;"
    after = add_to_workload_schema(text)
    assert after == (
        "import { ASchema } from './a';\r\n"
        "import { MlInferenceLoadSchema } from './mlInferenceLoad';\r\n"
        "\r\n"
        "export type WorkloadSchema = ASchema | MlInferenceLoadSchema;"
    )


@pytest.mark.parametrize(
    ("union", "extended"),
    [
        # prettier's layout of a long union: one member per line, leading pipes
        ("WorkloadSchema =\n  | ASchema\n  | BSchema;\n",
         "WorkloadSchema =\n  | ASchema\n  | BSchema\n  | MlInferenceLoadSchema;\n"),
        # trailing pipes
        ("WorkloadSchema = ASchema |\n    BSchema\n",
         "WorkloadSchema = ASchema |\n    BSchema |\n    MlInferenceLoadSchema\n"),
        # a lone member after a leading pipe
        ("WorkloadSchema =\n  | ASchema;\n",
         "WorkloadSchema =\n  | ASchema\n  | MlInferenceLoadSchema;\n"),
        # a comment between members is not copied
        ("WorkloadSchema =\n  | ASchema // the first\n  | BSchema;\n",
         "WorkloadSchema =\n  | ASchema // the first\n  | BSchema | MlInferenceLoadSchema;\n"),
        # CRLF
        ("WorkloadSchema =\r\n  | ASchema\r\n  | BSchema;\r\n",
         "WorkloadSchema =\r\n  | ASchema\r\n  | BSchema\r\n  | MlInferenceLoadSchema;\r\n"),
    ],
    ids=["leading-pipes", "trailing-pipes", "lone-member", "comment", "crlf"],
)
def test_a_union_over_several_lines_gets_the_member_in_its_layout(union: str,
                                                                  extended: str) -> None:
    eol = "\r\n" if "\r\n" in union else "\n"
    text = f"import {{ ASchema }} from './a';{eol}export type {union}"
    after = add_to_workload_schema(text)
    assert after.endswith(f"export type {extended}")
    assert add_to_workload_schema(after) == after


def test_union_separator_spacing_is_mirrored() -> None:
    text = "import { ASchema } from './a';\nexport type WorkloadSchema = ASchema|BSchema;\n"
    assert add_to_workload_schema(text).endswith(
        "export type WorkloadSchema = ASchema|BSchema|MlInferenceLoadSchema;\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import { ASchema } from './a';\n", "no `export type WorkloadSchema"),
        ("export type WorkloadSchema = ASchema;\n", "no `import"),
        (
            "import { ASchema } from './a';\nexport type WorkloadSchema = ASchema;\n"
            "export type WorkloadSchema = ASchema;\n",
            "more than once",
        ),
        (
            "import { ASchema } from './a';\nimport { MlInferenceLoadSchema } from './elsewhere';\n"
            "export type WorkloadSchema = ASchema;\n",
            "expected './mlInferenceLoad'",
        ),
        (
            "import { ASchema } from './a';\nexport type WorkloadSchema = Omit<ASchema, 'x'>;\n",
            "must be a union of type names",
        ),
    ],
)
def test_workload_schema_with_unexpected_shape_is_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        add_to_workload_schema(text)
    assert caught.value.field == "src/workloadChartValues/workloadSchema.ts"
    assert message in caught.value.rule


def test_comments_strings_and_odd_formatting_do_not_mislead_the_edit() -> None:
    text = (
        "/* A header that mentions the union:\n"
        "   export type WorkloadSchema = Fake;\n"
        "*/\n"
        'import {ASchema} from"./a"   // trailing comment\n'
        "import   type   { BSchema }   from   './b'  ;\n"
        "// export type WorkloadSchema = CommentedOut;\n"
        'const s = "export type WorkloadSchema = InAString";\n'
        "export   type   WorkloadSchema=ASchema|BSchema ; // the union\n"
    )
    after = add_to_workload_schema(text)
    removed, added = changed_lines(text, after)
    assert removed == ["export   type   WorkloadSchema=ASchema|BSchema ; // the union"]
    assert added == [
        # a copy of the last schema import's layout; quote and semicolon ties go to it
        "import   type   { MlInferenceLoadSchema }   from   './mlInferenceLoad';",
        "export   type   WorkloadSchema=ASchema|BSchema|MlInferenceLoadSchema ; // the union",
    ]
    assert add_to_workload_schema(after) == after


def _edit_with_timeout(kind: str, text: str, path: str) -> dict:
    """One edit through the tool, with a generous bound: linear time finishes in well under a
    second, a backtracking matcher would not finish at all."""
    request = {
        "workload": {"interface": NEW, "module": "./mlInferenceLoad", "key": "ML_INFERENCE_LOAD"},
        "edits": [{"kind": kind, "path": path, "text": text}],
    }
    return run_node_tool("ts-edit.cjs", request, timeout=30)["edits"][0]


def _long_union(length: int) -> list[str]:
    names: list[str] = []
    while len(" | ".join(names)) < length:
        names.append(f"Member{len(names)}Schema")
    return names


def test_a_100_000_character_union_line_is_edited() -> None:
    names = _long_union(100_000)
    line = f"export type WorkloadSchema = {' | '.join(names)};"
    text = f"import {{ Member0Schema }} from './member0';\n{line}\n"
    assert len(line) > 100_000
    answer = _edit_with_timeout("workloadSchema", text, "src/workloadChartValues/workloadSchema.ts")
    assert answer["text"].endswith(f" | {names[-1]} | {NEW};\n")


@pytest.mark.parametrize(
    "tail",
    [
        " |" * 50_000 + " ;x",  # what made a backtracking pattern run for minutes
        " | A" * 33_000 + " <",
        "/*" + " " * 100_000,
    ],
)
def test_a_crafted_100_000_character_line_is_refused_quickly(tail: str) -> None:
    text = f"import {{ ASchema }} from './a';\nexport type WorkloadSchema = ASchema{tail}\n"
    answer = _edit_with_timeout("workloadSchema", text, "src/workloadChartValues/workloadSchema.ts")
    assert answer["error"]["field"] == "src/workloadChartValues/workloadSchema.ts"
    assert "does not parse as TypeScript" in answer["error"]["rule"]


def test_a_100_000_character_base_charts_line_is_edited() -> None:
    entries = [f"K{i}_LOAD: 'K{i}_LOAD'" for i in range(7_000)]
    text = f"export const PlatformBaseCharts = {{ {', '.join(entries)} }} as const;\n"
    assert len(text) > 100_000
    answer = _edit_with_timeout("platform", text, "src/shared/platform.ts")
    assert answer["text"].endswith(
        "K6999_LOAD: 'K6999_LOAD', ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD' } as const;\n"
    )


# -- index.ts -------------------------------------------------------------------------------


def test_index_gets_import_variant_and_export_with_its_own_style() -> None:
    after = add_to_index(INDEX_TS)
    expected = (
        "import { BasicContainerLoadSchema } from './basicContainerLoad'\n"
        'import { BasicContainerRolloutSchema } from "./basicContainerRollout";\n'
        "import { StatefulContainerLoadSchema } from './statefulContainerLoad'\n"
        # single quotes and no semicolon: the majority of the file's schema imports
        "import { MlInferenceLoadSchema } from './mlInferenceLoad'\n"
        "\n"
        "export { WorkloadSchema } from './workloadSchema';\n"
        "\n"
        "export type BasicContainerLoadVariants = BasicContainerLoadSchema"
        " | BasicContainerRolloutSchema | StatefulContainerLoadSchema | MlInferenceLoadSchema;\n"
        "\n"
        "export {\n"
        "  BasicContainerLoadSchema,\n"
        "  BasicContainerRolloutSchema,\n"
        "  StatefulContainerLoadSchema,\n"
        "  MlInferenceLoadSchema\n"
        "}"
    )
    assert after == expected
    assert add_to_index(after) == after


def test_export_block_with_trailing_comma_and_semicolon() -> None:
    text = (
        "import { ASchema } from './a';\n"
        "export type Variants = ASchema;\n"
        "export {\n    ASchema,\n};\n"
    )
    assert add_to_index(text).endswith("export {\n    ASchema,\n    MlInferenceLoadSchema,\n};\n")


def test_single_line_export_block() -> None:
    text = "import { ASchema } from './a';\nexport type Variants = ASchema;\nexport { ASchema };\n"
    assert add_to_index(text).endswith("export { ASchema, MlInferenceLoadSchema };\n")


def test_export_block_closing_on_the_last_entrys_line() -> None:
    text = "import { ASchema } from './a';\nexport type V = ASchema;\nexport {\n  ASchema }"
    assert add_to_index(text).endswith("export {\n  ASchema,\n  MlInferenceLoadSchema\n}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import { ASchema } from './a';\nexport { ASchema };\n", "variants union"),
        ("import { ASchema } from './a';\nexport type V = ASchema;\n", "export { ... }"),
        (
            "import { ASchema } from './a';\nexport type V =\n  | ASchema\n  | ASchema[];\n"
            "export { ASchema };\n",
            "must be a union of type names",
        ),
        (
            "import { ASchema } from './a';\nexport type V = ASchema;\n"
            "export { ASchema };\nexport {\n  ASchema\n}\n",
            "several",
        ),
        (
            "import { ASchema } from './a';\n"
            "export type V = ASchema;\nexport { ASchema, ...rest };\n",
            "does not parse as TypeScript (line 3",
        ),
    ],
)
def test_index_with_unexpected_shape_is_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        add_to_index(text)
    assert caught.value.field == "src/workloadChartValues/index.ts"
    assert message in caught.value.rule


# -- platform.ts ----------------------------------------------------------------------------


def test_platform_base_charts_gets_one_entry_in_a_large_file() -> None:
    before = fixture_files()["src/shared/platform.ts"]
    assert len(before.splitlines()) > 700
    after = add_platform_base_chart(before)
    removed, added = changed_lines(before, after)
    assert removed == ["  KAFKA_CONNECT: 'KAFKA_CONNECT'"]
    # mixed quotes, 3 single vs 2 double: single wins; no trailing comma after the new entry
    assert added == [
        "  KAFKA_CONNECT: 'KAFKA_CONNECT',",
        "  ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD'",
    ]
    assert after.endswith("\n") == before.endswith("\n")
    assert add_platform_base_chart(after) == after


def test_platform_base_charts_with_trailing_comma_and_quoted_keys() -> None:
    text = 'export const PlatformBaseCharts = {\n\t"A_LOAD": "A_LOAD",\n} as const;\n'
    assert add_platform_base_chart(text) == (
        'export const PlatformBaseCharts = {\n\t"A_LOAD": "A_LOAD",\n'
        '\t"ML_INFERENCE_LOAD": "ML_INFERENCE_LOAD",\n} as const;\n'
    )


def test_platform_base_charts_on_one_line() -> None:
    text = "export const PlatformBaseCharts = { A_LOAD: 'A_LOAD' } as const"
    assert add_platform_base_chart(text) == (
        "export const PlatformBaseCharts = { A_LOAD: 'A_LOAD', "
        "ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD' } as const"
    )


def test_platform_entry_before_a_trailing_comment_keeps_the_comment() -> None:
    text = "export const PlatformBaseCharts = {\n  A_LOAD: 'A_LOAD' // first\n} as const;\n"
    assert add_platform_base_chart(text) == (
        "export const PlatformBaseCharts = {\n  A_LOAD: 'A_LOAD', // first\n"
        "  ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD'\n} as const;\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("export const Other = {} as const;\n", "no `export const PlatformBaseCharts"),
        ("export const PlatformBaseCharts = { A: 'A' };\n", "as const"),
        ("export const PlatformBaseCharts = { ...Base, A: 'A' } as const;\n", "unexpected entry"),
        ("export const PlatformBaseCharts = { A: { x: 1 } } as const;\n", "flat object"),
        (
            "export const PlatformBaseCharts = { ML_INFERENCE_LOAD: 'ml' } as const;\n",
            "expected 'ML_INFERENCE_LOAD'",
        ),
        ("export const PlatformBaseCharts = { A: 'A' B: 'B' } as const;\n", "',' expected"),
    ],
)
def test_platform_with_unexpected_shape_is_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        add_platform_base_chart(text)
    assert caught.value.field == "src/shared/platform.ts"
    assert message in caught.value.rule


# -- catalog entry --------------------------------------------------------------------------


def test_catalog_entry_follows_its_sibling() -> None:
    sibling = fixture_files()[".cat/backstage/basic-container-load.catalog-info.yaml"]
    text = render_catalog_entry(
        sibling,
        WorkloadType("BASIC_CONTAINER_LOAD"),
        ML_INFERENCE_LOAD,
        "Serves a model: over HTTP.",
        ".cat/backstage/ml-inference-load.catalog-info.yaml",
    )
    entry = yaml.safe_load(text)
    assert entry["metadata"]["name"] == "ml-inference-load"
    assert entry["metadata"]["title"] == "ML Inference Load"
    assert entry["metadata"]["description"] == "Serves a model: over HTTP."
    assert entry["metadata"]["labels"] == {"scaffold-eligible": "true"}
    annotations = entry["metadata"]["annotations"]
    assert annotations["platform.example.com/chart-path"] == "charts/ml-inference-load"
    assert annotations["platform.example.com/workload-type"] == "ML_INFERENCE_LOAD"
    assert entry["spec"] == yaml.safe_load(sibling)["spec"]
    assert "basic" not in text.lower()
    # same layout as the sibling: only the lines naming the chart changed
    removed, _ = changed_lines(sibling, text)
    assert len(removed) == 6  # name, title, description, chart path, type, tag


def test_catalog_sibling_without_chart_path_is_refused() -> None:
    sibling = fixture_files()[".cat/backstage/basic-container-load.catalog-info.yaml"]
    sibling = sibling.replace("charts/basic-container-load", "somewhere-else")
    with pytest.raises(UserError, match="chart path"):
        render_catalog_entry(
            sibling, WorkloadType("BASIC_CONTAINER_LOAD"), ML_INFERENCE_LOAD, "d", "x.yaml"
        )


# A sibling entry as people write them: keys in their own order, comments (one naming the
# sibling), sequences flush with their key, a quoted title, a folded description and the
# annotations as a flow mapping.
COMMENTED_SIBLING = """\
# Catalog entry of the basic-container-load base chart.
apiVersion: backstage.io/v1alpha1
kind: Component
spec:
  type: platform-base-chart   # what the scaffolder offers
  owner: group:platform-team
  lifecycle: production
metadata:  # who and what
  title: "Basic Container Load"
  # what people read in the catalog
  description: >-
    Platform base chart for basic
    container load workloads.
  name: basic-container-load
  annotations: {ANNOTATIONS}
  tags:
  - helm
  - basic-container-load
""".replace("{ANNOTATIONS}", "{platform.example.com/chart-path: charts/basic-container-load, "
            "platform.example.com/workload-type: BASIC_CONTAINER_LOAD}")


def test_a_commented_reordered_catalog_entry_keeps_its_layout() -> None:
    text = render_catalog_entry(
        COMMENTED_SIBLING,
        WorkloadType("BASIC_CONTAINER_LOAD"),
        ML_INFERENCE_LOAD,
        "Serves a model over HTTP.",
        ".cat/backstage/ml-inference-load.catalog-info.yaml",
    )
    entry = yaml.safe_load(text)
    assert list(entry) == ["apiVersion", "kind", "spec", "metadata"]
    assert list(entry["metadata"]) == ["title", "description", "name", "annotations", "tags"]
    assert entry["metadata"]["description"] == "Serves a model over HTTP."
    assert entry["metadata"]["annotations"] == {
        "platform.example.com/chart-path": "charts/ml-inference-load",
        "platform.example.com/workload-type": "ML_INFERENCE_LOAD",
    }
    assert "# Catalog entry of the ml-inference-load base chart." in text
    assert "  type: platform-base-chart   # what the scaffolder offers" in text
    assert "  # what people read in the catalog" in text
    assert "metadata:  # who and what" in text
    assert '  title: "ML Inference Load"' in text
    assert "  tags:\n  - helm\n  - ml-inference-load\n" in text
    removed, _ = changed_lines(COMMENTED_SIBLING, text)
    # the comment naming the chart, title, the two description lines, name, annotations, tag
    assert len(removed) == 7, removed


def test_the_published_version_is_kept_in_a_commented_chart_yaml() -> None:
    new = ('# The chart\napiVersion: v2\n"version": "0.2.0"   # bumped by CI after merge\n'
           "name: ml-inference-load\n")
    existing = "apiVersion: v2\nname: ml-inference-load\nversion: 0.1.3\n"
    kept = keep_published_version(new, existing, "Chart.yaml")
    assert kept == new.replace('"0.2.0"', '"0.1.3"')


# -- chart version --------------------------------------------------------------------------


def test_existing_chart_keeps_the_version_ci_published() -> None:
    new = "apiVersion: v2\nname: ml-inference-load\nversion: 0.1.0\n"
    assert keep_published_version(new, None, "Chart.yaml") == new
    existing = "apiVersion: v2\nname: ml-inference-load\nversion: 0.1.3\n"
    assert keep_published_version(new, existing, "Chart.yaml") == existing
    with pytest.raises(UserError, match="semver"):
        keep_published_version("version: 1.0\n", None, "Chart.yaml")


# -- the whole change set -------------------------------------------------------------------


def _stand_in_chart(root: Path, *, version: str = "0.1.0", description: str = "Demo.") -> Path:
    """A tiny chart standing in for the real one, for the planning tests only."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["workloadType", "container"],
        "properties": {
            "workloadType": {"const": "ML_INFERENCE_LOAD"},
            "environment": {"enum": ["dev", "syst", "uat", "prod", "core", "core-dev"]},
            "container": {
                "type": "object",
                "additionalProperties": False,
                "required": ["secrets"],
                "properties": {
                    "secrets": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name", "secretKey", "vaultPath"],
                            "properties": {
                                "name": {"type": "string"},
                                "secretKey": {"type": "string"},
                                "vaultPath": {"type": "string"},
                            },
                        },
                    }
                },
            },
        },
    }
    write_tree(
        root,
        {
            "Chart.yaml": f"apiVersion: v2\nname: ml-inference-load\ndescription: {description}\n"
            f"version: {version}\n",
            "values.yaml": "workloadType: ML_INFERENCE_LOAD\ncontainer:\n  secrets: []\n",
            "values.schema.json": json.dumps(schema, indent=2),
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n",
        },
    )
    return root


def test_plan_lists_every_file_and_a_second_plan_is_empty(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", fixture_files())
    chart = _stand_in_chart(tmp_path / "chart")
    changes = plan_change_set(tree, chart)
    assert changes.paths == [
        ".cat/backstage/ml-inference-load.catalog-info.yaml",
        "charts/ml-inference-load/Chart.yaml",
        "charts/ml-inference-load/templates/cm.yaml",
        "charts/ml-inference-load/values.schema.json",
        "charts/ml-inference-load/values.yaml",
        "src/shared/platform.ts",
        "src/workloadChartValues/index.ts",
        "src/workloadChartValues/mlInferenceLoad.ts",
        "src/workloadChartValues/workloadSchema.ts",
    ]
    module = changes.writes["src/workloadChartValues/mlInferenceLoad.ts"].decode()
    assert 'import { Environment, SecretObj } from "../shared";' in module
    apply_change_set(tree, changes)
    assert plan_change_set(tree, chart).is_empty()


def test_changed_chart_updates_only_what_differs_and_removes_stale_files(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", fixture_files())
    apply_change_set(tree, plan_change_set(tree, _stand_in_chart(tmp_path / "chart-1")))
    chart = _stand_in_chart(tmp_path / "chart-2", version="0.2.0", description="Changed.")
    (chart / "templates/cm.yaml").unlink()
    (chart / "templates/svc.yaml").write_text("apiVersion: v1\nkind: Service\n")
    changes = plan_change_set(tree, chart)
    # version stays as published; the catalog entry is not rewritten once it exists
    assert changes.paths == [
        "charts/ml-inference-load/Chart.yaml",
        "charts/ml-inference-load/templates/cm.yaml",
        "charts/ml-inference-load/templates/svc.yaml",
    ]
    assert changes.deletes == ["charts/ml-inference-load/templates/cm.yaml"]
    assert b"version: 0.1.0" in changes.writes["charts/ml-inference-load/Chart.yaml"]


def test_plan_refuses_a_tree_that_is_not_the_schema_repository(tmp_path: Path) -> None:
    files = fixture_files(overrides={"src/shared/platform.ts": None})
    tree = write_tree(tmp_path / "tree", files)
    with pytest.raises(UserError, match="platform-schemas-types") as caught:
        plan_change_set(tree, _stand_in_chart(tmp_path / "chart"))
    assert caught.value.field == "src/shared/platform.ts"


def test_aliases_that_use_a_schema_without_being_unions_are_left_alone() -> None:
    text = (
        "import { ASchema } from './a';\n"
        "export type Partial_ = Partial<ASchema>;\n"
        "export type V = ASchema;\n"
        "export { ASchema };\n"
    )
    after = add_to_index(text)
    assert "export type Partial_ = Partial<ASchema>;\n" in after
    assert "export type V = ASchema | MlInferenceLoadSchema;\n" in after
