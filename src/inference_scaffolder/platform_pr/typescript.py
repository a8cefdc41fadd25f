"""JSON Schema (draft 2020-12 subset) to TypeScript, and the real ``tsc`` that checks it.

The platform-schemas-types repository publishes one TypeScript interface per workload type.
Ours is generated from the chart's ``values.schema.json`` so that the two cannot drift; where a
subschema has exactly the shape of a type the repository already exports from ``../shared``
(``SecretObj``, ``EnvironmentVariableObj``, ``Environment`` ...), the shared name is used, so
consumers can pass the same objects to every workload type.

Only keywords that change the *shape* of a value matter here (type, properties, required,
additionalProperties, items, enum, const, oneOf/anyOf, $defs/$ref); validation-only keywords
(pattern, minimum, maxLength, not, if/then/else, ...) have no TypeScript counterpart and are
ignored. Keywords that would change the shape but are not supported (allOf with several
branches, prefixItems, patternProperties, remote $ref) are refused rather than approximated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inference_scaffolder.errors import ToolMissingError, UserError
from inference_scaffolder.paths import source_checkout_root

# --------------------------------------------------------------------------------------------
# A tiny TypeScript type model: enough to render interfaces and compare shapes.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prim:
    """A primitive or top type: string, number, boolean, null, unknown, never."""

    name: str


@dataclass(frozen=True)
class Literal:
    """A literal type; ``value`` is the JSON value (str, int, float, bool or None)."""

    value: object


@dataclass(frozen=True)
class ArrayOf:
    item: TsType


@dataclass(frozen=True)
class Union:
    members: tuple[TsType, ...]


@dataclass(frozen=True)
class Prop:
    name: str
    optional: bool
    type: TsType
    description: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ObjectType:
    props: tuple[Prop, ...]
    index: TsType | None = None  # ``[key: string]: T`` when additionalProperties is a schema


@dataclass(frozen=True)
class Named:
    """A reference to a type declared elsewhere (a shared type)."""

    name: str


TsType = Prim | Literal | ArrayOf | Union | ObjectType | Named

UNKNOWN = Prim("unknown")

# Schema keywords that only validate values: they do not change the TypeScript shape.
_VALIDATION_ONLY = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contentEncoding",
        "contentMediaType",
        "$defs",
        "definitions",
    }
)
_SHAPE_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "oneOf",
        "anyOf",
        "allOf",
        "$ref",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class SharedType:
    """A type exported by the repository's shared module, with its structural shape."""

    name: str
    type: TsType


