"""Every error the API returns is a problem details document (RFC 9457) with `errors: [{path, message}]`."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api import bodies
from service.errors import ErrorItem, ServiceError, from_pydantic

log = logging.getLogger("service.api")
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, errors: list[ErrorItem] | None = None, type_: str = "about:blank",
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail,
            "errors": [e.as_dict() for e in (errors or [])]}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def install(app: FastAPI, body_model_for: dict[str, type] | None = None) -> None:
    models = body_model_for or {}

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return problem(exc.status, exc.title, exc.detail, exc.errors, exc.type, exc.headers)

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
        return problem(422, "Invalid request", detail or "the request is not valid", errors, "/problems/invalid-request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = bodies.unreadable(exc.__cause__) if exc.status_code == 400 and exc.__cause__ else None
        if unreadable:  # FastAPI's "There was an error parsing the body": a body json.loads refused, explained
            return problem(422, "Invalid request", f"body: {unreadable}", [ErrorItem(path="body", message=unreadable)],
                           "/problems/invalid-request")
        titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 413: "Payload too large",
                  415: "Unsupported media type"}
        types = {413: "/problems/payload-too-large"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                       type_=types.get(exc.status_code, "about:blank"), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "the service failed; the error is logged with this request's id")
