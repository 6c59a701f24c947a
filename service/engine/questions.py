"""What to ask next: facts a partial profile does not give that would make further rules apply if true.

Sound by construction, in two steps:

1. *Candidates* come from the rules' own conditions. For every positive condition of every rule
   (rules that only derive facts included, since categories chain into the rules that report), the
   single fact that would satisfy its constant tests is proposed: a business flag or sector the
   profile leaves unstated, a registered region where a regional rule applies, a service type not
   offered, a licence, data category, cross-border flow, product or network resource not listed, or
   an unstated attribute of an item the profile already lists (a service aimed at minors, data about
   children, a VPN that is not approved, ...). A new service is offered where the business is known
   to be (its registered region and the regions of its services), unless the condition names a region.
2. *Verification*: each candidate is added to the profile and the profile evaluated again; the rules
   that report on `as_of` with it and not without it are the rules it would open. A candidate that
   opens nothing is dropped, so every question shown is one whose answer "yes" changes the assessment.

Candidates are deduplicated and taken in a fixed order, at most MAX_CANDIDATES of them, so the answer
is deterministic and bounded. Questions are ranked by score: the sum of the severity weights of the
rules they would open (critical 5, high 4, medium 3, low 2, info 1), so both how many rules and how
severe count; ties go to the question opening more rules, then to the path. Groups (the business,
new services, the first service listed, ...) are ranked by their best question.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from service.profile import labels, regions, wording
from service.profile.facts import FACT_TYPES
from service.profile.model import Profile, check_list_sizes
from service.rulebase.conditions import Pattern, Test, Var
from service.rulebase.rule_file import listing_key
from service.rulebase.ruleset import RuleSpec

from .assessment import Citation, RuleSetRef
from .budget import UNBOUNDED_TIME, Budget
from .compiler import Match
from .evaluate import CompiledRuleSet, conditional_on, in_window

MAX_CANDIDATES = 400
#: Unstated facts the current findings depend on that are tried both ways (two evaluations each).
MAX_CONDITIONAL = 50
#: What a rule a question would open adds to the question's score.
SEVERITY_WEIGHT = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}

#: The field that says what an item of a profile list is.
_IDENTITY = {"service": "type", "licence": "type", "data": "category", "cross_border": "kind", "product": "kind",
             "network_resource": "kind"}
#: Profile lists, the fact each holds, and the field that says what an item is.
LISTS = {fact: (labels.FACT_LISTS[fact], identity) for fact, identity in _IDENTITY.items()}
LISTS_BY_NAME = {name: identity for name, identity in LISTS.values()}
#: What, besides the identity, says what a new item is: a cross-border flow's data, a product's trade.
ITEM_IDENTITY = {"cross_border": ("data_category",), "products": ("trade",)}


# --- the answer --------------------------------------------------------------------------------------
class OpenedRule(BaseModel):
    """A rule a fact would make report (or stop reporting): enough to rank and show it."""

    rule_id: str = Field(description="The rule's id; its citations are under `rules` of the answer.")
    kind: str = Field(description="The kind of finding it gives: obligation, prohibition, violation, advisory, notice.")
    severity: str = Field(description="Its severity: critical, high, medium, low or info.")
    title: str = Field(description="The rule's title.")


class RuleCitations(BaseModel):
    """A rule the questions would open, with where the law says so: cited once however many questions open it."""

    kind: str = Field(description="The kind of finding it gives: obligation, prohibition, violation, advisory, notice.")
    severity: str = Field(description="Its severity: critical, high, medium, low or info.")
    title: str = Field(description="The rule's title.")
    citations: list[Citation] = Field(description="The instruments and passages the rule rests on, first the main one.")


class Question(BaseModel):
    """A fact the profile does not give that would make further rules report if it were true."""

    id: str = Field(description="Stable key of the fact: its path and value.")
    path: str = Field(description="Where the fact goes in the profile; [+] is a new item of the list.")
    statement: str = Field(description="The fact, stated as true.")
    patch: list[dict[str, Any]] = Field(description=(
        "A JSON Patch (RFC 6902) adding the fact to the profile as the service reads it (`business` and every "
        "list present)."))
    score: int = Field(description="Sum of the severity weights of the rules it would open.")
    opens: list[OpenedRule] = Field(description="Rules that would report on as_of if the fact were true (their "
                                                "citations are in `rules`), most serious first.")


class QuestionGroup(BaseModel):
    """The questions about one part of the profile, so that a form can ask them together."""

    group: str = Field(description="`business`, a list (`services`: new items), or an item (`services[0]`).")
    title: str = Field(description="The part of the profile in words: 'About the business', or an item's label.")
    score: int = Field(description="The best score among its questions.")
    questions: list[Question] = Field(description="Its questions, the best score first.")


class ConditionalAnswer(BaseModel):
    """One answer to a conditional question and what it would change in the assessment."""

    value: Any = Field(description="The answer.")
    patch: list[dict[str, Any]] = Field(description="A JSON Patch (RFC 6902) adding the answer to the profile.")
    opens: list[OpenedRule] = Field(description="Rules that would report with this answer and do not now.")
    closes: list[OpenedRule] = Field(description="Rules that report now and would not with this answer.")


class ConditionalQuestion(BaseModel):
    """A fact the profile does not state on which findings of its assessment depend (their `conditional_on`)."""

    path: str = Field(description="Where the fact goes in the profile.")
    statement: str = Field(description="What the findings depend on, as a question.")
    findings: list[str] = Field(description="Ids of the rules whose findings depend on it.")
    answers: list[ConditionalAnswer] = Field(description=(
        "For a yes/no fact, what each answer changes; empty for other facts (state them in the profile)."))


class Questions(BaseModel):
    """Facts not yet given that would make further rules apply, grouped and ranked. Not recorded."""

    ruleset: RuleSetRef
    as_of: dt.date = Field(description="The day the rules were evaluated for (the request's `as_of`, else today).")
    considered: int = Field(description="Candidate facts proposed by the rules' conditions and tried.")
    found: int = Field(description="Candidates that open at least one rule.")
    shown: int = Field(description="Questions in this answer (at most `limit`, the best first).")
    groups: list[QuestionGroup] = Field(description="The questions shown, by part of the profile, the best first.")
    rules: dict[str, RuleCitations] = Field(
        description="Every rule the questions shown would open, with its citations.")
    conditional: list[ConditionalQuestion] = Field(default_factory=list, description=(
        "Facts the profile leaves unstated on which findings of its assessment depend, asked first: answering them "
        "turns a conditional finding into a firm one or removes it."))


# --- candidates --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    group: str
    path: str
    statement: str
    patch: tuple[tuple[str, str, str], ...]  # (op, path, value as JSON)

    @property
    def key(self) -> str:
        return json.dumps(self.patch)

    @property
    def id(self) -> str:
        """Readable and stable: `business.cii_operator=true`, `services[+]=cdn@CN-BJ`,
        `cross_border[+]=data_transfer/personal_information`."""
        value = json.loads(self.patch[0][2])
        if isinstance(value, dict):  # a new item: what it is (and where)
            name = self.path.partition("[")[0]
            fields = (LISTS_BY_NAME[name],) + ITEM_IDENTITY.get(name, ())
            text = "/".join(str(value[f]) for f in fields if f in value)
            if value.get("regions"):
                text += "@" + ",".join(value["regions"])
        elif isinstance(value, list):
            text = ",".join(str(v) for v in value)
        else:
            text = json.dumps(value) if isinstance(value, bool) else str(value)
        return f"{self.path}={text}"

    def ops(self) -> list[dict[str, Any]]:
        return [{"op": op, "path": path, "value": json.loads(value)} for op, path, value in self.patch]


def _op(path: str, value: Any) -> tuple[str, str, str]:
    return ("add", path, json.dumps(value, sort_keys=True, default=str))


def _value_for(t: Test) -> tuple[bool, Any]:
    """A constant that satisfies a test, if one follows from it: (found, value)."""
    if isinstance(t.value, Var):
        return False, None
    if t.op == "eq":
        return True, t.value
    if t.op in ("in", "includes_any") and t.value:
        return True, t.value[0]
    if t.op == "includes":
        return True, t.value
    if t.op in ("covers", "within"):
        return True, t.value
    if t.op in ("gte", "lte"):
        return True, t.value
    if t.op in ("gt", "lt"):
        step = -1 if t.op == "lt" else 1
        if isinstance(t.value, dt.date):
            return True, t.value + dt.timedelta(days=step)
        if isinstance(t.value, int):
            return True, t.value + step
    return False, None


class _Proposer:
    def __init__(self, profile: Profile):
        self.profile = profile
        b = profile.business
        known = {r for s in profile.services for r in s.regions}
        if b.registered_region:
            known.add(b.registered_region)
        # where the business is known to be, without regions another one contains (CN covers all)
        self.regions = sorted(r for r in known if not any(a in known for a in regions.ancestors(r)[1:]))
        self.out: dict[str, Candidate] = {}
        self.sources: dict[str, set[str]] = {}  # candidate -> ids of the rules whose conditions proposed it
        self.rule = ""
        self.relevant: dict[tuple[str, str], set[str]] = {}  # (fact, field) -> kinds of item a rule tests it on

    def add(self, candidate: Candidate) -> None:
        self.out.setdefault(candidate.key, candidate)
        self.sources.setdefault(candidate.key, set()).add(self.rule)

    # business -------------------------------------------------------------------------------------
    def business(self, pattern: Pattern) -> None:
        b = self.profile.business
        for t in pattern.tests:
            flag = wording.business_flag(t.field, t.value) if t.op == "eq" and isinstance(t.value, bool) else None
            if flag is not None and getattr(b, t.field) is None:
                self.add(Candidate("business", f"business.{t.field}", flag, (_op(f"/business/{t.field}", t.value),)))
            elif t.field == "sectors" and t.op in ("includes", "includes_any") and not b.sectors:
                for sector in (t.value,) if t.op == "includes" else t.value:
                    self.add(Candidate("business", "business.sectors", wording.sector(sector),
                                       (_op("/business/sectors/-", sector),)))

    def jurisdiction(self, spec: RuleSpec) -> None:
        code = spec.rule.jurisdiction
        if code != "CN" and self.profile.business.registered_region is None:
            self.add(Candidate("business", "business.registered_region", wording.registered_in(code),
                               (_op("/business/registered_region", code),)))

    # list items -----------------------------------------------------------------------------------
    def item(self, pattern: Pattern) -> None:
        name, identity = LISTS[pattern.fact]
        identity_tests = [t for t in pattern.tests if t.field == identity and not isinstance(t.value, Var)]
        wanted = None  # identities the pattern allows (None: any)
        for t in identity_tests:
            if t.op == "eq":
                wanted = {t.value}
            elif t.op == "in":
                wanted = set(t.value)
        items = getattr(self.profile, name)
        held = {getattr(i, identity) for i in items}
        for index, existing in enumerate(items):
            kind = getattr(existing, identity)
            if wanted is None or kind in wanted:
                self.attributes(pattern, name, index, existing, any_kind=wanted is None)
        for value in sorted(wanted - held) if wanted else ():
            self.new_item(pattern, name, identity, value)

    def attributes(self, pattern: Pattern, name: str, index: int, existing: Any, any_kind: bool) -> None:
        """Unstated fields of an item the profile lists, one question each. A condition that names no kind of
        item (any service) asks only items of the kinds some rule tests that field on, if a rule does."""
        label = wording.item_label(name, existing)
        kind = getattr(existing, LISTS[pattern.fact][1])
        for t in pattern.tests:
            relevant = self.relevant.get((pattern.fact, t.field))
            if any_kind and relevant and kind not in relevant:
                continue
            parts = t.field.split(".")
            holder = existing.attributes if parts[0] == "attributes" else existing
            attr = parts[-1]
            if attr in ("type", "kind", "category", "region") or not hasattr(holder, attr):
                continue
            current = getattr(holder, attr)
            if current not in (None, []):
                continue
            if t.op == "given":  # a yes/no field the rule needs stated: ask whether it holds
                found, value = t.value is True and wording.flag(attr, True) is not None, True
            else:
                found, value = _value_for(t)
            if not found or (t.op == "in" and attr in ("location", "destination")):
                continue
            pointer = f"/{name}/{index}/" + "/".join(parts)
            if isinstance(current, list):  # a list the profile left empty: add the item
                op = _op(pointer + "/-", value)
            elif attr == "content_types":  # a list the profile left out: state it with the one item
                op = _op(pointer, [value])
            else:
                op = _op(pointer, _json(value))
            where = f"{name}[{index}]"
            self.add(Candidate(where, f"{where}.{t.field}", wording.item_attribute(label, where, attr, value, t.op),
                               (op,)))

    def new_item(self, pattern: Pattern, name: str, identity: str, value: str) -> None:
        """A new item of a list, stated by what it is (and, for a flow or a product, what it carries or how it is
        traded): one fact. Its other fields are asked about once it is listed, as questions on that item."""
        item: dict[str, Any] = {identity: value}
        for t in pattern.tests:
            if t.field in ITEM_IDENTITY.get(name, ()):
                found, constant = _value_for(t)
                if found:
                    item[t.field] = constant
        if name in ("services", "licences"):
            region = next((t.value for t in pattern.tests if t.field == "region" and t.op in ("eq", "covers", "within")
                           and not isinstance(t.value, Var)), None)
            places = [region] if region else self.regions
            if places:
                item["regions"] = list(places)
        self.add(Candidate(name, f"{name}[+]", wording.new_item(name, item), (_op(f"/{name}/-", item),)))


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def relevance(compiled: CompiledRuleSet) -> dict[tuple[str, str], set[str]]:
    """For each field of a listed fact, the kinds of item (service types, ...) some rule tests it on."""
    out: dict[tuple[str, str], set[str]] = {}
    for spec in compiled.ruleset.rules:
        for variant in spec.variants:
            for pattern in variant.patterns:
                if pattern.fact not in LISTS:
                    continue
                identity = LISTS[pattern.fact][1]
                kinds: set[str] = set()
                for t in pattern.tests:
                    if t.field == identity and t.op == "eq" and not isinstance(t.value, Var):
                        kinds = {t.value}
                    elif t.field == identity and t.op == "in":
                        kinds = set(t.value)
                for t in pattern.tests:
                    if t.field != identity and kinds:
                        out.setdefault((pattern.fact, t.field), set()).update(kinds)
    return out


def propose(compiled: CompiledRuleSet, profile: Profile) -> list[tuple[Candidate, set[str]]]:
    """Every candidate fact the rules' conditions suggest for this profile, with the rules that proposed it,
    deduplicated, in a fixed order."""
    proposer = _Proposer(profile)
    proposer.relevant = relevance(compiled)
    for spec in compiled.ruleset.rules:
        proposer.rule = spec.id
        proposer.jurisdiction(spec)
        for variant in spec.variants:
            for pattern in variant.patterns:
                if pattern.negated:
                    continue
                if pattern.fact == "business":
                    proposer.business(pattern)
                elif pattern.fact in LISTS:
                    proposer.item(pattern)
    order = {"business": 0}
    ranked = sorted(proposer.out.values(), key=lambda c: (order.get(c.group, 1), c.group, c.path, c.key))
    return [(c, proposer.sources[c.key]) for c in ranked]


# --- verification -----------------------------------------------------------------------------------
def apply(document: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The `add` operations of a JSON Patch (all a candidate uses), on a copy."""
    doc = copy.deepcopy(document)
    for op in ops:
        *parents, last = op["path"].lstrip("/").split("/")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        if isinstance(target, list):
            target.append(op["value"]) if last == "-" else target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]
    return doc


