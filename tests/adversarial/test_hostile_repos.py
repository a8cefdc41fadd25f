"""Repositories the tool reads are hostile: links out, FIFOs, huge files, broken
hand edits, foreign executables. Every case ends in one line and exit code 2; nothing outside
the repository changes and no temporary folder stays behind.

The target repository of ``schema-pr`` is a bare repository built by ``hostile.bare_with``
(git keeps a committed symbolic link a link in every clone); service repositories are
private copies of the session's generated repository.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_render import set_environment_value
from helm_repo import chart_variant, serve_helm_repo
from hostile import (
    assert_refused,
    bare_with,
    commit_all,
    leftovers,
    make_outside,
    place_link,
    run_cli,
    snapshot,
)
from schema_repo_fixture import fixture_files

from inference_scaffolder import tools
from inference_scaffolder.chart import chart_version

pytestmark = pytest.mark.slow

# --- schema-pr: the shared target repository ----------------------------------------------

# (links to commit: path -> target, the path the refusal must name). "{out}" is a folder
# outside every repository; targets without it stay inside the clone.
SCHEMA_PR_LINKS = [
    # The reported case: the chart folder links out; the dry run deleted and wrote there.
    ({"charts/ml-inference-load": "{out}"}, "charts/ml-inference-load"),
    ({"charts": "{out}"}, "charts"),
    ({"charts/ml-inference-load/values.yaml": "{out}/nested/values.yaml"},
     "charts/ml-inference-load/values.yaml"),
    # A file link out to a valid copy: the edit would be written through it, out there.
    ({"src/shared/platform.ts": "{out}/platform.ts"}, "src/shared/platform.ts"),
    ({".cat/backstage/ml-inference-load.catalog-info.yaml": "{out}/victim.txt"},
     ".cat/backstage/ml-inference-load.catalog-info.yaml"),
    # Not on a touched path, but the compiler reads the whole tree: /dev/zero never ends.
    ({"src/zero.ts": "/dev/zero"}, "src/zero.ts"),
    # Links that stay inside, on paths the change writes: the edit would land elsewhere
    # (here: in another team's chart, whose files the chart update would delete).
    ({"charts/ml-inference-load": "basic-container-load"}, "charts/ml-inference-load"),
    ({"src/workloadChartValues/index.ts": "index-copy.ts"}, "src/workloadChartValues/index.ts"),
]
# Files the links above point at: valid copies, so that following a link "works".
_COPIES = {"src/workloadChartValues/index-copy.ts": "src/workloadChartValues/index.ts"}


@pytest.mark.parametrize(("links", "named"), SCHEMA_PR_LINKS,
                         ids=[case[1] + "->" + next(iter(case[0].values())).split("/")[-1]
                              for case in SCHEMA_PR_LINKS])
@pytest.mark.node
def test_schema_pr_dry_run_never_follows_a_link(
    tmp_path: Path, links: dict[str, str], named: str
) -> None:
    outside = make_outside(tmp_path)
    fixture = fixture_files()
    (outside / "platform.ts").write_text(fixture["src/shared/platform.ts"])
    copies = {path: fixture[source].encode() for path, source in _COPIES.items()}
    bare = bare_with(tmp_path, links={p: t.format(out=outside) for p, t in links.items()},
                     files=copies)
    before = snapshot(outside)
    done = run_cli("schema-pr", "--repo", str(bare), "--dry-run", tmp=tmp_path / "tmp")
    assert_refused(done, named)
    assert snapshot(outside) == before
    assert leftovers(tmp_path / "tmp") == []


# --- validate / promote / update: a service repository --------------------------------------

# (path in the repository, link target); each is refused naming the path.
SERVICE_LINKS_OUT = [
    ("environments", "{out}"),  # every environment at once, from outside
    ("environments/dev", "{out}/nested"),  # an environment with an outside values.yaml
    ("environments/dev/values.yaml", "/dev/zero"),
    ("environments/syst/values.yaml", "{out}/nested/values.yaml"),
    ("environments/dev/kustomization.yaml", "{out}/victim.txt"),  # the chart pin
    ("argocd", "{out}/nested"),
    ("argocd/dev.yaml", "{out}/victim.txt"),
    (".inference-scaffolder", "{out}"),
    # A repository from before the leaf layout: its chart/ copy is read too (update
    # migrates it), so a link out there is refused like any other.
    ("chart", "{out}"),
]


@pytest.mark.parametrize(("path", "target"), SERVICE_LINKS_OUT, ids=[p for p, _ in
                                                                      SERVICE_LINKS_OUT])
def test_validate_refuses_a_link_out_of_the_repository(
    repo_copy: Path, tmp_path: Path, path: str, target: str
) -> None:
    outside = make_outside(tmp_path)
    place_link(repo_copy, path, target.format(out=outside))
    before = snapshot(outside)
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp")
    assert_refused(done, str(repo_copy.resolve() / path), mentions="outside the repository")
    assert snapshot(outside) == before
    assert leftovers(tmp_path / "tmp") == []


@pytest.mark.parametrize(
    ("path", "target"),
    [("environments/dev/values.yaml", "{out}/nested/values.yaml"),  # absolute: was a tarfile
     # relative, up and out to a real folder: the target environment, whose values.yaml
     # the promotion would rewrite                                                      traceback
     ("environments/syst", "../../outside/nested")],
    ids=["absolute", "relative"],
)
def test_promote_refuses_a_committed_link_out(
    repo_copy: Path, tmp_path: Path, path: str, target: str
) -> None:
    outside = make_outside(tmp_path)
    place_link(repo_copy, path, target.format(out=outside))
    commit_all(repo_copy)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_copy, text=True,
                          capture_output=True, check=True).stdout
    before = snapshot(outside)
    done = run_cli("promote", str(repo_copy), "--from", "dev", "--to", "syst",
                   tmp=tmp_path / "tmp")
    assert_refused(done, path)
    assert snapshot(outside) == before
    assert leftovers(tmp_path / "tmp") == []
    branches = subprocess.run(["git", "branch", "--list", "promote/*"], cwd=repo_copy,
                              text=True, capture_output=True, check=True).stdout
    assert branches.strip() == ""
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_copy, text=True,
                          capture_output=True, check=True).stdout == head


def test_promote_never_writes_through_a_link_inside_the_repository(
    repo_copy: Path, tmp_path: Path
) -> None:
    """The target's values file links to another file of the repository: the promoted
    identity would be written there (and git would record the text as a link target)."""
    values = repo_copy / "environments" / "syst" / "values.yaml"
    (repo_copy / "docs" / "syst-values.yaml").write_bytes(values.read_bytes())
    place_link(repo_copy, "environments/syst/values.yaml", "../../docs/syst-values.yaml")
    dev = repo_copy / "environments" / "dev" / "values.yaml"
    dev.write_text(dev.read_text().replace("revision:", "revision: v2 #", 1))
    commit_all(repo_copy)
    done = run_cli("promote", str(repo_copy), "--from", "dev", "--to", "syst",
                   tmp=tmp_path / "tmp")
    assert_refused(done, "environments/syst/values.yaml", mentions="symbolic link")
    branches = subprocess.run(["git", "branch", "--list", "promote/*"], cwd=repo_copy,
                              text=True, capture_output=True, check=True).stdout
    assert branches.strip() == ""


def test_update_never_writes_through_a_linked_answers_record(
    repo_copy: Path, tmp_path: Path
) -> None:
    """The record is rewritten in place by update: a link to another file of the repository
    would carry the write there. Refused before anything changes."""
    record = repo_copy / ".inference-scaffolder" / "answers.yaml"
    moved = repo_copy / "docs" / "answers-copy.yaml"
    moved.write_bytes(record.read_bytes())
    place_link(repo_copy, ".inference-scaffolder/answers.yaml", "../docs/answers-copy.yaml")
    commit_all(repo_copy)
    done = run_cli("update", str(repo_copy), tmp=tmp_path / "tmp")
    assert_refused(done, ".inference-scaffolder/answers.yaml", mentions="symbolic link")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo_copy, text=True,
                            capture_output=True, check=True).stdout
    assert status == ""


# --- denial of service through repository content -------------------------------------------


def test_validate_refuses_a_fifo_and_a_huge_file(repo_copy: Path, tmp_path: Path) -> None:
    """A FIFO as a values file blocked the read for ever; a huge file is refused unread."""
    values = repo_copy / "environments" / "dev" / "values.yaml"
    values.unlink()
    os.mkfifo(values)
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", timeout=120)
    assert_refused(done, str(repo_copy.resolve() / "environments/dev/values.yaml"),
                   mentions="FIFO")
    values.unlink()
    with values.open("wb") as handle:  # sparse: 64 MiB on paper, nothing on disk
        handle.truncate(64 * 1024 * 1024)
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", timeout=120)
    assert_refused(done, str(repo_copy.resolve() / "environments/dev/values.yaml"),
                   mentions="larger than")
    assert leftovers(tmp_path / "tmp") == []


def test_an_alias_bomb_in_a_values_file_is_refused(repo_copy: Path, tmp_path: Path) -> None:
    """Nine levels of ten aliases: a few hundred bytes that stand for a billion nodes."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    values = repo_copy / "environments" / "dev" / "values.yaml"
    values.write_text(values.read_text() + "\n".join(lines) + "\n")
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", timeout=120)
    assert_refused(done, mentions="aliases expand")


