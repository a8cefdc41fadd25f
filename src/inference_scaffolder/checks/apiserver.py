"""Rules the Kubernetes API server enforces that no JSON Schema expresses.

The OpenAPI schemas ``validate`` checks against say that a label value is a string and a
memory request a quantity; the API server then refuses a label value of 64 characters, a
request above its limit or a selector that does not select the pod template. Those rules live
in Go (``k8s.io/apimachinery/pkg/util/validation``, ``k8s.io/kubernetes/pkg/apis/*/validation``)
and are mirrored here, each one citing the function it follows, with the API server's own
wording (``Invalid value: "…": …``) and field path (``spec.template.spec.containers[0]…``).

Objects come from files nobody vetted: every accessor tolerates any shape (the schema check
reports wrong types), and quantities are compared as decimals, so no input makes a check
raise or run away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One refused field: where (the API server's field path) and why (its words)."""

    path: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.message}"


SHOWN_VALUE_CHARS = 120


def shown(value: object) -> str:
    """A value as the API server quotes it (Go's %q for strings), cut when long."""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"


def invalid(path: str, value: object, detail: str) -> Finding:
    """``field.Invalid`` (k8s.io/apimachinery/pkg/util/validation/field/errors.go)."""
    return Finding(path, f"Invalid value: {shown(value)}: {detail}")


def duplicate(path: str, value: object) -> Finding:
    """``field.Duplicate``."""
    return Finding(path, f"Duplicate value: {shown(value)}")


def not_found(path: str, value: object) -> Finding:
    """``field.NotFound``."""
    return Finding(path, f"Not found: {shown(value)}")


def required(path: str, detail: str) -> Finding:
    """``field.Required``."""
    return Finding(path, f"Required value: {detail}")


# --------------------------------------------------------------------------------------------
# Name formats: k8s.io/apimachinery/pkg/util/validation/validation.go
# --------------------------------------------------------------------------------------------

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")
_PORT_NAME_LETTER = re.compile(r"[a-z]")
_ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")

QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
PORT_NAME_MAX = 15
# apimachinery/pkg/api/validation/objectmeta.go: TotalAnnotationSizeLimitB.
ANNOTATIONS_MAX_BYTES = 256 * 1024
# pkg/apis/core/validation: MaxSecretSize / the ConfigMap limit (1 MiB).
DATA_MAX_BYTES = 1024 * 1024

_QUALIFIED_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start "
                  "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                  "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                  "[A-Za-z0-9]')")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                      "characters or '-', and must start and end with an alphanumeric character "
                      "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case "
                          "alphanumeric characters, '-' or '.', and must start and end with an "
                          "alphanumeric character (e.g. 'example.com', regex used for validation "
                          "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or "
                      "'-', start with an alphabetic character, and end with an alphanumeric "
                      "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                      "'[a-z]([-a-z0-9]*[a-z0-9])?')")
_ENV_VAR_MSG = ("a valid environment variable name must consist of alphabetic characters, "
                "digits, '_', '-', or '.', and must not start with a digit (e.g. "
                "'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation "
                "is '[-._a-zA-Z][-._a-zA-Z0-9]*')")
_RELAXED_ENV_VAR_MSG = "a valid environment variable name must consist only of printable " \
                       "ASCII characters other than '='"
_CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or "
                   "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                   "validation is '[-._a-zA-Z0-9]+')")


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def qualified_name_errors(value: str) -> list[str]:
    """``validation.IsQualifiedName``: an optional DNS-1123 subdomain prefix and '/', then a
    name of at most 63 characters."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        errors: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors = ["prefix part must be non-empty"]
        else:
            errors = [f"prefix part {m}" for m in dns1123_subdomain_errors(prefix)]
    else:
        return [f"a qualified name {_QUALIFIED_MSG} with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        errors.append(f"name part {_too_long(QUALIFIED_NAME_MAX)}")
    if name and not _QUALIFIED_NAME.fullmatch(name):
        errors.append(f"name part {_QUALIFIED_MSG}")
    return errors


def label_value_errors(value: str) -> list[str]:
    """``validation.IsValidLabelValue``: empty, or at most 63 characters of the name set."""
    errors = [_too_long(LABEL_VALUE_MAX)] if len(value) > LABEL_VALUE_MAX else []
    if value and not _QUALIFIED_NAME.fullmatch(value):
        errors.append(_LABEL_VALUE_MSG)
    return errors


def dns1123_label_errors(value: str) -> list[str]:
    """``validation.IsDNS1123Label``."""
    errors = [_too_long(DNS1123_LABEL_MAX)] if len(value) > DNS1123_LABEL_MAX else []
    if not _DNS1123_LABEL.fullmatch(value):
        errors.append(_DNS1123_LABEL_MSG)
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    """``validation.IsDNS1123Subdomain``."""
    errors = [_too_long(DNS1123_SUBDOMAIN_MAX)] if len(value) > DNS1123_SUBDOMAIN_MAX else []
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errors.append(_DNS1123_SUBDOMAIN_MSG)
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """``validation.IsDNS1035Label`` (Service names: they become DNS names)."""
    errors = [_too_long(DNS1035_LABEL_MAX)] if len(value) > DNS1035_LABEL_MAX else []
    if not _DNS1035_LABEL.fullmatch(value):
        errors.append(_DNS1035_LABEL_MSG)
    return errors


def port_name_errors(value: str) -> list[str]:
    """``validation.IsValidPortName`` (an IANA_SVC_NAME)."""
    errors = []
    if len(value) > PORT_NAME_MAX:
        errors.append(_too_long(PORT_NAME_MAX))
    if not _PORT_NAME_CHARS.fullmatch(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def env_var_name_errors(value: str, relaxed: bool) -> list[str]:
    """``validation.IsEnvVarName``, or with the RelaxedEnvironmentVariableValidation gate
    (on by default from Kubernetes 1.32) ``validation.IsRelaxedEnvVarName``."""
    if relaxed:
        ok = bool(value) and all(" " <= c <= "~" and c != "=" for c in value)
        return [] if ok else [_RELAXED_ENV_VAR_MSG]
    return [] if _ENV_VAR_NAME.fullmatch(value) else [_ENV_VAR_MSG]


def config_key_errors(value: str) -> list[str]:
    """``validation.IsConfigMapKey`` (ConfigMap and Secret data keys)."""
    errors = [_too_long(DNS1123_SUBDOMAIN_MAX)] if len(value) > DNS1123_SUBDOMAIN_MAX else []
    if not _CONFIG_KEY.fullmatch(value):
        errors.append(_CONFIG_KEY_MSG)
    if value in (".", "..") or value.startswith(".."):
        errors.append("must not be '.' or '..' or start with '..'")
    return errors


def _invalid_all(path: str, value: str, errors: list[str]) -> list[Finding]:
    return [invalid(path, value, e) for e in errors]


# --------------------------------------------------------------------------------------------
# Quantities: k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity)
# --------------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Enough digits for any quantity a manifest holds, and exponents far beyond any of them
# without the cost of an exact integer of that size.
_QUANTITY_CONTEXT = Context(prec=60, Emax=10**9, Emin=-(10**9))
QUANTITY_MESSAGE = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def parse_quantity(value: object) -> Decimal | None:
    """A Kubernetes quantity's value, or None when it is not one (a number written in YAML
    is one too: the API server reads a JSON number as its decimal text)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value) if not isinstance(value, float) else repr(value)
    if len(text) > 200:  # no quantity is this long; do not hand it to the decimal parser
        return None
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    number, suffix = match[1], match[2] or ""
    try:
        base = _QUANTITY_CONTEXT.create_decimal(number)
        if suffix in _BINARY:
            return _QUANTITY_CONTEXT.multiply(base, Decimal(2 ** _BINARY[suffix]))
        exponent = _DECIMAL[suffix] if suffix in _DECIMAL else int(suffix[1:])
        return _QUANTITY_CONTEXT.scaleb(base, exponent)
    except (InvalidOperation, ValueError, ArithmeticError):
        return None


# --------------------------------------------------------------------------------------------
# Safe access to objects of any shape
# --------------------------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mappings(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for index, item in enumerate(_list(value)):
        if isinstance(item, Mapping):
            yield index, item


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# Object metadata: apimachinery/pkg/api/validation/objectmeta.go (ValidateObjectMeta)
# --------------------------------------------------------------------------------------------

