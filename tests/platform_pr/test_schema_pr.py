"""End to end: ``schema-pr`` against real git repositories, the real chart, tsc and helm."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from schema_repo_fixture import (
    branch_sha,
    checkout,
    commit_count,
    fixture_files,
    git,
    make_bare_repo,
    run_npm_test,
    show,
)

from inference_scaffolder import chart
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr import pull_request as schema_pr
from inference_scaffolder.platform_pr.pull_request import (
    DEFAULT_BRANCH,
    SchemaPrOptions,
    pull_request_text,
    run_schema_pr,
)
from inference_scaffolder.platform_pr.typescript import run_tsc
from inference_scaffolder.publish import LocalPublisher, remote
from inference_scaffolder.tools import run_helm

pytestmark = pytest.mark.slow

BRANCH = DEFAULT_BRANCH
NEW = "MlInferenceLoadSchema"
EXPECTED_NON_CHART_FILES = [
    ".cat/backstage/ml-inference-load.catalog-info.yaml",
    "src/shared/platform.ts",
    "src/workloadChartValues/index.ts",
    "src/workloadChartValues/mlInferenceLoad.ts",
    "src/workloadChartValues/workloadSchema.ts",
]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["schema-pr", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def real_chart_files(tmp_path: Path) -> dict[str, bytes]:
    dest = tmp_path / "reference-chart"
    if not dest.exists():
        chart.write_base_chart(dest)
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return make_bare_repo(tmp_path)


def test_opens_the_branch_with_a_complete_checked_change(
    bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main_before = branch_sha(bare, "main")
    result = cli_json(capsys, "--repo", str(bare))

    assert result["status"] == "opened"
    assert result["branch"] == BRANCH
    assert result["pull_request"] is None
    assert result["differences"] is None  # nothing of the type on main: nothing replaced
    assert "### Replaces" not in result["body"]
    assert result["commit"] == branch_sha(bare, BRANCH)
    assert result["title"] and "- [x]" in result["body"] and "- [ ]" in result["body"]
    chart_files = sorted(f"charts/ml-inference-load/{p}" for p in real_chart_files(tmp_path))
    assert result["files"] == sorted(EXPECTED_NON_CHART_FILES + chart_files)
    assert branch_sha(bare, "main") == main_before
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1

    tree = checkout(bare, BRANCH, tmp_path / "pr")
    # the real compiler accepts the edited repository
    compiled = run_tsc(tree)
    assert compiled.ok, compiled.output
    # the new type is in every list exactly once
    workload = (tree / "src/workloadChartValues/workloadSchema.ts").read_text()
    union = next(x for x in workload.splitlines() if x.startswith("export type WorkloadSchema"))
    assert union.count(NEW) == 1 and workload.count(NEW) == 2
    index = (tree / "src/workloadChartValues/index.ts").read_text()
    variants = next(x for x in index.splitlines() if x.startswith("export type BasicContainer"))
    assert variants.count(NEW) == 1
    export_block = index[index.rindex("export {") :]
    assert re.findall(rf"\b{NEW}\b", export_block) == [NEW]
    assert index.count(NEW) == 3 and not index.endswith("\n")
    platform = (tree / "src/shared/platform.ts").read_text()
    assert platform.count("ML_INFERENCE_LOAD") == 2
    assert "  ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD'\n} as const;" in platform
    module = (tree / "src/workloadChartValues/mlInferenceLoad.ts").read_text()
    members = re.findall(r'^  ([\w"]+\??):', module, flags=re.M)
    assert members[0] == "workloadType"
    assert 'workloadType: "ML_INFERENCE_LOAD";' in module
    # named types, and the platform's own where the shape is theirs
    assert "  environment: Environment;" in module
    assert "export interface EngineDefaults {" in module
    # the repository's own `npm test` (values check of every chart, then tsc) passes
    npm_test = run_npm_test(tree)
    assert npm_test.returncode == 0, npm_test.stdout + npm_test.stderr
    assert "PASS ml-inference-load" in npm_test.stdout
    # the chart is the template's chart, byte for byte
    published = {
        p.relative_to(tree / "charts/ml-inference-load").as_posix(): p.read_bytes()
        for p in (tree / "charts/ml-inference-load").rglob("*")
        if p.is_file()
    }
    assert published == real_chart_files(tmp_path)


def test_published_chart_lints_renders_and_validates(bare: Path, tmp_path: Path) -> None:
    run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    tree = checkout(bare, BRANCH, tmp_path / "pr")
    chart_dir = tree / "charts/ml-inference-load"
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", str(meta["version"]))
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    assert list(Draft202012Validator(schema).iter_errors(values)) == []

    # the repository's rule: every chart lints with its own values.yaml alone
    alone = run_helm(["lint", str(chart_dir)])
    assert alone.ok, alone.stdout + alone.stderr
    only_model = run_helm(["template", "demo", str(chart_dir), "--set", "model.id=org/model",
                           "--set", "model.revision=main"])
    assert only_model.ok, only_model.stderr
    ci_values = chart_dir / "ci/default-values.yaml"
    lint = run_helm(["lint", str(chart_dir), "--values", str(ci_values)])
    assert lint.ok, lint.stdout + lint.stderr
    rendered = run_helm(["template", "demo", str(chart_dir), "--values", str(ci_values)])
    assert rendered.ok, rendered.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(rendered.stdout) if d}
    assert {"Deployment", "Service", "Gateway", "HTTPRoute", "ExternalSecret"} <= kinds

    lint_values = yaml.safe_load(ci_values.read_text())
    for missing in ("id", "revision"):
        without = dict(
            lint_values, model={k: v for k, v in lint_values["model"].items() if k != missing}
        )
        path = tmp_path / f"without-{missing}.yaml"
        path.write_text(yaml.safe_dump(without))
        failed = run_helm(["template", "demo", str(chart_dir), "--values", str(path)])
        assert not failed.ok
        # the schema names the missing property of /model
        assert "'/model'" in failed.stderr and f"'{missing}'" in failed.stderr
    no_model = {k: v for k, v in lint_values.items() if k != "model"}
    path = tmp_path / "without-model.yaml"
    path.write_text(yaml.safe_dump(no_model))
    failed = run_helm(["template", "demo", str(chart_dir), "--values", str(path)])
    assert not failed.ok
    assert "model.id is required" in failed.stderr


def test_second_run_is_unchanged_and_pushes_nothing(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli_json(capsys, "--repo", str(bare))
    second = cli_json(capsys, "--repo", str(bare))
    assert second["status"] == "unchanged"
    assert second["files"] == []
    assert second["commit"] == first["commit"] == branch_sha(bare, BRANCH)
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1


def test_changed_chart_updates_the_same_branch(bare: Path, tmp_path: Path) -> None:
    first = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))

    def newer_chart(dest: Path) -> None:
        chart.write_base_chart(dest)
        schema_file = dest / "values.schema.json"
        schema = json.loads(schema_file.read_text())
        schema["properties"]["replicas"]["description"] = "Pods serving the model."
        schema_file.write_text(json.dumps(schema, indent=2) + "\n")

    second = run_schema_pr(
        SchemaPrOptions(),
        LocalPublisher(str(bare)),
        chart_writer=newer_chart,
        render_required=chart.RENDER_REQUIRED_VALUES,
    )
    assert second.status == "updated"
    # files: the whole change against main; the update itself touches only these two
    assert second.files == first.files
    assert git("diff", "--name-only", first.commit, second.commit, cwd=bare).split() == [
        "charts/ml-inference-load/values.schema.json",
        "src/workloadChartValues/mlInferenceLoad.ts",
    ]
    assert branch_sha(bare, BRANCH) == second.commit
    # rebuilt on main, never on the branch (which anyone with push access can push to)
    parent = git("rev-parse", f"{second.commit}^", cwd=bare).strip()
    assert parent == branch_sha(bare, "main") != first.commit
    module = show(bare, BRANCH, "src/workloadChartValues/mlInferenceLoad.ts")
    assert "   * Pods serving the model.\n" in module
    workload = show(bare, BRANCH, "src/workloadChartValues/workloadSchema.ts")
    assert workload.count(NEW) == 2


def test_dry_run_prints_an_applicable_diff_and_touches_no_remote(
    bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs_before = git("for-each-ref", cwd=bare)
    code, out, err = cli(capsys, "--repo", str(bare), "--dry-run")
    assert code == 0, err
    assert out.startswith("diff --git ")
    assert "+  ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD'" in out
    assert f"+import {{ {NEW} }} from './mlInferenceLoad'" in out
    assert "nothing was pushed" in err
    assert git("for-each-ref", cwd=bare) == refs_before
    clone = checkout(bare, "main", tmp_path / "apply")
    patch = tmp_path / "change.patch"
    patch.write_text(out)
    subprocess.run(["git", "apply", "--check", str(patch)], cwd=clone, check=True)


def test_dry_run_json_reports_what_a_real_run_would_do(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli_json(capsys, "--repo", str(bare), "--dry-run")
    assert result["dry_run"] is True and result["status"] == "opened"
    assert result["commit"] is None and "src/shared/platform.ts" in result["files"]
    assert result["diff"].startswith("diff --git ")
    assert branch_sha(bare, BRANCH) is None


def test_human_output_names_status_branch_and_the_pull_requests_title_and_body(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local publisher opens no pull request: whoever opens it needs its text."""
    code, out, err = cli(capsys, "--repo", str(bare))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"opened: {BRANCH} at ")
    assert lines[1] == f"pull request title: {pull_request_text()[0]}"
    assert lines[2] == "pull request body:"
    body = "\n".join(lines[3:])
    assert "### Checked before the push" in body and "### Acceptance checklist" in body
    assert "`modelCache`" in body


