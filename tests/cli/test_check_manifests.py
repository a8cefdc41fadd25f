"""`check-manifests` on files, folders and standard input: exit 0 valid, 1 a check failed,
2 unusable input (one line naming it); hostile inputs are refused before they are read, and
`validate` reports the same problem for a service repository."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from common import EXAMPLES

from inference_scaffolder import cli
from inference_scaffolder.answers import collect_answers
from inference_scaffolder.checks.apiserver import apiserver_findings
from inference_scaffolder.checks.references import reference_findings
from inference_scaffolder.generation.generate import GenerationResult, generate
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.tools import find_kubectl, run_helm

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "settings", "labels": {"app": "demo"}}, "data": {"a": "b"}}
BAD_LABEL = {**CONFIG_MAP, "metadata": {"name": "settings", "labels": {"app": "x" * 64}}}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["check-manifests", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(path: Path, *objects: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    return path


def test_a_valid_file_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(write(tmp_path / "ok.yaml", CONFIG_MAP)))
    assert (code, out) == (0, "")


def test_a_problem_is_one_line_with_file_object_path_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "bad.yaml", CONFIG_MAP, BAD_LABEL)
    code, out, _ = run(capsys, str(path))
    assert code == 1
    assert out.splitlines() == [f"{path}: ConfigMap/settings: metadata.labels: Invalid value: "
                                f"\"{'x' * 64}\": must be no more than 63 characters"]


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(write(tmp_path / "bad.yaml", BAD_LABEL)), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["objects"] == 1
    assert report["problems"][0]["kind"] == "ConfigMap"
    assert report["problems"][0]["message"].startswith("metadata.labels: Invalid value")


def test_a_folder_is_read_recursively_and_across_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """References are checked across every input: a route in one file, its Service in
    another."""
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r"}, "spec": {"rules": [{"backendRefs": [
                 {"name": "svc", "port": 80}]}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
               "spec": {"ports": [{"port": 80}]}}
    write(tmp_path / "a" / "route.yml", route)
    (tmp_path / "notes.txt").write_text("not: [yaml", encoding="utf-8")
    assert run(capsys, str(tmp_path))[0] == 1  # the Service is missing
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "svc.json").write_text(json.dumps(service), encoding="utf-8")
    assert run(capsys, str(tmp_path))[:2] == (0, "")


def test_standard_input_and_a_list(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [BAD_LABEL]})
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = run(capsys, "-")
    assert code == 1 and out.startswith("-: ConfigMap/settings: metadata.labels:")


def test_an_unknown_kind_fails_the_check_as_validate_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    code, out, _ = run(capsys, str(write(tmp_path / "w.yaml", unknown)))
    assert code == 1 and "no schema for example.com/v1 Widget" in out


@pytest.mark.parametrize(("content", "words"), [
    ("a: [", "is not valid YAML at line 2"),
    ("- 1\n- 2\n", "document 1 is not a Kubernetes object"),
    ("a: &x [*x]\n", "nested"),
    (b"\xff\xfe", "is not UTF-8 text"),
])
def test_unusable_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, words: str
) -> None:
    path = tmp_path / "in.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}") and words in err and len(err.splitlines()) == 1


def test_a_missing_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2 and "does not exist" in err


def test_a_link_leaving_the_folder_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = write(tmp_path / "outside" / "secret.yaml", CONFIG_MAP)
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "linked.yaml").symlink_to(outside)
    code, _, err = run(capsys, str(folder))
    assert code == 2 and "linked.yaml" in err and "outside" in err


def test_a_fifo_is_refused_without_blocking(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    code, _, err = run(capsys, str(fifo))
    assert code == 2 and "FIFO" in err


def test_an_oversized_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inference_scaffolder.cli.check_manifests.MAX_REPOSITORY_FILE_BYTES",
                        1000)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000, encoding="utf-8")
    code, _, err = run(capsys, str(path))
    assert code == 2 and "larger than 1000 bytes" in err


def test_output_from_the_file_is_printed_inert(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    hostile = {**CONFIG_MAP, "metadata": {"name": "a\x1b[31mb", "labels": {"k": "\x1b[2J"}}}
    code, out, _ = run(capsys, str(write(tmp_path / "h.yaml", hostile)))
    assert code == 1 and "\x1b" not in out and "\\u001b" in out


# --------------------------------------------------------------------------------------------
# Generated services pass; validate reports what check-manifests reports
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_repos(tmp_path_factory: pytest.TempPathFactory) -> list[GenerationResult]:
    out = tmp_path_factory.mktemp("examples")
    return [generate(collect_answers(example), out, git_init=False)
            for example in sorted(EXAMPLES.glob("*.yaml"))]


def _rendered(repo: Path, environment: str) -> list[dict]:
    from inference_scaffolder.rendering.charts import resolve_chart
    from inference_scaffolder.service.layout import chart_ref

    done = run_helm(["template", repo.name, str(resolve_chart(chart_ref(repo, environment))),
                     "-f", str(repo / "environments" / environment / "values.yaml")])
    assert done.ok, done.stderr
    return [doc for doc, _ in parse_rendered(done.stdout)]


def test_every_example_renders_with_no_api_server_or_reference_problem(
    example_repos: list[GenerationResult],
) -> None:
    for result in example_repos:
        for environment in result.answers["environments"]:
            objects = _rendered(result.output, environment)
            problems = [f.line() for o in objects for f in apiserver_findings(o)]
            problems += [f.line() for _, f in reference_findings(objects)]
            assert problems == [], (result.output.name, environment)


@pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed")
def test_validate_reports_what_check_manifests_reports(
    example_repos: list[GenerationResult], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A team's Kustomize patch raising the memory request above its limit: validate of the
    repository and check-manifests of the objects refuse it with the same line."""
    repo = tmp_path / example_repos[0].output.name
    shutil.copytree(example_repos[0].output, repo, symlinks=True)
    environment = example_repos[0].answers["environments"][0]
    objects = _rendered(repo, environment)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    limit = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    kustomization = repo / "environments" / environment / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    data["patches"] = [{"target": {"kind": "Deployment"}, "patch": yaml.safe_dump([{
        "op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/memory",
        "value": "4096Gi"}])}]
    kustomization.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    expected = ("spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "
                f"\"4096Gi\": must be less than or equal to memory limit of {limit['memory']}")

    capsys.readouterr()
    assert cli.main(["validate", str(repo), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    problems = [p for e in report["environments"] for p in e["problems"]]
    assert any(expected in p for p in problems), problems

    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
        "memory"] = "4096Gi"
    code, out, _ = run(capsys, str(write(tmp_path / "objects.yaml", *objects)))
    assert code == 1 and out.splitlines()[0].endswith(expected)
