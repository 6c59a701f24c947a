"""POST /v1/assessments, GET /v1/assessments/{id}, POST /v1/assessments/compare."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service import assessments
from service.api.auth import Evaluator, Reader, authorize
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
async def create_assessment(profile: Profile, request: Request, record: bool = RECORD) -> Response:
    # the hot path: the token check and services come straight from the app, not through dependencies
    # (each dependency resolved per request cost ~5% of throughput here)
    await authorize(request, "evaluator", "require_token_for_evaluation")
    state = request.app.state
    recorded = assessments.assess(state.rulesets, profile, state.settings.max_list_items,
                                  max_facts=state.settings.max_profile_facts)
    if record:
        await assessments.record(state.journal, recorded, asyncio.get_running_loop())
    headers = {"X-Ruleset-Version": recorded.answer.assessment.ruleset.version}
    if record:
        headers["Location"] = f"/v1/assessments/{recorded.assessment_id}"
    return Response(recorded.answer.body_bytes(recorded.assessment_id), status_code=201 if record else 200,
                    media_type="application/json", headers=headers)


@router.get("/{assessment_id}", response_model=Assessment, responses={404: {"description": "No such assessment"}},
            summary="A recorded assessment, exactly as it was returned")
async def get_assessment(db: DbDep, journal: JournalDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    body = await run_in_threadpool(assessments.read, db, journal, assessment_id)
    return Response(body, media_type="application/json")


@router.post("/compare", response_model=assessments.Comparison, responses=PROBLEMS,
             summary="Obligations added, removed, changed and unchanged between a baseline and a proposed profile")
async def compare(request: assessments.ComparisonRequest, rulesets: RuleSetsDep, journal: JournalDep,
                  settings: SettingsDep, _: Evaluator, record: bool = RECORD) -> assessments.Comparison:
    comparison, sides = assessments.compare(rulesets, request, settings.max_list_items, settings.max_profile_facts)
    if record:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(assessments.record(journal, side, loop) for side in sides))
    return comparison
