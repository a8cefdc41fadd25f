"""A real Helm chart repository on 127.0.0.1, for tests that fetch charts by version.

``serve_helm_repo(workdir, charts)`` packages chart folders with the real ``helm package``,
indexes them with the real ``helm repo index --url http://127.0.0.1:<port>``, serves them
with ``http.server`` from a daemon thread on an ephemeral loopback port, and records every
request path (so a test can prove that nothing was asked). ``add_archive`` serves hand-made
archives that ``helm package`` would never produce (links, huge files, a Chart.yaml that
lies), listed in the index as a hostile repository would list them.

``serve_oci_registry(workdir, charts)`` serves ``helm package``d charts from a minimal,
read-only OCI distribution API (manifest by tag, blobs by digest: what ``helm pull oci://``
asks for) over TLS with a throw-away certificate for 127.0.0.1; helm trusts it when
``SSL_CERT_FILE`` names ``registry.ca_file``. No container runtime is needed.

``chart_variant`` makes a copy of the bundled base chart under another version with one
visible change in the Deployment template, so a render shows which chart it came from::

    with serve_helm_repo(tmp_path / "repo", [chart_variant(tmp_path / "v", "0.1.1")]) as repo:
        ...  # helmCharts: {name: ml-inference-load, repo: repo.url, version: 0.1.1}
        assert repo.requests == [...]
"""

from __future__ import annotations

import datetime
import hashlib
import io
import ipaddress
import json
import shutil
import ssl
import tarfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from inference_scaffolder.chart import CHART_NAME, chart_source_dir
from inference_scaffolder.tools import run_helm

# The annotation chart_variant adds to the Deployment, and where to look for it in a render.
VARIANT_ANNOTATION = "platform/chart-variant"


@dataclass(frozen=True)
class Link:
    """A symbolic link entry of a hand-made archive."""

    target: str


def chart_variant(dest: Path, version: str, *, marker: str | None = None) -> Path:
    """A copy of the bundled chart at ``dest/<chart name>`` with Chart.yaml's version set to
    ``version`` and the Deployment annotated ``platform/chart-variant: <marker>`` (default
    ``served-<version>``); returns the chart folder."""
    chart_dir = dest / CHART_NAME
    shutil.copytree(chart_source_dir(), chart_dir)
    chart_yaml = chart_dir / "Chart.yaml"
    text = chart_yaml.read_text(encoding="utf-8")
    current = yaml.safe_load(text)["version"]
    chart_yaml.write_text(text.replace(f"version: {current}\n", f"version: {version}\n", 1),
                          encoding="utf-8")
    assert yaml.safe_load(chart_yaml.read_text(encoding="utf-8"))["version"] == version
    deployment = chart_dir / "templates" / "deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    line = f'    {VARIANT_ANNOTATION}: "{marker or f"served-{version}"}"\n'
    changed = text.replace("\n  annotations:\n", f"\n  annotations:\n{line}", 1)
    assert changed != text, "the Deployment template has no metadata annotations to extend"
    deployment.write_text(changed, encoding="utf-8")
    return chart_dir


def chart_archive(files: Mapping[str, bytes | Link]) -> bytes:
    """A ``.tgz`` holding ``files`` (path -> content or :class:`Link`) exactly as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.mode = 0o644
            if isinstance(content, Link):
                info.type, info.linkname = tarfile.SYMTYPE, content.target
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def chart_yaml(name: str, version: str) -> bytes:
    """A minimal Chart.yaml."""
    return f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()


class _Served:
    """A loopback server running in a daemon thread, stopped once."""

    _server: ThreadingHTTPServer
    _thread: threading.Thread
    _stopped: bool

    def _serve(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving and close the port (later connections are refused); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class HelmRepo(_Served):
    """A chart repository served over HTTP on 127.0.0.1 (see the module docstring)."""

    def __init__(self, workdir: Path) -> None:
        self.served = workdir / "served"
        self._packages = workdir / "packages"
        self.served.mkdir(parents=True)
        self._packages.mkdir()
        self._raw: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        handler = partial(_RecordingHandler, self, directory=str(self.served))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._serve(server)
        self._index()

    def record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def add_chart(self, chart_dir: Path) -> str:
        """``helm package`` a chart folder into the repository; its archive's file name."""
        packaged = run_helm(["package", str(chart_dir), "--destination", str(self._packages)])
        assert packaged.ok, packaged.stderr
        archive = Path(packaged.stdout.strip().rsplit(": ", 1)[-1])
        self._index()
        return archive.name

    def add_archive(self, name: str, version: str, data: bytes) -> str:
        """Serve ``data`` as chart ``name`` ``version`` (listed by hand: ``helm repo index``
        reads archives, and refuses the hostile ones); its file name."""
        file_name = f"{name}-{version}.tgz"
        (self.served / file_name).write_bytes(data)
        self._raw.append({"apiVersion": "v2", "name": name, "version": version,
                          "digest": hashlib.sha256(data).hexdigest(),
                          "urls": [f"{self.url}/{file_name}"]})
        self._index()
        return file_name

    def _index(self) -> None:
        """The real ``helm repo index`` of the packaged charts, plus the hand-made entries."""
        indexed = run_helm(["repo", "index", str(self._packages), "--url", self.url],
                           writable=[self._packages])
        assert indexed.ok, indexed.stderr
        for archive in self._packages.glob("*.tgz"):
            shutil.copyfile(archive, self.served / archive.name)
        index = yaml.safe_load((self._packages / "index.yaml").read_text(encoding="utf-8"))
        entries = index.setdefault("entries", {}) or {}
        index["entries"] = entries
        for entry in self._raw:
            entries.setdefault(entry["name"], []).append(entry)
        (self.served / "index.yaml").write_text(yaml.safe_dump(index), encoding="utf-8")

    def archive_requests(self) -> list[str]:
        """The request paths that fetched a chart archive."""
        with self._lock:
            return [path for path in self.requests if path.endswith(".tgz")]



