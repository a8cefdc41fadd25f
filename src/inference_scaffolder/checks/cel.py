"""CEL rules (``x-kubernetes-validations``) of a CRD schema, evaluated offline as the API
server does when an object is created.

Why here: JSON Schema validators (kubeconform, jsonschema) ignore these rules, yet the API
server refuses an object that breaks one. The evaluation follows the API server's order:
structural defaults (``default``) are applied first; then every schema node that has a value
(object properties, list items, map values) binds ``self`` to that value and runs its rules.
Transition rules (those reading ``oldSelf``) only apply to updates and are not run here.

A rule is *evaluable* when cel-python parses it and every function it calls is one this
module provides (CEL's standard functions plus the Kubernetes extension functions below). A
rule that is not evaluable, or whose value is too large for the cost bound, is reported with
``evaluable=False``: a note, never a pass. Each rule is parsed and compiled once per process.

Cost bound: cel-python has no cost estimator, so each rule gets a static estimate, the number
of nodes in its ``self`` value raised to the depth of nested comprehensions (``all``,
``exists``, ``exists_one``, ``filter``, ``map``) in its source; a rule over the per-rule
budget, or any rule once an object's total budget is spent, is not evaluated (a note).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import lark
import re2
from celpy import celparser, celtypes
from celpy.celparser import CELParseError, CELParser
from celpy.evaluation import CELEvalError

from inference_scaffolder.safe_fs import NotPrivate, open_private_folder

# Estimated evaluation steps one rule may take, and one object in total (see the docstring).
RULE_BUDGET = 50_000
OBJECT_BUDGET = 2_000_000

COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "filter", "map"})
# Called by name but handled by the parser or cel-python itself.
BUILTINS = frozenset({
    "has", "size", "contains", "startsWith", "endsWith", "matches", "type", "bool", "bytes",
    "double", "duration", "int", "uint", "string", "timestamp", "dyn", "min",
    "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getMonth",
    "getHours", "getMilliseconds", "getMinutes", "getSeconds",
}) | COMPREHENSIONS


@dataclass(frozen=True)
class CelFinding:
    """One rule that failed (``evaluable``) or could not be evaluated (not ``evaluable``:
    reported as a note, never as passed)."""

    path: str  # field path like spec.rules[0].backendRefs[1]
    message: str  # the rule's own message
    rule: str  # the CEL source
    evaluable: bool


# --- Kubernetes CEL extension functions (k8s.io/apiserver/pkg/cel/library, cel-go ext) ---

def _string(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{function}: no such overload for {type(value).__name__}")
    return str(value)


def lower_ascii(value: Any) -> celtypes.StringType:
    """strings.lowerAscii: only ASCII letters change, as cel-go does."""
    return celtypes.StringType(
        "".join(c.lower() if c.isascii() else c for c in _string(value, "lowerAscii")))


def upper_ascii(value: Any) -> celtypes.StringType:
    return celtypes.StringType(
        "".join(c.upper() if c.isascii() else c for c in _string(value, "upperAscii")))


def split(value: Any, separator: Any, limit: Any = None) -> celtypes.ListType:
    """strings.split(sep[, n]): n < 0 all parts, n == 0 none, n > 0 at most n parts."""
    text, sep = _string(value, "split"), _string(separator, "split")
    n = -1 if limit is None else int(limit)
    if n == 0:
        return celtypes.ListType([])
    if sep == "":
        parts = list(text)
        if n > 0 and len(parts) > n:
            parts = [*parts[:n - 1], "".join(parts[n - 1:])]
    else:
        parts = text.split(sep, n - 1) if n > 0 else text.split(sep)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def join(value: Any, separator: Any = "") -> celtypes.StringType:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("join: no such overload")
    return celtypes.StringType(_string(separator, "join").join(str(v) for v in value))


def replace(value: Any, old: Any, new: Any, limit: Any = None) -> celtypes.StringType:
    text = _string(value, "replace")
    n = -1 if limit is None else int(limit)
    return celtypes.StringType(text.replace(_string(old, "replace"), _string(new, "replace"), n))


def substring(value: Any, start: Any, end: Any = None) -> celtypes.StringType:
    text = _string(value, "substring")
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise IndexError(f"substring: index out of range: {start}, {stop}")
    return celtypes.StringType(text[int(start):stop])


def char_at(value: Any, index: Any) -> celtypes.StringType:
    text = _string(value, "charAt")
    if not 0 <= int(index) <= len(text):
        raise IndexError(f"charAt: index out of range: {index}")
    return celtypes.StringType(text[int(index):int(index) + 1])


def trim(value: Any) -> celtypes.StringType:
    return celtypes.StringType(_string(value, "trim").strip())


def index_of(value: Any, item: Any, start: Any = 0) -> celtypes.IntType:
    """strings.indexOf and lists.indexOf: -1 when absent."""
    if isinstance(value, str):
        return celtypes.IntType(_string(value, "indexOf").find(_string(item, "indexOf"),
                                                                int(start)))
    if isinstance(value, list):
        return celtypes.IntType(next((i for i, v in enumerate(value) if v == item), -1))
    raise TypeError("indexOf: no such overload")


def last_index_of(value: Any, item: Any) -> celtypes.IntType:
    if isinstance(value, str):
        return celtypes.IntType(value.rfind(_string(item, "lastIndexOf")))
    if isinstance(value, list):
        found = [i for i, v in enumerate(value) if v == item]
        return celtypes.IntType(found[-1] if found else -1)
    raise TypeError("lastIndexOf: no such overload")


def is_sorted(value: Any) -> celtypes.BoolType:
    items = list(value)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


def list_sum(value: Any) -> Any:
    items = list(value)
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def list_max(value: Any) -> Any:
    items = list(value)
    if not items:
        raise ValueError("max: empty list")
    return max(items)


def find(value: Any, pattern: Any) -> celtypes.StringType:
    """regex.find: the first match (RE2, as the API server), or the empty string."""
    match = re2.search(_string(pattern, "find"), _string(value, "find"))
    return celtypes.StringType(match.group(0) if match else "")


def find_all(value: Any, pattern: Any, limit: Any = None) -> celtypes.ListType:
    found = [m.group(0) for m in re2.finditer(_string(pattern, "findAll"),
                                              _string(value, "findAll"))]
    if limit is not None and int(limit) >= 0:
        found = found[:int(limit)]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


EXTENSIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": lower_ascii, "upperAscii": upper_ascii, "split": split, "join": join,
    "replace": replace, "substring": substring, "charAt": char_at, "trim": trim,
    "indexOf": index_of, "lastIndexOf": last_index_of,
    "isSorted": is_sorted, "sum": list_sum, "max": list_max,
    "find": find, "findAll": find_all,
}
SUPPORTED = BUILTINS | frozenset(EXTENSIONS)


# --- compiling rules, once per process ---

@dataclass(frozen=True)
class Program:
    """A compiled rule, or why it cannot be evaluated (``unusable``)."""

    runner: Any
    depth: int  # nesting depth of comprehensions: the exponent of the cost estimate
    unusable: str = ""


@cache
def _environment() -> celpy.Environment:
    """cel-python's environment, made on first use: computing its parser's tables costs a
    tenth of a second or more, which a run that meets no rule should not pay."""
    _use_cached_parser_tables()
    return celpy.Environment()


def _use_cached_parser_tables() -> None:
    """Give cel-python its parser with the tables lark computed in an earlier run, kept in
    a folder of the user's own (lark's cache: keyed by the grammar, the options and lark's
    version; a pickle, so never from a folder anyone else could write). The options are
    cel-python's own; without a private folder, cel-python builds its parser as usual."""
    folder = _private_cache_folder()
    if folder is None or CELParser.CEL_PARSER is not None:
        return
    grammar = (Path(celparser.__file__).parent / "cel.lark").read_text(encoding="utf-8")
    CELParser.CEL_PARSER = lark.Lark(
        grammar, parser="lalr", start="expr", debug=True, g_regex_flags=re.M,
        lexer_callbacks={"IDENT": CELParser.ambiguous_literals}, propagate_positions=True,
        maybe_placeholders=False, priority="invert", tree_class=lark.Tree,
        cache=str(folder / "cel-parser.lark"),
    )


