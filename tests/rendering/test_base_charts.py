"""Base charts by repository and version: the bundled one offline, others from a real Helm
repository on 127.0.0.1 (cached, checked, hostile ones refused), and real ``kubectl kustomize
--enable-helm`` builds of an environment folder, from the server and offline."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_repo import (
    VARIANT_ANNOTATION,
    HelmRepo,
    Link,
    chart_archive,
    chart_variant,
    chart_yaml,
    serve_helm_repo,
    serve_oci_registry,
)

from inference_scaffolder.chart import CHART_NAME, chart_source_dir, chart_version
from inference_scaffolder.errors import UserError
from inference_scaffolder.rendering import charts
from inference_scaffolder.rendering.charts import (
    ChartRef,
    check_chart_ref,
    populate_chart_home,
    pull_command,
    resolve_chart,
    unpack_chart_archive,
)
from inference_scaffolder.rendering.kustomize import kustomize_build
from inference_scaffolder.tools import find_kubectl

SERVED = "0.1.1"
# Nothing listens on the discard port of the loopback: a connection is refused at once.
UNREACHABLE = "http://127.0.0.1:9/charts"


@pytest.fixture(autouse=True)
def chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty chart cache of its own."""
    cache = tmp_path / "chart-cache"
    monkeypatch.setenv(charts.CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def served(tmp_path: Path) -> HelmRepo:
    """A repository on 127.0.0.1 serving the base chart as 0.1.1, with a visible change."""
    with serve_helm_repo(tmp_path / "repo", [chart_variant(tmp_path / "variant", SERVED)]) as r:
        yield r


def ref(repository: str, version: str = SERVED, name: str = CHART_NAME) -> ChartRef:
    return ChartRef(name=name, repository=repository, version=version)


def files_under(folder: Path) -> list[Path]:
    """Everything below ``folder`` that is not a folder (links included)."""
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if p.is_symlink() or not p.is_dir()]


def one_line(exc: pytest.ExceptionInfo[UserError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.isprintable(), repr(message)
    return message


# --------------------------------------------------------------------------------------------
# Bundled, fetched, cached
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("repository", ["served", UNREACHABLE, "oci://registry.invalid/charts"])
def test_bundled_version_resolves_without_a_request(
    repository: str, served: HelmRepo, chart_cache: Path
) -> None:
    url = served.url if repository == "served" else repository
    resolved = resolve_chart(ref(url, chart_version()))
    assert resolved == chart_source_dir()
    assert served.requests == []
    assert files_under(chart_cache) == []


def test_fetched_version_is_cached_and_resolves_with_the_server_stopped(
    served: HelmRepo, chart_cache: Path
) -> None:
    wanted = ref(served.url)
    resolved = resolve_chart(wanted)
    assert resolved.is_relative_to(chart_cache)
    assert resolved == charts.cache_entry(wanted) / CHART_NAME
    assert yaml.safe_load((resolved / "Chart.yaml").read_text())["version"] == SERVED
    assert VARIANT_ANNOTATION in (resolved / "templates" / "deployment.yaml").read_text()
    assert served.archive_requests() == [f"/{CHART_NAME}-{SERVED}.tgz"]
    # Nothing but the chart is left in the cache (no temporary folder, no archive).
    assert [p.name for p in chart_cache.iterdir()] == [resolved.parents[1].name]
    assert [p.name for p in resolved.parents[1].iterdir()] == [f"{CHART_NAME}-{SERVED}"]

    served.stop()
    asked = list(served.requests)
    assert resolve_chart(wanted) == resolved
    assert served.requests == asked


def test_the_cache_is_per_repository(served: HelmRepo, tmp_path: Path) -> None:
    """The same name and version from another repository is another chart: not served from
    the first repository's cache."""
    resolve_chart(ref(served.url))
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(UNREACHABLE))
    assert UNREACHABLE in one_line(refused)


def test_unknown_version_is_one_line_naming_repository_and_version(
    served: HelmRepo, chart_cache: Path
) -> None:
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(served.url, "0.0.9"), field="environments/dev/kustomization.yaml")
    message = one_line(refused)
    assert refused.value.field == "environments/dev/kustomization.yaml"
    assert f"{CHART_NAME} 0.0.9 is not bundled (this release carries {chart_version()})" in message
    assert f"could not be fetched from {served.url}: " in message
    assert "0.0.9" in message.rsplit(": ", 1)[-1]  # helm's own reason, not only ours
    assert served.archive_requests() == []
    assert files_under(chart_cache) == []


