"""Test support for the Backstage side: Backstage's own JSON Schemas, entity checks, and a
real Backstage backend (catalog + scaffolder + our module) started on loopback.

Nothing here talks to the internet: the backend listens on 127.0.0.1, the GitHub publisher
is swapped for a test-only action that pushes to a local bare repository, and the generated
``catalog-info.yaml`` is served to the catalog from a loopback HTTP server.
"""

from __future__ import annotations

import copy
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKSTAGE_DIR = REPO_ROOT / "backstage"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-backstage.sh"
SCHEMA_SCRIPT = REPO_ROOT / "scripts" / "backstage-schemas.js"
MODULE_DIR = BACKSTAGE_DIR / "plugins" / "scaffolder-backend-module-inference"
MODULE_NAME = "@inference-scaffolder/backstage-plugin-scaffolder-backend-module-inference"
PACK_DIR = BACKSTAGE_DIR / "node_modules" / ".inference-scaffolder-pack"
CLI = REPO_ROOT / ".venv" / "bin" / "inference-scaffolder"
INSTALL_TIMEOUT_SECONDS = 900
READY_TIMEOUT_SECONDS = 120
TASK_TIMEOUT_SECONDS = 300


# --- installing ------------------------------------------------------------------------------


def run_install_script(script: Path) -> None:
    """Run one of the project's idempotent install scripts; its stderr tail on failure."""
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"scripts/{script.name} failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )


@functools.cache
def install_backstage() -> Path:
    """Run scripts/install-backstage.sh once per test session (a no-op when up to date)."""
    run_install_script(INSTALL_SCRIPT)
    return BACKSTAGE_DIR / "node_modules"


# --- Backstage's JSON Schemas and entity checks --------------------------------------------


