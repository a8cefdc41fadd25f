"""docs/cel.md states how many CEL rules the bundled CRD schemas hold and what the evaluator
does with them; recomputed here from the bundled schemas so the page cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

from inference_scaffolder.checks.cel import coverage, schema_rules
from inference_scaffolder.checks.manifests import bundled_crd_schema_dir

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cel.md"


def coverage_table() -> str:
    """The page's table: one row per bundled schema file, then the totals."""
    rows = ["| Schema | Rules | Evaluated on create | Transition (update only) | Not evaluable |",
            "|---|---|---|---|---|"]
    totals = [0, 0, 0, 0]
    for path in sorted(bundled_crd_schema_dir().glob("*/*.json")):
        found = coverage(json.loads(path.read_text(encoding="utf-8")))
        counts = [found.rules, found.evaluated, found.transition, len(found.not_evaluable)]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        name = f"{path.parent.name}/{path.name}"
        rows.append(f"| {name} | " + " | ".join(map(str, counts)) + " |")
    rows.append("| **total** | " + " | ".join(f"**{n}**" for n in totals) + " |")
    return "\n".join(rows)


def page_section(name: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert match, f"docs/cel.md has no {name} section"
    return match.group(1).strip()


def test_the_page_table_matches_the_bundled_schemas() -> None:
    assert page_section("coverage") == coverage_table()


def test_the_page_lists_every_rule_that_is_not_evaluable_or_transition() -> None:
    listed = page_section("not-evaluated")
    rules = [r for path in bundled_crd_schema_dir().glob("*/*.json")
             for r in schema_rules(json.loads(path.read_text(encoding="utf-8")))]
    skipped = {str(r["rule"]) for r in rules
               if coverage({"x-kubernetes-validations": [r]}).evaluated == 0}
    if skipped:
        assert all(rule in listed for rule in skipped), skipped
    else:
        assert listed == "None: every rule of the bundled schemas is evaluated on create."


def test_distinct_rule_count_is_stated() -> None:
    rules = {str(r["rule"]) for path in bundled_crd_schema_dir().glob("*/*.json")
             for r in schema_rules(json.loads(path.read_text(encoding="utf-8")))}
    assert page_section("distinct") == f"{len(rules)} distinct rule texts"
