"""Test support for the Backstage form: the real frontend, served on loopback, in Chromium.

The frontend is a minimal Backstage app (``backstage/frontend``: the scaffolder's Create page
and the catalog, pinned to the backend's Backstage release), bundled by
``scripts/install-backstage-frontend.sh``. It talks to the real backend that
``backstage_harness.running_backend`` starts, signs in with that backend's static token, and
is driven by Python Playwright through Debian's ``chromium`` (Playwright cannot download a
browser here). Nothing leaves the machine: every server listens on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from backstage_harness import REPO_ROOT, run_install_script

FRONTEND_DIR = REPO_ROOT / "backstage" / "frontend"
FRONTEND_DIST = FRONTEND_DIR / "dist"
# Where the install script packs our field module (npm pack), as an adopter receives it.
FIELD_MODULE_PACK_DIR = FRONTEND_DIR / "node_modules" / ".inference-scaffolder-pack"
INSTALL_FRONTEND_SCRIPT = REPO_ROOT / "scripts" / "install-backstage-frontend.sh"
INSTALL_BROWSER_SCRIPT = REPO_ROOT / "scripts" / "install-browser-test.sh"
CHROMIUM = Path(os.environ.get("INFERENCE_SCAFFOLDER_CHROMIUM", "/usr/bin/chromium"))
# Screenshots of every step, kept after the run (CI artefacts); ignored by git.
ARTIFACTS_DIR = Path(
    os.environ.get("INFERENCE_SCAFFOLDER_ARTIFACTS", REPO_ROOT / "test-artifacts")
) / "backstage-form"
# The flags this machine needs: no sandbox as root, and no background connections, which a
# closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- what the test needs, and what happens when it is missing ------------------------------


def missing_browser_tools() -> list[str]:
    """What is missing for the browser test, in words that say how to install it."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("Python Playwright (pip install -e '.[browser-test]')")
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (bash {INSTALL_BROWSER_SCRIPT.relative_to(REPO_ROOT)})")
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Node 20+)")
    return missing


def browser_test_required() -> bool:
    """CI must run the test: a missing tool fails it there instead of skipping it."""
    return os.environ.get("CI") == "true" or os.environ.get("REQUIRE_SERVE_TEST") == "1"


def require_browser_tools() -> None:
    """Skip on a laptop without the tools; fail in CI (or with REQUIRE_SERVE_TEST=1)."""
    missing = missing_browser_tools()
    if not missing:
        return
    message = "the Backstage form test needs " + "; ".join(missing)
    if browser_test_required():
        pytest.fail(message)
    pytest.skip(message)


@functools.cache
def install_frontend() -> Path:
    """Run scripts/install-backstage-frontend.sh once per session (a no-op when up to date)."""
    run_install_script(INSTALL_FRONTEND_SCRIPT)
    return FRONTEND_DIST


# --- the catalog the pickers choose from ------------------------------------------------------

# Groups, a user and systems, so OwnerPicker and EntityPicker have real entities to offer.
FIXTURE_ENTITIES: list[dict[str, Any]] = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "ml-platform", "title": "ML Platform"},
        "spec": {"type": "team", "children": []},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "search-team", "title": "Search Team"},
        "spec": {"type": "team", "children": []},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "ada"},
        "spec": {"profile": {"displayName": "Ada Lovelace"}, "memberOf": ["ml-platform"]},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": "ml-inference", "title": "ML Inference"},
        "spec": {"owner": "group:default/ml-platform"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": "search", "title": "Search"},
        "spec": {"owner": "group:default/search-team"},
    },
]


