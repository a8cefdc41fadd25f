"""The CLI and the plain cookiecutter path, as users run them (real subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from common import EXAMPLES, PROJECT_ROOT
from helm_repo import chart_variant, serve_helm_repo

from inference_scaffolder.chart import chart_source_dir, chart_version

BIN = Path(sys.executable).parent
CLI = str(BIN / "inference-scaffolder")
COOKIECUTTER = str(BIN / "cookiecutter")
TEMPLATE = str(PROJECT_ROOT / "templates" / "ml-inference-load")


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_new_with_json_summary(tmp_path: Path) -> None:
    done = run(CLI, "new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
               "--output-dir", str(tmp_path), "--set", "environments=dev,prod", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["environments"] == ["dev", "prod"]
    assert summary["validation"]["ok"] is True
    assert Path(summary["output"]) == tmp_path / "tinyllama-chat"
    assert "environments/prod/values.yaml" in summary["files"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("gpu_count=12", "gpu_count"),
        ("model_id=not a model", "model_id"),
        ("environments=dev,staging", "environments[1]"),
        ("ingress_host=UPPER.example.com", "ingress_host"),
        ("unknown=1", "unknown"),
    ],
)
def test_bad_answers_exit_2_with_one_line(tmp_path: Path, override: str, field: str) -> None:
    done = run(CLI, "new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
               "--output-dir", str(tmp_path), "--set", override)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {field}: ")
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_required_answer_without_input(tmp_path: Path) -> None:
    done = run(CLI, "new", "--no-input", "--output-dir", str(tmp_path),
               "--set", "service_name=x", "--set", "model_id=a/b")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: model_revision: is required (no default)"


INJECTION = "{{ cycler.__init__.__globals__.os.system('touch %s') }}"


def test_template_injection_through_cli_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    done = run(CLI, "new", "--answers", str(EXAMPLES / "tgi-tinyllama.yaml"), "--no-input",
               "--output-dir", str(tmp_path / "out"), "--set",
               f"description={INJECTION % marker}")
    assert done.returncode == 2
    assert "error: description: must not contain the template delimiter" in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_template_injection_through_answers_file_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    answers = tmp_path / "answers.yaml"
    answers.write_text((EXAMPLES / "tgi-tinyllama.yaml").read_text()
                       + f"system: \"{INJECTION % marker}\"\n".replace("system", "repo_slug"))
    done = run(CLI, "new", "--answers", str(answers), "--no-input", "--output-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: repo_slug: must not contain")
    assert not marker.exists()


def test_plain_cookiecutter_generates_through_the_hooks(tmp_path: Path) -> None:
    done = run(COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(tmp_path),
               "service_name=cc-demo", "model_id=TinyLlama/TinyLlama-1.1B-Chat-v1.0",
               "model_revision=main", "environments=dev,prod", env={"HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    repo = tmp_path / "cc-demo"
    assert sorted(p.name for p in (repo / "environments").iterdir()) == ["dev", "prod"]
    assert (repo / ".git").is_dir()  # the post-gen hook validated and committed
    assert not (repo / "hooks").exists() and not list(repo.rglob("*.j2"))
    validated = run(CLI, "validate", str(repo), "--json")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert json.loads(validated.stdout)["ok"] is True


def test_plain_cookiecutter_refuses_bad_answers_and_cleans_up(tmp_path: Path) -> None:
    done = run(COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(tmp_path),
               "service_name=bad", "model_id=a/b", "model_revision=main", "gpu_count=99",
               env={"HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "error: gpu_count: must be an integer from 1 to 8" in done.stderr
    assert not (tmp_path / "bad").exists()


def test_plain_cookiecutter_never_evaluates_an_answer(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    done = run(COOKIECUTTER, "--no-input", TEMPLATE, "-o", str(tmp_path / "out"),
               "service_name=inj", "model_id=a/b", f"model_revision={INJECTION % marker}",
               env={"HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "error: model_revision: must not contain template delimiters" in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "out" / "inj").exists()


def test_validate_reports_a_broken_environment(repo_copy: Path) -> None:
    values = repo_copy / "environments" / "uat" / "values.yaml"
    values.write_text(values.read_text().replace("maxTotalTokens: 2048", "maxTotalTokens: 512"))
    done = run(CLI, "validate", str(repo_copy), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    by_env = {e["environment"]: e for e in report["environments"]}
    assert by_env["uat"]["ok"] is False and by_env["dev"]["ok"] is True
    assert any("maxInputTokens" in p for p in by_env["uat"]["problems"])


def pin_chart(repo: Path, environment: str, repository: str, version: str) -> None:
    """Pin the environment to another base chart version, as `promote --chart-version` or a
    hand edit of its kustomization does."""
    path = repo / "environments" / environment / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    kustomization["helmCharts"][0].update(repo=repository, version=version)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def next_patch_version() -> str:
    major, minor, patch = chart_version().split("-")[0].split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def test_validate_flags_an_object_that_breaks_its_schema(repo_copy: Path, tmp_path: Path) -> None:
    """A base chart version the platform published with a misspelt field, pinned in dev:
    strict schemas refuse what the API server would silently drop."""
    version = next_patch_version()
    chart = chart_variant(tmp_path / "variant", version)
    template = chart / "templates" / "service.yaml"
    broken = template.read_text().replace("type: ClusterIP", "type: ClusterIP\n  clusterIPz: None")
    assert broken != template.read_text()
    template.write_text(broken)
    with serve_helm_repo(tmp_path / "helm-repo", [chart]) as helm_repo:
        pin_chart(repo_copy, "dev", helm_repo.url, version)
        done = run(CLI, "validate", str(repo_copy), "--json",
                   env={"INFERENCE_SCAFFOLDER_CHART_CACHE": str(tmp_path / "chart-cache")})
        assert helm_repo.archive_requests()  # the pinned version was fetched, not the bundled
    assert done.returncode == 1, done.stderr
    by_env = {e["environment"]: e for e in json.loads(done.stdout)["environments"]}
    assert any(p.startswith("Service/tinyllama-chat:") and "clusterIPz" in p
               for p in by_env["dev"]["problems"]), by_env["dev"]["problems"]
    # The other environments still pin the carried chart, which renders a valid Service.
    assert all(e["ok"] for name, e in by_env.items() if name != "dev"), by_env


SERVICE_MONITOR = """apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: tinyllama-chat
spec:
  endpoints: []
