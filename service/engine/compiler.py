"""Rule specs -> durable-rules ruleset definitions (the JSON its C core compiles into a Rete network).

Each rule variant becomes one durable rule named `<rule id>#<variant>`, an `all` of patterns:

    [gate] [ctx] p0 p1 ... pN n0$not ...

Choices here work around behaviours of durable-rules 2.0.28 seen on these machines:

- A `$not` is judged once, when the patterns before it have matched; a fact arriving later
  does not undo it, even within one `assert_facts` batch. So every rule with `absent` starts
  with a *gate* pattern on a `phase` fact that the session asserts only when everything the
  rule negates is complete (see `RuleSpec.phase`).
- An `$or` that mixes constants with references to other facts drops the constants. Region
  containment is therefore written with references only (`<field>__province`, `<field>__country`).
- Within one match a fact is bound to at most one pattern, positive or `$not`: a rule with
  `licence: {...}` and `absent: {licence: {...}}` would never see the bound licence in its
  absence test. The k-th pattern on a fact type in a rule therefore matches the k-th copy of
  each fact (`t: licence~1`, ...); the evaluator asserts as many copies as the rules need.
- The alpha network visits at most 64 pending nodes per fact, and join tests are never shared
  between rules. Tests are ordered `t`, then constants, then joins, so joins hang below the
  constants that select them; when the estimate of pending nodes still exceeds `FANOUT_LIMIT`,
  rules that only report (derive nothing) are spread over further rulesets ("shards").
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from service.profile import regions
from service.profile.facts import CONTEXT, PHASE, date_number
from service.rulebase.conditions import AS_OF, Pattern, Test, Var, Variant
from service.rulebase.ruleset import RuleSet, RuleSpec

FANOUT_LIMIT = 48
MAX_PATTERNS = 15
START_RULE = "$start"


@dataclass(frozen=True)
class PatternRef:
    """How an alias of a compiled rule maps back to the rule's own pattern (for `because`)."""

    alias: str
    pattern: Pattern
    implied: str = ""  # "jurisdiction" for the pattern the compiler adds for a regional rule


@dataclass
class CompiledRule:
    name: str
    spec: RuleSpec
    variant: Variant
    refs: list[PatternRef]
    definition: dict[str, Any]
    chains: list[list[str]]  # the alpha nodes each pattern passes through (for the fan-out estimate)
    copies: dict[str, int]  # fact type -> copies of its facts this rule needs


@dataclass
class Shard:
    rules: dict[str, CompiledRule] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {START_RULE: {"all": [{"ctx": {"t": CONTEXT}}]}}
        for name, rule in self.rules.items():
            out[name] = rule.definition
        return out

    @property
    def max_phase(self) -> int:
        return max((r.spec.phase for r in self.rules.values()), default=0)


class CompileError(Exception):
    pass


def _value(value: Any) -> Any:
    return date_number(value) if isinstance(value, dt.date) else value


class _RuleCompiler:
    def __init__(self, spec: RuleSpec, index: int, variant: Variant):
        self.spec = spec
        self.variant = variant
        self.name = f"{spec.id}#{index}"
        self.positive = [p for p in variant.patterns if not p.negated]
        self.chains: list[list[str]] = []
        self.seen: dict[str, int] = {}  # fact type -> patterns on it so far (the copy the next one uses)

    def ref(self, var: Var, suffix: str = "") -> dict[str, str]:
        if var.name == AS_OF:
            return {"ctx": "as_of"}
        binding = self.variant.bindings[var.name]
        return {f"p{binding.pattern}": binding.field + suffix}

    def test(self, t: Test) -> tuple[bool, dict[str, Any]]:
        """One test -> (is_join, durable expression)."""
        f, op, v = t.field, t.op, t.value
        if isinstance(v, Var):
            if op in ("eq", "includes"):
                return True, {f: self.ref(v)}
            if op == "not":
                return True, {"$neq": {f: self.ref(v)}}
            if op in ("gte", "gt", "lte", "lt"):
                return True, {f"${op}": {f: self.ref(v)}}
            if op == "covers":
                return True, {"$or": [{f: self.ref(v)}, {f: self.ref(v, "__province")}, {f: self.ref(v, "__country")}]}
            if op == "within":
                return True, {"$or": [{f: self.ref(v)}, {f"{f}__province": self.ref(v)}, {f"{f}__country": self.ref(v)}]}
            raise CompileError(f"operator {op} does not take a variable")
        if op == "eq":
            return False, {f: _value(v)}
        if op == "in":
            return False, _any([{f: _value(x)} for x in v])
        if op == "not":
            return False, {"$neq": {f: _value(v)}}
        if op == "not_in":
            items = [{"$neq": {f: _value(x)}} for x in v]
            return False, items[0] if len(items) == 1 else {"$and": items}
        if op in ("gte", "gt", "lte", "lt"):
            return False, {f"${op}": {f: _value(v)}}
        if op == "includes":
            return False, {f: v} if t.spread else {"$iany": {f: {"$i": v}}}
        if op == "includes_any":
            if t.spread:
                return False, _any([{f: x} for x in v])
            return False, {"$iany": {f: _any([{"$i": x} for x in v])}}
        if op == "covers":
            return False, _any([{f: code} for code in regions.ancestors(v)])
        if op == "within":
            return False, _within(f, v)
        if op == "overlaps":
            tests = _within(f, v)
            outer = [{f: code} for code in regions.ancestors(v)[1:]]
            branches = (tests["$or"] if "$or" in tests else [tests]) + outer
            return False, _any(branches)
        if op == "given":
            return False, {"$ex" if v else "$nex": {f: 1}}
        raise CompileError(f"unknown operator {op}")

    def pattern(self, p: Pattern, alias: str) -> dict[str, Any]:
        constants, joins = [], []
        for t in p.tests:
            is_join, expr = self.test(t)
            (joins if is_join else constants).append(expr)
        copy = self.seen.get(p.fact, 0)
        self.seen[p.fact] = copy + 1
        tests = [{"t": copy_tag(p.fact, copy)}] + constants + joins
        # constants are shared alpha nodes; joins (and the node an $or creates) belong to this rule
        self.chains.append([
            json.dumps(x, sort_keys=True) if i < 1 + len(constants) and "$or" not in x else f"{self.name}/{alias}/{i}"
            for i, x in enumerate(tests)
        ])
        return tests[0] if len(tests) == 1 else {"$and": tests}

    def compile(self) -> CompiledRule:
        spec = self.spec
        elements: list[dict[str, Any]] = []
        refs: list[PatternRef] = []
        if spec.phase > 0:
            elements.append({"gate": {"$and": [{"t": PHASE}, {"n": spec.phase}]}})
        if self.variant.uses_as_of:
            elements.append({"ctx": {"t": CONTEXT}})
        for i, p in enumerate(self.positive):
            alias = f"p{i}"
            elements.append({alias: self.pattern(p, alias)})
            refs.append(PatternRef(alias, p))
        if spec.rule.jurisdiction != regions.COUNTRY:
            p = Pattern("presence", (Test("region", "overlaps", spec.rule.jurisdiction),), where="jurisdiction")
            alias = "pj"
            elements.append({alias: self.pattern(p, alias)})
            refs.append(PatternRef(alias, p, implied="jurisdiction"))
        for i, p in enumerate(x for x in self.variant.patterns if x.negated):
            alias = f"n{i}"
            elements.append({f"{alias}$not": self.pattern(p, alias)})
            refs.append(PatternRef(alias, p))
        if len(elements) > MAX_PATTERNS:
            raise CompileError(f"{spec.id}: more than {MAX_PATTERNS} patterns after compilation")
        return CompiledRule(self.name, spec, self.variant, refs, {"all": elements}, self.chains, dict(self.seen))