def write_catalog_fixture(path: Path) -> Path:
    """The fixture entities as one catalog file, to register as a file location."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(FIXTURE_ENTITIES, sort_keys=False), encoding="utf-8")
    return path


# --- serving the frontend ------------------------------------------------------------------


class _FrontendHandler(http.server.SimpleHTTPRequestHandler):
    """The bundle, ``/config.js`` (the app config) and index.html for every app route."""

    config_script: bytes = b""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/config.js":
            self._send(self.config_script, "application/javascript")
            return
        if "." not in path.rsplit("/", 1)[-1]:
            self.path = "/index.html"  # a client-side route such as /create/templates/...
        super().do_GET()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def frontend_server(dist: Path) -> Iterator[tuple[str, Any]]:
    """Serve ``dist`` on loopback; yields (base URL, a setter for the app config)."""

    class Handler(_FrontendHandler):
        pass

    def set_config(config: dict[str, Any]) -> None:
        Handler.config_script = f"window.__APP_CONFIG__ = {json.dumps(config)};\n".encode()

    handler = functools.partial(Handler, directory=str(dist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", set_config
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def backend_config_for(frontend_url: str, *other_frontends: str) -> dict[str, Any]:
    """Backend settings separately served frontends need: their origins for CORS."""
    return {
        "app": {"baseUrl": frontend_url},
        "backend": {
            "cors": {
                "origin": [frontend_url, *other_frontends] if other_frontends else frontend_url,
                "methods": ["GET", "HEAD", "PATCH", "POST", "PUT", "DELETE"],
                "credentials": True,
            }
        },
    }


def app_config(frontend_url: str, backend_url: str, token: str) -> dict[str, Any]:
    """The frontend's config: where the backend is, and the token the app signs in with."""
    return {
        "app": {"baseUrl": frontend_url, "title": "inference-scaffolder form test"},
        "backend": {"baseUrl": backend_url},
        "inferenceScaffolderTest": {"backendToken": token},
    }


# --- the browser ---------------------------------------------------------------------------


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def fresh_artifacts_dir() -> Path:
    """The screenshot folder, emptied so a run's pictures are all from that run."""
    shutil.rmtree(ARTIFACTS_DIR, ignore_errors=True)
    ARTIFACTS_DIR.mkdir(parents=True)
    return ARTIFACTS_DIR


# --- driving the scaffolder's wizard ---------------------------------------------------------

# Marks the form on screen, so a press of Next can tell the next step (a new form) from
# errors on the same one.
_MARK = "data-wizard-seen"
_NEXT_DONE = f"""() => {{
  const form = document.querySelector('form');
  return !form || !form.hasAttribute('{_MARK}') || !!document.querySelector('[id$="__error"]');
}}"""
# The tallest scrolling area (Backstage's content pane), capped so a runaway page stays cheap.
_CONTENT_HEIGHT = """() => Math.min(8000, Math.max(...Array.from(document.querySelectorAll('*'),
  e => e.scrollHeight + e.getBoundingClientRect().top)))"""
_RENDERED = """keys => keys.filter(key => ['', '-label', '__title'].some(
  suffix => document.getElementById(`root_${key}${suffix}`)))"""
# The text of one field's box (rjsf's form-group around its control): label, description,
# help and errors, but no other field's.
_FIELD_TEXT = """key => {
  const control = ['', '-label', '__title'].map(
    suffix => document.getElementById(`root_${key}${suffix}`)).find(Boolean);
  const group = control && control.closest('.form-group');
  return group ? group.innerText : '';
}"""


