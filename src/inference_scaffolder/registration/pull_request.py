"""``register``: one pull request per service and environment against the routing repository.

One run, as ``schema-pr`` does it: clone the base branch into a temporary directory, edit the
environment's values files there (:mod:`.entries`), check them (:mod:`.validation` and the
fleet check: no other service registers the same model name in that environment; the
routing repository holds every registration, so the check always sees them all), and hand
one commit on top of the base branch to a publisher.

The pull-request branch (``inference-scaffolder/register/<env>/<namespace>/<service>``) is
never built on: every run rebuilds its one commit on the current base tip. When the remote
branch already is exactly that commit the run reports ``unchanged``; otherwise it pushes
over the branch compare-and-swap on the sha it observed, and a run that loses a race starts
over on the new tip. Runs for different services use different branches, so each keeps its
own pull request and none carries, or drops, another's entries.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from inference_scaffolder.errors import UserError, inert
from inference_scaffolder.gitcli import Repository
from inference_scaffolder.platform_pr.pull_request import repo_lock
from inference_scaffolder.publish import (
    GitRemote,
    Publisher,
    PullRequestDraft,
    PushRejected,
    clone_branch,
    fetch_branch,
    push_branch,
    remote_heads,
)
from inference_scaffolder.publish.proposal import (
    ProposalResult,
    branch_is_proposal,
    check_branch_name,
    commit_staged,
    pull_request_of_unchanged,
)
from inference_scaffolder.registration.documents import (
    ValuesDocument,
    load_bounded,
    read_document,
)
from inference_scaffolder.registration.entries import (
    Action,
    edit_litellm,
    edit_models,
    litellm_claims,
    models_claims,
)
from inference_scaffolder.registration.facts import ServiceFacts
from inference_scaffolder.registration.layout import (
    RoutingLayout,
    check_environment_name,
    read_layout,
)
from inference_scaffolder.registration.validation import compare, problems_of
from inference_scaffolder.safe_fs import ConfinedTree

DEFAULT_BASE = "main"
BRANCH_PREFIX = "inference-scaffolder/register"
MAX_ATTEMPTS = 3


def default_branch(facts: ServiceFacts, environment: str) -> str:
    return f"{BRANCH_PREFIX}/{environment}/{facts.namespace}/{facts.service_name}"


@dataclass(frozen=True)
class RegisterOptions:
    """What to propose, for which environment; where to is the publisher's remote."""

    environment: str
    action: Action = Action.register
    base: str = DEFAULT_BASE
    branch: str | None = None  # None: default_branch
    dry_run: bool = False
    labels: tuple[str, ...] = ("inference-scaffolder",)
    draft: bool = False
    litellm_values: str | None = None  # path template overriding the repository's layout
    models_values: str | None = None


@dataclass(kw_only=True)
class RegisterResult(ProposalResult):
    """What ``register`` reports (``--json`` prints :meth:`as_json`)."""

    action: str
    environment: str
    model_name: str
    # The service repository's side (public serving), filled in by the caller.
    service_change: dict[str, object] | None = None


# --- pull request text ------------------------------------------------------------------------

_VERBS = {Action.register: "Register", Action.disable: "Disable", Action.remove: "Remove"}


def pull_request_text(facts: ServiceFacts, options: RegisterOptions, layout: RoutingLayout,
                      notes: list[str]) -> tuple[str, str]:
    """Title and body: what changes in which file, what this run checked, what the platform
    must provide, and when it takes effect."""
    env = options.environment
    title = (f"{_VERBS[options.action]} {facts.served_model_name} "
             f"({facts.owner}) in {env}")
    litellm_path, models_path = layout.litellm_path(env), layout.models_path(env)
    if options.action is Action.register:
        change = [f"- `{litellm_path}`: one `litellm-proxy.litellm.modelList` item, "
                  f"`model_name: {facts.served_model_name}`, `{facts.litellm_model}` at "
                  f"`{facts.base_url}`" + (f", key from `os.environ/{facts.api_key_env}`"
                                           if facts.api_key_env else ", no engine key")]
        if facts.envoy_ai_gateway:
            failovers = ", ".join(f"`{r}`" for r in facts.failover_backends)
            change.append(f"- `{models_path}`: `backends.{facts.backend_key}` and "
                          f"`models.{facts.model_key}` (priority 0: this service; "
                          f"failover: {failovers})")
    elif options.action is Action.disable:
        change = [f"- `{litellm_path}`: this service's `modelList` item removed: LiteLLM "
                  "answers the name with its invalid-model error after its restart",
                  f"- `{models_path}`: this service's model routes, if any, `enabled: false`"]
    else:
        change = [f"- `{litellm_path}`: this service's `modelList` item removed",
                  f"- `{models_path}`: this service's model routes and backend removed, "
                  "if any"]
    change += [f"- note: {n}" for n in notes]
    vault = f" `{facts.api_key_vault_path}`" if facts.api_key_vault_path else ""
    key_line = ""
    if facts.api_key_env and options.action is Action.register:
        key_line = (f"- LiteLLM's pod has the variable `{facts.api_key_env}`: the engine key, "
                    f"read from the engine's Vault path{vault} by an ExternalSecret in "
                    "LiteLLM's namespace\n")
        if facts.envoy_ai_gateway:
            key_line += (f"- the models release's namespace has the Secret "
                         f"`{facts.engine_key_secret}` (key `apiKey`), from the same Vault "
                         "path\n")
    body = f"""\
{_VERBS[options.action]}s the model `{facts.served_model_name}` of `{facts.owner}` \
({facts.engine}) with the platform's routers in `{env}`.

Opened by `inference-scaffolder register`. The branch is one commit on the base branch; \
re-running the command rebuilds it there, and replaces any commit pushed to it by others.

### Changes
{chr(10).join(change)}

### Checked before the push
- [x] the edited values match the shapes the inference-infrastructure and models charts \
document (LiteLLM `modelList`; `backends`, `models`: two enabled backends per enabled \
model, every `ref` defined)
- [x] no other service registers `{facts.served_model_name}` in `{env}`

### For the platform
{key_line}- takes effect when LiteLLM restarts with the new values (no database-backed \
reload), and when the models release is synced
"""
    return title, body