# Kinds whose names the API server checks as something stricter than a DNS-1123 subdomain
# (pkg/apis/core/validation: ValidateNamespaceName, ValidateServiceName).
_NAME_RULES = {
    ("v1", "Namespace"): dns1123_label_errors,
    ("v1", "Service"): dns1035_label_errors,
}


def labels_findings(labels: Any, path: str) -> list[Finding]:
    """``ValidateLabels`` (apimachinery/pkg/apis/meta/v1/validation): each key a qualified
    name, each value a label value."""
    findings: list[Finding] = []
    for key, value in _map(labels).items():
        key_text = str(key)
        findings += _invalid_all(path, key_text, qualified_name_errors(key_text))
        if isinstance(value, str):
            findings += _invalid_all(path, value, label_value_errors(value))
    return findings


def annotations_findings(annotations: Any, path: str) -> list[Finding]:
    """``ValidateAnnotations``: keys are qualified names (checked lower-cased), and keys and
    values together at most 256 KiB."""
    findings: list[Finding] = []
    total = 0
    for key, value in _map(annotations).items():
        key_text = str(key)
        findings += _invalid_all(path, key_text, qualified_name_errors(key_text.lower()))
        total += len(key_text.encode()) + len(str(value).encode())
    if total > ANNOTATIONS_MAX_BYTES:
        findings.append(Finding(path, f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} "
                                "bytes"))
    return findings


def metadata_findings(obj: Mapping[str, Any]) -> list[Finding]:
    """The name (per kind), namespace, labels and annotations of any object, custom
    resources included (apiextensions validates a CR's metadata the same way)."""
    metadata = _map(obj.get("metadata"))
    findings: list[Finding] = []
    name = _str(metadata.get("name"))
    if name is not None:
        rule = _NAME_RULES.get((str(obj.get("apiVersion")), str(obj.get("kind"))),
                               dns1123_subdomain_errors)
        findings += _invalid_all("metadata.name", name, rule(name))
    namespace = _str(metadata.get("namespace"))
    if namespace:
        findings += _invalid_all("metadata.namespace", namespace,
                                 dns1123_label_errors(namespace))
    findings += labels_findings(metadata.get("labels"), "metadata.labels")
    findings += annotations_findings(metadata.get("annotations"), "metadata.annotations")
    return findings


# --------------------------------------------------------------------------------------------
# Pod specs: pkg/apis/core/validation/validation.go (ValidatePodSpec and what it calls)
# --------------------------------------------------------------------------------------------

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _is_extended_resource(name: str) -> bool:
    """``helper.IsExtendedResourceName``: a qualified name outside kubernetes.io, not a
    ``requests.`` quota name (nvidia.com/gpu)."""
    if "/" not in name or name.startswith("requests."):
        return False
    prefix = name.split("/", 1)[0]
    return not (prefix == "kubernetes.io" or prefix.endswith(".kubernetes.io"))


def _quantities(resources: Mapping[str, Any], which: str, path: str
                ) -> tuple[dict[str, Decimal], list[Finding]]:
    values: dict[str, Decimal] = {}
    findings: list[Finding] = []
    for name, raw in _map(resources.get(which)).items():
        where = f"{path}.{which}[{name}]"
        value = parse_quantity(raw)
        if value is None:
            findings.append(invalid(where, raw, QUANTITY_MESSAGE))
            continue
        if value < 0:
            findings.append(invalid(where, raw, "must be greater than or equal to 0"))
        elif _is_extended_resource(str(name)) and value != value.to_integral_value():
            findings.append(invalid(where, raw, "must be an integer"))
        values[str(name)] = value
    return values, findings


def resources_findings(resources: Any, path: str) -> list[Finding]:
    """``ValidateResourceRequirements``: quantities parse, a request is at most its limit,
    and an extended resource (a GPU) is not overcommitted: requested only with a limit, and
    then equal to it."""
    resources = _map(resources)
    limits, findings = _quantities(resources, "limits", path)
    requests, more = _quantities(resources, "requests", path)
    findings += more
    for name, request in requests.items():
        raw = _map(resources.get("requests")).get(name)
        where = f"{path}.requests[{name}]"
        limit = limits.get(name)
        if _is_extended_resource(name):
            if name not in limits:
                findings.append(required(f"{path}.limits",
                                         "Limit must be set for non overcommitable resources"))
            elif request != limit:
                findings.append(invalid(where, raw, f"must be equal to {name} limit of "
                                        f"{_map(resources.get('limits')).get(name)}"))
        elif limit is not None and request > limit:
            findings.append(invalid(where, raw, f"must be less than or equal to {name} limit "
                                    f"of {_map(resources.get('limits')).get(name)}"))
    return findings


