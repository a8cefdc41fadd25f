"""JSON Schema -> TypeScript with json-schema-to-typescript: one named type per ``$defs``
entry, the repository's shared types wherever a shape is exactly theirs (decided by the
TypeScript checker on the real shared module), refusals, and the real compiler."""

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
    find_tsc,
    generate_interface_module,
    run_tsc,
)

SECRET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "secretKey", "vaultPath"],
    "properties": {
        "name": {"type": "string"},
        "secretKey": {"type": "string"},
        "vaultPath": {"type": "string", "pattern": "^/"},
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "Values of a demo chart.",
    "type": "object",
    "additionalProperties": False,
    "required": ["workloadType", "name", "container"],
    "$defs": {
        "secret": SECRET,
        "port": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "description": "The service name."},
        "workloadType": {"const": "DEMO_LOAD"},
        "replicas": {"type": "integer", "minimum": 1},
        "ratio": {"type": ["number", "null"]},
        "tier": {"enum": ["gold", "silver"]},
        "port": {"$ref": "#/$defs/port", "description": "Where it listens."},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "environment": {"enum": ["dev", "prod"]},
        "container": {
            "type": "object",
            "additionalProperties": False,
            "required": ["secrets"],
            "properties": {
                "secrets": {"type": "array", "items": {"$ref": "#/$defs/secret"}, "maxItems": 8},
                "pullSecret": {"$ref": "#/$defs/secret"},
                "args": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def _shared(tmp_path: Path, text: str) -> Path:
    entry = tmp_path / "src" / "shared" / "index.ts"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(text, encoding="utf-8")
    return entry


def _module(schema: dict = SCHEMA, **options) -> str:
    return generate_interface_module(
        schema, "DemoLoadSchema", discriminator=("workloadType", "DEMO_LOAD"), **options
    )


def _declaration(text: str, name: str) -> str:
    """The text of ``export interface|type <name>`` up to its end."""
    match = re.search(rf"^export (?:interface {name} \{{.*?^\}}|type {name} = [^\n]*)",
                      text, re.M | re.S)
    assert match, f"{name} is not declared in:\n{text}"
    return match.group(0)


def test_members_follow_the_schema_shape_and_optionality() -> None:
    text = _module()
    body = _declaration(text, "DemoLoadSchema")
    lines = [line.strip() for line in body.splitlines()]
    members = [line for line in lines[1:] if not line.startswith(("/**", "*"))]
    assert members[0] == 'workloadType: "DEMO_LOAD";', "the discriminator comes first"
    for member in [
        "name: string;",
        "replicas?: number;",
        "ratio?: number | null;",
        'tier?: "gold" | "silver";',
        "port?: Port;",
        "[k: string]: string;",
        "secrets: Secret[];",  # maxItems is validation, not a tuple type
        "pullSecret?: Secret;",
        "args?: string[];",
    ]:
        assert member in lines, member
    assert "* The service name." in lines and "* Where it listens." in lines
    assert "Values of a demo chart." in text.split("export interface DemoLoadSchema", 1)[0]


def test_each_defs_entry_becomes_one_named_type() -> None:
    text = _module()
    assert _declaration(text, "Port") == "export type Port = number | string;"
    secret = _declaration(text, "Secret")
    assert "  secretKey: string;" in secret.splitlines()
    assert text.count("secretKey") == 1, "the shape is declared once and referenced twice"
    assert "import" not in text


def test_a_shape_of_a_shared_type_is_imported_not_declared(tmp_path: Path) -> None:
    entry = _shared(tmp_path, SHARED_INDEX.replace("export * from './platform';\n", "")
                    + "export type Environment = 'dev' | 'prod';\n")
    text = _module(shared_entry=entry)
    assert text.startswith('import { Environment, SecretObj } from "../shared";\n')
    lines = [line.strip() for line in text.splitlines()]
    assert "secrets: SecretObj[];" in lines and "pullSecret?: SecretObj;" in lines
    assert "environment?: Environment;" in lines  # an inline enum of the same literals
    assert "secretKey" not in text


@pytest.mark.parametrize(
    "shared",
    [
        # secretKey optional: not the same shape
        "export interface SecretObj { name: string; secretKey?: string; vaultPath: string }\n",
        # one member more, optional: assignable both ways, still not the same shape
        "export interface SecretObj { name: string; secretKey: string; vaultPath: string;"
        " note?: string }\n",
        # a member whose type does not resolve is `any`: never evidence of a match
        "export interface SecretObj { name: string; secretKey: string; vaultPath: Missing }\n",
        # a different literal set
        "export type Environment = 'dev' | 'syst' | 'prod';\n",
    ],
)
def test_a_near_miss_is_not_replaced_by_a_shared_type(tmp_path: Path, shared: str) -> None:
    name = "SecretObj" if "SecretObj" in shared else "Environment"
    text = _module(shared_entry=_shared(tmp_path, shared))
    assert name not in text


def test_a_plain_string_alias_is_not_reused(tmp_path: Path) -> None:
    text = _module(shared_entry=_shared(tmp_path, "export type Name = string;\n"))
    assert "Name" not in text.split("\n", 1)[0] and "  name: string;" in text


def test_render_required_makes_members_required() -> None:
    assert "  replicas: number;" in _module(render_required=("replicas",)).splitlines()
    with pytest.raises(UserError, match="notThere"):
        _module(render_required=("notThere",))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"properties": {"a": {"$ref": "https://example.com/x.json"}}}, "only local"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not resolve"),
        (
            {"properties": {"a": {"type": "array", "prefixItems": [{"type": "string"}]}}},
            "prefixItems",
        ),
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


def _tsc_project(tmp_path: Path, generated: str, usage: str) -> Path:
    _shared(tmp_path, SHARED_INDEX.replace("export * from './platform';\n", "")
            + "export type Environment = 'dev' | 'prod';\n")
    (tmp_path / "src/workloadChartValues").mkdir(exist_ok=True)
    (tmp_path / "src/workloadChartValues/demo.ts").write_text(generated)
    (tmp_path / "src/workloadChartValues/usage.ts").write_text(usage)
    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    return tmp_path


def test_generated_interface_accepts_valid_values_and_rejects_invalid_ones(tmp_path: Path) -> None:
    entry = _tsc_project(tmp_path, "", "") / "src/shared/index.ts"
    generated = _module(shared_entry=entry)
    usage = """\
import { DemoLoadSchema } from './demo';

export const ok: DemoLoadSchema = {
  workloadType: 'DEMO_LOAD',
  name: 'svc',
  port: 'http',
  labels: { team: 'a' },
  environment: 'prod',
  container: {
    secrets: [{ name: 'HF', secretKey: 'hf-token', vaultPath: '/secret/x' }],
    args: ['--flag'],
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
    _tsc_project(tmp_path, generated, usage)
    result = run_tsc(tmp_path)
    assert result.ok, result.output
    assert "SecretObj" in generated


def test_a_type_error_is_reported_with_the_compilers_message(tmp_path: Path) -> None:
    _tsc_project(tmp_path, "export const x: number = 'text';\n", "")
    result = run_tsc(tmp_path)
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["TS2322"]
    assert result.diagnostics[0].file.endswith("demo.ts")
    assert "not assignable to type 'number'" in result.diagnostics[0].message


def test_chart_schema_generates_named_types_and_reuses_the_platforms(tmp_path: Path) -> None:
    write_tree(tmp_path, fixture_files())
    text = generate_interface_module(
        chart.values_schema(),
        "MlInferenceLoadSchema",
        shared_entry=tmp_path / "src/shared/index.ts",
        discriminator=("workloadType", "ML_INFERENCE_LOAD"),
        render_required=chart.RENDER_REQUIRED_VALUES,
    )
    root = _declaration(text, "MlInferenceLoadSchema")
    lines = [line.strip() for line in root.splitlines()]
    members = [line for line in lines[1:] if not line.startswith(("/**", "*"))]
    assert members[0] == 'workloadType: "ML_INFERENCE_LOAD";'
    for member in [
        "serviceName: string;",
        "environment: Environment;",  # the platform's type, not the union spelled out
        "secrets: SecretObj[];",
        "environment: EnvironmentVariableObj[];",
        "resources?: ContainerResourceProperties;",
        "startupProbe?: ContainerProbeProperties;",
        "readinessProbe?: ContainerProbeProperties;",
        "livenessProbe?: ContainerProbeProperties;",
        "tgi: EngineDefaults;",
        "vllm: EngineDefaults;",
    ]:
        assert member in lines, member
    model = root.split("model: {", 1)[1].split("};", 1)[0]
    assert "id: string;" in model and "revision: string;" in model
    # Shapes used more than once are declared once, by name.
    assert "export interface EngineDefaults {" in text and "export interface Image {" in text
    assert text.count("failureThreshold") == 0 and text.count("startupPath") == 1
    imported = set(re.findall(r"\w+", text.split(' from "../shared";', 1)[0]))
    assert {"Environment", "SecretObj", "ContainerProbeProperties"} <= imported


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