def test_unreachable_repository_is_one_line(chart_cache: Path) -> None:
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(UNREACHABLE, "0.0.9"))
    message = one_line(refused)
    assert refused.value.field == "chart_version"
    assert f"could not be fetched from {UNREACHABLE}: " in message
    assert "refused" in message
    assert files_under(chart_cache) == []


def test_concurrent_resolvers_share_one_cached_copy(served: HelmRepo, chart_cache: Path) -> None:
    results: list[Path | BaseException] = []

    def resolve() -> None:
        try:
            results.append(resolve_chart(ref(served.url)))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and isinstance(results[0], Path), results
    repository_dir = results[0].parents[1]
    assert [p.name for p in repository_dir.iterdir()] == [f"{CHART_NAME}-{SERVED}"]


# --------------------------------------------------------------------------------------------
# Hostile repositories and caches
# --------------------------------------------------------------------------------------------

HOSTILE_VERSION = "0.9.0"
_GOOD_CHART_YAML = chart_yaml(CHART_NAME, HOSTILE_VERSION)
HOSTILE_ARCHIVES: dict[str, tuple[dict[str, Any], str]] = {
    "link to a file outside": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         f"{CHART_NAME}/templates/secret.yaml": Link("/etc/passwd")}, "is a link"),
    "linked templates folder": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         f"{CHART_NAME}/templates": Link("/etc")}, "is a link"),
    "Chart.yaml names another version": (
        {f"{CHART_NAME}/Chart.yaml": chart_yaml(CHART_NAME, "0.2.1")},
        "says ml-inference-load 0.2.1"),
    "Chart.yaml names another chart": (
        {f"{CHART_NAME}/Chart.yaml": chart_yaml("bitcoin-miner", HOSTILE_VERSION)},
        "says bitcoin-miner 0.9.0"),
    "huge file": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         f"{CHART_NAME}/files/blob.bin": bytes(charts.MAX_CHART_BYTES + 1)}, "larger than"),
    "too many files": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         **{f"{CHART_NAME}/f/{i}.txt": b"x" for i in range(charts.MAX_CHART_FILES + 1)}},
        "more than"),
    "path out of the chart": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         f"{CHART_NAME}/../../escaped.txt": b"x"}, "not a path inside"),
    "another top folder": (
        {"other/Chart.yaml": _GOOD_CHART_YAML}, "not a path inside"),
    "terminal escape in a name": (
        {f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
         f"{CHART_NAME}/templates/\x1b]0;pwned\x07.yaml": b""}, "unprintable name"),
    "no Chart.yaml": ({f"{CHART_NAME}/values.yaml": b"{}\n"}, "Chart.yaml"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ARCHIVES))
def test_hostile_archive_is_refused_and_leaves_nothing(
    case: str, served: HelmRepo, chart_cache: Path, tmp_path: Path
) -> None:
    files, reason = HOSTILE_ARCHIVES[case]
    archive_name = served.add_archive(CHART_NAME, HOSTILE_VERSION, chart_archive(files))
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(served.url, HOSTILE_VERSION))
    message = one_line(refused)
    assert f"could not be fetched from {served.url}: the chart " in message
    assert reason in message
    # helm did download it: the refusal is this module's check, not a missing chart.
    assert served.archive_requests() == [f"/{archive_name}"]
    assert files_under(chart_cache) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_archive_that_is_not_a_tgz_is_refused(served: HelmRepo, chart_cache: Path) -> None:
    served.add_archive(CHART_NAME, HOSTILE_VERSION, b"<html>maintenance</html>\n")
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(served.url, HOSTILE_VERSION))
    assert "not a gzip-compressed tar archive" in one_line(refused)
    assert files_under(chart_cache) == []


def test_unpack_stops_before_writing_a_file_over_the_bound(tmp_path: Path) -> None:
    archive = tmp_path / "big.tgz"
    archive.write_bytes(chart_archive({f"{CHART_NAME}/Chart.yaml": _GOOD_CHART_YAML,
                                       f"{CHART_NAME}/blob.bin": bytes(64 << 20)}))
    problem = unpack_chart_archive(archive, tmp_path / "out", CHART_NAME)
    assert problem and "larger than" in problem
    assert not (tmp_path / "out" / CHART_NAME / "blob.bin").exists()


