"""Template updates: bring a generated repository to a newer template without losing edits.

The recorded answers (``.inference-scaffolder/answers.yaml``) are rendered twice, with the
template version the repository was generated from (*base*) and with the new one. Both
renders are committed into the repository's object store as a throw-away two-commit history
(no branch, no ref), and the second commit is cherry-picked onto the user's working tree with
``--no-commit``: git's three-way merge takes every template change the user did not touch,
keeps every user edit the template did not touch, and leaves conflict markers (and unmerged
index entries) where both changed the same lines. Nothing is committed; the user reviews,
resolves and commits. The new template version is written into the answers record.

Where a template version comes from (:class:`TemplateSource`):

- the installed package's own template, when it is the version asked for;
- otherwise tag ``v<version>`` of an inference-scaffolder git repository (``--template-repo``,
  default: the source checkout this package runs from): that tag's ``src/`` and ``templates/``
  are exported and run in a separate Python process, so an old version renders with its own
  code, exactly as it rendered when the repository was generated;
- an explicit template folder (``--template-dir`` / ``--base-template-dir``), rendered by the
  installed code (cookiecutter, then the template's hook functions in this process, as
  ``new`` does): for template development and the tests.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.answers import Answers, check_platform_setting, validate_answers
from inference_scaffolder.confine import trusted_child_env
from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.generation.generate import generate, run_template
from inference_scaffolder.gitcli import Repository, failure_reason
from inference_scaffolder.lifecycle.migrate import migrate_to_leaf, plan_migration
from inference_scaffolder.lifecycle.routing_values import migrate_routing_values
from inference_scaffolder.paths import source_checkout_root, template_dir
from inference_scaffolder.safe_fs import refuse_links
from inference_scaffolder.service.files import read_answers_record
from inference_scaffolder.service.intake import check_service_repository
from inference_scaffolder.service.layout import (
    ANSWERS_RECORD,
    ENVIRONMENTS_DIR,
    LEGACY_CHART_DIR,
    has_legacy_chart,
    recorded_path,
)
from inference_scaffolder.vcs import (
    SCAFFOLDER_IDENTITY,
    commit_directory,
    open_repository,
    require_clean,
)
from inference_scaffolder.yamlio import round_trip_yaml

# --- template sources ------------------------------------------------------------------------


class TemplateSource(Protocol):
    """One version of the template, able to render a repository from answers."""

    @property
    def version(self) -> str:
        """The template version this source renders (a tag, a commit or a folder digest)."""

    def describe(self) -> str:
        """Where this version comes from, for messages."""

    def render(self, answers: Answers, workdir: Path) -> Path:
        """Render the repository for ``answers`` under ``workdir``; returns its folder."""


def directory_version(path: Path) -> str:
    """The template version a template folder declares (``_template_version``)."""
    config = path / "cookiecutter.json"
    if not config.is_file():
        raise UserError("--template-dir", f"{path} is not a cookiecutter template "
                        "(no cookiecutter.json)")
    version = json.loads(config.read_text(encoding="utf-8")).get("_template_version")
    if not version:
        raise UserError("--template-dir", f"{config} declares no _template_version")
    return str(version)


@dataclass(frozen=True)
class DirectoryTemplate:
    """A template folder rendered by the installed code (cookiecutter + the hook functions)."""

    path: Path
    version: str

    @classmethod
    def at(cls, path: Path, version: str | None = None) -> DirectoryTemplate:
        return cls(path.resolve(), version or directory_version(path))

    def describe(self) -> str:
        return f"template folder {self.path} ({self.version})"

    def render(self, answers: Answers, workdir: Path) -> Path:
        workdir.mkdir(parents=True, exist_ok=True)
        if self.path == template_dir().resolve():
            # The installed template: exactly what `new` does, through the same function.
            return generate(validate_answers(answers), workdir / "out", git_init=False,
                            validate=False, force=True).output
        return run_template(validate_answers(answers), workdir, self.path)


_RENDER_SCRIPT = """
import json, sys
from pathlib import Path
from inference_scaffolder.answers import validate_answers
try:
    from inference_scaffolder.generation.generate import generate
except ImportError:  # releases made before the subsystem packages
    from inference_scaffolder.render import generate
request = json.load(sys.stdin)
result = generate(validate_answers(request["answers"]), Path(request["output"]),
                  git_init=False, validate=False, force=True)
