"""The decision log's write path: durable before the answer, batched into the database, nothing lost."""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from service.errors import Unavailable
from service.store.db import Database
from service.store.journal import DecisionJournal
from service.store.tables import AssessmentBody, AssessmentRecord


TEMPLATES = {n: '{"assessment_id":"","n":%d}' % n for n in range(3)}


def sha(n: int) -> str:
    import hashlib

    return hashlib.sha256(TEMPLATES[n].encode()).hexdigest()


def record(i: int) -> dict:
    """Records sharing three answers, as identical evaluations do."""
    return {"id": f"01TEST{i:020d}", "kind": "assessment", "ruleset_version": "v", "ruleset_digest": "d",
            "as_of": "2020-10-01", "profile": "{}", "body_sha": sha(i % 3)}


def submit(journal, i: int):
    return journal.submit(record(i), TEMPLATES[i % 3])


def body(i: int) -> str:
    return TEMPLATES[i % 3].replace('"assessment_id":""', f'"assessment_id":"{record(i)["id"]}"')


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/j.db")
    database.migrate()
    yield database
    database.dispose()


def rows(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(AssessmentRecord)).one()


def test_records_are_durable_before_acknowledged_and_reach_the_database(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    futures = [submit(journal, i) for i in range(300)]
    for f in futures:
        f.result(timeout=5)
    # acknowledged means on disk: every record is in a journal file or already in the database
    on_disk = sum(len(p.read_text().splitlines()) for p in (tmp_path / "journal").glob("*.jsonl"))
    assert on_disk + rows(db) >= 300
    assert journal.wait_flushed()
    assert rows(db) == 300
    assert journal.read(record(5)["id"]) is None  # served by the database from now on
    from service.store import decisions

    assert decisions.body(db, decisions.read(db, record(5)["id"])) == body(5)
    with db.session() as session:  # three distinct answers are stored once each
        assert session.exec(select(func.count()).select_from(AssessmentBody)).one() == 3
    journal.stop()
    assert list((tmp_path / "journal").glob("*.jsonl")) == []


def test_pending_records_are_readable_before_they_reach_the_database(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    db.engine.dispose()
    blocked = threading.Event()
    original = journal._insert

    def slow_insert(records, templates, replay=False):
        blocked.wait(5)
        return original(records, templates, replay)

    journal._insert = slow_insert
    journal.start()
    submit(journal, 1).result(timeout=5)
    assert journal.read(record(1)["id"]) == body(1)
    blocked.set()
    assert journal.wait_flushed()
    journal.stop()


def test_database_down_buffers_then_refuses_then_recovers(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal", max_pending=50)
    down = threading.Event()
    down.set()
    original = journal._insert

    def flaky_insert(records, templates, replay=False):
        if down.is_set():
            raise ConnectionError("database unreachable")
        return original(records, templates, replay)

    journal._insert = flaky_insert
    journal.start()
    for i in range(50):
        submit(journal, i).result(timeout=5)
    with pytest.raises(Unavailable):
        submit(journal, 99)
    deadline = time.monotonic() + 5
    while journal.last_flush_error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rows(db) == 0 and journal.pending == 50 and journal.last_flush_error
    down.clear()
    assert journal.wait_flushed(15)
    assert rows(db) == 50
    submit(journal, 100).result(timeout=5)
    journal.stop()
    assert rows(db) == 51


def test_a_crash_leaves_the_journal_for_the_next_start(db, tmp_path):
    first = DecisionJournal(db, tmp_path / "journal")
    first._insert = lambda records, templates, replay=False: (_ for _ in ()).throw(ConnectionError("down"))  # never reaches the db
    first.start()
    for i in range(20):
        submit(first, i).result(timeout=5)
    # the process dies: its file lock goes with it (simulated by closing the file without flushing to the db)
    first._stopping = True
    with first._lock:
        first._sync_cv.notify_all()
        first._flush_cv.notify_all()
    first._segment.handle.close()
    assert rows(db) == 0
    second = DecisionJournal(db, tmp_path / "journal")
    second.start()
    assert rows(db) == 20
    second.stop()
    assert list((tmp_path / "journal").glob("*.jsonl")) == []


def test_replay_skips_records_already_in_the_database(db, tmp_path):
    (tmp_path / "journal").mkdir()
    lines = [json.dumps({**record(i), "created_at": "2020-10-01T00:00:00+00:00",
                         **({"template": TEMPLATES[i % 3]} if i < 3 else {})}) for i in range(5)]
    (tmp_path / "journal" / "decisions-1-dead.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:30])
    journal = DecisionJournal(db, tmp_path / "journal")
    journal._insert([json.loads(x) for x in lines[:2]], TEMPLATES and {sha(n): TEMPLATES[n] for n in range(3)})
    journal.start()
    assert rows(db) == 5  # two were there, three replayed, and the torn last line (never acknowledged) skipped
    from service.store import decisions

    assert decisions.body(db, decisions.read(db, record(4)["id"])) == body(4)
    journal.stop()


class FullDisk:
    """A journal file whose writes fail with ENOSPC once `fail` is set (as a full file system does)."""

    def __init__(self, handle):
        self._handle = handle
        self.fail = False

    def write(self, text):
        if self.fail:
            self._handle.write(text[: len(text) // 2])  # a torn line, as a full disk leaves
            self._handle.flush()
            raise OSError(28, "No space left on device")
        return self._handle.write(text)

    def __getattr__(self, name):
        return getattr(self._handle, name)


def test_a_full_disk_fails_the_request_and_leaves_only_acknowledged_records(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal._insert = lambda records, templates, replay=False: (_ for _ in ()).throw(ConnectionError("down"))
    journal.start()
    for i in range(5):
        submit(journal, i).result(timeout=5)
    disk = FullDisk(journal._segment.handle)
    journal._segment.handle = disk
    disk.fail = True
    with pytest.raises(Unavailable):
        submit(journal, 5)
    deadline = time.monotonic() + 5  # the syncer cuts the torn line off and reopens the file
    while journal._segment.broken and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not journal._segment.broken
    submit(journal, 6).result(timeout=5)  # space is back: the next record is taken and acknowledged
    lines = (journal._segment.path).read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [record(i)["id"] for i in (0, 1, 2, 3, 4, 6)], ids  # no torn line, nothing unacknowledged
    assert journal.write_errors >= 1


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_flows(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    for i in range(10):
        rec = record(i)
        if i == 4:
            rec["profile"] = None  # NOT NULL: the database refuses it
        journal.submit(rec, TEMPLATES[i % 3]).result(timeout=5)
    assert journal.wait_flushed(10)
    assert rows(db) == 9 and journal.dead_letters == 1
    dead = (tmp_path / "journal").glob("dead-letter-*.jsonl")
    kept = [json.loads(line) for path in dead for line in path.read_text().splitlines()]
    assert [k["id"] for k in kept] == [record(4)["id"]] and kept[0]["template"] == TEMPLATES[1]
    journal.stop()
