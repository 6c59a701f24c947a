"""`explanation`: a finding in one or two plain sentences, from the rule's template and what it matched.

The template is the analyst's (rules/*.yaml, checked by `service/rulebase/explanations.py`); this
module only fills its placeholders with the matched values in words. A rule without a template
gets a sentence made of its title and its reasons, so an obligation always carries one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from service.profile import labels
from service.profile.facts import FACT_TYPES, FieldSpec, number_date
from service.rulebase.explanations import Placeholder, Template, first_pattern
from service.rulebase.ruleset import RuleSpec

from .compiler import CompiledRule
from .explain import lookup

Match = tuple[CompiledRule, dict[str, Any]]
FALLBACK_REASONS = 4


class Sentences:
    def __init__(self, derived: dict[str, dict[str, FieldSpec]]):
        self.types = {**FACT_TYPES, **derived}

    def explanation(self, spec: RuleSpec, matches: list[Match], as_of: dt.date, because: list[str]) -> str:
        text = self.render(spec.explanation, spec, matches, as_of) if spec.explanation is not None else None
        return text if text is not None else self.fallback(spec, because)

    def render(self, template: Template, spec: RuleSpec, matches: list[Match], as_of: dt.date) -> str | None:
        """The template filled in; None when a placeholder has no value (the checks make that a defect)."""
        out: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            values = self.values(part, spec, matches, as_of)
            if not values:
                return None
            out.append(labels.join(values, part.conjunction))
        text = "".join(out).strip()
        return text[:1].upper() + text[1:]

    def values(self, p: Placeholder, spec: RuleSpec, matches: list[Match], as_of: dt.date) -> list[str]:
        if p.kind == "date":
            day = as_of if p.name == "as_of" else getattr(spec.rule, p.name)
            return [] if day is None else [day.isoformat() if p.code else labels.day(day)]
        seen: dict[str, tuple] = {}  # text -> sort key: numbers by value, words alphabetically (not by profile order)
        for compiled, match in matches:
            variant = compiled.variant
            if p.kind == "var":
                binding = variant.bindings.get(p.name)
                if binding is None:
                    continue
                raw, field_spec = lookup(match.get(f"p{binding.pattern}", {}), binding.field), binding.spec
            else:
                found = first_pattern(variant, p.name)
                if found is None:
                    continue
                raw = lookup(match.get(f"p{found[0]}", {}), p.field)
                field_spec = self.types.get(p.name, {}).get(p.field)
            for text in (_codes(raw, field_spec) if p.code else labels.value(raw, field_spec)):
                seen.setdefault(text, (0, raw, "") if isinstance(raw, (int, float)) and not isinstance(raw, bool)
                                else (1, 0, text.lower()))
        return sorted(seen, key=seen.__getitem__)

    @staticmethod
    def fallback(spec: RuleSpec, because: list[str]) -> str:
        title = spec.rule.title.rstrip(".")
        if not because:
            return f"{title}."
        shown = "; ".join(because[:FALLBACK_REASONS]) + ("; and more" if len(because) > FALLBACK_REASONS else "")
        return f"{title}. This applies because the profile shows: {shown}."


def _codes(raw: Any, spec: FieldSpec | None) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(x) for x in raw]
    if spec is not None and spec.kind == "date" and isinstance(raw, int):
        return [number_date(raw).isoformat()]
    if isinstance(raw, bool):
        return ["true" if raw else "false"]
    return [str(raw)]
