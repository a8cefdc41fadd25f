"""template.yaml's form as users see it: the real Backstage frontend in a real browser.

A minimal Backstage app (backstage/frontend: the scaffolder's Create page and the catalog, the
same Backstage release as the backend) is served on loopback and driven by Playwright in
Debian's Chromium, against the real backend (catalog + scaffolder + our module). The catalog
holds the offline variant of template.yaml (same form, GitHub swapped for local stand-ins)
and a few groups, a user and systems for the pickers.

Screenshots of every step land in test-artifacts/backstage-form/ (see the README).
The test skips on a machine without Chromium or Playwright, and fails instead in CI
(CI=true) or with REQUIRE_SERVE_TEST=1.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from backstage_browser import (
    FIELD_MODULE_PACK_DIR,
    Wizard,
    app_config,
    backend_config_for,
    chromium_browser,
    fresh_artifacts_dir,
    frontend_server,
    install_frontend,
    require_browser_tools,
    write_catalog_fixture,
)
from backstage_harness import (
    REPO_ROOT,
    BackstageBackend,
    clone,
    offline_template,
    running_backend,
)

from inference_scaffolder.answers import GPU_TYPES, answer_fields, validate_answers
from inference_scaffolder.backstage import EMPTY_CHOICE_LABEL

pytestmark = pytest.mark.slow

TEMPLATE = yaml.safe_load((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
OFFLINE_NAME = f"{TEMPLATE['metadata']['name']}-e2e"
PAGES: list[dict[str, Any]] = TEMPLATE["spec"]["parameters"]
ANSWER_FIELDS = {f.key: f for f in answer_fields()}
ANSWERS_RECORD = Path(".inference-scaffolder") / "answers.yaml"
# Raw validator words that must never reach a user instead of a rule in words.
RAW_VALIDATOR_WORDS = ("must match pattern", "must NOT be valid", "must NOT have", "must be equal")

# What the user types, ticks or picks in the walkthrough; everything else stays as the form
# pre-fills it.
SERVICE = "support-chat"
USER_CHOICES: dict[str, Any] = {
    "service_name": SERVICE,
    "owner": "group:default/ml-platform",
    "system": "system:default/ml-inference",
    "environments": ["dev", "uat", "prod"],
    "allow_downtime": ["dev", "uat"],
    "engine": "vllm",
    "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
    "model_revision": "main",
    "max_input_tokens": 2048,
    "max_total_tokens": 4096,
    "environment_variables": [{"name": "VLLM_LOGGING_LEVEL", "value": "INFO"}],
    "gpu_type": "L4",
    "ingress_host": "chat.example.com",
    "routing": True,
    "repoUrl": f"github.com?owner=acme&repo={SERVICE}",
}


@dataclass
class FormApp:
    """The served frontend, the backend behind it, and a browser."""

    url: str
    backend: BackstageBackend
    browser: Any
    artifacts: Path
    nfs_url: str  # the same app on Backstage's new frontend system
    bare_url: str  # the classic app without our field module


@pytest.fixture(scope="module")
def form_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FormApp]:
    require_browser_tools()
    dist = install_frontend()
    base = tmp_path_factory.mktemp("backstage-form")
    offline = base / "offline-template" / "template.yaml"
    offline.parent.mkdir()
    offline.write_text(yaml.safe_dump(offline_template(TEMPLATE), sort_keys=False))
    fixture = write_catalog_fixture(base / "catalog" / "entities.yaml")
    with frontend_server(dist) as (url, set_config), frontend_server(dist / "nfs") as (
        nfs_url, set_nfs_config
    ), frontend_server(dist / "bare") as (bare_url, set_bare_config), running_backend(
        base, [fixture, offline], backend_config_for(url, nfs_url, bare_url)
    ) as backend:
        backend.wait_for_entity("template", OFFLINE_NAME)
        for kind, name in (("group", "ml-platform"), ("user", "ada"), ("system", "search")):
            backend.wait_for_entity(kind, name)
        for served, set_app_config in ((url, set_config), (nfs_url, set_nfs_config),
                                       (bare_url, set_bare_config)):
            set_app_config(app_config(served, backend.base_url, backend.token))
        with chromium_browser() as browser:
            yield FormApp(url, backend, browser, fresh_artifacts_dir(), nfs_url, bare_url)


@contextmanager
def _tab(form_app: FormApp, base_url: str) -> Iterator[Wizard]:
    """A fresh tab (own storage); fails the test on any uncaught error in the page."""
    context = form_app.browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        yield Wizard(page, base_url, form_app.artifacts)
    finally:
        context.close()
    assert not page_errors, page_errors


@pytest.fixture
def wizard(form_app: FormApp) -> Iterator[Wizard]:
    with _tab(form_app, form_app.url) as tab:
        yield tab


@pytest.fixture
def nfs_wizard(form_app: FormApp) -> Iterator[Wizard]:
    """A tab of the app on the new frontend system."""
    with _tab(form_app, form_app.nfs_url) as tab:
        yield tab


@pytest.fixture
def bare_wizard(form_app: FormApp) -> Iterator[Wizard]:
    """A tab of the classic app without our field module."""
    with _tab(form_app, form_app.bare_url) as tab:
        yield tab


def page_properties(title: str) -> dict[str, Any]:
    """The parameters of the form step with this title, as template.yaml declares them."""
    return dict(next(p for p in PAGES if p["title"] == title)["properties"])


def prefilled_defaults() -> dict[str, Any]:
    """What the form fills in by itself: every default of every step."""
    return {
        key: prop["default"]
        for page in PAGES
        for key, prop in page["properties"].items()
        if "default" in prop
    }


def expected_parameters() -> dict[str, Any]:
    """What the task must receive from the walkthrough: pre-filled values plus the user's."""
    return {**prefilled_defaults(), **USER_CHOICES}


