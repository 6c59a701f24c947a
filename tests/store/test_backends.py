"""The store on each database the service runs on: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.

These pin the differences found between the two: PostgreSQL shifts times stored in a column
without time zone by the session's time zone, and refuses a string longer than its column.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from service.store import audit, decisions
from service.store import ruleset_versions as store
from service.store.db import Database, normalise_url, revisions
from service.store.journal import DecisionJournal
from service.store.tables import ACTOR_LENGTH
from tests.integration.servers import BIN


def _head() -> str:
    from alembic.script import ScriptDirectory

    from service.store.db import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


HEAD = _head()

TABLES = {"alembic_version", "assessment", "audit_event", "idempotency_key", "ruleset_activation", "ruleset_version"}


def with_time_zone(url: str, zone: str) -> str:
    """The URL of a server whose sessions start in `zone` (as a server configured for China would)."""
    if not url.startswith(("postgresql", "postgres")):
        return url
    return url + ("&" if "?" in url else "?") + "options=-c%20timezone%3D" + zone.replace("/", "%2F")


def upgrade(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "compliance-engine"), "db", "upgrade"], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url}, timeout=120)


def test_db_upgrade_migrates_a_fresh_database_then_finds_it_current(database_url):
    assert revisions(database_url)[0] is None  # a fresh database
    first = upgrade(database_url)
    assert first.returncode == 0, first.stderr
    assert f"schema at revision {HEAD} (head), upgraded from an empty database" in first.stdout
    assert "compliance-test@" not in first.stdout  # the password is not printed
    engine = create_engine(normalise_url(database_url))
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = upgrade(database_url)
    assert again.returncode == 0 and "already current" in again.stdout, again.stdout + again.stderr
    assert revisions(database_url) == (HEAD, HEAD)


def test_db_upgrade_reports_an_unreachable_database():
    done = upgrade("postgresql://nobody:secret@127.0.0.1:9/nothing")
    assert done.returncode == 1
    assert "cannot migrate postgresql+psycopg://nobody:***@127.0.0.1:9/nothing: OperationalError" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr


def test_times_are_utc_whatever_the_session_time_zone(database_url):
    url = with_time_zone(database_url, "Asia/Shanghai")
    if url != database_url:  # the server really starts these sessions in Shanghai time ...
        raw = create_engine(normalise_url(url))
        with raw.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() == "Asia/Shanghai"
        raw.dispose()
    db = Database(url)
    try:
        db.migrate()
        if url != database_url:  # ... and the service's own sessions are in UTC
            with db.engine.connect() as conn:
                assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
        before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        audit.log(db, actor="tz-test", action="upload", outcome="ok")
        journal = DecisionJournal(db, Path(tempfile.mkdtemp(prefix="journal-")))
        journal.start()

        async def record() -> None:
            await journal.submit({"id": "01TZTEST0000000000000000AA", "kind": "assessment", "ruleset_version": "v",
                                  "ruleset_digest": "d", "as_of": "2020-10-01", "profile": "{}",
                                  "body_sha": "0" * 64}, '{"assessment_id":""}')

        asyncio.run(record())
        assert journal.wait_flushed()
        journal.stop()
        row, _ = store.store(db, files={"a.yaml": "[]"}, digest="sha256:tz-test", rule_count=0, report={},
                             actor="tz-test")
        activation = store.activate(db, row, actor="tz-test", reason="activate")
        after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        stamps = {
            "audit_event.at": audit.events(db, 1)[0].at,
            "assessment.created_at": decisions.read(db, "01TZTEST0000000000000000AA").created_at,
            "ruleset_version.created_at": store.get(db, row.version).created_at,
            "ruleset_activation.activated_at": store.active(db).activated_at,
        }
        assert store.active(db).id == activation.id
        for column, stamp in stamps.items():
            naive = stamp.astimezone(dt.UTC).replace(tzinfo=None) if stamp.tzinfo else stamp
            assert before - dt.timedelta(seconds=5) <= naive <= after + dt.timedelta(seconds=5), (column, stamp, before)
    finally:
        db.dispose()


def test_an_actor_longer_than_its_column_is_kept_to_the_column(database_url):
    db = Database(database_url)
    try:
        db.migrate()
        audit.log(db, actor="operator:" + "x" * 300, action="upload", outcome="ok")
        assert audit.events(db, 1)[0].actor == ("operator:" + "x" * 300)[:ACTOR_LENGTH]
        row, _ = store.store(db, files={"b.yaml": "[]"}, digest="sha256:long-actor", rule_count=0, report={},
                             actor="y" * 300)
        assert store.activate(db, row, actor="z" * 300, reason="activate").activated_by == "z" * ACTOR_LENGTH
        assert store.get(db, row.version).created_by == "y" * ACTOR_LENGTH
    finally:
        db.dispose()
