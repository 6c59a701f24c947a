"""Rule specs -> durable-rules ruleset definitions (the JSON its C core compiles into a Rete network).

Each rule variant becomes one or more durable rules named `<rule id>#<variant>[.<k>]`, each an
`all` of patterns:

    [gate] [ctx] p0 p1 ... pN n0$not ...

Choices here work around behaviours of durable-rules 2.0.28 seen on these machines (each is
pinned by a test in tests/unit/test_engine.py):

- A `$not` is judged once, when the patterns before it have matched; a fact arriving later
  does not undo it, even within one `assert_facts` batch. So every rule with `absent` starts
  with a *gate* pattern on a `phase` fact that the session asserts only when everything the
  rule negates is complete (see `RuleSpec.phase`).
- Within one match a fact is bound to at most one pattern, positive or `$not`: a rule with
  `licence: {...}` and `absent: {licence: {...}}` would never see the bound licence in its
  absence test. The k-th pattern on a fact type in a rule therefore matches the k-th copy of
  each fact (`t: licence~1`, ...); the evaluator asserts as many copies as the rules need.
- `$or` appears only at the top of a pattern, with constant branches. Inside `$iany` it leaves
  a node half-initialised (rete.c reads an uninitialised field: `create_ruleset` failed at
  random with error 102), and mixed with references to other facts it drops its constants. So
  "a list includes any of these" is one durable rule (or one `$not`) per value, and a join with
  alternatives (a region covering another at any level) is one durable rule per alternative, or,
  inside `absent`, one `$not` per alternative (no X or Y = no X and no Y). Regular expressions
  (`$mt`) are not used: `delete_ruleset` never frees their state machines (~30 MB per rule set
  and activation on this rule base).
- The alpha network visits at most 64 pending nodes per fact, join tests are never shared
  between rules, and one alpha node links at most 256 beta nodes. Tests are ordered `t`, then
  constants, then joins, so joins hang below the constants that select them; when the estimate
  of these counts (`_AlphaTree`) nears a limit, rules that only report (derive nothing) are
  spread over further rulesets ("shards").
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service.profile import regions
from service.profile.facts import CONTEXT, PHASE, date_number
from service.rulebase.conditions import AS_OF, Pattern, Test, Var, Variant
from service.rulebase.ruleset import RuleSet, RuleSpec

STACK_LIMIT = 56         # alpha nodes one fact may have pending at once (the core's stack holds 64)
BETA_LINK_LIMIT = 200    # patterns ending on one alpha node (the core links at most 256 beta nodes to it)
CHILD_LIMIT = 400        # children of one alpha node (the core's hash set has 512 buckets)
PATTERNS_PER_FACT = 200  # patterns on one fact type per ruleset: a plain bound, a margin where the model is coarse
MAX_PATTERNS = 15        # patterns in one durable rule (the core keeps at most 16 per frame)
MAX_ALTERNATIVES = 16    # durable rules one rule variant may expand into
START_RULE = "$start"

#: The alpha nodes one pattern passes through, each (node key, group): the fan-out estimate's input.
Chain = list[tuple[str, str]]
#: One way a pattern can match: its durable-rules expression and its alpha chains.
Alternative = tuple[dict[str, Any], list[Chain]]


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
    chains: list[Chain]  # (node, group) each pattern passes through (the fan-out estimate)
    copies: dict[str, int]  # fact type -> copies of its facts this rule needs
    pattern_facts: list[str]  # the fact type (with its copy) of each pattern


#: A compiled rule and what it matched: alias (`p0`, `ctx`, ...) -> fact.
Match = tuple[CompiledRule, dict[str, Any]]


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


def _members(field_: str, values: Sequence[Any]) -> dict[str, Any]:
    """field is one of `values`: one equality, or an `$or` of equalities on constants."""
    distinct = list(dict.fromkeys(_value(v) for v in values))
    if len(distinct) == 1:
        return {field_: distinct[0]}
    return {"$or": [{field_: v} for v in distinct]}


def _any_field(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Any of several fields equals its constant (region containment across the region's levels)."""
    pairs = list(dict.fromkeys(pairs))
    if len(pairs) == 1:
        (f, v), = pairs
        return {f: v}
    return {"$or": [{f: v} for f, v in pairs]}


def _inside(f: str, code: str) -> list[tuple[str, str]]:
    """(field, value) pairs saying that a fact's region `f` lies inside `code` (or is it)."""
    level = len(regions.ancestors(code))
    return ([(f, code)] + ([(f"{f}__province", code)] if level == 2 else [])
            + ([(f"{f}__country", code)] if level == 1 else []))


