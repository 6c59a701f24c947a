"""A typed Python client of the compliance service, sync and async, built on httpx.

    from service.client import ComplianceClient, InvalidRequest

    with ComplianceClient("https://compliance.internal", token) as client:
        result = client.assess(profile)          # result.value: the service's Assessment model

Every call returns a `Result` (the model, the request id, the rule-set version, the status, the Location, whether
the answer was replayed); an error answer raises a `ProblemResponse` subclass carrying the problem document's
`errors`; no answer after the retries raises `ConnectionFailed`. README.md, "The Python client", says more.
"""
from service.client.asynchronous import AsyncComplianceClient
from service.client.calls import Call, Result
from service.client.exceptions import (
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    NotFound,
    ProblemResponse,
    ServiceUnavailable,
    TooLarge,
    Unauthorized,
    UnexpectedResponse,
)
from service.client.retry import NO_RETRIES, RetryPolicy, Safety
from service.client.synchronous import ComplianceClient

__all__ = [
    "AsyncComplianceClient", "Call", "ClientError", "ComplianceClient", "Conflict", "ConnectionFailed", "Forbidden",
    "InvalidRequest", "NO_RETRIES", "NotFound", "ProblemResponse", "Result", "RetryPolicy", "Safety",
    "ServiceUnavailable", "TooLarge", "Unauthorized", "UnexpectedResponse",
]
