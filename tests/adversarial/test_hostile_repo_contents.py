"""Repositories the tool reads are hostile: what a repository holds is checked
before any tool (kustomize, helm, the Node values check) reads it.

- A Kustomization names what kustomize loads; kustomize fetches URLs and clones remote
  repositories (with the host's git credentials) for any path-valued field. Only files of the
  repository may be named.
- A link that stays inside the repository but reaches into ``.git`` would hand the clone's
  credentials (a checkout's extraheader, a token in a remote URL) to whatever prints a file.
- helm resolves ``$ref`` (and an unknown ``$schema``) of a chart's values.schema.json over
  HTTP and ``file://``: only references inside the file may be used.
- A few hundred bytes of YAML aliases stand for a billion nodes: every YAML file the values
  check and helm read is bounded first, and the Node values check bounds itself too.

Every refusal is one line naming the file, and a recording server on 127.0.0.1 proves that
nothing was asked of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_repo import HelmRepo, chart_variant, serve_helm_repo
from hostile import assert_refused, bare_with, leftovers, run_cli
from schema_repo_fixture import fixture_files

from inference_scaffolder.chart import CHART_NAME
from inference_scaffolder.errors import UserError
from inference_scaffolder.paths import source_checkout_root

# A 449-byte alias bomb: nine levels of nine aliases, 9**9 nodes once expanded.
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))


class _Sink:
    """A server on 127.0.0.1 that answers everything with a little YAML and records each
    request (method and path): what a fetch would have reached."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                sink.requests.append(f"{self.command} {self.path}")
                body = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def recording_sink() -> Iterator[_Sink]:
    sink = _Sink()
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.server.shutdown()
        sink.server.server_close()
        thread.join(timeout=10)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def _edit_kustomization(repo: Path, environment: str, **extra: Any) -> Path:
    path = repo / "environments" / environment / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(extra)
    path.write_text(_dump(data))
    return path


# --- 1. a Kustomization names only files of the repository ----------------------------------

# (extra Kustomization fields with "{url}" for the recording server, extra files, the field
# the refusal names). Each would make kustomize ask the server for something.
REMOTE_KUSTOMIZATIONS = [
    ({"resources": ["{url}/x.yaml"]}, {}, "resources[0]"),
    ({"resources": ["git::{url}/org/private.git//dir?ref=main"]}, {}, "resources[0]"),
    ({"configMapGenerator": [{"name": "c", "files": ["{url}/f.txt"]}]}, {},
     "configMapGenerator[0].files[0]"),
    ({"configMapGenerator": [{"name": "c", "files": ["key={url}/f.txt"]}]}, {},
     "configMapGenerator[0].files[0]"),
    ({"secretGenerator": [{"name": "s", "envs": ["{url}/e.env"]}]}, {},
     "secretGenerator[0].envs[0]"),
    ({"patches": [{"path": "{url}/p.yaml"}]}, {}, "patches[0].path"),
    ({"replacements": [{"path": "{url}/r.yaml"}]}, {}, "replacements[0].path"),
    ({"transformers": ["{url}/t.yaml"]}, {}, "transformers[0]"),
    ({"openapi": {"path": "{url}/o.json"}}, {}, "openapi.path"),
    ({"crds": ["{url}/crd.json"]}, {}, "crds[0]"),
    # A nested Kustomization, reached through resources: its own remote resource.
    ({"resources": ["extra"]},
     {"extra/kustomization.yaml": {"resources": ["{url}/nested.yaml"]}}, "resources[0]"),
    # A nested Kustomization inflating a chart from another repository: kustomize would
    # `helm pull` from there.
    ({"resources": ["extra"]},
     {"extra/kustomization.yaml": {"helmCharts": [
         {"name": "other", "repo": "{url}", "version": "1.0.0"}]}}, "helmCharts[0].repo"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("fields", "files", "field"), REMOTE_KUSTOMIZATIONS,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(REMOTE_KUSTOMIZATIONS)])
