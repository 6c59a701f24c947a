"""Many profiles in one request: each item is assessed and recorded on its own, a bad item refused on its own.

Every item is evaluated under the same rule-set version (one lease for the whole batch) and one time budget,
gets its own assessment id and decision-log record, and is answered with exactly the bytes a single POST
/v1/assessments would have returned (and GET /v1/assessments/{id} returns later). An item that is not a
valid profile, or is beyond a bound, gets its own problem (422, error paths prefixed `profiles[<index>].`) at
once and does not sink the others; the items together are bounded by MAX_REQUEST_WORK up front; items not
evaluated when the time budget runs out get their own 503. The HTTP answer is built in `service/api/batch.py`.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service import assessments, evaluation
from service.errors import ErrorItem, EvaluationTimeout, InvalidProfile, ProfileTooLarge, ServiceError, from_pydantic
from service.evaluation import DEFAULT_HORIZON_DAYS, Evaluated, Limits
from service.profile.model import Profile
from service.serving import ServedRuleSet
from service.store.journal import DecisionJournal

MAX_BATCH_ITEMS = 1000


@dataclass
class Outcome:
    index: int
    recorded: Evaluated | None = None
    problem: ServiceError | None = None


def _refusal(index: int, errors: list[ErrorItem]) -> InvalidProfile:
    detail = "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
    return InvalidProfile(detail or f"profiles[{index}] is not a valid profile", errors)


def assess(loaded: ServedRuleSet, items: list[Any], limits: Limits,
           horizon_days: int = DEFAULT_HORIZON_DAYS) -> list[Outcome]:
    """Validate, bound and evaluate every item (blocking: run it with `Evaluations.run`)."""
    outcomes: list[Outcome] = []
    work: dict[int, int] = {}
    profiles: dict[int, Profile] = {}
    for index, item in enumerate(items):
        try:
            profile = Profile.model_validate(item)
        except ValidationError as exc:
            errors = from_pydantic(exc.errors(), Profile, ("profiles", index))
            outcomes.append(Outcome(index, problem=_refusal(index, errors)))
            continue
        try:
            work[index] = evaluation.size(profile, limits, f"profiles[{index}].").work
        except ProfileTooLarge as exc:
            outcomes.append(Outcome(index, problem=exc))
            continue
        profiles[index] = profile
    evaluation.plan(sum(work.values()), limits, "profiles", f"these {len(work)} profiles",
                    "send the profiles in several smaller batches")
    budget = limits.budget()
    for index, profile in profiles.items():
        try:
            recorded = evaluation.evaluate(loaded, profile, budget, horizon_days, where=f"profiles[{index}]")
            outcomes.append(Outcome(index, recorded=recorded))
        except (InvalidProfile, EvaluationTimeout) as exc:  # beyond the firing bound; or out of time
            outcomes.append(Outcome(index, problem=exc))
    outcomes.sort(key=lambda o: o.index)
    return outcomes


async def record(journal: DecisionJournal, outcomes: list[Outcome]) -> None:
    """Record every assessed item; an item the decision log cannot take becomes a problem of its own."""
    loop = asyncio.get_running_loop()
    waiting: list[tuple[Outcome, asyncio.Future[None]]] = []
    for outcome in outcomes:
        if outcome.recorded is None:
            continue
        try:
            waiting.append((outcome, assessments.record(journal, outcome.recorded, loop)))
        except ServiceError as exc:  # the buffer is full or the service is stopping: this item is not recorded
            outcome.problem, outcome.recorded = exc, None
    results = await asyncio.gather(*(future for _, future in waiting), return_exceptions=True)
    for (outcome, _), result in zip(waiting, results, strict=True):
        if isinstance(result, ServiceError):
            outcome.problem, outcome.recorded = result, None
        elif isinstance(result, BaseException):
            raise result
