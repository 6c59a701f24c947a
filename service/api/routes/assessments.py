"""POST /v1/assessments, GET /v1/assessments/{id} (.csv, /report), POST /v1/assessments/compare, /batch,
/questions."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError, field_validator

from service import assessments, batches, businesses, evaluation, header_values
from service.api import batch as batch_http
from service.api import idempotency
from service.api.auth import Evaluator, Reader, authorize
from service.api.deps import DbDep, EvaluationsDep, JournalDep, LimitsDep, ServingDep
from service.api.problems import OpenApiResponses, documented
from service.api.responses import SUBJECT_HEADER, json_bytes, versioned
from service.engine.assessment import Assessment
from service.engine.questions import Questions
from service.errors import InvalidRequest, from_pydantic
from service.exports import report as exports_report
from service.exports import table as exports_table
from service.profile.model import Profile
from service.serving import Serving
from service.store.journal import DecisionJournal

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])

ASSESSMENT_ID = Path(description="An assessment id (a ULID).")
PROBLEMS: OpenApiResponses = {
    422: documented("Invalid profile, or one beyond a bound of evaluation (MAX_PROFILE_FACTS, MAX_RULE_FIRINGS, "
                    "MAX_REQUEST_WORK): the problem names each path and the bound"),
    413: documented("Body larger than the configured limit"),
    503: documented("The evaluation ran past EVALUATION_TIMEOUT_MS and was stopped (nothing recorded), or the decision "
                    "log cannot take the record; see Retry-After")}


RECORD = Query(True, description=(
    "Record the assessment in the decision log (false: evaluate only; it cannot be read back)."))
HORIZON = Query(evaluation.DEFAULT_HORIZON_DAYS, ge=0, le=evaluation.MAX_HORIZON_DAYS, description=(
    "How many days past as_of to look for duties that start (`upcoming`) and deadlines that fall (`deadlines`)."))


class AssessQuery(BaseModel):
    """The query of POST /v1/assessments, read by the handler itself: FastAPI's parameter machinery cost
    ~10% of this route's time. Documented from this model, validated by it, errors named query.<name>."""

    record: bool = Field(default=True, description=RECORD.description)
    horizon_days: int = Field(default=evaluation.DEFAULT_HORIZON_DAYS, ge=0, le=evaluation.MAX_HORIZON_DAYS,
                              description=HORIZON.description)
    subject: str | None = Field(default=None, description=(
        "Your name for the business (a customer id, say), recorded with the assessment and returned in the "
        f"{SUBJECT_HEADER} header, also when it is read back. The portfolio impact of a rule-set version "
        "re-evaluates the latest profile of each subject (a business without one is known by its profile's "
        f"digest). {businesses.SUBJECT_RULE[0].upper()}{businesses.SUBJECT_RULE[1:]}."),
        json_schema_extra={"minLength": 1, "maxLength": businesses.SUBJECT_MAX_LENGTH,
                           "pattern": header_values.PATTERN})

    @field_validator("subject")
    @classmethod
    def _allowed_subject(cls, value: str | None) -> str | None:
        problem = None if value is None else businesses.subject_problem(value)
        if problem:
            raise ValueError(problem)
        return value


DEFAULT_QUERY = AssessQuery()


def read_query(request: Request) -> AssessQuery:
    if not request.scope["query_string"]:
        return DEFAULT_QUERY
    try:
        return AssessQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = from_pydantic(exc.errors(), prefix=("query",))
        raise InvalidRequest("; ".join(f"{e.path}: {e.message}" for e in errors[:3]), errors) from None


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI parameters for a query read by hand."""
    schema = model.model_json_schema()
    return [{"name": name, "in": "query", "required": False, "description": prop.pop("description", ""),
             "schema": prop} for name, prop in schema["properties"].items()]


@router.post("", status_code=201, response_model=Assessment, responses={
    **PROBLEMS, **idempotency.RESPONSES,
    200: {"model": Assessment,
          "description": "Evaluated and not recorded (record=false): no Location, not readable later"}},
             openapi_extra={"parameters": [*query_parameters(AssessQuery), idempotency.PARAMETER]},
             summary="Evaluate one profile and record it in the decision log")
async def create_assessment(profile: Profile, request: Request) -> Response:
    # the hot path: the token check, query and services come straight from the request and the app, not through
    # dependencies (each dependency resolved per request cost ~5% of throughput here)
    principal = await authorize(request, "evaluator", "require_token_for_evaluation")
    query = read_query(request)
    key = idempotency.key_of(request)
    if key is None:
        return await assess(request, profile, query)
    return await idempotency.once(request, principal, key, query.model_dump(),
                                  lambda: assess(request, profile, query))


async def assess(request: Request, profile: Profile, query: AssessQuery) -> Response:
    """Evaluate (or reuse an identical evaluation's answer), record unless record=false, answer."""
    record, horizon_days = query.record, query.horizon_days
    state = request.app.state
    limits: evaluation.Limits = state.limits
    serving: Serving = state.serving
    evaluations: evaluation.Evaluations = state.evaluations
    with serving.lease() as loaded:
        work = evaluation.size(profile, limits).work
        as_stated = evaluation.stated(profile)
        recorded = evaluation.cached(loaded, as_stated, horizon_days)  # an identical profile seen: no evaluation
        if recorded is None:
            recorded = await evaluations.run(work, evaluation.evaluate, loaded, profile, limits.budget(),
                                             horizon_days, as_stated=as_stated)
    if record:
        journal: DecisionJournal = state.journal
        await assessments.record(journal, recorded, asyncio.get_running_loop(), query.subject)
    headers = {"Location": f"/v1/assessments/{recorded.assessment_id}"} if record else {}
    if query.subject is not None:
        headers[SUBJECT_HEADER] = query.subject
    return versioned(recorded.answer.body_bytes(recorded.assessment_id), recorded.answer.ruleset_version,
                     status=201 if record else 200, headers=headers or None)


# before GET /{assessment_id}, which would otherwise take "<id>.csv" for an id
@router.get("/{assessment_id}.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "One row per finding and citation (UTF-8, RFC 4180)"},
    404: documented("No such assessment")},
            summary="A recorded assessment as CSV: one row per finding and citation")