class _RuleCompiler:
    def __init__(self, spec: RuleSpec, index: int, variant: Variant):
        self.spec = spec
        self.variant = variant
        self.index = index
        self.positive = [p for p in variant.patterns if not p.negated]

    def ref(self, var: Var, suffix: str = "") -> dict[str, str]:
        if var.name == AS_OF:
            return {"ctx": "as_of"}
        binding = self.variant.bindings[var.name]
        return {f"p{binding.pattern}": binding.field + suffix}

    def test(self, t: Test) -> tuple[bool, list[dict[str, Any]]]:
        """One test -> (is_join, alternatives): the test holds when any one alternative holds."""
        f, op, v = t.field, t.op, t.value
        if isinstance(v, Var):
            if op in ("eq", "includes"):
                return True, [{f: self.ref(v)}]
            if op == "not":
                return True, [{"$neq": {f: self.ref(v)}}]
            if op in ("gte", "gt", "lte", "lt"):
                return True, [{f"${op}": {f: self.ref(v)}}]
            if op == "covers":  # this region is the variable's region or contains it
                return True, [{f: self.ref(v, suffix)} for suffix in ("", "__province", "__country")]
            if op == "within":  # this region is inside the variable's region
                return True, [{f"{f}{suffix}": self.ref(v)} for suffix in ("", "__province", "__country")]
            raise CompileError(f"operator {op} does not take a variable")
        if op == "eq":
            return False, [{f: _value(v)}]
        if op == "in":
            return False, [_members(f, list(v))]
        if op == "not":
            return False, [{"$neq": {f: _value(v)}}]
        if op == "not_in":
            items = [{"$neq": {f: _value(x)}} for x in v]
            return False, [items[0] if len(items) == 1 else {"$and": items}]
        if op in ("gte", "gt", "lte", "lt"):
            return False, [{f"${op}": {f: _value(v)}}]
        if op == "includes":
            return False, [{f: v} if t.spread else {"$iany": {f: {"$i": v}}}]
        if op == "includes_any":
            if t.spread:
                return False, [_members(f, list(v))]
            return False, [{"$iany": {f: {"$i": x}}} for x in dict.fromkeys(v)]  # alternatives: no $or in $iany
        if op == "covers":  # this region contains the constant one: it is one of its ancestors
            return False, [_members(f, regions.ancestors(v))]
        if op == "within":  # the constant is this region, or contains it
            return False, [_any_field(_inside(f, v))]
        if op == "overlaps":  # one contains the other
            return False, [_any_field(_inside(f, v) + [(f, code) for code in regions.ancestors(v)[1:]])]
        if op == "given":
            return False, [{"$ex" if v else "$nex": {f: 1}}]
        raise CompileError(f"unknown operator {op}")

    def pattern(self, p: Pattern, tag: str) -> list[Alternative]:
        """A pattern -> its alternatives, each (expression, alpha chain)."""
        constants: list[dict[str, Any]] = []
        joins: list[list[dict[str, Any]]] = []
        for t in p.tests:
            is_join, alternatives = self.test(t)
            if is_join or len(alternatives) > 1:
                joins.append(alternatives)
            else:
                constants.append(alternatives[0])
        out: list[Alternative] = []
        for k, chosen in enumerate(itertools.product(*joins) if joins else [()]):
            tests = [{"t": tag}] + constants + list(chosen)
            out.append((tests[0] if len(tests) == 1 else {"$and": tests},
                        _chains(tests, f"{self.spec.id}#{self.index}/{tag}/{k}", shared=1 + len(constants))))
        return out

    def compile(self) -> list[CompiledRule]:
        spec = self.spec
        seen: dict[str, int] = {}

        def tag(fact: str) -> str:
            copy = seen.get(fact, 0)
            seen[fact] = copy + 1
            return copy_tag(fact, copy)

        head: list[tuple[str, dict[str, Any], list[Chain]]] = []
        if spec.phase > 0:
            head.append(("gate", {"$and": [{"t": PHASE}, {"n": spec.phase}]},
                         [[(json.dumps({"t": PHASE}), "eq:t"), (json.dumps({"n": spec.phase}), "eq:n")]]))
        if self.variant.uses_as_of:
            head.append(("ctx", {"t": CONTEXT}, [[(json.dumps({"t": CONTEXT}), "eq:t")]]))

        positives: list[tuple[str, Pattern, list[Alternative]]] = []
        for i, p in enumerate(self.positive):
            t = tag(p.fact)
            positives.append((f"p{i}", p, self.pattern(p, t)))
        if spec.rule.jurisdiction != regions.COUNTRY:
            # a local instrument binds those registered or operating in its region (or a region inside it, or the
            # province around a city): a service offered nationwide (CN) does not by itself bring a business under it
            p = Pattern("presence", (Test("region", "overlaps", spec.rule.jurisdiction),
                                     Test("region", "not", regions.COUNTRY)), where="jurisdiction")
            positives.append(("pj", p, self.pattern(p, tag("presence"))))
        negatives: list[tuple[str, Pattern, dict[str, Any], list[Chain]]] = []
        n = 0
        for p in (x for x in self.variant.patterns if x.negated):
            t = tag(p.fact)
            for expr, chain in self.pattern(p, t):  # no X-or-Y = no X and no Y
                negatives.append((f"n{n}", p, expr, chain))
                n += 1

        combos = list(itertools.product(*[alts for _, _, alts in positives]))
        if len(combos) > MAX_ALTERNATIVES:
            raise CompileError(f"{spec.id}: its conditions expand into more than {MAX_ALTERNATIVES} engine rules; "
                               "split the rule")
        out: list[CompiledRule] = []
        for k, combo in enumerate(combos):
            elements = [{alias: expr} for alias, expr, _ in head]
            chains = [path for _, _, paths in head for path in paths]
            facts = [paths[0][0][0] for _, _, paths in head]
            refs: list[PatternRef] = []
            for (alias, p, _), (expr, paths) in zip(positives, combo, strict=True):
                elements.append({alias: expr})
                chains.extend(paths)
                facts.append(paths[0][0][0])
                refs.append(PatternRef(alias, p, implied="jurisdiction" if alias == "pj" else ""))
            for alias, p, expr, paths in negatives:
                elements.append({f"{alias}$not": expr})
                chains.extend(paths)
                facts.append(paths[0][0][0])
                refs.append(PatternRef(alias, p))
            if len(elements) > MAX_PATTERNS:
                raise CompileError(f"{spec.id}: more than {MAX_PATTERNS} patterns after compilation")
            name = f"{spec.id}#{self.index}" + (f".{k}" if len(combos) > 1 else "")
            out.append(CompiledRule(name, spec, self.variant, refs, {"all": elements}, chains, dict(seen), facts))
        return out


