"""Sending a call, without doing the I/O: what every request carries (`Connection`: base URL, token, user agent,
timeout, retry policy), and the attempts of one call (`Exchange`) from the first request to its `Result` or its
exception. The sync and the async client each drive an Exchange with their own httpx client and sleep.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import metadata
from typing import Generic

import httpx
from pydantic import ValidationError

from service.api.responses import SUBJECT_HEADER
from service.client.calls import Call, M, Result
from service.client.exceptions import REQUEST_ID, UnexpectedResponse, problem_of
from service.client.retry import Attempts, RetryPolicy

#: A slow evaluation is stopped by the service itself (EVALUATION_TIMEOUT_MS, 10 s by default, answered 503);
#: a batch or a preview may take longer. Connecting should never take long.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def _user_agent() -> str:
    try:
        version = metadata.version("compliance-engine")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        version = "unknown"
    return f"compliance-engine-client/{version} httpx/{httpx.__version__}"


USER_AGENT = _user_agent()


class Connection:
    """The service a client talks to and what every request to it carries."""

    def __init__(self, base_url: str, token: str | None, timeout: httpx.Timeout | float | None,
                 retry: RetryPolicy, headers: Mapping[str, str] | None):
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        #: None: the httpx client's own (DEFAULT_TIMEOUT on the client this package makes)
        self.timeout = None if timeout is None else httpx.Timeout(timeout)
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json",
                        **(headers or {})}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    @property
    def client_timeout(self) -> httpx.Timeout:
        """The timeout of an httpx client made for this connection."""
        return self.timeout or DEFAULT_TIMEOUT

    def request(self, http: httpx.Client | httpx.AsyncClient, call: Call[M]) -> httpx.Request:
        return http.build_request(call.method, self.base_url + call.path, params=call.params, content=call.content,
                                  headers={**self.headers, **call.headers},
                                  timeout=self.timeout if self.timeout is not None else httpx.USE_CLIENT_DEFAULT)

    def result(self, call: Call[M], response: httpx.Response, attempts: int) -> Result[M]:
        """The answer to `call`, or the exception its problem document stands for."""
        request_id = response.headers.get(REQUEST_ID)
        if not response.is_success:
            raise problem_of(response)
        try:
            value = call.model.model_validate_json(response.content, extra="ignore")
        except ValidationError as error:
            raise UnexpectedResponse(response.status_code, request_id, error) from error
        return Result(value=value, status=response.status_code, request_id=request_id,
                      ruleset_version=response.headers.get("X-Ruleset-Version"),
                      location=response.headers.get("Location"),
                      replayed=response.headers.get("Idempotent-Replayed", "").lower() == "true",
                      subject=response.headers.get(SUBJECT_HEADER),
                      idempotency_key=call.idempotency_key, attempts=attempts, headers=response.headers)


class Exchange(Generic[M]):
    """One call's attempts. Iterating gives each request to send (the same call, the same Idempotency-Key); the
    driver reports how it went with `answered` or `failed`, waits `pause` seconds, and takes `result` at the end.
    Either report raises when the call is over without a result (a problem document, `ConnectionFailed`)."""

    def __init__(self, connection: Connection, http: httpx.Client | httpx.AsyncClient, call: Call[M]):
        self.connection = connection
        self.http = http
        self.call = call
        self.attempts = Attempts(connection.retry, call.safety)
        self.pause = 0.0
        self._result: Result[M] | None = None

    def __iter__(self) -> Iterator[httpx.Request]:
        while self._result is None:
            self.attempts.start()
            self.pause = 0.0
            self._request = self.connection.request(self.http, self.call)
            yield self._request

    def answered(self, response: httpx.Response) -> None:
        pause = self.attempts.pause_after(response)
        if pause is None:
            self._result = self.connection.result(self.call, response, self.attempts.made)
        else:
            self.pause = pause

    def failed(self, error: httpx.TransportError) -> None:
        self.pause = self.attempts.pause_after_error(self._request, error)

    @property
    def result(self) -> Result[M]:
        assert self._result is not None, "the exchange is not over"
        return self._result
