"""Impact jobs in the store, on each database the service runs on (SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set), without a runner: a job holds each business's latest record once; a record that reaches
the database after the job started (it waited in a process's decision journal) but was made before it is added
before the job finishes, and one made after it is not."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import insert
from sqlmodel import select

from service import businesses, ids
from service.store import impact as store
from service.store import ruleset_versions
from service.store.db import Database
from service.store.tables import AssessmentRecord, ImpactItem


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    for n in (1, 2):
        row, _ = ruleset_versions.store(database, files={"a.yaml": str(n)}, digest=f"sha256:{n}", rule_count=0,
                                        report={}, actor="test")
        if n == 1:
            ruleset_versions.activate(database, row, actor="test", reason="activate")
    yield database
    database.dispose()


def record(db: Database, subject: str, at: dt.datetime, profile: str = '{"n":1}') -> str:
    """An assessment row as the journal keeper writes it, made at `at`."""
    assessment_id = ids.assessment_id()
    with db.engine.begin() as conn:
        conn.execute(insert(AssessmentRecord), [{
            "id": assessment_id, "created_at": at, "kind": "assessment", "ruleset_version": "v", "ruleset_digest": "d",
            "as_of": dt.date(2026, 12, 1), "profile": profile, "response": "{}", "body_sha": None, "subject": subject,
            "business": businesses.key(subject, profile)}])
    return assessment_id


def work(db: Database, job_id: str) -> dict[str, str]:
    """business -> assessment id of every item."""
    with db.session() as session:
        items = session.exec(select(ImpactItem).where(ImpactItem.job_id == job_id))
        return {i.business: i.assessment_id for i in items}


def evaluate_all(db: Database, job_id: str) -> int:
    """What a runner does, without evaluating: claim everything and mark it done. How many items."""
    claimed = store.claim(db, job_id, "test-worker", 1000, 60)
    store.complete(db, "test-worker", [store.ItemOutcome(c.item_id, {"added": [], "removed": [], "changed": []})
                                       for c in claimed])
    return len(claimed)


def test_a_record_made_before_the_job_but_stored_after_it_is_added_before_the_job_finishes(db):
    now = dt.datetime.now(dt.UTC)
    record(db, "late-a", now - dt.timedelta(minutes=5))
    newest_a = record(db, "late-a", now - dt.timedelta(minutes=1), '{"n":2}')  # a's latest
    candidate = next(v.version for v in ruleset_versions.versions(db) if v.digest == "sha256:2")
    job = store.create(db, candidate, "test")
    assert work(db, job.id) == {"late-a": newest_a} and job.total == 1

    # the journal of another process copies, after the job started, a record it took before
    made_before = record(db, "late-b", job.created_at.replace(tzinfo=dt.UTC) - dt.timedelta(milliseconds=300))
    record(db, "late-c", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))  # made after the job started: not in it

    assert evaluate_all(db, job.id) == 1
    assert store.finish(db, job.id) is False  # late-b found: the job goes on
    assert work(db, job.id) == {"late-a": newest_a, "late-b": made_before}
    found = store.get(db, job.id)
    assert found is not None and found.total == 2 and found.state == store.RUNNING

    assert evaluate_all(db, job.id) == 1
    assert store.finish(db, job.id) is True
    done = store.get(db, job.id)
    assert done is not None and done.state == store.DONE and done.total == 2
    assert store.progress(db, job.id) == {"pending": 0, "claimed": 0, "done": 2, "failed": 0}
    assert store.finish(db, job.id) is False  # finished once