def reporting(compiled: CompiledRuleSet, profile: Profile, as_of: dt.date,
              budget: Budget = UNBOUNDED_TIME) -> set[str]:
    """Ids of the rules that report on as_of for a profile."""
    return set(_reporting_matches(compiled, profile, as_of, budget))


def _reporting_matches(compiled: CompiledRuleSet, profile: Profile, as_of: dt.date,
                       budget: Budget = UNBOUNDED_TIME) -> dict[str, list[Match]]:
    matches = compiled.match(profile, as_of, budget).matches
    return {rule_id: found for rule_id, found in matches.items()
            if found[0][0].spec.rule.kind is not None and in_window(found[0][0].spec, as_of)}


def _opened(specs: Iterable[RuleSpec]) -> list[OpenedRule]:
    """Rules that report, most serious first."""
    opened = []
    for spec in specs:
        assert spec.rule.kind is not None  # only rules that report are opened or closed
        opened.append(OpenedRule(rule_id=spec.id, kind=spec.rule.kind.value, severity=spec.rule.severity.value,
                                 title=spec.rule.title))
    return sorted(opened, key=lambda o: listing_key(o.kind, o.severity, o.rule_id))


def conditional_questions(compiled: CompiledRuleSet, profile: Profile, as_of: dt.date, matches: dict[str, list[Match]],
                          before: set[str], max_items: int,
                          budget: Budget = UNBOUNDED_TIME) -> list[ConditionalQuestion]:
    """The unstated facts the current findings depend on, with what each answer (yes or no) would change."""
    base = profile.model_dump(mode="json")
    depending: dict[str, tuple[str, list[str]]] = {}
    for rule_id in sorted(matches):
        for fact in conditional_on(matches[rule_id]):
            depending.setdefault(fact["path"], (fact["statement"], []))[1].append(rule_id)
    out = []
    for path, (statement, rule_ids) in sorted(depending.items())[:MAX_CONDITIONAL]:
        answers = []
        if _yes_no(path):
            pointer = "/" + path.replace("[", "/").replace("]", "").replace(".", "/")
            for value in (True, False):
                ops: list[dict[str, Any]] = [{"op": "add", "path": pointer, "value": value}]
                try:
                    changed = Profile.model_validate(apply(base, ops))
                except ValidationError:  # pragma: no cover - paths come from the profile's own facts
                    continue
                if check_list_sizes(changed, max_items):
                    continue
                after = reporting(compiled, changed, as_of, budget)
                answers.append(ConditionalAnswer(
                    value=value, patch=ops, opens=_opened(compiled.ruleset.spec(r) for r in after - before),
                    closes=_opened(compiled.ruleset.spec(r) for r in before - after)))
        out.append(ConditionalQuestion(path=path, statement=statement, findings=rule_ids, answers=answers))
    return out