print(json.dumps({"output": str(result.output)}))
"""


@dataclass(frozen=True)
class ProjectRevisionTemplate:
    """A released version: tag ``v<version>`` of an inference-scaffolder repository, rendered
    by that revision's own code in a separate Python process. ``commit`` is what the tag
    pointed at when it was resolved; the export reads that commit, never a name."""

    project: Path
    ref: str
    version: str
    commit: str

    def describe(self) -> str:
        return f"{self.ref} of {self.project}"

    def _export(self, dest: Path) -> None:
        repo = Repository(self.project)
        # From 0.2.0 on the code reads the base chart from charts/ at the root.
        top = repo.check("ls-tree", "--name-only", self.commit, field_name="--template-repo",
                         doing=f"reading {self.describe()}", error=UserError).splitlines()
        paths = ["src", "templates", *(["charts"] if "charts" in top else [])]
        with tempfile.TemporaryFile() as data:
            repo.archive(self.commit, data, *paths, field_name="--template-repo")
            data.seek(0)
            with tarfile.open(fileobj=data) as archive:
                archive.extractall(dest, filter="data")

    def render(self, answers: Answers, workdir: Path) -> Path:
        code = workdir / "code"
        self._export(code)
        env = {**trusted_child_env(), "PYTHONPATH": str(code / "src")}
        request = json.dumps({"answers": answers, "output": str(workdir / "out")})
        done = subprocess.run([sys.executable, "-c", _RENDER_SCRIPT], input=request, text=True,
                              capture_output=True, env=env, cwd=workdir, timeout=300,
                              check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError("--to", f"rendering {self.describe()} failed: {last}")
        return Path(json.loads(done.stdout.strip().splitlines()[-1])["output"])


# A release is tagged v<major>.<minor>.<patch>, and nothing else names a template version:
# git revision syntax (`0.1.0~45`, `0.1.0^`, `HEAD`, a branch) would render unreleased code.
RELEASE_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def check_release_version(version: str, field: str) -> str:
    """``version`` if it names a release exactly; else one line naming ``field``."""
    if not RELEASE_VERSION.fullmatch(version):
        where = f" ({ANSWERS_RECORD.as_posix()})" if field == "template_version" else ""
        raise UserError(field, f"must be a release version such as {TEMPLATE_VERSION} (tag "
                        f"v{TEMPLATE_VERSION}), got {inert(repr(version), 80)}{where}; git "
                        "revision syntax (~, ^, HEAD, a branch) would render unreleased code")
    return version


def _release_commit(project: Path, version: str) -> str | None:
    """The commit of tag ``v<version>``: the full ref name looked up exactly (``show-ref
    --verify``; a branch called ``refs/tags/v1.0.0`` is not the tag), then peeled."""
    if not project.is_dir():
        return None
    repo = Repository(project)
    tag = repo.run("show-ref", "--verify", "--hash", f"refs/tags/v{version}")
    if not tag.ok or not tag.stdout.strip():
        return None
    return repo.resolve(f"{tag.stdout.strip()}^{{commit}}")


def template_for_version(version: str, *, template_repo: Path | None = None,
                         option: str = "--to") -> TemplateSource:
    """The template source for a released ``version`` (see the module docstring). A version
    given with ``--to`` is refused naming that option; any other is the recorded one."""
    if not version:
        raise UserError(str(ANSWERS_RECORD), "records no template_version; pass "
                        "--base-template-dir with the template it was generated from")
    check_release_version(version, "--to" if option == "--to" else "template_version")
    if version == TEMPLATE_VERSION:
        return DirectoryTemplate(template_dir().resolve(), TEMPLATE_VERSION)
    project = template_repo or source_checkout_root()
    ref = f"v{version}"
    commit = _release_commit(project, version) if project is not None else None
    if project is None or commit is None:
        where = f"{project} has no tag {ref}" if project else "no inference-scaffolder checkout"
        raise UserError(option, f"template version {version} is not available ({where}; this "
                        f"installation is {TEMPLATE_VERSION}); pass --template-repo with a "
                        "clone that has the tag, or a template folder")
    return ProjectRevisionTemplate(project.resolve(), ref, version, commit)


# --- git plumbing ----------------------------------------------------------------------------


def _tree(repo: Repository, commit: str) -> str:
    return repo.rev_parse(f"{commit}^{{tree}}")


def apply_three_way(repo: Repository, change: str) -> list[str]:
    """Cherry-pick ``change`` (new render on top of the base render) onto the working tree
    without committing; returns the conflicted paths (left with markers)."""
    picked = repo.run("cherry-pick", "--no-commit", "--no-rerere-autoupdate", change,
                      env=SCAFFOLDER_IDENTITY)
    conflicted = repo.lines("diff", "--name-only", "--diff-filter=U")
    # Keep the merged files and unmerged entries, but leave no cherry-pick in progress: the
    # user resolves and commits as with any edit.
    repo.run("cherry-pick", "--quit")
    if not picked.ok and not conflicted:
        raise UserError("DIR", f"applying the template change failed: "
                        f"{failure_reason(picked.stderr)}")
    return conflicted


def record_template_version(project_dir: Path, version: str) -> bool:
    """Write the new template version into the answers record (comments kept)."""
    path = project_dir / ANSWERS_RECORD
    refuse_links(project_dir, ANSWERS_RECORD.as_posix())  # never write through a link
    text = path.read_text(encoding="utf-8")
    if "<<<<<<<" in text:
        return False
    ruamel = round_trip_yaml()
    record = ruamel.load(text)
    if record.get("template_version") == version:
        return True
    record["template_version"] = version
    out = io.StringIO()
    ruamel.dump(record, out)
    path.write_text(out.getvalue(), encoding="utf-8")
    return True


# --- the update ------------------------------------------------------------------------------


@dataclass
class UpdateResult:
    status: str  # "unchanged" | "updated" | "conflicts"
    from_version: str
    to_version: str
    base: str
    target: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "base_template": self.base,
            "new_template": self.target,
            "changed": self.changed,
            "conflicts": self.conflicts,
            "warnings": self.warnings,
        }


def _leaves_the_copied_chart(directory: Path, new_dir: Path) -> bool:
    """Whether this update crosses to the leaf layout: the repository still carries its own
    ``chart/`` and the new template no longer does."""
    return (has_legacy_chart(directory)
            and not (new_dir / LEGACY_CHART_DIR / "Chart.yaml").is_file())


def _drop_layout_files(render: Path) -> None:
    """Leave the chart and environment files out of a render: the migration rewrites them
    from the repository's own files, not from a three-way merge of two layouts."""
    for folder in (LEGACY_CHART_DIR, ENVIRONMENTS_DIR):
        shutil.rmtree(render / folder, ignore_errors=True)


