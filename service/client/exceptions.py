"""What the client raises: the service's problem documents (RFC 9457) as typed exceptions a caller can catch by
kind, and the transport failing after its retries.

These are the caller's side of `service/api/problems.py`: the same document (`Problem`, each of its `errors` a
`ProblemError` naming a path), chosen by HTTP status. `InvalidRequest`, `NotFound`, `Unauthorized`, `Forbidden` and
`Conflict` are named after the service's domain errors (`service/errors.py`) answered with the same status
(tests/unit/test_names.py holds them to it); those never leave the server, these never enter it. The base is
`ProblemResponse`, as `ProblemError` is the service's name for one item of `errors`.
"""
from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from service.api.problems import Problem, ProblemError

REQUEST_ID = "X-Request-ID"


class ClientError(Exception):
    """Anything the client raises: catch this to catch them all."""


class ProblemResponse(ClientError):
    """The service answered with an error: its problem document, read.

    `errors` lists each thing wrong (`path`, `message`, and `file`/`rule` for a rule set); `document` is the
    document as sent (None when the answer was not a problem document, e.g. a proxy's error page, whose text is
    then the `detail`)."""

    def __init__(self, status: int, problem: Problem, document: dict[str, Any] | None, request_id: str | None):
        self.status = status
        self.type = problem.type
        self.title = problem.title
        self.detail = problem.detail
        self.errors: list[ProblemError] = problem.errors
        self.request_id = request_id
        self.document = document
        super().__init__(f"{status} {problem.title}: {problem.detail}")


class InvalidRequest(ProblemResponse):
    """400 or 422: the request (a profile, a query, a rule set) is not valid; `errors` names each path."""


class Unauthorized(ProblemResponse):
    """401: a token is needed, or the one sent is not known (403, `Forbidden`, is caught by this too)."""


class Forbidden(Unauthorized):
    """403: the token's role may not do this (an operator call with a reader's token)."""


class NotFound(ProblemResponse):
    """404: no such assessment, rule or rule-set version."""


class Conflict(ProblemResponse):
    """409: the request conflicts with the state of the service (e.g. an idempotency key still in use)."""


class TooLarge(ProblemResponse):
    """413: the body is larger than the service takes."""


class ServiceUnavailable(ProblemResponse):
    """503, still after the retries the policy allows: see `detail` (the database, the decision log, an evaluation
    past its time budget)."""


BY_STATUS: dict[int, type[ProblemResponse]] = {
    400: InvalidRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: TooLarge,
    422: InvalidRequest, 503: ServiceUnavailable,
}


class ConnectionFailed(ClientError):
    """No answer from the service, still after the retries the policy allows (or at once, where retrying a call
    that may have reached the server would be unsafe). `error` is the last httpx error (also the `__cause__`)."""

    def __init__(self, method: str, url: str, error: httpx.TransportError, attempts: int):
        self.method = method
        self.url = url
        self.error = error
        self.attempts = attempts
        tries = f"after {attempts} attempts" if attempts > 1 else "(not retried)"
        super().__init__(f"{method} {url}: {type(error).__name__}: {error} {tries}")


class UnexpectedResponse(ClientError):
    """A success whose body does not have the shape the call expects: a server too old for this client, or not
    the compliance service at all."""

    def __init__(self, status: int, request_id: str | None, error: ValidationError | ValueError):
        self.status = status
        self.request_id = request_id
        self.error = error
        super().__init__(f"{status} answer not understood (request {request_id}): {error}")


def problem_of(response: httpx.Response) -> ProblemResponse:
    """The exception for an error answer: its problem document read with the service's own model, or one made up
    from the status and text when the answer is not a problem document."""
    document, problem = _document(response.content)
    if problem is None:
        problem = Problem(type="about:blank", title=response.reason_phrase or "Error", status=response.status_code,
                          detail=response.text[:500], errors=[])
    kind = BY_STATUS.get(response.status_code, ProblemResponse)
    return kind(response.status_code, problem, document, response.headers.get(REQUEST_ID))


def _document(content: bytes) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        parsed = orjson.loads(content)
        if isinstance(parsed, dict):
            return parsed, Problem.model_validate(parsed, extra="ignore")
    except (orjson.JSONDecodeError, ValidationError):
        pass
    return None, None
