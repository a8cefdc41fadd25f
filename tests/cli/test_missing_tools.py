"""Every command on a machine without git, helm, node or npm: one ``error:`` line naming the
missing tool and how to get it, exit 2 (a precondition unmet), never a traceback; a command
that needs none of them still works.

Each command runs in its own process with a ``PATH`` of symbolic links to a few basic
programs (and to those of git, node and npm the case keeps). helm is also found beside the
Python interpreter and in a checkout's ``.tools/bin``; the cases without helm run the CLI
with those places emptied, as an installation from a wheel without helm has them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from common import EXAMPLES, MINIMAL_ANSWERS
from routing_repo import make_routing_repo
from schema_repo_fixture import make_bare_repo

from inference_scaffolder.cli import COMMANDS, _register_commands, app
from inference_scaffolder.generation.generate import GenerationResult

pytestmark = pytest.mark.slow

TOOLS = ("git", "helm", "node", "npm")
# Programs the CLI may start besides the four (sandboxing, the shell git's helpers use).
BASICS = ("sh", "bash", "env", "cat", "uname", "bwrap", "unshare", "ssh")
RUNNER = """
import sys
from inference_scaffolder import tools
if sys.argv[1] == "without-helm":
    tools._trusted_dirs = lambda: []  # as an installation whose folders hold no helm
from inference_scaffolder.cli import main
sys.exit(main(sys.argv[2:]))
"""
LLAMA_CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
                "hidden_size": 2048, "num_hidden_layers": 22, "num_attention_heads": 32,
                "num_key_value_heads": 4, "intermediate_size": 5632, "vocab_size": 32000,
                "max_position_embeddings": 2048, "torch_dtype": "bfloat16"}


def path_without(missing: tuple[str, ...], bin_dir: Path) -> str:
    """A folder of links to the basics and to the tools not ``missing``, as ``PATH``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in (*BASICS, *(t for t in TOOLS if t not in missing and t != "helm")):
        found = shutil.which(name)
        if found and not (bin_dir / name).exists():
            (bin_dir / name).symlink_to(found)
    return str(bin_dir)


def run_without(missing: tuple[str, ...], args: list[str], tmp: Path,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    mode = "without-helm" if "helm" in missing else "with-helm"
    (tmp / "tmp").mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "PATH": path_without(missing, tmp / "bin"),
                   "TMPDIR": str(tmp / "tmp"), "XDG_DATA_HOME": str(tmp / "data"),
                   "XDG_CACHE_HOME": str(tmp / "cache"), **(env or {})}
    return subprocess.run([sys.executable, "-c", RUNNER, mode, *args], capture_output=True,
                          text=True, env=environment, timeout=300, stdin=subprocess.DEVNULL,
                          cwd=tmp)