def _with_platform(answers: Answers, platform: Mapping[str, str] | None) -> Answers:
    """The recorded answers, with the platform settings given for those they lack."""
    extra = {k: v for k, v in (platform or {}).items() if v and not answers.get(k)}
    return {**answers, **extra}


def update_repository(directory: Path, base: TemplateSource, target: TemplateSource,
                      platform: Mapping[str, str] | None = None) -> UpdateResult:
    """Apply the change from ``base`` to ``target`` template onto the repository in
    ``directory`` as a three-way merge; see the module docstring. A repository with its own
    ``chart/`` copy moves to the leaf layout on the way (:mod:`.migrate`), and environments
    on base chart 0.2.0 or later lose the values of routing objects the chart no longer
    renders (:mod:`.routing_values`).

    ``platform``: the platform answers (``chart_repository``...) for a record that has none,
    before their variables."""
    for key, value in (platform or {}).items():  # refused even when the record has its own
        check_platform_setting(key, value, f"--{key.replace('_', '-')}")
    directory = directory.resolve()
    repo = open_repository(directory)
    if not repo.has_commits():
        raise UserError("DIR", f"{directory} has no commits")
    require_clean(repo, "updating the template (so the update can be reviewed and undone)")
    check_service_repository(directory)  # links out, FIFOs, broken YAML: one line
    refuse_links(directory, ANSWERS_RECORD.as_posix())  # the record is rewritten in place
    record = read_answers_record(directory)
    recorded = str(record.get("template_version", ""))
    answers = record.get("answers")
    if not isinstance(answers, dict):
        raise UserError(str(ANSWERS_RECORD), "has no answers mapping")
    if answers.get("model_config"):
        # Recorded relative to the repository; the renders run elsewhere.
        config = recorded_path(directory, str(answers["model_config"]))
        if config is None:
            raise UserError(str(ANSWERS_RECORD), f"model_config {answers['model_config']!r} "
                            "leads outside the repository")
        answers = {**answers, "model_config": str(config)}
    result = UpdateResult("unchanged", recorded, target.version, base.describe(),
                          target.describe())
    if base.version != recorded:
        result.warnings.append(f"the repository records template {recorded}, but the base "
                               f"render uses {base.version}")
    migrating = None
    with tempfile.TemporaryDirectory(prefix="template-update-") as tmp_name:
        tmp = Path(tmp_name)
        old_dir = base.render(answers, tmp / "base")
        new_answers = _with_platform(answers, platform)
        new_dir = target.render(new_answers, tmp / "target")
        if _leaves_the_copied_chart(directory, new_dir):
            migrating = validate_answers(new_answers)
            plan_migration(directory, migrating)  # refuses before anything is written
            _drop_layout_files(old_dir)
            _drop_layout_files(new_dir)
        old = commit_directory(repo, old_dir, [], f"ml-inference-load {base.version} "
                               "(recorded answers)", tmp / "base.index")
        new = commit_directory(repo, new_dir, [old], f"ml-inference-load {target.version} "
                               "(recorded answers)", tmp / "target.index")
    if _tree(repo, old) != _tree(repo, new):
        result.conflicts = apply_three_way(repo, new)
    if migrating is not None:
        moved = migrate_to_leaf(directory, migrating)
        repo.check("add", "--all", "--", *moved.written, LEGACY_CHART_DIR)
        result.warnings.append(
            f"moved to the leaf layout: every environment now inflates {moved.chart.describe()}"
            f" (chart/ removed: {len(moved.removed)} files); check with "
            "`inference-scaffolder validate .`")
    routing_values = migrate_routing_values(directory, skip=result.conflicts)
    if routing_values.written:
        repo.check("add", "--", *routing_values.written)
        result.warnings += routing_values.notes
    if recorded != target.version and record_template_version(directory, target.version):
        repo.check("add", "--", str(ANSWERS_RECORD))
    staged = repo.lines("diff", "--cached", "--name-only")
    result.changed = sorted(set(staged) | set(result.conflicts))
    if result.conflicts:
        result.status = "conflicts"
    elif result.changed:
        result.status = "updated"
    return result