def test_a_kustomization_naming_a_remote_source_is_refused_before_any_request(
    repo_copy: Path, tmp_path: Path, fields: dict[str, Any], files: dict[str, Any], field: str
) -> None:
    with recording_sink() as sink:
        def filled(value: Any) -> Any:
            return json.loads(json.dumps(value).replace("{url}", sink.url))

        _edit_kustomization(repo_copy, "dev", **filled(fields))
        named = "environments/dev/kustomization.yaml"
        for relative, content in files.items():
            path = repo_copy / "environments" / "dev" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                   "kind": "Kustomization", **filled(content)}))
            named = f"environments/dev/{relative}"
        done = run_cli("validate", str(repo_copy), "--kustomize-build", "always",
                       tmp=tmp_path / "tmp")
        requests = list(sink.requests)
    line = assert_refused(done, str(repo_copy.resolve() / named))
    assert field in line
    assert requests == []
    assert leftovers(tmp_path / "tmp") == []


def _kustomization_folder(tmp_path: Path, fields: dict[str, Any]) -> Path:
    repo = tmp_path / "repo"
    folder = repo / "environments" / "dev"
    folder.mkdir(parents=True)
    for name in ("values.yaml", "patch.yaml", "extra.env", "crd.json", "local.txt"):
        (folder / name).write_text("a: 1\n")
    (folder / "sub.example" / "x").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("[remote]\n")
    (folder / "kustomization.yaml").write_text(_dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
         "helmCharts": [{"name": CHART_NAME, "repo": "https://charts.example.com/p",
                         "version": "1.0.0", "valuesFile": "values.yaml"}], **fields}))
    return repo


LOCAL_REFUSALS = [
    ({"resources": ["https://example.com/x.yaml"]}, "resources[0]", "URL"),
    ({"resources": ["github.com/org/private//dir?ref=main"]}, "resources[0]", "remote"),
    ({"resources": ["github.com/org/private/dir"]}, "resources[0]", "remote repository"),
    ({"components": ["git.example.com/org/repo"]}, "components[0]", "remote repository"),
    # Even where a folder of that name exists: kustomize clones first.
    ({"resources": ["sub.example/x"]}, "resources[0]", "remote repository"),
    ({"resources": ["git@github.com:org/private.git"]}, "resources[0]", "remote"),
    ({"resources": ["/etc/hostname"]}, "resources[0]", "absolute"),
    ({"resources": ["../../../outside.yaml"]}, "resources[0]", "leaves the repository"),
    ({"resources": ["../../.git/config"]}, "resources[0]", ".git"),
    ({"bases": ["ssh://git@example.com/x"]}, "bases[0]", "URL"),
    ({"components": ["file:///etc"]}, "components[0]", "URL"),
    ({"patchesStrategicMerge": ["https://example.com/p.yaml"]}, "patchesStrategicMerge[0]",
     "URL"),
    ({"patchesJson6902": [{"path": "https://example.com/p.json"}]}, "patchesJson6902[0].path",
     "URL"),
    ({"configMapGenerator": [{"name": "c", "env": "https://example.com/e"}]},
     "configMapGenerator[0].env", "URL"),
    ({"helmCharts": [{"name": CHART_NAME, "repo": "https://charts.example.com/p",
                      "version": "1.0.0", "valuesFile": "values.yaml",
                      "additionalValuesFiles": ["https://example.com/v.yaml"]}]},
     "helmCharts[0].additionalValuesFiles[0]", "URL"),
    ({"helmGlobals": {"configHome": "/home/someone/.config/helm"}}, "helmGlobals.configHome",
     "absolute"),
    ({"generators": ["apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\n"
                     "files: [https://example.com/f]\n"]}, "generators[0].files[0]", "URL"),
    ({"validators": ["https://example.com/v.yaml"]}, "validators[0]", "URL"),
    ({"configurations": ["https://example.com/c.yaml"]}, "configurations[0]", "URL"),
    ({"helmChartInflationGenerator": [{"chartName": "x"}]}, "helmChartInflationGenerator",
     "helmCharts"),
    ({"resources": "local.txt"}, "resources", "must be a list"),
]


@pytest.mark.parametrize(("fields", "field", "rule"), LOCAL_REFUSALS,
                         ids=[c[1] + "-" + c[2] for c in LOCAL_REFUSALS])
def test_every_path_valued_field_is_checked(
    tmp_path: Path, fields: dict[str, Any], field: str, rule: str
) -> None:
    from inference_scaffolder.service.kustomization_refs import check_kustomization_refs

    repo = _kustomization_folder(tmp_path, fields)
    with pytest.raises(UserError) as refused:
        check_kustomization_refs(repo, "environments/dev", pinned_repository=None)
    assert refused.value.field == "environments/dev/kustomization.yaml"
    assert refused.value.rule.startswith(field), refused.value.rule
    assert rule in refused.value.rule
    assert "\n" not in refused.value.one_line()


