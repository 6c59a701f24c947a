"""`ComplianceClient`: the service's calls over a blocking httpx client."""
from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType

import httpx

from service.client.calls import Call, M, Result
from service.client.endpoints import Operations
from service.client.retry import RetryPolicy
from service.client.sending import Connection, Exchange


class ComplianceClient(Operations):
    """A client of the compliance service: `client.assess(profile)` returns a `Result` whose `value` is the
    service's `Assessment`; an error answer raises its `ProblemResponse`, no answer `ConnectionFailed`.

    `token` is sent as a bearer token. `timeout` (seconds or an `httpx.Timeout`) bounds each attempt; `retry` says
    how often and how patiently a call is tried again. Pass `http` (an httpx.Client of your own: TLS, proxies;
    you close it) or `transport` (for tests) to change how requests travel. Use it in a `with` block, or `close()`
    it, to release its connections."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: httpx.Timeout | float | None = None,
                 retry: RetryPolicy | None = None, headers: Mapping[str, str] | None = None,
                 http: httpx.Client | None = None, transport: httpx.BaseTransport | None = None):
        self.connection = Connection(base_url, token, timeout, retry or RetryPolicy(), headers)
        self._owns_http = http is None
        self.http = http if http is not None else httpx.Client(transport=transport,
                                                               timeout=self.connection.client_timeout)

    def send(self, call: Call[M]) -> Result[M]:
        """Send a call (see `service.client.calls`), trying again as its safety and the retry policy allow."""
        exchange = Exchange(self.connection, self.http, call)
        for request in exchange:
            try:
                exchange.answered(self.http.send(request))
            except httpx.TransportError as error:
                exchange.failed(error)
            if exchange.pause:
                time.sleep(exchange.pause)
        return exchange.result

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> ComplianceClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
