"""Assessing profiles: evaluate under the active rule set (through `service.evaluation`, the one bounded path),
record in the decision log, compare two, ask what to ask next.

The JSON text returned to the caller is the text recorded, so reading an assessment back
gives exactly what was first returned.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service import changes, evaluation
from service.engine.assessment import Assessment, Obligation, RuleSetRef, Upcoming
from service.engine.questions import Questions, ask
from service.errors import ErrorItem, NotFound, TooManyFirings
from service.evaluation import DEFAULT_HORIZON_DAYS, Evaluated, Limits
from service.profile.model import Profile
from service.serving import ServedRuleSet
from service.store import decisions
from service.store.db import Database
from service.store.journal import DecisionJournal


def record(journal: DecisionJournal, recorded: Evaluated,
           loop: asyncio.AbstractEventLoop | None = None, subject: str | None = None) -> asyncio.Future[None]:
    """Queue the decision-log record; the future (of `loop`, when given) completes when it is durable. `subject`:
    the caller's name for the business (service/businesses.py)."""
    a = recorded.answer
    entry = {"id": recorded.assessment_id, "kind": "assessment", "ruleset_version": a.ruleset_version,
             "ruleset_digest": a.ruleset_digest, "as_of": a.as_of, "profile": recorded.stated_profile,
             "body_sha": recorded.answer.sha}
    if subject is not None:
        entry["subject"] = subject
    return journal.submit(entry, recorded.answer.template, loop)


def questions(loaded: ServedRuleSet, profile: Profile, limits: Limits, limit: int) -> Questions:
    """What to ask next about a partial profile. It is evaluated once as it is, then once per candidate fact and
    twice per yes/no fact its findings depend on: once the first evaluation shows how many, the request is bounded
    (MAX_REQUEST_WORK) before the others run, and all of them share one time budget. Nothing is recorded."""
    work = evaluation.size(profile, limits).work
    budget = limits.budget()

    def plan(evaluations: int) -> None:
        evaluation.plan(work * (1 + evaluations), limits, "body",
                        f"asking about this profile ({evaluations} evaluations beside the first, {work:,} units each)",
                        "state fewer items or regions, or ask about one part of the business at a time")

    try:
        return ask(loaded.compiled, profile, limits.max_list_items, limit, budget, plan=plan)
    except TooManyFirings:
        raise evaluation.too_large([ErrorItem(path="body", message=(
            f"with one more fact its items and regions make the rules fire more than {budget.max_firings:,} times, "
            f"the bound on one evaluation (MAX_RULE_FIRINGS): {evaluation.SMALLER}"))]) from None


def read(db: Database, journal: DecisionJournal, assessment_id: str) -> str:
    return read_with_subject(db, journal, assessment_id)[0]


def read_with_subject(db: Database, journal: DecisionJournal, assessment_id: str) -> tuple[str, str | None]:
    """The recorded answer, and the subject it was recorded with (None when the caller gave none)."""
    if len(assessment_id) != 26 or not assessment_id.isalnum() or not assessment_id.isascii():  # not a ULID
        raise NotFound(f"no assessment {assessment_id[:40]!r}")
    pending = journal.read(assessment_id)
    if pending is not None:
        return pending, journal.subject(assessment_id)
    row = decisions.read(db, assessment_id)
    if row is None:
        raise NotFound(f"no assessment {assessment_id!r}")
    return decisions.body(db, row), row.subject


def recorded_assessment(db: Database, journal: DecisionJournal, assessment_id: str) -> Assessment:
    """A recorded assessment as the model of its recorded JSON (for exports: what was returned, not re-evaluated)."""
    return Assessment.model_validate_json(read(db, journal, assessment_id))


# --- comparing two profiles ------------------------------------------------------------------------
class ComparisonRequest(BaseModel):
    """Two profiles of one business to compare (POST /v1/assessments/compare): as it is, and with the change
    considered, such as a new business line, region or licence."""

    model_config = ConfigDict(extra="forbid")

    baseline: Profile = Field(description="The business as it is.")
    proposed: Profile = Field(description="The business with the change considered.")


