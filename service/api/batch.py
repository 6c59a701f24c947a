"""The HTTP shape of POST /v1/assessments/batch: the request, one item per profile, and the answer assembled as
bytes around each recorded answer (nothing is encoded twice)."""
from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from service.api.problems import Problem, document
from service.batches import MAX_BATCH_ITEMS, Outcome
from service.engine.assessment import Assessment, RuleSetRef


class BatchRequest(BaseModel):
    """The body of POST /v1/assessments/batch: the profiles, each checked on its own (a bad one fails alone)."""

    model_config = ConfigDict(extra="forbid")

    profiles: list[Any] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS,
        description=f"Up to {MAX_BATCH_ITEMS} business profiles, each in the shape of POST /v1/assessments "
                    "(schemas/profile.schema.json). Each is validated on its own.")


class BatchItem(BaseModel):
    """One profile's outcome: an assessment (201 recorded, 200 not recorded) or a problem (422, 503)."""

    index: int = Field(description="The profile's position in `profiles`.")
    status: int = Field(description="201: assessed and recorded; 200: assessed, not recorded (record=false); "
                                    "422: not a valid profile, or beyond a bound of evaluation; 503: not evaluated "
                                    "within the request's time budget, or the decision log could not take it.")
    assessment_id: str | None = Field(None, description="The assessment's id, when assessed.")
    location: str | None = Field(None, description="Where the recorded assessment can be read back.")
    assessment: Assessment | None = Field(None, description="The assessment, byte for byte as recorded.")
    problem: Problem | None = Field(None, description="Why this profile got no assessment.")


class BatchResponse(BaseModel):
    """Every profile's outcome, in order, all under one rule-set version."""

    ruleset: RuleSetRef = Field(description="The rule-set version every item was evaluated under.")
    count: int = Field(description="Items in the request.")
    assessed: int = Field(description="Items answered with an assessment (201 or 200).")
    refused: int = Field(description="Items answered with a problem.")
    items: list[BatchItem] = Field(description="One per profile, in the order sent.")


def body(ref: RuleSetRef, outcomes: list[Outcome], recorded: bool) -> bytes:
    """The response, assembled around each answer's recorded bytes."""
    parts: list[bytes] = []
    assessed = 0
    for o in outcomes:
        if o.recorded is not None:
            assessed += 1
            ident = o.recorded.assessment_id
            head: dict[str, Any] = {"index": o.index, "status": 201 if recorded else 200, "assessment_id": ident}
            if recorded:
                head["location"] = f"/v1/assessments/{ident}"
            parts.append(orjson.dumps(head)[:-1] + b',"assessment":' + o.recorded.answer.body_bytes(ident) + b"}")
        else:
            assert o.problem is not None
            problem = document(o.problem)
            parts.append(orjson.dumps({"index": o.index, "status": problem["status"], "problem": problem}))
    head_bytes = orjson.dumps({"ruleset": ref.model_dump(), "count": len(outcomes), "assessed": assessed,
                               "refused": len(outcomes) - assessed})
    return head_bytes[:-1] + b',"items":[' + b",".join(parts) + b"]}"