def test_local_files_and_nested_kustomizations_pass(tmp_path: Path) -> None:
    from inference_scaffolder.service.kustomization_refs import check_kustomization_refs

    repo = _kustomization_folder(tmp_path, {
        # A missing plain file is kustomize's own local error, not a fetch.
        "resources": ["local.txt", "base", "missing.yaml"],
        "patches": [{"path": "patch.yaml"}, {"patch": "- op: add\n  path: /x\n  value: 1\n"}],
        "patchesStrategicMerge": ["patch.yaml", "apiVersion: v1\nkind: ConfigMap\n"],
        "configMapGenerator": [{"name": "c", "files": ["k=local.txt", "local.txt"],
                                "envs": ["extra.env"], "literals": ["a=https://x"]}],
        "replacements": [{"source": {"kind": "ConfigMap"}, "targets": []}],
        "crds": ["crd.json"],
    })
    base = repo / "environments" / "dev" / "base"
    base.mkdir()
    # A local folder whose name reads like a host: local when written with ./
    kustomization = repo / "environments" / "dev" / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data["resources"].append("./sub.example/x")
    kustomization.write_text(_dump(data))
    # A loop of nested Kustomizations ends: each folder is read once.
    (base / "kustomization.yml").write_text(_dump({"resources": ["..", "../local.txt"]}))
    check_kustomization_refs(repo, "environments/dev", pinned_repository=None)


def test_a_nested_chart_must_come_from_the_pinned_repository(tmp_path: Path) -> None:
    from inference_scaffolder.service.kustomization_refs import check_kustomization_refs

    repo = _kustomization_folder(tmp_path, {"resources": ["sub"]})
    sub = repo / "environments" / "dev" / "sub"
    sub.mkdir()
    entry = {"name": "other", "version": "1.0.0", "repo": "https://charts.example.com/p"}
    (sub / "kustomization.yaml").write_text(_dump({"helmCharts": [entry]}))
    check_kustomization_refs(repo, "environments/dev",
                             pinned_repository="https://charts.example.com/p")
    (sub / "kustomization.yaml").write_text(_dump({"helmCharts": [
        {**entry, "repo": "https://elsewhere.example.com/x"}]}))
    with pytest.raises(UserError) as refused:
        check_kustomization_refs(repo, "environments/dev",
                                 pinned_repository="https://charts.example.com/p")
    assert refused.value.field == "environments/dev/sub/kustomization.yaml"
    assert "helmCharts[0].repo" in refused.value.rule


# --- 2. no link into .git ---------------------------------------------------------------------

GIT_LINKS = [
    ({"environments/dev/notes.txt": "../../.git/config"}, "environments/dev/notes.txt"),
    ({"environments/dev/gitdir": "../../.git"}, "environments/dev/gitdir"),
    # A chain: the first link stays outside .git, the second one reaches it.
    ({"environments/dev/first": "second", "environments/dev/second": "../../.git/HEAD"},
     "environments/dev/first"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("links", "named"), GIT_LINKS, ids=[n for _, n in GIT_LINKS])
def test_validate_refuses_a_link_into_git(
    repo_copy: Path, tmp_path: Path, links: dict[str, str], named: str
) -> None:
    """A checkout's .git/config holds the CI's credentials (extraheader, token in a URL)."""
    subprocess.run(["git", "config", "http.https://github.com/.extraheader",
                    "AUTHORIZATION: basic Y2FuYXJ5"], cwd=repo_copy, check=True)
    for relative, target in links.items():
        os.symlink(target, repo_copy / relative)
    done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp")
    line = assert_refused(done, mentions=".git")
    assert named in line or any(n in line for n in links)
    assert "Y2FuYXJ5" not in done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.node
def test_schema_pr_refuses_a_link_into_the_clones_git(tmp_path: Path) -> None:
    """A chart template would print the clone's .git/config through helm's `fail`."""
    bare = bare_with(tmp_path, links={
        "charts/basic-container-load/templates/creds.txt": "../../../.git/config"})
    done = run_cli("schema-pr", "--repo", str(bare), "--dry-run", tmp=tmp_path / "tmp")
    assert_refused(done, "charts/basic-container-load/templates/creds.txt", mentions=".git")
    assert leftovers(tmp_path / "tmp") == []


# --- 3. values.schema.json refers only to itself ------------------------------------------------


def _schema_with_ref(chart_dir: Path, ref: str, key: str = "$ref") -> None:
    path = chart_dir / "values.schema.json"
    schema = json.loads(path.read_text())
    schema.setdefault("properties", {})["planted"] = {key: ref}
    path.write_text(json.dumps(schema))


@pytest.mark.slow
@pytest.mark.parametrize("key", ["$ref", "$schema"])
def test_a_pulled_chart_whose_schema_refers_outside_is_refused_without_a_request(
    repo_copy: Path, tmp_path: Path, key: str
) -> None:
    version = "9.9.8"
    with recording_sink() as sink:
        variant = chart_variant(tmp_path / "variant", version)
        _schema_with_ref(variant, f"{sink.url}/defs.json", key)
        with serve_helm_repo(tmp_path / "charts", [variant]) as served:
            _pin(repo_copy, served, version)
            done = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", env={
                "INFERENCE_SCAFFOLDER_CHART_CACHE": str(tmp_path / "cache")})
        requests = list(sink.requests)
    assert_refused(done, "environments/dev/kustomization.yaml", mentions="values.schema.json")
    assert f"{sink.url}/defs.json" in done.stderr
    assert requests == []


