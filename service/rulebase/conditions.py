"""The condition language: `when` lists parsed into patterns, checked against the fact vocabulary.

A rule's `when` is a list; every item must hold. An item is one of

- `<fact>: {field: test, ...}`      a fact of that type exists with those fields
- `absent: {<fact>: {...}}`         no fact of that type matches
- `any: [option, ...]`              at least one option holds (an option is an item or a list of items)

A test is a value (equality), a `$variable` (the first use binds it to the field's value,
later uses join on it), or a mapping of operators:

  in, not, not_in              membership and inequality
  at_least, more_than, at_most, less_than          numbers
  before, after, on_or_before, on_or_after         dates (a date, a $variable, or $as_of)
  includes, includes_any       a list field holds a value
  covers, within               regions: CN-GD covers CN-GD-SZ; CN-GD-SZ is within CN-GD
  given                        true: the profile states the field; false: it does not
  as                           names the field's value, alongside other tests: {in: [idc, cdn], as: $t}

`any` is expanded here into alternatives ("variants"), each a flat list of patterns, so
the compiler only ever sees conjunctions of patterns.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from service.profile import regions
from service.profile.facts import FACT_TYPES, RESERVED, FieldSpec

MAX_VARIANTS = 32
VAR_PATTERN = re.compile(r"^\$[a-z][a-z0-9_]{0,31}$")
TERM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
AS_OF = "$as_of"

COMPARISONS = {
    "at_least": "gte", "more_than": "gt", "at_most": "lte", "less_than": "lt",
    "on_or_after": "gte", "after": "gt", "on_or_before": "lte", "before": "lt",
}
NUMBER_OPS = {"at_least", "more_than", "at_most", "less_than"}
DATE_OPS = {"before", "after", "on_or_before", "on_or_after"}
OPERATORS = {"in", "not", "not_in", "includes", "includes_any", "covers", "within", "given"} | NUMBER_OPS | DATE_OPS


@dataclass(frozen=True)
class Var:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Test:
    """One test on one field. `op` is the normalised operator; `value` a constant, a tuple, or a Var."""

    field: str
    op: str  # eq, in, not, not_in, gte, gt, lte, lt, includes, includes_any, covers, within, overlaps, given
    value: Any
    spread: bool = False


@dataclass(frozen=True)
class Pattern:
    fact: str
    tests: tuple[Test, ...]
    negated: bool = False
    where: str = ""  # location in the rule, for messages


@dataclass(frozen=True)
class Binding:
    """Where a variable's value comes from: a field of the n-th positive pattern of a variant."""

    pattern: int
    field: str
    spec: FieldSpec


@dataclass
class Variant:
    patterns: list[Pattern]
    bindings: dict[str, Binding] = field(default_factory=dict)
    uses_as_of: bool = False


@dataclass
class ConditionError:
    where: str
    message: str


class Vocabulary:
    """Fact types and fields rules may name: the profile's own plus derived facts."""

    def __init__(self, derived: dict[str, dict[str, FieldSpec]] | None = None):
        self.types: dict[str, dict[str, FieldSpec]] = {**FACT_TYPES, **(derived or {})}
        self.derived = set(derived or {})

    def fields(self, fact: str) -> dict[str, FieldSpec] | None:
        return self.types.get(fact)


def _allowed(spec: FieldSpec) -> str:
    return ", ".join(spec.values)


def kind_family(spec: FieldSpec) -> str:
    return {"enum": "text", "term": "text", "list": "text"}.get(spec.kind, spec.kind)


