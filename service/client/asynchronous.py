"""`AsyncComplianceClient`: the service's calls over an asyncio httpx client."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType

import httpx

from service.client.calls import Call, M, Result
from service.client.endpoints import Operations
from service.client.retry import RetryPolicy
from service.client.sending import Connection, Exchange


class AsyncComplianceClient(Operations):
    """`ComplianceClient` for asyncio: the same calls, each awaited (`await client.assess(profile)`), the same
    results, exceptions, retries and options, with an `httpx.AsyncClient` (`http`) or `httpx.AsyncBaseTransport`
    (`transport`). Use it in an `async with` block, or `await aclose()` it."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: httpx.Timeout | float | None = None,
                 retry: RetryPolicy | None = None, headers: Mapping[str, str] | None = None,
                 http: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None):
        self.connection = Connection(base_url, token, timeout, retry or RetryPolicy(), headers)
        self._owns_http = http is None
        self.http = http if http is not None else httpx.AsyncClient(transport=transport,
                                                                    timeout=self.connection.client_timeout)

    async def send(self, call: Call[M]) -> Result[M]:
        """Send a call (see `service.client.calls`), trying again as its safety and the retry policy allow."""
        exchange = Exchange(self.connection, self.http, call)
        for request in exchange:
            try:
                exchange.answered(await self.http.send(request))
            except httpx.TransportError as error:
                exchange.failed(error)
            if exchange.pause:
                await asyncio.sleep(exchange.pause)
        return exchange.result

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncComplianceClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()