@pytest.mark.slow
def test_a_poisoned_cached_chart_is_not_used(repo_copy: Path, tmp_path: Path) -> None:
    """The cache is checked on every use: a copy whose schema refers outside is fetched
    again (here: clean) instead of being handed to helm."""
    version = "9.9.7"
    cache = tmp_path / "cache"
    with recording_sink() as sink, \
            serve_helm_repo(tmp_path / "charts",
                            [chart_variant(tmp_path / "variant", version)]) as served:
        _pin(repo_copy, served, version)
        env = {"INFERENCE_SCAFFOLDER_CHART_CACHE": str(cache)}
        first = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", env=env)
        assert "Traceback" not in first.stderr
        cached = next(cache.rglob("values.schema.json"))
        _schema_with_ref(cached.parent, f"{sink.url}/defs.json")
        again = run_cli("validate", str(repo_copy), tmp=tmp_path / "tmp", env=env)
        requests = list(sink.requests)
    assert again.returncode == first.returncode, again.stderr[-2000:]
    assert requests == []
    assert sink.url not in next(cache.rglob("values.schema.json")).read_text()


def _pin(repo: Path, served: HelmRepo, version: str) -> None:
    path = repo / "environments" / "dev" / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["helmCharts"][0].update(repo=served.url, version=version)
    path.write_text(_dump(data))


@pytest.mark.slow
@pytest.mark.node
def test_schema_pr_refuses_a_chart_schema_that_refers_outside(tmp_path: Path) -> None:
    with recording_sink() as sink:
        schema = json.loads(fixture_files()["charts/basic-container-load/values.schema.json"])
        schema["properties"]["extra"] = {"$ref": f"{sink.url}/defs.json#/x"}
        bare = bare_with(tmp_path, files={
            "charts/basic-container-load/values.schema.json": json.dumps(schema).encode()})
        done = run_cli("schema-pr", "--repo", str(bare), "--dry-run", tmp=tmp_path / "tmp")
        requests = list(sink.requests)
    assert_refused(done, "charts/basic-container-load/values.schema.json", mentions="$ref")
    assert requests == []


SCHEMA_REFS = [
    ({"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}}, None),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema"}, None),
    ({"$schema": "http://json-schema.org/draft-07/schema#"}, None),
    ({"$dynamicRef": "#meta"}, None),
    ({"$ref": "http://127.0.0.1:9/x.json"}, "$ref"),
    ({"$ref": "file:///etc/passwd"}, "$ref"),
    ({"$ref": "defs.json#/x"}, "$ref"),
    ({"allOf": [{"items": {"$dynamicRef": "https://example.com/m"}}]}, "$dynamicRef"),
    ({"$schema": "https://example.com/my-meta-schema"}, "$schema"),
    # An $id names the document; with every reference a fragment nothing is fetched (the
    # base chart itself has one).
    ({"$id": "https://example.com/values.schema.json", "$ref": "#/$defs/x"}, None),
    # A property called $ref is data, not a reference.
    ({"properties": {"$ref": {"type": "string"}}}, None),
    ({"$defs": {"deep": {"not": {"anyOf": [{"$recursiveRef": "other.json"}]}}}},
     "$recursiveRef"),
]


