"""Checking rendered objects against their schemas: Kubernetes' own, or a CRD's.

Core kinds are checked against the strict schemas kubernetes-validate bundles; custom
resources against CRD JSON Schemas in kubeconform's layout
(``<group>/<kind>_<version>.json``). A kind without a schema is an error: an object nothing
checked is not "valid".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from inference_scaffolder.checks.apiserver import apiserver_findings
from inference_scaffolder.checks.references import reference_findings
from inference_scaffolder.errors import UserError

CRD_SCHEMAS_ENV = "INFERENCE_SCAFFOLDER_CRD_SCHEMAS"
BUNDLED_DIR_NAME = "crd_schemas"


def bundled_crd_schema_dir() -> Path:
    """The CRD schemas this package carries: every custom resource the chart and the GitOps
    files can render (see crd_schemas/PROVENANCE.md)."""
    return Path(__file__).resolve().parent / BUNDLED_DIR_NAME


def crd_schema_dir(explicit: Path | None) -> Path | None:
    """The user's own CRD schema folder, added to (and overriding) the bundled ones:
    ``--crd-schemas``, else ``$INFERENCE_SCAFFOLDER_CRD_SCHEMAS``, else none. A folder that
    does not exist is refused before any work starts."""
    configured = os.environ.get(CRD_SCHEMAS_ENV)
    if explicit is not None:
        path, source = explicit, "--crd-schemas"
    elif configured:
        path, source = Path(configured), CRD_SCHEMAS_ENV
    else:
        return None
    if not path.is_dir():
        raise UserError(source, f"{path} is not a directory")
    return path


def describe_schema_sources(crd_dir: Path | None) -> str:
    """Where custom resource schemas came from, for reports."""
    return f"{crd_dir} (then bundled)" if crd_dir else "bundled"


def _kube_schema_versions() -> list[str]:
    base = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    found = []
    for entry in base.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def resolve_kube_version(requested: str) -> str:
    """The newest bundled Kubernetes schema version not newer than ``requested``."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?", requested.strip())
    if not match:
        raise UserError("--kube-version", f"must look like 1.33 (got {requested!r})")
    wanted = (int(match[1]), int(match[2]))
    available = _kube_schema_versions()
    usable = [v for v in available if tuple(map(int, v.split("."))) <= wanted]
    if not usable:
        raise UserError("--kube-version", f"no bundled schemas for {requested}; "
                        f"oldest is {available[0]}")
    return usable[-1]


class SchemaCatalog:
    """Compiled validators, built once per (apiVersion, kind) and reused for every object."""

    def __init__(self, kube_version: str, crd_dir: Path | None) -> None:
        self.kube_version = resolve_kube_version(kube_version)
        self.crd_dir = crd_dir
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    def validator_for(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        return self._validators[key]

    def _build(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """Kubernetes' own kinds first; anything else needs a CRD schema: the user's folder,
        then the bundled ones. Only the schemas a run meets are read and compiled."""
        core = _core_validator(self.kube_version, api_version, kind)
        if core is not None:
            return core
        group, _, version = api_version.rpartition("/")
        relative = Path(group) / f"{kind.lower()}_{version}.json"
        for directory in (self.crd_dir, bundled_crd_schema_dir()):
            if directory is not None and (directory / relative).is_file():
                return _crd_validator(str(directory / relative))
        return None


def has_core_schema(kube_version: str, api_version: str, kind: str) -> bool:
    """Whether the kind is one of Kubernetes' own (kubernetes-validate has its schema)."""
    return _core_validator(resolve_kube_version(kube_version), api_version, kind) is not None


@cache
def _kube_definitions(schema_dir: str) -> Resource:
    base = resources.files("kubernetes_validate") / "kubernetes-json-schema" / schema_dir
    return Resource.from_contents(json.loads((base / "_definitions.json").read_text()))


@cache
def _core_validator(
    kube_version: str, api_version: str, kind: str
) -> jsonschema.protocols.Validator | None:
    schema_dir = f"v{kube_version}.0-local-strict"
    base = resources.files("kubernetes_validate") / "kubernetes-json-schema" / schema_dir
    short_group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_file = base / f"{kind.lower()}-{short_group}.json"
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text())
    registry = Resource.from_contents(schema) @ (_kube_definitions(schema_dir) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _crd_validator(path: str) -> jsonschema.protocols.Validator:
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@dataclass
class ObjectResult:
    api_version: str
    kind: str
    name: str
    source: str
    errors: list[str] = field(default_factory=list)
    # Checks that could not run on this object (a CEL rule not evaluated), never passed.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_manifests(
    docs: list[tuple[dict[str, Any], str]], catalog: SchemaCatalog
) -> list[ObjectResult]:
    """Check each rendered object against its Kubernetes or CRD schema and the API server's
    own rules, and the set for what controllers derive from it and resolve in it."""
    results = []
    for doc, source in docs:
        api_version = str(doc.get("apiVersion", ""))
        kind = str(doc.get("kind", ""))
        name = str((doc.get("metadata") or {}).get("name", ""))
        result = ObjectResult(api_version, kind, name, source)
        if not api_version or not kind:
            result.errors.append("object has no apiVersion or kind")
        else:
            validator = catalog.validator_for(api_version, kind)
            if validator is None:
                result.errors.append(
                    f"no schema for {api_version} {kind} (Kubernetes {catalog.kube_version}, "
                    f"CRD schemas: {describe_schema_sources(catalog.crd_dir)}; add its schema "
                    "with --crd-schemas DIR)"
                )
            else:
                result.errors += [
                    f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                    for e in sorted(validator.iter_errors(doc), key=lambda e: str(list(e.path)))
                ]
                _add_cel_results(result, doc, validator)
            # What the API server refuses beyond the schema (checks/apiserver.py).
            result.errors += [f.line() for f in apiserver_findings(doc, catalog.kube_version)]
        results.append(result)
    # Names controllers derive and references they resolve, over the set (checks/references.py).
    for position, finding in reference_findings([doc for doc, _ in docs]):
        results[position].errors.append(finding.line())
    return results


def _add_cel_results(result: ObjectResult, doc: dict[str, Any],
                     validator: jsonschema.protocols.Validator) -> None:
    """A custom resource's CEL rules (``x-kubernetes-validations``), which the API server
    enforces and JSON Schema cannot: a broken rule is a problem like a schema error, a rule
    this evaluator cannot run is a note naming it. Kubernetes' own kinds carry none here."""
    if not isinstance(validator.schema, dict) or not _has_cel_rules(validator):
        return
    # Imported on first use: cel-python costs ~40 ms to import, which a run that checks no
    # custom resource (or a command that checks nothing) should not pay.
    from inference_scaffolder.checks.cel import cel_findings

    for finding in cel_findings(doc, validator.schema):
        if finding.evaluable:
            result.errors.append(f"{finding.path}: {finding.message}")
        else:
            result.notes.append(f"{result.kind}/{result.name}: {finding.path}: CEL rule "
                                f"{finding.rule!r} {finding.message}")


# By validator identity, with the validator itself kept: an id alone could be reused by
# a later validator once an earlier one is collected, and its rules then skipped.
_CEL_RULES: dict[int, tuple[jsonschema.protocols.Validator, bool]] = {}


def _has_cel_rules(validator: jsonschema.protocols.Validator) -> bool:
    """Whether the schema holds any rule (computed once per compiled validator)."""
    known = _CEL_RULES.get(id(validator))
    if known is None or known[0] is not validator:
        known = (validator, "x-kubernetes-validations" in json.dumps(validator.schema))
        _CEL_RULES[id(validator)] = known
    return known[1]
