"""Every error the API returns is a problem details document (RFC 9457) with `errors: [{path, message}]`.

This is the one place that decides the HTTP answer to a domain error (`service/errors.py`): its status, title
and problem type (`PROBLEM_KINDS`), and the headers it carries (Retry-After, WWW-Authenticate).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service import errors as domain
from service.api import bodies
from service.errors import ErrorItem, ServiceError, from_pydantic

log = logging.getLogger("service.api")
PROBLEM = "application/problem+json"
CHALLENGE = 'Bearer realm="compliance-engine"'
#: The `responses=` of a route: status -> what the OpenAPI description says about that answer.
OpenApiResponses = dict[int | str, dict[str, Any]]


def absent_when_none(value: object) -> bool:
    """For `Field(exclude_if=...)`: a key the answer leaves out rather than writing null."""
    return value is None


class ProblemError(BaseModel):
    """One thing wrong: where, and what is allowed there (as `ErrorItem.as_dict` writes it)."""

    path: str = Field(description="Where: a JSON path into the request (services[0].type), a header or a file.")
    message: str = Field(description="What is wrong there, and what is allowed.")
    file: str | None = Field(None, exclude_if=absent_when_none, description="For a rule set: the file.")
    rule: str | None = Field(None, exclude_if=absent_when_none, description="For a rule set: the rule id.")


class Problem(BaseModel):
    """Every error answer (RFC 9457 problem details), with each thing wrong listed under `errors`."""

    type: str = Field(description="What kind of problem: a path under /problems/ (or about:blank).")
    title: str = Field(description="The kind in words.")
    status: int = Field(description="The HTTP status.")
    detail: str = Field(description="This occurrence in words: the first errors and the bound or rule involved.")
    errors: list[ProblemError] = Field(description="Each thing wrong: where, and what is allowed there.")


@dataclass(frozen=True)
class ProblemKind:
    status: int
    title: str
    type: str


#: The HTTP answer to each domain error; a subclass not listed answers as its nearest listed ancestor.
PROBLEM_KINDS: dict[type[ServiceError], ProblemKind] = {
    domain.ServiceError: ProblemKind(500, "Internal error", "about:blank"),
    domain.InvalidProfile: ProblemKind(422, "Invalid profile", "/problems/invalid-profile"),
    domain.ProfileTooLarge: ProblemKind(422, "Profile too large", "/problems/profile-too-large"),
    domain.InvalidRequest: ProblemKind(422, "Invalid request", "/problems/invalid-request"),
    domain.RequestTooLarge: ProblemKind(422, "Request too large", "/problems/request-too-large"),
    domain.InvalidRuleSet: ProblemKind(422, "Invalid rule set", "/problems/invalid-ruleset"),
    domain.NotFound: ProblemKind(404, "Not found", "/problems/not-found"),
    domain.Unauthorized: ProblemKind(401, "Unauthorized", "/problems/unauthorized"),
    domain.Forbidden: ProblemKind(403, "Forbidden", "/problems/forbidden"),
    domain.Conflict: ProblemKind(409, "Conflict", "/problems/conflict"),
    domain.IdempotencyKeyReused: ProblemKind(422, "Idempotency key reused", "/problems/idempotency-key-reused"),
    domain.IdempotencyInProgress: ProblemKind(409, "Idempotent request in progress",
                                              "/problems/idempotency-in-progress"),
    domain.PayloadTooLarge: ProblemKind(413, "Payload too large", "/problems/payload-too-large"),
    domain.Unavailable: ProblemKind(503, "Service unavailable", "/problems/unavailable"),
    domain.EvaluationTimeout: ProblemKind(503, "Evaluation timed out", "/problems/evaluation-timeout"),
    domain.EngineFailure: ProblemKind(500, "Rule engine failure", "/problems/engine-failure"),
}


def kind_of(exc: ServiceError) -> ProblemKind:
    return next(PROBLEM_KINDS[cls] for cls in type(exc).__mro__ if cls in PROBLEM_KINDS)


def document(exc: ServiceError) -> dict[str, Any]:
    """The problem document of a domain error (also embedded in a batch's answer for one item)."""
    kind = kind_of(exc)
    return {"type": kind.type, "title": kind.title, "status": kind.status, "detail": exc.detail,
            "errors": [e.as_dict() for e in exc.errors]}


def headers_of(exc: ServiceError) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, domain.Unauthorized):
        headers["WWW-Authenticate"] = CHALLENGE
    return headers or None


def documented(description: str) -> dict[str, Any]:
    """An error response as the OpenAPI description states it: a Problem, served as application/problem+json."""
    return {"description": description, "model": Problem,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: What any /v1 operation may answer besides its own responses.
COMMON: OpenApiResponses = {
    400: documented("The body is not JSON (or not the JSON the operation takes)"),
    401: documented("A token is needed (or the one sent is not known); see WWW-Authenticate"),
    403: documented("The token's role may not do this"),
    413: documented("The body is larger than the configured limit"),
    415: documented("The body's media type is not one the operation takes"),
    422: documented("The request is not valid: each path, and what is allowed there"),
    500: documented("A bug: logged with the request id (X-Request-ID)"),
    503: documented("The database or the decision log cannot serve this now; see Retry-After"),
}


def problem(status: int, title: str, detail: str, errors: list[ErrorItem] | None = None, type_: str = "about:blank",
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail,
            "errors": [e.as_dict() for e in (errors or [])]}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"}) if hasattr(route, "matches") else (None, None)
        if match is not None and match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def install(app: FastAPI, body_model_for: dict[str, type] | None = None) -> None:
    models = body_model_for or {}

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        body = document(exc)
        if body["status"] >= 500 and body["status"] != 503:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(body, status_code=body["status"], media_type=PROBLEM, headers=headers_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        model = models.get(request.url.path)
        content_type = request.headers.get("content-type", "")
        if model is not None and content_type and not _is_json(content_type):
            # FastAPI leaves a body of another type unread and reports "valid dictionary" at `body`: say why
            message = f"expected application/json, got {content_type.split(';')[0].strip()[:80]!r}"
            return problem(422, "Invalid request", f"headers.content-type: {message}",
                           [ErrorItem(path="headers.content-type", message=message)], "/problems/invalid-request")
        errors = from_pydantic(list(exc.errors()), model)
        detail = "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
        return problem(422, "Invalid request", detail or "the request is not valid", errors,
                       "/problems/invalid-request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = bodies.unreadable(exc.__cause__) if exc.status_code == 400 and exc.__cause__ else None
        if unreadable:  # FastAPI's "There was an error parsing the body": a body json.loads refused, explained
            return problem(422, "Invalid request", f"body: {unreadable}", [ErrorItem(path="body", message=unreadable)],
                           "/problems/invalid-request")
        titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 413: "Payload too large",
                  415: "Unsupported media type"}
        types = {413: "/problems/payload-too-large"}
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the methods of the first route on the path only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                       type_=types.get(exc.status_code, "about:blank"), headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s: database unreachable (%s)", request.method, request.url.path, type(exc).__name__)
        return problem(503, "Service unavailable", "the database is unreachable; retry later",
                       headers={"Retry-After": "5"})

    @app.exception_handler(ProgrammingError)
    async def _database_not_ready(request: Request, exc: ProgrammingError) -> JSONResponse:
        """Between the database coming back and the follower migrating it, its tables may not exist yet."""
        if request.app.state.serving.health.started:
            raise exc
        return problem(503, "Service unavailable", "the service is finishing its start-up now that the database "
                       "answers; retry shortly", headers={"Retry-After": "2"})
    # anything else is answered 500 by RequestContext, which logs it with the request id
