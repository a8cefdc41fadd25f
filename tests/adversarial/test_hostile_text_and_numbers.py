"""Numbers and prose from outside, written where people read them.

- A model's ``config.json`` is anyone's file (``capacity --model-config``, the copy a service
  repository keeps for ``validate``): an integer thousands of digits long, NaN, infinity or
  deep nesting is one line naming the file and the key, never a traceback, and ``validate``
  of a fleet reports it for that repository only.
- Answers files are read with the same bound on integers.
- The ``description`` answer is shown in the README (GitHub) and in TechDocs (MkDocs): raw
  HTML, links (``javascript:`` included), images and @mentions written into it stay plain
  text there; bidirectional overrides and terminal control characters are refused.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from common import EXAMPLES, MINIMAL_ANSWERS, PROJECT_ROOT
from hostile import assert_refused, run_cli
from markdown_it import MarkdownIt

from inference_scaffolder import cli
from inference_scaffolder.answers import collect_answers, validate_answers
from inference_scaffolder.checks.capacity import load_model_config
from inference_scaffolder.errors import UserError
from inference_scaffolder.service.files import (
    markdown_text,
    mkdocs_config,
    render_prose_templates,
)

# TinyLlama-1.1B's published architecture (the fields the estimate reads).
TINYLLAMA = {
    "_name_or_path": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "hidden_size": 2048,
    "intermediate_size": 5632, "num_attention_heads": 32, "num_hidden_layers": 22,
    "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
LONG_INTEGER = "1" + "0" * 3999  # under Python's 4300-digit limit: parses, then overflows
OVER_THE_LIMIT = "1" + "0" * 5000  # over it: int() itself raises ValueError
RECORD = Path(".inference-scaffolder/answers.yaml")
CONFIG_COPY = ".inference-scaffolder/model-config.json"


def config_text(key: str, raw_value: str) -> str:
    """TinyLlama's config with ``key`` set to ``raw_value`` exactly as written in JSON."""
    others = {k: v for k, v in TINYLLAMA.items() if k != key}
    return json.dumps(others)[:-1] + f', "{key}": {raw_value}}}'


# --------------------------------------------------------------------------- model configs


@pytest.mark.parametrize(("key", "raw", "rule"), [
    ("hidden_size", LONG_INTEGER, "more than 20 digits"),
    ("vocab_size", OVER_THE_LIMIT, "more than 20 digits"),
    ("rope_theta", "NaN", "not a finite number"),
    ("rope_theta", "-Infinity", "not a finite number"),
    ("rope_theta", "1e400", "not a finite number"),
])
def test_a_number_no_model_has_is_refused_naming_file_and_key(
    tmp_path: Path, key: str, raw: str, rule: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(config_text(key, raw))
    with pytest.raises(UserError) as caught:
        load_model_config(path)
    assert caught.value.field == "model_config"
    assert str(path) in caught.value.rule and key in caught.value.rule
    assert rule in caught.value.rule


def test_a_long_integer_in_a_nested_config_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"text_config": {"layers": [1, 2]}})
                    .replace("[1, 2]", f"[1, {LONG_INTEGER}]"))
    with pytest.raises(UserError, match=r"text_config\.layers\[1\]: an integer of more than 20"):
        load_model_config(path)


def test_nesting_deeper_than_any_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"a": ' + "[" * 200 + "]" * 200 + "}")
    with pytest.raises(UserError, match="nested deeper than"):
        load_model_config(path)


def test_capacity_refuses_a_4kb_config_with_a_3999_digit_integer_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("capacity",))
    path = tmp_path / "config.json"
    path.write_text(config_text("hidden_size", LONG_INTEGER))
    assert path.stat().st_size < 4500
    code = cli.main(["capacity", "--model-config", str(path), "--gpu-type", "L4",
                     "--gpu-count", "1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: --model-config: ") and "hidden_size" in err and str(path) in err


def test_ordinary_configs_still_load(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINYLLAMA, "rope_theta": 10000.0, "rope_scaling": None,
                                "eos_token_id": [128001, 128009], "initializer_range": 0.02}))
    assert load_model_config(path)["eos_token_id"] == [128001, 128009]