class _RecordingHandler(SimpleHTTPRequestHandler):
    """Serves the repository folder and records each request's path; prints nothing."""

    def __init__(self, repo: HelmRepo, *args: Any, **kwargs: Any) -> None:
        self._repo = repo
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._repo.record(self.path)
        super().do_GET()

    def do_HEAD(self) -> None:
        self._repo.record(self.path)
        super().do_HEAD()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_helm_repo(workdir: Path, charts: Iterable[Path] = ()) -> Iterator[HelmRepo]:
    """A :class:`HelmRepo` in ``workdir`` serving ``charts`` (folders), stopped on exit
    (``stop()`` inside the block stops it earlier: a test of what works with no server)."""
    repo = HelmRepo(workdir)
    try:
        for chart_dir in charts:
            repo.add_chart(chart_dir)
        yield repo
    finally:
        repo.stop()


# --------------------------------------------------------------------------------------------
# An OCI registry
# --------------------------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for IP 127.0.0.1 (its own CA) and its key, valid for an hour."""
    from cryptography import x509  # a dev dependency; only this helper needs it
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "registry-ca.pem", folder / "registry-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class OciRegistry(_Served):
    """Charts under ``oci://127.0.0.1:<port>/charts`` (see the module docstring)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True)
        self._workdir = workdir
        self.ca_file, key_file = _self_signed(workdir)
        self.manifests: dict[str, bytes] = {}  # "<name>:<tag>" -> manifest
        self.blobs: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RegistryHandler, self))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.url = f"oci://127.0.0.1:{server.server_address[1]}/charts"
        self._serve(server)

    def record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def add_chart(self, chart_dir: Path) -> None:
        """``helm package`` a chart and publish it as ``charts/<name>:<version>``."""
        packaged = run_helm(["package", str(chart_dir), "--destination", str(self._workdir)])
        assert packaged.ok, packaged.stderr
        archive = Path(packaged.stdout.strip().rsplit(": ", 1)[-1]).read_bytes()
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
        config = json.dumps({k: meta[k] for k in ("apiVersion", "name", "version")}).encode()
        self.blobs.update({_digest(archive): archive, _digest(config): config})
        self.manifests[f"charts/{meta['name']}:{meta['version']}"] = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": HELM_CONFIG, "digest": _digest(config),
                       "size": len(config)},
            "layers": [{"mediaType": HELM_LAYER, "digest": _digest(archive),
                        "size": len(archive)}]}).encode()



class _RegistryHandler(BaseHTTPRequestHandler):
    """GET/HEAD of ``/v2/``, ``/v2/<name>/manifests/<tag>`` and ``/v2/<name>/blobs/<digest>``."""

    def __init__(self, registry: OciRegistry, *args: Any, **kwargs: Any) -> None:
        self._registry = registry
        super().__init__(*args, **kwargs)

    def _answer(self, status: int, body: bytes, content_type: str, digest: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._registry.record(self.path)
        path = self.path.removeprefix("/v2/")
        name, _, reference = path.rpartition("/manifests/")
        if name and reference and f"{name}:{reference}" in self._registry.manifests:
            manifest = self._registry.manifests[f"{name}:{reference}"]
            return self._answer(200, manifest, OCI_MANIFEST, _digest(manifest))
        _, _, digest = path.rpartition("/blobs/")
        if digest in self._registry.blobs:
            blob = self._registry.blobs[digest]
            return self._answer(200, blob, "application/octet-stream", digest)
        if path == "":
            return self._answer(200, b"{}", "application/json")
        error = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "not here"}]}
        return self._answer(404, json.dumps(error).encode(), "application/json")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_oci_registry(workdir: Path, charts: Iterable[Path] = ()) -> Iterator[OciRegistry]:
    """An :class:`OciRegistry` in ``workdir`` serving ``charts`` (folders), stopped on exit."""
    registry = OciRegistry(workdir)
    try:
        for chart_dir in charts:
            registry.add_chart(chart_dir)
        yield registry
    finally:
        registry.stop()