@pytest.mark.parametrize(("schema", "keyword"), SCHEMA_REFS,
                         ids=[json.dumps(s)[:40] for s, _ in SCHEMA_REFS])
def test_schema_references_must_stay_inside_the_file(
    schema: dict[str, Any], keyword: str | None
) -> None:
    from inference_scaffolder.rendering.chart_inputs import schema_reference_problem

    problem = schema_reference_problem(json.dumps(schema).encode())
    if keyword is None:
        assert problem is None
    else:
        assert problem is not None and keyword in problem


def test_a_packaged_subchart_schema_is_checked_too(tmp_path: Path) -> None:
    import io
    import tarfile

    from inference_scaffolder.rendering.chart_inputs import chart_inputs_problem

    chart = tmp_path / "chart"
    (chart / "charts").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    data = json.dumps({"$ref": "https://example.com/x"}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("sub/values.schema.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    (chart / "charts" / "sub-1.0.0.tgz").write_bytes(buffer.getvalue())
    problem = chart_inputs_problem(chart)
    assert problem is not None and "sub/values.schema.json" in problem


# --- 4. YAML alias bombs ------------------------------------------------------------------------

def test_the_bomb_is_as_small_as_reported() -> None:
    assert len(BOMB) < 500


@pytest.mark.slow
@pytest.mark.parametrize("relative", ["charts/basic-container-load/values.yaml",
                                      "charts/basic-container-load/ci/big-values.yaml",
                                      "charts/kafka-connect/Chart.yaml"])
@pytest.mark.node
def test_schema_pr_refuses_an_alias_bomb_in_any_chart(tmp_path: Path, relative: str) -> None:
    bare = bare_with(tmp_path, files={relative: BOMB.encode()})
    done = run_cli("schema-pr", "--repo", str(bare), "--dry-run", tmp=tmp_path / "tmp",
                   timeout=120)
    assert_refused(done, relative, mentions="aliases")
    assert leftovers(tmp_path / "tmp") == []


@pytest.mark.node
def test_the_node_values_check_bounds_aliases_on_its_own(tmp_path: Path) -> None:
    """Without the Python pre-pass the Node check grew to gigabytes and crashed."""
    root = source_checkout_root()
    tools = (root / "tools") if root else None
    if tools is None or not (tools / "node_modules" / "js-yaml").is_dir():
        pytest.skip("the Node tools are not installed")
    chart = tmp_path / "charts" / "bomb"
    chart.mkdir(parents=True)
    (chart / "values.yaml").write_text(BOMB)
    # A schema that walks every node, and fails at every leaf: all of it is visited.
    (chart / "values.schema.json").write_text(json.dumps({
        "type": "object", "additionalProperties": {"$ref": "#/$defs/list"},
        "$defs": {"list": {"type": "array",
                           "items": {"anyOf": [{"$ref": "#/$defs/list"}, {"type": "number"}]}}}}))
    done = subprocess.run(["node", "--max-old-space-size=256", str(tools / "check-values.cjs"),
                           str(tmp_path), "--json"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads(done.stdout)["charts"][0]
    assert result["status"] == "fail"
    assert "alias" in result["errors"][0]


def test_refuse_unbounded_yaml_names_the_file(tmp_path: Path) -> None:
    from inference_scaffolder.rendering.chart_inputs import refuse_unbounded_yaml

    (tmp_path / "values.yaml").write_text(BOMB)
    with pytest.raises(UserError) as refused:
        refuse_unbounded_yaml(tmp_path / "values.yaml", "charts/x/values.yaml")
    assert refused.value.field == "charts/x/values.yaml"
    assert "aliases" in refused.value.rule
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(UserError) as refused:
        refuse_unbounded_yaml(tmp_path / "deep.yaml", "deep.yaml")
    assert "deep" in refused.value.rule
    # Broken YAML and several documents are the tools' to report, not a bound's.
    (tmp_path / "broken.yaml").write_text("a: [unclosed\n")
    refuse_unbounded_yaml(tmp_path / "broken.yaml", "broken.yaml")
    (tmp_path / "docs.yaml").write_text("a: &x 1\n---\nb: 2\n")
    refuse_unbounded_yaml(tmp_path / "docs.yaml", "docs.yaml")
