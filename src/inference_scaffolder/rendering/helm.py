"""Rendering and linting charts with helm: one environment at a time, or many with few processes.

``render_chart`` and ``lint_chart`` are the plain ``helm template`` / ``helm lint`` of one
values file. The rest of this module batches. A helm process spends ~50 ms in Go
initialisation before it reads a chart, so one ``helm template`` and one ``helm lint`` per
environment made process start-up most of the cost of validating a fleet. Here the
environments of a repository that share a release name and a namespace render in one
``helm template`` of a throw-away umbrella chart, and one ``helm lint`` checks many
environments at once.

The umbrella, built in a temporary directory (never in the repository)::

    umbrella/Chart.yaml                     depends on env-0 ... env-N; the chart's kubeVersion
    umbrella/values.yaml                    env-<i>: {<chart name>: <environment values file>}
    umbrella/charts/env-<i>/Chart.yaml      depends on <chart name>
    umbrella/charts/env-<i>/templates/      prints the values Helm computed for the chart
    umbrella/charts/env-<i>/charts/<name>/  the repository's chart (linked, values.yaml copied)

Why it renders what ``helm template RELEASE chart -f env/values.yaml`` renders: the chart keeps
its own name (it is not aliased), release name and namespace are the command's, and Helm
coalesces the environment's values over the chart's values.yaml exactly as it does for
``-f``. Charts whose templates could tell the difference (they read ``.Template``, the
``global`` values, or ``.Values`` as a whole), library charts and charts with dependencies
are not batched. tests/test_helm_batch.py compares the two renders object by object. When
the umbrella fails the caller renders environment by environment, so an error always names
its environment.

Linting: after the render, each chart copy's values.yaml is replaced by the values Helm
computed for that environment, so ``helm lint copy-a copy-b ...`` lints each environment as
``helm lint chart -f env/values.yaml`` does, except for the values schema check, which the
umbrella render has just made with the same values and schema.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder import yamlio
from inference_scaffolder.tools import run_helm

# The Kubernetes version charts are rendered and checked for, unless told otherwise.
DEFAULT_KUBE_VERSION = "1.33"
UMBRELLA = "umbrella"
COMPUTED_VALUES_TEMPLATE = "computed-values.yaml"
# Template text that could render differently inside an umbrella than on its own.
_UMBRELLA_SENSITIVE = re.compile(r"\.Template\b|\bglobal\b|\.Values\s*(?:[|)}]|$)", re.MULTILINE)


@dataclass
class EnvironmentRender:
    """One environment's ``helm template`` output, as a standalone render prints it."""

    ok: bool
    stdout: str = ""
    error: str = ""
    # A copy of the chart whose values.yaml holds the values Helm computed for this
    # environment: what ``lint_charts`` lints.
    lint_chart: Path | None = None


def chart_is_batchable(chart_dir: Path) -> bool:
    """Whether an umbrella render of this chart is known to equal its standalone render."""
    try:
        chart = yamlio.load_file_shared(chart_dir / "Chart.yaml")
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(chart, dict) or chart.get("dependencies") or chart.get("type") == "library":
        return False
    if (chart_dir / "charts").exists() or (chart_dir / "requirements.yaml").exists():
        return False
    templates = chart_dir / "templates"
    return templates.is_dir() and not any(
        _UMBRELLA_SENSITIVE.search(path.read_text(encoding="utf-8", errors="replace"))
        for path in templates.rglob("*") if path.is_file()
    )


def _values_nestable(values_file: Path) -> bool:
    """A values file can be indented under a key when it is one plain YAML mapping."""
    text = values_file.read_text(encoding="utf-8")
    if re.search(r"^(---|\.\.\.|%)", text, flags=re.MULTILINE) or "\t" in text:
        return False
    try:
        data = yamlio.load_file_shared(values_file)
    except yaml.YAMLError:
        return False
    return data is None or isinstance(data, dict)


