"""Evaluate a profile under a compiled rule set: facts in, cited obligations out.

The engine only matches; everything a person reads is built here, after it returns, from
the rule's own data: the kind (switched when a deadline has passed), the dates the rule
applies between, the citations (enriched from the catalogue) and the reasons.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.errors import EngineFailure
from service.profile import labels, regions, wording
from service.profile.facts import build_facts, context_fact, number_date, region_fields
from service.profile.model import Profile
from service.rulebase.catalogue import Instrument
from service.rulebase.rule_file import Rule, RuleCitation, listing_key
from service.rulebase.ruleset import RuleSet, RuleSpec

from . import durable
from .assessment import AnswerData, Assessment, Citation, dump
from .budget import UNBOUNDED_TIME, Budget
from .compiler import CompiledRule, Match, Shard, compile_ruleset, copies_needed, with_copies
from .explain import Explainer, ReasonKey
from .sentences import Sentences

#: One field of a derived fact: (field, alias of the pattern its value comes from or None, the value's path in
#: that fact, the constant value when no alias, the field's kind).
DerivedField = tuple[str, str | None, tuple[str, ...], Any, str]
#: What one rule derives: (derived fact, its fields) for each fact it names.
Derivation = list[tuple[str, list[DerivedField]]]
#: A derived fact's identity: its name and its values (field -> value, sorted).
DerivedKey = tuple[str, tuple[tuple[str, Any], ...]]


@dataclass
class Derived:
    name: str
    values: dict[str, Any]
    fact: dict[str, Any]
    from_rules: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """What the engine matched for one profile, before it is written up as an assessment."""

    as_of: dt.date
    matches: dict[str, list[Match]] = field(default_factory=dict)
    derived: dict[DerivedKey, Derived] = field(default_factory=dict)


def in_window(spec: RuleSpec, day: dt.date) -> bool:
    rule = spec.rule
    return ((rule.applies_from is None or rule.applies_from <= day)
            and (rule.applies_until is None or day <= rule.applies_until))


class CompiledRuleSet:
    """A rule set compiled into durable-rules, ready to evaluate; `close()` frees the engine's memory.

    Each thread that evaluates gets its own copy of the engine's rulesets (about 5 MB and 20 ms each), made the
    first time it evaluates: a durable-rules ruleset runs one session at a time, and an evaluation on the event loop
    must never wait for one running on an evaluation thread."""

    def __init__(self, ruleset: RuleSet, version: str):
        self.ruleset = ruleset
        self.version = version
        self.digest = ruleset.digest
        self.shards: list[Shard] = compile_ruleset(ruleset)
        self.copies = copies_needed(self.shards)
        self._phases = [shard.max_phase for shard in self.shards]
        #: per shard: compiled rule name -> (the rule, its rule's id if it reports (the matches of a rule that only
        #: derives facts are not kept), how it derives facts): what a firing needs, looked up once
        self._recording = {id(shard): {name: (rule, rule.spec.id if rule.spec.rule.kind else None,
                                              self._derivation(rule))
                                       for name, rule in shard.rules.items()}
                           for shard in self.shards}
        self._definitions = [shard.definition() for shard in self.shards]
        self._local = threading.local()
        self._engine_sets: list[list[durable.DurableRuleset]] = []
        self._engines_lock = threading.Lock()
        self._closed = False
        self._engines()  # made now for this thread: a rule set durable-rules refuses fails here
        self.explainer = Explainer(ruleset.derived)
        self.sentences = Sentences(ruleset.derived)
        self._citations: dict[tuple[str, tuple[str, ...]], tuple[list[dict[str, Any]], orjson.Fragment]] = {}

    def _engines(self) -> list[durable.DurableRuleset]:
        """This thread's copy of the engine's rulesets."""
        engines: list[durable.DurableRuleset] | None = getattr(self._local, "engines", None)
        if engines is None:
            engines = []
            try:
                for i, definition in enumerate(self._definitions):
                    engines.append(durable.DurableRuleset(f"rs{i}", definition))
            except Exception:
                for engine in engines:
                    engine.close()
                raise
            with self._engines_lock:
                if self._closed:
                    for engine in engines:
                        engine.close()
                    raise EngineFailure("rule set already closed")
                self._engine_sets.append(engines)
            self._local.engines = engines
        return engines

    @property
    def rule_count(self) -> int:
        return len(self.ruleset.rules)

    @property
    def sessions_started(self) -> int:
        """Engine sessions started over every copy and shard: one per evaluation of each shard (a session is never
        reused and its facts never retracted: service/engine/durable.py)."""
        with self._engines_lock:
            return sum(engine.sessions_started for engines in self._engine_sets for engine in engines)

    def close(self) -> None:
        with self._engines_lock:
            self._closed = True
            sets, self._engine_sets = self._engine_sets, []
        for engines in sets:
            for engine in engines:
                engine.close()

    # --- matching ------------------------------------------------------------------------------
    def match(self, profile: Profile, as_of: dt.date, budget: Budget = UNBOUNDED_TIME) -> Evaluation:
        evaluation = Evaluation(as_of=as_of)
        facts = with_copies(build_facts(profile), self.copies)
        context = context_fact(as_of)
        for shard, phases, engine in zip(self.shards, self._phases, self._engines(), strict=True):
            extra = with_copies([d.fact for d in evaluation.derived.values()], self.copies)
            engine.run(context, facts + extra, phases, self._recorder(shard, evaluation), budget)
        return evaluation

    def _recorder(self, shard: Shard, evaluation: Evaluation) -> durable.OnMatch:
        recording = self._recording[id(shard)]
        matches, as_of = evaluation.matches, evaluation.as_of

        def on_match(name: str, match: dict[str, Any]) -> Iterable[dict[str, Any]]:
            entry = recording.get(name)
            if entry is None:  # the $start rule
                return ()
            rule, rule_id, derivation = entry
            if rule_id is not None:
                found = matches.get(rule_id)
                if found is None:
                    matches[rule_id] = [(rule, match)]
                else:
                    found.append((rule, match))
            if derivation is None or not in_window(rule.spec, as_of):
                return ()
            return self._derive(rule, derivation, match, evaluation)

        return on_match

    def _derive(self, rule: CompiledRule, derivation: Derivation, match: dict[str, Any],
                evaluation: Evaluation) -> list[dict[str, Any]]:
        """The facts one firing derives that the evaluation does not have yet (with their copies)."""
        new: list[dict[str, Any]] = []
        for name, fields in derivation:
            values: dict[str, Any] = {}
            for fname, alias, path, constant, _ in fields:
                if alias is None:
                    value = constant
                else:
                    value = match[alias]
                    for part in path:
                        value = value.get(part) if isinstance(value, dict) else None
                if value is not None:
                    values[fname] = value
            key = (name, tuple(sorted(values.items())))
            existing = evaluation.derived.get(key)
            if existing is not None:
                if rule.spec.id not in existing.from_rules:
                    existing.from_rules.append(rule.spec.id)
                continue
            fact: dict[str, Any] = {"t": name}
            for fname, _, _, _, kind in fields:
                if fname in values:
                    if kind == "region":
                        fact.update(region_fields(fname, values[fname]))
                    else:
                        fact[fname] = values[fname]
            fact["id"] = f"{name}:{json.dumps(values, sort_keys=True)}"
            evaluation.derived[key] = Derived(name, values, fact, [rule.spec.id])
            new.append(fact)
        return with_copies(new, self.copies) if new else new

    @staticmethod
    def _derivation(rule: CompiledRule) -> Derivation | None:
        """Where each derived field's value comes from in a match of this compiled rule, worked out once."""
        if not rule.spec.rule.derive:
            return None
        out: Derivation = []
        for name, fields in rule.spec.rule.derive.items():
            sources: list[DerivedField] = []
            for fname, source in fields.items():
                if isinstance(source, str) and source.startswith("$"):
                    binding = rule.variant.bindings[source]
                    sources.append((fname, f"p{binding.pattern}", tuple(binding.field.split(".")), None,
                                    binding.spec.kind))
                else:
                    sources.append((fname, None, (), source, rule.spec.derived_fields[name][fname].kind))
            out.append((name, sources))
        return out

    # --- writing up ----------------------------------------------------------------------------
    def write_up(self, profile: Profile, assessment_id: str, horizon_days: int = 0,
                 budget: Budget = UNBOUNDED_TIME) -> AnswerData:
        """The assessment of a profile, as the answer's JSON data: what applies on as_of, and what starts or falls
        due within the horizon. Plain data in the fields' order, rendered by orjson (`answers.make`): building and
        dumping a tree of models cost more than the engine for small profiles; `evaluate` gives the model."""
        as_of = profile.effective_as_of()
        evaluation = self.match(profile, as_of, budget)
        obligations: list[dict[str, Any]] = []
        upcoming: list[dict[str, Any]] = []
        horizon = as_of + dt.timedelta(days=horizon_days)
        reasons: dict[ReasonKey, str] = {}  # one description per fact and pattern, however many matches share it
        for matches in evaluation.matches.values():
            spec = matches[0][0].spec
            if spec.rule.kind is None:
                continue
            if in_window(spec, as_of):
                obligations.append(self.obligation(spec, matches, as_of, reasons))
            elif spec.rule.applies_from and as_of < spec.rule.applies_from <= horizon:
                starts = spec.rule.applies_from
                upcoming.append({"starts": starts, "days_until": (starts - as_of).days,
                                 "obligation": self.obligation(spec, matches, starts, reasons)})
        obligations.sort(key=lambda o: listing_key(o["kind"], o["severity"], o["rule_id"]))
        upcoming.sort(key=lambda u: (u["starts"], u["obligation"]["rule_id"]))
        deadlines = [{"date": o["deadline"], "days_left": (o["deadline"] - as_of).days, "rule_id": o["rule_id"],
                      "kind": o["kind"], "severity": o["severity"], "title": o["title"], "listed_in": where}
                     for where, items in (("obligations", obligations),
                                          ("upcoming", [u["obligation"] for u in upcoming]))
                     for o in items if o["deadline"] is not None and as_of <= o["deadline"] <= horizon]
        deadlines.sort(key=lambda d: (d["date"], d["rule_id"]))
        # by name, then values: the fact's id is its name and its values as sorted JSON
        derived = [{"fact": d.name, "values": self._display(d), "from_rules": sorted(d.from_rules)}
                   for d in sorted(evaluation.derived.values(), key=lambda d: (d.name, d.fact["id"]))]
        warnings = [{"path": path, "message": f"attribute {name!r} is not read by any rule"}
                    for path, name in profile.unused_attributes()]
        warnings += [{"path": path, "message": f"{code} ({regions.name(code)}) is outside mainland China, which the "
                      "rule base covers: it is not assessed"}
                     for path, code in profile.outside_mainland()]
        return {
            "assessment_id": assessment_id,
            "ruleset": {"version": self.version, "digest": self.digest},
            "as_of": as_of,
            "horizon_days": horizon_days,
            "obligations": obligations,
            "derived_facts": derived,
            "upcoming": upcoming,
            "deadlines": deadlines,
            "warnings": warnings,
        }

    def evaluate(self, profile: Profile, assessment_id: str, horizon_days: int = 0,
                 budget: Budget = UNBOUNDED_TIME) -> Assessment:
        """The assessment as a model (the CLI, preview, tests): the answer's JSON read back, so it is the answer."""
        return Assessment.model_validate_json(dump(self.write_up(profile, assessment_id, horizon_days, budget)))

    def _display(self, d: Derived) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.values.items():
            spec = self.ruleset.derived.get(d.name, {}).get(k)
            is_date = spec is not None and spec.kind == "date" and isinstance(v, int)
            out[k] = number_date(v).isoformat() if is_date else v
        return out

    def obligation(self, spec: RuleSpec, matches: list[Match], as_of: dt.date,
                   reasons: dict[ReasonKey, str] | None = None) -> dict[str, Any]:
        """One finding per rule, whatever the number of matches (every reason, in a stable order), as the answer's
        JSON data (`Obligation` describes it)."""
        rule = spec.rule
        because: list[str] = []
        ordered = sorted(matches, key=lambda m: (m[0].name, tuple(f.get("id", "") for f in m[1].values())))
        for compiled, match in ordered:
            for reason in self.explainer.because(compiled, match, as_of, reasons):
                if reason not in because:
                    because.append(reason)
        kind = rule.kind.value if rule.kind else "notice"
        overdue = bool(rule.deadline and as_of > rule.deadline)
        if overdue and rule.overdue:
            kind = rule.overdue.value
        instrument = spec.instrument(self.ruleset.catalogue)
        assert instrument is not None  # a rule that reports cites at least one instrument of the catalogue
        interpretation = spec.interpretation
        return {
            "rule_id": rule.id,
            "kind": kind,
            "legal_force": instrument.legal_force.value,
            "title": rule.title,
            "summary": rule.summary,
            "severity": rule.severity.value,
            "deadline": rule.deadline,
            "overdue": overdue,
            "jurisdiction": rule.jurisdiction,
            "applies_from": rule.applies_from,
            "applies_until": rule.applies_until,
            "citations": self._citations_json(spec, as_of),
            "because": because,
            "explanation": self.sentences.explanation(spec, ordered, as_of, because),
            "conditional_on": conditional_on(ordered),
            "interpretation": (None if interpretation is None else {
                "reading": interpretation.reading, "alternative": interpretation.alternative,
                "why": interpretation.why}),
            "caveats": caveats(instrument, rule),
        }

    def citations(self, spec: RuleSpec, as_of: dt.date) -> list[Citation]:
        """A rule's citations as on as_of, enriched from the catalogue (the questions' `rules`)."""
        return [Citation.model_validate(c) for c in self._citations_of(spec, as_of)[0]]

    def _citations_json(self, spec: RuleSpec, as_of: dt.date) -> orjson.Fragment:
        return self._citations_of(spec, as_of)[1]

    def _citations_of(self, spec: RuleSpec, as_of: dt.date) -> tuple[list[dict[str, Any]], orjson.Fragment]:
        """A rule's citations, as data and rendered, once per rule and legal status of its instruments (the same in
        every evaluation on any as_of with the same statuses)."""
        catalogue = self.ruleset.catalogue
        statuses = tuple(catalogue.legal_status(c.instrument_id, as_of) for c in spec.rule.citations)
        key = (spec.id, statuses)
        cached = self._citations.get(key)
        if cached is None:
            data = [self.citation(c, status) for c, status in zip(spec.rule.citations, statuses, strict=True)]
            cached = self._citations[key] = (data, orjson.Fragment(orjson.dumps(data)))
        return cached

    def citation(self, c: RuleCitation, legal_status: str) -> dict[str, Any]:
        inst = self.ruleset.catalogue.get(c.instrument_id)
        assert inst is not None  # checked when the rule set was built
        return {
            "instrument_id": inst.id,
            "title": inst.title,
            "issuer": inst.issuer,
            "issued": inst.issued,
            "document_number": inst.document_number,
            "provision": c.provision,
            "legal_status": legal_status,
            "legal_force": inst.legal_force.value,
            "in_force_from": inst.in_force_from,
            "final_version": inst.final_version,
            "source": {"document": c.document, "quote": c.quote},
        }