def test_unpack_bounds_what_it_decompresses(tmp_path: Path) -> None:
    """A pax header is read into memory whole: a small archive may declare a huge one."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"{CHART_NAME}/Chart.yaml")
        info.size = len(_GOOD_CHART_YAML)
        info.pax_headers = {"comment": "x" * (64 << 20)}
        tar.addfile(info, io.BytesIO(_GOOD_CHART_YAML))
    archive = tmp_path / "bomb.tgz"
    archive.write_bytes(buffer.getvalue())
    assert archive.stat().st_size < charts.MAX_CHART_BYTES
    problem = unpack_chart_archive(archive, tmp_path / "out", CHART_NAME)
    assert problem == f"the archive unpacks to more than {charts.MAX_CHART_BYTES} bytes"


def test_cached_copy_with_a_planted_link_is_not_trusted(
    served: HelmRepo, tmp_path: Path
) -> None:
    wanted = ref(served.url)
    resolved = resolve_chart(wanted)
    outside = tmp_path / "outside.yaml"
    outside.write_text("kind: Secret\n")
    planted = resolved / "templates" / "planted.yaml"
    planted.symlink_to(outside)

    again = resolve_chart(wanted)  # re-fetched, the planted copy evicted
    assert not (again / "templates" / "planted.yaml").exists()
    assert not (again / "templates" / "planted.yaml").is_symlink()
    assert len(served.archive_requests()) == 2
    assert outside.read_text() == "kind: Secret\n"  # the link's target was not touched

    (again / "templates" / "planted.yaml").symlink_to(outside)
    served.stop()
    with pytest.raises(UserError) as refused:
        resolve_chart(wanted)
    assert f"could not be fetched from {served.url}" in one_line(refused)
    assert not os.path.lexists(charts.cache_entry(wanted))
    assert outside.read_text() == "kind: Secret\n"


def test_cached_copy_whose_chart_yaml_changed_is_not_trusted(served: HelmRepo) -> None:
    wanted = ref(served.url)
    chart_file = resolve_chart(wanted) / "Chart.yaml"
    chart_file.write_text(chart_file.read_text().replace(f"version: {SERVED}", "version: 9.9.9"))
    assert yaml.safe_load((resolve_chart(wanted) / "Chart.yaml").read_text())["version"] == SERVED
    assert len(served.archive_requests()) == 2


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------

BAD_REFS: dict[str, tuple[ChartRef, str]] = {
    "ftp repository": (ref("ftp://charts.example.com/"), "https://, http:// or oci://"),
    "file repository": (ref("file:///etc"), "https://, http:// or oci://"),
    "no host": (ref("https:///charts"), "https://, http:// or oci://"),
    "relative": (ref("charts.example.com/stable"), "https://, http:// or oci://"),
    "credentials": (ref("https://user:hunter2@charts.example.com/"), "credentials"),
    "user only": (ref("oci://token@registry.example.com/charts"), "credentials"),
    "whitespace": (ref("https://charts.example.com/ stable"), "whitespace"),
    "newline": (ref("https://charts.example.com/\nstable"), "control characters"),
    "terminal escape": (ref("https://charts.example.com/\x1b[2J"), "control characters"),
    "query": (ref("https://charts.example.com/?token=abc"), "query"),
    "bad port": (ref("https://charts.example.com:99999/"), "port"),
    "bad host": (ref("https://charts_example!.com/"), "host"),
    "not a string": (ref(None), "must be a URL"),  # type: ignore[arg-type]
    "caret range": (ref(UNREACHABLE, "^0.1.0"), "exact semantic version"),
    "tilde range": (ref(UNREACHABLE, "~0.1"), "exact semantic version"),
    "comparison": (ref(UNREACHABLE, ">=0.1.0"), "exact semantic version"),
    "alternatives": (ref(UNREACHABLE, "0.1.0 || 0.2.0"), "exact semantic version"),
    "wildcard": (ref(UNREACHABLE, "0.1.x"), "exact semantic version"),
    "two numbers": (ref(UNREACHABLE, "0.1"), "exact semantic version"),
    "v prefix": (ref(UNREACHABLE, "v0.1.0"), "exact semantic version"),
    "build metadata": (ref(UNREACHABLE, "0.1.0+build.7"), "exact semantic version"),
    "leading zero": (ref(UNREACHABLE, "0.01.0"), "exact semantic version"),
    "float from YAML": (ref(UNREACHABLE, 0.1), "exact semantic version"),  # type: ignore[arg-type]
    "empty version": (ref(UNREACHABLE, ""), "exact semantic version"),
    "upper-case name": (ref(UNREACHABLE, name="ML-Inference"), "DNS-1123 label"),
    "underscore": (ref(UNREACHABLE, name="ml_inference"), "DNS-1123 label"),
    "leading dash": (ref(UNREACHABLE, name="-ml"), "DNS-1123 label"),
    "path in name": (ref(UNREACHABLE, name="../ml"), "DNS-1123 label"),
    "long name": (ref(UNREACHABLE, name="a" * 64), "DNS-1123 label"),
}


@pytest.mark.parametrize("case", sorted(BAD_REFS))
def test_bad_reference_is_one_line_naming_field_and_rule(
    case: str, chart_cache: Path, served: HelmRepo
) -> None:
    bad, rule = BAD_REFS[case]
    with pytest.raises(UserError) as refused:
        check_chart_ref(bad, "environments/dev/kustomization.yaml")
    assert refused.value.field == "environments/dev/kustomization.yaml"
    assert rule in one_line(refused)
    with pytest.raises(UserError):
        resolve_chart(bad)
    assert files_under(chart_cache) == []
    assert served.requests == []


@pytest.mark.parametrize("good", [
    ref("https://charts.example.com/stable/"),
    ref("http://127.0.0.1:8080", "0.1.1-rc.1"),
    ref("oci://ghcr.io/platform-team/charts", "10.20.30"),
    ref("https://[::1]:8443/charts", "1.0.0-alpha.beta.1"),
    ref("https://charts.example.com", name="a" * 63),
])
def test_good_reference_passes(good: ChartRef) -> None:
    check_chart_ref(good, "chart_version")
    assert good.describe() == f"{good.name} {good.version} from {good.repository}"


# --------------------------------------------------------------------------------------------
# The helm pull that is run, against the one kustomize runs
# --------------------------------------------------------------------------------------------


def write_environment(folder: Path, repository: str, version: str) -> Path:
    """An environment folder as a service repository has it: kustomization + values."""
    folder.mkdir(parents=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "helmCharts": [{"name": CHART_NAME, "repo": repository, "version": version,
                        "releaseName": "llm-test", "namespace": "lint-check",
                        "valuesFile": "values.yaml", "skipTests": True}]}))
    shutil.copyfile(chart_source_dir() / "ci" / "default-values.yaml", folder / "values.yaml")
    return folder


def kustomize_pull_arguments(tmp_path: Path, repository: str) -> list[str]:
    """The ``helm pull`` arguments kustomize runs for a chart it does not have (recorded by
    a stand-in helm), without its ``--untar --untardir <dir>``."""
    log = tmp_path / "helm-calls"
    shim = tmp_path / "recording-helm"
    shim.write_text("#!/bin/sh\n"
                    f"printf '%s\\n' \"$@\" '--end--' >> '{log}'\n"
                    'if [ "$1" = version ]; then echo v3.99.0; exit 0; fi\nexit 1\n')
    shim.chmod(0o755)
    environment = write_environment(tmp_path / "env", repository, SERVED)
    kubectl = find_kubectl()
    assert kubectl, "run scripts/install-helm.sh (it installs kubectl beside helm)"
    subprocess.run([kubectl, "kustomize", "--enable-helm", "--helm-command", str(shim),
                    str(environment)], capture_output=True, timeout=60, check=False)
    calls = log.read_text().split("--end--\n")
    pulls = [call.splitlines() for call in calls if call.startswith("pull\n")]
    assert len(pulls) == 1, calls
    args = pulls[0]
    untar = args.index("--untardir")
    assert args[untar - 1] == "--untar"
    return args[: untar - 1] + args[untar + 2:]


@pytest.mark.parametrize("repository", [
    "http://127.0.0.1:9/charts", "https://charts.example.com/stable/",
    "oci://registry.example.com/charts", "oci://registry.example.com/charts/",
])
def test_pull_names_the_chart_as_kustomize_does(repository: str, tmp_path: Path) -> None:
    """OCI is checked at this level: no registry runs here without a container runtime."""
    ours = pull_command(ref(repository), tmp_path / "download")
    destination = ours.index("--destination")
    assert ours[destination + 1] == str(tmp_path / "download")
    assert ours[:destination] == kustomize_pull_arguments(tmp_path, repository)


def test_oci_chart_is_fetched_cached_and_built_by_kustomize(
    tmp_path: Path, chart_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ``helm pull oci://`` against a registry on 127.0.0.1 (TLS, throw-away CA)."""
    variant = chart_variant(tmp_path / "variant", SERVED)
    with serve_oci_registry(tmp_path / "registry", [variant]) as registry:
        monkeypatch.setenv("SSL_CERT_FILE", str(registry.ca_file))
        online = build(write_environment(tmp_path / "online", registry.url, SERVED),
                       online=True)
        assert deployment(online)["metadata"]["annotations"][VARIANT_ANNOTATION]
        kustomize_asked = len(registry.requests)
        assert kustomize_asked

        resolved = resolve_chart(ref(registry.url))
        assert resolved.is_relative_to(chart_cache)
        assert len(registry.requests) > kustomize_asked
        with pytest.raises(UserError) as refused:
            resolve_chart(ref(registry.url, "0.0.9"))
        assert f"could not be fetched from {registry.url}: " in one_line(refused)
        assert "not found" in str(refused.value)
        registry.stop()

        offline_env = write_environment(tmp_path / "offline", registry.url, SERVED)
        populate_chart_home(offline_env / "charts", ref(registry.url))
        assert build(offline_env) == online