"""


def test_validate_refuses_a_kind_without_schema(repo_copy: Path, tmp_path: Path) -> None:
    """A team adds a custom resource nobody has a schema for (the leaf's own resource,
    beside its kustomization): refused until its schema is given with --crd-schemas, which
    adds to the bundled ones."""
    dev = repo_copy / "environments" / "dev"
    (dev / "servicemonitor.yaml").write_text(SERVICE_MONITOR)
    kustomization = yaml.safe_load((dev / "kustomization.yaml").read_text())
    kustomization["resources"] = ["servicemonitor.yaml"]
    (dev / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    done = run(CLI, "validate", str(repo_copy), "--json")
    assert done.returncode == 1
    problems = json.loads(done.stdout)["environments"][0]["problems"]
    assert any("no schema for monitoring.coreos.com/v1 ServiceMonitor" in p for p in problems)
    own = tmp_path / "platform-crds" / "monitoring.coreos.com"
    own.mkdir(parents=True)
    (own / "servicemonitor_v1.json").write_text('{"type": "object", "required": ["spec"]}')
    done = run(CLI, "validate", str(repo_copy), "--crd-schemas", str(own.parent), "--json")
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["crd_schemas"] == f"{own.parent} (then bundled)"
    # The schema is applied to the leaf's object, not merely present: one without spec fails.
    (dev / "servicemonitor.yaml").write_text(SERVICE_MONITOR.replace("spec:\n  endpoints: []\n",
                                                                     ""))
    done = run(CLI, "validate", str(repo_copy), "--crd-schemas", str(own.parent), "--json")
    assert done.returncode == 1, done.stdout
    problems = json.loads(done.stdout)["environments"][0]["problems"]
    assert any("ServiceMonitor/tinyllama-chat" in p and "spec" in p for p in problems), problems


def test_validate_refuses_a_missing_crd_schema_folder(repo_copy: Path, tmp_path: Path) -> None:
    done = run(CLI, "validate", str(repo_copy), "--crd-schemas", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: --crd-schemas:")


def test_validate_bad_kube_version_is_a_usage_error(repo_copy: Path) -> None:
    done = run(CLI, "validate", str(repo_copy), "--kube-version", "latest")
    assert done.returncode == 2
    assert done.stderr.startswith("error: --kube-version:")


def test_missing_helm_is_reported_clearly(repo_copy: Path, tmp_path: Path) -> None:
    done = run(CLI, "validate", str(repo_copy),
               env={"INFERENCE_SCAFFOLDER_HELM": str(tmp_path / "nohelm")})
    assert done.returncode == 2
    assert "INFERENCE_SCAFFOLDER_HELM" in done.stderr and "not an executable" in done.stderr


def test_command_table_matches_what_each_module_registers() -> None:
    """`main` imports only the named command's module; the table must say where each is."""
    from importlib import import_module

    import typer

    from inference_scaffolder import cli

    for module in cli.COMMAND_MODULES:
        app = typer.Typer()
        import_module(f"inference_scaffolder.cli.{module}").register(app)
        registered = {c.name for c in app.registered_commands}
        assert registered == {k for k, v in cli.COMMANDS.items() if v == module}, module


