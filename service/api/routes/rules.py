"""GET /v1/rules, GET /v1/rules/{rule_id}, GET /v1/instruments: browse the active rule base and its sources."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query

from service.api.auth import Reader
from service.api.deps import ServingDep
from service.api.models import CataloguedInstrument, CitedPassage, InstrumentList, RuleDetail, RuleList, RuleSummary
from service.api.problems import documented
from service.engine.assessment import RuleSetRef
from service.errors import NotFound
from service.rulebase.ruleset import RuleSet, RuleSpec

router = APIRouter(tags=["rule base"])


def _summary(spec: RuleSpec) -> RuleSummary:
    rule = spec.rule
    return RuleSummary(
        rule_id=rule.id, title=rule.title, kind=rule.kind, severity=rule.severity, jurisdiction=rule.jurisdiction,
        applies_from=rule.applies_from, applies_until=rule.applies_until, deadline=rule.deadline,
        instruments=sorted({c.instrument_id for c in rule.citations}), derives=sorted(rule.derive), file=spec.file)


def _detail(spec: RuleSpec, ruleset: RuleSet, ref: RuleSetRef) -> RuleDetail:
    """The summary's keys and everything else the rule file says, with its instruments' titles and force."""
    rule = spec.rule
    inst = spec.instrument(ruleset.catalogue)
    return RuleDetail(
        ruleset=ref, **_summary(spec).model_dump(), summary=rule.summary, overdue=rule.overdue, when=rule.when,
        derive=rule.derive, explanation=rule.explanation, interpretation=spec.interpretation,
        legal_force=inst.legal_force if inst is not None else None,
        citations=[CitedPassage(**c.model_dump(), title=_title(ruleset, c.instrument_id)) for c in rule.citations],
        examples=rule.examples, phase=spec.phase)


def _title(ruleset: RuleSet, instrument_id: str) -> str | None:
    inst = ruleset.catalogue.get(instrument_id)
    return inst.title if inst is not None else None


@router.get("/v1/rules", summary="The rules of the active rule set")
def list_rules(serving: ServingDep, _: Reader,
               instrument: str | None = Query(None, description="Only rules citing this instrument id."),
               kind: str | None = Query(None, description="Only rules of this kind.")) -> RuleList:
    with serving.lease() as loaded:
        rules = [_summary(s) for s in loaded.compiled.ruleset.rules
                 if (instrument is None or any(c.instrument_id == instrument for c in s.rule.citations))
                 and (kind is None or (s.rule.kind and s.rule.kind.value == kind))]
        return RuleList(ruleset=loaded.ref, count=len(rules), rules=rules)


@router.get("/v1/rules/{rule_id}", summary="One rule: its conditions, citations and examples",
            responses={404: documented("No such rule")})
def get_rule(rule_id: str, serving: ServingDep, _: Reader) -> RuleDetail:
    with serving.lease() as loaded:
        spec = loaded.compiled.ruleset.rule(rule_id)
        if spec is None:
            raise NotFound(f"no rule {rule_id!r} in rule set {loaded.version}")
        return _detail(spec, loaded.compiled.ruleset, loaded.ref)


@router.get("/v1/instruments",
            summary="Every instrument the sources name, its rules, and why some carry no business duty")
def list_instruments(serving: ServingDep, _: Reader) -> InstrumentList:
    with serving.lease() as loaded:
        ruleset = loaded.compiled.ruleset
        by_instrument: dict[str, list[str]] = {}
        for spec in ruleset.rules:
            for c in spec.rule.citations:
                ids = by_instrument.setdefault(c.instrument_id, [])
                if spec.id not in ids:
                    ids.append(spec.id)
        today = dt.date.today()
        instruments = [CataloguedInstrument(**inst.model_dump(), rules=by_instrument.get(inst.id, []),
                                            legal_status=ruleset.catalogue.legal_status(inst.id, today))
                       for inst in ruleset.catalogue]
        return InstrumentList(ruleset=loaded.ref, count=len(instruments), instruments=instruments)