class AssessmentRef(BaseModel):
    """One side of a comparison: the assessment recorded for it."""

    assessment_id: str = Field(description=(
        "The id of the assessment recorded for this side (GET /v1/assessments/{assessment_id} returns it in full)."))
    as_of: dt.date = Field(description="The date the law was applied at for this side.")


class Change(BaseModel):
    """A rule that reports for both profiles, with a different finding."""

    rule_id: str = Field(description="The rule that reports for both profiles.")
    baseline: Obligation = Field(description="Its finding for the baseline profile.")
    proposed: Obligation = Field(description="Its finding for the proposed profile.")


class Comparison(BaseModel):
    """What changes between two profiles: the onboarding check for a new business line. Both sides are evaluated
    under one rule-set version, and each is recorded as an assessment of its own."""

    ruleset: RuleSetRef = Field(description="The rule-set version both profiles were evaluated under.")
    baseline: AssessmentRef = Field(description="The assessment of the baseline profile.")
    proposed: AssessmentRef = Field(description="The assessment of the proposed profile.")
    added: list[Obligation] = Field(description="Obligations the proposed profile triggers and the baseline does not.")
    removed: list[Obligation] = Field(
        description="Obligations of the baseline that the proposed profile no longer triggers.")
    changed: list[Change] = Field(description="Rules triggered by both, with different kind, reasons or dates.")
    unchanged: list[Obligation] = Field(description="Obligations identical in both.")
    upcoming_added: list[Upcoming] = Field(default_factory=list, description=(
        "Duties starting within the horizon for the proposed profile and not the baseline."))
    upcoming_removed: list[Upcoming] = Field(default_factory=list, description=(
        "Duties starting within the horizon for the baseline and not the proposed profile."))


def _comparable(o: Obligation) -> dict[str, Any]:
    return o.model_dump(mode="json")


def compare(loaded: ServedRuleSet, request: ComparisonRequest, limits: Limits,
            horizon_days: int = DEFAULT_HORIZON_DAYS) -> tuple[Comparison, list[Evaluated]]:
    """Both sides under one rule-set version and one budget; the caller records both assessments."""
    evaluation.size(request.baseline, limits, "baseline.")
    evaluation.size(request.proposed, limits, "proposed.")
    budget = limits.budget()
    base = evaluation.evaluate(loaded, request.baseline, budget, horizon_days, where="baseline")
    prop = evaluation.evaluate(loaded, request.proposed, budget, horizon_days, where="proposed")
    baseline, proposed = base.answer.for_id(base.assessment_id), prop.answer.for_id(prop.assessment_id)
    before = {o.rule_id: o for o in baseline.obligations}
    after = {o.rule_id: o for o in proposed.obligations}
    findings = changes.between(before, after, lambda a, b: _comparable(a) == _comparable(b))
    upcoming = changes.between({u.obligation.rule_id: u for u in baseline.upcoming},
                               {u.obligation.rule_id: u for u in proposed.upcoming})
    return (Comparison(
        ruleset=proposed.ruleset,
        baseline=AssessmentRef(assessment_id=base.assessment_id, as_of=baseline.as_of),
        proposed=AssessmentRef(assessment_id=prop.assessment_id, as_of=proposed.as_of),
        added=[after[r] for r in findings.added],
        removed=[before[r] for r in findings.removed],
        changed=[Change(rule_id=r, baseline=before[r], proposed=after[r]) for r in findings.changed],
        unchanged=[after[r] for r in findings.unchanged],
        upcoming_added=[u for u in proposed.upcoming if u.obligation.rule_id in set(upcoming.added)],
        upcoming_removed=[u for u in baseline.upcoming if u.obligation.rule_id in set(upcoming.removed)],
    ), [base, prop])