class _Parser:
    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.errors: list[ConditionError] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(ConditionError(where, message))

    # --- any-expansion -------------------------------------------------------------------------
    def expand(self, items: list[Any], where: str) -> list[list[tuple[str, Any, str]]]:
        """Items -> alternatives, each a flat list of (key, body, where) with `any` resolved."""
        alternatives: list[list[tuple[str, Any, str]]] = [[]]
        for i, item in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(item, dict) or len(item) != 1:
                self.error(here, "each condition is a mapping with exactly one key: a fact type, absent, or any")
                continue
            (key, body), = item.items()
            if key == "any":
                if not isinstance(body, list) or len(body) < 2:
                    self.error(f"{here}.any", "any needs a list of at least two options")
                    continue
                options: list[list[tuple[str, Any, str]]] = []
                for j, option in enumerate(body):
                    option_items = option if isinstance(option, list) else [option]
                    options.extend(self.expand(option_items, f"{here}.any[{j}]"))
                alternatives = [a + o for a in alternatives for o in options]
                if len(alternatives) > MAX_VARIANTS:
                    self.error(f"{here}.any",
                               f"the conditions expand into more than {MAX_VARIANTS} alternatives; split the rule")
                    return [[]]
            else:
                for alt in alternatives:
                    alt.append((key, body, here))
        return alternatives

    # --- one variant ---------------------------------------------------------------------------
    def variant(self, items: list[tuple[str, Any, str]]) -> Variant | None:
        out = Variant(patterns=[])
        before = len(self.errors)
        positive = 0
        for key, body, where in items:
            negated = key == "absent"
            if negated:
                if not isinstance(body, dict) or len(body) != 1:
                    self.error(f"{where}.absent",
                               "absent takes exactly one fact pattern, e.g. absent: {licence: {type: CDN}}")
                    continue
                (key, body), = body.items()
                where = f"{where}.absent"
            pattern = self.pattern(key, body, f"{where}.{key}", negated, out, positive)
            if pattern is None:
                continue
            out.patterns.append(pattern)
            if not negated:
                positive += 1
        if not any(not p.negated for p in out.patterns) and len(self.errors) == before:
            self.error(items[0][2] if items else "when", "a rule needs at least one condition that is not `absent`")
        return out if len(self.errors) == before else None

    def pattern(self, fact: str, body: Any, where: str, negated: bool, variant: Variant, index: int) -> Pattern | None:
        if fact in RESERVED or fact in ("absent", "any"):
            self.error(where, f"{fact!r} cannot be used here")
            return None
        fields = self.vocab.fields(fact)
        if fields is None:
            known = ", ".join(sorted(FACT_TYPES))
            self.error(where, f"fact {fact!r} is neither a profile fact ({known}) nor derived by any rule")
            return None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            self.error(where, "a fact pattern maps field names to tests, e.g. {type: cdn}")
            return None
        tests: list[Test] = []
        for name, value in self.flatten(body, fields, where):
            spec = fields.get(name)
            if spec is None:
                self.error(f"{where}.{name}",
                           f"{fact} has no field {name!r}: expected one of {', '.join(sorted(fields))}")
                continue
            tests.extend(self.tests(name, spec, value, f"{where}.{name}", negated, variant, index))
        return Pattern(fact=fact, tests=tuple(tests), negated=negated, where=where)

    def flatten(self, body: dict[str, Any], fields: dict[str, FieldSpec], where: str) -> Iterator[tuple[str, Any]]:
        """`attributes: {users: ...}` names the field `attributes.users`."""
        for name, value in body.items():
            name = str(name)
            prefix = f"{name}."
            if name not in fields and isinstance(value, dict) and any(f.startswith(prefix) for f in fields):
                for sub, subvalue in value.items():
                    yield f"{name}.{sub}", subvalue
            else:
                yield name, value

    # --- tests ---------------------------------------------------------------------------------
    def tests(self, name: str, spec: FieldSpec, value: Any, where: str, negated: bool,
              variant: Variant, index: int) -> list[Test]:
        if isinstance(value, dict):
            out: list[Test] = []
            for op, operand in value.items():
                if op == "as":
                    test = self.bind_as(name, spec, operand, f"{where}.as", negated, variant, index)
                    if test:
                        out.append(test)
                    continue
                if op not in OPERATORS:
                    expected = ", ".join(sorted(OPERATORS | {"as"}))
                    self.error(f"{where}.{op}", f"unknown operator {op!r}: expected one of {expected}")
                    continue
                test = self.operator(name, spec, str(op), operand, f"{where}.{op}", variant)
                if test:
                    out.append(test)
            if not value:
                self.error(where, "an empty mapping tests nothing")
            return out
        if spec.kind == "list":
            self.error(where, f"{name} is a list: test it with includes or includes_any")
            return []
        if isinstance(value, str) and value.startswith("$"):
            var = self.variable(value, where)
            if var is None:
                return []
            if var.name == AS_OF:
                self.error(where, "$as_of can only be compared with before, after, on_or_before or on_or_after")
                return []
            bound = variant.bindings.get(var.name)
            if bound is None:
                if negated:
                    self.error(where, f"variable {var} is first used inside absent: bind it in an earlier condition")
                    return []
                variant.bindings[var.name] = Binding(index, name, spec)
                return [Test(name, "given", True)]  # a variable is only bound to a value that is there
            self.compatible(spec, bound.spec, var, where)
            return [Test(name, "eq", var)]
        constant = self.constant(spec, value, where)
        return [] if constant is _INVALID else [Test(name, "eq", constant)]

    def bind_as(self, name: str, spec: FieldSpec, operand: Any, where: str, negated: bool, variant: Variant,
                index: int) -> Test | None:
        """`type: {in: [idc, cdn], as: $t}`: test the field and name its value."""
        if negated:
            self.error(where, "as cannot be used inside absent: nothing there can be named")
            return None
        if spec.kind == "list":
            self.error(where, f"{name} is a list: a variable holds one value")
            return None
        if not (isinstance(operand, str) and operand.startswith("$")):
            self.error(where, "as takes a $variable")
            return None
        var = self.variable(operand, where)
        if var is None:
            return None
        if var.name == AS_OF or var.name in variant.bindings:
            self.error(where, f"{var} is already bound; as names a new variable")
            return None
        variant.bindings[var.name] = Binding(index, name, spec)
        return Test(name, "given", True)

    def operator(self, name: str, spec: FieldSpec, op: str, operand: Any, where: str, variant: Variant) -> Test | None:
        kind = spec.kind
        if op == "given":
            if not isinstance(operand, bool):
                self.error(where, "given takes true or false")
                return None
            return Test(name, "given", operand)
        if op in ("in", "not_in", "includes_any"):
            if op == "includes_any" and kind != "list":
                self.error(where, f"includes_any applies to list fields; {name} is not a list (use in)")
                return None
            if op != "includes_any" and kind == "list":
                self.error(where, f"{name} is a list: use includes or includes_any")
                return None
            if not isinstance(operand, list) or not operand:
                self.error(where, f"{op} takes a non-empty list of values")
                return None
            if any(isinstance(v, str) and v.startswith("$") for v in operand):
                self.error(where, f"{op} takes values, not variables")
                return None
            if op == "in" and kind in ("number", "date", "bool"):
                self.error(where, f"in applies to words, regions and countries; compare {kind}s with at_least/at_most "
                                  "or before/after")
                return None
            item_spec = FieldSpec("enum", spec.values) if kind == "list" and spec.values else (
                FieldSpec("term") if kind == "list" else spec)
            values = [self.constant(item_spec, v, f"{where}[{i}]") for i, v in enumerate(operand)]
            if any(v is _INVALID for v in values):
                return None
            return Test(name, op, tuple(values), spread=spec.spread)
        if op == "includes":
            if kind != "list":
                self.error(where, f"includes applies to list fields; {name} is not a list (use a value or in)")
                return None
            item_spec = FieldSpec("enum", spec.values) if spec.values else FieldSpec("term")
            if isinstance(operand, str) and operand.startswith("$"):
                var = self.bound(operand, where, variant)
                if var is None:
                    return None
                if not spec.spread:
                    self.error(where, f"{name} cannot be joined on a variable; test it with a value")
                    return None
                self.compatible(item_spec, variant.bindings[var.name].spec, var, where)
                return Test(name, "includes", var, spread=True)
            value = self.constant(item_spec, operand, where)
            return None if value is _INVALID else Test(name, "includes", value, spread=spec.spread)
        if op in ("covers", "within"):
            if kind != "region":
                self.error(where, f"{op} applies to region fields; {name} is not a region")
                return None
            if isinstance(operand, str) and operand.startswith("$"):
                var = self.bound(operand, where, variant)
                if var is None:
                    return None
                self.compatible(spec, variant.bindings[var.name].spec, var, where)
                return Test(name, op, var)
            value = self.constant(spec, operand, where)
            return None if value is _INVALID else Test(name, op, value)
        if op in NUMBER_OPS or op in DATE_OPS:
            wanted = "number" if op in NUMBER_OPS else "date"
            if kind != wanted:
                self.error(where, f"{op} compares {wanted}s; {name} is {'a' if kind != 'enum' else 'an'} {kind}")
                return None
            if isinstance(operand, str) and operand.startswith("$"):
                if operand == AS_OF and wanted == "date":
                    variant.uses_as_of = True
                    return Test(name, COMPARISONS[op], Var(AS_OF))
                var = self.bound(operand, where, variant)
                if var is None:
                    return None
                self.compatible(spec, variant.bindings[var.name].spec, var, where)
                return Test(name, COMPARISONS[op], var)
            value = self.constant(spec, operand, where)
            return None if value is _INVALID else Test(name, COMPARISONS[op], value)
        if op == "not":
            if kind == "list":
                self.error(where, f"{name} is a list: use absent, or includes on another fact")
                return None
            if isinstance(operand, str) and operand.startswith("$"):
                var = self.bound(operand, where, variant)
                if var is None:
                    return None
                self.compatible(spec, variant.bindings[var.name].spec, var, where)
                return Test(name, "not", var)
            value = self.constant(spec, operand, where)
            return None if value is _INVALID else Test(name, "not", value)
        return None

    # --- values --------------------------------------------------------------------------------
    def variable(self, text: str, where: str) -> Var | None:
        if not VAR_PATTERN.match(text):
            self.error(where, f"{text!r} is not a variable name: use $ and a lower-case identifier, e.g. $region")
            return None
        return Var(text)

    def bound(self, text: str, where: str, variant: Variant) -> Var | None:
        var = self.variable(text, where)
        if var is None:
            return None
        if var.name == AS_OF:
            self.error(where, "$as_of can only be compared with before, after, on_or_before or on_or_after")
            return None
        if var.name not in variant.bindings:
            self.error(where, f"variable {var} is used before a condition binds it (bind it with field: {var})")
            return None
        return var

    def compatible(self, spec: FieldSpec, other: FieldSpec, var: Var, where: str) -> None:
        if "unknown" in (spec.kind, other.kind):
            return
        if kind_family(spec) != kind_family(other):
            self.error(where, f"variable {var} holds a {other.kind} but is compared with a {spec.kind}")

    def constant(self, spec: FieldSpec, value: Any, where: str) -> Any:
        kind = spec.kind
        if kind == "unknown":
            if isinstance(value, (str, bool, int, float)) or value is None:
                return value
        elif kind == "bool":
            if isinstance(value, bool):
                return value
            self.error(where, f"expected true or false, got {value!r}")
            return _INVALID
        elif kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            self.error(where, f"expected a number, got {value!r}")
            return _INVALID
        elif kind == "date":
            if isinstance(value, dt.date):
                return value
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            self.error(where, f"expected a date (YYYY-MM-DD) or $as_of, got {value!r}")
            return _INVALID
        elif kind == "region":
            if isinstance(value, str) and regions.is_region(value):
                return value
            self.error(where, f"{value!r} is not a region: expected {regions.REGION_HELP}")
            return _INVALID
        elif kind == "country":
            if isinstance(value, str) and regions.is_country_code(value):
                return value
            self.error(where, f"{value!r} is not a country code (ISO 3166-1 alpha-2, e.g. SG)")
            return _INVALID
        elif kind == "enum":
            if isinstance(value, str) and value in spec.values:
                return value
            self.error(where, f"{value!r} is not allowed: expected one of {_allowed(spec)}")
            return _INVALID
        elif kind == "term":
            if isinstance(value, str) and TERM.match(value):
                return value
            self.error(where, f"expected a word such as internal_office or IDC, got {value!r}")
            return _INVALID
        self.error(where, f"unsupported value {value!r}")
        return _INVALID


