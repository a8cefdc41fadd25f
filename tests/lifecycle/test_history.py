"""``history``: what an environment ran when, to know what to roll back to."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import git
import pytest
import yaml

from inference_scaffolder.chart import chart_version, engine_defaults
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.lifecycle.history import environment_history
from inference_scaffolder.lifecycle.promote import promote

OLD_REVISION = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
NEW_REVISION = "0123456789abcdef0123456789abcdef01234567"
# The engine tag a new service pins (the chart's default), and another one to move to.
DEFAULT_TAG = str(engine_defaults("tgi")["image"]["tag"])
OTHER_TAG = "3.3.5"
# The base chart version a new service pins (the one this release carries), and the next one.
PINNED_CHART = chart_version()
NEXT_CHART = "0.1.1"
ENVIRONMENTS = ("dev", "syst", "uat", "prod")


@pytest.fixture
def service(repo_copy: Path) -> Path:
    with git.Repo(repo_copy).config_writer() as config:
        config.set_value("user", "name", "Ada Operator")
        config.set_value("user", "email", "ada@example.com")
    return repo_copy


def edit(repo_dir: Path, path: str, old: str, new: str, message: str) -> str:
    target = repo_dir / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new), encoding="utf-8")
    repo = git.Repo(repo_dir)
    repo.git.commit("-q", "-am", message)
    return repo.head.commit.hexsha


def promote_and_merge(repo_dir: Path, source: str, target: str) -> tuple[str, str]:
    """Promote, then merge the branch with a merge commit as a pull request would."""
    result = promote(repo_dir, source, target)
    repo = git.Repo(repo_dir)
    repo.git.merge("-q", "--no-ff", "-m", f"Merge {result.branch}", result.branch)
    return result.promoted_commit, repo.head.commit.hexsha


def test_lists_promotions_newest_first_with_identity_and_origin(service: Path) -> None:
    generated = git.Repo(service).head.commit.hexsha
    edit(service, "environments/dev/values.yaml", OLD_REVISION, NEW_REVISION, "dev: new rev")
    promoted, merge = promote_and_merge(service, "dev", "syst")

    entries = environment_history(service, "syst")

    assert [e.sha for e in entries] == [merge, generated]
    latest, first = entries
    assert latest.identity and latest.identity.model["revision"] == NEW_REVISION
    assert latest.promoted_from == f"dev@{promoted}"
    assert latest.author == "Ada Operator" and latest.email == "ada@example.com"
    assert latest.subject.startswith("Merge promote/syst-")
    assert first.identity and first.identity.model["revision"] == OLD_REVISION
    assert first.identity.image_tag == DEFAULT_TAG
    assert first.identity.chart_version == PINNED_CHART
    assert first.author == "inference-scaffolder" and first.promoted_from is None
    assert latest.date >= first.date


def test_a_revert_shows_the_earlier_identity_back_on_top(service: Path) -> None:
    edit(service, "environments/dev/values.yaml", OLD_REVISION, NEW_REVISION, "dev: new rev")
    _, merge = promote_and_merge(service, "dev", "syst")
    git.Repo(service).git.revert("--no-edit", "-m", "1", merge)

    entries = environment_history(service, "syst")

    assert [e.identity.model["revision"] for e in entries if e.identity] == [
        OLD_REVISION, NEW_REVISION, OLD_REVISION]
    assert entries[0].subject.startswith('Revert "Merge promote/syst-')


def test_settings_only_changes_are_listed_but_marked(service: Path) -> None:
    edit(service, "environments/prod/values.yaml", "host: tinyllama.ml.example.com",
         "host: chat.ml.example.com", "prod: new hostname")
    latest, first = environment_history(service, "prod")
    assert latest.subject == "prod: new hostname" and not latest.identity_changed
    assert first.identity_changed


def test_a_chart_version_pinned_in_one_environment_is_in_that_history_only(
    service: Path,
) -> None:
    """Each environment pins its own base chart version: moving dev's pin is dev's deploy
    history (with the chart version in the identity), and nobody else's."""
    assert NEXT_CHART != PINNED_CHART
    generated = git.Repo(service).head.commit.hexsha
    sha = edit(service, "environments/dev/kustomization.yaml", f"version: {PINNED_CHART}\n",
               f"version: {NEXT_CHART}\n", "dev: base chart " + NEXT_CHART)

    latest, first = environment_history(service, "dev")
    assert (latest.sha, first.sha) == (sha, generated)
    assert latest.identity and latest.identity.chart_version == NEXT_CHART
    assert first.identity and first.identity.chart_version == PINNED_CHART
    assert latest.identity_changed  # a chart change is a change of what dev runs
    assert latest.identity.model == first.identity.model
    for env in ("syst", "uat", "prod"):
        entries = environment_history(service, env)
        assert [e.sha for e in entries] == [generated], env
        assert entries[0].identity and entries[0].identity.chart_version == PINNED_CHART