@functools.cache
def backstage_schemas() -> dict[str, Any]:
    """``{"packages": {...}, "schemas": {$id: schema}}`` as Backstage's npm packages ship them."""
    node_modules = install_backstage()
    out = subprocess.run(
        ["node", str(SCHEMA_SCRIPT), str(node_modules)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    loaded = json.loads(out)
    return {"packages": loaded["packages"], "schemas": {s["$id"]: s for s in loaded["schemas"]}}


@functools.cache
def _registry() -> Registry:
    resources = [
        (schema_id, Resource(contents=schema, specification=DRAFT7))
        for schema_id, schema in backstage_schemas()["schemas"].items()
    ]
    return Registry().with_resources(resources)


def _kind_discriminators(schema: dict[str, Any]) -> tuple[list[str], list[str], Any]:
    """(kinds, apiVersions, spec.type const or None) a kind schema applies to."""
    for part in schema.get("allOf", []):
        props = part.get("properties", {})
        if "kind" in props:
            spec_type = props.get("spec", {}).get("properties", {}).get("type", {}).get("const")
            return props["kind"].get("enum", []), props.get("apiVersion", {}).get("enum", []), (
                spec_type
            )
    return [], [], None


def kind_schemas_for(entity: dict[str, Any]) -> list[str]:
    """$ids of the kind schemas Backstage applies to this entity (by kind, apiVersion, type)."""
    spec_type = (entity.get("spec") or {}).get("type")
    ids = []
    for schema_id, schema in backstage_schemas()["schemas"].items():
        kinds, versions, const_type = _kind_discriminators(schema)
        applies = entity.get("kind") in kinds and entity.get("apiVersion") in versions
        if applies and const_type in (None, spec_type):
            ids.append(schema_id)
    return ids


def _schema_errors(schema_id: str, entity: dict[str, Any]) -> list[str]:
    schema = backstage_schemas()["schemas"][schema_id]
    validator = jsonschema.Draft7Validator(schema, registry=_registry())
    return [
        f"{schema_id}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(entity)
    ]


# Entity format rules Backstage checks in code (catalog-model's FieldFormatEntityPolicy,
# NoForeignRootFieldsEntityPolicy and the entity-reference parser), written down here.
_DNS_LABEL = re.compile(r"^[a-z0-9]+(?:-+[a-z0-9]+)*$")
_OBJECT_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_KIND = re.compile(r"^[a-zA-Z][a-z0-9A-Z]*$")
_VERSION = re.compile(r"^[a-z0-9A-Z]+$")
_TAG = re.compile(r"^[a-z0-9+#]+(-[a-z0-9+#]+)*$")
_ROOT_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
# spec fields holding entity references, with the kind a bare name defaults to.
_REFERENCE_FIELDS = {
    "owner": "Group",
    "system": "System",
    "domain": "Domain",
    "subcomponentOf": "Component",
    "parent": "Group",
}
_REFERENCE_LIST_FIELDS = ("providesApis", "consumesApis", "dependsOn", "dependencyOf", "children")


def is_dns_label(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL.match(value))


def is_dns_subdomain(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 253
        and all(is_dns_label(p) for p in value.split("."))
    )


def is_object_name(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_OBJECT_NAME.match(value))


def _prefixed(value: Any, prefix_ok: Any, suffix_ok: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return suffix_ok(parts[0])
    return len(parts) == 2 and prefix_ok(parts[0]) and suffix_ok(parts[1])


def is_api_version(value: Any) -> bool:
    return _prefixed(
        value, is_dns_subdomain, lambda v: 1 <= len(v) <= 63 and bool(_VERSION.match(v))
    )


def is_kind(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_KIND.match(value))


def is_label_key(value: Any) -> bool:
    return _prefixed(value, is_dns_subdomain, is_object_name)


def is_tag(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG.match(value))


def is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def is_entity_ref(value: Any) -> bool:
    """``[kind:][namespace/]name`` with each part in Backstage's format."""
    if not isinstance(value, str) or not value:
        return False
    kind, sep, rest = value.partition(":")
    if not sep:
        kind, rest = "", value
    namespace, slash, name = rest.rpartition("/")
    return (
        (not kind or is_kind(kind))
        and (not slash or is_dns_label(namespace))
        and is_object_name(name)
    )


def _format_errors(entity: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if not isinstance(entity, dict):
        return ["entity is not a mapping"]
    errors += [f"unknown root field {k}" for k in entity if k not in _ROOT_FIELDS]
    meta = entity.get("metadata") or {}
    checks = [
        ("apiVersion", entity.get("apiVersion"), is_api_version),
        ("kind", entity.get("kind"), is_kind),
        ("metadata.name", meta.get("name"), is_object_name),
    ]
    if "namespace" in meta:
        checks.append(("metadata.namespace", meta["namespace"], is_dns_label))
    for key, value in (meta.get("labels") or {}).items():
        checks.append((f"labels.{key}", key, is_label_key))
        checks.append((f"labels.{key}", value, lambda v: v == "" or is_object_name(v)))
    for key, value in (meta.get("annotations") or {}).items():
        checks.append((f"annotations.{key}", key, is_label_key))
        checks.append((f"annotations.{key}", value, lambda v: isinstance(v, str)))
    for i, tag in enumerate(meta.get("tags") or []):
        checks.append((f"tags.{i}", tag, is_tag))
    for i, link in enumerate(meta.get("links") or []):
        checks.append((f"links.{i}.url", (link or {}).get("url"), is_url))
        for part in ("title", "icon"):
            if part in (link or {}):
                checks.append((f"links.{i}.{part}", link[part], _non_empty_string))
    spec = entity.get("spec") or {}
    for key in _REFERENCE_FIELDS:
        if key in spec:
            checks.append((f"spec.{key}", spec[key], is_entity_ref))
    for key in _REFERENCE_LIST_FIELDS:
        for i, ref in enumerate(spec.get(key) or []):
            checks.append((f"spec.{key}.{i}", ref, is_entity_ref))
    errors += [f'"{where}" is not valid: {value!r}' for where, value, ok in checks if not ok(value)]
    return errors


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def entity_errors(entity: dict[str, Any]) -> list[str]:
    """Everything Backstage would refuse in this entity: schemas first, then format rules."""
    kind_ids = kind_schemas_for(entity)
    errors = _schema_errors("Entity", entity)
    if not kind_ids:
        errors.append(f"no Backstage schema for {entity.get('apiVersion')} {entity.get('kind')}")
    for schema_id in kind_ids:
        errors += _schema_errors(schema_id, entity)
    return errors + _format_errors(entity)


def load_entities(path: Path) -> list[dict[str, Any]]:
    """All YAML documents of a catalog file (empty documents skipped)."""
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


# --- the offline variant of template.yaml ---------------------------------------------------

E2E_PUBLISH_ACTION = "inference-e2e:publish-local"


def offline_template(template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml with GitHub swapped for local stand-ins; every other step unchanged.

    ``publish:github`` becomes the test-only ``inference-e2e:publish-local`` (same inputs,
    same outputs), and ``catalog:register`` reads the served catalog-info.yaml by URL
    because a loopback server has no GitHub integration to resolve ``repoContentsUrl``.
    """
    result = copy.deepcopy(template)
    result["metadata"]["name"] = f"{template['metadata']['name']}-e2e"
    result["metadata"]["title"] = f"{template['metadata'].get('title', '')} (offline e2e)"
    actions = [step["action"] for step in result["spec"]["steps"]]
    assert "publish:github" in actions and "catalog:register" in actions, actions
    for step in result["spec"]["steps"]:
        if step["action"] == "publish:github":
            step["action"] = E2E_PUBLISH_ACTION
        elif step["action"] == "catalog:register":
            publish_id = next(
                s["id"] for s in result["spec"]["steps"] if s["action"] == E2E_PUBLISH_ACTION
            )
            url = f"${{{{ steps['{publish_id}'].output.catalogInfoUrl }}}}"
            step["input"] = {"catalogInfoUrl": url}
    return result


# --- a real backend -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def static_file_server(root: Path) -> Iterator[str]:
    """Serve ``root`` on loopback (stands in for raw.githubusercontent.com); yields base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class BackstageBackend:
    """A running backend and the folders it uses; API helpers authenticate with the token."""

    base_url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    git_root: Path
    serve_root: Path
    client: httpx.Client = field(init=False)

    @property
    def app_dir(self) -> Path:
        """The adopter backend folder the backend runs from (see ``adopter_backend``)."""
        return self.log_path.parent / "adopter"

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )

    def log_tail(self, chars: int = 6000) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return _strip_ansi(text)[-chars:]

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"backend exited ({code}):\n{self.log_tail()}")
            try:
                if self.client.get("/.backstage/health/v1/readiness").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"backend not ready after {timeout}s:\n{self.log_tail()}")

    def entity(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        response = self.client.get(f"/api/catalog/entities/by-name/{kind}/{namespace}/{name}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def wait_for_entity(self, kind: str, name: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.entity(kind, name)
            if found is not None:
                return found
            time.sleep(0.5)
        raise AssertionError(
            f"{kind} {name} not in the catalog after {timeout}s:\n{self.log_tail()}"
        )

    def create_task(self, template_ref: str, values: dict[str, Any]) -> str:
        response = self.client.post(
            "/api/scaffolder/v2/tasks", json={"templateRef": template_ref, "values": values}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def wait_for_task(self, task_id: str, timeout: float = TASK_TIMEOUT_SECONDS) -> TaskResult:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.client.get(f"/api/scaffolder/v2/tasks/{task_id}").json()
            if task["status"] in ("completed", "failed", "cancelled"):
                events = self.client.get(f"/api/scaffolder/v2/tasks/{task_id}/events").json()
                return TaskResult(task, events)
            time.sleep(0.5)
        raise AssertionError(f"task {task_id} still running after {timeout}s:\n{self.log_tail()}")

    def dry_run(self, template: dict[str, Any], values: dict[str, Any]) -> httpx.Response:
        return self.client.post(
            "/api/scaffolder/v2/dry-run",
            json={"template": template, "values": values, "secrets": {}, "directoryContents": []},
        )

    def actions(self) -> dict[str, dict[str, Any]]:
        response = self.client.get("/api/scaffolder/v2/actions")
        response.raise_for_status()
        return {a["id"]: a for a in response.json()}


@dataclass
class TaskResult:
    task: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.task["status"])

    @property
    def output(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event.get("type") == "completion":
                return dict(event["body"].get("output") or {})
        return {}

    def messages(self) -> list[str]:
        return [_strip_ansi(str(e["body"].get("message", ""))) for e in self.events]

    def step_status(self, step_id: str) -> str | None:
        statuses = [
            e["body"]["status"]
            for e in self.events
            if e["body"].get("stepId") == step_id and e["body"].get("status")
        ]
        return statuses[-1] if statuses else None

    def error_message(self) -> str:
        for event in reversed(self.events):
            if event.get("type") == "completion":
                error = event["body"].get("error") or {}
                return str(error.get("message", ""))
        return ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _overlay_config(
    port: int, token: str, folders: dict[str, Path], serve_url: str, locations: list[Path]
) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{port}"
    serve_host = urlsplit(serve_url).netloc
    return {
        "app": {"baseUrl": base_url},
        "backend": {
            "baseUrl": base_url,
            "listen": {"host": "127.0.0.1", "port": port},
            "workingDirectory": str(folders["work"]),
            "reading": {"allow": [{"host": serve_host}]},
            "auth": {
                "externalAccess": [
                    {"type": "static", "options": {"token": token, "subject": "e2e-tests"}}
                ]
            },
        },
        "catalog": {
            "locations": [{"type": "file", "target": str(p)} for p in locations],
        },
        "inferenceScaffolder": {"command": str(CLI), "timeoutSeconds": 300},
        "inferenceScaffolderE2e": {
            "gitRoot": str(folders["git"]),
            "serveRoot": str(folders["serve"]),
            "serveBaseUrl": serve_url,
        },
    }


def _backend_environment(folders: dict[str, Path]) -> dict[str, str]:
    """Minimal, reproducible environment: clean HOME (no user cookiecutter or git config)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folders["home"]),
        "TMPDIR": str(folders["tmp"]),
        "LANG": "C.UTF-8",
        "NODE_ENV": "development",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for key in ("INFERENCE_SCAFFOLDER_CRD_SCHEMAS",):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` laid over it, mappings merged key by key."""
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def packed_module() -> Path:
    """The module's tarball, as `npm pack` made it in scripts/install-backstage.sh."""
    install_backstage()
    tarballs = sorted(PACK_DIR.glob("*.tgz"))
    if len(tarballs) != 1:
        raise RuntimeError(f"expected one packed module in {PACK_DIR}, found {tarballs}")
    return tarballs[0]


def adopter_backend(base: Path) -> Path:
    """A backend folder as an adopter has it after installing the module's tarball.

    The backend's own files are this repository's ``backstage/backend``; its Backstage
    packages are the pinned install in ``backstage/node_modules`` (one link to the
    ``@backstage`` scope, so every package keeps a single copy); the module is unpacked
    from its tarball, as the package manager unpacks a ``file:`` tarball whose dependencies
    are already installed. Nothing of the module's source folder is reachable from here.
    """
    tarball = packed_module()
    app = base / "adopter"
    shutil.copytree(BACKSTAGE_DIR / "backend", app / "backend")
    manifest = {"name": "adopter-backend", "private": True,
                "dependencies": {MODULE_NAME: f"file:{tarball}"}}
    (app / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    modules = app / "node_modules"
    modules.mkdir()
    (modules / "@backstage").symlink_to(BACKSTAGE_DIR / "node_modules" / "@backstage")
    target = modules.joinpath(*MODULE_NAME.split("/"))
    target.mkdir(parents=True)
    with tarfile.open(tarball) as packed:
        for member in packed.getmembers():
            if not member.name.startswith("package/"):
                raise RuntimeError(f"{tarball.name}: unexpected entry {member.name}")
            member.name = member.name.removeprefix("package/")
        packed.extractall(target, filter="data")
    return app


@contextmanager
def running_backend(
    base: Path, locations: list[Path], extra_config: dict[str, Any] | None = None
) -> Iterator[BackstageBackend]:
    """Start ``backend/e2e.js`` of an adopter backend (``adopter_backend``) under ``base``;
    stop it (by its PID) afterwards."""
    app = adopter_backend(base)
    folders = {name: base / name for name in ("work", "tmp", "home", "git", "serve")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(24)
    port = free_port()
    with static_file_server(folders["serve"]) as serve_url:
        overlay = base / "app-config.e2e.yaml"
        overlay.write_text(
            yaml.safe_dump(
                _merged(
                    _overlay_config(port, token, folders, serve_url, locations),
                    extra_config or {},
                )
            ),
            encoding="utf-8",
        )
        log_path = base / "backend.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    "node",
                    "backend/e2e.js",
                    "--config",
                    str(BACKSTAGE_DIR / "app-config.yaml"),
                    "--config",
                    str(overlay),
                ],
                cwd=app,
                env=_backend_environment(folders),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        backend = BackstageBackend(
            f"http://127.0.0.1:{port}", token, process, log_path, folders["git"], folders["serve"]
        )
        try:
            backend.wait_ready()
            yield backend
        finally:
            backend.client.close()
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def clone(bare_repo: Path, dest: Path) -> Path:
    """Clone a bare repository the test-only publisher pushed to."""
    subprocess.run(
        ["git", "clone", "--quiet", str(bare_repo), str(dest)], check=True, capture_output=True
    )
    return dest