def _chains(tests: list[dict[str, Any]], name: str, shared: int) -> list[Chain]:
    """The alpha paths of one pattern as the core builds them. An `$or` puts each branch under the current
    node and links every branch to a new forward node (always pushed), under which the rest hangs."""
    paths: list[Chain] = [[]]
    for i, x in enumerate(tests):
        if "$or" in x:
            forward = (f"{name}/{i}/or", f"{name}/{i}/or")
            branches = [_node(b, f"{name}/{i}/{j}", shared=True) for j, b in enumerate(x["$or"])]
            paths = [path + [branch, forward] for path in paths for branch in branches]
        else:
            node = _node(x, f"{name}/{i}", shared=i < shared)
            paths = [path + [node] for path in paths]
    return paths


def _node(expr: dict[str, Any], unique: str, shared: bool) -> tuple[str, str]:
    """(key, group) of one alpha node, as the core builds it.

    Equality constants are shared between rules and form a group per field (a fact matches one
    of them). List (`$iany`) nodes are counted as one per pattern: seen on this machine, a
    business with four sectors overflowed the stack through many `includes` tests.
    """
    if not shared or "$iany" in expr:
        return unique, unique
    key = json.dumps(expr, sort_keys=True)
    if len(expr) == 1:
        (name, value), = expr.items()
        if not name.startswith("$") and not isinstance(value, (dict, list)):
            return key, f"eq:{name}"
    return key, key


def copy_tag(fact: str, copy: int) -> str:
    return fact if copy == 0 else f"{fact}~{copy}"


def copies_needed(shards: list[Shard]) -> dict[str, int]:
    """Fact type -> how many copies of each such fact a session must hold."""
    out: dict[str, int] = {}
    for shard in shards:
        for rule in shard.rules.values():
            for fact, n in rule.copies.items():
                out[fact] = max(out.get(fact, 1), n)
    return out