def _nested_values(chart_name: str, values_files: list[Path]) -> str:
    """umbrella/values.yaml: each environment's file, verbatim, indented under its wrapper.

    The files are nested as text, not parsed and re-dumped, so Helm reads exactly the
    scalars the environment wrote (no YAML 1.1 vs Go YAML reinterpretation on the way).
    """
    parts = []
    for index, path in enumerate(values_files):
        body = path.read_text(encoding="utf-8")
        has_content = yamlio.load_file_shared(path) is not None
        parts.append(f"env-{index}:\n  {json.dumps(chart_name)}:"
                     + ("\n" + "".join(f"    {line}\n" if line.strip() else "\n"
                                       for line in body.splitlines())
                        if has_content else " {}\n"))
    return "".join(parts)


def _defines_global(chart_dir: Path, values_files: list[Path]) -> bool:
    sources = [chart_dir / "values.yaml", *values_files]
    return any(isinstance(data := yamlio.load_file_shared(p), dict) and "global" in data
               for p in sources if p.is_file())


def build_umbrella(
    chart_dir: Path, chart: dict[str, Any], values_files: list[Path], workdir: Path
) -> Path:
    """Write the umbrella chart for these environments of one chart (see module docstring);
    ``chart`` is its Chart.yaml."""
    name = str(chart["name"])
    umbrella = workdir / UMBRELLA
    wrappers = [f"env-{index}" for index in range(len(values_files))]
    top = {"apiVersion": "v2", "name": UMBRELLA, "version": "0.0.0",
           "dependencies": [{"name": w, "version": "*"} for w in wrappers]}
    if chart.get("kubeVersion"):  # helm checks kubeVersion of the top chart only
        top["kubeVersion"] = chart["kubeVersion"]
    umbrella.mkdir(parents=True)
    (umbrella / "Chart.yaml").write_text(json.dumps(top), encoding="utf-8")  # JSON is YAML
    (umbrella / "values.yaml").write_text(_nested_values(name, values_files), encoding="utf-8")
    # Helm adds `global` to a subchart's values; leave it out of what lint gets, unless the
    # chart or the environment set it themselves.
    values_expr = f"(index .Values {json.dumps(name)})"
    if not _defines_global(chart_dir, values_files):
        values_expr = f'(omit {values_expr} "global")'
    for wrapper in wrappers:
        base = umbrella / "charts" / wrapper
        (base / "templates").mkdir(parents=True)
        (base / "Chart.yaml").write_text(json.dumps(
            {"apiVersion": "v2", "name": wrapper, "version": "0.0.0",
             "dependencies": [{"name": name, "version": "*"}]}), encoding="utf-8")
        (base / "templates" / COMPUTED_VALUES_TEMPLATE).write_text(
            f"{{{{ toYaml {values_expr} }}}}\n", encoding="utf-8")
        _link_chart(chart_dir, base / "charts" / name)
    return umbrella


def _link_chart(chart_dir: Path, target: Path) -> None:
    """The chart as symbolic links (copying it per environment cost more than rendering it),
    except values.yaml, which is a real file: lint later replaces it with computed values."""
    target.mkdir(parents=True)
    for entry in chart_dir.iterdir():
        if entry.name == "values.yaml":
            shutil.copyfile(entry, target / entry.name)
        else:
            (target / entry.name).symlink_to(entry.absolute())


def rendered_documents(stdout: str) -> list[tuple[str, str]]:
    """``helm template`` output as (source template, document text without its
    ``# Source:`` line) pairs; a document without that line keeps the previous source."""
    documents = []
    source = ""
    for chunk in re.split(r"^---\s*$", stdout, flags=re.MULTILINE):
        match = re.search(r"^# Source: (.+)$\n?", chunk, flags=re.MULTILINE)
        if match:
            source = match[1].strip()
            chunk = chunk[:match.start()] + chunk[match.end():]
        documents.append((source, chunk))
    return documents