def test_oci_pull_failure_is_one_line(chart_cache: Path) -> None:
    repository = "oci://127.0.0.1:9/charts"
    with pytest.raises(UserError) as refused:
        resolve_chart(ref(repository, "0.0.9"))
    message = one_line(refused)
    assert f"{CHART_NAME} 0.0.9 is not bundled" in message
    assert f"could not be fetched from {repository}: " in message
    assert files_under(chart_cache) == []


# --------------------------------------------------------------------------------------------
# Real kustomize builds
# --------------------------------------------------------------------------------------------


def deployment(stdout: str) -> dict[str, Any]:
    found = [d for d in yaml.safe_load_all(stdout) if d and d.get("kind") == "Deployment"]
    assert len(found) == 1, [d.get("kind") for d in yaml.safe_load_all(stdout) if d]
    return found[0]


def build(folder: Path, *, online: bool = False) -> str:
    """What kustomize builds from ``folder``; ``online``: pulling charts itself, as Argo CD's
    kustomize does (the tool's own builds never have the network)."""
    kubectl = find_kubectl()
    assert kubectl, "run scripts/install-helm.sh (it installs kubectl beside helm)"
    built = kustomize_build(kubectl, folder, network=online)
    assert built.ok, built.error
    return built.stdout


def test_kustomize_renders_the_served_chart_from_the_server_and_offline(
    served: HelmRepo, tmp_path: Path
) -> None:
    online = build(write_environment(tmp_path / "online", served.url, SERVED), online=True)
    annotations = deployment(online)["metadata"]["annotations"]
    assert annotations[VARIANT_ANNOTATION] == f"served-{SERVED}"
    assert served.archive_requests()  # kustomize pulled it itself

    resolve_chart(ref(served.url))  # into the cache while the server is up
    served.stop()
    offline_env = write_environment(tmp_path / "offline", served.url, SERVED)
    populate_chart_home(offline_env / "charts", ref(served.url))
    populated = offline_env / "charts" / f"{CHART_NAME}-{SERVED}" / CHART_NAME
    assert not [p for p in populated.rglob("*") if p.is_symlink()]
    offline = build(offline_env)
    assert offline == online


def test_kustomize_renders_the_bundled_chart_offline(tmp_path: Path, chart_cache: Path) -> None:
    environment = write_environment(tmp_path / "env", UNREACHABLE, chart_version())
    populate_chart_home(environment / "charts", ref(UNREACHABLE, chart_version()))
    rendered = deployment(build(environment))
    assert rendered["metadata"]["name"]
    assert VARIANT_ANNOTATION not in rendered["metadata"].get("annotations", {})
    assert files_under(chart_cache) == []


def test_populate_replaces_what_was_in_the_chart_home(tmp_path: Path) -> None:
    wanted = ref(UNREACHABLE, chart_version())
    stale = tmp_path / "home" / f"{CHART_NAME}-{chart_version()}" / CHART_NAME
    stale.mkdir(parents=True)
    (stale / "Chart.yaml").write_text(chart_yaml(CHART_NAME, "6.6.6").decode())
    (stale / "templates").symlink_to(tmp_path)
    populate_chart_home(tmp_path / "home", wanted)
    assert (stale / "Chart.yaml").read_bytes() == (chart_source_dir() / "Chart.yaml").read_bytes()
    assert not (stale / "templates").is_symlink()
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [stale.parent.name]