def with_copies(facts: list[dict[str, Any]], copies: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for fact in facts:
        out.append(fact)
        for k in range(1, copies.get(fact["t"], 1)):
            out.append({**fact, "t": copy_tag(fact["t"], k), "id": f"{fact['id']}~{k}"})
    return out


# --- fitting rules into rulesets ---------------------------------------------------------------
#: An alpha node of the estimate: the keys of the nodes from the root down to it.
Node = tuple[str, ...]


@dataclass
class _Added:
    """What adding one rule changed in an `_AlphaTree`: checked against the limits, and undone if past one."""

    children: list[tuple[Node, str]] = field(default_factory=list)  # (parent, key of the new child)
    ends: list[Node] = field(default_factory=list)  # the last node of each pattern (one beta link each)
    facts: list[str] = field(default_factory=list)  # the fact type of each pattern
    needs: list[tuple[Node, int | None]] = field(default_factory=list)  # (node, its need before)


class _AlphaTree:
    """An estimate of durable's alpha network, to keep each ruleset within the C core's limits.

    Constant tests are shared nodes; joins are not. The core walks the network depth first
    with a 64-entry stack: a node pushes every child that can apply to the fact (at most one
    equality test per field, every other child), so the stack a node needs is its pushed
    children plus the deepest need below one of them. Each alpha node also links at most 256
    beta nodes, and holds at most 512 children. Where this model is coarse, a plain bound on
    the patterns per fact type keeps a margin (the x16 benchmark rule base exercises it).
    """

    def __init__(self) -> None:
        self.children: dict[Node, dict[str, str]] = defaultdict(dict)  # node -> {child key: group}
        self.need: dict[Node, int] = {}  # node -> stack entries its subtree can need
        self.ends: dict[Node, int] = defaultdict(int)  # last alpha node of a pattern -> beta nodes linked
        self.per_fact: dict[str, int] = defaultdict(int)  # fact type -> patterns on it

    def _need_of(self, node: Node) -> int:
        kids = self.children.get(node)
        if not kids:
            return 0
        groups = len(set(kids.values()))
        deepest = max(self.need.get(node + (key,), 0) for key in kids)
        return max(groups, groups - 1 + deepest)

    def _add(self, rule: CompiledRule) -> _Added:
        added = _Added()
        touched: set[Node] = set()
        for chain in rule.chains:
            parent: Node = ()
            for key, group in chain:
                if key not in self.children[parent]:
                    self.children[parent][key] = group
                    added.children.append((parent, key))
                touched.add(parent)
                parent = parent + (key,)
            self.ends[parent] += 1
            added.ends.append(parent)
        for fact in rule.pattern_facts:
            self.per_fact[fact] += 1
            added.facts.append(fact)
        for node in sorted(touched, key=len, reverse=True):
            added.needs.append((node, self.need.get(node)))
            self.need[node] = self._need_of(node)
        return added

    def _undo(self, added: _Added) -> None:
        for node, before in reversed(added.needs):
            if before is None:
                self.need.pop(node, None)
            else:
                self.need[node] = before
        for fact in added.facts:
            self.per_fact[fact] -= 1
        for end in added.ends:
            self.ends[end] -= 1
        for parent, key in added.children:
            del self.children[parent][key]

    def fits(self, rule: CompiledRule) -> bool:
        """Add the rule if the ruleset stays within the limits; otherwise leave it unchanged."""
        added = self._add(rule)
        ok = (self.need.get((), 0) <= STACK_LIMIT
              and all(self.ends[end] <= BETA_LINK_LIMIT for end in added.ends)
              and all(len(self.children[parent]) <= CHILD_LIMIT for parent, _ in added.children)
              and all(self.per_fact[fact] <= PATTERNS_PER_FACT for fact in added.facts))
        if not ok:
            self._undo(added)
        return ok


def compile_ruleset(ruleset: RuleSet) -> list[Shard]:
    """All rules -> shards. Rules that derive facts share the first shard so chains stay in one session."""
    compiled: list[CompiledRule] = []
    for spec in ruleset.rules:
        for i, variant in enumerate(spec.variants):
            compiled.extend(_RuleCompiler(spec, i, variant).compile())
    trees = [_AlphaTree()]
    shards: list[list[CompiledRule]] = [[]]
    for rule in (r for r in compiled if r.spec.rule.derive):
        if not trees[0].fits(rule):
            raise CompileError(
                f"the rules that derive facts are too many or test one fact type in too many ways for one "
                f"durable-rules ruleset (at {rule.spec.id}); chains of derived facts must stay in one ruleset"
            )
        shards[0].append(rule)
    for rule in (r for r in compiled if not r.spec.rule.derive):
        for tree, shard in zip(trees, shards, strict=True):
            if tree.fits(rule):
                shard.append(rule)
                break
        else:
            tree = _AlphaTree()
            if not tree.fits(rule):
                raise CompileError(f"{rule.spec.id} alone exceeds what one durable-rules ruleset can hold")
            trees.append(tree)
            shards.append([rule])
    return [Shard({r.name: r for r in shard}) for shard in shards]
