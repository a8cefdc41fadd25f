"""Benchmarks: what scaffolding costs, compared with the raw tools it drives.

Prints a table and writes JSON (``benchmarks/results/latest.json``). Every figure is the
median of repeated runs, each a real process started the way a user or CI starts it.

    .venv/bin/python benchmarks/run.py [--repeats 5] [--fleet 50,200] [--quick]

The floor is what the job cannot avoid: a bare ``cookiecutter --no-input`` of a trivial
template, one ``helm template`` of the base chart an environment pins with that environment's
values, and schema validation of its manifests with the raw validators. ``new`` is reported
as a ratio to that floor.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "inference-scaffolder")
EXAMPLE = ROOT / "examples" / "tgi-tinyllama.yaml"
sys.path.insert(0, str(ROOT / "src"))

from inference_scaffolder.checks.manifests import bundled_crd_schema_dir  # noqa: E402
from inference_scaffolder.rendering.charts import resolve_chart  # noqa: E402
from inference_scaffolder.service.layout import chart_ref  # noqa: E402
from inference_scaffolder.tools import find_helm  # noqa: E402


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(list(args), check=True, capture_output=True, cwd=cwd)


# --- the floor -------------------------------------------------------------------------------


def trivial_template(workdir: Path) -> Path:
    template = workdir / "trivial"
    (template / "{{cookiecutter.name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"name": "trivial"}')
    (template / "{{cookiecutter.name}}" / "README.md").write_text("# {{ cookiecutter.name }}\n")
    return template


def floor_steps(workdir: Path, repo: Path, repeats: int) -> dict[str, float]:
    template = trivial_template(workdir)
    out = workdir / "floor-out"

    def bare_cookiecutter() -> None:
        shutil.rmtree(out, ignore_errors=True)
        run(str(BIN / "cookiecutter"), "--no-input", str(template), "-o", str(out))

    rendered = workdir / "rendered.yaml"
    # The generated repository holds no chart: dev pins the base chart (the version this
    # release carries, so it is on disk and no fetch is timed).
    chart = resolve_chart(chart_ref(repo, "dev"))

    def helm_template() -> None:
        done = subprocess.run(
            [find_helm(), "template", repo.name, str(chart), "-f",
             str(repo / "environments" / "dev" / "values.yaml")],
            check=True, capture_output=True, text=True)
        rendered.write_text(done.stdout)

    helm_template()
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    core = workdir / "core.yaml"
    core.write_text(yaml.safe_dump_all([d for d in docs if "." not in d["apiVersion"]
                                        .rpartition("/")[0]]))
    custom = [d for d in docs if "." in d["apiVersion"].rpartition("/")[0]]
    crd_dir = bundled_crd_schema_dir()
    custom_checks = []
    for index, doc in enumerate(custom):
        group, _, version = doc["apiVersion"].rpartition("/")
        instance = workdir / f"cr-{index}.json"
        instance.write_text(json.dumps(doc))
        custom_checks.append((crd_dir / group / f"{doc['kind'].lower()}_{version}.json", instance))

    def raw_schema_validation() -> None:
        run(str(BIN / "kubernetes-validate"), "--strict", "-k", "1.33.0", str(core))
        script = ("import json,sys,jsonschema\n"
                  "for s,i in zip(sys.argv[1::2],sys.argv[2::2]):\n"
                  " v = jsonschema.Draft202012Validator(json.load(open(s)))\n"
                  " v.validate(json.load(open(i)))")
        run(sys.executable, "-c", script, *[str(p) for pair in custom_checks for p in pair])

    return {
        "cookiecutter_bare": median_seconds(bare_cookiecutter, repeats),
        "helm_template_one": median_seconds(helm_template, repeats),
        "schema_validation_raw": median_seconds(raw_schema_validation, repeats),
    }


# --- our commands ----------------------------------------------------------------------------


def time_new(workdir: Path, environments: str, repeats: int) -> float:
    out = workdir / f"new-{environments.count(',') + 1}"

    def new() -> None:
        run(CLI, "new", "--answers", str(EXAMPLE), "--no-input", "--output-dir", str(out),
            "--force", "--set", f"environments={environments}")

    return median_seconds(new, repeats)


def build_fleet(workdir: Path, size: int) -> list[Path]:
    """``size`` distinct services, generated once without validation (that is measured)."""
    from inference_scaffolder.answers import collect_answers
    from inference_scaffolder.generation.generate import generate

    fleet_dir = workdir / f"fleet-{size}"
    repos = []
    for index in range(size):
        answers = collect_answers(EXAMPLE, [f"service_name=svc-{index:04d}"])
        repos.append(generate(answers, fleet_dir, validate=False, git_init=False).output)
    return repos


def time_fleet(repos: list[Path], repeats: int, *extra: str) -> float:
    return median_seconds(lambda: run(CLI, "validate", *map(str, repos), "--json", *extra),
                          repeats)


# --- schema-pr -------------------------------------------------------------------------------


def time_schema_pr(workdir: Path, repeats: int) -> dict[str, float]:
    """schema-pr against the test fixture repository, with tsc timed on its own.

    For the first two figures ``tsc`` is a no-op stand-in (INFERENCE_SCAFFOLDER_TSC), so they
    show the cost of everything else; the third is the real compiler on the edited tree.
    """
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    from schema_repo_fixture import checkout, make_bare_repo

    from inference_scaffolder.platform_pr.typescript import find_tsc

    no_tsc = workdir / "no-tsc"
    no_tsc.write_text("#!/bin/sh\nexit 0\n")
    no_tsc.chmod(0o755)
    env = {**os.environ, "INFERENCE_SCAFFOLDER_TSC": str(no_tsc)}
    counter = iter(range(10_000))

    def fresh_repo() -> Path:
        return make_bare_repo(workdir / f"schema-{next(counter)}")

    def schema_pr(*extra: str) -> Callable[[], None]:
        def action() -> None:
            subprocess.run([CLI, "schema-pr", "--repo", str(fresh_repo()), "--json", *extra],
                           check=True, capture_output=True, env=env)
        return action

    edited = workdir / "schema-edited"
    bare = fresh_repo()
    subprocess.run([CLI, "schema-pr", "--repo", str(bare), "--json"], check=True,
                   capture_output=True, env=env)
    checkout(bare, "inference-scaffolder/ml-inference-load", edited)
    tsc = str(find_tsc())
    long_line = long_line_edit_request(workdir)
    return {
        "schema_pr_dry_run_without_tsc": median_seconds(schema_pr("--dry-run"), repeats),
        "schema_pr_local_publish_without_tsc": median_seconds(schema_pr(), repeats),
        "tsc_noemit_on_edited_tree": median_seconds(
            lambda: run(tsc, "--noEmit", "-p", str(edited)), repeats),
        "ts_edit_100000_char_line": median_seconds(
            lambda: run_with_stdin(["node", str(ROOT / "tools/ts-edit.cjs")], long_line),
            repeats),
    }


def long_line_edit_request(workdir: Path) -> str:
    """A workloadSchema.ts whose union is one line of over 100 000 characters, as the JSON
    request of tools/ts-edit.cjs (whole process timed: Node start, parser load, edit)."""
    names = []
    while len(" | ".join(names)) < 100_000:
        names.append(f"Member{len(names)}Schema")
    text = (f"import {{ Member0Schema }} from './member0';\n"
            f"export type WorkloadSchema = {' | '.join(names)};\n")
    return json.dumps({
        "workload": {"interface": "MlInferenceLoadSchema", "module": "./mlInferenceLoad",
                     "key": "ML_INFERENCE_LOAD"},
        "edits": [{"kind": "workloadSchema", "path": "workloadSchema.ts", "text": text}],
    })


def run_with_stdin(command: list[str], stdin: str) -> None:
    subprocess.run(command, input=stdin, check=True, capture_output=True, text=True)


# --- report ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fleet", default="50,200",
                        help="fleet sizes, comma-separated (empty: no fleet)")
    parser.add_argument("--quick", action="store_true", help="3 repeats, fleets of 10 and 20")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/latest.json")
    options = parser.parse_args()
    repeats = 3 if options.quick else options.repeats
    fleet_sizes = [10, 20] if options.quick else [int(s) for s in options.fleet.split(",") if s]

    # An installed wheel carries bytecode; an editable checkout on a machine that sets
    # PYTHONDONTWRITEBYTECODE would recompile every module of the package on every run.
    compileall.compile_dir(ROOT / "src", quiet=1)
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": sys.version}}
    with tempfile.TemporaryDirectory(prefix="scaffolder-bench-") as tmp:
        workdir = Path(tmp)
        run(CLI, "new", "--answers", str(EXAMPLE), "--no-input", "--output-dir",
            str(workdir / "ref"), "--set", "environments=dev", "--no-git")
        reference = workdir / "ref" / "tinyllama-chat"
        floor = floor_steps(workdir, reference, repeats)
        floor_total = sum(floor.values())
        new_1 = time_new(workdir, "dev", repeats)
        new_4 = time_new(workdir, "dev,syst,uat,prod", repeats)
        schema = time_schema_pr(workdir, repeats)
        fleets = {}
        for size in fleet_sizes:
            repos = build_fleet(workdir, size)
            fleets[f"{size} x 4 envs"] = time_fleet(repos, max(1, repeats // 2))
            fleets[f"{size} x 4 envs, --kustomize-build always"] = time_fleet(
                repos, max(1, repeats // 2), "--kustomize-build", "always")
        results.update(
            floor=floor, floor_total=floor_total, new_1_env=new_1, new_4_env=new_4,
            new_1_env_ratio=new_1 / floor_total, new_4_env_ratio=new_4 / floor_total,
            validate_fleet_seconds=fleets, schema_pr=schema,
        )

    rows = [(k, v) for k, v in floor.items()] + [
        ("floor total", floor_total),
        ("new, 1 environment", new_1), ("new, 4 environments", new_4),
    ] + [(f"validate fleet {n}", s) for n, s in fleets.items()] + [
        (name.replace("_", " "), seconds) for name, seconds in schema.items()]
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark'.ljust(width)}  median s")
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds:8.3f}")
    print(f"{'new 1 env / floor'.ljust(width)}  {new_1 / floor_total:8.2f}x")
    print(f"{'new 4 env / floor'.ljust(width)}  {new_4 / floor_total:8.2f}x")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
