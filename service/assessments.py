"""Assessing profiles: evaluate under the active rule set, record in the decision log, compare two.

The JSON text returned to the caller is the text recorded, so reading an assessment back
gives exactly what was first returned.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service import ids, metrics
from service.answers import Answer, make
from service.engine import durable
from service.engine.assessment import Assessment, Obligation, RulesetRef, Upcoming
from service.engine.questions import Questions, ask
from service.errors import ErrorItem, InvalidProfile, NotFound, TooManyFirings
from service.profile.facts import expansion
from service.profile.model import Profile, check_list_sizes
from service.rulesets import Loaded, RuleSets
from service.store import decisions
from service.store.db import Database
from service.store.journal import DecisionJournal


EVALUATED = metrics.EVALUATIONS.labels("evaluated")
REUSED = metrics.EVALUATIONS.labels("reused")
#: How far past as_of an assessment looks for duties that start and deadlines that fall (days).
DEFAULT_HORIZON_DAYS = 365
MAX_HORIZON_DAYS = 3650


@dataclass
class Recorded:
    """One assessment: its id, the answer it shares with identical evaluations, and the profile as stated."""

    assessment_id: str
    answer: Answer
    stated_profile: str  # canonical JSON, with the as_of applied

    @property
    def body(self) -> str:
        """The JSON text returned and recorded."""
        return self.answer.body(self.assessment_id)

    @property
    def assessment(self) -> Assessment:
        return self.answer.for_id(self.assessment_id)


def check_profile(profile: Profile, max_items: int, prefix: str = "", max_facts: int | None = None) -> None:
    """Lists within MAX_LIST_ITEMS, and services and licences within MAX_PROFILE_FACTS once expanded by region
    and scope: beyond a few hundred such facts the engine's joins take seconds and gigabytes."""
    problems = check_list_sizes(profile, max_items)
    if max_facts is not None:
        services, licences = expansion(profile)
        if services + licences > max_facts:
            message = (f"services and licences expand to {services} + {licences} facts (a service: one per region; "
                       f"a licence: one per region and service type in scope); at most {max_facts} are evaluated: "
                       "state fewer items or regions (CN alone covers every province)")
            problems += [(name, message) for name, count in (("services", services), ("licences", licences)) if count]
    if problems:
        raise _too_large([ErrorItem(path=f"{prefix}{path}", message=msg) for path, msg in problems])


def _too_large(errors: list[ErrorItem]) -> InvalidProfile:
    """The detail names the paths and the bounds, as a validation error's does."""
    return InvalidProfile("the profile is too large: " + "; ".join(str(e) for e in errors[:3]), errors)


def evaluate(loaded: Loaded, profile: Profile, horizon_days: int = DEFAULT_HORIZON_DAYS, where: str = "body") -> Recorded:
    """Evaluate, or reuse the answer of an identical evaluation under this rule-set version (it is deterministic)."""
    stated = profile.model_copy(update={"as_of": profile.effective_as_of()}).model_dump_json(exclude_none=True)
    key = (horizon_days, stated)
    answer = loaded.answers.get(key)
    if answer is None:
        try:
            assessment = loaded.compiled.evaluate(profile, "", horizon_days=horizon_days)
        except TooManyFirings:
            raise _too_large([ErrorItem(path=where, message=(
                f"its items and regions make the rules fire more than {durable.MAX_ACTIONS:,} times, the bound on one "
                "evaluation: state fewer items or regions (CN alone covers every province)"))]) from None
        answer = make(assessment)
        loaded.answers.put(key, answer)
        EVALUATED.inc()
    else:
        REUSED.inc()
    metrics.HITS.hit(answer)
    return Recorded(ids.assessment_id(), answer, stated)


def record(journal: DecisionJournal, recorded: Recorded, loop: Any = None) -> Any:
    """Queue the decision-log record; the future (of `loop`, when given) completes when it is durable."""
    a = recorded.answer
    return journal.submit({"id": recorded.assessment_id, "kind": "assessment", "ruleset_version": a.ruleset_version,
                           "ruleset_digest": a.ruleset_digest, "as_of": a.as_of,
                           "profile": recorded.stated_profile, "body_sha": recorded.answer.sha},
                          recorded.answer.template, loop)


def assess(rulesets: RuleSets, profile: Profile, max_items: int, horizon_days: int = DEFAULT_HORIZON_DAYS,
           max_facts: int | None = None) -> Recorded:
    check_profile(profile, max_items, max_facts=max_facts)
    with rulesets.lease() as loaded:
        return evaluate(loaded, profile, horizon_days)