# --- hand-edited, broken service repositories ------------------------------------------------

BROKEN_FILES = [
    ("environments/dev/values.yaml", b"model: [unclosed\n", "is not valid YAML at line"),
    ("environments/dev/values.yaml", b"model:\n  id: caf\xe9\n", "is not UTF-8 text"),
    ("environments/dev/values.yaml", b"- a list\n- not a mapping\n", "must hold a YAML mapping"),
    ("environments/syst/values.yaml", b"just a string\n", "must hold a YAML mapping"),
    ("environments/dev/kustomization.yaml", b"helmCharts:\n- name: [x\n", "is not valid YAML"),
    ("environments/dev/kustomization.yaml", b"- 1\n", "must hold a YAML mapping"),
    ("argocd/dev.yaml", b"\xff\xfe\x00", "is not UTF-8 text"),
    ("environments/dev/values.yaml", b"replicas: " + b"7" * 5000 + b"\n",
     "an integer of more than 100 characters"),
    (".inference-scaffolder/answers.yaml", b"answers: [1, 2]\n", "answers must be a mapping"),
    (".inference-scaffolder/answers.yaml", b"- 1\n", "must hold a YAML mapping"),
]


@pytest.mark.parametrize(("path", "content", "message"), BROKEN_FILES,
                         ids=[f"{p}:{m.split()[-1]}" for p, _, m in BROKEN_FILES])
