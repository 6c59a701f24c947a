"""POST /v1/assessments, GET /v1/assessments/{id}, POST /v1/assessments/compare."""
from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service import assessments
from service.api.auth import Evaluator, Reader
from service.api.deps import DbDep, RuleSetsDep, SettingsDep
from service.engine.assessment import Assessment
from service.profile.model import Profile

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])

ASSESSMENT_ID = Path(description="An assessment id (a ULID).")
PROBLEMS = {422: {"description": "Invalid profile: the problem names each path and what is allowed"},
            413: {"description": "Body larger than the configured limit"}}


@router.post("", status_code=201, response_model=Assessment, responses=PROBLEMS,
             summary="Evaluate one profile and record it in the decision log")
async def create_assessment(profile: Profile, rulesets: RuleSetsDep, db: DbDep, settings: SettingsDep,
                            _: Evaluator) -> Response:
    recorded = await run_in_threadpool(assessments.assess, rulesets, db, profile, settings.max_list_items)
    a = recorded.assessment
    return Response(recorded.body, status_code=201, media_type="application/json",
                    headers={"Location": f"/v1/assessments/{a.assessment_id}", "X-Ruleset-Version": a.ruleset.version})


@router.get("/{assessment_id}", response_model=Assessment, responses={404: {"description": "No such assessment"}},
            summary="A recorded assessment, exactly as it was returned")
async def get_assessment(db: DbDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    body = await run_in_threadpool(assessments.read, db, assessment_id)
    return Response(body, media_type="application/json")


@router.post("/compare", response_model=assessments.Comparison, responses=PROBLEMS,
             summary="Obligations added, removed, changed and unchanged between a baseline and a proposed profile")
async def compare(request: assessments.ComparisonRequest, rulesets: RuleSetsDep, db: DbDep,
                  settings: SettingsDep, _: Evaluator) -> assessments.Comparison:
    return await run_in_threadpool(assessments.compare, rulesets, db, request, settings.max_list_items)