def assert_one_line_or_success(done: subprocess.CompletedProcess[str],
                               tool: str | None) -> None:
    """Success, or exit 1/2 with one ``error:`` line (naming ``tool`` when given). A check
    that failed with a report (``verify`` of a server that is not there) ends with its
    one-line summary instead."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    if tool is None and done.returncode == 0:
        return
    assert done.returncode in (1, 2), (done.returncode, done.stderr[-2000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    if tool is None and done.returncode == 1 and errors[-1:] and "failed (" in errors[-1]:
        return  # a report: one problem a line, then the summary
    assert len(errors) == 1, done.stderr
    if tool is not None:
        assert errors[0].startswith(f"error: {tool}: "), errors[0]
        assert done.returncode == 2, errors[0]


@pytest.fixture(scope="module")
def service(tinyllama_repo: GenerationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated service repository (a git repository with its first commit)."""
    target = tmp_path_factory.mktemp("service") / tinyllama_repo.output.name
    shutil.copytree(tinyllama_repo.output, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What the commands read: answers, a manifest, a model config, the two repositories."""
    root = tmp_path_factory.mktemp("inputs")
    answers = root / "answers.json"
    answers.write_text(json.dumps(MINIMAL_ANSWERS), encoding="utf-8")
    manifest = root / "configmap.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                        encoding="utf-8")
    config = root / "config.json"
    config.write_text(json.dumps(LLAMA_CONFIG), encoding="utf-8")
    return {"answers": answers, "manifest": manifest, "config": config,
            "schema": make_bare_repo(root / "schema"),
            "routing": make_routing_repo(root / "routing")}


# The arguments each command runs with; every command of the app must have an entry.
Arguments = Callable[[Path, dict[str, Path], Path], list[str]]
COMMAND_ARGUMENTS: dict[str, Arguments] = {
    "new": lambda svc, i, out: ["new", "--answers", str(i["answers"]), "--no-input",
                                "--output-dir", str(out)],
    "validate": lambda svc, i, out: ["validate", str(svc)],
    "charts": lambda svc, i, out: ["charts", str(svc)],
    "check-manifests": lambda svc, i, out: ["check-manifests", str(i["manifest"])],
    "answers-schema": lambda svc, i, out: ["answers-schema"],
    "schema-pr": lambda svc, i, out: ["schema-pr", "--repo", str(i["schema"]), "--dry-run"],
    "install-node-tools": lambda svc, i, out: ["install-node-tools", "--offline"],
    "register": lambda svc, i, out: ["register", str(svc), "--env", "dev", "--routing-repo",
                                     str(i["routing"]), "--disable", "--dry-run"],
    "promote": lambda svc, i, out: ["promote", str(svc), "--from", "dev", "--to", "syst"],
    "history": lambda svc, i, out: ["history", str(svc), "--env", "dev"],
    "update": lambda svc, i, out: ["update", str(svc)],
    "verify": lambda svc, i, out: ["verify", "http://127.0.0.1:9", "--timeout", "1"],
    "capacity": lambda svc, i, out: ["capacity", "--model-config", str(i["config"]),
                                     "--gpu-type", "L4", "--gpu-count", "1"],
    "backstage-template": lambda svc, i, out: ["backstage-template", "--check"],
}
# With all four missing: the tool each command stops at (None: it needs none of them).
FIRST_MISSING = {
    "new": "helm", "validate": "helm", "charts": None, "check-manifests": None,
    "answers-schema": None, "schema-pr": "git", "install-node-tools": "npm", "register": "git",
    "promote": "git", "history": "git", "update": "git", "verify": None, "capacity": None,
    "backstage-template": None,
}
# Commands that reach each tool when only that one is missing.
ALONE = [("git", "new"), ("git", "schema-pr"), ("git", "promote"), ("git", "history"),
         ("git", "update"), ("git", "register"), ("helm", "validate"), ("node", "schema-pr"),
         ("npm", "install-node-tools")]


def test_every_command_of_the_app_is_covered() -> None:
    _register_commands([])
    names = {command.name for command in app.registered_commands}
    assert names == set(COMMANDS) == set(COMMAND_ARGUMENTS) == set(FIRST_MISSING)


@pytest.mark.parametrize("command", sorted(COMMAND_ARGUMENTS))
def test_every_command_without_any_of_the_tools(command: str, service: Path,
                                                inputs: dict[str, Path],
                                                tmp_path: Path) -> None:
    args = COMMAND_ARGUMENTS[command](service, inputs, tmp_path / "out")
    done = run_without(TOOLS, args, tmp_path)
    assert_one_line_or_success(done, FIRST_MISSING[command])


@pytest.mark.parametrize(("tool", "command"), ALONE, ids=[f"{t}-{c}" for t, c in ALONE])
def test_each_tool_missing_alone_is_one_line_naming_it(tool: str, command: str,
                                                      service: Path, inputs: dict[str, Path],
                                                      tmp_path: Path) -> None:
    args = COMMAND_ARGUMENTS[command](service, inputs, tmp_path / "out")
    done = run_without((tool,), args, tmp_path)
    assert_one_line_or_success(done, tool)
    if tool == "helm":
        line = next(x for x in done.stderr.splitlines() if x.startswith("error:"))
        # a wheel has no scripts/: the message says how to install helm anywhere
        assert "https://helm.sh" in line and "in a source checkout" in line, line


def test_new_without_git_leaves_nothing_behind(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_without(("git",), COMMAND_ARGUMENTS["new"](Path(), inputs, out), tmp_path)
    assert_one_line_or_success(done, "git")
    assert not out.exists() or not any(out.iterdir())
    assert EXAMPLES.is_dir()  # the answers came from the shared minimal set, not an example