def test_validate_names_the_broken_file_in_one_line(
    repo_copy: Path, tmp_path: Path, path: str, content: bytes, message: str
) -> None:
    (repo_copy / path).write_bytes(content)
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp")
    assert_refused(done, str(repo_copy.resolve() / path), mentions=message)
    assert leftovers(tmp_path / "tmp") == []


@pytest.mark.parametrize(("path", "content", "message"), BROKEN_FILES[:3] + BROKEN_FILES[-2:],
                         ids=["yaml", "utf8", "list", "record-answers", "record"])
def test_promote_names_the_broken_file_in_one_line(
    repo_copy: Path, tmp_path: Path, path: str, content: bytes, message: str
) -> None:
    (repo_copy / path).write_bytes(content)
    commit_all(repo_copy)
    done = run_cli("promote", str(repo_copy), "--from", "dev", "--to", "syst",
                   tmp=tmp_path / "tmp")
    assert_refused(done, path, mentions=message)
    assert leftovers(tmp_path / "tmp") == []


def test_update_names_a_broken_answers_record(repo_copy: Path, tmp_path: Path) -> None:
    (repo_copy / ".inference-scaffolder" / "answers.yaml").write_bytes(b"answers: {a: [1}\n")
    commit_all(repo_copy)
    done = run_cli("update", str(repo_copy), tmp=tmp_path / "tmp")
    assert_refused(done, ".inference-scaffolder/answers.yaml", mentions="is not valid YAML")
    assert leftovers(tmp_path / "tmp") == []


# --- the base chart an environment pins: anyone's edit ----------------------------------------

def pin(service: Path, environment: str, **entry: str) -> None:
    """Hand-edit the environment's helmCharts entry."""
    path = service / "environments" / environment / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    kustomization["helmCharts"][0].update(entry)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


HOSTILE_PINS = [
    ({"version": "^{version}"}, "must be an exact semantic version"),  # follows the next push
    ({"version": ">={version} <99.0.0"}, "must be an exact semantic version"),
    ({"name": "../../../etc"}, "must be a DNS-1123 label"),
    ({"repo": "file:///etc"}, "https://, http:// or oci:// URL"),
    ({"repo": "https://charts.example.com/x?token=1"}, "must not have a query"),
    ({"repo": "https://charts.example.com/x\n--repo=evil"}, "whitespace or control"),
]


