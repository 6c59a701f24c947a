"""The client's fixtures: a real server (`compliance-engine serve`) with the test tokens, and `connect`, which makes
a client of either kind, so one test body checks the sync client and the async one."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.client import AsyncComplianceClient, ComplianceClient
from tests.helpers import TOKENS
from tests.integration.servers import Server, start_server

AUTH = ",".join(f"{token}={role}" for role, token in TOKENS.items())


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("server"), env={"AUTH_TOKENS": AUTH})
    yield s
    s.stop_gracefully()


class Awaited:
    """An AsyncComplianceClient driven from a plain test on an event loop of its own: each call is awaited there
    (with asyncio's sleep between attempts), and its result or exception comes back as the sync client's would."""

    def __init__(self, client: AsyncComplianceClient, loop: asyncio.AbstractEventLoop):
        self.client = client
        self.loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        return lambda *args, **kwargs: self.loop.run_until_complete(method(*args, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(params=["sync", "async"])
def connect(request) -> Iterator[Callable[..., Any]]:
    """connect(url, token=None, **options): a ComplianceClient, or an AsyncComplianceClient (awaited for the test)."""
    made: list[Any] = []

    def make(url: str, token: str | None = None, **options: Any) -> Any:
        if request.param == "sync":
            client: Any = ComplianceClient(url, token, **options)
        else:
            loop = asyncio.new_event_loop()
            client = Awaited(loop.run_until_complete(_async_client(url, token, options)), loop)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


async def _async_client(url: str, token: str | None, options: dict[str, Any]) -> AsyncComplianceClient:
    return AsyncComplianceClient(url, token, **options)  # made on the loop that will use it