def cli_answers(parameters: dict[str, Any]) -> dict[str, Any]:
    """The answers the CLI takes for these form values: what the scaffold step passes."""
    owner, repo = re.fullmatch(r"github\.com\?owner=(.+)&repo=(.+)", parameters["repoUrl"]).groups()
    answers = {k: v for k, v in parameters.items() if k != "repoUrl"}
    return validate_answers({**answers, "repo_slug": f"{owner}/{repo}"})


def shown_words(text: str) -> str:
    """Text as a reader compares it: Markdown code marks gone, whitespace collapsed."""
    return " ".join(text.replace("`", "").split())


def field_words(key: str, prop: dict[str, Any]) -> list[str]:
    """What a user must read at a field: its title, its help (the answer's, as Markdown shows
    it) and its rule (``ui:help``, where it has one)."""
    words = [prop["title"], ANSWER_FIELDS[key].help, prop.get("ui:help", "")]
    return [shown_words(w) for w in words if w]


def assert_fields_described(wizard: Wizard, properties: dict[str, Any]) -> None:
    """Each field's box shows its title, its help and its rule, the help once."""
    for key, prop in properties.items():
        shown = shown_words(wizard.field_text(key))
        for words in field_words(key, prop):
            assert words in shown, f"{key}: {words!r} not in {shown!r}"
        help_words = shown_words(ANSWER_FIELDS[key].help)
        assert shown.count(help_words) == 1, f"{key}: its help is not shown once: {shown!r}"


# --- the walkthrough ---------------------------------------------------------------------------


def assert_step_renders(wizard: Wizard, title: str) -> None:
    """Every parameter of the step has its control and its title on screen."""
    properties = page_properties(title)
    keys = list(properties)
    assert wizard.rendered(keys) == keys, f"{title}: not every parameter has a control"
    assert_fields_described(wizard, properties)
    text = wizard.main_text()
    for words in RAW_VALIDATOR_WORDS:
        assert words not in text


def fill_service(wizard: Wizard) -> None:
    assert_step_renders(wizard, "Service")
    # The pickers start empty and offer catalog entities by their titles, not raw refs.
    assert wizard.field("owner").input_value() == ""
    assert wizard.field("system").input_value() == ""
    offered = wizard.pick_entity("owner", "ML Platform", screenshot="02a-owner-picker")
    assert sorted(offered) == ["Ada Lovelace", "ML Platform", "Search Team"]
    assert sorted(wizard.pick_entity("system", "ML Inference")) == ["ML Inference", "Search"]
    assert wizard.field("owner").input_value() == USER_CHOICES["owner"]
    assert wizard.field("system").input_value() == USER_CHOICES["system"]
    wizard.field("service_name").fill(SERVICE)
    wizard.page.locator("#root_environments input[type=checkbox]").nth(1).uncheck()
    wizard.screenshot("02-step-service")
    wizard.press_next()


