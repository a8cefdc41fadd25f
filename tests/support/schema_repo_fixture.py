"""A small platform-schemas-types repository for tests, in the shape the reference describes.

Three workload types with TypeScript modules (basic-container-load, basic-container-rollout,
stateful-container-load) and two third-party umbrella charts, with the formatting variations
the real repository has: mixed quote styles in imports and in ``PlatformBaseCharts``, imports
without semicolons, a multi-line ``export { ... }`` block with neither a trailing semicolon
nor a final newline, no trailing comma in ``PlatformBaseCharts``, and a ``platform.ts`` of
several hundred lines. It compiles with ``tsc --noEmit`` (strict, commonjs, ES2020).

Its ``npm test`` is the repository's: ``scripts/validate-values.js`` (written here, in our own
words: every chart's values.yaml against its values.schema.json with ajv's draft 2020-12
build, allErrors, strict off) and then ``tsc --noEmit``. :func:`run_npm_test` runs it with the
project's pinned Node tools standing in for the repository's ``npm ci``.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from common import PROJECT_ROOT
from handmade_ml_chart import with_handmade_type

GIT_IDENTITY = ["-c", "user.name=Fixture Author", "-c", "user.email=fixture@example.invalid"]

PACKAGE_JSON = {
    "name": "@platform/schemas-types",
    "version": "3.14.0",
    "description": "Base chart values schemas and their TypeScript types",
    "main": "dist/index.js",
    "types": "dist/index.d.ts",
    "scripts": {
        "build": "tsc",
        "validate-values": "node scripts/validate-values.js",
        "test": "npm run validate-values && tsc --noEmit",
    },
    "devDependencies": {"ajv": "^8.17.1", "js-yaml": "^4.1.0", "typescript": "^5.9.0"},
}

VALIDATE_VALUES_JS = """\
// Validates each chart's values.yaml against its values.schema.json (JSON Schema 2020-12).
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const Ajv = require('ajv/dist/2020');