@pytest.mark.parametrize(("args", "message"), [
    (["new", "--bogus"], "error: No such option: --bogus (see inference-scaffolder new --help)"),
    (["frobnicate"], "error: No such command 'frobnicate'. (see inference-scaffolder --help)"),
])
def test_usage_errors_are_one_line_with_exit_code_2(args: list[str], message: str) -> None:
    done = run(CLI, *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [message]
    assert "Traceback" not in done.stderr


# --- interactive new ---------------------------------------------------------------------------


def test_interactive_new_shows_the_form_texts_and_says_why_an_answer_is_refused(
    tmp_path: Path,
) -> None:
    """Each question shows the Backstage form's title, help and default; a refused answer is
    explained and asked again; Enter keeps the default."""
    from inference_scaffolder.answers import answer_fields

    typed = {
        "service_name": ["Chat_Demo", "chat-demo"],
        "model_id": ["llama", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"],
        "model_revision": ["fe8a4ea1ffedaf415f4da2f062534de366a451e6"],
    }
    stdin = "".join("\n".join(typed.get(f.key, [""])) + "\n" for f in answer_fields()
                    if f.key != "environments")
    done = subprocess.run(
        [CLI, "new", "--output-dir", str(tmp_path), "--no-git", "--json",
         "--set", "environments=dev"],
        input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["service_name"] == "chat-demo"
    shown = " ".join(done.stderr.split())
    service = next(f for f in answer_fields() if f.key == "service_name")
    assert f"{service.title} (service_name)" in shown and service.help in shown
    assert "refused: must be a DNS-1035 label" in shown and "(got 'Chat_Demo')" in shown
    assert "refused: must be a Hugging Face model id such as org/name" in shown
    gpu = next(f for f in answer_fields() if f.key == "gpu_count")
    assert f"gpu_count [{gpu.default}]" in shown  # the default, kept with Enter
    assert "Environments (environments)" not in shown  # given with --set: not asked


def test_validate_of_a_missing_directory_says_it_does_not_exist(tmp_path: Path) -> None:
    done = run(CLI, "validate", str(tmp_path / "no-such-service"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: DIR: {tmp_path / 'no-such-service'} does not exist"
    (tmp_path / "plain").mkdir()
    done = run(CLI, "validate", str(tmp_path / "plain"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: DIR: {tmp_path / 'plain'} has no environments/<env>/values.yaml")


def test_validate_refuses_a_repository_that_still_carries_its_chart(
    repo_copy: Path, tmp_path: Path
) -> None:
    """A repository from before the leaf layout (its own chart/ copy) is refused in one line
    that points at `update`, before anything is rendered."""
    legacy = repo_copy / "chart"
    shutil.copytree(chart_source_dir(), legacy)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run(CLI, "validate", str(repo_copy), env={"TMPDIR": str(scratch)})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"error: DIR: {repo_copy.resolve()} carries its own chart/")
    assert "inference-scaffolder update" in lines[0]
    assert list(scratch.iterdir()) == []  # nothing rendered, nothing left behind


@pytest.mark.parametrize("door", ["set", "answers-file", "cookiecutter"])
def test_a_mistyped_answer_is_refused_with_the_closest_name_on_every_door(
    door: str, tmp_path: Path
) -> None:
    """`gpu_cont=2` must not generate a repository with gpu_count at its default."""
    out = tmp_path / "out"
    if door == "cookiecutter":
        done = run(COOKIECUTTER, "--no-input", "-o", str(out), TEMPLATE,
                   "service_name=typo-test", "model_id=org/model", "model_revision=main",
                   "gpu_cont=2", env={"HOME": str(tmp_path)})
    else:
        given = (["--set", "gpu_cont=2"] if door == "set" else
                 ["--answers", str(tmp_path / "answers.yaml")])
        (tmp_path / "answers.yaml").write_text(
            (EXAMPLES / "tgi-tinyllama.yaml").read_text() + "gpu_cont: 2\n")
        base = [] if door != "set" else ["--answers", str(EXAMPLES / "tgi-tinyllama.yaml")]
        done = run(CLI, "new", *base, *given, "--no-input", "--output-dir", str(out))
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(
        "error: gpu_cont: is not an answer (did you mean gpu_count?")
    assert not out.exists() or list(out.iterdir()) == []