def fill_model(wizard: Wizard) -> None:
    assert_step_renders(wizard, "Model")
    wizard.select("engine", "vllm")
    wizard.field("model_id").fill(USER_CHOICES["model_id"])
    wizard.field("model_revision").fill(USER_CHOICES["model_revision"])
    wizard.field("max_input_tokens").fill(str(USER_CHOICES["max_input_tokens"]))
    wizard.field("max_total_tokens").fill(str(USER_CHOICES["max_total_tokens"]))
    wizard.page.get_by_role("button", name="Add Item", exact=True).click()  # the one list here
    wizard.field("environment_variables_0_name").fill("VLLM_LOGGING_LEVEL")
    wizard.field("environment_variables_0_value").fill("INFO")
    wizard.screenshot("03-step-model")
    wizard.press_next()


def fill_gpu(wizard: Wizard) -> None:
    assert_step_renders(wizard, "GPU")
    # One labelled empty choice, no blank options (the form's placeholder and the enum's '').
    labels = wizard.select_options("gpu_type", screenshot="04a-gpu-type-options")
    assert labels == [EMPTY_CHOICE_LABEL, *(t for t in GPU_TYPES if t)]
    wizard.select("gpu_type", "L4")
    wizard.screenshot("04-step-gpu")
    wizard.press_next()


def fill_availability(wizard: Wizard) -> None:
    assert_step_renders(wizard, "Availability")
    # dev is ticked by default; the user also lets uat go down during rollouts.
    downtime = wizard.page.locator("#root_allow_downtime input[type=checkbox]")
    assert [downtime.nth(i).is_checked() for i in range(downtime.count())] == [
        True, False, False, False]
    downtime.nth(2).check()
    assert wizard.field("rollout_surge").is_checked()
    wizard.screenshot("05a-step-availability")
    wizard.press_next()


def fill_access(wizard: Wizard) -> None:
    assert_step_renders(wizard, "Access")
    # Descriptions are Markdown in Backstage: <env> must not vanish as an HTML tag.
    assert "other environments get <env>.<host>" in wizard.main_text()
    wizard.field("ingress_host").fill(USER_CHOICES["ingress_host"])
    wizard.screenshot("05-step-access")
    wizard.press_next()


def fill_routing(wizard: Wizard) -> None:
    assert_step_renders(wizard, "Routing")
    assert "environments/<env>/values.yaml" in wizard.main_text()
    wizard.field("routing").check()
    wizard.screenshot("06-step-routing")
    wizard.press_next()


def fill_repository(wizard: Wizard) -> None:
    # RepoUrlPicker draws its own controls (host, owner, repository) under the title.
    assert page_properties("Repository")["repoUrl"]["title"] in wizard.main_text()
    form = wizard.page.locator("form")
    form.get_by_label("Owner").fill("acme")
    form.get_by_label("Repository").fill(SERVICE)
    form.get_by_label("Repository").press("Tab")
    wizard.screenshot("07-step-repository")
    wizard.press_next()


def test_user_fills_every_step_reviews_and_creates_the_service(
    wizard: Wizard, form_app: FormApp, tmp_path: Path
):
    wizard.open_template_list()
    wizard.screenshot("01-template-list")
    wizard.choose_only_template()
    for fill in (fill_service, fill_model, fill_gpu, fill_availability, fill_access, fill_routing,
                 fill_repository):
        fill(wizard)
        assert not wizard.all_errors(), (fill.__name__, wizard.all_errors())

    assert wizard.on_review()
    review = wizard.main_text()
    for shown in (SERVICE, "group:default/ml-platform", "system:default/ml-inference",
                  "Qwen/Qwen2.5-0.5B-Instruct", "chat.example.com", "VLLM_LOGGING_LEVEL", "L4"):
        assert shown in review, shown
    assert "✅" in review and "❌" in review  # booleans, drawn by the emoji font
    wizard.screenshot("08-review")

    wizard.page.get_by_role("button", name="Create").click()
    wizard.page.wait_for_url(re.compile(r".*/create/tasks/[0-9a-f-]+$"))
    task_id = wizard.page.url.rsplit("/", 1)[-1]
    result = form_app.backend.wait_for_task(task_id)
    assert result.status == "completed", (result.error_message(), form_app.backend.log_tail())
    for step in ("scaffold", "publish", "register", "schema-pr"):
        assert result.step_status(step) == "completed", step
    wizard.page.get_by_text("Open in catalog").wait_for()
    wizard.screenshot("09-task")

    parameters = result.task["spec"]["parameters"]
    assert parameters == expected_parameters()
    repo = clone(form_app.backend.git_root / "acme" / f"{SERVICE}.git", tmp_path / SERVICE)
    record = yaml.safe_load((repo / ANSWERS_RECORD).read_text(encoding="utf-8"))
    assert record["answers"] == cli_answers(parameters)


