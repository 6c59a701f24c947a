"""docs/rulebase.md: the rule base as a reader sees it, generated from rules/ (a test keeps it current)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .rule_file import KIND_ORDER
from .ruleset import RuleSet, RuleSpec

KINDS = list(KIND_ORDER)
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "rulebase.md"


def render(ruleset: RuleSet) -> str:
    by_instrument: dict[str, list[RuleSpec]] = {}
    for spec in ruleset.rules:
        for iid in dict.fromkeys(c.instrument_id for c in spec.rule.citations):
            by_instrument.setdefault(iid, []).append(spec)
    reporting = [s for s in ruleset.rules if s.rule.kind]
    kinds = _kinds(reporting)
    lines = [
        "# The rule base",
        "",
        "Generated from `rules/` by `compliance-engine rulebase-doc`; a test fails when it is out of date.",
        "",
        f"{len(ruleset.rules)} rules: {len(reporting)} that report ("
        + ", ".join(f"{kinds[k]} {k}" for k in KINDS if kinds[k]) + f") and {len(ruleset.rules) - len(reporting)} "
        f"that only derive facts; {len(ruleset.catalogue)} instruments, "
        f"{sum(1 for i in ruleset.catalogue if not i.business_duty)} of them without a business duty.",
        "",
        "## Instruments: legal force and entry into force",
        "",
        "Every instrument the sources name, its place in the Chinese legal order (`legal_force`: only law, "
        "administrative_regulation, departmental_rule, local_regulation, normative_document and mandatory_standard "
        "bind), when it was issued, when it took effect, and where that date comes from. A rule applies from the day "
        "the instrument it rests on (its first citation) took effect, unless it states a later day.",
        "",
        "| instrument | legal force | issued | in force from | until | where the dates come from |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for inst in ruleset.catalogue:
        lines.append(f"| `{inst.id}` | {inst.legal_force.value} | {inst.issued or ''} | {inst.in_force_from or ''} | "
                     f"{inst.in_force_until or ''} | {(inst.in_force_source or '').replace('|', '/')} |")
    lines += [
        "",
        "## Rules by instrument and kind",
        "",
        "| instrument | legal force | " + " | ".join(KINDS) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in KINDS) + " |",
    ]
    for inst in ruleset.catalogue:
        count = _kinds(by_instrument.get(inst.id, []))
        if not count:
            continue
        lines.append(f"| `{inst.id}` | {inst.legal_force.value} | "
                     + " | ".join(str(count[k] or "") for k in KINDS) + " |")
    lines += ["", "## Instruments and their rules", ""]
    for inst in ruleset.catalogue:
        specs = by_instrument.get(inst.id, [])
        if not specs and not inst.business_duty:
            continue
        dates = ", ".join(x for x in (f"issued {inst.issued}" if inst.issued else "",
                                      f"in force from {inst.in_force_from}" if inst.in_force_from else "",
                                      f"until {inst.in_force_until}" if inst.in_force_until else "") if x)
        lines.append(f"### {inst.title}")
        lines.append("")
        lines.append(f"`{inst.id}` · {inst.issuer} · {inst.legal_force.value.replace('_', ' ')}"
                     + (f" · {dates}" if dates else "") + (f" · {inst.document_number}" if inst.document_number else "")
                     + (f" · {inst.jurisdiction}" if inst.jurisdiction != "CN" else ""))
        if inst.final_version:
            lines.append(f"Final version: `{inst.final_version}`.")
        if inst.superseded_by:
            lines.append(f"Superseded by `{inst.superseded_by}`.")
        lines.append("")
        for s in specs:
            kind = s.rule.kind.value if s.rule.kind else "derives " + ", ".join(sorted(s.rule.derive))
            when = []
            if s.rule.applies_from:
                when.append(f"from {s.rule.applies_from}")
            if s.rule.applies_until:
                when.append(f"until {s.rule.applies_until}")
            if s.rule.deadline:
                when.append(f"deadline {s.rule.deadline}")
            if s.rule.jurisdiction != "CN":
                when.append(s.rule.jurisdiction)
            lines.append(f"- `{s.id}` ({kind}{'; ' + ', '.join(when) if when else ''}): {s.rule.title}")
            if s.rule.explanation:
                lines.append(f"  <br>explained as: {s.rule.explanation}")
            if s.interpretation:
                i = s.interpretation
                lines.append(f"  <br>**interpretation**: {i.reading} *Alternative*: {i.alternative} *Why*: {i.why}")
        if not specs:
            lines.append("- no rule yet")
        lines.append("")
    lines += ["## Instruments without a business duty", "",
              "Listed by `GET /v1/instruments` with `business_duty: false` and this reason.", ""]
    for inst in ruleset.catalogue:
        if not inst.business_duty:
            lines.append(f"- `{inst.id}` ({inst.title}): {inst.no_duty_reason}")
    return "\n".join(lines) + "\n"


def _kinds(specs: list[RuleSpec]) -> Counter[str]:
    """How many of the rules report each kind (rules that only derive facts are not counted)."""
    return Counter(s.rule.kind.value for s in specs if s.rule.kind)