def questions(rulesets: RuleSets, profile: Profile, max_items: int, limit: int) -> Questions:
    """What to ask next about a partial profile (evaluates it once per candidate fact: run it off the event loop).
    Nothing is recorded: no assessment is made."""
    check_profile(profile, max_items)
    with rulesets.lease() as loaded:
        return ask(loaded.compiled, profile, max_items, limit)


def read(db: Database, journal: DecisionJournal, assessment_id: str) -> str:
    if len(assessment_id) != 26 or not assessment_id.isalnum() or not assessment_id.isascii():  # not a ULID
        raise NotFound(f"no assessment {assessment_id[:40]!r}")
    pending = journal.read(assessment_id)
    if pending is not None:
        return pending
    row = decisions.read(db, assessment_id)
    if row is None:
        raise NotFound(f"no assessment {assessment_id!r}")
    return decisions.body(db, row)


def recorded_assessment(db: Database, journal: DecisionJournal, assessment_id: str) -> Assessment:
    """A recorded assessment as the model of its recorded JSON (for exports: what was returned, not re-evaluated)."""
    return Assessment.model_validate_json(read(db, journal, assessment_id))


# --- comparing two profiles ------------------------------------------------------------------------
class ComparisonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    baseline: Profile
    proposed: Profile


class AssessmentRef(BaseModel):
    assessment_id: str
    as_of: dt.date


class Change(BaseModel):
    rule_id: str
    baseline: Obligation
    proposed: Obligation


class Comparison(BaseModel):
    """What changes between two profiles: the onboarding check for a new business line."""

    ruleset: RulesetRef
    baseline: AssessmentRef
    proposed: AssessmentRef
    added: list[Obligation] = Field(description="Obligations the proposed profile triggers and the baseline does not.")
    removed: list[Obligation] = Field(description="Obligations of the baseline that the proposed profile no longer triggers.")
    changed: list[Change] = Field(description="Rules triggered by both, with different kind, reasons or dates.")
    unchanged: list[Obligation] = Field(description="Obligations identical in both.")
    upcoming_added: list[Upcoming] = Field(
        default_factory=list, description="Duties starting within the horizon for the proposed profile and not the baseline.")
    upcoming_removed: list[Upcoming] = Field(
        default_factory=list, description="Duties starting within the horizon for the baseline and not the proposed profile.")


def _comparable(o: Obligation) -> dict[str, Any]:
    return o.model_dump(mode="json")


def compare(rulesets: RuleSets, request: ComparisonRequest, max_items: int,
            horizon_days: int = DEFAULT_HORIZON_DAYS, max_facts: int | None = None) -> tuple[Comparison, list[Recorded]]:
    """Both sides under one rule-set version; the caller records both assessments."""
    check_profile(request.baseline, max_items, "baseline.", max_facts)
    check_profile(request.proposed, max_items, "proposed.", max_facts)
    with rulesets.lease() as loaded:
        base = evaluate(loaded, request.baseline, horizon_days, where="baseline")
        prop = evaluate(loaded, request.proposed, horizon_days, where="proposed")
    baseline, proposed = base.assessment, prop.assessment
    before = {o.rule_id: o for o in baseline.obligations}
    after = {o.rule_id: o for o in proposed.obligations}
    upcoming_before = {u.obligation.rule_id for u in baseline.upcoming}
    upcoming_after = {u.obligation.rule_id for u in proposed.upcoming}
    changed, unchanged = [], []
    for o in proposed.obligations:
        if o.rule_id in before:
            if _comparable(before[o.rule_id]) == _comparable(o):
                unchanged.append(o)
            else:
                changed.append(Change(rule_id=o.rule_id, baseline=before[o.rule_id], proposed=o))
    return (Comparison(
        ruleset=proposed.ruleset,
        baseline=AssessmentRef(assessment_id=base.assessment_id, as_of=baseline.as_of),
        proposed=AssessmentRef(assessment_id=prop.assessment_id, as_of=proposed.as_of),
        added=[o for o in proposed.obligations if o.rule_id not in before],
        removed=[o for o in baseline.obligations if o.rule_id not in after],
        changed=changed,
        unchanged=unchanged,
        upcoming_added=[u for u in proposed.upcoming if u.obligation.rule_id not in upcoming_before],
        upcoming_removed=[u for u in baseline.upcoming if u.obligation.rule_id not in upcoming_after],
    ), [base, prop])