class _Converter:
    """Walks one schema document; holds the document for local ``$ref`` resolution."""

    def __init__(self, document: Mapping[str, object], where: str) -> None:
        self.document = document
        self.where = where
        self._resolving: list[str] = []

    def refuse(self, pointer: str, rule: str) -> UserError:
        return UserError(f"{self.where}{pointer or '#'}", rule)

    def convert(self, schema: object, pointer: str) -> TsType:
        if schema is True or schema == {}:
            return UNKNOWN
        if schema is False:
            return Prim("never")
        if not isinstance(schema, Mapping):
            raise self.refuse(pointer, "a schema must be an object or a boolean")
        self._refuse_unsupported(schema, pointer)
        if "$ref" in schema:
            return self._convert_ref(schema, pointer)
        if "const" in schema:
            return Literal(
                _json_scalar(schema["const"], self.refuse(pointer, "const must be a scalar"))
            )
        if "enum" in schema:
            return _union(
                Literal(_json_scalar(v, self.refuse(pointer, "enum values must be scalars")))
                for v in _as_list(schema["enum"])
            )
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return _union(
                    self.convert(_merge_type(schema, branch), f"{pointer}/{key}/{i}")
                    for i, branch in enumerate(_as_list(schema[key]))
                )
        if "allOf" in schema:
            return self.convert(schema["allOf"][0], f"{pointer}/allOf/0")
        return self._convert_typed(schema, pointer)

    def _refuse_unsupported(self, schema: Mapping[str, object], pointer: str) -> None:
        for key in ("prefixItems", "patternProperties", "$dynamicRef"):
            if key in schema:
                raise self.refuse(pointer, f"'{key}' has no supported TypeScript mapping")
        all_of = schema.get("allOf")
        if all_of is not None and (not isinstance(all_of, list) or len(all_of) != 1):
            raise self.refuse(pointer, "'allOf' with several branches is not supported")

    def _convert_ref(self, schema: Mapping[str, object], pointer: str) -> TsType:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise self.refuse(pointer, f"only local '$ref' (#/...) is supported, got {ref!r}")
        if ref in self._resolving:
            raise self.refuse(pointer, f"recursive '$ref' {ref} cannot be inlined")
        target: object = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                raise self.refuse(pointer, f"'$ref' {ref} does not resolve")
            target = target[part]
        self._resolving.append(ref)
        try:
            return self.convert(target, ref[1:])
        finally:
            self._resolving.pop()

    def _convert_typed(self, schema: Mapping[str, object], pointer: str) -> TsType:
        declared = schema.get("type")
        if declared is None:
            if "properties" in schema or "additionalProperties" in schema:
                declared = "object"
            elif "items" in schema:
                declared = "array"
            else:
                return UNKNOWN
        if isinstance(declared, list):
            return _union(self._convert_one_type(schema, t, pointer) for t in declared)
        return self._convert_one_type(schema, declared, pointer)

    def _convert_one_type(self, schema: Mapping[str, object], kind: object, pointer: str) -> TsType:
        if kind == "string":
            return Prim("string")
        if kind in ("integer", "number"):
            return Prim("number")
        if kind == "boolean":
            return Prim("boolean")
        if kind == "null":
            return Prim("null")
        if kind == "array":
            items = schema.get("items", True)
            return ArrayOf(self.convert(items, f"{pointer}/items"))
        if kind == "object":
            return self._convert_object(schema, pointer)
        raise self.refuse(pointer, f"unknown JSON Schema type {kind!r}")

    def _convert_object(self, schema: Mapping[str, object], pointer: str) -> ObjectType:
        properties = schema.get("properties", {})
        if not isinstance(properties, Mapping):
            raise self.refuse(pointer, "'properties' must be an object")
        required = set(_as_list(schema.get("required", [])))
        unknown_required = required - set(properties)
        if unknown_required and schema.get("additionalProperties", True) is False:
            raise self.refuse(
                pointer, f"required names no declared property: {sorted(unknown_required)}"
            )
        props = tuple(
            Prop(
                name=name,
                optional=name not in required,
                type=self.convert(sub, f"{pointer}/properties/{name}"),
                description=_description(sub, self.document),
            )
            for name, sub in properties.items()
        )
        extra = schema.get("additionalProperties")
        index: TsType | None = None
        if isinstance(extra, Mapping):
            index = self.convert(extra, f"{pointer}/additionalProperties")
        elif extra is None and not properties:
            index = UNKNOWN  # an open object with nothing declared: a free-form map
        return ObjectType(props, index)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def _json_scalar(value: object, error: UserError) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise error


def _merge_type(parent: Mapping[str, object], branch: object) -> object:
    """A oneOf/anyOf branch inherits the parent's ``type`` when it declares none."""
    inherits = (
        isinstance(branch, Mapping)
        and "type" not in branch
        and "type" in parent
        and not ({"$ref", "const", "enum"} & set(branch))
    )
    if inherits:
        return {**branch, "type": parent["type"]}
    return branch


def _description(schema: object, document: Mapping[str, object]) -> str | None:
    """The description of a property, following a bare ``$ref`` when it has none itself."""
    if not isinstance(schema, Mapping):
        return None
    text = schema.get("description")
    if isinstance(text, str) and text.strip():
        return text.strip()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: object = document
        for part in ref[2:].split("/"):
            if not isinstance(target, Mapping):
                return None
            target = target.get(part.replace("~1", "/").replace("~0", "~"))
        if isinstance(target, Mapping) and "$ref" not in target:
            return _description(target, document)
    return None