async def export_csv(db: DbDep, journal: JournalDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    assessment = await run_in_threadpool(assessments.recorded_assessment, db, journal, assessment_id)
    return versioned(exports_table.render(assessment).encode("utf-8"), assessment.ruleset.version,
                     media_type="text/csv; charset=utf-8", headers={
                         "Content-Disposition": f'attachment; filename="assessment-{assessment.assessment_id}.csv"'})


@router.get("/{assessment_id}/report", response_class=HTMLResponse, responses={404: documented("No such assessment")},
            summary="A recorded assessment as a printable HTML report, grouped by instrument and kind")
async def report(db: DbDep, journal: JournalDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    assessment = await run_in_threadpool(assessments.recorded_assessment, db, journal, assessment_id)
    return versioned(exports_report.render(assessment).encode("utf-8"), assessment.ruleset.version,
                     media_type="text/html; charset=utf-8",
                     headers={"Content-Security-Policy": exports_report.CONTENT_SECURITY_POLICY})


@router.get("/{assessment_id}", response_model=Assessment, responses={404: documented("No such assessment")},
            summary="A recorded assessment, exactly as it was returned")
async def get_assessment(db: DbDep, journal: JournalDep, _: Reader, assessment_id: str = ASSESSMENT_ID) -> Response:
    body, subject = await run_in_threadpool(assessments.read_with_subject, db, journal, assessment_id)
    version = orjson.loads(body)["ruleset"]["version"]  # the version that produced it, not the one served now
    return versioned(body.encode("utf-8"), version, headers={SUBJECT_HEADER: subject} if subject else None)


@router.post("/compare", response_model=assessments.Comparison, responses=PROBLEMS,
             summary="Obligations added, removed, changed and unchanged between a baseline and a proposed profile")
async def compare(request: assessments.ComparisonRequest, serving: ServingDep, journal: JournalDep,
                  evaluations: EvaluationsDep, limits: LimitsDep, _: Evaluator, record: bool = RECORD,
                  horizon_days: int = HORIZON) -> Response:
    with serving.lease() as loaded:
        work = evaluation.measure(request.baseline).work + evaluation.measure(request.proposed).work
        comparison, sides = await evaluations.run(work, assessments.compare, loaded, request, limits, horizon_days)
    if record:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(assessments.record(journal, side, loop) for side in sides))
    return versioned(json_bytes(comparison), comparison.ruleset.version)


@router.post("/batch", response_model=batch_http.BatchResponse, responses={
    422: documented("Not a list of 1 to 1,000 items, or items beyond MAX_REQUEST_WORK together (a bad item gets its "
                    "own 422 inside the answer)"),
    413: documented("Body larger than MAX_BATCH_BYTES"), **idempotency.RESPONSES},
             openapi_extra={"parameters": [idempotency.PARAMETER]},
             summary="Evaluate up to 1,000 profiles, each recorded with its own assessment id")
async def create_batch(request: batch_http.BatchRequest, http: Request, serving: ServingDep, journal: JournalDep,
                       evaluations: EvaluationsDep, limits: LimitsDep, principal: Evaluator, record: bool = RECORD,
                       horizon_days: int = HORIZON) -> Response:
    async def answer() -> Response:
        with serving.lease() as loaded:
            outcomes = await evaluations.run(evaluation.EXPENSIVE, batches.assess, loaded, request.profiles, limits,
                                             horizon_days)
            ref = loaded.ref
        if record:
            await batches.record(journal, outcomes)
        return versioned(batch_http.body(ref, outcomes, record), ref.version)

    key = idempotency.key_of(http)
    if key is None:
        return await answer()
    return await idempotency.once(http, principal, key, {"record": record, "horizon_days": horizon_days}, answer)


@router.post("/questions", response_model=Questions, responses=PROBLEMS,
             summary="What to ask next: facts not yet given that would make further rules apply (not recorded)")
async def questions(profile: Profile, serving: ServingDep, evaluations: EvaluationsDep, limits: LimitsDep,
                    _: Evaluator,
                    limit: int = Query(25, ge=1, le=200, description="Most questions to return, the best first.")
                    ) -> Response:
    with serving.lease() as loaded:
        answer = await evaluations.run(evaluation.EXPENSIVE, assessments.questions, loaded, profile, limits, limit)
    return versioned(json_bytes(answer), answer.ruleset.version)