def test_concurrent_runs_end_with_one_branch(bare: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("inference-scaffolder")),
        "schema-pr",
        "--repo",
        str(bare),
        "--json",
    ]
    env = dict(os.environ)
    runs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    statuses = sorted(json.loads(out)["status"] for out, _ in outputs)
    assert statuses == ["opened", "unchanged"]
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1
    assert git("for-each-ref", "--format=%(refname)", cwd=bare).split() == [
        f"refs/heads/{BRANCH}",
        "refs/heads/main",
    ]


def test_a_lost_push_race_rebuilds_on_the_winner_instead_of_overwriting(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the local lock (runs on two machines), the compare-and-swap push decides."""
    monkeypatch.setattr(schema_pr, "repo_lock", lambda key: nullcontext())
    real_push = remote.push_branch
    competitor: dict[str, object] = {}

    def push_after_a_competitor(*args, **kwargs):
        if not competitor:
            competitor["result"] = "running"
            monkeypatch.setattr(remote, "push_branch", real_push)
            competitor["result"] = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
            monkeypatch.setattr(remote, "push_branch", push_after_a_competitor)
        return real_push(*args, **kwargs)

    monkeypatch.setattr(remote, "push_branch", push_after_a_competitor)
    ours = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    theirs = competitor["result"]
    assert theirs.status == "opened"
    assert ours.status == "unchanged"
    assert branch_sha(bare, BRANCH) == theirs.commit == ours.commit
    assert commit_count(bare, BRANCH) == commit_count(bare, "main") + 1


def test_ci_version_bump_after_merge_is_not_undone(
    bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_json(capsys, "--repo", str(bare))
    work = checkout(bare, "main", tmp_path / "merge")
    git("fetch", "--quiet", "origin", BRANCH, cwd=work)
    git("merge", "--quiet", "--ff-only", "FETCH_HEAD", cwd=work)
    chart_yaml = work / "charts/ml-inference-load/Chart.yaml"
    chart_yaml.write_text(re.sub(r"(?m)^version: .*$", "version: 0.1.7", chart_yaml.read_text()))
    git("commit", "--quiet", "-am", "ci: bump ml-inference-load to 0.1.7", cwd=work)
    git("push", "--quiet", "origin", "main", f":refs/heads/{BRANCH}", cwd=work)

    result = cli_json(capsys, "--repo", str(bare))
    assert result["status"] == "unchanged"
    assert result["differences"] is None  # main holds exactly what would be added
    assert branch_sha(bare, BRANCH) is None


# -- failures: one line, nothing pushed -----------------------------------------------------


def test_a_type_error_introduced_by_the_change_aborts_with_the_compiler_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = make_bare_repo(tmp_path, exhaustive_check=True)
    code, _, err = cli(capsys, "--repo", str(bare))
    assert_one_line_error(
        code,
        err,
        "tsc: type check failed",
        "deploymentStrategy.ts",
        "TS2322",
        "not assignable to type 'never'",
    )
    assert branch_sha(bare, BRANCH) is None


def test_type_errors_already_on_the_base_branch_are_reported_not_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = make_bare_repo(tmp_path, lodash_import=True)  # no node_modules in the clone
    result = cli_json(capsys, "--repo", str(bare))
    assert result["status"] == "opened"
    assert any("already present" in w and "lodash" in w for w in result["warnings"])


def _failing_chart(edit):
    def writer(dest: Path) -> None:
        chart.write_base_chart(dest)
        edit(dest)

    return writer


def test_helm_lint_failure_aborts(bare: Path) -> None:
    def break_template(dest: Path) -> None:
        (dest / "templates/broken.yaml").write_text("{{ .Values.nothing.here }}\n")

    with pytest.raises(UserError) as caught:
        run_schema_pr(
            SchemaPrOptions(),
            LocalPublisher(str(bare)),
            chart_writer=_failing_chart(break_template),
            render_required=(),
        )
    assert caught.value.field == "helm lint"
    assert "own values.yaml alone" in caught.value.rule and "nil pointer" in caught.value.rule
    assert branch_sha(bare, BRANCH) is None


def test_values_not_matching_the_schema_abort(bare: Path) -> None:
    def bad_engine(dest: Path) -> None:
        values = dest / "values.yaml"
        values.write_text(values.read_text().replace("engine: tgi", "engine: tensorrt"))

    with pytest.raises(UserError) as caught:
        run_schema_pr(
            SchemaPrOptions(),
            LocalPublisher(str(bare)),
            chart_writer=_failing_chart(bad_engine),
            render_required=(),
        )
    assert caught.value.field == "charts/ml-inference-load/values.yaml"
    assert "/engine" in caught.value.rule and "tensorrt" in caught.value.rule
    assert branch_sha(bare, BRANCH) is None


def test_another_chart_failing_the_values_check_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "workloadType: REDIS_CLUSTER\nserviceName: 42\nbasicMonitoring:\n  enabled: true\n"
    bare = make_bare_repo(tmp_path, overrides={"charts/redis-cluster/values.yaml": broken})
    result = cli_json(capsys, "--repo", str(bare))
    assert result["status"] == "opened"
    assert any(w.startswith("values check: charts/redis-cluster already fails: /serviceName")
               for w in result["warnings"]), result["warnings"]
    # the repository's own test fails the same way, and passes our chart
    npm_test = run_npm_test(checkout(bare, BRANCH, tmp_path / "pr"))
    assert npm_test.returncode != 0
    assert "FAIL redis-cluster" in npm_test.stdout and "PASS ml-inference-load" in npm_test.stdout


def test_missing_compiler_is_a_clear_error(
    bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_TSC", str(tmp_path / "no-such-tsc"))
    code, _, err = cli(capsys, "--repo", str(bare))
    assert_one_line_error(code, err, "INFERENCE_SCAFFOLDER_TSC", "no-such-tsc")
    assert branch_sha(bare, BRANCH) is None


def test_missing_base_branch(bare: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--repo", str(bare), "--base", "develop")
    assert_one_line_error(code, err, "--base", "'develop' does not exist")


def test_protected_branch_rejection_is_one_line_and_leaves_nothing(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = bare / "hooks/pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "while read old new ref; do\n"
        '  case "$ref" in refs/heads/inference-scaffolder/*)\n'
        '    echo "GH006: Protected branch update failed for $ref." >&2; exit 1;;\n'
        "  esac\n"
        "done\n"
    )
    hook.chmod(0o755)
    code, _, err = cli(capsys, "--repo", str(bare))
    assert_one_line_error(
        code,
        err,
        "--repo",
        "pre-receive hook declined",
        "Protected branch update failed",
        "nothing was pushed",
    )
    assert branch_sha(bare, BRANCH) is None


def test_unreachable_remote(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--repo", "http://user:hunter2@127.0.0.1:9/platform/types.git")
    assert_one_line_error(code, err, "cannot reach", "http://***@127.0.0.1:9/")
    assert "hunter2" not in err


def test_missing_local_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--repo", str(tmp_path / "nowhere"))
    assert_one_line_error(code, err, "--repo", "neither an existing path nor a git URL")


def test_invalid_branch_name(bare: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--repo", str(bare), "--branch", "bad..name")
    assert_one_line_error(code, err, "--branch", "not a valid branch name")


def test_a_file_of_unexpected_shape_is_refused_before_anything_is_pushed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrapped = fixture_files()["src/workloadChartValues/workloadSchema.ts"].replace(
        "WorkloadSchema = BasicContainerLoadSchema |",
        "WorkloadSchema = Partial<BasicContainerLoadSchema> |",
    )
    bare = make_bare_repo(
        tmp_path, overrides={"src/workloadChartValues/workloadSchema.ts": wrapped}
    )
    code, _, err = cli(capsys, "--repo", str(bare))
    assert_one_line_error(code, err, "src/workloadChartValues/workloadSchema.ts",
                          "must be a union of type names")
    assert branch_sha(bare, BRANCH) is None


def test_a_union_formatted_one_member_per_line_gets_the_pull_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prettier wraps a long union one member per line; the edit follows that layout and
    the platform's own checks (tsc among them) pass on the result."""
    path = "src/workloadChartValues/workloadSchema.ts"
    union = next(line for line in fixture_files()[path].splitlines()
                 if line.startswith("export type WorkloadSchema = "))
    members = union.removeprefix("export type WorkloadSchema = ").rstrip(";").split(" | ")
    wrapped = "export type WorkloadSchema =\n" + "\n".join(f"  | {m}" for m in members) + ";"
    multi_line = fixture_files()[path].replace(union, wrapped)
    bare = make_bare_repo(tmp_path, overrides={path: multi_line})
    code, _, err = cli(capsys, "--repo", str(bare))
    assert code == 0, err
    tree = checkout(bare, BRANCH, tmp_path / "pr")
    pushed = (tree / path).read_text(encoding="utf-8")
    assert f"  | StatefulContainerLoadSchema\n  | {NEW};" in pushed, pushed
    compiled = run_tsc(tree)
    assert compiled.ok, compiled.output


def test_works_against_a_non_bare_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = make_bare_repo(tmp_path)
    work = checkout(bare, "main", tmp_path / "checkout")
    result = cli_json(capsys, "--repo", str(work))
    assert result["status"] == "opened"
    assert branch_sha(work / ".git", BRANCH) == result["commit"]


def test_a_competitor_pushing_the_identical_commit_is_not_reported_as_ours(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs in the same second build byte-identical commits; git then calls the second
    push "up to date" without checking the lease. That run must still report `unchanged`."""
    monkeypatch.setattr(schema_pr, "repo_lock", lambda key: nullcontext())
    real_push = remote.push_branch
    pushed: list[str] = []

    def competitor_pushes_the_same_commit_first(repo, remote, branch, commit, expected):
        if not pushed:
            pushed.append(commit)
            real_push(repo, remote, branch, commit, expected)  # the "other" run
        return real_push(repo, remote, branch, commit, expected)

    monkeypatch.setattr(remote, "push_branch", competitor_pushes_the_same_commit_first)
    ours = run_schema_pr(SchemaPrOptions(), LocalPublisher(str(bare)))
    assert ours.status == "unchanged"
    assert branch_sha(bare, BRANCH) == pushed[0] == ours.commit
