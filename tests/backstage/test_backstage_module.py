"""The scaffolder module's actions.

Backstage's own test tooling drives each action: the module's Jest suite
(`backstage-cli package test`, actions run with `createMockActionContext` against a
stand-in CLI) covers dry run, success, the CLI's one-line errors, the timeout, the
environment the CLI sees, the token hand-over and the checkpoint that keeps a recovered
task from proposing the schema twice. This file runs that suite, and runs the real CLI
through the built module against a hostile platform repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from backstage_harness import BACKSTAGE_DIR, MODULE_DIR, install_backstage

TOKEN = "ghp_" + "e2eTokenThatMustNeverBeLogged0001"
JEST_TIMEOUT_SECONDS = 600

DRIVER = r"""
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ConfigReader } = require('@backstage/config');
const { validate } = require('jsonschema');
const mod = require(process.env.MODULE_ENTRY);

async function main() {
  const c = JSON.parse(fs.readFileSync(0, 'utf8'));
  const config = new ConfigReader(c.config);
  const settings = mod.readSettings(config);
  const action = c.action === 'scaffold'
    ? mod.createInferenceScaffoldAction(settings)
    : mod.createInferenceSchemaPrAction(settings, config);
  const checked = validate(c.input, action.schema.input);
  if (!checked.valid) {
    console.log(JSON.stringify({ ok: false, stage: 'input', error: checked.errors.join(', ') }));
    return;
  }
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-'));
  const logs = [];
  const outputs = {};
  const log = level => (message) => logs.push(`${level}: ${message}`);
  const ctx = {
    input: c.input,
    workspacePath: workspace,
    isDryRun: Boolean(c.dryRun),
    logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
    output: (name, value) => { outputs[name] = value; },
    createTemporaryDirectory: async () => fs.mkdtempSync(path.join(os.tmpdir(), 'step-')),
    checkpoint: async ({ fn }) => fn(),
  };
  const started = Date.now();
  try {
    await action.handler(ctx);
  } catch (e) {
    console.log(JSON.stringify({ ok: false, stage: 'handler', error: e.message, logs,
                                 seconds: (Date.now() - started) / 1000 }));
    return;
  }
  const files = fs.readdirSync(workspace, { recursive: true }).sort();
  console.log(JSON.stringify({ ok: true, outputs, logs, workspace, files }));
}
main();
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return install_backstage()


def test_the_module_jest_suite_passes_under_backstage_cli(node_modules: Path, tmp_path: Path):
    report = tmp_path / "jest.json"
    env = {**os.environ, "CI": "true", "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        ["npx", "--no-install", "backstage-cli", "package", "test", "--json",
         f"--outputFile={report}"],
        cwd=MODULE_DIR, env=env, capture_output=True, text=True,
        timeout=JEST_TIMEOUT_SECONDS, check=False,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["numFailedTests"] == 0
    assert summary["numPendingTests"] == 0 and summary["numTodoTests"] == 0  # nothing skipped
    names = {t["fullName"] for suite in summary["testResults"] for t in suite["assertionResults"]}
    for expected in (
        "inference:scaffold runs in a dry run too, so the template editor shows the files",
        "inference:scaffold fails the step with the CLI's one-line error and logs its other lines",
        "inference:scaffold kills the CLI and its process group after the timeout",
        "inference:schema-pr does not propose again when a recovered task replays its checkpoint",
        "inference:schema-pr hands the integration token over in the environment only",
    ):
        assert expected in names


def run_action(
    node_modules: Path,
    tmp_path: Path,
    action: str,
    action_input: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    """Run one action of the built module (dist/) with a minimal context in Node."""
    case = {"action": action, "input": action_input, "config": config, "dryRun": False}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "MODULE_ENTRY": str(MODULE_DIR / "dist" / "index.cjs.js")}
    result = subprocess.run(
        ["node", "-e", DRIVER], input=json.dumps(case), cwd=BACKSTAGE_DIR, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_hostile_platform_repository_cannot_write_outside_the_workspace_through_the_action(
    node_modules: Path, tmp_path: Path
):
    """The real CLI, run by the action, on a platform repository whose tsconfig asks the
    compiler to write its build information over another file of the backend host (here a
    stand-in for the CLI's own entry point): the step fails with one line, the file is
    untouched and the token appears nowhere."""
    from github_fake import FakeGitHub
    from schema_repo_fixture import fixture_files, git, write_tree

    victim = tmp_path / "host" / "inference-scaffolder-entry-point"
    victim.parent.mkdir()
    victim.write_text("#!/bin/sh\nexec the-real-cli\n")
    tsconfig = {"compilerOptions": {"strict": True, "rootDir": "src", "incremental": True,
                                    "tsBuildInfoFile": str(victim)}, "include": ["src"]}
    slug = "acme/platform-schemas-types"
    seed = write_tree(tmp_path / "seed", {**fixture_files(), "tsconfig.json": json.dumps(tsconfig)})
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    git("add", "-A", cwd=seed)
    git("commit", "--quiet", "-m", "platform", cwd=seed)
    bare = tmp_path / "git" / f"{slug}.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(seed), str(bare)], check=True)
    fake = FakeGitHub(tmp_path / "git", token=TOKEN).start()
    fake.add_repo(slug, bare)
    try:
        host = fake.base_url.removeprefix("http://")
        config = {
            "inferenceScaffolder": {
                "command": str(Path(sys.executable).parent / "inference-scaffolder"),
                "schemaPr": {"repoUrl": f"{host}?owner=acme&repo=platform-schemas-types",
                             "gitUrl": fake.git_url(slug)},
            },
            "integrations": {"github": [{"host": host, "token": TOKEN,
                                         "apiBaseUrl": fake.api_url}]},
        }
        out = run_action(node_modules, tmp_path, "schema-pr", {}, config)
    finally:
        fake.stop()
    assert not out["ok"], out
    assert "tsconfig.json" in out["error"] and "incremental" in out["error"], out
    assert victim.read_text() == "#!/bin/sh\nexec the-real-cli\n"
    assert TOKEN not in json.dumps(out)
    assert fake.pulls.get(slug, []) == []