# --- the run ---------------------------------------------------------------------------------


def run_register(facts: ServiceFacts, options: RegisterOptions,
                 publisher: Publisher) -> RegisterResult:
    """Prepare, check and publish the change; see the module docstring."""
    check_environment_name(options.environment)
    branch = options.branch or default_branch(facts, options.environment)
    with tempfile.TemporaryDirectory(prefix="register-") as tmp_name:
        tmp = Path(tmp_name)
        check_branch_name(options.base, "--base", tmp)
        check_branch_name(branch, "--branch", tmp)
        if options.base == branch:
            raise UserError("--branch", "must differ from --base")
        run = _Run(facts, options, branch, publisher, tmp)
        if options.dry_run:
            return run.attempt(0)
        publisher.preflight()
        with repo_lock(f"{publisher.remote.display}\n{branch}") as unserialised:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    result = run.attempt(attempt)
                except PushRejected:
                    continue
                result.warnings.extend([unserialised] if unserialised else [])
                return result
        raise UserError("--branch", f"{branch} kept moving on the remote during "
                        f"{MAX_ATTEMPTS} attempts; nothing was pushed, try again")


@dataclass(frozen=True)
class _Edited:
    """The environment's files after the edit, checked."""

    files: dict[str, str]  # path -> new text, only files that change
    warnings: list[str]
    notes: list[str]
    layout: RoutingLayout


@dataclass
class _Run:
    facts: ServiceFacts
    options: RegisterOptions
    branch: str
    publisher: Publisher
    tmp: Path

    @property
    def remote(self) -> GitRemote:
        return self.publisher.remote

    def attempt(self, number: int) -> RegisterResult:
        """One try: the change rebuilt on the base branch, whatever the branch holds now."""
        workdir = self.tmp / f"attempt-{number}"
        workdir.mkdir()
        heads = remote_heads(self.remote, workdir, self.options.base, self.branch)
        if self.options.base not in heads:
            raise UserError("--base", f"branch {inert(self.options.base)!r} does not exist in "
                            f"{self.remote.display}")
        repo = clone_branch(self.remote, self.options.base, workdir / "repo")
        base_tip = repo.head()
        observed = (fetch_branch(repo, self.remote, self.branch)
                    if self.branch in heads else None)
        repo.check("checkout", "-q", "-B", self.branch, base_tip)
        edited = edit_environment(ConfinedTree(Path(repo.working_dir)), self.facts,
                                  self.options)
        title, body = pull_request_text(self.facts, self.options, edited.layout, edited.notes)
        if not edited.files:
            return self._already_on_base(repo, base_tip, observed, title, body,
                                         edited.warnings)
        tree = ConfinedTree(Path(repo.working_dir))
        for path, text in edited.files.items():
            tree.write(path, text.encode("utf-8"))
        repo.check("add", "--", *edited.files)
        files = sorted(edited.files)
        if observed is not None and branch_is_proposal(
                repo, observed, base_tip, repo.check("write-tree").strip(), title):
            return self._unchanged(observed, title, body, edited.warnings)
        status = "updated" if observed else "opened"
        if self.options.dry_run:
            diff = repo.check("diff", "--cached", "--no-color", "--no-ext-diff").removesuffix(
                "\n")
            return self._result(status, None, files, None, title, body, edited.warnings,
                                diff=diff + "\n")
        commit = commit_staged(repo, self.remote, title)
        draft = PullRequestDraft(title, body, self.options.labels, self.options.draft)
        publication = self.publisher.publish(repo, self.branch, self.options.base, commit,
                                             observed, draft)
        return self._result(status, commit, files, publication.pull_request, title, body,
                            edited.warnings + publication.warnings)

    def _already_on_base(self, repo: Repository, base_tip: str, observed: str | None,
                         title: str, body: str, warnings: list[str]) -> RegisterResult:
        """The base branch already says what this run asks for. A branch of this service
        that still proposes something else (a --disable since undone) would undo it when
        merged: it is withdrawn, moved to the base tip (compare-and-swap), so its pull
        request has nothing left to merge."""
        warnings = list(warnings)
        stale = observed is not None and (
            repo.rev_parse(f"{observed}^{{tree}}") != repo.rev_parse(f"{base_tip}^{{tree}}"))
        if stale and observed is not None:
            if not self.options.dry_run:
                push_branch(repo, self.remote, self.branch, base_tip, observed)
            warnings.append(f"{self.branch} proposed another change; it now equals "
                            f"{self.options.base}, so its pull request changes nothing")
        return self._result("unchanged", base_tip, [], None, title, body, warnings, diff="")

    def _unchanged(self, observed: str, title: str, body: str,
                   warnings: list[str]) -> RegisterResult:
        """The branch already is this run's commit: nothing is pushed; the pull request a
        killed run never opened is opened now."""
        pull = None
        warnings = list(warnings)
        if not self.options.dry_run:
            draft = PullRequestDraft(title, body, self.options.labels, self.options.draft)
            pull, opened_warnings = pull_request_of_unchanged(
                self.publisher, self.branch, self.options.base, observed, draft)
            warnings += opened_warnings
        return self._result("unchanged", observed, [], pull, title, body, warnings, diff="")

    def _result(self, status: str, commit: str | None, files: list[str], pull: str | None,
                title: str, body: str, warnings: list[str],
                diff: str | None = None) -> RegisterResult:
        return RegisterResult(
            status=status, action=self.options.action.value,
            environment=self.options.environment, model_name=self.facts.served_model_name,
            branch=self.branch, commit=commit, files=files, pull_request=pull, title=title,
            body=body, dry_run=self.options.dry_run,
            diff=diff if self.options.dry_run else None, warnings=list(warnings))


