"""Programs that read a repository's content (helm, kubectl, tsc, the Node tools) run
confined: a tsconfig cannot make the compiler write outside the clone, a chart cannot take
the host's memory, the repository's own ``git`` or ``node`` never runs, and no token reaches
any of them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from schema_repo_fixture import fixture_files, git, write_tree

from inference_scaffolder import confine, tools
from inference_scaffolder.cli import main
from inference_scaffolder.errors import UserError
from inference_scaffolder.platform_pr.typescript import run_tsc
from inference_scaffolder.rendering.kustomize import kustomize_build
from inference_scaffolder.tools import run_helm

TOKEN = "ghp_" + "ConfinementTestTokenNeverShown0001"


def executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def hostile_platform_repo(tmp_path: Path, tsconfig: dict) -> Path:
    """A platform repository whose main branch carries ``tsconfig``, as a bare repository."""
    work = tmp_path / "seed"
    write_tree(work, {**fixture_files(), "tsconfig.json": json.dumps(tsconfig)})
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "platform", cwd=work)
    bare = tmp_path / "platform.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True,
                   capture_output=True)
    return bare


def tsconfig_with(**compiler_options: object) -> dict:
    return {"compilerOptions": {"target": "ES2020", "module": "commonjs", "strict": True,
                                "rootDir": "src", **compiler_options}, "include": ["src"]}


# --- a tsconfig cannot write, or read, outside the clone -------------------------------------


@pytest.mark.slow
def test_schema_pr_refuses_a_tsconfig_that_would_write_a_file_outside_the_clone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text("# the user's shell start-up\n")
    bare = hostile_platform_repo(tmp_path, tsconfig_with(
        incremental=True, tsBuildInfoFile=str(victim)))

    code = main(["schema-pr", "--repo", str(bare), "--dry-run"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: tsconfig.json: ")
    assert "incremental" in err and "write" in err
    assert victim.read_text() == "# the user's shell start-up\n"


def test_a_tsconfig_writing_build_info_is_refused_before_the_compiler_runs(
        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    tree = write_tree(tmp_path / "repo", {
        "tsconfig.json": json.dumps(tsconfig_with(composite=True, tsBuildInfoFile=str(victim))),
        "src/z$(touch pwned).ts": "export const a: number = 1;\n",
    })
    with pytest.raises(UserError, match=r"tsconfig.json: sets composite, tsBuildInfoFile"):
        run_tsc(tree)
    assert not victim.exists()


@pytest.mark.parametrize("tsconfig", [
    {"extends": "../outside/base.json", "include": ["src"]},
    {"compilerOptions": {"strict": True}, "include": ["src", "../outside/*.ts"]},
    {"compilerOptions": {"typeRoots": ["../outside"]}, "include": ["src"]},
    {"compilerOptions": {"baseUrl": ".", "paths": {"x": ["../outside/*"]}}, "include": ["src"]},
], ids=["extends", "include", "typeRoots", "paths"])
def test_a_tsconfig_reaching_outside_the_repository_is_refused(tmp_path: Path,
                                                               tsconfig: dict) -> None:
    write_tree(tmp_path / "outside", {"base.json": "{}", "leak.ts": "export const k = 1;\n"})
    tree = write_tree(tmp_path / "repo", {"tsconfig.json": json.dumps(tsconfig),
                                          "src/a.ts": "export const a = 1;\n"})
    with pytest.raises(UserError, match=r"tsconfig.json: .* outside the repository"):
        run_tsc(tree)


def test_the_compiler_checks_an_ordinary_repository(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "repo", {
        "tsconfig.json": json.dumps(tsconfig_with(outDir="dist", declaration=True)),
        "src/a.ts": "export const a: number = 'x';\n",
    })
    result = run_tsc(tree)
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["TS2322"]
    assert not (tree / "dist").exists()


# --- the sandbox itself -----------------------------------------------------------------------


def test_a_confined_program_writes_only_its_scratch_and_named_folders(tmp_path: Path) -> None:
    if confine.sandbox() != "bwrap":
        pytest.fail("bubblewrap is part of the test stack (scripts/bootstrap.sh installs it)")
    outside, allowed = tmp_path / "outside.txt", tmp_path / "allowed"
    allowed.mkdir()
    done = confine.run_confined(
        ["/bin/sh", "-c", f'echo x > "$HOME/ok" && echo y > {allowed}/ok; echo z > {outside}'],
        cwd=tmp_path, timeout=30, writable=[allowed])
    assert (allowed / "ok").read_text() == "y\n"
    assert not outside.exists()
    assert "Read-only file system" in done.stderr


def test_a_confined_program_has_no_network(tmp_path: Path) -> None:
    if confine.sandbox() == "none":
        pytest.fail("neither bubblewrap nor unshare works on this host")
    import socket
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        done = confine.run_confined(
            [sys.executable, "-c", f"import socket; socket.create_connection(('127.0.0.1', "
             f"{port}), timeout=5)"], cwd=tmp_path, timeout=30)
        assert done.returncode != 0
        assert "Connection refused" in done.stderr or "unreachable" in done.stderr


def test_a_program_past_its_memory_bound_is_stopped_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(confine.MEMORY_ENV, "300")
    done = confine.run_confined(
        [sys.executable, "-c", "b = [bytearray(50 * 2**20) for _ in range(40)]"],
        cwd=tmp_path, timeout=60)
    assert not done.ok
    assert done.breach == "exceeded its memory bound of 300 MiB"


def test_a_program_that_floods_its_output_is_stopped(tmp_path: Path) -> None:
    done = confine.run_confined(["/usr/bin/yes"], cwd=tmp_path, timeout=60)
    assert done.breach == "wrote more than 64 MiB of output"
    assert len(done.stdout) <= confine.OUTPUT_LIMIT_BYTES


def test_a_program_that_hangs_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child-still-running"
    done = confine.run_confined(
        ["/bin/sh", "-c", f"(sleep 3; touch {marker}) & sleep 60"], cwd=tmp_path, timeout=1)
    assert done.breach == "did not finish within 1 s"
    import time
    time.sleep(4)
    assert not marker.exists()


def test_helm_on_a_chart_that_doubles_a_string_is_refused_within_the_memory_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(confine.MEMORY_ENV, "512")
    chart = write_tree(tmp_path / "bomb", {
        "Chart.yaml": "apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
        "templates/cm.yaml": ('{{- $s := "xxxxxxxx" }}{{- range until 40 }}'
                              '{{- $s = print $s $s }}{{- end }}\n'
                              'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n'
                              'data: {v: {{ $s | quote }}}\n'),
    })
    result = run_helm(["template", "x", str(chart)], timeout=120)
    assert not result.ok
    assert result.stderr == "helm exceeded its memory bound of 512 MiB"


# --- no token, no repository program ----------------------------------------------------------


def env_dumper(path: Path) -> Path:
    return executable(path, "#!/bin/sh\nenv\n")


@pytest.fixture
def helm_env_dumper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """helm replaced by a program that prints its environment."""
    monkeypatch.setenv("INFERENCE_SCAFFOLDER_HELM", str(env_dumper(tmp_path / "helm")))
    tools.find_helm.cache_clear()
    yield
    tools.find_helm.cache_clear()


@pytest.mark.usefixtures("helm_env_dumper")
def test_no_token_reaches_helm_kubectl_or_tsc(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "INFERENCE_SCAFFOLDER_GITHUB_TOKEN",
                 "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, TOKEN)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/etc/hostile-gitconfig")
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    dumper = env_dumper(tmp_path / "dump-env")
    write_tree(tmp_path / "repo", {"tsconfig.json": json.dumps(tsconfig_with()),
                                   "src/a.ts": "export const a = 1;\n"})

    seen = [run_helm(["version"]).stdout,
            kustomize_build(str(dumper), tmp_path / "repo").stdout,
            run_tsc(tmp_path / "repo", tsc=dumper).output]

    for output in seen:
        assert "PATH=" in output  # the dump ran
        assert TOKEN not in output
        assert "GIT_CONFIG_GLOBAL" not in output and "npm_config" not in output


def test_relative_path_entries_never_find_a_repositorys_programs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``.`` on PATH, tsc's ``#!/usr/bin/env node`` and GitPython's ``git`` would find
    the repository's own ``node`` and ``git`` in the working directory."""
    marker = tmp_path / "ran"
    repo = write_tree(tmp_path / "repo", {"tsconfig.json": json.dumps(tsconfig_with()),
                                          "src/a.ts": "export const a = 1;\n"})
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "first", cwd=repo)
    for name in ("node", "git"):
        executable(repo / name, f"#!/bin/sh\necho {name} >> {marker}\nexit 1\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", os.pathsep.join([".", "", os.environ["PATH"]]))

    assert run_tsc(repo).ok
    main(["history", str(repo)])

    assert not marker.exists()
    assert "." not in os.environ["PATH"].split(os.pathsep)


def test_git_gets_no_token_of_the_host_only_the_remotes_own_credential(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inference_scaffolder.publish import GitRemote, run_git

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TOKEN)
    remote = GitRemote("https://forge.example/acme/repo.git",
                       env={"INFERENCE_SCAFFOLDER_GIT_CREDENTIAL": "the-remotes-own"})
    out = run_git(["-c", "alias.show-env=!env", "show-env"], tmp_path, remote)
    assert out.status == 0, out.stderr
    assert TOKEN not in out.stdout
    assert "INFERENCE_SCAFFOLDER_GIT_CREDENTIAL=the-remotes-own" in out.stdout
