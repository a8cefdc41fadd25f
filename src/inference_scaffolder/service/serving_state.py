"""Whether an environment serves its model to clients at all: the ``serving.enabled`` value.

``routing.enabled`` says whether the environment asks the platform's routers for a
registration. ``serving.enabled: false`` is the stronger, explicit *disabled* state: the
chart then renders nothing that serves the model to clients (no public Gateway, HTTPRoute or
Certificate, no InferencePool or its route on the internal gateway), so a disabled model is
denied on every path the service itself exposes. ``inference-scaffolder register --disable``
sets it in the same change that removes the routers' entries.

The file is edited structurally with a round-trip YAML library: the team's comments, key
order and every other value stay as they are.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from inference_scaffolder.errors import UserError
from inference_scaffolder.safe_fs import MAX_REPOSITORY_FILE_BYTES, read_text_file, refuse_links
from inference_scaffolder.service.layout import (
    ENVIRONMENTS_DIR,
    chart_ref,
    list_environments,
    values_file,
)
from inference_scaffolder.yamlio import round_trip_yaml

# The first base chart version that leaves the routers to the platform (no LiteLLM
# ConfigMap, no AIGatewayRoute of its own) and knows ``serving.enabled``.
PLATFORM_ROUTING_CHART = (0, 2, 0)
SERVING_KEY = "serving"
DISABLED_COMMENT = ("Disabled here (inference-scaffolder register --disable): nothing public "
                    "serves the model")

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def values_path_shown(environment: str) -> str:
    """An environment's values file as messages name it (relative to the repository)."""
    return f"{ENVIRONMENTS_DIR}/{environment}/values.yaml"


def check_environment(service_dir: Path, environment: str) -> None:
    """Refuse an environment the repository does not have, naming the ones it has."""
    known = list_environments(service_dir)
    if environment not in known:
        raise UserError("--env", f"{environment!r} is not an environment of {service_dir} "
                        f"(it has: {', '.join(known) or 'none'})")


def chart_routes_through_platform(version: str) -> bool:
    """Whether a base chart version leaves routing to the platform (0.2.0 and later)."""
    found = _VERSION.match(version)
    if found is None:
        return False
    return tuple(int(n) for n in found.groups()) >= PLATFORM_ROUTING_CHART


def require_platform_routing_chart(service_dir: Path, environment: str) -> str:
    """The chart version the environment pins, refused when it still registers the model by
    itself (before 0.2.0: a LiteLLM ConfigMap and its own AIGatewayRoute) and so has no
    ``serving`` value."""
    version = chart_ref(service_dir, environment).version
    if not chart_routes_through_platform(version):
        wanted = ".".join(str(n) for n in PLATFORM_ROUTING_CHART)
        raise UserError(f"{ENVIRONMENTS_DIR}/{environment}/kustomization.yaml",
                        f"pins base chart {version}, which registers the model with the routers "
                        f"by itself and cannot be disabled by a value; move the environment to "
                        f"{wanted} or later first (inference-scaffolder promote DIR --to "
                        f"{environment} --chart-version {wanted})")
    return version


def _load_round_trip(service_dir: Path, environment: str) -> tuple[Any, str]:
    """The environment's values as an editable document, and the file's text."""
    shown = values_path_shown(environment)
    refuse_links(service_dir, shown)  # written in place below: never through a link
    text = read_text_file(values_file(service_dir, environment), MAX_REPOSITORY_FILE_BYTES,
                          shown, follow_links=False, shown=shown)
    try:
        document = round_trip_yaml().load(text)
    except Exception as exc:  # ruamel's errors have no common base worth naming
        problem = " ".join(str(getattr(exc, "problem", "") or "invalid YAML").split())
        raise UserError(shown, f"is not valid YAML: {problem}") from None
    if document is None:
        from ruamel.yaml.comments import CommentedMap

        document = CommentedMap()
    if not hasattr(document, "get") or not hasattr(document, "insert"):
        raise UserError(shown, "must hold a YAML mapping")
    return document, text


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step (a reader never sees half a file), keeping its mode."""
    mode = path.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(prefix=".values-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def serving_enabled(values: Any) -> bool:
    """``serving.enabled`` of a values mapping: true unless it is set to false."""
    serving = values.get(SERVING_KEY) if hasattr(values, "get") else None
    return not (serving is not None and hasattr(serving, "get")
                and serving.get("enabled") is False)


def public_serving(service_dir: Path, environment: str) -> bool:
    """Whether the environment serves its model (``serving.enabled``, true unless set false)."""
    check_environment(service_dir, environment)
    document, _ = _load_round_trip(service_dir, environment)
    return serving_enabled(document)


def _disable(document: Any) -> None:
    serving = document.get(SERVING_KEY)
    if hasattr(serving, "get"):
        serving["enabled"] = False
        return
    from ruamel.yaml.comments import CommentedMap

    block = CommentedMap()
    block["enabled"] = False
    document[SERVING_KEY] = block
    document.yaml_set_comment_before_after_key(SERVING_KEY, before=DISABLED_COMMENT)


def _enable(document: Any) -> None:
    """Back to the chart's default (serving on): the key goes, so the file reads as a newly
    generated one."""
    serving = document.get(SERVING_KEY)
    if not hasattr(serving, "get"):
        return
    serving.pop("enabled", None)
    if not serving:
        del document[SERVING_KEY]


def _without_marker(text: str) -> str:
    """The text less the comment line :func:`_disable` wrote (ruamel keeps a deleted key's
    leading comment on the key before it)."""
    marker = f"# {DISABLED_COMMENT}"
    return "".join(line for line in text.splitlines(keepends=True)
                   if line.strip() != marker)


def set_public_serving(service_dir: Path, environment: str, enabled: bool) -> bool:
    """Turn the environment's serving on or off in ``environments/<env>/values.yaml``;
    returns whether the file changed (a second call with the same state changes nothing).

    Off writes ``serving: {enabled: false}``: no public Gateway/HTTPRoute/Certificate and no
    InferencePool route render in that environment. On removes the setting again. Unknown
    environments, environments pinning a chart before 0.2.0, links and files that are not
    YAML mappings are refused (:class:`UserError`, nothing written)."""
    service_dir = Path(service_dir)
    check_environment(service_dir, environment)
    document, text = _load_round_trip(service_dir, environment)
    if serving_enabled(document) == enabled:
        return False
    if not enabled:
        require_platform_routing_chart(service_dir, environment)
        _disable(document)
    else:
        _enable(document)
    out = io.StringIO()
    round_trip_yaml().dump(document, out)
    new_text = out.getvalue() if not enabled else _without_marker(out.getvalue())
    if new_text == text:
        return False
    write_atomically(values_file(service_dir, environment), new_text)
    return True
