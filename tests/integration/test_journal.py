"""The decision log's write path: durable before acknowledged, copied into the database by the keeper
process, nothing lost (a real keeper process in every test; the database's failures are real ones too)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from service.errors import Unavailable
from service.store import decisions
from service.store.db import Database
from service.store.journal import DecisionJournal
from service.store.tables import AssessmentBody, AssessmentRecord

pytestmark = pytest.mark.integration

TEMPLATES = {n: json.dumps({"assessment_id": "", "n": n}, separators=(",", ":")) for n in range(3)}


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


@pytest.fixture
def absent_db(tmp_path):
    """A database that cannot be reached until `arrive()`: its folder does not exist yet."""
    folder = tmp_path / "later"
    database = Database(f"sqlite:///{folder}/j.db")

    def arrive():
        folder.mkdir()
        database.migrate()

    database.arrive = arrive
    yield database
    database.dispose()


def rows(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(AssessmentRecord)).one()


def segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("decisions-*.jsonl"))


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_records_are_durable_before_acknowledged_and_reach_the_database(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    futures = [submit(journal, i) for i in range(300)]
    await asyncio.wait_for(asyncio.gather(*futures), 10)
    # acknowledged means on disk: every record is in a journal file or already in the database
    on_disk = sum(len(p.read_text().splitlines()) for p in segments(tmp_path / "journal"))
    assert on_disk + rows(db) >= 300
    assert journal.wait_flushed()
    assert rows(db) == 300
    assert journal.read(record(5)["id"]) is None  # served by the database from now on
    assert decisions.body(db, decisions.read(db, record(5)["id"])) == body(5)
    with db.session() as session:  # three distinct answers are stored once each
        assert session.exec(select(func.count()).select_from(AssessmentBody)).one() == 3
    journal.stop()
    assert segments(tmp_path / "journal") == []


async def test_records_of_one_turn_of_the_loop_are_written_together(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    writes = []
    real = os.write

    def counting(fd, data):
        if fd not in (journal._keeper.stdin.fileno(),):
            writes.append(len(data))
        return real(fd, data)

    os.write = counting
    try:
        await asyncio.gather(*[submit(journal, i) for i in range(50)])
    finally:
        os.write = real
    assert len(writes) == 1  # fifty records, one write system call
    journal.stop()


async def test_pending_records_are_readable_before_they_reach_the_database(absent_db, tmp_path):
    journal = DecisionJournal(absent_db, tmp_path / "journal")
    journal.start()
    await submit(journal, 1)
    assert journal.read(record(1)["id"]) == body(1)
    absent_db.arrive()
    assert journal.wait_flushed(15)
    assert journal.read(record(1)["id"]) is None and rows(absent_db) == 1
    journal.stop()


async def test_database_down_buffers_then_refuses_then_recovers(absent_db, tmp_path):
    journal = DecisionJournal(absent_db, tmp_path / "journal", max_pending=50)
    journal.start()
    await asyncio.gather(*[submit(journal, i) for i in range(50)])
    with pytest.raises(Unavailable):
        submit(journal, 99)
    await until(lambda: journal._receive() or journal.last_flush_error is not None)
    assert journal.pending == 50 and "OperationalError" in journal.last_flush_error
    absent_db.arrive()
    assert journal.wait_flushed(15)
    assert rows(absent_db) == 50
    await submit(journal, 100)
    journal.stop()
    assert rows(absent_db) == 51 and journal.last_flush_error is None


async def test_what_cannot_reach_the_database_by_shutdown_is_replayed_by_the_next_start(absent_db, tmp_path):
    first = DecisionJournal(absent_db, tmp_path / "journal")
    first.start()
    await asyncio.gather(*[submit(first, i) for i in range(20)])
    first.stop(timeout=10)  # the database never answered: the records stay in the journal
    assert len(segments(tmp_path / "journal")) == 1
    absent_db.arrive()
    second = DecisionJournal(absent_db, tmp_path / "journal")
    second.start()  # replays what the first left before it is ready
    assert rows(absent_db) == 20
    second.stop()
    assert segments(tmp_path / "journal") == []


async def test_a_killed_server_leaves_its_journal_to_the_next_start(absent_db, tmp_path):
    first = DecisionJournal(absent_db, tmp_path / "journal")
    first.start()
    await asyncio.gather(*[submit(first, i) for i in range(20)])
    os.kill(first._keeper.pid, signal.SIGKILL)  # the server process dies: its keeper and its locks with it
    first._keeper.wait()
    for segment in first._segments.values():
        os.close(segment.fd)
    absent_db.arrive()
    second = DecisionJournal(absent_db, tmp_path / "journal")
    second.start()
    assert rows(absent_db) == 20
    second.stop()
    assert segments(tmp_path / "journal") == []


async def test_a_keeper_that_dies_is_replaced_and_nothing_is_lost(db, tmp_path, monkeypatch):
    from service.store import journal as module

    monkeypatch.setattr(module, "KEEPER_RESTART_PAUSE", 0.0)
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    await asyncio.gather(*[submit(journal, i) for i in range(10)])
    dead = journal._keeper
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    await until(lambda: journal._keeper is not dead and journal._keeper is not None)
    await asyncio.wait_for(asyncio.gather(*[submit(journal, i) for i in range(10, 30)]), 10)
    assert journal.wait_flushed()
    assert rows(db) == 30
    journal.stop()
    assert segments(tmp_path / "journal") == []


def test_replay_skips_records_already_in_the_database(db, tmp_path):
    (tmp_path / "journal").mkdir()
    lines = [json.dumps({**record(i), "created_at": "2020-10-01T00:00:00+00:00",
                         **({"template": TEMPLATES[i % 3]} if i < 3 else {})}) for i in range(5)]
    (tmp_path / "journal" / "decisions-1-dead.jsonl").write_text("\n".join(lines[:2]) + "\n")
    DecisionJournal(db, tmp_path / "journal").start()  # a server that dies after two records were copied
    assert rows(db) == 2
    (tmp_path / "journal" / "decisions-1-dead.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:30])
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    assert rows(db) == 5  # two were there, three replayed, and the torn last line (never acknowledged) skipped
    assert decisions.body(db, decisions.read(db, record(4)["id"])) == body(4)
    journal.stop()


async def test_a_full_disk_fails_the_request_and_leaves_only_acknowledged_records(absent_db, tmp_path, monkeypatch):
    from service.store import journal as module

    journal = DecisionJournal(absent_db, tmp_path / "journal")
    journal.start()
    await asyncio.gather(*[submit(journal, i) for i in range(5)])
    real = module._write_all

    def full_disk(fd, data):
        os.write(fd, data[: len(data) // 2])  # a torn line, as a full disk leaves
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "_write_all", full_disk)
    with pytest.raises(Unavailable, match="No space left"):  # not acknowledged
        await submit(journal, 5)
    assert journal.read(record(5)["id"]) is None and journal.write_errors == 1  # nor served as if recorded
    monkeypatch.setattr(module, "_write_all", real)
    await submit(journal, 6)  # space is back: the next record is taken and acknowledged
    [segment] = segments(tmp_path / "journal")
    ids = [json.loads(line)["id"] for line in segment.read_text().splitlines()]
    assert ids == [record(i)["id"] for i in (0, 1, 2, 3, 4, 6)], ids  # no torn line, nothing unacknowledged
    absent_db.arrive()
    assert journal.wait_flushed(15)
    assert decisions.body(absent_db, decisions.read(absent_db, record(6)["id"])) == body(6)
    journal.stop()


async def test_a_record_the_database_refuses_is_set_aside_and_the_rest_flows(db, tmp_path):
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    for i in range(10):
        rec = record(i)
        if i == 4:
            rec["profile"] = None  # NOT NULL: the database refuses it
        await journal.submit(rec, TEMPLATES[i % 3])
    assert journal.wait_flushed(10)
    assert rows(db) == 9 and journal.dead_letters == 1
    dead = (tmp_path / "journal").glob("dead-letter-*.jsonl")
    kept = [json.loads(line) for path in dead for line in path.read_text().splitlines()]
    assert [k["id"] for k in kept] == [record(4)["id"]] and kept[0]["template"] == TEMPLATES[1]
    journal.stop()


async def test_full_segments_are_replaced_and_removed_once_in_the_database(db, tmp_path, monkeypatch):
    from service.store import journal as module

    monkeypatch.setattr(module, "SEGMENT_RECORDS", 10)
    journal = DecisionJournal(db, tmp_path / "journal")
    journal.start()
    for wave in range(4):  # each wave fills a segment past its size; between waves, all reaches the database
        for i in range(12):
            await submit(journal, wave * 12 + i)  # one at a time: one write each
        assert journal.wait_flushed()
        await until(lambda: len(segments(tmp_path / "journal")) <= 2)
        # what stays is the segment being written (and one the keeper is about to remove): full ones go
    journal.stop()
    assert rows(db) == 48
    assert segments(tmp_path / "journal") == []