# --- the edit of one environment ---------------------------------------------------------------


def edit_environment(tree: ConfinedTree, facts: ServiceFacts,
                     options: RegisterOptions) -> _Edited:
    """Read, edit and check the environment's values files in ``tree``; the changed texts.

    Refusals (one line): an environment the routing repository has no LiteLLM values for,
    a name another service registers there, the failover rule, and any problem the edit
    would introduce."""
    environment = options.environment
    layout = read_layout(tree, options.litellm_values, options.models_values)
    litellm = read_document(tree, layout.litellm_path(environment))
    if litellm is None:
        raise UserError("--env", f"the routing repository has no "
                        f"{layout.litellm_path(environment)}: {inert(environment)!r} is not "
                        "one of its environments (or set --litellm-values)")
    models = read_document(tree, layout.models_path(environment))
    needs_models = options.action is Action.register and facts.envoy_ai_gateway
    if models is None and needs_models:
        raise UserError("--env", f"the routing repository has no "
                        f"{layout.models_path(environment)}: the Envoy AI Gateway route "
                        f"needs the models values of {inert(environment)!r} (or set "
                        "--models-values)")
    before_litellm, before_models = litellm.original, models.original if models else None
    if options.action is Action.register:
        _refuse_taken_name(facts, litellm, before_litellm, models, before_models)
    before = problems_of((litellm.path, before_litellm),
                         (models.path, before_models) if models else None)
    edit_litellm(litellm, facts, options.action)
    notes = edit_models(models, facts, options.action) if models else []
    texts = {d.path: d.dump() for d in (litellm, models) if d is not None}
    # Checked as a reader of the files (helm) will read them: the text, by the safe loader.
    after = problems_of((litellm.path, load_bounded(texts[litellm.path], litellm.path)),
                        (models.path, load_bounded(texts[models.path], models.path))
                        if models else None)
    warnings = compare(before, after)
    files = {}
    for document in (litellm, models):
        # Unedited, a file stays as it is, even where the round trip would respace it.
        if document is not None and texts[document.path] != document.untouched:
            files[document.path] = texts[document.path]
            warnings += _layout_warning(document)
    return _Edited(files, warnings, notes, layout)


def _refuse_taken_name(facts: ServiceFacts, litellm: ValuesDocument, litellm_data: object,
                       models: ValuesDocument | None, models_data: object) -> None:
    claims = litellm_claims(litellm_data, litellm.path, facts)
    if models is not None:
        claims += models_claims(models_data, models.path, facts)
    if claims:
        raise UserError("served_model_name", claims[0].describe(facts.served_model_name))


def _layout_warning(document: ValuesDocument) -> list[str]:
    """A file whose own text the YAML round trip does not reproduce (unusual indentation,
    odd spacing) gets lines changed beyond this service's entries: say so."""
    if document.layout_kept:
        return []
    return [f"{document.path}: its layout is not kept exactly by the YAML round trip; the "
            "diff changes some lines outside this service's entries"]