def copy_tag(fact: str, copy: int) -> str:
    return fact if copy == 0 else f"{fact}~{copy}"


def copies_needed(shards: list["Shard"]) -> dict[str, int]:
    """Fact type -> how many copies of each such fact a session must hold."""
    out: dict[str, int] = {}
    for shard in shards:
        for rule in shard.rules.values():
            for fact, n in rule.copies.items():
                out[fact] = max(out.get(fact, 1), n)
    return out


def with_copies(facts: list[dict[str, Any]], copies: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for fact in facts:
        out.append(fact)
        for k in range(1, copies.get(fact["t"], 1)):
            out.append({**fact, "t": copy_tag(fact["t"], k), "id": f"{fact['id']}~{k}"})
    return out


def _any(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0] if len(items) == 1 else {"$or": items}


def _within(f: str, code: str) -> dict[str, Any]:
    level = len(regions.ancestors(code))
    field_at = {1: f"{f}__country", 2: f"{f}__province", 3: f}
    if level == 3:  # a city: only the field itself can equal it
        return {f: code}
    return _any([{f: code}, {field_at[level]: code}])


# --- fan-out estimate ----------------------------------------------------------------------
class _AlphaTree:
    """An estimate of durable's alpha network: constant tests are shared nodes, joins are not.

    The count of children under a node bounds what one fact can push on the C core's
    64-entry traversal stack.
    """

    def __init__(self) -> None:
        self.children: dict[tuple, set[str]] = defaultdict(set)

    def _edges(self, rule: CompiledRule):
        for chain in rule.chains:
            parent: tuple = ()
            for key in chain:
                yield parent, key
                parent = parent + (key,)

    def fits(self, rule: CompiledRule, limit: int) -> bool:
        added: dict[tuple, set[str]] = defaultdict(set)
        for parent, key in self._edges(rule):
            if key not in self.children[parent]:
                added[parent].add(key)
                if len(self.children[parent]) + len(added[parent]) > limit:
                    return False
        return True

    def add(self, rule: CompiledRule) -> None:
        for parent, key in self._edges(rule):
            self.children[parent].add(key)

    def widest(self) -> int:
        return max((len(c) for c in self.children.values()), default=0)


def compile_ruleset(ruleset: RuleSet) -> list[Shard]:
    """All rules -> shards. Rules that derive facts share the first shard so chains stay in one session."""
    compiled: list[CompiledRule] = []
    for spec in ruleset.rules:
        for i, variant in enumerate(spec.variants):
            compiled.append(_RuleCompiler(spec, i, variant).compile())
    trees = [_AlphaTree()]
    shards: list[list[CompiledRule]] = [[]]
    for rule in (r for r in compiled if r.spec.rule.derive):
        trees[0].add(rule)
        shards[0].append(rule)
    if trees[0].widest() > FANOUT_LIMIT:
        raise CompileError(
            f"the rules that derive facts test one fact type in more than {FANOUT_LIMIT} different ways; "
            "durable-rules cannot hold them in one ruleset"
        )
    for rule in (r for r in compiled if not r.spec.rule.derive):
        for tree, shard in zip(trees, shards):
            if tree.fits(rule, FANOUT_LIMIT):
                break
        else:
            tree, shard = _AlphaTree(), []
            trees.append(tree)
            shards.append(shard)
        tree.add(rule)
        shard.append(rule)
    return [Shard({r.name: r for r in shard}) for shard in shards]