def _port_findings(container: Mapping[str, Any], path: str, seen: set[str]) -> list[Finding]:
    """``validateContainerPorts``: names are IANA_SVC_NAMEs, unique in the pod."""
    findings: list[Finding] = []
    for index, port in _mappings(container.get("ports")):
        name = _str(port.get("name"))
        if not name:
            continue
        where = f"{path}.ports[{index}].name"
        findings += _invalid_all(where, name, port_name_errors(name))
        if name in seen:
            findings.append(duplicate(where, name))
        seen.add(name)
    return findings


def _env_findings(container: Mapping[str, Any], path: str, relaxed: bool) -> list[Finding]:
    """``ValidateEnv``: every variable's name."""
    findings: list[Finding] = []
    for index, variable in _mappings(container.get("env")):
        name = _str(variable.get("name"))
        if name is not None:
            findings += _invalid_all(f"{path}.env[{index}].name", name,
                                     env_var_name_errors(name, relaxed))
    return findings


def _mount_findings(container: Mapping[str, Any], path: str, volumes: set[str]
                    ) -> list[Finding]:
    """``ValidateVolumeMounts``: a mount names a volume of the pod, at a path of its own."""
    findings: list[Finding] = []
    paths: set[str] = set()
    for index, mount in _mappings(container.get("volumeMounts")):
        name = _str(mount.get("name"))
        if name is not None and name not in volumes:
            findings.append(not_found(f"{path}.volumeMounts[{index}].name", name))
        mount_path = _str(mount.get("mountPath"))
        if mount_path is not None:
            if mount_path in paths:
                findings.append(invalid(f"{path}.volumeMounts[{index}].mountPath", mount_path,
                                        "must be unique"))
            paths.add(mount_path)
    return findings


def _probe_port_findings(container: Mapping[str, Any], path: str) -> list[Finding]:
    """A probe's named port is an IANA_SVC_NAME (``validatePortNumOrName``) and, for the
    kubelet to find it, one of the container's own port names."""
    names = {str(p.get("name")) for _, p in _mappings(container.get("ports")) if p.get("name")}
    findings: list[Finding] = []
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        for handler in ("httpGet", "tcpSocket"):
            port = _map(_map(container.get(probe)).get(handler)).get("port")
            if not isinstance(port, str):
                continue
            where = f"{path}.{probe}.{handler}.port"
            errors = port_name_errors(port)
            findings += _invalid_all(where, port, errors)
            if not errors and port not in names:
                findings.append(invalid(where, port, "is not the name of a port of this "
                                        "container (the kubelet's probe would never succeed)"))
    return findings


def _volume_names(spec: Mapping[str, Any], path: str) -> tuple[set[str], list[Finding]]:
    """``ValidateVolumes``: DNS-1123 label names, unique in the pod."""
    names: set[str] = set()
    findings: list[Finding] = []
    for index, volume in _mappings(spec.get("volumes")):
        name = _str(volume.get("name"))
        if name is None:
            continue
        where = f"{path}.volumes[{index}].name"
        findings += _invalid_all(where, name, dns1123_label_errors(name))
        if name in names:
            findings.append(duplicate(where, name))
        names.add(name)
    return names, findings


def pod_spec_findings(spec: Any, path: str, relaxed_env: bool) -> list[Finding]:
    """``ValidatePodSpec``: volumes, and every container's name, ports, environment,
    mounts, probes and resources."""
    spec = _map(spec)
    volumes, findings = _volume_names(spec, path)
    container_names: set[str] = set()
    port_names: set[str] = set()
    for field in _CONTAINER_LISTS:
        for index, container in _mappings(spec.get(field)):
            where = f"{path}.{field}[{index}]"
            name = _str(container.get("name"))
            if name is not None:
                findings += _invalid_all(f"{where}.name", name, dns1123_label_errors(name))
                if name in container_names:
                    findings.append(duplicate(f"{where}.name", name))
                container_names.add(name)
            findings += _port_findings(container, where, port_names)
            findings += _env_findings(container, where, relaxed_env)
            findings += _mount_findings(container, where, volumes)
            findings += _probe_port_findings(container, where)
            findings += resources_findings(container.get("resources"), f"{where}.resources")
    return findings