def _split_by_wrapper(stdout: str) -> dict[str, list[tuple[str, str]]]:
    """Rendered documents per wrapper, as (source path inside the wrapper, document text)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for source, body in rendered_documents(stdout):
        match = re.fullmatch(rf"{UMBRELLA}/charts/(env-\d+)/(.+)", source)
        if match and body.strip():
            out.setdefault(match[1], []).append((match[2], body.lstrip("\n")))
    return out


def render_batch(
    chart_dir: Path, environments: dict[str, Path], release: str, namespace: str, kube: str,
    workdir: Path,
) -> dict[str, EnvironmentRender] | None:
    """All ``environments`` (name -> values file) in one ``helm template``; ``None`` when the
    umbrella cannot be used or fails, so the caller renders them one by one."""
    files = list(environments.values())
    if not all(_values_nestable(f) for f in files):
        return None
    chart = yamlio.load_file_shared(chart_dir / "Chart.yaml")
    umbrella = build_umbrella(chart_dir, chart, files, workdir)
    rendered = run_helm(["template", release, str(umbrella), "--kube-version", kube,
                         "--namespace", namespace or "default"])
    if not rendered.ok:
        return None
    by_wrapper = _split_by_wrapper(rendered.stdout)
    results = {}
    for index, environment in enumerate(environments):
        wrapper = f"env-{index}"
        documents, computed = [], None
        for source, body in by_wrapper.get(wrapper, []):
            if source == f"templates/{COMPUTED_VALUES_TEMPLATE}":
                computed = body
            elif source.startswith("charts/"):
                documents.append(f"---\n# Source: {source.removeprefix('charts/')}\n{body}")
        if computed is None:
            return None
        copy = umbrella / "charts" / wrapper / "charts" / str(chart["name"])
        (copy / "values.yaml").write_text(computed, encoding="utf-8")
        results[environment] = EnvironmentRender(True, "".join(documents), lint_chart=copy)
    return results


def _lint_sections(output: str) -> dict[str, list[str]]:
    """``helm lint`` output of several charts, split into each chart's lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        match = re.match(r"==> Linting (.+)$", line)
        if match:
            current = sections.setdefault(match[1].strip(), [])
        elif current is not None and not re.match(r"Error: \d+ chart\(s\) linted", line):
            current.append(line)
    return sections


def lint_charts(
    charts: list[Path], kube: str, shown_as: dict[Path, str], *, values_validated: bool = False
) -> dict[Path, tuple[bool, str]]:
    """One ``helm lint`` for several chart copies: (ok, output without INFO lines) for each.

    ``shown_as`` maps a copy to the path a user knows (``.../chart``), used in the output.
    ``values_validated``: the copies' values are the ones the umbrella render has just
    validated against the chart's values.schema.json, so lint skips that check (a third of
    its time) instead of repeating it.
    """
    skip = ["--skip-schema-validation"] if values_validated else []
    lint = run_helm(["lint", *map(str, charts), "--kube-version", kube, *skip])
    sections = _lint_sections(lint.stdout)  # stderr: helm's notes on the symbolic links
    results = {}
    for chart in charts:
        lines = sections.get(str(chart))
        if lines is None:  # helm stopped before this chart: report what it said
            results[chart] = (False, (lint.stdout + lint.stderr).strip())
            continue
        kept = [ln.replace(str(chart), shown_as.get(chart, str(chart)))
                for ln in lines if ln.strip() and not ln.startswith("[INFO]")]
        results[chart] = (not any(ln.startswith("[ERROR]") for ln in kept), "\n".join(kept))
    return results


# --- one values file at a time -------------------------------------------------------------


def parse_rendered(stdout: str) -> list[tuple[dict[str, Any], str]]:
    """Split ``helm template`` output into (object, source template) pairs."""
    docs = []
    for source, text in rendered_documents(stdout):
        data = yamlio.load(text)
        if isinstance(data, dict):
            docs.append((data, source))
    return docs


def lint_chart(chart_dir: Path, values_file: Path, kube: str) -> tuple[bool, str]:
    """``helm lint`` of a chart with one values file: (passed, helm's output)."""
    lint = run_helm(["lint", str(chart_dir), "-f", str(values_file), "--kube-version", kube,
                     "--quiet"])
    return lint.ok, (lint.stdout + lint.stderr).strip()


def render_chart(chart_dir: Path, values_file: Path, release: str, namespace: str,
                 kube: str | None) -> EnvironmentRender:
    """``helm template`` of a chart with one values file (when it cannot be batched).

    ``kube=None`` leaves helm's default Kubernetes version, as a Kustomize build does."""
    # --namespace as Argo CD's Kustomize build passes it, so the two renders are comparable.
    version = ["--kube-version", kube] if kube else []
    rendered = run_helm(["template", release, str(chart_dir), "-f", str(values_file),
                         *version, "--namespace", namespace or "default"])
    return EnvironmentRender(rendered.ok, rendered.stdout, " ".join(rendered.stderr.split()))