class _Invalid:
    pass


_INVALID = _Invalid()


def parse_when(when: list[Any], vocab: Vocabulary, where: str = "when") -> tuple[list[Variant], list[ConditionError]]:
    """A rule's `when` -> its variants (one per combination of `any` options), or errors."""
    parser = _Parser(vocab)
    variants = []
    for items in parser.expand(when, where):
        v = parser.variant(items)
        if v is not None:
            variants.append(v)
    return (variants if not parser.errors else []), parser.errors


def derived_values(derive: dict[str, Any], variant: Variant,
                   where: str) -> tuple[dict[str, FieldSpec], list[ConditionError]]:
    """Check a derive section against a variant's variables; return the derived fact's field kinds."""
    errors: list[ConditionError] = []
    fields: dict[str, FieldSpec] = {}
    for name, value in derive.items():
        here = f"{where}.{name}"
        if isinstance(value, str) and value.startswith("$"):
            binding = variant.bindings.get(value)
            if binding is None:
                errors.append(ConditionError(here, f"variable {value} is not bound by the rule's conditions"))
                continue
            spec = binding.spec
            fields[name] = FieldSpec(spec.kind if spec.kind != "list" else "term", spec.values)
        elif isinstance(value, bool):
            fields[name] = FieldSpec("bool")
        elif isinstance(value, (int, float)):
            fields[name] = FieldSpec("number")
        elif isinstance(value, str) and regions.is_region(value):
            fields[name] = FieldSpec("region")
        elif isinstance(value, str) and TERM.match(value):
            fields[name] = FieldSpec("term")
        else:
            errors.append(ConditionError(here, "a derived field takes a $variable, true/false, a number, a region or "
                                               f"an identifier, got {value!r}"))
    return fields, errors


def referenced_facts(when: list[Any]) -> tuple[set[str], set[str]]:
    """Fact types a `when` names positively and inside absent (before any checking)."""
    positive: set[str] = set()
    negative: set[str] = set()

    def walk(items: Any) -> None:
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            return
        for item in items:
            if not isinstance(item, dict):
                continue
            for key, body in item.items():
                if key == "any" and isinstance(body, list):
                    for option in body:
                        walk(option)
                elif key == "absent" and isinstance(body, dict):
                    negative.update(str(k) for k in body)
                else:
                    positive.add(str(key))

    walk(when)
    return positive, negative