@pytest.mark.parametrize("command", ["validate", "promote"])
@pytest.mark.parametrize(("entry", "message"), HOSTILE_PINS,
                         ids=[next(iter(e.values())) for e, _ in HOSTILE_PINS])
def test_a_hostile_chart_pin_is_refused_before_any_fetch(
    repo_copy: Path, tmp_path: Path, command: str, entry: dict[str, str], message: str
) -> None:
    """The kustomization names which chart helm and kustomize fetch: a range, a path, a
    local or odd URL is one line naming the file, and nothing is fetched or cached."""
    pin(repo_copy, "dev", **{k: v.format(version=chart_version()) for k, v in entry.items()})
    # Something to promote besides the pin, so that promote reads dev's kustomization.
    set_environment_value(repo_copy, "dev", "container.image.tag", "3.3.8")
    commit_all(repo_copy)
    cache = tmp_path / "chart-cache"
    args = (["validate", str(repo_copy)] if command == "validate" else
            ["promote", str(repo_copy), "--from", "dev", "--to", "syst"])
    done = run_cli(*args, tmp=tmp_path / "tmp",
                   env={"INFERENCE_SCAFFOLDER_CHART_CACHE": str(cache)})
    assert_refused(done, "environments/dev/kustomization.yaml", mentions=message)
    assert not cache.exists() or list(cache.rglob("*")) == []
    assert leftovers(tmp_path / "tmp") == []


def test_a_pin_to_another_repository_is_refused_without_a_request(
    repo_copy: Path, tmp_path: Path
) -> None:
    """Where the platform names its Helm repository, a kustomization pinning a chart from
    elsewhere (a host of the editor's choice) is refused before anything is asked of it."""
    version = "9.9.9"
    with serve_helm_repo(tmp_path / "foreign",
                         [chart_variant(tmp_path / "variant", version)]) as foreign:
        pin(repo_copy, "dev", repo=foreign.url, version=version)
        done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", env={
            "INFERENCE_SCAFFOLDER_CHART_REPOSITORY": "https://charts.example.com/platform",
            "INFERENCE_SCAFFOLDER_CHART_CACHE": str(tmp_path / "chart-cache")})
        assert foreign.requests == []
    assert_refused(done, "environments/dev/kustomization.yaml",
                   mentions="not from the platform's Helm repository")
    assert leftovers(tmp_path / "tmp") == []


def test_a_pin_with_credentials_is_refused_without_echoing_them(
    repo_copy: Path, tmp_path: Path
) -> None:
    """A credential in the pinned repository URL is refused; the line that says so (read in
    CI logs) names the file and the rule, never the credential."""
    secret = "s3cret-" + secrets.token_hex(12)
    pin(repo_copy, "dev", repo=f"https://deploy:{secret}@charts.example.com/platform")
    set_environment_value(repo_copy, "dev", "container.image.tag", "3.3.8")
    commit_all(repo_copy)
    for args in (["validate", str(repo_copy), "--json"],
                 ["promote", str(repo_copy), "--from", "dev", "--to", "syst"]):
        done = run_cli(*args, tmp=tmp_path / "tmp")
        assert_refused(done, "environments/dev/kustomization.yaml",
                       mentions="must not carry credentials")
        assert secret not in done.stderr + done.stdout
    assert leftovers(tmp_path / "tmp") == []


# --- `new`: options checked before anything is created ---------------------------------------

NEW_ANSWERS = ["--no-input", "--set", "service_name=s13", "--set", "model_id=org/model",
               "--set", "model_revision=main"]