const chartsDir = path.join(__dirname, '..', 'charts');
let failed = false;
for (const name of fs.readdirSync(chartsDir).sort()) {
  const schemaPath = path.join(chartsDir, name, 'values.schema.json');
  const valuesPath = path.join(chartsDir, name, 'values.yaml');
  if (!fs.existsSync(schemaPath) || !fs.existsSync(valuesPath)) continue;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
  if (validate(yaml.load(fs.readFileSync(valuesPath, 'utf8')) || {})) {
    console.log(`PASS ${name}`);
  } else {
    failed = true;
    console.log(`FAIL ${name}`);
    for (const error of validate.errors) console.log(`  ${error.instancePath} ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
"""

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2020",
        "module": "commonjs",
        "strict": True,
        "declaration": True,
        "rootDir": "src",
        "outDir": "dist",
        "esModuleInterop": True,
        "skipLibCheck": True,
    },
    "include": ["src"],
}

SHARED_INDEX = """\
export * from './platform';

/** A plain environment variable of a container. */
export interface EnvironmentVariableObj {
  name: string;
  value: string;
}

/** A secret pulled from Vault by External Secrets. */
export interface SecretObj {
  /** Environment variable the container reads. */
  name: string;
  secretKey: string;
  vaultPath: string;
}

export interface ContainerPortConfig {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ContainerProbeProperties {
  enabled: boolean;
  type: 'http' | 'exec';
  path?: string;
  port?: number;
  scheme?: 'HTTP' | 'HTTPS';
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ContainerResourceProperties {
  requests: { cpu: string; memory: string };
  limits: { cpu?: string; memory: string };
}

export interface ContainerHpaProperties {
  enabled: boolean;
  minReplicas: number;
  maxReplicas: number;
  targetCPUUtilizationPercentage?: number;
}
"""


def _platform_ts(lodash_import: bool) -> str:
    """A long shared-types module with PlatformBaseCharts somewhere in the middle."""
    head = [
        "// Platform-wide constants and types shared by every workload chart.",
        "import kebabCase from 'lodash/kebabCase';" if lodash_import else "",
        "",
        "export const Environments = ['dev', 'syst', 'uat', 'prod', 'core', 'core-dev'] as const;",
        "export type Environment = typeof Environments[number];",
        "",
        "/** Promotion order of application environments. */",
        "export const PromotionOrder: readonly Environment[] = ['dev', 'syst', 'uat'];",
        "",
    ]
    filler: list[str] = []
    regions = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"]
    for i in range(48):
        filler += [
            f"/** Settings block {i} of the platform's cluster profiles. */",
            f"export interface ClusterProfile{i} {{",
            "  name: string;",
            f"  region: '{regions[i % len(regions)]}';",
            "  nodePools: {",
            "    name: string;",
            "    minSize: number;",
            "    maxSize: number;",
            "    labels?: Record<string, string>;",
            "  }[];",
            "  environments: Environment[];",
            "  monitoring?: { enabled: boolean; retentionDays?: number };",
            "}",
            "",
        ]
    charts = [
        "export const PlatformBaseCharts = {",
        "  BASIC_CONTAINER_LOAD: 'BASIC_CONTAINER_LOAD',",
        '  BASIC_CONTAINER_ROLLOUT: "BASIC_CONTAINER_ROLLOUT",',
        "  STATEFUL_CONTAINER_LOAD: 'STATEFUL_CONTAINER_LOAD',",
        "  // third-party umbrella charts",
        '  REDIS_CLUSTER: "REDIS_CLUSTER",',
        "  KAFKA_CONNECT: 'KAFKA_CONNECT'",
        "} as const;",
        "",
        "export type PlatformBaseChart = keyof typeof PlatformBaseCharts;",
        "",
    ]
    if not lodash_import:
        charts += [
            "function kebabCase(value: string): string {",
            "  return value.toLowerCase().replace(/_/g, '-');",
            "}",
            "",
        ]
    charts += [
        "/** Chart folder under charts/ for each base chart. */",
        "export const PlatformBaseChartFolders = Object.fromEntries(",
        "  Object.keys(PlatformBaseCharts).map((key) => [key, kebabCase(key)]),",
        ") as Record<PlatformBaseChart, string>;",
        "",
    ]
    tail: list[str] = []
    for i in range(40):
        tail += [
            f"export const FeatureFlag{i} = "
            f"{{ key: 'feature-{i}', defaultOn: {str(i % 2 == 0).lower()} }};",
            f"export type FeatureFlag{i}Key = typeof FeatureFlag{i}['key'];",
            "",
        ]
    return "\n".join(
        [*head, *filler[: len(filler) // 2], *charts, *filler[len(filler) // 2 :], *tail]
    )


WORKLOAD_MODULES = {
    "basicContainerLoad.ts": """\
import {
  ContainerProbeProperties,
  ContainerResourceProperties,
  Environment,
  EnvironmentVariableObj,
  SecretObj,
} from '../shared';

export interface BasicContainerLoadSchema {
  workloadType: "BASIC_CONTAINER_LOAD";
  serviceName: string;
  serviceCatalog: string;
  namespace: string;
  environment: Environment;
  revisionHistoryLimit?: number;
  basicMonitoring: { enabled: boolean };
  ingress: { enabled: boolean; host?: string };
  service: { port: number };
  container: {
    image: { repository: string; tag: string };
    secretStore: { name: string };
    secrets: SecretObj[];
    environment: EnvironmentVariableObj[];
    resources: ContainerResourceProperties;
    livenessProbe?: ContainerProbeProperties;
    readinessProbe?: ContainerProbeProperties;
  };
}
""",
    "basicContainerRollout.ts": """\
import { ContainerHpaProperties, Environment, EnvironmentVariableObj, SecretObj } from "../shared";

export interface BasicContainerRolloutSchema {
  workloadType: "BASIC_CONTAINER_ROLLOUT";
  serviceName: string;
  serviceCatalog: string;
  namespace: string;
  environment: Environment;
  hpa?: ContainerHpaProperties;
  canary: { steps: { setWeight: number; pauseSeconds?: number }[] };
  container: {
    image: { repository: string; tag: string };
    secrets: SecretObj[];
    environment: EnvironmentVariableObj[];
  };
}
""",
    "statefulContainerLoad.ts": """\
import { ContainerPortConfig, Environment, SecretObj } from '../shared'

export interface StatefulContainerLoadSchema {
  workloadType: "STATEFUL_CONTAINER_LOAD";
  serviceName: string;
  serviceCatalog: string;
  namespace: string;
  environment: Environment;
  storage: { size: string; storageClassName?: string };
  container: {
    image: { repository: string; tag: string };
    ports: ContainerPortConfig[];
    secrets: SecretObj[];
  };
}
""",
}

WORKLOAD_SCHEMA_TS = (
    'import { BasicContainerLoadSchema } from "./basicContainerLoad";\n'
    "import { BasicContainerRolloutSchema } from './basicContainerRollout';\n"
    'import { StatefulContainerLoadSchema } from "./statefulContainerLoad";\n'
    "\n"
    "/** Values of any platform base chart, discriminated by workloadType. */\n"
    "export type WorkloadSchema = BasicContainerLoadSchema | BasicContainerRolloutSchema"
    " | StatefulContainerLoadSchema;\n"
)

INDEX_TS = (
    "import { BasicContainerLoadSchema } from './basicContainerLoad'\n"
    'import { BasicContainerRolloutSchema } from "./basicContainerRollout";\n'
    "import { StatefulContainerLoadSchema } from './statefulContainerLoad'\n"
    "\n"
    "export { WorkloadSchema } from './workloadSchema';\n"
    "\n"
    "export type BasicContainerLoadVariants = BasicContainerLoadSchema"
    " | BasicContainerRolloutSchema | StatefulContainerLoadSchema;\n"
    "\n"
    "export {\n"
    "  BasicContainerLoadSchema,\n"
    "  BasicContainerRolloutSchema,\n"
    "  StatefulContainerLoadSchema\n"
    "}"
)

ROOT_INDEX_TS = "export * from './shared';\nexport * from './workloadChartValues';\n"

EXHAUSTIVE_CHECK_TS = """\
import { WorkloadSchema } from './workloadChartValues';

/** Every workload type must have a deployment strategy: adding one without it fails here. */
export function deploymentStrategy(values: WorkloadSchema): string {
  switch (values.workloadType) {
    case 'BASIC_CONTAINER_LOAD':
      return 'rolling';
    case 'BASIC_CONTAINER_ROLLOUT':
      return 'canary';
    case 'STATEFUL_CONTAINER_LOAD':
      return 'ordered';
    default: {
      const unhandled: never = values;
      return unhandled;
    }
  }
}
"""


def _catalog_entry(kebab: str, title: str, screaming: str, description: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: {kebab}
          title: {title}
          description: {description}
          labels:
            scaffold-eligible: "true"
          annotations:
            github.com/project-slug: platform/platform-schemas-types
            platform.example.com/chart-path: charts/{kebab}
            platform.example.com/workload-type: {screaming}
            platform.example.com/helm-registry: https://charts.platform.example.com/base
            backstage.io/techdocs-ref: dir:.
          tags:
            - helm
            - {kebab}
          links:
            - url: https://platform.example.com/support
              title: Platform support
        spec:
          type: platform-base-chart
          lifecycle: production
          owner: group:platform-team
          system: platform-base-charts
          domain: platform
        """)


def _chart_files(kebab: str, screaming: str, version: str) -> dict[str, str]:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["workloadType"],
        "properties": {
            "workloadType": {"type": "string", "const": screaming},
            "serviceName": {"type": "string"},
            "basicMonitoring": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"enabled": {"type": "boolean"}},
            },
        },
    }
    return {
        f"charts/{kebab}/Chart.yaml": textwrap.dedent(f"""\
            apiVersion: v2
            name: {kebab}
            description: Platform base chart {kebab}
            version: {version}
            appVersion: "1.0.0"
            maintainers:
              - name: platform-team
            """),
        f"charts/{kebab}/values.yaml": (
            f'workloadType: {screaming}\nserviceName: ""\nbasicMonitoring:\n  enabled: true\n'
        ),
        f"charts/{kebab}/values.schema.json": json.dumps(schema, indent=2) + "\n",
        f"charts/{kebab}/templates/configmap.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.serviceName }}\n"
        ),
    }


def fixture_files(
    *,
    lodash_import: bool = False,
    exhaustive_check: bool = False,
    handmade: bool = False,
    overrides: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """The repository's files, path -> text; ``overrides`` replaces (or with None removes).
    ``handmade``: the repository already holds a hand-made ML_INFERENCE_LOAD 0.0.3 (chart,
    interface, union entries) and an ollama chart, as the real one does now."""
    files: dict[str, str] = {
        "package.json": json.dumps(PACKAGE_JSON, indent=2) + "\n",
        "scripts/validate-values.js": VALIDATE_VALUES_JS,
        "tsconfig.json": json.dumps(TSCONFIG, indent=2) + "\n",
        "README.md": "# platform-schemas-types\n\nBase charts and their value types.\n",
        "src/index.ts": ROOT_INDEX_TS,
        "src/shared/index.ts": SHARED_INDEX,
        "src/shared/platform.ts": _platform_ts(lodash_import),
        "src/workloadChartValues/workloadSchema.ts": WORKLOAD_SCHEMA_TS,
        "src/workloadChartValues/index.ts": INDEX_TS,
    }
    for name, text in WORKLOAD_MODULES.items():
        files[f"src/workloadChartValues/{name}"] = text
    if exhaustive_check:
        files["src/deploymentStrategy.ts"] = EXHAUSTIVE_CHECK_TS
    for kebab, screaming, title, version in (
        ("basic-container-load", "BASIC_CONTAINER_LOAD", "Basic Container Load", "1.4.2"),
        ("basic-container-rollout", "BASIC_CONTAINER_ROLLOUT", "Basic Container Rollout", "0.9.7"),
        ("stateful-container-load", "STATEFUL_CONTAINER_LOAD", "Stateful Container Load", "2.0.1"),
        ("redis-cluster", "REDIS_CLUSTER", "Redis Cluster", "0.3.0"),
        ("kafka-connect", "KAFKA_CONNECT", "Kafka Connect", "0.2.5"),
    ):
        files.update(_chart_files(kebab, screaming, version))
        files[f".cat/backstage/{kebab}.catalog-info.yaml"] = _catalog_entry(
            kebab, title, screaming, f"Platform base chart for {title.lower()} workloads."
        )
    if handmade:
        files = with_handmade_type(files)
    for path, text in (overrides or {}).items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return files


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    return root


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make_bare_repo(tmp_path: Path, name: str = "platform-schemas-types.git", **options) -> Path:
    """A bare repository with the fixture committed on ``main``."""
    work = tmp_path / f"{name}-seed"
    work.mkdir(parents=True)
    write_tree(work, fixture_files(**options))
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "platform-schemas-types fixture", cwd=work)
    bare = tmp_path / name
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True, capture_output=True
    )
    return bare


def branch_sha(bare: Path, branch: str) -> str | None:
    out = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=bare,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or None


def show(bare: Path, ref: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=bare, check=True, capture_output=True, text=True
    ).stdout


def checkout(bare: Path, ref: str, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", ref, str(bare), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def commit_count(bare: Path, ref: str) -> int:
    out = subprocess.run(
        ["git", "rev-list", "--count", ref], cwd=bare, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def run_npm_test(tree: Path) -> subprocess.CompletedProcess[str]:
    """``npm test`` in a checkout of the fixture, with the project's pinned tools/node_modules
    (ajv, js-yaml, typescript) in place of the repository's own ``npm ci``."""
    modules = PROJECT_ROOT / "tools" / "node_modules"
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "PATH": f"{modules / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
    }
    return subprocess.run(
        ["npm", "test"], cwd=tree, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )
