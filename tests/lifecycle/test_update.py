"""``update``: a newer template merged three-way into a repository users have edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest
import yaml
from common import PROJECT_ROOT

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.lifecycle.update import (
    DirectoryTemplate,
    template_for_version,
    update_repository,
)
from inference_scaffolder.paths import template_dir

INTRO = "Every command below runs from the repository root."
# The installed release is TEMPLATE_VERSION (0.2.0); the next one is made from it.
NEXT_VERSION = "0.3.0"
INTRO_V2 = ("Every command below runs from the repository root (checked by template "
            f"{NEXT_VERSION}).")
FAQ = "# FAQ\n\nAsk the platform team.\n"
SERVICE_DIR = "{{cookiecutter.service_name}}"


def make_v2(template: Path, version: str = NEXT_VERSION) -> None:
    """Turn a copy of the template into a newer version: one changed line, one new file."""
    config = template / "cookiecutter.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["_template_version"] = version
    config.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    runbook = template / SERVICE_DIR / "docs" / "runbook.md.j2"
    text = runbook.read_text(encoding="utf-8")
    assert INTRO in text
    runbook.write_text(text.replace(INTRO, INTRO_V2), encoding="utf-8")
    (template / SERVICE_DIR / "docs" / "faq.md").write_text(FAQ, encoding="utf-8")


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("templates")
    v1, v2 = root / "v1", root / "v2"
    shutil.copytree(template_dir(), v1)
    shutil.copytree(template_dir(), v2)
    make_v2(v2)
    return v1, v2


@pytest.fixture
def service(repo_copy: Path) -> Path:
    with git.Repo(repo_copy).config_writer() as config:
        config.set_value("user", "name", "Ada Operator")
        config.set_value("user", "email", "ada@example.com")
        # The marker layout asserted below is git's default, whatever the machine prefers.
        config.set_value("merge", "conflictStyle", "merge")
    return repo_copy


def commit_edit(repo_dir: Path, path: str, old: str, new: str) -> str:
    target = repo_dir / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new), encoding="utf-8")
    repo = git.Repo(repo_dir)
    repo.git.commit("-q", "-am", f"edit {path}")
    return repo.head.commit.hexsha


def recorded_version(repo_dir: Path) -> str:
    record = yaml.safe_load((repo_dir / ".inference-scaffolder/answers.yaml").read_text())
    return record["template_version"]


def staged(repo_dir: Path) -> list[str]:
    return sorted(git.Repo(repo_dir).git.diff("--cached", "--name-only").splitlines())


def test_clean_update_applies_the_template_change_and_keeps_user_edits(
    service: Path, versions: tuple[Path, Path]
) -> None:
    v1, v2 = versions
    commit_edit(service, "docs/runbook.md", "## Verify\n", "## Verify\n\nOur on-call: #ml-ops.\n")
    head = commit_edit(service, "README.md", "## Layout", "## Layout (ours)")

    result = update_repository(service, DirectoryTemplate.at(v1), DirectoryTemplate.at(v2))

    assert result.status == "updated" and result.conflicts == []
    assert (result.from_version, result.to_version) == (TEMPLATE_VERSION, NEXT_VERSION)
    runbook = (service / "docs/runbook.md").read_text()
    assert INTRO_V2 in runbook and "Our on-call: #ml-ops." in runbook
    assert "<<<<<<<" not in runbook
    assert "## Layout (ours)" in (service / "README.md").read_text()
    assert (service / "docs/faq.md").read_text() == FAQ
    assert recorded_version(service) == NEXT_VERSION
    # Staged for review, not committed; no git operation left in progress.
    repo = git.Repo(service)
    assert repo.head.commit.hexsha == head and repo.active_branch.name == "main"
    assert staged(service) == [".inference-scaffolder/answers.yaml", "docs/faq.md",
                               "docs/runbook.md"]
    assert not (Path(repo.git_dir) / "CHERRY_PICK_HEAD").exists()


def test_conflicting_edit_gets_markers_and_exit_code_1(
    service: Path, versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = versions
    ours = "Every command below runs from the repository root, on the bastion host."
    commit_edit(service, "docs/runbook.md", INTRO, ours)

    code = main(["update", str(service), "--template-dir", str(v2),
                 "--base-template-dir", str(v1)])

    out = capsys.readouterr()
    assert code == 1
    assert "CONFLICT docs/runbook.md" in out.out and "resolve the conflict markers" in out.err
    runbook = (service / "docs/runbook.md").read_text()
    assert f"<<<<<<< HEAD\n{ours}\n=======\n{INTRO_V2}\n>>>>>>> " in runbook
    unmerged = git.Repo(service).git.ls_files("-u").splitlines()
    assert {line.split("\t")[1] for line in unmerged} == {"docs/runbook.md"}
    # The rest of the update still arrived.
    assert (service / "docs/faq.md").read_text() == FAQ
    assert recorded_version(service) == NEXT_VERSION


def test_a_file_the_user_deleted_but_the_template_changed_is_a_conflict(
    service: Path, versions: tuple[Path, Path]
) -> None:
    v1, v2 = versions
    repo = git.Repo(service)
    repo.git.rm("-q", "docs/runbook.md")
    repo.git.commit("-q", "-m", "we keep our runbook elsewhere")
    result = update_repository(service, DirectoryTemplate.at(v1), DirectoryTemplate.at(v2))
    assert result.status == "conflicts" and result.conflicts == ["docs/runbook.md"]


def test_refuses_a_dirty_working_tree(service: Path, versions: tuple[Path, Path]) -> None:
    v1, v2 = versions
    (service / "README.md").write_text("unsaved work\n", encoding="utf-8")
    with pytest.raises(UserError, match="uncommitted changes"):
        update_repository(service, DirectoryTemplate.at(v1), DirectoryTemplate.at(v2))
    assert (service / "README.md").read_text() == "unsaved work\n"
    assert not (service / "docs/faq.md").exists()


def test_same_version_is_unchanged(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["update", str(service), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "unchanged" and report["changed"] == []
    assert not git.Repo(service).is_dirty(untracked_files=True)


def test_unavailable_version_is_refused(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["update", str(service), "--to", "9.9.9", "--template-repo", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --to: template version 9.9.9 is not available")


def make_release_repository(root: Path, version: str) -> Path:
    """A clone-like repository of this project with the current code tagged as ``version``,
    its template changed by :func:`make_v2`. Laid out as the project is: ``src/``,
    ``templates/`` and the base chart in ``charts/``."""
    ignore = shutil.ignore_patterns("__pycache__", "_template", "_charts", "*.pyc")
    shutil.copytree(PROJECT_ROOT / "src", root / "src", ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "templates", root / "templates", ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "charts", root / "charts", ignore=ignore)
    init = root / "src/inference_scaffolder/__init__.py"
    text = init.read_text(encoding="utf-8")
    current = f'__version__ = "{TEMPLATE_VERSION}"'
    assert current in text
    init.write_text(text.replace(current, f'__version__ = "{version}"'), encoding="utf-8")
    make_v2(root / "templates" / "ml-inference-load", version)
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.git.execute(["git", "-c", "user.name=Release", "-c", "user.email=release@example.com",
                      "commit", "-q", "-m", f"release {version}"])
    repo.create_tag(f"v{version}")
    return root


@pytest.mark.slow
def test_update_to_a_tagged_release_renders_it_with_its_own_code(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_release_repository(tmp_path / "project", NEXT_VERSION)
    commit_edit(service, "README.md", "## Layout", "## Layout (ours)")

    code = main(["update", str(service), "--to", NEXT_VERSION, "--template-repo", str(project),
                 "--json"])

    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert report["status"] == "updated", report
    assert report["new_template"] == f"v{NEXT_VERSION} of {project}"
    catalog = yaml.safe_load((service / "catalog-info.yaml").read_text())
    # Only the tagged code knows it is 0.3.0: its own TEMPLATE_VERSION rendered this.
    assert catalog["metadata"]["annotations"]["platform/template-version"] == NEXT_VERSION
    assert INTRO_V2 in (service / "docs/runbook.md").read_text()
    assert "## Layout (ours)" in (service / "README.md").read_text()
    assert recorded_version(service) == NEXT_VERSION
    # Still a leaf: no chart copy came back, every environment keeps its pin and values.
    assert not (service / "chart").exists()
    assert not {p for p in report["changed"] if p.startswith(("chart/", "environments/"))}


def test_released_versions_resolve_to_tags(tmp_path: Path) -> None:
    project = make_release_repository(tmp_path / "project", "0.3.0")
    source = template_for_version("0.3.0", template_repo=project)
    assert source.version == "0.3.0" and source.describe() == f"v0.3.0 of {project.resolve()}"
    installed = template_for_version(TEMPLATE_VERSION, template_repo=project)
    assert isinstance(installed, DirectoryTemplate) and installed.path == template_dir().resolve()


def test_unavailable_recorded_version_is_refused(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_edit(service, ".inference-scaffolder/answers.yaml",
                f"template_version: {TEMPLATE_VERSION}", "template_version: 0.0.1")
    code = main(["update", str(service), "--template-repo", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --template-repo: template version 0.0.1 is not available")
    assert not git.Repo(service).is_dirty(untracked_files=True)


def add_release(project: Path, version: str, *, annotated: bool = False) -> str:
    """One more commit on ``project``, tagged ``v<version>``; returns its commit."""
    repo = git.Repo(project)
    repo.git.execute(["git", "-c", "user.name=Release", "-c", "user.email=release@example.com",
                      "commit", "-q", "--allow-empty", "-m", f"release {version}"])
    if annotated:
        repo.git.execute(["git", "-c", "user.name=Release", "-c",
                          "user.email=release@example.com", "tag", "-a", "-m", version,
                          f"v{version}"])
    else:
        repo.create_tag(f"v{version}")
    return repo.head.commit.hexsha


@pytest.fixture(scope="module")
def release_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Releases 0.3.0 and 0.4.0 (annotated), the commit between them unreleased, and a
    branch whose name is spelled like the ref of a tag that does not exist."""
    project = make_release_repository(tmp_path_factory.mktemp("history") / "project", "0.3.0")
    repo = git.Repo(project)
    repo.git.execute(["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com",
                      "commit", "-q", "--allow-empty", "-m", "work in progress"])
    add_release(project, "0.4.0", annotated=True)
    repo.git.branch("refs/tags/v0.5.0")  # refs/heads/refs/tags/v0.5.0, not a tag
    return project


@pytest.mark.parametrize("version", [
    "0.4.0~1", "0.4.0^", "0.4.0~45", "0.4.0^{tree}", "0.4.0:src", "0.4.0@{0}", "HEAD",
    "main", "0.4", "0.4.0 ", "00.4.0", "0.4.0-rc1~1",
])
def test_a_template_version_that_is_git_revision_syntax_is_refused(
    release_history: Path, version: str
) -> None:
    """Only an exact release names a template: ``0.4.0~1`` would render the unreleased
    commit before the tag, ``HEAD`` or a branch whatever was pushed there."""
    with pytest.raises(UserError) as caught:
        template_for_version(version, template_repo=release_history)
    assert caught.value.field == "--to"
    assert "must be a release version" in caught.value.rule
    with pytest.raises(UserError) as recorded:
        template_for_version(version, template_repo=release_history, option="--template-repo")
    assert recorded.value.field == "template_version"


def test_a_branch_spelled_like_a_tag_ref_is_not_a_release(release_history: Path) -> None:
    with pytest.raises(UserError, match="is not available"):
        template_for_version("0.5.0", template_repo=release_history)


def test_a_release_resolves_to_the_commit_its_tag_points_at(release_history: Path) -> None:
    repo = git.Repo(release_history)
    source = template_for_version("0.4.0", template_repo=release_history)
    assert source.describe() == f"v0.4.0 of {release_history.resolve()}"
    assert source.commit == repo.head.commit.hexsha  # the annotated tag, peeled
    older = template_for_version("0.3.0", template_repo=release_history)
    assert older.commit == repo.commit("HEAD~2").hexsha


def test_a_recorded_template_version_with_revision_syntax_is_refused_in_one_line(
    service: Path, release_history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_edit(service, ".inference-scaffolder/answers.yaml",
                f"template_version: {TEMPLATE_VERSION}", "template_version: 0.4.0~1")
    code = main(["update", str(service), "--template-repo", str(release_history)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: template_version: must be a release version"), err
    assert "0.4.0~1" in err
    assert not git.Repo(service).is_dirty(untracked_files=True)