@pytest.mark.parametrize(
    ("options", "field"),
    [(["--output-dir", "{root}/a-file"], "--output-dir"),
     (["--output-dir", "{root}/a-file/below"], "--output-dir"),
     (["--output-dir", "{root}/new/deep", "--kube-version", "one.two"], "--kube-version"),
     (["--output-dir", "{root}/new/deep", "--crd-schemas", "{root}/missing"], "--crd-schemas")],
    ids=["output-dir-is-a-file", "file-on-the-way", "bad-kube-version", "missing-crd-schemas"],
)
def test_new_with_bad_options_leaves_nothing_behind(
    tmp_path: Path, options: list[str], field: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a-file").write_text("not a folder\n")
    before = snapshot(root)
    done = run_cli("new", *NEW_ANSWERS, *[o.format(root=root) for o in options],
                   tmp=tmp_path / "tmp")
    assert_refused(done, field)
    assert snapshot(root) == before
    assert leftovers(tmp_path / "tmp") == []


def test_new_removes_the_output_folder_it_created_when_it_fails(tmp_path: Path) -> None:
    """A run that fails after creating --output-dir (here: the chart needs Kubernetes
    1.29+, and validation for 1.26 fails) takes the folders it created away again."""
    root = tmp_path / "root"
    root.mkdir()
    done = run_cli("new", *NEW_ANSWERS, "--output-dir", str(root / "made" / "here"),
                   "--kube-version", "1.26", tmp=tmp_path / "tmp")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert list(root.iterdir()) == []
    assert leftovers(tmp_path / "tmp") == []


# --- no foreign executables --------------------------------------------------------------------


def test_a_tools_folder_of_the_working_directory_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cloned repository can carry `.tools/bin/helm`; the tool once ran it when helm was
    not on PATH, from the working directory or any parent. Only trusted places count: the
    environment variable, the Python environment's bin, the project's own install folder
    and PATH."""
    clone = tmp_path / "cloned-service"
    planted = clone / ".tools" / "bin"
    planted.mkdir(parents=True)
    marker = tmp_path / "foreign-tool-ran"
    for name in ("helm", "kubectl"):
        script = planted / name
        script.write_text(f"#!/bin/sh\ntouch {marker}\n")
        script.chmod(0o755)
    working = clone / "environments" / "dev"
    working.mkdir(parents=True)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.chdir(working)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("INFERENCE_SCAFFOLDER_HELM", raising=False)
    monkeypatch.delenv("INFERENCE_SCAFFOLDER_KUBECTL", raising=False)
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    monkeypatch.setattr(tools, "source_checkout_root", lambda: None)
    assert tools.find_tool("helm", "INFERENCE_SCAFFOLDER_HELM") is None
    assert tools.find_tool("kubectl", "INFERENCE_SCAFFOLDER_KUBECTL") is None
    assert not marker.exists()


@pytest.mark.parametrize("relative_entry", [".", "", "bin"])
def test_a_relative_path_entry_never_finds_a_tool_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative_entry: str
) -> None:
    """PATH=".:..." (or an empty entry, which means the same) would make a planted
    ``./helm`` or ``./node`` of a cloned repository the tool that runs."""
    from inference_scaffolder.platform_pr import node_tools

    clone = tmp_path / "cloned-repo"
    (clone / "bin").mkdir(parents=True)
    for name in ("helm", "kubectl", "node", "npm", "tsc"):
        for folder in (clone, clone / "bin"):
            script = folder / name
            script.write_text("#!/bin/sh\nexit 0\n")
            script.chmod(0o755)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.chdir(clone)
    monkeypatch.setenv("PATH", os.pathsep.join([relative_entry, str(empty)]))
    monkeypatch.delenv("INFERENCE_SCAFFOLDER_NODE", raising=False)
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    monkeypatch.setattr(tools, "source_checkout_root", lambda: None)
    for name in ("helm", "kubectl", "node", "npm", "tsc"):
        assert tools.which_on_path(name) is None, name
    assert tools.find_tool("helm", "NO_SUCH_VARIABLE") is None
    node_tools.find_node.cache_clear()
    with pytest.raises(tools.ToolMissingError):
        node_tools.find_node()
    node_tools.find_node.cache_clear()


def test_validate_from_inside_a_repository_with_its_own_tools_runs_the_trusted_helm(
    repo_copy: Path, tmp_path: Path
) -> None:
    """End to end: validate run from inside a repository that carries a `.tools/bin/helm`
    uses the pinned helm, never the repository's."""
    marker = tmp_path / "foreign-helm-ran"
    planted = repo_copy / ".tools" / "bin"
    planted.mkdir(parents=True)
    for name in ("helm", "kubectl"):
        (planted / name).write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        (planted / name).chmod(0o755)
    done = run_cli("validate", ".", tmp=tmp_path / "tmp", cwd=repo_copy)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists()
