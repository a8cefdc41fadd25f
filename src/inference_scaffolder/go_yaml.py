"""Writing YAML that Go programs (Helm, kubectl, Argo CD) read back exactly as written.

Helm and kubectl parse YAML with ``sigs.k8s.io/yaml`` (go-yaml v2 rules), which reads more
plain scalars as booleans or numbers than either PyYAML (YAML 1.1) or ruamel (YAML 1.2)
expects: ``y``/``n`` are booleans, ``1e3`` is a float, ``0o17`` and ``0b1`` are integers, and
for ruamel also ``yes``/``no``/``on``/``off``. A service named ``y`` or an environment
variable set to ``yes`` would reach the manifest as ``true``. Every string that any of these
parsers could read as something else is therefore written quoted.
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml
from ruamel.yaml.scalarstring import SingleQuotedScalarString

STR_TAG = "tag:yaml.org,2002:str"
# Plain scalars go-yaml v2 reads as booleans or numbers where PyYAML may see a string (it
# drops "_" and then tries Go's integer syntax, then its float syntax). Quoting a few more
# strings than needed is harmless; quoting too few is not.
_GO_ONLY_NON_STRINGS = re.compile(
    r"^(?:[yYnN]"
    r"|[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9_]+)?"
    r"|[-+]?0[bBoOxX][0-9a-fA-F_]+)$"
)


class GoSafeDumper(yaml.SafeDumper):
    """PyYAML's safe dumper that also quotes what go-yaml v2 would not read as a string."""


GoSafeDumper.add_implicit_resolver(
    "tag:yaml.org,2002:go-non-string", _GO_ONLY_NON_STRINGS, list("yYnN-+.0123456789")
)


def safe_dump(data: Any, **options: Any) -> str:
    """``yaml.safe_dump`` whose output Go programs read back with the same types."""
    return yaml.dump(data, Dumper=GoSafeDumper, **options)


# The same rule as JSON Schema, for names (letters, digits, "-" and "_"): those a YAML reader
# takes for a boolean, null, number or date. The answers schema forbids them, so Backstage's
# form refuses a service called "y" as the CLI does; tests check it agrees with
# ``reads_as_string`` over that alphabet.
NON_STRING_NAME_PATTERN = (
    "^(?:[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    "|null|Null|NULL|[0-9][0-9_]*(?:[eE]-?[0-9_]+)?|0[bBoOxX][0-9a-fA-F_]+"
    "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?)$"
)


def reads_as_string(text: str) -> bool:
    """Whether ``text`` written as a plain scalar is a string for PyYAML and go-yaml v2."""
    return GoSafeDumper(io.StringIO()).resolve(yaml.ScalarNode, text, (True, False)) == STR_TAG


def quote_ambiguous_strings(value: Any) -> Any:
    """``value`` with every ambiguous string marked for quoting when ruamel dumps it."""
    if isinstance(value, dict):
        return {k: quote_ambiguous_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [quote_ambiguous_strings(v) for v in value]
    if isinstance(value, str) and not reads_as_string(value):
        return SingleQuotedScalarString(value)
    return value