class Wizard:
    """The scaffolder's Create page in one browser tab, in the words of its controls.

    Fields are found by the ids rjsf gives them (``root_<answer>``), which Backstage keeps;
    screenshots go to ``artifacts``.
    """

    def __init__(self, page: Any, base_url: str, artifacts: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.artifacts = artifacts

    def open_template_list(self) -> None:
        self.page.goto(f"{self.base_url}/create")
        self.page.get_by_role("button", name="Choose").first.wait_for()

    def choose_only_template(self) -> None:
        """Click Choose on the one template card (the test registers one template)."""
        choose = self.page.get_by_role("button", name="Choose")
        assert choose.count() == 1, "expected exactly one template in the catalog"
        choose.click()
        self.page.locator("form").wait_for()

    def open_prefilled(self, template_name: str, form_data: dict[str, Any]) -> None:
        """The template's first step with answers given in the URL (Backstage's formData)."""
        query = urlencode({"formData": json.dumps(form_data)})
        self.page.goto(f"{self.base_url}/create/templates/default/{template_name}?{query}")
        self.page.locator("form").wait_for()

    def field(self, key: str) -> Any:
        return self.page.locator(f"#root_{key}")

    def rendered(self, keys: list[str]) -> list[str]:
        """Which of ``keys`` have a control (or a labelled group) on the current step."""
        return list(self.page.evaluate(_RENDERED, keys))

    def field_text(self, key: str) -> str:
        """What the field's box shows (empty when the field is not on this step)."""
        return str(self.page.evaluate(_FIELD_TEXT, key))

    def press_next(self) -> None:
        """Press Next (or Review) and wait until the step changed or errors showed."""
        self.page.locator("form").evaluate(f"form => form.setAttribute('{_MARK}', '')")
        self.page.locator("form button[type=submit]").click()
        self.page.wait_for_function(_NEXT_DONE)

    def on_review(self) -> bool:
        return self.page.get_by_role("button", name="Create").count() == 1

    def errors_of(self, key: str) -> list[str]:
        """The messages shown under a field (empty when it has none)."""
        errors = self.page.locator(f"#root_{key}__error")
        if errors.count() == 0:
            return []
        assert errors.is_visible(), f"{key}: the error list exists but is not visible"
        return [line.strip() for line in errors.inner_text().splitlines() if line.strip()]

    def all_errors(self) -> dict[str, list[str]]:
        """Every field with an error on the current step, by its rjsf id."""
        ids = self.page.evaluate(
            "() => Array.from(document.querySelectorAll('[id$=\"__error\"]')).map(e => e.id)"
        )
        return {i.removeprefix("root_").removesuffix("__error"): self.errors_of(
            i.removeprefix("root_").removesuffix("__error")) for i in ids}

    def main_text(self) -> str:
        return str(self.page.inner_text("main"))

    def _open_options(self, key: str, screenshot: str | None) -> tuple[Any, list[str]]:
        """Open a picker or select; its options and their labels ('' for a blank one)."""
        self.field(key).click()
        options = self.page.get_by_role("option")
        options.first.wait_for()
        if screenshot:
            self.screenshot(screenshot)
        return options, [text.strip() for text in options.all_inner_texts()]

    def _options_closed(self) -> None:
        # CSS, not role: a closing menu is hidden from the accessibility tree before it goes.
        self.page.locator("[role=option]").first.wait_for(state="detached")

    def pick_entity(self, key: str, title: str, screenshot: str | None = None) -> list[str]:
        """Choose ``title`` in an entity picker; returns every title the picker offered."""
        options, offered = self._open_options(key, screenshot)
        options.filter(has_text=title).first.click()
        self._options_closed()
        return offered

    def select_options(self, key: str, screenshot: str | None = None) -> list[str]:
        """The labels a select offers, as shown (a blank option gives '')."""
        _, labels = self._open_options(key, screenshot)
        self.page.keyboard.press("Escape")
        self._options_closed()
        return labels

    def select(self, key: str, label: str) -> None:
        self.field(key).click()
        self.page.get_by_role("option", name=label, exact=True).click()
        self._options_closed()

    def screenshot(self, name: str) -> Path:
        """Save the whole step as ``<name>.png`` in the artefact folder.

        Backstage scrolls its content inside the page, so a full-page screenshot would stop
        at the window's edge: the window is made as tall as the content for the picture.
        """
        path = self.artifacts / f"{name}.png"
        size = self.page.viewport_size
        height = int(self.page.evaluate(_CONTENT_HEIGHT))
        self.page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
        try:
            # Menus fade in and out: the picture shows where each transition ends.
            self.page.screenshot(path=str(path), animations="disabled")
        finally:
            self.page.set_viewport_size(size)
        return path