def with_capacity_check(repo: Path, config: str) -> None:
    """Ask for the capacity check in the repository's record, against ``config``."""
    record = yaml.safe_load((repo / RECORD).read_text())
    record["answers"].update(gpu_type="L4", model_config=CONFIG_COPY)
    (repo / RECORD).write_text(yaml.safe_dump(record, sort_keys=False))
    (repo / CONFIG_COPY).write_text(config)


@pytest.mark.slow
def test_validate_of_a_fleet_reports_the_hostile_config_for_its_repository(
    repo_copy: Path, tmp_path: Path
) -> None:
    good = tmp_path / "fleet" / "good"
    bad = tmp_path / "fleet" / "bad"
    shutil.copytree(repo_copy, good, symlinks=True)
    shutil.copytree(repo_copy, bad, symlinks=True)
    with_capacity_check(good, json.dumps(TINYLLAMA))
    with_capacity_check(bad, config_text("hidden_size", LONG_INTEGER))

    done = run_cli("validate", str(good), str(bad), "--json", "--skip-kustomize-build",
                   tmp=tmp_path / "tmp")

    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    by_repo = {Path(r["repo"]).name: r for r in report["repos"]}
    assert by_repo["good"]["ok"] is True
    problems = [p for e in by_repo["bad"]["environments"] for p in e["problems"]]
    assert problems and all(p.startswith("CapacityCheck/") for p in problems), problems
    assert all("hidden_size" in p and "more than 20 digits" in p for p in problems)


# --------------------------------------------------------------------------- answers files


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_an_answers_file_with_a_huge_integer_is_one_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    body = {**MINIMAL_ANSWERS, "gpu_count": 1}
    text = json.dumps(body) if suffix == ".json" else yaml.safe_dump(body)
    path.write_text(re.sub(r"(gpu_count\W+)1", rf"\g<1>{OVER_THE_LIMIT}", text))
    with pytest.raises(UserError) as caught:
        collect_answers(path)
    assert caught.value.field == "gpu_count"
    assert "more than 20 digits" in caught.value.rule


def test_a_long_number_stays_text_where_the_answer_is_text(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(MINIMAL_ANSWERS) + f"description: {OVER_THE_LIMIT[:250]}\n")
    assert collect_answers(path)["description"] == OVER_THE_LIMIT[:250]


# --------------------------------------------------------------------------- prose

HOSTILE_DESCRIPTIONS = [
    "<script>alert(document.cookie)</script>",
    '<img src=x onerror="alert(1)"> chat model',
    "[docs](javascript:alert(1)) and ![x](javascript:alert(2))",
    "<javascript:alert(1)> <https://evil.example/>",
    "[x]: javascript:alert(1)",
    "see [x][y] <!-- hidden",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#x202E; &#60;b&#62;",
    "ping @org/team and @someone, mail ops@example.com",
    "# Heading? | a | b | ~~gone~~ **bold** _em_ `code` \\",
    "```<img src=x onerror=alert(1)>`",
    "1. list > quote --- === {: onclick=alert(1) } --8<-- \"/etc/passwd\"",
    "- item",
    "    indented code",
    "=== \"tab\"",
    "!!! warning",
]


