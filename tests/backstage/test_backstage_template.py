"""template.yaml, catalog-info.yaml and the action schema: generated, in step, and valid for
Backstage (its own JSON Schemas from its npm packages, plus the name rules it checks in code).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from backstage_harness import (
    BACKSTAGE_DIR,
    MODULE_DIR,
    REPO_ROOT,
    backstage_schemas,
    entity_errors,
    is_entity_ref,
    load_entities,
)
from markdown_it import MarkdownIt

from inference_scaffolder.answers import (
    FIELDS_BY_KEY,
    YAML_NON_STRING_RULE,
    answers_json_schema,
    validate_answers,
)
from inference_scaffolder.backstage import (
    EMPTY_CHOICE_LABEL,
    ENTITY_PICKERS,
    LOWER_THAN_FIELD,
    NOT_IN_ACTION,
    NOT_IN_FORM,
    REPO_URL_PARAMETER,
    action_values_schema,
    build_template,
    render_template_yaml,
    stale_files,
)
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.generation.generate import generate

TEMPLATE_PATH = REPO_ROOT / "template.yaml"
ACTION_SCHEMA_PATH = MODULE_DIR / "src" / "answers.schema.json"


def committed_template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))


def form_schema() -> dict[str, Any]:
    """All form pages as one object schema, as the form validates the pages together."""
    pages = committed_template()["spec"]["parameters"]
    return {
        "type": "object",
        "required": [key for page in pages for key in page.get("required", [])],
        "properties": {k: v for page in pages for k, v in page["properties"].items()},
    }


def string_schemas(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every ``type: string`` schema below ``node``, with where it is."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "string":
            found.append((where, node))
        for key, value in node.items():
            found += string_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += string_schemas(value, f"{where}/{i}")
    return found


# --- generated and in step -------------------------------------------------------------------


def test_committed_files_equal_the_generator_output():
    assert stale_files(REPO_ROOT) == []
    assert TEMPLATE_PATH.read_text(encoding="utf-8") == render_template_yaml()
    assert json.loads(ACTION_SCHEMA_PATH.read_text(encoding="utf-8")) == action_values_schema()


def test_check_option_detects_a_hand_edited_template(tmp_path: Path, capsys):
    root = tmp_path / "checkout"
    (root / ACTION_SCHEMA_PATH.relative_to(REPO_ROOT).parent).mkdir(parents=True)
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    assert main(["backstage-template", "--root", str(root)]) == 0
    assert main(["backstage-template", "--check", "--root", str(root)]) == 0

    edited = (root / "template.yaml").read_text().replace("maxLength: 49", "maxLength: 99")
    (root / "template.yaml").write_text(edited)
    capsys.readouterr()
    assert main(["backstage-template", "--check", "--root", str(root)]) == 1
    assert "out of date: template.yaml" in capsys.readouterr().err
    assert main(["backstage-template", "--root", str(root)]) == 0
    assert (root / "template.yaml").read_text() == render_template_yaml()


def test_form_fields_are_the_answer_names_plus_the_repository():
    fields = list(form_schema()["properties"])
    expected = [key for key in FIELDS_BY_KEY if key not in NOT_IN_FORM]
    assert fields == [*expected, REPO_URL_PARAMETER]
    assert set(action_values_schema()["properties"]) == set(FIELDS_BY_KEY) - set(NOT_IN_ACTION)


def test_form_pages_follow_the_answer_pages():
    pages = committed_template()["spec"]["parameters"]
    for page in pages[:-1]:
        for key in page["properties"]:
            assert FIELDS_BY_KEY[key].page == page["title"], key
    assert list(pages[-1]["properties"]) == [REPO_URL_PARAMETER]
    assert len(pages) > 2  # a multi-page form


def test_every_string_field_has_a_pattern_or_a_length_limit():
    for schema in (form_schema(), action_values_schema()):
        strings = string_schemas(schema)
        assert strings
        for where, node in strings:
            assert "pattern" in node or "maxLength" in node or "enum" in node, where


def test_pickers_and_hints_reach_the_form():
    props = form_schema()["properties"]
    assert props["owner"]["ui:field"] == "OwnerPicker"
    assert props["system"]["ui:field"] == "EntityPicker"
    assert props[REPO_URL_PARAMETER]["ui:field"] == "RepoUrlPicker"
    assert props["environments"]["ui:widget"] == "checkboxes"
    assert props["engine"]["enum"] == ["vllm", "tgi"]
    assert props["service_name"]["ui:help"].startswith("Must be a DNS-1035 label")
    assert "default" not in props["model_id"]  # no default: the user must answer


# --- what the real form shows (tests/backstage/test_backstage_form.py sees it in a browser) ---

# Keywords with which a schema refuses a value by a rule of its own.
REFUSING_KEYWORDS = {"pattern", "not", "minLength", "maxLength", "minimum", "maximum", "enum",
                     "const", "minItems", "maxItems", "uniqueItems", "format", "required"}
FRONTEND_MODULE = BACKSTAGE_DIR / "frontend" / "plugins" / "scaffolder-frontend-module-inference"


def refusing_schemas(prop: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """``prop`` and the members of its list items, where each refuses values itself."""
    found = [(where, prop)] if REFUSING_KEYWORDS & set(prop) else []
    items = prop.get("items")
    if isinstance(items, dict):
        for member, schema in items.get("properties", {}).items():
            found += refusing_schemas(schema, f"{where}[].{member}")
    return found


def test_every_refusal_in_the_form_has_words():
    """ajv-errors' errorMessage: the form says the rule, not "must match pattern ^[a-z..."."""
    checked = []
    for key, prop in form_schema()["properties"].items():
        for where, schema in refusing_schemas(prop, key):
            message = schema.get("errorMessage", {})
            assert message.get("_"), f"{where}: no message in words"
            assert "^" not in message["_"] and "$" not in message["_"], where
            if schema.get("not", {}).get("pattern", "").startswith("^(?:[yYnN]"):
                assert message["not"] == YAML_NON_STRING_RULE, where
            checked.append(where)
    assert {"service_name", "environments", "environment_variables[].name",
            "extra_secrets[].vaultPath", REPO_URL_PARAMETER} <= set(checked)
    assert "errorMessage" not in json.dumps(action_values_schema())  # the form's alone