def legacy_kustomization(environment: str, version: str) -> str:
    """An environment's kustomization as releases before 0.2.0 wrote it: the repository's own
    chart/ (chartHome + name), no chart repository."""
    return yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "helmGlobals": {"chartHome": "../.."},
        "helmCharts": [{"name": "chart", "version": version, "releaseName": "tinyllama-chat",
                        "namespace": "ml-inference", "valuesFile": "values.yaml",
                        "skipTests": True}]}, sort_keys=False)


def write_legacy_chart(repo_dir: Path, version: str, values: str) -> None:
    chart = repo_dir / "chart"
    chart.mkdir(exist_ok=True)
    (chart / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: ml-inference-load\nversion: {version}\n", encoding="utf-8")
    (chart / "values.yaml").write_text(values, encoding="utf-8")
    for env in ENVIRONMENTS:
        (repo_dir / "environments" / env / "kustomization.yaml").write_text(
            legacy_kustomization(env, version), encoding="utf-8")


def test_a_repository_from_before_the_leaf_layout_keeps_its_chart_history(
    service: Path, tmp_path: Path,
) -> None:
    """Commits from before the leaf layout deployed the repository's own chart/: a change to
    it is in every environment's history, with chart/Chart.yaml's version; the move to the
    leaf layout that keeps the version changes no identity."""
    legacy = tmp_path / "legacy"
    shutil.copytree(service, legacy / service.name, ignore=shutil.ignore_patterns(".git"))
    legacy = legacy / service.name
    repo = git.Repo.init(legacy, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Ada Operator")
        config.set_value("user", "email", "ada@example.com")
    values = "serviceName: tinyllama-chat\nnamespace: ml-inference\n"
    write_legacy_chart(legacy, "0.0.9", values)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "generated by 0.0.9")
    generated = repo.head.commit.hexsha
    common = edit(legacy, "chart/values.yaml", "serviceName: tinyllama-chat",
                  "serviceName: tinyllama-chat  # renamed never", "chart: comment")
    write_legacy_chart(legacy, PINNED_CHART, (legacy / "chart/values.yaml").read_text())
    bumped = edit(legacy, "chart/Chart.yaml", "name: ml-inference-load",
                  "name: ml-inference-load\ndescription: bumped", f"chart {PINNED_CHART}")
    # The move to the leaf layout: the generated kustomizations, chart/ removed.
    repo.git.rm("-r", "-q", "chart")
    for env in ENVIRONMENTS:
        shutil.copyfile(service / "environments" / env / "kustomization.yaml",
                        legacy / "environments" / env / "kustomization.yaml")
    repo.git.commit("-q", "-am", "Move to the leaf layout")
    moved = repo.head.commit.hexsha

    for env in ENVIRONMENTS:
        entries = environment_history(legacy, env)
        assert [e.sha for e in entries] == [moved, bumped, common, generated], env
        assert [e.identity.chart_version for e in entries if e.identity] == [
            PINNED_CHART, PINNED_CHART, "0.0.9", "0.0.9"]
        assert [e.identity_changed for e in entries] == [False, True, False, True]


def test_other_environments_changes_are_not_listed(service: Path) -> None:
    edit(service, "environments/dev/values.yaml", OLD_REVISION, NEW_REVISION, "dev: new rev")
    assert len(environment_history(service, "prod")) == 1


def test_unknown_environment_is_refused(service: Path) -> None:
    with pytest.raises(UserError) as refused:
        environment_history(service, "staging")
    assert refused.value.field == "--env"


def test_cli_json_and_text(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(service, "environments/dev/values.yaml", f"tag: {DEFAULT_TAG}", f"tag: {OTHER_TAG}",
         "dev: engine")
    assert main(["history", str(service), "--env", "dev", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["identity"]["image_tag"] for e in entries] == [OTHER_TAG, DEFAULT_TAG]
    assert set(entries[0]) >= {"sha", "date", "author", "email", "subject", "identity"}

    assert main(["history", str(service), "--env", "dev", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("what dev ran, newest first")
    assert len(out) == 2 and "Ada Operator" in out[1] and f"image {OTHER_TAG}" in out[1]


def test_cli_not_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path), "--env", "prod"]) == 2
    assert "is not a git repository" in capsys.readouterr().err


# --- bounded and linear ----------------------------------------------------------------------


def bump(repo_dir: Path, environment: str, count: int, subject: str = "bump") -> None:
    """``count`` commits that each change ``environment``'s values (a comment line)."""
    values = repo_dir / "environments" / environment / "values.yaml"
    for number in range(count):
        values.write_text(values.read_text(encoding="utf-8") + f"# {number}\n", encoding="utf-8")
        git.Repo(repo_dir).git.commit("-q", "-am", f"{subject} {number}")


def counting_git(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every git process from now on appends a line to the returned file, then runs git."""
    real = shutil.which("git")
    assert real
    calls = folder / "calls"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{calls}"\nexec "{real}" "$@"\n',
                       encoding="utf-8")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return calls


def git_processes(calls: Path, run) -> int:
    calls.write_text("", encoding="utf-8")
    run()
    return len(calls.read_text(encoding="utf-8").splitlines())


def test_the_git_processes_do_not_grow_with_the_history(
    service: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A few git processes for the whole history, merges included, instead of two or three
    per commit: a long history stays quick to list."""
    edit(service, "environments/dev/values.yaml", OLD_REVISION, NEW_REVISION, "dev: new rev")
    promote_and_merge(service, "dev", "syst")
    calls = counting_git(tmp_path / "bin", monkeypatch)
    short = git_processes(calls, lambda: environment_history(service, "syst"))

    monkeypatch.setenv("PATH", os.environ["PATH"].split(":", 1)[1])
    bump(service, "syst", 30)
    edit(service, "environments/dev/values.yaml", f"tag: {DEFAULT_TAG}", f"tag: {OTHER_TAG}",
         "dev: engine")
    promote_and_merge(service, "dev", "syst")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    long = git_processes(calls, lambda: environment_history(service, "syst"))

    assert len(environment_history(service, "syst")) == 33
    assert long == short <= 4, calls.read_text()


def test_the_cli_lists_fifty_by_default_and_says_there_are_more(
    service: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bump(service, "uat", 55)
    assert main(["history", str(service), "--env", "uat"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1 + 50
    assert lines[1].endswith("— bump 54") and lines[-1].endswith("— bump 5")
    assert "older entries not listed; raise --limit (now 50)" in captured.err

    assert main(["history", str(service), "--env", "uat", "--limit", "56", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 56  # every bump and the generated commit
    assert captured.err == ""


def test_the_oldest_listed_entry_is_compared_with_the_one_before_it(service: Path) -> None:
    """A limit cuts the list, not the comparison: the last entry listed still says whether
    it changed the identity."""
    edit(service, "environments/uat/values.yaml", "host: ", "host:  ", "uat: same identity")
    bump(service, "uat", 1)
    newest, oldest = environment_history(service, "uat", limit=2)
    assert not newest.identity_changed and not oldest.identity_changed


def test_a_merge_takes_the_newest_promotion_trailer_it_brought_in(service: Path) -> None:
    """A promotion branch with a fix on top, merged: the merge still names where it was
    promoted from; a plain merge after it names nothing."""
    edit(service, "environments/dev/values.yaml", OLD_REVISION, NEW_REVISION, "dev: new rev")
    result = promote(service, "dev", "syst")
    repo = git.Repo(service)
    repo.git.checkout("-q", result.branch)
    edit(service, "environments/syst/values.yaml", "host: ", "host:  ", "syst: fix on top")
    repo.git.checkout("-q", "-")
    repo.git.merge("-q", "--no-ff", "-m", "Merge promotion with fix", result.branch)
    promoted_merge = repo.head.commit.hexsha
    repo.git.checkout("-q", "-b", "plain")
    edit(service, "environments/syst/values.yaml", "host:  ", "host: ", "syst: plain change")
    repo.git.checkout("-q", "-")
    repo.git.merge("-q", "--no-ff", "-m", "Merge plain", "plain")

    plain, promoted, _generated = environment_history(service, "syst")
    assert promoted.sha == promoted_merge
    assert promoted.promoted_from == f"dev@{result.promoted_commit}"
    assert plain.subject == "Merge plain" and plain.promoted_from is None


def test_separator_characters_in_a_subject_or_author_are_plain_text(service: Path) -> None:
    """\\x1e and \\x1f can be in a commit's subject and author; they are data, not fields."""
    values = service / "environments" / "prod" / "values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "# x\n", encoding="utf-8")
    repo = git.Repo(service)
    repo.git.commit("-q", "-am", "odd \x1e\x1f subject", author="Odd \x1f Name <o@example.com>")
    newest = environment_history(service, "prod")[0]
    assert newest.subject == "odd \x1e\x1f subject"
    assert newest.author == "Odd \x1f Name" and newest.email == "o@example.com"


@pytest.mark.parametrize("name", ["../dev", "dev\nx", "", "dev/../prod", "\u202eved"])
def test_an_environment_that_is_not_a_folder_name_is_refused(service: Path, name: str) -> None:
    with pytest.raises(UserError) as refused:
        environment_history(service, name)
    assert refused.value.field == "--env"


def test_an_environment_folder_with_a_space_in_its_name_has_a_history(service: Path) -> None:
    """git cat-file answers "<name> missing" for an absent file; a name with a space must
    not be mistaken for an answer of three words."""
    shutil.copytree(service / "environments" / "dev", service / "environments" / "a b")
    repo = git.Repo(service)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "a b: new environment")
    repo.git.rm("-q", "environments/a b/kustomization.yaml")
    repo.git.commit("-q", "-m", "a b: no kustomization")
    without, created = environment_history(service, "a b")
    assert created.identity and created.identity.chart_version == PINNED_CHART
    assert without.identity and without.identity.chart_version is None
