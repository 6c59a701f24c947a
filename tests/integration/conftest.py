"""Fixtures of the integration tests (real server processes: servers.py; a private PostgreSQL: postgres.py)."""
from __future__ import annotations

import os

import pytest

from tests.helpers import reset_postgres


@pytest.fixture
def postgres_url() -> str:
    """TEST_DATABASE_URL, emptied: a PostgreSQL database several server processes share (skipped without it on a
    developer's machine; required in CI)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must be set in CI (PostgreSQL)")
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    reset_postgres(url)
    return url