def _union(members: Iterable[TsType]) -> TsType:
    """Flatten, de-duplicate and simplify (a literal next to its primitive adds nothing)."""
    flat: list[TsType] = []
    for member in members:
        for item in member.members if isinstance(member, Union) else (member,):
            if item not in flat:
                flat.append(item)
    prims = {m.name for m in flat if isinstance(m, Prim)}
    if "unknown" in prims:
        return UNKNOWN
    flat = [m for m in flat if not (isinstance(m, Prim) and m.name == "never")] or [Prim("never")]

    def covered(member: TsType) -> bool:
        if not isinstance(member, Literal):
            return False
        value = member.value
        if isinstance(value, bool):
            return "boolean" in prims
        if isinstance(value, str):
            return "string" in prims
        if isinstance(value, int | float):
            return "number" in prims
        return False

    flat = [m for m in flat if not covered(m)]
    if Literal(True) in flat and Literal(False) in flat:
        flat = [m for m in flat if m not in (Literal(True), Literal(False))] + [Prim("boolean")]
    return flat[0] if len(flat) == 1 else Union(tuple(flat))


# --------------------------------------------------------------------------------------------
# Shapes: structural identity, used to recognise shared types.
# --------------------------------------------------------------------------------------------


def shape_key(t: TsType) -> object:
    """A hashable key equal for types TypeScript would treat as the same shape.

    Member order and descriptions do not matter; optionality and member types do.
    """
    if isinstance(t, Union):
        return ("union", frozenset(shape_key(m) for m in t.members))
    if isinstance(t, ArrayOf):
        return ("array", shape_key(t.item))
    if isinstance(t, ObjectType):
        props = frozenset((p.name, p.optional, shape_key(p.type)) for p in t.props)
        return ("object", props, None if t.index is None else shape_key(t.index))
    if isinstance(t, Literal):
        return ("literal", type(t.value).__name__, t.value)
    return (type(t).__name__, t.name)


def _is_reusable_shape(t: TsType) -> bool:
    """Only objects and literal unions are matched: a shared alias of ``string`` would
    otherwise swallow every string property."""
    if isinstance(t, ObjectType):
        return bool(t.props)
    return isinstance(t, Union) and all(isinstance(m, Literal) for m in t.members)


def reuse_shared_types(t: TsType, shared: Iterable[SharedType]) -> TsType:
    """Replace every nested subtree whose shape equals a shared type by its name."""
    by_shape: dict[object, str] = {}
    for item in shared:
        if _is_reusable_shape(item.type):
            by_shape.setdefault(shape_key(item.type), item.name)

    def walk(node: TsType, top: bool) -> TsType:
        if not top and _is_reusable_shape(node):
            name = by_shape.get(shape_key(node))
            if name is not None:
                return Named(name)
        if isinstance(node, ObjectType):
            props = tuple(
                Prop(p.name, p.optional, walk(p.type, False), p.description) for p in node.props
            )
            index = None if node.index is None else walk(node.index, False)
            return ObjectType(props, index)
        if isinstance(node, ArrayOf):
            return ArrayOf(walk(node.item, False))
        if isinstance(node, Union):
            return _union(walk(m, False) for m in node.members)
        return node

    return walk(t, True)


def named_references(t: TsType) -> set[str]:
    """Names of the shared types a generated type uses (for its import line)."""
    if isinstance(t, Named):
        return {t.name}
    if isinstance(t, ObjectType):
        names = set().union(*(named_references(p.type) for p in t.props)) if t.props else set()
        return names | (named_references(t.index) if t.index is not None else set())
    if isinstance(t, ArrayOf):
        return named_references(t.item)
    if isinstance(t, Union):
        return set().union(*(named_references(m) for m in t.members))
    return set()


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

INDENT = "  "
_DOC_WIDTH = 96


def _render_jsdoc(text: str, indent: str) -> list[str]:
    safe = " ".join(text.replace("*/", "*\\/").split())
    if len(indent) + len(safe) + 7 <= _DOC_WIDTH:
        return [f"{indent}/** {safe} */"]
    lines = textwrap.wrap(safe, width=max(40, _DOC_WIDTH - len(indent) - 3))
    return [f"{indent}/**", *(f"{indent} * {line}" for line in lines), f"{indent} */"]


def _render_key(name: str) -> str:
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def render_type(t: TsType, depth: int) -> str:
    """TypeScript text of a type; nested objects are laid out one member per line."""
    if isinstance(t, Prim):
        return t.name
    if isinstance(t, Named):
        return t.name
    if isinstance(t, Literal):
        return "null" if t.value is None else json.dumps(t.value)
    if isinstance(t, ArrayOf):
        inner = render_type(t.item, depth)
        return f"({inner})[]" if isinstance(t.item, Union) else f"{inner}[]"
    if isinstance(t, Union):
        return " | ".join(render_type(m, depth) for m in t.members)
    return _render_object_body(t, depth)