def rendered(markdown: str) -> str:
    """GitHub-flavoured (CommonMark, tables, strikethrough) HTML of ``markdown``, with every
    link kept whatever its scheme: MkDocs does not drop ``javascript:`` links as markdown-it
    does, so a link formed at all is a failure."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True
    return parser.render(markdown)


def visible_text(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text)).strip()


def test_every_hostile_description_renders_as_its_own_plain_text() -> None:
    for description in HOSTILE_DESCRIPTIONS:
        output = rendered(markdown_text(description))
        assert visible_text(output) == description.strip(), (description, output)
        tags = set(re.findall(r"</?([a-z0-9]+)", output))
        assert tags <= {"p", "code"}, (description, output)
        assert "href" not in output and "src=" not in output.replace("src=x", "")


def test_mentions_are_shown_as_code_so_no_one_is_pinged() -> None:
    output = rendered(markdown_text("ping @org/team and @someone, mail ops@example.com"))
    assert "<code>@org/team</code>" in output and "<code>@someone</code>" in output
    assert "ops@example.com" in output and "<code>ops" not in output


@pytest.mark.parametrize(("text", "syntax"), [
    ("a :smile: b", ":smile:"), ("==mark==", "=="), ("^^insert^^", "^^"), ("++ctrl++", "++"),
    ("para {: onclick=alert(1) }", " {:"), ('--8<-- "/etc/passwd"', "--8<--"),
    ("!!! warning", "!!!"), ("??? note", "???"), ('=== "tab"', "==="),
    ("*[HTML]: markup", "*["), ("[^1]: note", "[^"), ("{++ inserted ++}", "{++"),
])
def test_mkdocs_extension_syntax_does_not_survive(text: str, syntax: str) -> None:
    """TechDocs runs Python-Markdown with pymdownx extensions (emoji images, attribute lists,
    snippets that include files, admonitions, tabs...), which CommonMark does not know."""
    assert syntax not in markdown_text(text)


def prose_files(tmp_path: Path, description: str) -> dict[str, str]:
    """README.md and docs/*.md as the generator writes them for ``description``."""
    project = tmp_path / "project"
    source = PROJECT_ROOT / "templates" / "ml-inference-load" / "{{cookiecutter.service_name}}"
    shutil.copytree(source, project)
    render_prose_templates(project, validate_answers({**MINIMAL_ANSWERS,
                                                      "description": description}))
    return {p.relative_to(project).as_posix(): p.read_text()
            for p in [project / "README.md", *sorted((project / "docs").glob("*.md"))]}


@pytest.mark.parametrize("description", HOSTILE_DESCRIPTIONS)
def test_readme_and_techdocs_carry_no_markup_from_the_description(
    tmp_path: Path, description: str
) -> None:
    files = prose_files(tmp_path, description)
    for name, text in files.items():
        output = rendered(text)
        assert not re.search(r"<(script|img|iframe|svg)\b", output), (name, output)
        links = re.findall(r'href="([^"]*)"', output)
        assert all(link.startswith(("https://huggingface.co/", "docs/", "runbook"))
                   for link in links), (name, links)
    for name in ("README.md", "docs/index.md"):
        assert description.strip() in visible_text(rendered(files[name])), name


def test_the_techdocs_site_description_cannot_leave_its_meta_attribute() -> None:
    """MkDocs themes print site_description into an HTML attribute without escaping it."""
    description = '"><script>alert(1)</script><meta x=\'&'
    config = mkdocs_config(validate_answers({**MINIMAL_ANSWERS, "description": description}))
    assert not set("<>\"'") & set(config["site_description"])
    assert html.unescape(config["site_description"]) == description


@pytest.mark.parametrize("character", ["\u202e", "\u202a", "\u2066", "\u2069", "\x1b", "\x07"])
def test_bidi_overrides_and_terminal_controls_in_the_description_are_refused(
    character: str,
) -> None:
    with pytest.raises(UserError) as caught:
        validate_answers({**MINIMAL_ANSWERS, "description": f"chat{character}model"})
    assert caught.value.field == "description"
    assert f"U+{ord(character):04X}" in caught.value.rule


def test_the_cli_refuses_a_bidi_override_in_one_line(tmp_path: Path) -> None:
    done = run_cli("new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
                   "--no-git", "--output-dir", str(tmp_path / "out"),
                   "--set", "description=Serves \u202egnp.exe", tmp=tmp_path / "tmp")
    assert_refused(done, "description", mentions="U+202E")
    assert not (tmp_path / "out" / "tinyllama-chat").exists()


def test_ordinary_unicode_descriptions_still_pass() -> None:
    for text in ("Modèle de chat — 中文 🚀", "שירות צ'אט\u200f (RTL mark kept)"):
        assert validate_answers({**MINIMAL_ANSWERS, "description": text})["description"] == text


def test_a_plain_sentence_reads_the_same_in_the_markdown_source() -> None:
    plain = "Serves Llama 3 8B for the support team (EU region), 2 GPUs."
    assert markdown_text(plain) == plain
