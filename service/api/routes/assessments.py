"""POST /v1/assessments, GET /v1/assessments/{id}, POST /v1/assessments/compare."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service import assessments
from service.api.auth import Evaluator, Reader
from service.api.deps import DbDep, JournalDep, RuleSetsDep, SettingsDep
from service.engine.assessment import Assessment
from service.profile.model import Profile

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])

ASSESSMENT_ID = Path(description="An assessment id (a ULID).")
PROBLEMS = {422: {"description": "Invalid profile: the problem names each path and what is allowed"},
            413: {"description": "Body larger than the configured limit"}}


RECORD = Query(True, description="Record the assessment in the decision log (false: evaluate only; it cannot be read back).")


@router.post("", status_code=201, response_model=Assessment, responses={
    **PROBLEMS, 503: {"description": "The decision log cannot take the record (the database has been unreachable too long)"}},
             summary="Evaluate one profile and record it in the decision log")
async def create_assessment(profile: Profile, rulesets: RuleSetsDep, journal: JournalDep, settings: SettingsDep,
                            _: Evaluator, record: bool = RECORD) -> Response:
    recorded = assessments.assess(rulesets, profile, settings.max_list_items)
    if record:
        await asyncio.wrap_future(assessments.record(journal, recorded))
    headers = {"X-Ruleset-Version": recorded.answer.assessment.ruleset.version}
    if record:
        headers["Location"] = f"/v1/assessments/{recorded.assessment_id}"
    return Response(recorded.body, status_code=201 if record else 200, media_type="application/json", headers=headers)


@router.get("/{assessment_id}", response_model=Assessment, responses={404: {"description": "No such assessment"}},
            summary="A recorded assessment, exactly as it was returned")
async def get_assessment(db: DbDep, journal: JournalDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    body = await run_in_threadpool(assessments.read, db, journal, assessment_id)
    return Response(body, media_type="application/json")


@router.post("/compare", response_model=assessments.Comparison, responses=PROBLEMS,
             summary="Obligations added, removed, changed and unchanged between a baseline and a proposed profile")
async def compare(request: assessments.ComparisonRequest, rulesets: RuleSetsDep, journal: JournalDep,
                  settings: SettingsDep, _: Evaluator, record: bool = RECORD) -> assessments.Comparison:
    comparison, sides = assessments.compare(rulesets, request, settings.max_list_items)
    if record:
        futures = [assessments.record(journal, side) for side in sides]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    return comparison
