"""JSON Schema -> TypeScript: shapes, shared-type reuse, refusals, and the real compiler."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from schema_repo_fixture import SHARED_INDEX, TSCONFIG, fixture_files, write_tree

from inference_scaffolder import chart
from inference_scaffolder.errors import ToolMissingError, UserError
from inference_scaffolder.platform_pr.typescript import (
    Literal,
    ObjectType,
    Prim,
    Prop,
    SharedType,
    Union,
    find_tsc,
    generate_interface_module,
    read_shared_types,
    run_tsc,
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "Values of a demo chart.",
    "type": "object",
    "additionalProperties": False,
    "required": ["workloadType", "name", "container"],
    "$defs": {
        "secret": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "secretKey", "vaultPath"],
            "properties": {
                "name": {"type": "string"},
                "secretKey": {"type": "string"},
                "vaultPath": {"type": "string", "pattern": "^/"},
            },
        },
    },
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "description": "The service name."},
        "workloadType": {"const": "DEMO_LOAD"},
        "replicas": {"type": "integer", "minimum": 1},
        "ratio": {"type": ["number", "null"]},
        "tier": {"enum": ["gold", "silver"]},
        "port": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "vaultPath": {"anyOf": [{"const": ""}, {"type": "string", "minLength": 1}]},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "extra": {"type": "object"},
        "nodeSelector": {
            "type": "object",
            "properties": {"nvidia.com/gpu.present": {"type": "string"}},
            "additionalProperties": False,
        },
        "container": {
            "type": "object",
            "additionalProperties": False,
            "required": ["secrets"],
            "properties": {
                "secrets": {"type": "array", "items": {"$ref": "#/$defs/secret"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "ports": {
                    "type": "array",
                    "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                },
            },
        },
    },
}

STRING = Prim("string")
SECRET_SHAPE = ObjectType(
    (
        Prop("name", False, STRING),
        Prop("secretKey", False, STRING),
        Prop("vaultPath", False, STRING),
    )
)


def _module(schema: dict = SCHEMA, **kwargs) -> str:
    return generate_interface_module(
        schema, "DemoLoadSchema", discriminator=("workloadType", "DEMO_LOAD"), **kwargs
    )


def test_members_follow_the_schema_shape_and_optionality() -> None:
    text = _module()
    expected_members = [
        '  workloadType: "DEMO_LOAD";',
        "  name: string;",
        "  replicas?: number;",
        "  ratio?: number | null;",
        '  tier?: "gold" | "silver";',
        "  port?: number | string;",
        "  vaultPath?: string;",  # "" | string collapses to string
        "    [key: string]: string;",
        "    [key: string]: unknown;",
        '    "nvidia.com/gpu.present"?: string;',
        "    args?: string[];",
        "    ports?: (number | string)[];",
        "  /** The service name. */",
    ]
    for member in expected_members:
        assert member in text.splitlines(), member
    body = text.split("export interface DemoLoadSchema {\n", 1)[1].splitlines()
    assert body[0] == '  workloadType: "DEMO_LOAD";', "discriminator must be the first member"
    assert text.splitlines()[0] == "/** Values of a demo chart. */"


def test_ref_is_inlined_when_no_shared_type_matches() -> None:
    text = _module()
    assert "    secrets: {\n      name: string;\n      secretKey: string;\n" in text
    assert "import" not in text


def test_shared_type_replaces_a_subschema_of_the_same_shape() -> None:
    text = _module(shared=[SharedType("SecretObj", SECRET_SHAPE)])
    assert "    secrets: SecretObj[];" in text
    assert text.startswith('import { SecretObj } from "../shared";\n')


def test_near_miss_shape_is_not_replaced_by_a_shared_type() -> None:
    optional_key = ObjectType(
        (
            Prop("name", False, STRING),
            Prop("secretKey", True, STRING),
            Prop("vaultPath", False, STRING),
        )
    )
    text = _module(shared=[SharedType("SecretObj", optional_key)])
    assert "SecretObj" not in text


def test_literal_union_shared_type_is_reused_but_a_plain_string_alias_is_not() -> None:
    shared = [
        SharedType("Tier", Union((Literal("silver"), Literal("gold")))),
        SharedType("Name", STRING),
    ]
    text = _module(shared=shared)
    assert "  tier?: Tier;" in text
    assert "  name: string;" in text


def test_render_required_makes_members_required() -> None:
    text = _module(render_required=("replicas",))
    assert "  replicas: number;" in text.splitlines()
    with pytest.raises(UserError, match="notThere"):
        _module(render_required=("notThere",))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"properties": {"a": {"$ref": "https://example.com/x.json"}}}, "only local"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not resolve"),
        (
            {
                "$defs": {
                    "node": {"type": "object", "properties": {"kid": {"$ref": "#/$defs/node"}}}
                },
                "properties": {"a": {"$ref": "#/$defs/node"}},
            },
            "recursive",
        ),
        ({"properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}}}, "allOf"),
        (
            {"properties": {"a": {"type": "array", "prefixItems": [{"type": "string"}]}}},
            "prefixItems",
        ),
        (
            {"properties": {"a": {"type": "object", "patternProperties": {"^x": {}}}}},
            "patternProperties",
        ),
        ({"properties": {"a": {"type": "date"}}}, "unknown JSON Schema type"),
    ],
)
def test_unsupported_schemas_are_refused(patch: dict, message: str) -> None:
    schema = {
        "type": "object",
        "required": ["workloadType"],
        "properties": {"workloadType": {"const": "DEMO_LOAD"}},
    }
    for key, value in patch.items():
        schema.setdefault(key, {}).update(value)
    with pytest.raises(UserError, match=message):
        _module(schema)


def test_missing_or_optional_discriminator_is_refused() -> None:
    schema = {"type": "object", "properties": {"workloadType": {"const": "DEMO_LOAD"}}}
    with pytest.raises(UserError, match="discriminator"):
        _module(schema)


def test_shared_types_are_read_from_the_repositorys_shared_module(tmp_path: Path) -> None:
    write_tree(tmp_path, fixture_files())
    shared = {s.name: s.type for s in read_shared_types(tmp_path / "src/shared/index.ts")}
    assert shared["SecretObj"] == SECRET_SHAPE
    assert shared["EnvironmentVariableObj"] == ObjectType(
        (Prop("name", False, STRING), Prop("value", False, STRING))
    )
    # `typeof Environments[number]` in platform.ts, reached through `export * from './platform'`
    assert isinstance(shared["Environment"], Union)
    assert {m.value for m in shared["Environment"].members} == {
        "dev",
        "syst",
        "uat",
        "prod",
        "core",
        "core-dev",
    }
    assert "ContainerProbeProperties" in shared


def test_unparseable_shared_declarations_are_skipped_not_fatal(tmp_path: Path) -> None:
    entry = tmp_path / "index.ts"
    entry.write_text(
        "export interface Generic<T> { value: T }\n"
        "export type Fn = (a: string) => void;\n"
        "export interface Ok { a: string }\n"
    )
    names = {s.name for s in read_shared_types(entry)}
    assert names == {"Ok"}


def _tsc_project(tmp_path: Path, generated: str, usage: str) -> Path:
    (tmp_path / "src/shared").mkdir(parents=True)
    (tmp_path / "src/shared/index.ts").write_text(
        SHARED_INDEX.replace("export * from './platform';\n", "")
        + "export type Environment = 'dev' | 'prod';\n"
    )
    (tmp_path / "src/workloadChartValues").mkdir()
    (tmp_path / "src/workloadChartValues/demo.ts").write_text(generated)
    (tmp_path / "src/workloadChartValues/usage.ts").write_text(usage)
    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    return tmp_path


def test_generated_interface_accepts_valid_values_and_rejects_invalid_ones(tmp_path: Path) -> None:
    shared = read_shared_types(_tsc_project(tmp_path, "", "") / "src/shared/index.ts")
    generated = _module(shared=shared)
    usage = """\