def _render_object_body(t: ObjectType, depth: int) -> str:
    if not t.props and t.index is None:
        return "Record<string, never>"
    inner = INDENT * (depth + 1)
    lines = ["{"]
    for prop in t.props:
        if prop.description:
            lines.extend(_render_jsdoc(prop.description, inner))
        mark = "?" if prop.optional else ""
        lines.append(f"{inner}{_render_key(prop.name)}{mark}: {render_type(prop.type, depth + 1)};")
    if t.index is not None:
        lines.append(f"{inner}[key: string]: {render_type(t.index, depth + 1)};")
    lines.append(f"{INDENT * depth}}}")
    return "\n".join(lines)


def render_interface(
    name: str, t: ObjectType, *, description: str | None, header: str | None, import_from: str
) -> str:
    """A complete module: header comment, shared-type import, one exported interface."""
    lines: list[str] = []
    if header:
        lines.extend(f"// {line}" if line else "//" for line in header.splitlines())
    used = sorted(named_references(t))
    if used:
        lines.append(f'import {{ {", ".join(used)} }} from "{import_from}";')
    if lines:
        lines.append("")
    if description:
        lines.extend(_render_jsdoc(description, ""))
    body = _render_object_body(t, 0)
    lines.append(f"export interface {name} {body}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Public entry point: schema -> module text
# --------------------------------------------------------------------------------------------


def schema_to_type(schema: Mapping[str, object], *, where: str = "values.schema.json") -> TsType:
    """Structural TypeScript type of a schema document (no shared-type reuse yet)."""
    return _Converter(schema, where).convert(schema, "")


def generate_interface_module(
    schema: Mapping[str, object],
    interface_name: str,
    *,
    shared: Iterable[SharedType] = (),
    discriminator: tuple[str, str] | None = None,
    render_required: Iterable[str] = (),
    header: str | None = None,
    import_from: str = "../shared",
    where: str = "values.schema.json",
) -> str:
    """The TypeScript module declaring ``interface_name`` for a values schema.

    ``discriminator`` (property, literal) must be a required top-level ``const`` of the schema;
    it becomes the interface's first member, as every workload interface starts with it.
    ``render_required`` names top-level properties the chart demands at render time although
    the schema cannot (the base chart's own values.yaml must validate without them): a
    complete workload description has them, so the interface makes them required.
    """
    root = schema_to_type(schema, where=where)
    if not isinstance(root, ObjectType):
        raise UserError(where, "the root schema must describe an object")
    root = _require(root, render_required, where)
    if discriminator is not None:
        root = _discriminator_first(root, discriminator, where)
    root = reuse_shared_types(root, shared)
    assert isinstance(root, ObjectType)
    description = _description(schema, schema)
    return render_interface(
        interface_name, root, description=description, header=header, import_from=import_from
    )


def _require(root: ObjectType, names: Iterable[str], where: str) -> ObjectType:
    wanted = set(names)
    missing = wanted - {p.name for p in root.props}
    if missing:
        raise UserError(where, f"render-required properties not in the schema: {sorted(missing)}")
    props = tuple(
        Prop(p.name, False, p.type, p.description) if p.name in wanted else p for p in root.props
    )
    return ObjectType(props, root.index)


def _discriminator_first(
    root: ObjectType, discriminator: tuple[str, str], where: str
) -> ObjectType:
    name, value = discriminator
    matches = [p for p in root.props if p.name == name]
    if not matches or matches[0].type != Literal(value) or matches[0].optional:
        raise UserError(
            f"{where}#/properties/{name}", f'must be a required const "{value}" (the discriminator)'
        )
    rest = tuple(p for p in root.props if p.name != name)
    return ObjectType((matches[0], *rest), root.index)


# --------------------------------------------------------------------------------------------
# Reading the shared types a repository exports (a deliberately small TypeScript reader)
# --------------------------------------------------------------------------------------------

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_STRING = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_INTERFACE = re.compile(r"\bexport\s+interface\s+([A-Za-z_$][\w$]*)\s*\{", re.S)
_TYPE_ALIAS = re.compile(r"\bexport\s+type\s+([A-Za-z_$][\w$]*)\s*=\s*", re.S)
_CONST_TUPLE = re.compile(
    r"\b(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*=\s*\[([^\]]*)\]\s*as\s+const", re.S
)
_EXPORT_STAR = re.compile(r"""\bexport\s*\*\s*from\s*(['"])(\.{1,2}/[^'"]+)\1""")
_EXPORT_NAMED_FROM = re.compile(
    r"""\bexport\s*(?:type\s*)?\{([^}]*)\}\s*from\s*(['"])(\.{1,2}/[^'"]+)\2"""
)


def _strip_comments(text: str) -> str:
    """Remove comments without touching string literals that contain ``//``."""
    out: list[str] = []
    pos = 0
    pattern = re.compile(_STRING.pattern + r"|" + _COMMENT.pattern, re.S)
    for match in pattern.finditer(text):
        out.append(text[pos : match.start()])
        token = match.group(0)
        out.append(token if token[0] in "'\"" else " ")
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _balanced(text: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index just past the bracket closing the one at ``start`` (strings respected)."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            end = _STRING.match(text, i)
            i = end.end() if end else i + 1
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


class _TypeReader:
    """Parses the TypeScript type expressions that shared types are written with."""

    def __init__(self, aliases: Mapping[str, str], tuples: Mapping[str, list[object]]) -> None:
        self.aliases = aliases  # name -> source text of its type
        self.tuples = tuples
        self._stack: list[str] = []

    def resolve(self, name: str) -> TsType | None:
        if name in self._stack or name not in self.aliases:
            return None
        self._stack.append(name)
        try:
            return self.parse(self.aliases[name])
        finally:
            self._stack.pop()

    def parse(self, text: str) -> TsType | None:
        text = text.strip().rstrip(";").strip()
        parts = _split_top_level(text, "|")
        if parts is None:
            return None
        parts = [p for p in parts if p.strip()]
        if len(parts) > 1:
            members = [self.parse(p) for p in parts]
            return None if any(m is None for m in members) else _union(members)  # type: ignore[arg-type]
        return self._parse_term(parts[0].strip()) if parts else None

    def _parse_term(self, term: str) -> TsType | None:
        if term.endswith("[]"):
            inner = self.parse(term[:-2])
            return None if inner is None else ArrayOf(inner)
        if term.startswith("(") and _balanced(term, 0, "(", ")") == len(term):
            return self.parse(term[1:-1])
        if term.startswith("{") and _balanced(term, 0, "{", "}") == len(term):
            return self.parse_members(term[1:-1])
        if term in ("string", "number", "boolean", "null", "unknown", "never"):
            return Prim(term)
        if term in ("true", "false"):
            return Literal(term == "true")
        if _STRING.fullmatch(term):
            return Literal(_unquote(term))
        if re.fullmatch(r"-?\d+(\.\d+)?", term):
            return Literal(json.loads(term))
        generic = re.fullmatch(r"(Array|Record)\s*<(.*)>", term, re.S)
        if generic:
            return self._parse_generic(generic.group(1), generic.group(2))
        indexed = re.fullmatch(r"\(?\s*typeof\s+([A-Za-z_$][\w$]*)\s*\)?\s*\[\s*number\s*\]", term)
        if indexed:
            values = self.tuples.get(indexed.group(1))
            return None if values is None else _union(Literal(v) for v in values)
        if _IDENTIFIER.match(term):
            return self.resolve(term)
        return None

    def _parse_generic(self, kind: str, args_text: str) -> TsType | None:
        args = _split_top_level(args_text, ",")
        if args is None:
            return None
        if kind == "Array" and len(args) == 1:
            inner = self.parse(args[0])
            return None if inner is None else ArrayOf(inner)
        if kind == "Record" and len(args) == 2 and args[0].strip() == "string":
            value = self.parse(args[1])
            return None if value is None else ObjectType((), value)
        return None

    def parse_members(self, body: str) -> ObjectType | None:
        members = _split_top_level(body, ";,\n")
        if members is None:
            return None
        props: list[Prop] = []
        index: TsType | None = None
        for member in (m.strip() for m in members):
            if not member:
                continue
            sig = re.fullmatch(r"\[\s*\w+\s*:\s*string\s*\]\s*:\s*(.+)", member, re.S)
            if sig:
                index = self.parse(sig.group(1))
                if index is None:
                    return None
                continue
            prop = re.fullmatch(
                r"""(?:readonly\s+)?([A-Za-z_$][\w$]*|'[^']*'|"[^"]*")\s*(\?)?\s*:\s*(.+)""",
                member,
                re.S,
            )
            if not prop:
                return None
            value = self.parse(prop.group(3))
            if value is None:
                return None
            props.append(Prop(_unquote(prop.group(1)), bool(prop.group(2)), value))
        return ObjectType(tuple(props), index)


def _unquote(token: str) -> str:
    if token[:1] in "'\"" and token[-1:] == token[:1]:
        if token[0] == "'":
            token = '"' + token[1:-1].replace('\\"', '"').replace('"', '\\"') + '"'
        return str(json.loads(token))
    return token


def _split_top_level(text: str, separators: str) -> list[str] | None:
    """Split at separators outside brackets and strings; None when brackets do not balance."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            match = _STRING.match(text, i)
            if not match:
                return None
            current.append(match.group(0))
            i = match.end()
            continue
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
            if depth < 0:
                return None
        if depth == 0 and ch in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if depth != 0:
        return None
    parts.append("".join(current))
    return parts


@dataclass
class _ModuleDecls:
    interfaces: dict[str, str]  # name -> member body text
    aliases: dict[str, str]  # name -> type text
    tuples: dict[str, list[object]]
    star_exports: list[str]
    named_exports: list[tuple[str, str, str]]  # (local name, exported name, module)


def _declarations(text: str) -> _ModuleDecls:
    clean = _strip_comments(text)
    decls = _ModuleDecls({}, {}, {}, [], [])
    for match in _INTERFACE.finditer(clean):
        end = _balanced(clean, match.end() - 1, "{", "}")
        if end > 0:
            decls.interfaces[match.group(1)] = clean[match.end() : end - 1]
    for match in _TYPE_ALIAS.finditer(clean):
        decls.aliases[match.group(1)] = _alias_text(clean, match.end())
    for match in _CONST_TUPLE.finditer(clean):
        items = _split_top_level(match.group(2), ",") or []
        values = [_unquote(i.strip()) for i in items if i.strip()]
        if all(_STRING.fullmatch(i.strip()) for i in items if i.strip()):
            decls.tuples[match.group(1)] = values  # type: ignore[assignment]
    decls.star_exports = [m.group(2) for m in _EXPORT_STAR.finditer(clean)]
    for match in _EXPORT_NAMED_FROM.finditer(clean):
        for item in match.group(1).split(","):
            names = item.replace("type ", " ").split(" as ")
            local = names[0].strip()
            if local:
                decls.named_exports.append((local, names[-1].strip(), match.group(3)))
    return decls


def _alias_text(text: str, start: int) -> str:
    """The type expression of ``export type X = ...`` up to its terminating semicolon/line."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            match = _STRING.match(text, i)
            i = match.end() if match else i + 1
            continue
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>" and not (ch == ">" and text[i - 1] == "="):  # `=>` is no bracket
            depth -= 1
        elif depth == 0 and ch == ";":
            break
        elif depth == 0 and ch == "\n":
            rest = text[i + 1 :].lstrip()
            if (
                not rest.startswith("|")
                and text[start:i].strip()
                and not text[start:i].rstrip().endswith("|")
            ):
                break
        i += 1
    return text[start:i]


def read_shared_types(shared_entry: Path) -> list[SharedType]:
    """Shared types importable from the module ``shared_entry`` (e.g. ``src/shared/index.ts``).

    Follows ``export * from`` and ``export { A } from`` to sibling modules. Declarations this
    small reader cannot parse (generics, enums, intersections, ...) are simply not offered for
    reuse: the generated interface then spells the shape out, which is still correct.
    """
    if not shared_entry.is_file():
        return []
    modules: dict[Path, _ModuleDecls] = {}
    exported: dict[str, tuple[Path, str]] = {}

    def load(path: Path) -> _ModuleDecls | None:
        if path not in modules:
            if not path.is_file():
                return None
            modules[path] = _declarations(path.read_text(encoding="utf-8"))
        return modules[path]

    def collect(path: Path, seen: set[Path]) -> None:
        if path in seen:
            return
        seen.add(path)
        decls = load(path)
        if decls is None:
            return
        for name in (*decls.interfaces, *decls.aliases):
            exported.setdefault(name, (path, name))
        for module in decls.star_exports:
            collect(_module_path(path, module), seen)
        for local, public, module in decls.named_exports:
            target = _module_path(path, module)
            if load(target) is not None:
                exported.setdefault(public, (target, local))

    collect(shared_entry, set())
    result: list[SharedType] = []
    for public, (path, local) in exported.items():
        parsed = _parse_declaration(modules, path, local)
        if parsed is not None:
            result.append(SharedType(public, parsed))
    return result


def _module_path(origin: Path, module: str) -> Path:
    base = (origin.parent / module).resolve()
    for candidate in (base.with_suffix(".ts"), base / "index.ts", base):
        if candidate.is_file():
            return candidate
    return base.with_suffix(".ts")


def _parse_declaration(
    modules: Mapping[Path, _ModuleDecls], path: Path, name: str
) -> TsType | None:
    """Parse one declaration; names it references resolve within its own module."""
    decls = modules[path]
    aliases = dict(decls.aliases)
    for iface, body in decls.interfaces.items():
        aliases.setdefault(iface, "{" + body + "}")
    return _TypeReader(aliases, decls.tuples).resolve(name)


# --------------------------------------------------------------------------------------------
# The real TypeScript compiler
# --------------------------------------------------------------------------------------------

TSC_ENV = "INFERENCE_SCAFFOLDER_TSC"
_DIAGNOSTIC = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class TscDiagnostic:
    file: str
    line: int
    column: int
    code: str
    message: str

    def identity(self) -> tuple[str, str, str]:
        """What makes an error "the same" across two trees whose line numbers differ."""
        return (self.file, self.code, self.message)

    def __str__(self) -> str:
        return f"{self.file}({self.line},{self.column}): error {self.code}: {self.message}"


@dataclass(frozen=True)
class TscResult:
    returncode: int
    diagnostics: tuple[TscDiagnostic, ...]
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def find_tsc() -> Path:
    """The compiler: ``$INFERENCE_SCAFFOLDER_TSC``, then ``tsc`` on PATH, then tools/."""
    configured = os.environ.get(TSC_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ToolMissingError(TSC_ENV, f"{configured} is not an executable TypeScript compiler")
    on_path = shutil.which("tsc")
    if on_path:
        return Path(on_path)
    root = source_checkout_root()
    project_tsc = root / "tools" / "node_modules" / ".bin" / "tsc" if root else None
    if project_tsc is not None and project_tsc.is_file() and os.access(project_tsc, os.X_OK):
        return project_tsc
    raise ToolMissingError(
        "tsc",
        f"TypeScript compiler not found: set {TSC_ENV}, put tsc on PATH, or run "
        "scripts/bootstrap.sh (installs tools/node_modules/.bin/tsc)",
    )


def run_tsc(project_dir: Path, tsc: Path | None = None, timeout: float = 600) -> TscResult:
    """``tsc --noEmit -p <project_dir>``: type-check a repository tree without writing files."""
    if not (project_dir / "tsconfig.json").is_file():
        raise UserError("tsconfig.json", f"missing at the repository root ({project_dir.name})")
    compiler = tsc or find_tsc()
    try:
        proc = subprocess.run(
            [
                str(compiler),
                "--noEmit",
                "--pretty",
                "false",
                "-p",
                str(project_dir / "tsconfig.json"),
            ],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except OSError as exc:
        raise ToolMissingError("tsc", f"cannot run {compiler}: {exc.strerror}") from exc
    output = (proc.stdout + proc.stderr).strip()
    diagnostics = tuple(
        TscDiagnostic(m["file"], int(m["line"]), int(m["col"]), m["code"], m["msg"])
        for m in (_DIAGNOSTIC.match(line) for line in output.splitlines())
        if m
    )
    return TscResult(proc.returncode, diagnostics, output)