def _yes_no_paths(matches: dict[str, list[Match]]) -> list[str]:
    """The yes/no facts the current findings depend on (each tried both ways), at most MAX_CONDITIONAL."""
    paths = sorted({fact["path"] for rule_id in matches
                    for fact in conditional_on(matches[rule_id])})[:MAX_CONDITIONAL]
    return [path for path in paths if _yes_no(path)]


def _yes_no(path: str) -> bool:
    """Whether the field at a profile path (`business.cii_operator`, `services[0].attributes.filed`) is yes/no."""
    fact, field = _fact_and_field(path)
    spec = FACT_TYPES.get(fact or "", {}).get(field)
    return spec is not None and spec.kind == "bool"


def _fact_and_field(path: str) -> tuple[str | None, str]:
    """A profile path's fact type (None when no fact type holds it) and field: `services[0].attributes.filed`
    is (`service`, `attributes.filed`), `business.cii_operator` is (`business`, `cii_operator`)."""
    if path.startswith("business."):
        return "business", path.removeprefix("business.")
    name = path.partition("[")[0]
    fact = next((fact for fact, plural in labels.FACT_LISTS.items() if plural == name), None)
    return fact, path.split("].", 1)[-1]


def ask(compiled: CompiledRuleSet, profile: Profile, max_items: int, limit: int = 25, budget: Budget = UNBOUNDED_TIME,
        plan: Callable[[int], None] | None = None) -> Questions:
    """The questions for a profile, every evaluation within `budget`. After the first evaluation, `plan` is told
    how many more there will be (and may refuse them)."""
    as_of = profile.effective_as_of()
    profile = profile.model_copy(update={"as_of": as_of})
    base = profile.model_dump(mode="json")
    current = _reporting_matches(compiled, profile, as_of, budget)
    before = set(current)
    # a candidate is worth trying while one rule that proposed it does not apply yet (or only derives facts,
    # which other rules may build on)
    candidates = [c for c, sources in propose(compiled, profile)
                  if any(r not in before or compiled.ruleset.spec(r).rule.derive for r in sources)][:MAX_CANDIDATES]
    if plan is not None:
        plan(len(candidates) + 2 * len(_yes_no_paths(current)))
    conditional = conditional_questions(compiled, profile, as_of, current, before, max_items, budget)
    found: list[tuple[Candidate, list[OpenedRule]]] = []
    asked: set[tuple[str, str, str, tuple[str, ...]]] = set()
    for candidate in candidates:
        try:
            changed = Profile.model_validate(apply(base, candidate.ops()))
        except ValidationError:  # pragma: no cover - candidates are built from the vocabulary; keep going if not
            continue
        if check_list_sizes(changed, max_items):
            continue
        opened = sorted(reporting(compiled, changed, as_of, budget) - before)
        if not opened:
            continue
        # the same field of several items opening the same rules: ask it once, of the first such item
        same = (candidate.group.partition("[")[0], candidate.path.split("].", 1)[-1], candidate.patch[0][2],
                tuple(opened))
        if "[" in candidate.group and same in asked:
            continue
        asked.add(same)
        found.append((candidate, _opened(compiled.ruleset.spec(r) for r in opened)))

    questions: dict[str, list[Question]] = {}
    for candidate, opens in found:
        question = Question(id=candidate.id, path=candidate.path, statement=candidate.statement,
                            patch=candidate.ops(), score=sum(SEVERITY_WEIGHT[o.severity] for o in opens),
                            opens=opens)
        questions.setdefault(candidate.group, []).append(question)
    ranked = []
    for group, items in questions.items():
        items.sort(key=lambda q: (-q.score, -len(q.opens), q.path, q.id))
        ranked.append(QuestionGroup(group=group, title=_group_title(group, profile), score=items[0].score,
                                    questions=items))
    ranked.sort(key=lambda g: (-g.score, g.group))
    # keep the best `limit` questions overall, in their groups
    best = sorted((q for g in ranked for q in g.questions), key=lambda q: (-q.score, -len(q.opens), q.path, q.id))
    keep = {q.id for q in best[:limit]}
    groups = [g.model_copy(update={"questions": [q for q in g.questions if q.id in keep]}) for g in ranked]
    groups = [g for g in groups if g.questions]
    rules: dict[str, RuleCitations] = {}
    for rule_id in sorted({o.rule_id for g in groups for q in g.questions for o in q.opens}):
        spec = compiled.ruleset.spec(rule_id)
        assert spec.rule.kind is not None  # an opened rule reports
        rules[rule_id] = RuleCitations(kind=spec.rule.kind.value, severity=spec.rule.severity.value,
                                       title=spec.rule.title, citations=compiled.citations(spec, as_of))
    return Questions(ruleset=RuleSetRef(version=compiled.version, digest=compiled.digest), as_of=as_of,
                     considered=len(candidates), found=len(found), shown=len(keep), groups=groups, rules=rules,
                     conditional=conditional)


def _group_title(group: str, profile: Profile) -> str:
    if group in wording.GROUP_TITLES:
        return wording.GROUP_TITLES[group]
    name, _, rest = group.partition("[")
    index = int(rest.rstrip("]"))
    item = getattr(profile, name)[index]
    return f"{wording.item_label(name, item)} ({group})"