def markdown_as_text(markdown: str) -> str:
    """What a reader sees of Backstage's Markdown (CommonMark plus GFM tables/strikethrough)."""
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


def descriptions(node: Any, where: str = "") -> dict[str, str]:
    """Every ``description`` below ``node``, by where it is."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                found[where] = value
            elif key != "errorMessage":
                found.update(descriptions(value, f"{where}/{key}"))
    return found


def test_form_descriptions_read_as_written_after_markdown_rendering():
    """Backstage renders descriptions as Markdown: <env> must not vanish as an HTML tag."""
    written = descriptions(answers_json_schema()["properties"])
    shown = descriptions({k: v for k, v in form_schema()["properties"].items()
                          if k in written or f"/{k}" in written})
    assert set(shown) == set(written) - {f"/{k}" for k in NOT_IN_FORM}
    for where, description in shown.items():
        assert markdown_as_text(description) == written[where].replace("`", ""), where
    assert "environments/<env>/values.yaml" in markdown_as_text(shown["/routing"])


def test_selects_show_no_blank_option():
    """rjsf adds an empty placeholder to a select without a default; '' needs a label."""
    props = form_schema()["properties"]
    selects = {k: p for k, p in props.items() if "enum" in p}
    assert {"engine", "lifecycle", "gpu_type"} <= set(selects)
    for key, prop in selects.items():
        assert "default" in prop, key
        labels = prop.get("ui:enumNames", prop["enum"])
        assert len(labels) == len(prop["enum"]) and all(labels), key
    assert props["gpu_type"]["ui:enumNames"][0] == EMPTY_CHOICE_LABEL


def test_entity_pickers_start_empty():
    """A picker shows a default as a raw reference; the user picks the entity by its title."""
    pickers = {k: p for k, p in form_schema()["properties"].items()
               if p.get("ui:field") in ENTITY_PICKERS}
    assert set(pickers) == {"owner", "system"}
    assert all("default" not in p for p in pickers.values())
    assert FIELDS_BY_KEY["owner"].default  # the CLI keeps its default


def test_lower_than_rule_reaches_the_form_through_the_frontend_module():
    prop = form_schema()["properties"]["max_input_tokens"]
    assert prop["ui:field"] == LOWER_THAN_FIELD
    module_source = (FRONTEND_MODULE / "src" / "LowerThanField.tsx").read_text(encoding="utf-8")
    assert f"LOWER_THAN_FIELD = '{LOWER_THAN_FIELD}'" in module_source
    options = prop["ui:options"]
    assert options["lowerThan"] == "max_total_tokens"
    with pytest.raises(UserError) as refused:
        validate_answers({**GOOD_ANSWERS, "max_input_tokens": 8192, "max_total_tokens": 8192})
    shown = options["message"].replace("{value}", "8192").replace("{limit}", "8192")
    assert shown == refused.value.rule


def test_steps_and_output_links():
    spec = committed_template()["spec"]
    assert [s["action"] for s in spec["steps"]] == [
        "inference:scaffold", "publish:github", "catalog:register", "inference:schema-pr"
    ]
    scaffold_values = spec["steps"][0]["input"]["values"]
    # The platform's settings come from app-config (the action's environment), not the form.
    platform = {key for key, field in FIELDS_BY_KEY.items() if not field.in_form}
    assert platform == {"chart_repository", "chart_version", "scaffolder_source"}
    assert set(scaffold_values) == set(FIELDS_BY_KEY) - set(NOT_IN_ACTION) - platform
    assert "parseRepoUrl" in scaffold_values["repo_slug"]
    links = spec["output"]["links"]
    assert "steps['publish'].output.remoteUrl" in links[0]["url"]
    assert "steps['register'].output.entityRef" in links[1]["entityRef"]
    assert "steps['schema-pr'].output.pullRequestUrl" in links[2]["url"]


GOOD_ANSWERS = {
    "service_name": "support-chat",
    "description": "Chat completions.",
    "owner": "group:default/ml-platform",
    "system": "ml-inference",
    "service_catalog": "ml-inference",
    "namespace": "ml-inference",
    "environments": ["dev", "prod"],
    "engine": "vllm",
    "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
    "model_revision": "main",
    "max_input_tokens": 2048,
    "max_total_tokens": 4096,
    "gpu_count": 1,
    "ingress_host": "chat.example.com",
    "hf_token_vault_path": "",
    "secret_store": "vault-backend",
    "extra_secrets": [{"name": "API_KEY", "vaultPath": "/secret/chat/api-key"}],
}
BAD_ANSWERS = [
    ("service_name", "Support_Chat"),
    ("service_name", "a" * 54),
    ("description", "two\nlines"),
    ("owner", "group:default/ML Platform"),
    ("environments", ["qa"]),
    ("environments", []),
    ("engine", "triton"),
    ("model_id", "org/../name"),
    ("model_revision", "main/"),
    ("gpu_count", 9),
    ("max_total_tokens", 1),
    ("ingress_host", "Chat.Example.com"),
    ("hf_token_vault_path", "secret path with spaces"),
    ("extra_secrets", [{"name": "1BAD", "vaultPath": "/secret/x"}]),
]


def test_form_accepts_what_the_cli_accepts():
    form = {**GOOD_ANSWERS, REPO_URL_PARAMETER: "github.com?owner=acme&repo=support-chat"}
    jsonschema.Draft7Validator(form_schema()).validate(form)
    jsonschema.Draft7Validator(action_values_schema()).validate(GOOD_ANSWERS)
    validate_answers(GOOD_ANSWERS)


@pytest.mark.parametrize(("key", "value"), BAD_ANSWERS, ids=[k for k, _ in BAD_ANSWERS])
def test_form_and_action_refuse_what_the_cli_refuses(key: str, value: Any):
    answers = {**GOOD_ANSWERS, key: value}
    form = {**answers, REPO_URL_PARAMETER: "github.com?owner=acme&repo=support-chat"}
    assert not jsonschema.Draft7Validator(form_schema()).is_valid(form)
    assert not jsonschema.Draft7Validator(action_values_schema()).is_valid(answers)
    with pytest.raises(Exception, match=key):
        validate_answers(answers)


def test_patterns_compile_as_browser_regular_expressions():
    """The form validates in the browser (ajv, ``u`` flag); a Python-only regex would break it."""
    patterns = sorted({
        node["pattern"]
        for schema in (form_schema(), action_values_schema(), answers_json_schema())
        for _, node in string_schemas(schema)
        if "pattern" in node
    })
    script = (
        "const ps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const bad = ps.filter(p => { try { new RegExp(p, 'u'); return false; }"
        " catch { return true; } });"
        "console.log(JSON.stringify(bad));"
    )
    result = subprocess.run(["node", "-e", script], input=json.dumps(patterns),
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
    assert len(patterns) > 5


# --- valid for Backstage -----------------------------------------------------------------------


def test_schemas_come_from_the_pinned_backstage_packages():
    lock = json.loads((REPO_ROOT / "backstage" / "package-lock.json").read_text())
    loaded = backstage_schemas()
    for name, version in loaded["packages"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert {"TemplateV1beta3", "Entity", "ComponentV1alpha1", "LocationV1alpha1"} <= set(
        loaded["schemas"]
    )


def test_template_yaml_is_a_valid_backstage_template():
    template = committed_template()
    assert entity_errors(template) == []
    assert template == build_template()


def test_root_catalog_info_registers_the_template_and_the_scaffolder():
    entities = load_entities(REPO_ROOT / "catalog-info.yaml")
    assert [e["kind"] for e in entities] == ["Location", "Component"]
    for entity in entities:
        assert entity_errors(entity) == [], entity["metadata"]["name"]
    targets = entities[0]["spec"]["targets"]
    assert all((REPO_ROOT / t).is_file() for t in targets)
    assert "./template.yaml" in targets


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"engine": "vllm", "environments": ["dev", "syst", "uat", "prod"],
         "ingress_host": "chat.example.com", "owner": "user:default/jane.doe",
         "system": "system:platform/ml-inference", "lifecycle": "production",
         "repo_slug": "acme/support-chat"},
    ],
    ids=["defaults", "everything-set"],
)
def test_generated_catalog_info_is_valid(tmp_path: Path, changes: dict[str, Any]):
    answers = validate_answers({
        "service_name": "support-chat",
        "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
        "model_revision": "main",
        **changes,
    })
    result = generate(answers, tmp_path, git_init=False)
    entities = load_entities(result.output / "catalog-info.yaml")
    assert entities
    for entity in entities:
        assert entity_errors(entity) == [], entity["metadata"]["name"]
    component = next(e for e in entities if e["kind"] == "Component")
    assert component["metadata"]["name"] == "support-chat"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e["metadata"].update(name="Bad Name!"), "metadata.name"),
        (lambda e: e["metadata"].update(tags=["ML"]), "tags.0"),
        (lambda e: e["metadata"].update(labels={"team": "a b"}), "labels.team"),
        (lambda e: e["spec"].update(owner="group:Default/x"), "spec.owner"),
        (lambda e: e.update(extra=1), "unknown root field"),
        (lambda e: e["spec"].pop("lifecycle"), "'lifecycle' is a required property"),
        (lambda e: e.update(kind="Widget"), "no Backstage schema"),
    ],
    ids=["name", "tag", "label", "owner-ref", "root-field", "schema", "unknown-kind"],
)
def test_entity_checks_catch_what_backstage_refuses(change, expected: str):
    entity = load_entities(REPO_ROOT / "catalog-info.yaml")[1]
    change(entity)
    assert any(expected in error for error in entity_errors(entity))


def test_entity_reference_format():
    for good in ("ml-platform", "group:ml-platform", "group:default/ml-platform", "user:jane.doe"):
        assert is_entity_ref(good), good
    for bad in ("", "group:", "group:Default/x", "group:default/", "a b", "x/y/z"):
        assert not is_entity_ref(bad), bad
