"""A rule set read from its files and checked as a whole, before anything is compiled.

`build_ruleset` collects every problem it can find (not just the first), each naming the
file, the rule id and the field: schema and unknown fields, duplicate ids, conditions
that name unknown facts or values, derived facts nothing defines, citations whose
instrument or quote cannot be found, drafts reported as binding, regional instruments
without a regional scope, examples that are not valid profiles, and chains through
`absent` that never settle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from service.errors import ErrorItem, InvalidRuleSet, PayloadTooLarge, from_pydantic
from service.profile import regions
from service.profile.facts import FACT_TYPES, RESERVED, FieldSpec
from service.profile.model import Profile

from . import explanations
from .catalogue import Catalogue, Instrument
from .conditions import Variant, Vocabulary, derived_values, kind_family, parse_when, referenced_facts
from .loading import RULE_SUFFIXES, RuleFiles, YamlBudget, parse_yaml
from .rule_file import Rule, RuleFile, RuleInterpretation
from .sources import Sources

CATALOGUE_FILE = "instruments.yaml"
SOURCES_DIR = "sources/"
BINDING_KINDS = {"obligation", "prohibition", "violation"}
#: Checking compiles every rule and runs every example under all of them (time grows with their product):
#: ~6x the repository's rules and examples keeps an upload's validation to seconds.
MAX_RULES = 1000
MAX_EXAMPLES = 2000
#: Problems listed in one refusal; the rest are counted (a hostile file can hold one per value).
MAX_ERRORS = 1000


@dataclass
class RuleSpec:
    """One rule with what checking it produced: its variants and its phase in the evaluation."""

    rule: Rule
    file: str
    order: int
    variants: list[Variant] = field(default_factory=list)
    derived_fields: dict[str, dict[str, FieldSpec]] = field(default_factory=dict)
    positive_derived: set[str] = field(default_factory=set)
    negative_derived: set[str] = field(default_factory=set)
    has_absent: bool = False
    stratum: int = 0
    explanation: explanations.Template | None = None

    @property
    def id(self) -> str:
        return self.rule.id

    def instrument(self, catalogue: Catalogue) -> Instrument | None:
        """The instrument a finding of this rule rests on: that of its first citation."""
        return catalogue.get(self.rule.citations[0].instrument_id) if self.rule.citations else None

    @property
    def interpretation(self) -> RuleInterpretation | None:
        """The reading the rule takes: one the file names (`interpretation: <name>`) is resolved when the rule set
        is built."""
        reading = self.rule.interpretation
        return reading if isinstance(reading, RuleInterpretation) else None

    @property
    def phase(self) -> int:
        """The evaluation phase gating this rule: rules with `absent` wait until what they negate is complete."""
        return self.stratum if self.has_absent else 0


@dataclass
class Example:
    name: str
    file: str
    profile: Profile


@dataclass
class RuleSet:
    files: RuleFiles
    catalogue: Catalogue
    sources: Sources
    rules: list[RuleSpec]
    examples: dict[str, Example]
    derived: dict[str, dict[str, FieldSpec]]
    producers: dict[str, list[str]]

    @property
    def digest(self) -> str:
        return self.files.digest

    def rule(self, rule_id: str) -> RuleSpec | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def spec(self, rule_id: str) -> RuleSpec:
        """A rule this rule set is known to hold: the id came from its own matches or findings."""
        found = self.rule(rule_id)
        if found is None:
            raise KeyError(rule_id)
        return found

    @property
    def max_phase(self) -> int:
        return max((r.phase for r in self.rules), default=0)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[ErrorItem] = []
        self.count = 0

    @property
    def room(self) -> int:
        return MAX_ERRORS - len(self.errors)

    def add(self, file: str | None, rule: str | None, path: str, message: str) -> None:
        self.add_item(ErrorItem(path=path, message=message, file=file, rule=rule))

    def add_item(self, item: ErrorItem) -> None:
        self.count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(item)


def _rule_file_errors(exc: ValidationError, data: Any, file: str, out: _Collector) -> None:
    rules = data.get("rules") if isinstance(data, dict) else None
    raws = exc.errors(include_url=False, include_input=False)[:max(out.room, 0)]
    out.count += exc.error_count() - len(raws)
    for item, raw in zip(from_pydantic(raws, RuleFile), raws, strict=True):
        loc = raw.get("loc", ())
        rule_id = None
        path = item.path
        index = loc[1] if len(loc) >= 2 and loc[0] == "rules" else None
        if isinstance(index, int) and isinstance(rules, list) and index < len(rules):
            candidate = rules[index]
            if isinstance(candidate, dict) and isinstance(candidate.get("id"), str):
                rule_id = candidate["id"]
            path = item.path.split("]", 1)[1].lstrip(".") if "]" in item.path else item.path
            path = path or "rule"
        out.add(file, rule_id, path, item.message)


def build_ruleset(files: RuleFiles) -> RuleSet:
    """Read and check a rule set; raise InvalidRuleSet listing every problem found."""
    out = _Collector()
    budget = YamlBudget()  # shared by every file

    # the catalogue
    instruments: list[Instrument] = []
    if CATALOGUE_FILE not in files.files:
        out.add(CATALOGUE_FILE, None, "", "the instrument catalogue is missing")
    else:
        data, err = parse_yaml(CATALOGUE_FILE, files.files[CATALOGUE_FILE], budget)
        if err:
            out.add_item(err)
        elif not isinstance(data, list):
            out.add(CATALOGUE_FILE, None, "", "expected a list of instruments")
        else:
            seen: set[str] = set()
            for i, row in enumerate(data):
                try:
                    inst = Instrument.model_validate(row)
                except ValidationError as exc:
                    for e in from_pydantic(exc.errors(), Instrument):
                        out.add(CATALOGUE_FILE, None, f"[{i}].{e.path}", e.message)
                    continue
                if inst.id in seen:
                    out.add(CATALOGUE_FILE, None, f"[{i}].id", f"duplicate instrument id {inst.id!r}")
                seen.add(inst.id)
                instruments.append(inst)
    catalogue = Catalogue(instruments)

    sources = Sources({p.removeprefix(SOURCES_DIR): t for p, t in files.files.items()
                       if p.startswith(SOURCES_DIR) and p.endswith(".txt")})
    for inst in catalogue:
        for seed in inst.seeds:
            if seed not in sources:
                out.add(CATALOGUE_FILE, None, inst.id, f"source document {seed!r} is not in {SOURCES_DIR}")
        for ref in (inst.final_version, inst.superseded_by):
            if ref and ref not in catalogue:
                out.add(CATALOGUE_FILE, None, inst.id, f"{ref!r} is not an instrument of the catalogue")

    # the rule files
    rule_files: list[tuple[str, RuleFile]] = []
    for path in sorted(files.files):
        if not path.endswith(RULE_SUFFIXES) or path == CATALOGUE_FILE or path.startswith(SOURCES_DIR):
            continue
        data, err = parse_yaml(path, files.files[path], budget)
        if err:
            out.add_item(err)
            continue
        if data is None:
            continue
        try:
            rule_files.append((path, RuleFile.model_validate(data)))
        except ValidationError as exc:
            _rule_file_errors(exc, data, path, out)

    specs: list[RuleSpec] = []
    seen_ids: dict[str, str] = {}
    examples_raw: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, rf in rule_files:
        if rf.instrument is not None and rf.instrument not in catalogue:
            out.add(path, None, "instrument", f"{rf.instrument!r} is not an instrument of the catalogue")
        for rule in rf.rules:
            if rule.id in seen_ids:
                out.add(path, rule.id, "id", f"duplicate rule id (also in {seen_ids[rule.id]})")
                continue
            if isinstance(rule.interpretation, str):
                named = rf.interpretations.get(rule.interpretation)
                if named is None:
                    out.add(path, rule.id, "interpretation", f"no interpretation named {rule.interpretation!r} in this "
                            f"file (it has: {', '.join(sorted(rf.interpretations)) or 'none'})")
                rule = rule.model_copy(update={"interpretation": named})
            seen_ids[rule.id] = path
            specs.append(RuleSpec(rule=rule, file=path, order=len(specs)))
        for name, profile in rf.examples.items():
            if name in examples_raw:
                out.add(path, None, f"examples.{name}", f"duplicate example name (also in {examples_raw[name][0]})")
                continue
            examples_raw[name] = (path, profile)
    if len(specs) > MAX_RULES or len(examples_raw) > MAX_EXAMPLES:
        raise PayloadTooLarge(f"a rule set holds at most {MAX_RULES} rules and {MAX_EXAMPLES} example profiles "
                              f"(this one: {len(specs)} rules, {len(examples_raw)} examples)")

    # derived facts: names first, then the kinds of their fields by fixed point
    producers: dict[str, list[RuleSpec]] = {}
    for spec in specs:
        for name in spec.rule.derive:
            if name in FACT_TYPES or name in RESERVED or name in ("absent", "any"):
                out.add(spec.file, spec.id, f"derive.{name}",
                        f"{name!r} is a reserved fact type; derived facts need their own name")
                continue
            producers.setdefault(name, []).append(spec)
        positive, negative = referenced_facts(spec.rule.when)
        spec.positive_derived = {n for n in positive if n not in FACT_TYPES}
        spec.negative_derived = {n for n in negative if n not in FACT_TYPES}
        spec.has_absent = bool(negative)

    derived: dict[str, dict[str, FieldSpec]] = {
        name: {f: FieldSpec("unknown") for f in rules_[0].rule.derive[name]} for name, rules_ in producers.items()
    }
    for _ in range(len(specs) + 2):
        changed = False
        vocab = Vocabulary(derived)
        for name, rules_ in producers.items():
            for spec in rules_:
                variants, errs = parse_when(list(spec.rule.when), vocab)
                if errs or not variants:
                    continue
                kinds, _ = derived_values(spec.rule.derive[name], variants[0], "derive")
                for fname, fspec in kinds.items():
                    current = derived[name].get(fname)
                    if current is not None and current.kind == "unknown" and fspec.kind != "unknown":
                        derived[name][fname] = fspec
                        changed = True
        if not changed:
            break

    vocab = Vocabulary(derived)
    for spec in specs:
        spec.rule = _with_instrument_dates(spec, catalogue, out)
        rule = spec.rule
        variants, errs = parse_when(list(rule.when), vocab)
        for error in errs:
            out.add(spec.file, spec.id, error.where, error.message)
        spec.variants = variants
        for name, fields in rule.derive.items():
            for variant in variants:
                kinds, derrs = derived_values(fields, variant, f"derive.{name}")
                for error in derrs:
                    out.add(spec.file, spec.id, error.where, error.message)
                spec.derived_fields[name] = kinds
            expected = set(derived.get(name, {}))
            if set(fields) != expected:
                others = ", ".join(s.id for s in producers.get(name, []) if s is not spec)
                out.add(spec.file, spec.id, f"derive.{name}",
                        f"every rule deriving {name!r} must set the same fields ({', '.join(sorted(expected))}); "
                        f"see {others}")
            for fname, fspec in spec.derived_fields.get(name, {}).items():
                want = derived.get(name, {}).get(fname)
                if want and kind_family(fspec) != kind_family(want) and "unknown" not in (fspec.kind, want.kind):
                    out.add(spec.file, spec.id, f"derive.{name}.{fname}",
                            f"holds a {fspec.kind} here but a {want.kind} in another rule deriving {name!r}")

        _check_explanation(spec, vocab, out)
        _check_rule(spec, catalogue, sources, out)

    # examples
    examples: dict[str, Example] = {}
    for name, (path, raw) in examples_raw.items():
        try:
            examples[name] = Example(name, path, Profile.model_validate(raw))
        except ValidationError as exc:
            raws = exc.errors(include_url=False, include_input=False)[:max(out.room, 0)]
            out.count += exc.error_count() - len(raws)
            for e in from_pydantic(raws, Profile):
                out.add(path, None, f"examples.{name}.{e.path}", e.message)
    for spec in specs:
        for which in ("fires", "quiet"):
            for name in getattr(spec.rule.examples, which):
                if name not in examples_raw:
                    out.add(spec.file, spec.id, f"examples.{which}", f"no example profile named {name!r}")

    _stratify(specs, producers, out)

    if out.count:
        listed = "" if out.count == len(out.errors) else f"; the first {len(out.errors)} are listed"
        raise InvalidRuleSet(f"the rule set has {out.count} problem(s){listed}", out.errors)
    return RuleSet(
        files=files,
        catalogue=catalogue,
        sources=sources,
        rules=specs,
        examples=examples,
        derived=derived,
        producers={name: [s.id for s in rules_] for name, rules_ in producers.items()},
    )


def _with_instrument_dates(spec: RuleSpec, catalogue: Catalogue, out: _Collector) -> Rule:
    """The rule with the dates its instrument gives where the rule sets none: a rule starts to apply on the day
    the instrument it rests on took effect (issued is not in force), and stops when that instrument does.
    A binding rule may start later (a transition), never earlier."""
    rule = spec.rule
    inst = spec.instrument(catalogue)
    if inst is None or rule.kind is None:
        return rule
    binding = rule.kind.value in BINDING_KINDS
    if binding and inst.in_force_from and rule.applies_from and rule.applies_from < inst.in_force_from:
        out.add(spec.file, spec.id, "applies_from",
                f"{rule.applies_from} is before {inst.id} took effect ({inst.in_force_from}): issued is not in force; "
                "leave applies_from out to start on that day, or set a later day")
    if binding and inst.in_force_until and rule.applies_until and rule.applies_until > inst.in_force_until:
        out.add(spec.file, spec.id, "applies_until",
                f"{rule.applies_until} is after {inst.id} ceased to apply ({inst.in_force_until})")
    if binding and inst.legal_force.is_binding and inst.in_force_from is None and rule.applies_from is None:
        out.add(spec.file, spec.id, "applies_from",
                f"the day {inst.id} took effect is not established ({inst.in_force_source}); set applies_from to the "
                "earliest day it can apply (the day it was issued): the finding will say the date is not established")
    update: dict[str, Any] = {}
    if rule.applies_from is None and inst.in_force_from is not None:
        update["applies_from"] = inst.in_force_from
    if rule.applies_until is None and inst.in_force_until is not None:
        update["applies_until"] = inst.in_force_until
    if not update:
        return rule
    dated = rule.model_copy(update=update)
    if dated.applies_from and dated.applies_until and dated.applies_until < dated.applies_from:
        out.add(spec.file, spec.id, "applies_until",
                f"{dated.applies_until} is before the rule starts ({dated.applies_from})")
    return dated


def _check_explanation(spec: RuleSpec, vocab: Vocabulary, out: _Collector) -> None:
    rule = spec.rule
    if rule.explanation is None:
        return
    if rule.kind is None:
        out.add(spec.file, spec.id, "explanation", "a rule that reports nothing has nothing to explain: remove it")
        return
    template, errors = explanations.parse(rule.explanation)
    if template is not None and spec.variants:
        dates = {"deadline": rule.deadline, "applies_from": rule.applies_from, "applies_until": rule.applies_until}
        errors = explanations.check(template, spec.variants, vocab.types, vocab.derived, dates)
    for message in errors:
        out.add(spec.file, spec.id, "explanation", message)
    if not errors:
        spec.explanation = template


def _check_rule(spec: RuleSpec, catalogue: Catalogue, sources: Sources, out: _Collector) -> None:
    rule = spec.rule
    cited: list[Instrument] = []
    for i, citation in enumerate(rule.citations):
        where = f"citations[{i}]"
        inst = catalogue.get(citation.instrument_id)
        if inst is None:
            out.add(spec.file, spec.id, f"{where}.instrument_id",
                    f"{citation.instrument_id!r} is not an instrument of the catalogue")
            continue
        cited.append(inst)
        if citation.document not in sources:
            out.add(spec.file, spec.id, f"{where}.document", f"{citation.document!r} is not a source document "
                    f"(expected one of {', '.join(sources.names())})")
            continue
        if citation.document not in inst.seeds:
            out.add(spec.file, spec.id, f"{where}.document",
                    f"{inst.id} is not mentioned in {citation.document} (its sources: {', '.join(inst.seeds)})")
        if not sources.quotes(citation.document, citation.quote):
            out.add(spec.file, spec.id, f"{where}.quote",
                    f"the quote does not stand word for word in {citation.document}: {citation.quote[:60]!r}")
    if not cited or rule.kind is None:
        return
    primary = spec.instrument(catalogue)
    if primary is not None and rule.kind.value not in primary.legal_force.kinds:
        force = primary.legal_force.value.replace("_", " ")
        article = "an" if force[0] in "aeiou" else "a"
        allowed = " or ".join(sorted(primary.legal_force.kinds))
        out.add(spec.file, spec.id, "kind",
                f"rests on {primary.id}, {article} {force} (its first citation): it may report {allowed}, "
                f"not {rule.kind.value}"
                + (": a draft is never binding" if primary.legal_force.value == "draft" else ""))
    dutiless = primary is not None and primary.legal_force.is_binding and not primary.business_duty
    if rule.kind in BINDING_KINDS and dutiless:
        out.add(spec.file, spec.id, "citations",
                "a binding rule must rest on (cite first) an instrument that places a duty on a business")
    regional = [i.jurisdiction for i in cited if i.jurisdiction != regions.COUNTRY]
    within = any(j in regions.ancestors(rule.jurisdiction) for j in regional)
    if regional and len(regional) == len(cited) and not within:
        out.add(spec.file, spec.id, "jurisdiction",
                f"the cited instrument applies in {', '.join(sorted(set(regional)))}; set jurisdiction to that region")


def _stratify(specs: list[RuleSpec], producers: dict[str, list[RuleSpec]], out: _Collector) -> None:
    """Strata for negation: a rule that needs `absent X` runs after every rule that can derive X.

    A cycle through `absent` (X is derived only when X is absent) has no such order: it
    would never settle, and the rule set is refused.
    """
    fact_stratum: dict[str, int] = {name: 0 for name in producers}
    limit = len(specs) + 1
    for _ in range(limit + 1):
        changed = False
        for spec in specs:
            level = 1 if spec.has_absent else 0
            for name in spec.positive_derived:
                level = max(level, fact_stratum.get(name, 0))
            for name in spec.negative_derived:
                level = max(level, fact_stratum.get(name, 0) + 1)
            if level > limit:
                level = limit + 1
            if level != spec.stratum:
                spec.stratum = level
                changed = True
            for name in spec.rule.derive:
                if fact_stratum.get(name, 0) < spec.stratum:
                    fact_stratum[name] = spec.stratum
                    changed = True
        if not changed:
            break
    cyclic = sorted(s.id for s in specs if s.stratum > len(specs))
    for spec in specs:
        if spec.id in cyclic:
            out.add(spec.file, spec.id, "when",
                    "this rule is part of a chain that never settles: a derived fact depends on its own absence "
                    f"(rules in the cycle: {', '.join(cyclic)})")
