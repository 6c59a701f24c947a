"""Shared fixtures: the real rule base compiled once, a profile factory, and API clients on a fresh database."""
from __future__ import annotations

import copy
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"

BASE_PROFILE: dict[str, Any] = {
    "as_of": "2020-10-01",
    "business": {
        "name": "Acme Cloud Ltd",
        "registered_region": "CN-BJ",
        "foreign_invested": False,
        "cii_operator": False,
        "negative_credit_record": False,
        "serious_data_incident_last_12_months": False,
        "sectors": ["internet"],
    },
    "licences": [{"type": "IDC", "regions": ["CN-BJ"], "granted": "2011-06-01", "scope": ["idc"]}],
    "services": [{"type": "cloud_computing", "regions": ["CN-BJ", "CN-GD"], "since": "2016-05-01",
                  "attributes": {"users": 2000000}}],
}


def make_profile(**changes: Any) -> dict[str, Any]:
    """The contract's example business with the given top-level parts replaced."""
    profile = copy.deepcopy(BASE_PROFILE)
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    return profile


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


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from service.store.db import normalise_url

    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="module", params=_database_kinds())
def database_url(request, tmp_path_factory) -> str:
    """A fresh database for each test module: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/service.db"
    url = os.environ["TEST_DATABASE_URL"]
    reset_postgres(url)
    return url


TOKENS = {
    "operator": "operator-token-0123456789",
    "evaluator": "evaluator-token-0123456789",
    "reader": "reader-token-0123456789ab",
}


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def start_app(database_url: str, **settings: Any):
    from service.main import create_app, startup
    from service.settings import Settings

    import tempfile

    auth = ",".join(f"{token}={role}" for role, token in TOKENS.items())
    settings.setdefault("decision_journal_dir", Path(tempfile.mkdtemp(prefix="journal-")))
    application = create_app(Settings(database_url=database_url, rules_dir=RULES, auth_tokens=auth,
                                      ruleset_poll_seconds=0.2, **settings))
    startup(application)
    return application


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
