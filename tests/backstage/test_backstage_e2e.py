"""template.yaml run by the real Backstage scaffolder, offline.

A real backend (catalog + scaffolder + our module, SQLite in memory, static token, loopback)
is installed from backstage/package-lock.json by scripts/install-backstage.sh, which also
builds and packs our module; the backend installs the module from that tarball, as an
adopter does, and is started once for this module. The repository's catalog-info.yaml is
registered as a file location, so the template reaches the catalog the way a platform team
would register it. Tasks run
template.yaml with only GitHub swapped for local stand-ins (see ``offline_template``).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from backstage_harness import (
    CLI,
    MODULE_NAME,
    REPO_ROOT,
    BackstageBackend,
    clone,
    offline_template,
    running_backend,
)
from github_fake import FakeGitHub
from schema_repo_fixture import make_bare_repo

pytestmark = pytest.mark.slow

SCHEMA_REPO = "platform/platform-schemas-types"
GITHUB_TOKEN = "ghp_" + "e2eFakeGitHubToken000000000000000001"
TEMPLATE = yaml.safe_load((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
TEMPLATE_NAME = TEMPLATE["metadata"]["name"]
OFFLINE_NAME = f"{TEMPLATE_NAME}-e2e"


def form_values(service_name: str, **changes: Any) -> dict[str, Any]:
    """What the Backstage form submits: answers (as the form types them) plus repoUrl."""
    values: dict[str, Any] = {
        "service_name": service_name,
        "description": "Chat completions for the support assistant.",
        "owner": "group:default/ml-platform",
        "system": "system:default/ml-inference",
        "service_catalog": "ml-inference",
        "namespace": "ml-inference",
        "lifecycle": "experimental",
        "environments": ["dev", "uat", "prod"],
        "engine": "vllm",
        "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
        "model_revision": "main",
        "max_input_tokens": 2048,
        "max_total_tokens": 4096,
        "gpu_count": 1,
        "ingress_host": "chat.example.com",
        "secret_store": "vault-backend",
        "environment_variables": [{"name": "VLLM_LOGGING_LEVEL", "value": "INFO"}],
        "image_pull_secret": False,
        "basic_monitoring": True,
        "repoUrl": f"github.com?owner=acme&repo={service_name}",
    }
    values.update(changes)
    return values


def cli_error_line(values: dict[str, Any], tmp_path: Path) -> str:
    """The one line the CLI itself prints for these answers (without ``error: ``)."""
    answers = {k: v for k, v in values.items() if k != "repoUrl"}
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    result = subprocess.run(
        [str(CLI), "new", "--answers", str(answers_file), "--no-input", "--no-git",
         "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("error: ")


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGitHub]:
    """A loopback GitHub (REST + git over HTTP) holding a platform-schemas-types fixture."""
    git_root = tmp_path_factory.mktemp("github")
    fake = FakeGitHub(git_root=git_root, token=GITHUB_TOKEN).start()
    owner, name = SCHEMA_REPO.split("/")
    fake.add_repo(SCHEMA_REPO, make_bare_repo(git_root / owner, name=f"{name}.git"))
    try:
        yield fake
    finally:
        fake.stop()


PLATFORM_CHARTS = "https://charts.example.com/platform-schemas-types"
PLATFORM_SCAFFOLDER = "git+https://git.example.com/platform/inference-scaffolder@v0.2.0"


def github_config(fake: FakeGitHub) -> dict[str, Any]:
    """The GitHub integration and schemaPr settings a platform team would write, for the fake."""
    host = fake.base_url.removeprefix("http://")
    owner, name = SCHEMA_REPO.split("/")
    return {
        "integrations": {
            "github": [{"host": host, "apiBaseUrl": fake.api_url, "token": GITHUB_TOKEN}]
        },
        "inferenceScaffolder": {
            "schemaPr": {
                "repoUrl": f"{host}?owner={owner}&repo={name}",
                "gitUrl": fake.git_url(SCHEMA_REPO),
            },
            # The platform's settings for every service it creates.
            "chartRepository": PLATFORM_CHARTS,
            "scaffolderSource": PLATFORM_SCAFFOLDER,
        },
    }


@pytest.fixture(scope="module")
def backend(
    tmp_path_factory: pytest.TempPathFactory, github: FakeGitHub
) -> Iterator[BackstageBackend]:
    base = tmp_path_factory.mktemp("backstage")
    offline = base / "offline-template" / "template.yaml"
    offline.parent.mkdir()
    offline.write_text(yaml.safe_dump(offline_template(TEMPLATE), sort_keys=False))
    locations = [REPO_ROOT / "catalog-info.yaml", offline]
    with running_backend(base, locations, github_config(github)) as running:
        running.wait_for_entity("template", TEMPLATE_NAME)
        running.wait_for_entity("template", OFFLINE_NAME)
        yield running


def test_the_backend_runs_the_module_from_its_packed_tarball(backend: BackstageBackend):
    module = backend.app_dir / "node_modules" / MODULE_NAME
    manifest = json.loads((module / "package.json").read_text(encoding="utf-8"))
    # what `npm pack` publishes: the built CommonJS entry and its type declarations
    assert (manifest["main"], manifest["types"]) == ("dist/index.cjs.js", "dist/index.d.ts")
    assert (module / "dist" / "index.d.ts").is_file()
    assert not (module / "src").exists()
    assert manifest["backstage"]["role"] == "backend-plugin-module"
    assert {"inference:scaffold", "inference:schema-pr"} <= set(backend.actions())


def test_catalog_info_registers_the_template_and_the_scaffolder(backend: BackstageBackend):
    template = backend.wait_for_entity("template", TEMPLATE_NAME)
    component = backend.wait_for_entity("component", "inference-scaffolder")
    assert template["spec"]["steps"] == TEMPLATE["spec"]["steps"]
    origin = template["metadata"]["annotations"]["backstage.io/managed-by-origin-location"]
    assert origin == f"file:{REPO_ROOT / 'catalog-info.yaml'}"
    assert component["spec"]["type"] == "tool"


def test_actions_publish_input_schemas_derived_from_the_answers(backend: BackstageBackend):
    actions = backend.actions()
    scaffold = actions["inference:scaffold"]["schema"]["input"]
    values_schema = scaffold["properties"]["values"]
    steps = TEMPLATE["spec"]["steps"]
    scaffold_step = next(s for s in steps if s["action"] == "inference:scaffold")
    assert set(scaffold_step["input"]["values"]) <= set(values_schema["properties"])
    assert values_schema["additionalProperties"] is False
    assert "inference:schema-pr" in actions


def test_task_generates_publishes_registers_and_proposes_the_schema(
    backend: BackstageBackend, github: FakeGitHub, tmp_path: Path
):
    values = form_values("support-chat")
    task_id = backend.create_task(f"template:default/{OFFLINE_NAME}", values)
    result = backend.wait_for_task(task_id)
    assert result.status == "completed", (result.error_message(), backend.log_tail())
    for step in ("scaffold", "publish", "register", "schema-pr"):
        assert result.step_status(step) == "completed", step

    repo = clone(backend.git_root / "acme" / "support-chat.git", tmp_path / "support-chat")
    assert sorted(p.name for p in (repo / "environments").iterdir()) == ["dev", "prod", "uat"]
    validated = subprocess.run(
        [str(CLI), "validate", str(repo), "--json"], capture_output=True, text=True, check=False
    )
    assert validated.returncode == 0, validated.stderr
    assert json.loads(validated.stdout)["ok"] is True

    # The platform's settings from app-config reached the leaf and its CI.
    for environment in ("dev", "uat", "prod"):
        kustomization = yaml.safe_load(
            (repo / "environments" / environment / "kustomization.yaml").read_text())
        assert kustomization["helmCharts"][0]["repo"] == PLATFORM_CHARTS
    workflow = (repo / ".github/workflows/validate.yaml").read_text(encoding="utf-8")
    assert f"'{PLATFORM_SCAFFOLDER}'" in workflow
    assert not (repo / "chart").exists()

    catalog_info = yaml.safe_load((repo / "catalog-info.yaml").read_text(encoding="utf-8"))
    assert catalog_info["metadata"]["annotations"]["github.com/project-slug"] == "acme/support-chat"
    registered = backend.wait_for_entity("component", "support-chat")
    assert registered["spec"]["owner"] == "group:default/ml-platform"

    pulls = github.open_pulls(SCHEMA_REPO)
    assert len(pulls) == 1
    assert github.branch_sha(SCHEMA_REPO, pulls[0].head) is not None

    links = {link["title"]: link for link in result.output["links"]}
    assert links["Repository"]["url"].endswith("/acme/support-chat.git")
    assert links["Open in catalog"]["entityRef"] == "component:default/support-chat"
    assert links["Schema pull request"]["url"].endswith(f"/pull/{pulls[0].number}")

    assert GITHUB_TOKEN not in json.dumps(result.events)
    assert GITHUB_TOKEN not in backend.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize(
    "changes",
    [
        # a cross-field rule only the CLI knows
        {"max_input_tokens": 4096, "max_total_tokens": 4096},
        # the injection guard: template syntax in an answer
        {"description": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"},
    ],
    ids=["cross-field-rule", "template-injection"],
)
def test_invalid_answer_fails_the_task_with_the_cli_one_line_message(
    backend: BackstageBackend, tmp_path: Path, changes: dict[str, Any]
):
    values = form_values("rejected-chat", **changes)
    expected = cli_error_line(values, tmp_path)
    task_id = backend.create_task(f"template:default/{OFFLINE_NAME}", values)
    result = backend.wait_for_task(task_id)
    assert result.status == "failed"
    assert result.step_status("scaffold") == "failed"
    assert result.step_status("publish") in (None, "skipped")  # nothing after it ran
    assert result.error_message() == expected
    assert not (backend.git_root / "acme" / "rejected-chat.git").exists()


def test_dry_run_of_template_yaml_returns_the_generated_files(
    backend: BackstageBackend, github: FakeGitHub
):
    branches_before = {p.head: github.branch_sha(SCHEMA_REPO, p.head)
                       for p in github.open_pulls(SCHEMA_REPO)}
    pulls_before = len(github.pulls[SCHEMA_REPO])
    response = backend.dry_run(TEMPLATE, form_values("preview-chat"))
    assert response.status_code == 200, response.text
    body = response.json()
    files = {f["path"]: f for f in body["directoryContents"]}
    for expected in ("catalog-info.yaml", "environments/dev/kustomization.yaml",
                     "environments/dev/values.yaml", "environments/prod/values.yaml"):
        assert expected in files
    assert not [path for path in files if path.startswith("chart/")]
    assert "environments/syst/values.yaml" not in files
    catalog_info = yaml.safe_load(base64.b64decode(files["catalog-info.yaml"]["base64Content"]))
    assert catalog_info["metadata"]["name"] == "preview-chat"
    messages = " ".join(str(e["body"].get("message", "")) for e in body["log"])
    assert "publish:github does not support dry-run" in messages
    assert not (backend.git_root / "acme" / "preview-chat.git").exists()
    # schema-pr ran with --dry-run: it logged its verdict and pushed or opened nothing
    assert "Schema pull request:" in messages
    assert len(github.pulls[SCHEMA_REPO]) == pulls_before
    assert {h: github.branch_sha(SCHEMA_REPO, h) for h in branches_before} == branches_before
    assert GITHUB_TOKEN not in messages


def test_dry_run_reports_an_invalid_answer_with_the_cli_message(
    backend: BackstageBackend, tmp_path: Path
):
    values = form_values("preview-bad", max_input_tokens=9000, max_total_tokens=8192)
    expected = cli_error_line(values, tmp_path)
    response = backend.dry_run(TEMPLATE, values)
    assert response.status_code >= 400
    assert response.json()["error"]["message"] == expected