# --- refusals ----------------------------------------------------------------------------------

# A complete, valid form; each case below breaks one answer of it.
VALID_FORM_DATA: dict[str, Any] = {
    **USER_CHOICES,
    "environment_variables": [],
}

# The longest service name the form accepts, as template.yaml declares it.
SERVICE_NAME_MAX: int = page_properties("Service")["service_name"]["maxLength"]

REFUSALS = [
    pytest.param("service_name", {"service_name": "Support-Chat"},
                 "lowercase letters, digits and '-'", id="uppercase-service-name"),
    pytest.param("service_name", {"service_name": "a" * (SERVICE_NAME_MAX + 1)},
                 f"at most {SERVICE_NAME_MAX} characters", id="service-name-one-too-long"),
    pytest.param("service_name", {"service_name": "yes"},
                 "reads as a boolean, number or null in YAML", id="yaml-boolean-service-name"),
    pytest.param("environments", {"environments": []},
                 "at least one environment", id="no-environment"),
    pytest.param("environment_variables_0_name",
                 {"environment_variables": [{"name": "1-BAD", "value": "x"}]},
                 "letters, digits and '_'", id="bad-environment-variable-name"),
    pytest.param("max_input_tokens", {"max_input_tokens": 8192, "max_total_tokens": 8192},
                 "must be lower than max_total_tokens (8192 >= 8192)",
                 id="max-input-not-below-max-total"),
    pytest.param("memory_request", {"memory_request": "32GB"},
                 "Kubernetes memory quantity such as 32Gi", id="memory-32GB"),
    pytest.param("autoscaling_max_replicas", {"autoscaling_max_replicas": 1},
                 "0 (no autoscaling) or an integer from 2 to 16", id="one-max-replica"),
    pytest.param("ingress_host", {"ingress_host": "Chat.Example.com"},
                 "lowercase fully qualified hostname", id="uppercase-hostname"),
]


@pytest.mark.parametrize(("field_id", "changes", "words"), REFUSALS)
def test_invalid_answer_is_refused_with_a_message_in_words(
    wizard: Wizard, field_id: str, changes: dict[str, Any], words: str, request: Any
):
    wizard.open_prefilled(OFFLINE_NAME, {**VALID_FORM_DATA, **changes})
    for _ in PAGES:
        wizard.press_next()
        if wizard.all_errors() or wizard.on_review():
            break
    assert not wizard.on_review(), "the form let the invalid answer through"
    errors = wizard.all_errors()
    assert list(errors) == [field_id], errors
    message = " ".join(errors[field_id])
    assert words in message, message
    for raw in RAW_VALIDATOR_WORDS:
        assert raw not in wizard.main_text()
    wizard.screenshot(f"refused-{request.node.callspec.id}")



# --- the new frontend system -----------------------------------------------------------------


def _first_errors(wizard: Wizard) -> dict[str, list[str]]:
    """Press Next through the steps until one shows errors or the review comes."""
    for _ in PAGES:
        wizard.press_next()
        if wizard.all_errors() or wizard.on_review():
            break
    return wizard.all_errors()