# --------------------------------------------------------------------------------------------
# Label selectors: apimachinery/pkg/apis/meta/v1/validation (ValidateLabelSelector)
# --------------------------------------------------------------------------------------------


def selector_findings(selector: Any, path: str) -> list[Finding]:
    """matchLabels as labels; matchExpressions' keys qualified names, In/NotIn with values,
    Exists/DoesNotExist without."""
    selector = _map(selector)
    findings = labels_findings(selector.get("matchLabels"), f"{path}.matchLabels")
    for index, expression in _mappings(selector.get("matchExpressions")):
        where = f"{path}.matchExpressions[{index}]"
        key = _str(expression.get("key"))
        if key is not None:
            findings += _invalid_all(f"{where}.key", key, qualified_name_errors(key))
        operator, values = expression.get("operator"), _list(expression.get("values"))
        if operator in ("In", "NotIn") and not values:
            findings.append(required(f"{where}.values", "must be specified when `operator` "
                                     "is 'In' or 'NotIn'"))
        if operator in ("Exists", "DoesNotExist") and values:
            findings.append(Finding(f"{where}.values", "Forbidden: may not be specified when "
                                    "`operator` is 'Exists' or 'DoesNotExist'"))
        for value_index, value in enumerate(values):
            if isinstance(value, str):
                findings += _invalid_all(f"{where}.values[{value_index}]", value,
                                         label_value_errors(value))
    return findings


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """``metav1.LabelSelectorAsSelector(...).Matches``: every matchLabels pair and every
    expression holds."""
    for key, value in _map(selector.get("matchLabels")).items():
        if key not in labels or str(labels[key]) != str(value):
            return False
    for _, expression in _mappings(selector.get("matchExpressions")):
        key = str(expression.get("key"))
        values = {str(v) for v in _list(expression.get("values"))}
        operator = expression.get("operator")
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _is_empty_selector(selector: Mapping[str, Any]) -> bool:
    return not _map(selector.get("matchLabels")) and not _list(selector.get("matchExpressions"))


# --------------------------------------------------------------------------------------------
# Per kind
# --------------------------------------------------------------------------------------------

# Where a workload's pod template is (pkg/apis/apps/validation, pkg/apis/batch/validation).
_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Workloads whose spec.selector must select their template's labels.
_SELECTING = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def _template(obj: Mapping[str, Any], kind: str) -> tuple[Mapping[str, Any], str]:
    node: Any = obj
    for part in _TEMPLATE_PATHS[kind]:
        node = _map(node).get(part)
    return _map(node), ".".join(_TEMPLATE_PATHS[kind])


def workload_findings(obj: Mapping[str, Any], kind: str, relaxed_env: bool) -> list[Finding]:
    """``ValidateDeploymentSpec`` (and its siblings): the pod template's metadata and pod
    spec, a non-empty selector that selects the template's labels."""
    template, path = _template(obj, kind)
    template_meta = _map(template.get("metadata"))
    findings = labels_findings(template_meta.get("labels"), f"{path}.metadata.labels")
    findings += annotations_findings(template_meta.get("annotations"),
                                     f"{path}.metadata.annotations")
    findings += pod_spec_findings(template.get("spec"), f"{path}.spec", relaxed_env)
    if kind in _SELECTING:
        selector = _map(_map(obj.get("spec")).get("selector"))
        findings += selector_findings(selector, "spec.selector")
        labels = _map(template_meta.get("labels"))
        if _is_empty_selector(selector):
            findings.append(invalid("spec.selector", selector, "empty selector is invalid "
                                    f"for {kind.lower()}"))
        elif not selector_matches(selector, labels):
            findings.append(invalid(f"{path}.metadata.labels", dict(labels),
                                    "`selector` does not match template `labels`"))
    return findings


