"""GET /v1/rules, GET /v1/rules/{rule_id}, GET /v1/instruments: browse the active rule base and its sources."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query

from service.api.problems import documented
from service.api.auth import Reader
from service.api.deps import ServingDep
from service.errors import NotFound
from service.rulebase.ruleset import RuleSet, RuleSpec

router = APIRouter(tags=["rule base"])


def _summary(spec: RuleSpec) -> dict[str, Any]:
    rule = spec.rule
    return {
        "rule_id": rule.id,
        "title": rule.title,
        "kind": rule.kind.value if rule.kind else None,
        "severity": rule.severity.value,
        "jurisdiction": rule.jurisdiction,
        "applies_from": rule.applies_from,
        "applies_until": rule.applies_until,
        "deadline": rule.deadline,
        "instruments": sorted({c.instrument_id for c in rule.citations}),
        "derives": sorted(rule.derive),
        "file": spec.file,
    }


def _detail(spec: RuleSpec, ruleset: RuleSet) -> dict[str, Any]:
    rule = spec.rule
    out = _summary(spec)
    out.update({
        "summary": rule.summary,
        "overdue": rule.overdue.value if rule.overdue else None,
        "when": rule.when,
        "derive": rule.derive,
        "explanation": rule.explanation,
        "interpretation": rule.interpretation.model_dump() if rule.interpretation else None,
        "legal_force": _force(spec, ruleset),
        "citations": [{
            **c.model_dump(),
            "title": ruleset.catalogue.get(c.instrument_id).title if c.instrument_id in ruleset.catalogue else None,
        } for c in rule.citations],
        "examples": rule.examples.model_dump(),
        "phase": spec.phase,
    })
    return out


def _force(spec: RuleSpec, ruleset: RuleSet) -> str | None:
    inst = spec.instrument(ruleset.catalogue)
    return inst.legal_force.value if inst is not None else None


@router.get("/v1/rules", summary="The rules of the active rule set")
def list_rules(serving: ServingDep, _: Reader,
               instrument: str | None = Query(None, description="Only rules citing this instrument id."),
               kind: str | None = Query(None, description="Only rules of this kind.")) -> dict[str, Any]:
    with serving.lease() as loaded:
        ruleset = loaded.compiled.ruleset
        rules = [_summary(s) for s in ruleset.rules
                 if (instrument is None or any(c.instrument_id == instrument for c in s.rule.citations))
                 and (kind is None or (s.rule.kind and s.rule.kind.value == kind))]
        return {"ruleset": {"version": loaded.version, "digest": loaded.digest}, "count": len(rules), "rules": rules}


@router.get("/v1/rules/{rule_id}", summary="One rule: its conditions, citations and examples",
            responses={404: documented("No such rule")})
def get_rule(rule_id: str, serving: ServingDep, _: Reader) -> dict[str, Any]:
    with serving.lease() as loaded:
        spec = loaded.compiled.ruleset.rule(rule_id)
        if spec is None:
            raise NotFound(f"no rule {rule_id!r} in rule set {loaded.version}")
        return {"ruleset": {"version": loaded.version, "digest": loaded.digest}, **_detail(spec, loaded.compiled.ruleset)}


@router.get("/v1/instruments", summary="Every instrument the sources name, its rules, and why some carry no business duty")
def list_instruments(serving: ServingDep, _: Reader) -> dict[str, Any]:
    with serving.lease() as loaded:
        ruleset = loaded.compiled.ruleset
        by_instrument: dict[str, list[str]] = {}
        for spec in ruleset.rules:
            for c in spec.rule.citations:
                ids = by_instrument.setdefault(c.instrument_id, [])
                if spec.id not in ids:
                    ids.append(spec.id)
        today = dt.date.today()
        items = []
        for inst in ruleset.catalogue:
            items.append({
                **inst.model_dump(),
                "legal_status": ruleset.catalogue.legal_status(inst.id, today),
                "rules": by_instrument.get(inst.id, []),
            })
        return {"ruleset": {"version": loaded.version, "digest": loaded.digest}, "count": len(items), "instruments": items}
