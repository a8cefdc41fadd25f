"""The scaffolder module's actions, driven in Node with a stand-in CLI.

The end-to-end test runs the real CLI through a real backend; these cases pin what is hard
to provoke there: the subprocess timeout, a missing CLI, which environment the CLI sees,
and how the schema-pr action hands the GitHub token over (environment only, never argv or
the log). Each case runs the action's handler with a minimal context, after validating
the input against the action's schema with the same library the scaffolder uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from backstage_harness import BACKSTAGE_DIR, install_backstage

TOKEN = "ghp_" + "e2eTokenThatMustNeverBeLogged0001"

DRIVER = r"""
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ConfigReader } = require('@backstage/config');
const { validate } = require('jsonschema');
const mod = require('@inference-scaffolder/backstage-plugin-scaffolder-backend-module-inference');

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

FAKE_CLI = r'''#!/usr/bin/env python3
"""Stand-in for inference-scaffolder: records what it was given, answers by scenario."""
import json, os, pathlib, sys, time

args = sys.argv[1:]
record = pathlib.Path(os.environ["INFERENCE_SCAFFOLDER_TEST_RECORD"])
entry = {"argv": args, "env": dict(os.environ)}
if args[0] == "new":
    answers_file = pathlib.Path(args[args.index("--answers") + 1])
    answers = json.loads(answers_file.read_text())
    entry["answers"] = answers
    record.write_text(json.dumps(entry))
    name = answers["service_name"]
    if name == "refused":
        print("rendering...", file=sys.stderr)
        print("error: service_name: is reserved (got 'refused')", file=sys.stderr)
        sys.exit(2)
    if name == "slow":
        pathlib.Path(os.environ["INFERENCE_SCAFFOLDER_TEST_PIDFILE"]).write_text(str(os.getpid()))
        time.sleep(60)
    out = pathlib.Path(args[args.index("--output-dir") + 1]) / name
    (out / "chart").mkdir(parents=True)
    (out / "catalog-info.yaml").write_text("kind: Component\n")
    (out / "chart" / "values.yaml").write_text("x: 1\n")
    print(json.dumps({"output": str(out), "service_name": name, "environments": ["dev"],
                      "files": ["catalog-info.yaml", "chart/values.yaml"],
                      "validation": {"ok": True}}))
elif args[0] == "schema-pr":
    record.write_text(json.dumps(entry))
    if os.environ.get("INFERENCE_SCAFFOLDER_TEST_SCHEMA_REPO") == "handmade":
        # The repository already has its own, different ML_INFERENCE_LOAD.
        summary = ("charts/ml-inference-load 0.0.3 on main differs from the scaffolder's "
                   "chart (files: 3 removed)")
        differences = {"summary": summary, "base": "main", "chart": {}, "interface": None}
        if "--update-existing" not in args:
            print(json.dumps({"status": "differs", "pull_request": None, "warnings": [],
                              "differences": differences}))
            sys.exit(1)
        url = "https://github.com/acme/platform-schemas-types/pull/8"
        print(json.dumps({"status": "opened", "pull_request": url, "warnings": [],
                          "differences": differences}))
    elif "--dry-run" in args:
        diff = "+export type WorkloadSchema = A | MlInferenceLoadSchema;"
        print(json.dumps({"status": "opened", "pull_request": None, "diff": diff,
                          "warnings": []}))
    else:
        url = "https://github.com/acme/platform-schemas-types/pull/7"
        print(json.dumps({"status": "opened", "pull_request": url, "warnings": []}))
'''


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return install_backstage()


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "inference-scaffolder"
    path.parent.mkdir()
    path.write_text(FAKE_CLI.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
    path.chmod(0o755)
    return path


def run_action(
    node_modules: Path,
    tmp_path: Path,
    action: str,
    action_input: dict[str, Any],
    config: dict[str, Any],
    *,
    dry_run: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    case = {"action": action, "input": action_input, "config": config, "dryRun": dry_run}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    env.update(extra_env or {})
    result = subprocess.run(
        ["node", "-e", DRIVER], input=json.dumps(case), cwd=BACKSTAGE_DIR, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_config(fake_cli: Path, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    section = {
        "command": str(fake_cli),
        "env": {"INFERENCE_SCAFFOLDER_TEST_RECORD": str(tmp_path / "record.json")},
    }
    section.update(extra)
    return {"inferenceScaffolder": section}


def recorded(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "record.json").read_text())


MINIMAL_VALUES = {
    "service_name": "chat",
    "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
    "model_revision": "main",
}


def test_scaffold_passes_answers_as_a_json_file_and_fills_the_target_path(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    values = {**MINIMAL_VALUES, "environments": ["dev", "prod"], "gpu_count": 2}
    out = run_action(node_modules, tmp_path, "scaffold", {"targetPath": "svc", "values": values},
                     cli_config(fake_cli, tmp_path))
    assert out["ok"], out
    call = recorded(tmp_path)
    assert call["answers"] == values  # types kept: a list stays a list, a number a number
    assert call["argv"][0] == "new"
    assert {"--no-input", "--json", "--no-git"} <= set(call["argv"])
    assert set(out["files"]) >= {"svc/catalog-info.yaml", "svc/chart/values.yaml"}
    assert out["outputs"]["path"] == "svc"
    assert out["outputs"]["serviceName"] == "chat"
    assert out["outputs"]["files"] == ["catalog-info.yaml", "chart/values.yaml"]


def test_scaffold_reports_the_cli_one_line_error(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    out = run_action(node_modules, tmp_path, "scaffold",
                     {"values": {**MINIMAL_VALUES, "service_name": "refused"}},
                     cli_config(fake_cli, tmp_path))
    assert out == {**out, "ok": False, "stage": "handler"}
    assert out["error"] == "service_name: is reserved (got 'refused')"
    assert "info: inference-scaffolder: rendering..." in out["logs"]


def test_scaffold_input_schema_refuses_what_the_answers_schema_refuses(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = cli_config(fake_cli, tmp_path)
    cases = [
        {"values": {**MINIMAL_VALUES, "service_name": "Not_A_Dns_Label"}},
        {"values": {**MINIMAL_VALUES, "environments": ["qa"]}},
        {"values": {**MINIMAL_VALUES, "model_config": "/etc/passwd"}},  # not offered here
        {"values": {**MINIMAL_VALUES, "unknown_answer": 1}},
        {"values": {"service_name": "chat"}},  # model_id and model_revision have no default
        {"targetPath": "../outside", "values": MINIMAL_VALUES},
    ]
    for case in cases:
        out = run_action(node_modules, tmp_path, "scaffold", case, config)
        assert (out["ok"], out.get("stage")) == (False, "input"), case
    assert not (tmp_path / "record.json").exists()  # the CLI never ran


def test_scaffold_kills_the_cli_after_the_timeout(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    pidfile = tmp_path / "cli.pid"
    config = cli_config(fake_cli, tmp_path, timeoutSeconds=2)
    config["inferenceScaffolder"]["env"]["INFERENCE_SCAFFOLDER_TEST_PIDFILE"] = str(pidfile)
    out = run_action(node_modules, tmp_path, "scaffold",
                     {"values": {**MINIMAL_VALUES, "service_name": "slow"}}, config)
    assert out["ok"] is False
    assert "timed out after 2s" in out["error"]
    pid = int(pidfile.read_text())
    for _ in range(50):  # the process group gets SIGTERM; give it a moment to go
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"CLI process {pid} still alive after the timeout")


def test_scaffold_names_the_setting_when_the_cli_is_missing(node_modules: Path, tmp_path: Path):
    missing = tmp_path / "nowhere" / "inference-scaffolder"
    config = {"inferenceScaffolder": {"command": str(missing)}}
    out = run_action(node_modules, tmp_path, "scaffold", {"values": MINIMAL_VALUES}, config)
    assert out["ok"] is False
    assert "inferenceScaffolder.command" in out["error"]


def test_cli_sees_only_its_own_environment(node_modules: Path, tmp_path: Path, fake_cli: Path):
    out = run_action(
        node_modules, tmp_path, "scaffold", {"values": MINIMAL_VALUES},
        cli_config(fake_cli, tmp_path),
        extra_env={"BACKEND_SECRET": "db-password", "INFERENCE_SCAFFOLDER_CRD_SCHEMAS": "/crds",
                   "GITHUB_TOKEN": TOKEN},
    )
    assert out["ok"], out
    env = recorded(tmp_path)["env"]
    assert "BACKEND_SECRET" not in env
    assert "GITHUB_TOKEN" not in env  # the scaffold step needs no token
    assert env["INFERENCE_SCAFFOLDER_CRD_SCHEMAS"] == "/crds"
    assert env["PATH"].split(os.pathsep)[0] == str(fake_cli.parent)  # tools next to the CLI


SCHEMA_REPO = {"repoUrl": "github.com?owner=acme&repo=platform-schemas-types"}


def test_schema_pr_hands_the_integration_token_over_in_the_environment_only(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = cli_config(fake_cli, tmp_path, schemaPr=SCHEMA_REPO)
    config["integrations"] = {"github": [{"host": "github.com", "token": TOKEN}]}
    out = run_action(node_modules, tmp_path, "schema-pr", {}, config)
    assert out["ok"], out
    call = recorded(tmp_path)
    assert call["env"]["GITHUB_TOKEN"] == TOKEN
    assert TOKEN not in json.dumps(call["argv"])
    assert TOKEN not in json.dumps(out["logs"])
    argv = call["argv"]
    assert argv[0] == "schema-pr"
    assert argv[argv.index("--repo") + 1] == "https://github.com/acme/platform-schemas-types.git"
    assert argv[argv.index("--publisher") + 1] == "github"
    assert argv[argv.index("--github-repo") + 1] == "acme/platform-schemas-types"
    assert argv[argv.index("--github-api-url") + 1] == "https://api.github.com"
    assert "--dry-run" not in argv
    assert out["outputs"] == {
        "pullRequestUrl": "https://github.com/acme/platform-schemas-types/pull/7",
        "status": "opened",
    }


def test_schema_pr_prefers_a_token_secret_from_the_input(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = cli_config(fake_cli, tmp_path, schemaPr=SCHEMA_REPO)
    config["integrations"] = {"github": [{"host": "github.com", "token": "integration-token"}]}
    out = run_action(node_modules, tmp_path, "schema-pr", {"token": TOKEN}, config)
    assert out["ok"], out
    assert recorded(tmp_path)["env"]["GITHUB_TOKEN"] == TOKEN


def test_schema_pr_dry_run_passes_dry_run_and_logs_the_diff(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = cli_config(fake_cli, tmp_path, schemaPr=SCHEMA_REPO)
    config["integrations"] = {"github": [{"host": "github.com", "token": TOKEN}]}
    out = run_action(node_modules, tmp_path, "schema-pr", {}, config, dry_run=True)
    assert out["ok"], out
    assert "--dry-run" in recorded(tmp_path)["argv"]
    assert any("MlInferenceLoadSchema" in line for line in out["logs"])
    assert out["outputs"]["pullRequestUrl"] == ""


def test_schema_pr_without_a_token_fails_before_running_the_cli(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = cli_config(fake_cli, tmp_path, schemaPr=SCHEMA_REPO)
    out = run_action(node_modules, tmp_path, "schema-pr", {}, config)
    assert out["ok"] is False
    assert "no GitHub token for github.com" in out["error"]
    assert not (tmp_path / "record.json").exists()


def test_schema_pr_is_skipped_when_no_schema_repository_is_configured(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    out = run_action(node_modules, tmp_path, "schema-pr", {}, cli_config(fake_cli, tmp_path))
    assert out["ok"], out
    assert out["outputs"] == {"pullRequestUrl": "", "status": "skipped"}
    assert any(line.startswith("warn: Skipping") for line in out["logs"])
    assert not (tmp_path / "record.json").exists()


def handmade_schema_repo_config(fake_cli: Path, tmp_path: Path) -> dict[str, Any]:
    """The fake CLI answers as against a repository with its own ML_INFERENCE_LOAD."""
    config = cli_config(fake_cli, tmp_path, schemaPr=SCHEMA_REPO)
    config["inferenceScaffolder"]["env"]["INFERENCE_SCAFFOLDER_TEST_SCHEMA_REPO"] = "handmade"
    config["integrations"] = {"github": [{"host": "github.com", "token": TOKEN}]}
    return config


def test_schema_pr_fails_the_step_with_the_summary_when_the_repository_differs(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    out = run_action(node_modules, tmp_path, "schema-pr", {},
                     handmade_schema_repo_config(fake_cli, tmp_path))
    assert (out["ok"], out["stage"]) == (False, "handler"), out
    assert "--update-existing" not in recorded(tmp_path)["argv"]
    assert out["error"] == (
        "charts/ml-inference-load 0.0.3 on main differs from the scaffolder's chart "
        "(files: 3 removed); nothing was pushed or opened (set the step input "
        "updateExisting: true to propose replacing it)"
    )


def test_schema_pr_update_existing_input_passes_the_flag_and_logs_the_replacement(
    node_modules: Path, tmp_path: Path, fake_cli: Path
):
    config = handmade_schema_repo_config(fake_cli, tmp_path)
    out = run_action(node_modules, tmp_path, "schema-pr", {"updateExisting": True}, config)
    assert out["ok"], out
    assert "--update-existing" in recorded(tmp_path)["argv"]
    assert out["outputs"]["status"] == "opened"
    assert any(line.startswith("warn: The pull request replaces what the repository has: "
                               "charts/ml-inference-load 0.0.3") for line in out["logs"])
    # false is the same as leaving it out; anything but a boolean is refused by the schema
    out = run_action(node_modules, tmp_path, "schema-pr", {"updateExisting": False}, config)
    assert out["ok"] is False and "--update-existing" not in recorded(tmp_path)["argv"]
    (tmp_path / "record.json").unlink()
    out = run_action(node_modules, tmp_path, "schema-pr", {"updateExisting": "yes"}, config)
    assert (out["ok"], out["stage"]) == (False, "input")
    assert not (tmp_path / "record.json").exists()


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