import { DemoLoadSchema } from './demo';

export const ok: DemoLoadSchema = {
  workloadType: 'DEMO_LOAD',
  name: 'svc',
  port: 'http',
  labels: { team: 'a' },
  nodeSelector: { 'nvidia.com/gpu.present': 'true' },
  container: {
    secrets: [{ name: 'HF', secretKey: 'hf-token', vaultPath: '/secret/x' }],
    ports: [80, 'http'],
  },
};

// @ts-expect-error wrong discriminator
export const wrongType: DemoLoadSchema = { ...ok, workloadType: 'OTHER' };
// @ts-expect-error tier outside the enum
export const wrongTier: DemoLoadSchema = { ...ok, tier: 'bronze' };
// @ts-expect-error unknown member (additionalProperties: false)
export const extra: DemoLoadSchema = { ...ok, surprise: 1 };
export const noPath: DemoLoadSchema = {
  ...ok,
  // @ts-expect-error secret without its vaultPath
  container: { secrets: [{ name: 'A', secretKey: 'b' }] },
};
"""
    _tsc_project_update(tmp_path, generated, usage)
    result = run_tsc(tmp_path)
    assert result.ok, result.output
    assert "SecretObj" in generated


def _tsc_project_update(root: Path, generated: str, usage: str) -> None:
    (root / "src/workloadChartValues/demo.ts").write_text(generated)
    (root / "src/workloadChartValues/usage.ts").write_text(usage)


def test_a_type_error_is_reported_with_the_compilers_message(tmp_path: Path) -> None:
    _tsc_project(tmp_path, "export const x: number = 'text';\n", "")
    result = run_tsc(tmp_path)
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["TS2322"]
    assert result.diagnostics[0].file.endswith("demo.ts")
    assert "not assignable to type 'number'" in result.diagnostics[0].message


def test_chart_schema_generates_the_ml_inference_load_interface(tmp_path: Path) -> None:
    write_tree(tmp_path, fixture_files())
    text = generate_interface_module(
        chart.values_schema(),
        "MlInferenceLoadSchema",
        shared=read_shared_types(tmp_path / "src/shared/index.ts"),
        discriminator=("workloadType", "ML_INFERENCE_LOAD"),
        render_required=chart.RENDER_REQUIRED_VALUES,
    )
    lines = text.splitlines()
    start = lines.index("export interface MlInferenceLoadSchema {")
    members = [line for line in lines[start + 1 :] if re.match(r'^  [\w"]', line)]
    assert members[0] == '  workloadType: "ML_INFERENCE_LOAD";'
    assert "  environment: Environment;" in lines
    assert "    secrets: SecretObj[];" in lines
    assert "    environment: EnvironmentVariableObj[];" in lines
    assert "  model: {" in lines and "    id: string;" in lines and "    revision: string;" in lines
    assert "  serviceName: string;" in lines


def test_find_tsc_honours_the_environment_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_TSC", str(tmp_path / "missing-tsc"))
    with pytest.raises(ToolMissingError, match="INFERENCE_SCAFFOLDER_TSC"):
        find_tsc()
    fake = tmp_path / "tsc"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_TSC", str(fake))
    assert find_tsc() == fake


def test_find_tsc_falls_back_to_the_projects_pinned_compiler(monkeypatch) -> None:
    monkeypatch.delenv("INFERENCE_SCAFFOLDER_TSC", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    found = find_tsc()
    assert found.name == "tsc" and os.access(found, os.X_OK)
    assert found.parts[-4:] == ("tools", "node_modules", ".bin", "tsc")


def test_run_tsc_refuses_a_tree_without_tsconfig(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"tsconfig\.json"):
        run_tsc(tmp_path)