def _private_cache_folder() -> Path | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    try:
        base.mkdir(parents=True, exist_ok=True)
        os.close(open_private_folder(base / "inference-scaffolder-cel"))
    except (OSError, NotPrivate):
        return None
    return base / "inference-scaffolder-cel"
# cel-python's parser and evaluator keep state on shared objects: one evaluation at a time.
# Evaluation is pure Python, so threads would not run it in parallel anyway.
_LOCK = threading.RLock()


def _calls(tree: Any) -> Iterator[tuple[str, Any]]:
    """Every function or method name the rule calls, with its node."""
    for node in tree.iter_subtrees():
        if node.data in ("member_dot_arg", "ident_arg", "dot_ident_arg"):
            token = next(c for c in node.children if hasattr(c, "type") and c.type == "IDENT")
            yield str(token), node


def _depth(tree: Any) -> int:
    """How deeply comprehensions nest in the rule (0: none)."""
    if not hasattr(tree, "children"):
        return 0
    inner = max((_depth(c) for c in tree.children), default=0)
    if tree.data == "member_dot_arg":
        name = next((str(c) for c in tree.children if getattr(c, "type", "") == "IDENT"), "")
        if name in COMPREHENSIONS:
            return inner + 1
    return inner


@cache
def compiled(rule: str) -> Program:
    """The rule parsed and bound to the extension functions (cached by its source: the
    bundled schemas declare no variable types, so the source alone decides the program)."""
    with _LOCK:
        try:
            tree = _environment().compile(rule)
        except CELParseError as exc:
            return Program(None, 0, f"cel-python cannot parse it ({_first_line(exc)})")
        unknown = sorted({name for name, _ in _calls(tree)} - SUPPORTED)
        if unknown:
            return Program(None, 0, f"calls {', '.join(unknown)}, which this evaluator does "
                                    "not provide")
        return Program(_environment().program(tree, functions=EXTENSIONS), _depth(tree))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def is_transition_rule(rule: dict[str, Any]) -> bool:
    """A rule comparing with the stored object: evaluated on update only."""
    return bool(rule.get("optionalOldSelf")) or re.search(r"\boldSelf\b", rule["rule"]) is not None