def test_the_new_frontend_system_app_applies_the_cross_field_rule(nfs_wizard: Wizard) -> None:
    """An app on the new frontend system installs the field as a scaffolder module (the
    package's ./alpha export). Without it the field is a plain number field and the form lets
    max_input_tokens = max_total_tokens through; with it the form says the CLI's words."""
    nfs_wizard.open_prefilled(OFFLINE_NAME, {**VALID_FORM_DATA, "max_input_tokens": 8192,
                                             "max_total_tokens": 8192})
    errors = _first_errors(nfs_wizard)
    assert list(errors) == ["max_input_tokens"], errors
    assert "must be lower than max_total_tokens (8192 >= 8192)" in " ".join(
        errors["max_input_tokens"])
    nfs_wizard.screenshot("nfs-refused-max-input")

    nfs_wizard.open_prefilled(OFFLINE_NAME, VALID_FORM_DATA)
    assert _first_errors(nfs_wizard) == {}
    assert nfs_wizard.on_review()
    nfs_wizard.screenshot("nfs-review")


# --- an app without the field module ---------------------------------------------------------


def test_without_the_field_module_every_field_shows_its_title_and_help(
    bare_wizard: Wizard,
) -> None:
    """An adopter who installs only the backend module gets the stock form: every field of
    every step still shows its title, its description and its rule, next to its control."""
    bare_wizard.open_prefilled(OFFLINE_NAME, VALID_FORM_DATA)
    for page in PAGES[:-1]:  # the Repository step is the stock RepoUrlPicker's
        assert_fields_described(bare_wizard, page["properties"])
        bare_wizard.screenshot(f"bare-{page['title'].lower()}")
        bare_wizard.press_next()
        assert not bare_wizard.all_errors(), bare_wizard.all_errors()
    assert PAGES[-1]["properties"]["repoUrl"]["title"] in bare_wizard.main_text()


def test_without_the_field_module_the_action_refuses_the_cross_field_rule_in_one_line(
    bare_wizard: Wizard, form_app: FormApp
) -> None:
    """The stock form cannot compare two answers: it lets max_input_tokens = max_total_tokens
    through, and the task fails at its first step with the CLI's one-line message."""
    bare_wizard.open_prefilled(OFFLINE_NAME, {**VALID_FORM_DATA, "service_name": "bare-chat",
                                              "repoUrl": "github.com?owner=acme&repo=bare-chat",
                                              "max_input_tokens": 8192,
                                              "max_total_tokens": 8192})
    assert _first_errors(bare_wizard) == {}
    assert bare_wizard.on_review()
    bare_wizard.page.get_by_role("button", name="Create").click()
    bare_wizard.page.wait_for_url(re.compile(r".*/create/tasks/[0-9a-f-]+$"))
    result = form_app.backend.wait_for_task(bare_wizard.page.url.rsplit("/", 1)[-1])
    assert result.status == "failed"
    assert result.step_status("scaffold") == "failed"
    assert result.step_status("publish") in (None, "skipped")
    expected = "max_input_tokens: " + ANSWER_FIELDS["max_input_tokens"].lower_than_rule.replace(
        "{value}", "8192").replace("{limit}", "8192")
    assert result.error_message() == expected
    bare_wizard.page.get_by_text(expected).first.wait_for()
    bare_wizard.screenshot("bare-task-refused")
    assert not (form_app.backend.git_root / "acme" / "bare-chat.git").exists()


# --- the field module as published ----------------------------------------------------------


def test_the_field_module_packs_as_a_backstage_frontend_module() -> None:
    """The tarball an adopter installs (the apps above run it): built code and types only,
    both entry points, and the ./alpha export marked as a module of the new frontend system
    so an app with feature discovery installs it by itself."""
    install_frontend()
    (tarball,) = FIELD_MODULE_PACK_DIR.glob("*.tgz")
    with tarfile.open(tarball) as packed:
        names = set(packed.getnames())
        manifest = json.load(packed.extractfile("package/package.json"))
    assert {f"package/dist/{entry}" for entry in (
        "index.esm.js", "index.d.ts", "alpha.esm.js", "alpha.d.ts")} <= names
    assert not [name for name in names if name.startswith("package/src/")]
    assert manifest["backstage"]["role"] == "frontend-plugin-module"
    assert manifest["backstage"]["pluginId"] == "scaffolder"
    exports = manifest["exports"]
    assert exports["."]["import"] == "./dist/index.esm.js"
    assert exports["."]["types"] == "./dist/index.d.ts"
    assert exports["./alpha"]["import"] == "./dist/alpha.esm.js"
    assert exports["./alpha"]["backstage"] == "@backstage/FrontendModule"
