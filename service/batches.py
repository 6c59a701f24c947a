"""Many profiles in one request: each item is assessed and recorded on its own, a bad item refused on its own.

Every item is evaluated under the same rule-set version (one lease for the whole batch), gets its own
assessment id and decision-log record, and is answered with exactly the bytes a single POST
/v1/assessments would have returned (and GET /v1/assessments/{id} returns later). An item that is not a
valid profile gets its own problem document (422, error paths prefixed `profiles[<index>].`) and does not
sink the others. The response is written as bytes around the recorded answers: nothing is encoded twice.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service import assessments
from service.assessments import Recorded
from service.engine.assessment import Assessment, RulesetRef
from service.errors import ErrorItem, InvalidProfile, Problem, ServiceError, from_pydantic
from service.profile.model import Profile
from service.rulesets import RuleSets
from service.store.journal import DecisionJournal

MAX_BATCH_ITEMS = 1000


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: list[Any] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"Up to {MAX_BATCH_ITEMS} business profiles, each in the shape of POST /v1/assessments "
                    "(schemas/profile.schema.json). Each is validated on its own.")


class BatchItem(BaseModel):
    """One profile's outcome: an assessment (201 recorded, 200 not recorded) or a problem (422, 503)."""

    index: int = Field(description="The profile's position in `profiles`.")
    status: int = Field(description="201: assessed and recorded; 200: assessed, not recorded (record=false); "
                                    "422: not a valid profile; 503: assessed but the decision log could not take it.")
    assessment_id: str | None = None
    location: str | None = Field(None, description="Where the recorded assessment can be read back.")
    assessment: Assessment | None = None
    problem: Problem | None = None


class BatchResponse(BaseModel):
    ruleset: RulesetRef
    count: int
    assessed: int = Field(description="Items answered with an assessment (201 or 200).")
    refused: int = Field(description="Items answered with a problem.")
    items: list[BatchItem]


@dataclass
class Outcome:
    index: int
    recorded: Recorded | None = None
    problem: ServiceError | None = None


def _refusal(index: int, errors: list[ErrorItem]) -> InvalidProfile:
    detail = "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
    return InvalidProfile(detail or f"profiles[{index}] is not a valid profile", errors)


def assess(rulesets: RuleSets, items: list[Any], max_items: int,
           horizon_days: int = assessments.DEFAULT_HORIZON_DAYS) -> tuple[RulesetRef, list[Outcome]]:
    """Validate and evaluate every item under one rule-set version (blocking: run it off the event loop)."""
    outcomes: list[Outcome] = []
    with rulesets.lease() as loaded:
        ref = RulesetRef(version=loaded.version, digest=loaded.digest)
        for index, item in enumerate(items):
            prefix = ("profiles", index)
            try:
                profile = Profile.model_validate(item)
            except ValidationError as exc:
                outcomes.append(Outcome(index, problem=_refusal(index, from_pydantic(exc.errors(), Profile, prefix))))
                continue
            try:
                assessments.check_profile(profile, max_items, f"profiles[{index}].")
            except InvalidProfile as exc:
                outcomes.append(Outcome(index, problem=_refusal(index, exc.errors)))
                continue
            outcomes.append(Outcome(index, recorded=assessments.evaluate(loaded, profile, horizon_days)))
    return ref, outcomes


async def record(journal: DecisionJournal, outcomes: list[Outcome]) -> None:
    """Record every assessed item; an item the decision log cannot take becomes a problem of its own."""
    loop = asyncio.get_running_loop()
    waiting: list[tuple[Outcome, Any]] = []
    for outcome in outcomes:
        if outcome.recorded is None:
            continue
        try:
            waiting.append((outcome, assessments.record(journal, outcome.recorded, loop)))
        except ServiceError as exc:  # the buffer is full or the service is stopping: this item is not recorded
            outcome.problem, outcome.recorded = exc, None
    results = await asyncio.gather(*(future for _, future in waiting), return_exceptions=True)
    for (outcome, _), result in zip(waiting, results):
        if isinstance(result, ServiceError):
            outcome.problem, outcome.recorded = result, None
        elif isinstance(result, BaseException):
            raise result


def body(ref: RulesetRef, outcomes: list[Outcome], recorded: bool) -> bytes:
    """The response, assembled around each answer's recorded bytes."""
    parts: list[bytes] = []
    assessed = 0
    for o in outcomes:
        if o.recorded is not None:
            assessed += 1
            ident = o.recorded.assessment_id
            head = {"index": o.index, "status": 201 if recorded else 200, "assessment_id": ident}
            if recorded:
                head["location"] = f"/v1/assessments/{ident}"
            parts.append(orjson.dumps(head)[:-1] + b',"assessment":' + o.recorded.answer.body_bytes(ident) + b"}")
        else:
            p = o.problem
            assert p is not None
            problem = {"type": p.type, "title": p.title, "status": p.status, "detail": p.detail,
                       "errors": [e.as_dict() for e in p.errors]}
            parts.append(orjson.dumps({"index": o.index, "status": p.status, "problem": problem}))
    head = orjson.dumps({"ruleset": ref.model_dump(), "count": len(outcomes), "assessed": assessed,
                         "refused": len(outcomes) - assessed})
    return head[:-1] + b',"items":[' + b",".join(parts) + b"]}"