# --- defaults and values ---

def apply_defaults(value: Any, schema: dict[str, Any]) -> None:
    """Structural defaulting, in place, as the API server does before validation: a missing
    property with a ``default`` gets it, then every node below is defaulted too."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, child in value.items():
            sub = properties.get(key, _map_values(schema))
            if isinstance(sub, dict):
                apply_defaults(child, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for child in value:
            apply_defaults(child, schema["items"])


def _map_values(schema: dict[str, Any]) -> dict[str, Any] | None:
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def to_cel(value: Any, schema: dict[str, Any] | None) -> Any:
    """A JSON value as the CEL type its schema declares (``number`` is always a double)."""
    declared = (schema or {}).get("type")
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float) and declared == "number":
        return celtypes.DoubleType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, list):
        items = (schema or {}).get("items")
        return celtypes.ListType([to_cel(v, items if isinstance(items, dict) else None)
                                  for v in value])
    if isinstance(value, dict):
        properties = (schema or {}).get("properties") or {}
        return celtypes.MapType({celtypes.StringType(k): to_cel(v, properties.get(
            k, _map_values(schema or {}))) for k, v in value.items()})
    return None


def size_of(value: Any) -> int:
    """Nodes in a JSON value: the base of the cost estimate."""
    if isinstance(value, dict):
        return 1 + sum(size_of(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(size_of(v) for v in value)
    return 1


# --- walking the object ---

def _key_path(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _nodes(value: Any, schema: dict[str, Any], path: str
           ) -> Iterator[tuple[Any, dict[str, Any], str]]:
    """Every (value, schema node, field path) the rules bind ``self`` to, parents first."""
    yield value, schema, path
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, child in value.items():
            sub = properties.get(key, _map_values(schema))
            if isinstance(sub, dict) and child is not None:
                yield from _nodes(child, sub, _key_path(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            if child is not None:
                yield from _nodes(child, schema["items"], f"{path}[{index}]")


class _Budget:
    """Estimated steps an object's evaluations may still take."""

    def __init__(self, total: int) -> None:
        self.left = total


def cel_findings(obj: dict[str, Any], schema: dict[str, Any]) -> list[CelFinding]:
    """The CEL rules of ``schema`` (a CRD version's openAPIV3Schema) that ``obj`` breaks or
    that could not be evaluated on it, as the API server evaluates them on create."""
    value = copy.deepcopy(obj)
    apply_defaults(value, schema)
    budget = _Budget(OBJECT_BUDGET)
    findings: list[CelFinding] = []
    for node, node_schema, path in _nodes(value, schema, ""):
        rules = [r for r in node_schema.get("x-kubernetes-validations") or ()
                 if not is_transition_rule(r)]
        if rules:
            this = _Self(node, node_schema)
            findings += [f for f in (_check(r, this, path, budget) for r in rules) if f]
    return findings


class _Self:
    """The value a node's rules bind to ``self``: its CEL form, size and canonical text are
    computed once for all the node's rules, and only when needed."""

    def __init__(self, value: Any, schema: dict[str, Any]) -> None:
        self.value, self.schema = value, schema
        self._cel: Any = None
        self.size = size_of(value)
        self.key = json.dumps(value, sort_keys=True, separators=(",", ":"))

    @property
    def cel(self) -> Any:
        if self._cel is None:
            self._cel = to_cel(self.value, self.schema)
        return self._cel