def conditional_on(matches: list[Match]) -> list[dict[str, str]]:
    """The unstated facts a finding depends on: every field a matched condition required the profile not to state
    (`given: false`), at its place in the profile (as `ConditionalFact`'s JSON data)."""
    out: dict[str, dict[str, str]] = {}
    for compiled, match in matches:
        for ref in compiled.refs:
            if ref.pattern.negated:
                continue
            fact = match.get(ref.alias)
            if fact is None:
                continue
            for test in ref.pattern.tests:
                if test.op == "given" and test.value is False:
                    path = labels.profile_path(ref.pattern.fact, fact.get("index"), test.field)
                    if path is not None and path not in out:
                        out[path] = {"path": path, "statement": wording.unstated(ref.pattern.fact, test.field, path)}
    return [out[p] for p in sorted(out)]


def caveats(instrument: Instrument, rule: Rule) -> list[str]:
    """What a reader must know to weigh the finding."""
    out: list[str] = []
    if instrument.in_force_from is None and instrument.legal_force.value != "draft":
        start = (f"; the rule is applied from {labels.day(rule.applies_from)}" if rule.applies_from
                 else "; the rule is applied at any date")
        what = "Date of entry into force" if instrument.legal_force.is_binding else "Date"
        why = (instrument.in_force_source or "").removeprefix("Not established: ").rstrip(".")
        out.append(f"{what} not established ({why}){start}.")
    return out