def service_findings(obj: Mapping[str, Any]) -> list[Finding]:
    """``ValidateService``: port names (required with several ports, unique, DNS-1123
    labels) and the selector's labels."""
    spec = _map(obj.get("spec"))
    ports = list(_mappings(spec.get("ports")))
    findings: list[Finding] = []
    names: set[str] = set()
    for index, port in ports:
        name = _str(port.get("name"))
        where = f"spec.ports[{index}].name"
        if not name:
            if len(ports) > 1:
                findings.append(required(where, ""))
            continue
        findings += _invalid_all(where, name, dns1123_label_errors(name))
        if name in names:
            findings.append(duplicate(where, name))
        names.add(name)
        target = port.get("targetPort")
        if isinstance(target, str):
            findings += _invalid_all(f"spec.ports[{index}].targetPort", target,
                                     port_name_errors(target))
    findings += labels_findings(spec.get("selector"), "spec.selector")
    return findings


def data_findings(obj: Mapping[str, Any]) -> list[Finding]:
    """``ValidateConfigMap`` / ``ValidateSecret``: keys are config keys, unique across data
    and binaryData, all of them at most 1 MiB."""
    findings: list[Finding] = []
    total = 0
    seen: set[str] = set()
    for field in ("data", "binaryData", "stringData"):
        for key, value in _map(obj.get(field)).items():
            key_text = str(key)
            findings += _invalid_all(f"{field}[{key_text}]", key_text,
                                     config_key_errors(key_text))
            if key_text in seen and field != "stringData":
                findings.append(duplicate(f"{field}[{key_text}]", key_text))
            seen.add(key_text)
            total += len(str(value).encode())
    if total > DATA_MAX_BYTES:
        findings.append(Finding("data", f"Too long: must have at most {DATA_MAX_BYTES} bytes"))
    return findings


def _network_policy_findings(obj: Mapping[str, Any]) -> list[Finding]:
    """``ValidateNetworkPolicySpec``: its pod and namespace selectors."""
    spec = _map(obj.get("spec"))
    findings = selector_findings(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for index, rule in _mappings(spec.get(direction)):
            for peer_index, peer in _mappings(rule.get(peers)):
                where = f"spec.{direction}[{index}].{peers}[{peer_index}]"
                for selector in ("podSelector", "namespaceSelector"):
                    if selector in peer:
                        findings += selector_findings(peer[selector], f"{where}.{selector}")
    return findings


def _core_kind(obj: Mapping[str, Any]) -> str:
    """The kind when the object is one of Kubernetes' own API groups, else ''."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    builtin = group in ("", "apps", "batch", "policy", "networking.k8s.io", "autoscaling")
    return str(obj.get("kind", "")) if builtin else ""


def relaxed_env_names(kube_version: str) -> bool:
    """Whether the API server of ``kube_version`` (``1.33``) takes any printable ASCII but
    '=' in an environment variable's name (RelaxedEnvironmentVariableValidation, on by
    default from 1.32)."""
    match = re.match(r"(\d+)\.(\d+)", kube_version)
    return match is not None and (int(match[1]), int(match[2])) >= (1, 32)


def apiserver_findings(obj: Mapping[str, Any], kube_version: str = "1.33") -> list[Finding]:
    """Every API-server rule above that applies to ``obj``."""
    if not isinstance(obj, Mapping):
        return []
    findings = metadata_findings(obj)
    kind = _core_kind(obj)
    relaxed = relaxed_env_names(kube_version)
    if kind in _TEMPLATE_PATHS:
        findings += workload_findings(obj, kind, relaxed)
    elif kind == "Pod":
        findings += pod_spec_findings(obj.get("spec"), "spec", relaxed)
    elif kind == "Service":
        findings += service_findings(obj)
    elif kind in ("ConfigMap", "Secret"):
        findings += data_findings(obj)
    elif kind == "NetworkPolicy":
        findings += _network_policy_findings(obj)
    elif kind == "PodDisruptionBudget":
        findings += selector_findings(_map(obj.get("spec")).get("selector"), "spec.selector")
    elif kind == "PersistentVolumeClaim":
        findings += resources_findings(_map(obj.get("spec")).get("resources"),
                                       "spec.resources")
    return findings
