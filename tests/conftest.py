"""Shared fixtures: the real rule base compiled once, and API clients on a fresh database
(helpers: tests/helpers.py)."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import RULES, reset_postgres, start_app


@pytest.fixture(scope="session")
def compiled():
    """The repository's rule base, checked and compiled as the service would."""
    from service.engine.checks import prepare
    from service.rulebase.loading import from_directory

    c, _ = prepare(from_directory(RULES), "test")
    yield c
    c.close()


def _database_kinds() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="module", params=_database_kinds())
def database_url(request, tmp_path_factory) -> str:
    """A fresh database for each test module: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/service.db"
    url = os.environ["TEST_DATABASE_URL"]
    reset_postgres(url)
    return url


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Any]:
    """The application started as its lifespan starts it (migrations, rules/ loaded and activated)."""
    from service.main import shutdown

    application = start_app(database_url)
    yield application
    shutdown(application)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
