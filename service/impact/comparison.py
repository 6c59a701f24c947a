"""What changes for one business between two rule-set versions: its latest profile evaluated under each, the
findings compared by rule with service/changes.py (the definition /compare and the preview use).

A finding is `changed` when anything in it differs (kind, severity, dates, reasons, citations, wording); the
result names the fields that differ and, for the plain ones, their values before and after.
"""
from __future__ import annotations

from typing import Any

import orjson

from service import changes, evaluation
from service.engine.assessment import dump
from service.engine.evaluate import CompiledRuleSet
from service.evaluation import Limits
from service.profile.model import Profile

Finding = dict[str, Any]  # an obligation as the answer's JSON data
Result = dict[str, list[dict[str, Any]]]  # added, removed, changed
PLAIN = (str, int, float, bool, type(None))


def instrument_of(finding: Finding) -> str | None:
    """The instrument a finding rests on: its first citation's (as `legal_force` is)."""
    citations = finding.get("citations") or []
    return citations[0]["instrument_id"] if citations else None


def _summary(finding: Finding) -> dict[str, Any]:
    return {"rule_id": finding["rule_id"], "instrument_id": instrument_of(finding), "kind": finding["kind"],
            "severity": finding["severity"], "title": finding["title"]}


def _change(before: Finding, after: Finding) -> dict[str, Any]:
    fields = [name for name in after if before.get(name) != after[name]]
    fields += [name for name in before if name not in after]
    plain = [name for name in fields if isinstance(before.get(name), PLAIN) and isinstance(after.get(name), PLAIN)]
    return {**_summary(after), "fields": fields,
            "before": {name: before.get(name) for name in plain}, "after": {name: after.get(name) for name in plain}}


def difference(before: list[Finding], after: list[Finding]) -> Result:
    """Findings added, removed and changed from `before` to `after` (each a list of the answer's obligations)."""
    old = {f["rule_id"]: f for f in before}
    new = {f["rule_id"]: f for f in after}
    found = changes.between(old, new)
    return {"added": [_summary(new[r]) for r in found.added],
            "removed": [_summary(old[r]) for r in found.removed],
            "changed": [_change(old[r], new[r]) for r in found.changed]}


def findings(compiled: CompiledRuleSet, profile: Profile, limits: Limits) -> list[Finding]:
    """A profile's findings on its as_of under one version, through the evaluation path and its bounds (raises
    ProfileTooLarge, EvaluationTimeout as an assessment would)."""
    evaluation.size(profile, limits)
    written = evaluation.write_up(compiled, profile, limits.budget(), horizon_days=0)["obligations"]
    found: list[Finding] = orjson.loads(dump({"obligations": written}))["obligations"]  # plain JSON data: the
    return found  # answer holds pre-rendered parts (orjson fragments), which compare by identity


def compare(baseline: CompiledRuleSet, candidate: CompiledRuleSet, stated_profile: str, limits: Limits) -> Result:
    """One business: its recorded profile (canonical JSON, as stated) under the baseline and the candidate."""
    profile = Profile.model_validate_json(stated_profile)
    return difference(findings(baseline, profile, limits), findings(candidate, profile, limits))