# Outcomes by (rule, canonical value): the services of a fleet share most of their values
# (a route's path match, a gateway reference), so most evaluations are repeats. Bounded.
_OUTCOMES: dict[tuple[str, str], bool | str] = {}
OUTCOME_CACHE_LIMIT = 100_000


def _check(rule: dict[str, Any], this: _Self, path: str, budget: _Budget) -> CelFinding | None:
    source = str(rule["rule"])
    shown = _reported_path(path, rule)
    program = compiled(source)
    if program.unusable:
        return CelFinding(shown, f"not evaluated: {program.unusable}", source, False)
    outcome = _OUTCOMES.get((source, this.key))
    if outcome is None:
        cost = this.size ** max(1, program.depth)
        if cost > RULE_BUDGET or cost > budget.left:
            return CelFinding(shown, "not evaluated: the value is too large for the "
                                     f"evaluation budget (estimated {cost} steps)", source, False)
        budget.left -= cost
        outcome = _evaluate(program.runner, this.cel)
        if len(_OUTCOMES) >= OUTCOME_CACHE_LIMIT:
            _OUTCOMES.clear()
        _OUTCOMES[(source, this.key)] = outcome
    if outcome is True:
        return None
    if isinstance(outcome, str):
        return CelFinding(shown, f"{_message(rule, this.cel)} (evaluation error: {outcome})",
                          source, True)
    return CelFinding(shown, _message(rule, this.cel), source, True)


def _evaluate(runner: Any, this: Any) -> bool | str:
    """True, False, or the evaluation error's text (the API server refuses the object)."""
    with _LOCK:
        try:
            result = runner.evaluate({"self": this})
        except CELEvalError as exc:
            return _first_line(exc)
        except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError,
                OverflowError) as exc:
            return _first_line(exc)
    if isinstance(result, CELEvalError):
        return _first_line(result)
    if isinstance(result, celtypes.BoolType | bool):
        return bool(result)
    return f"the rule returned {type(result).__name__}, not a bool"


def _message(rule: dict[str, Any], this: Any) -> str:
    """messageExpression's value when it evaluates to a non-empty string, else message,
    else the API server's own wording."""
    expression = rule.get("messageExpression")
    if expression:
        program = compiled(str(expression))
        if not program.unusable:
            with _LOCK:
                try:
                    text = program.runner.evaluate({"self": this})
                except Exception:  # the API server falls back to message
                    text = None
            if isinstance(text, str) and text.strip():
                return str(text)
    if rule.get("message"):
        return str(rule["message"])
    return f"failed rule: {rule['rule']}"


def _reported_path(path: str, rule: dict[str, Any]) -> str:
    """The node's path, extended by the rule's ``fieldPath`` when it names one; ``reason``
    (FieldValueRequired, ...) is appended as the API server reports it as the error type."""
    shown = path + str(rule.get("fieldPath") or "") if rule.get("fieldPath") else path
    shown = shown.lstrip(".") or "(root)"
    return f"{shown} ({rule['reason']})" if rule.get("reason") else shown


# --- coverage: what the evaluator does with a schema's rules (docs/cel.md) ---

@dataclass(frozen=True)
class Coverage:
    """How a schema's rules fare: run on create, transition rules (update only), and rules
    this evaluator cannot run, with the reason."""

    rules: int
    evaluated: int
    transition: int
    not_evaluable: tuple[tuple[str, str], ...]  # (rule, reason)


def schema_rules(schema: Any) -> Iterator[dict[str, Any]]:
    """Every ``x-kubernetes-validations`` entry anywhere in a schema."""
    if isinstance(schema, dict):
        yield from (r for r in schema.get("x-kubernetes-validations") or () if "rule" in r)
        for child in schema.values():
            yield from schema_rules(child)
    elif isinstance(schema, list):
        for child in schema:
            yield from schema_rules(child)


def coverage(schema: dict[str, Any]) -> Coverage:
    """Counts for one schema; each rule is compiled as a validation would compile it."""
    rules = list(schema_rules(schema))
    transition = [r for r in rules if is_transition_rule(r)]
    unusable = [(str(r["rule"]), compiled(str(r["rule"])).unusable) for r in rules
                if not is_transition_rule(r) and compiled(str(r["rule"])).unusable]
    return Coverage(len(rules), len(rules) - len(transition) - len(unusable), len(transition),
                    tuple(unusable))
