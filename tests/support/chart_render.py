"""Rendering a generated repository's environments as they deploy (real helm): the base
chart each environment pins, with its values."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder.answers import validate_answers
from inference_scaffolder.generation.generate import GenerationResult, generate
from inference_scaffolder.rendering.charts import resolve_chart
from inference_scaffolder.rendering.helm import parse_rendered
from inference_scaffolder.service.layout import chart_ref
from inference_scaffolder.tools import run_helm

Objects = dict[str, dict[str, Any]]


def generated(answers: dict[str, Any], out: Path) -> GenerationResult:
    """Generate (and, as `new` does, validate every environment of) a repository."""
    return generate(validate_answers(answers), out, git_init=False)


def pinned_chart(repo: Path, environment: str) -> Path:
    """The base chart the environment's kustomization pins (the carried copy, or cached)."""
    return resolve_chart(chart_ref(repo, environment))


def _helm_args(repo: Path, environment: str, sets: tuple[str, ...]) -> list[str]:
    args = ["template", repo.name, str(pinned_chart(repo, environment)),
            "-f", str(repo / "environments" / environment / "values.yaml")]
    for value in sets:
        args += ["--set", value]
    return args


def render_list(repo: Path, environment: str, *sets: str) -> list[dict[str, Any]]:
    """`helm template <svc> <base chart> -f environments/<env>/values.yaml [--set ...]`
    objects."""
    result = run_helm(_helm_args(repo, environment, sets))
    assert result.ok, result.stderr
    return [doc for doc, _ in parse_rendered(result.stdout)]


def render(repo: Path, environment: str, *sets: str) -> Objects:
    """The rendered objects keyed ``Kind/name``."""
    return {f"{o['kind']}/{o['metadata']['name']}": o
            for o in render_list(repo, environment, *sets)}


def render_error(repo: Path, environment: str, *sets: str) -> str:
    """helm's error for a render that must fail (asserts that it fails)."""
    result = run_helm(_helm_args(repo, environment, sets))
    assert not result.ok, "the render was expected to fail"
    return " ".join(result.stderr.split())


def set_path(node: Any, path: Sequence[Any], value: Any) -> None:
    """Set ``value`` at ``path`` (keys and list indexes) inside a rendered object."""
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


ObjectsChange = Callable[[list[dict[str, Any]]], None]


def setting(pick: Callable[[list[dict[str, Any]]], Any], path: Sequence[Any],
            value: Any) -> ObjectsChange:
    """A change to an environment's rendered objects: ``value`` at ``path`` in the object
    that ``pick`` chooses (a test breaks one link of a chain this way)."""
    def change(objects: list[dict[str, Any]]) -> None:
        set_path(pick(objects), path, value)
    return change


def engine_container(objects: Objects, name: str) -> dict[str, Any]:
    containers = objects[f"Deployment/{name}"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_entries(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def copy_repo(repo: Path, target: Path) -> Path:
    shutil.copytree(repo, target / repo.name, symlinks=True)
    return target / repo.name


def set_environment_value(repo: Path, environment: str, path: str, value: Any) -> None:
    """Edit environments/<env>/values.yaml the way an operator would (dotted key path)."""
    file = repo / "environments" / environment / "values.yaml"
    values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    node = values
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    file.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
