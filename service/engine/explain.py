"""`because`: the facts a rule matched and the absences it relied on, in words a person can check.

"service cdn in CN-GD", "no licence with scope including cdn covering CN-GD".
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from service.profile.facts import FACT_TYPES, FieldSpec, number_date
from service.rulebase.conditions import AS_OF, Pattern, Test, Var, Variant

from .compiler import CompiledRule

OP_WORDS = {
    "in": "in", "not": "not", "not_in": "not in", "includes": "including", "includes_any": "including any of",
    "covers": "covering", "within": "within", "overlaps": "in",
}
NUMBER_WORDS = {"gte": "at least", "gt": "more than", "lte": "at most", "lt": "less than"}
DATE_WORDS = {"gte": "on or after", "gt": "after", "lte": "on or before", "lt": "before"}
IDENTITY = {
    "service": ("type", "region"),
    "licence": ("type", "region"),
    "data": ("category",),
    "cross_border": ("kind",),
    "product": ("kind",),
    "network_resource": ("kind",),
    "presence": ("region",),
}
#: What a description of a fact depends on besides the fact: its type, and the fields a pattern shows (with, for a
#: `given` test, whether it requires the field stated).
Signature = tuple[str, tuple[tuple[str, Any], ...]]
#: One description of `because`: an absence and the values it was judged with, or a fact's signature and its id.
ReasonKey = tuple[int, tuple[Any, ...]] | tuple[Signature, Any]


def lookup(fact: dict[str, Any], path: str) -> Any:
    value: Any = fact
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _show(value: Any, spec: FieldSpec | None) -> str:
    if spec is not None and spec.kind == "date" and isinstance(value, int):
        return number_date(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v, None) for v in value)
    return str(value)


class Explainer:
    def __init__(self, derived: dict[str, dict[str, FieldSpec]]):
        self.types = {**FACT_TYPES, **derived}
        self.derived = set(derived)
        self._signatures: dict[int, Signature] = {}

    def spec(self, fact: str, field: str) -> FieldSpec | None:
        return self.types.get(fact, {}).get(field)

    def because(self, rule: CompiledRule, match: dict[str, Any], as_of: dt.date,
                cache: dict[ReasonKey, str] | None = None) -> list[str]:
        """The reasons of one match. `cache` keeps one description per fact and what a pattern shows of it,
        and per absence and the values it was judged with, so a fact many rules matched is described once."""
        cache = {} if cache is None else cache
        out = []
        for ref in rule.refs:
            key: ReasonKey
            if ref.pattern.negated:
                key = (id(ref.pattern), self._bound_values(ref.pattern, rule.variant, match))
                text = cache.get(key)
                if text is None:
                    text = cache[key] = self.absent(ref.pattern, rule.variant, match, as_of)
                out.append(text)
            else:
                fact = match.get(ref.alias)
                if fact is not None:
                    key = (self._signature(ref.pattern), fact.get("id"))
                    text = cache.get(key)
                    if text is None:
                        text = cache[key] = self.present(ref.pattern, fact)
                    out.append(text)
        return out

    def _signature(self, pattern: Pattern) -> Signature:
        sig = self._signatures.get(id(pattern))
        if sig is None:
            identity = IDENTITY.get(pattern.fact, ())
            shown = tuple(sorted((t.field, t.op == "given" and t.value)
                                 for t in pattern.tests if t.field not in identity))
            sig = self._signatures[id(pattern)] = (pattern.fact, shown)
        return sig

    @staticmethod
    def _bound_values(pattern: Pattern, variant: Variant, match: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for test in pattern.tests:
            if isinstance(test.value, Var) and test.value.name != AS_OF:
                binding = variant.bindings.get(test.value.name)
                if binding is not None:
                    values.append(lookup(match.get(f"p{binding.pattern}", {}), binding.field))
        return tuple(values)

    def present(self, pattern: Pattern, fact: dict[str, Any]) -> str:
        name = pattern.fact
        if name == "presence":
            region = fact.get("region")
            return f"registered in {region}" if fact.get("registered") else f"offers services in {region}"
        identity = IDENTITY.get(name, ())
        head = name.replace("_", " ")
        parts = [head]
        if name == "service":
            parts = [f"service {fact.get('type')}"] + ([f"in {fact['region']}"] if fact.get("region") else [])
        elif name == "licence":
            parts = [f"licence {fact.get('type')}"] + ([f"for {fact['region']}"] if fact.get("region") else [])
        elif identity:
            parts = [head] + [str(fact.get(f)) for f in identity if fact.get(f) is not None]
        details = []
        for test in pattern.tests:
            if test.field in identity:
                continue
            value = lookup(fact, test.field)
            if value is None and test.op != "given":
                continue
            label = test.field.split(".")[-1].replace("_", " ")
            details.append(f"{label} {_show(value, self.spec(name, test.field))}" if test.op != "given"
                           else f"{label} {'stated' if test.value else 'not stated'}")
        if name in self.derived:
            values = [f"{k.replace('_', ' ')} {_show(v, self.spec(name, k))}" for k, v in sorted(fact.items())
                      if k not in ("t", "id", "sid") and "__" not in k]
            return f"{head} (derived)" + (f": {', '.join(values)}" if values else "")
        text = " ".join(parts)
        return f"{text} ({', '.join(details)})" if details else text

    def absent(self, pattern: Pattern, variant: Variant, match: dict[str, Any], as_of: dt.date) -> str:
        words = []
        for test in pattern.tests:
            value = self._operand(test, variant, match, as_of)
            spec = self.spec(pattern.fact, test.field)
            label = test.field.split(".")[-1].replace("_", " ")
            if test.op == "eq":
                words.append(f"{label} {_show(value, spec)}")
            elif test.op in NUMBER_WORDS:
                table = DATE_WORDS if spec is not None and spec.kind == "date" else NUMBER_WORDS
                words.append(f"{label} {table[test.op]} {_show(value, spec)}")
            elif test.op == "given":
                words.append(f"{label} {'stated' if test.value else 'not stated'}")
            else:
                words.append(f"{label} {OP_WORDS.get(test.op, test.op)} {_show(value, spec)}")
        subject = pattern.fact.replace("_", " ")
        return f"no {subject}" + (f" with {', '.join(words)}" if words else "")

    def _operand(self, test: Test, variant: Variant, match: dict[str, Any], as_of: dt.date) -> Any:
        if isinstance(test.value, Var):
            if test.value.name == AS_OF:
                return as_of
            binding = variant.bindings.get(test.value.name)
            if binding is None:
                return test.value.name
            fact = match.get(f"p{binding.pattern}", {})
            value = lookup(fact, binding.field)
            if binding.spec.kind == "date" and isinstance(value, int):
                return number_date(value)
            return value
        return test.value
