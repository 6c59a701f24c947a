"""The decision log's write path: durable before the answer, batched into the database after it.

An assessment is answered 2xx only once its record is *durably queued*: appended to this
process's journal file and fsync'ed. A record names its answer by the SHA-256 of the answer's
template (service/answers.py); the template itself is written once per journal segment and
stored once in the database, however many assessments share it. One writer thread fsyncs for every record that arrived
meanwhile (group commit), so a request waits for one shared fsync, not one of its own. A
second thread copies journaled records into the database in batches (inserts that skip ids
already there), then drops journal segments whose records are all in the database.

If the database is unreachable the journal keeps growing; once it holds `max_pending`
records, recording requests get 503 instead of a silent drop. On shutdown the flusher
empties what it can; what it cannot is still in the journal, and the next process to start
on this journal folder replays it (segments are claimed with `flock`, so several worker
processes never replay the same segment).
"""
from __future__ import annotations

import errno
import fcntl
import json

import orjson
import logging
import os
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError

from service.answers import render
from service.errors import Unavailable

from .db import Database
from .tables import AssessmentBody, AssessmentRecord, utcnow

log = logging.getLogger("service.journal")

SEGMENT_RECORDS = 5000
FLUSH_INTERVAL = 0.05  # seconds between database writes while records arrive


JOURNAL_BUFFER = 1 << 20


@dataclass
class Segment:
    path: Path
    handle: Any
    written: int = 0
    flushed: int = 0
    closed: bool = False
    templates: set[str] = field(default_factory=set)  # answer templates this segment holds (by sha)
    synced: int = 0  # bytes of the file known to be on disk: everything acknowledged lies before it
    broken: bool = False  # a write failed (disk full): what follows `synced` must go

    def repair(self) -> None:
        """Cut the file back to what was acknowledged (a torn line must not run into the next one) and reopen."""
        try:
            self.handle.close()
        except OSError:
            pass
        with open(self.path, "r+b") as raw:
            raw.truncate(self.synced)
        self.handle = open(self.path, "a", encoding="utf-8", buffering=JOURNAL_BUFFER)
        fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.templates = set()  # a template written after `synced` went with the cut: write it again
        self.broken = False


@dataclass
class _Pending:
    record: dict[str, Any]
    segment: Segment
    done: Any  # a concurrent Future, or an asyncio future of the loop that waits on it


def _settle(pendings: list[_Pending], error: BaseException | None) -> None:
    for p in pendings:
        if not p.done.done():
            p.done.set_exception(error) if error else p.done.set_result(None)


def _settle_all(batch: list[_Pending], error: BaseException | None = None) -> None:
    """Complete a batch's futures: one wake-up per event loop, not one per request."""
    by_loop: dict[Any, list[_Pending]] = {}
    for p in batch:
        by_loop.setdefault(getattr(p.done, "get_loop", lambda: None)(), []).append(p)
    for loop, pendings in by_loop.items():
        if loop is None:
            _settle(pendings, error)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(_settle, pendings, error)


ROW_FIELDS = ("id", "kind", "ruleset_version", "ruleset_digest", "as_of", "profile", "created_at", "body_sha", "response")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    import datetime as dt

    out = {k: record.get(k) for k in ROW_FIELDS}
    out["as_of"] = dt.date.fromisoformat(out["as_of"])
    out["created_at"] = dt.datetime.fromisoformat(out["created_at"])
    return out


class DecisionJournal:
    def __init__(self, db: Database, directory: Path, max_pending: int = 10_000, batch: int = 500):
        self.db = db
        self.directory = directory
        self.max_pending = max_pending
        self.batch = batch
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # separate wake-ups: a request wakes the syncer only when it starts a batch; the syncer wakes the
        # flusher only when there was nothing to flush (waking both on every record cost ~10% throughput)
        self._sync_cv = threading.Condition(self._lock)
        self._flush_cv = threading.Condition(self._lock)
        self._to_sync: list[_Pending] = []  # appended, not yet fsync'ed
        self._to_flush: list[_Pending] = []  # durable, not yet in the database
        self._by_id: dict[str, str] = {}  # assessment id -> answer sha (readable before the database has it)
        self._templates: dict[str, list] = {}  # sha -> [template, records pending that use it]
        self._segment: Segment | None = None
        self._stopping = False
        self._stored_bodies: set[str] = set()
        self.write_errors = 0
        self.dead_letters = 0
        self.flush_errors = 0
        self.last_flush_error: str | None = None
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-sync", daemon=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="journal-flush", daemon=True)

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._replay_orphans()
        self._syncer.start()
        self._flusher.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop taking records, fsync what was taken, and put as much as possible into the database."""
        with self._lock:
            self._stopping = True
            self._sync_cv.notify_all()
            self._flush_cv.notify_all()
        self._syncer.join(timeout)
        self._flusher.join(timeout)
        with self._lock:
            if not self._to_flush and self._segment is not None:
                self._retire(self._segment)
            elif self._segment is not None:
                log.warning("%d decision records stay in %s for the next start", len(self._to_flush), self._segment.path)
                self._unlock(self._segment)

    # --- the request path ----------------------------------------------------------------------
    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._to_sync) + len(self._to_flush)

    def submit(self, record: dict[str, Any], template: str, loop: Any = None) -> Any:
        """Queue a record (its answer: `template`, named by record["body_sha"]); the future completes once it
        is durable on disk. With `loop`, an asyncio future of that loop (the event loop is woken once per
        fsync, not once per record); without, a concurrent Future. Raises Unavailable when the buffer is full."""
        record = {**record, "created_at": record.get("created_at") or utcnow().isoformat()}
        sha = record["body_sha"]
        with self._lock:
            if self._stopping:
                raise Unavailable("the service is shutting down; the assessment was not recorded")
            if len(self._to_sync) + len(self._to_flush) >= self.max_pending:
                raise Unavailable(f"the decision log cannot reach the database and holds {self.max_pending} "
                                  "unrecorded assessments; retry later", headers={"Retry-After": "5"})
            segment = self._current_segment()
            if segment.broken:  # a torn line waits to be cut off: write nothing after it
                raise Unavailable("the decision log cannot write to disk; the assessment was not recorded",
                                  headers={"Retry-After": "5"})
            line = dict(record)
            if sha not in segment.templates:  # each segment carries every template its records need
                line["template"] = template
            try:
                segment.handle.write(orjson.dumps(line).decode("utf-8") + "\n")
            except OSError as exc:  # disk full: this record is not taken; the syncer cuts the file back
                segment.broken = True
                self.write_errors += 1
                self._sync_cv.notify()
                raise Unavailable(f"the decision log cannot write to disk ({exc.strerror}); the assessment "
                                  "was not recorded", headers={"Retry-After": "5"}) from None
            segment.templates.add(sha)
            segment.written += 1
            pending = _Pending(record, segment, loop.create_future() if loop is not None else Future())
            self._to_sync.append(pending)
            self._by_id[record["id"]] = sha
            entry = self._templates.setdefault(sha, [template, 0])
            entry[1] += 1
            if len(self._to_sync) == 1:
                self._sync_cv.notify()
        return pending.done

    def wait_flushed(self, timeout: float = 10.0) -> bool:
        """Until every record taken so far is in the database (for tests and orderly shutdowns)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending == 0:
                return True
            time.sleep(0.01)
        return self.pending == 0

    def read(self, assessment_id: str) -> str | None:
        """The answer of an assessment not yet in the database, or None."""
        with self._lock:
            sha = self._by_id.get(assessment_id)
            return render(self._templates[sha][0], assessment_id) if sha is not None else None

    def _forget(self, record: dict[str, Any]) -> None:
        """Under the lock: a record is in the database (or will never be): drop what served it from memory."""
        self._by_id.pop(record["id"], None)
        entry = self._templates.get(record["body_sha"])
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._templates[record["body_sha"]]

    # --- threads -------------------------------------------------------------------------------
    def _current_segment(self) -> Segment:
        if self._segment is None or self._segment.written >= SEGMENT_RECORDS:
            if self._segment is not None:
                self._segment.closed = True
            path = self.directory / f"decisions-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            # a large buffer: writes reach the file when the syncer flushes, not from the event loop (a write
            # system call there gives the GIL away, and the decision log's threads may keep it for a while)
            handle = open(path, "a", encoding="utf-8", buffering=JOURNAL_BUFFER)
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._segment = Segment(path, handle)
        return self._segment

    def _needs_repair(self) -> bool:
        return self._segment is not None and self._segment.broken

    def _sync_loop(self) -> None:
        while True:
            with self._lock:
                while not self._to_sync and not self._stopping and not self._needs_repair():
                    self._sync_cv.wait()
                if not self._to_sync and self._stopping and not self._needs_repair():
                    self._flush_cv.notify_all()
                    return
                batch, self._to_sync = self._to_sync, []
                segments = {id(p.segment): p.segment for p in batch}
                ends: dict[int, int] = {}
                failed: OSError | None = None
                if self._needs_repair():  # a write tore a line: fail what was written with it, cut it off
                    segments[id(self._segment)] = self._segment
                    failed = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                for key, segment in segments.items():
                    try:
                        segment.handle.flush()
                        ends[key] = segment.handle.tell()  # submits wait on the lock: this is what fsync covers
                    except OSError as exc:
                        segment.broken, failed = True, failed or exc
            self._durable(batch, segments, ends, failed)

    def _durable(self, batch: list[_Pending], segments: dict[int, Segment], ends: dict[int, int],
                 failed: OSError | None) -> None:
        """fsync, then hand the batch to the flusher and complete its futures; on a disk error fail the
        batch, and cut each file back to what was acknowledged before, so nothing unacknowledged stays."""
        try:
            if failed is not None:
                raise failed
            for segment in segments.values():
                os.fsync(segment.handle.fileno())
        except OSError as exc:  # disk full or gone: the records are not durable, say so
            with self._lock:
                for p in batch:
                    self._forget(p.record)
                    p.segment.written -= 1
                for segment in segments.values():
                    try:
                        segment.repair()
                    except OSError:
                        log.exception("cannot repair journal segment %s", segment.path)
                self.write_errors += 1
            _settle_all(batch, Unavailable(f"the decision log could not write to disk ({exc.strerror}); the "
                                           "assessment was not recorded", headers={"Retry-After": "5"}))
            return
        with self._lock:
            for key, segment in segments.items():
                segment.synced = max(segment.synced, ends.get(key, segment.synced))
            self._to_flush.extend(batch)
            if self._stopping:
                self._flush_cv.notify()
        _settle_all(batch)

    def _flush_loop(self) -> None:
        backoff = 0.05
        while True:
            with self._lock:
                # the flusher is not woken per record: it looks every FLUSH_INTERVAL, taking what has gathered
                # (each wake-up of a thread costs the event loop the GIL; batches also make cheaper transactions)
                self._flush_cv.wait(FLUSH_INTERVAL)
                while not self._to_flush and not (self._stopping and not self._to_sync and not self._syncer.is_alive()):
                    self._flush_cv.wait(FLUSH_INTERVAL)
                    if self._stopping and not self._to_sync and not self._to_flush:
                        return
                if not self._to_flush:
                    return
                batch = self._to_flush[: self.batch]
                templates = {p.record["body_sha"]: self._templates[p.record["body_sha"]][0] for p in batch}
            try:
                self._insert([p.record for p in batch], templates)
            except (DataError, IntegrityError) as exc:
                # the database answers but refuses something in this batch: find it, set it aside, go on
                self._insert_one_by_one(batch, templates, exc)
            except Exception as exc:  # noqa: BLE001 - the database is down or failing: keep the records, retry
                self.flush_errors += 1
                self.last_flush_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                if self._stopping and backoff >= 1.0:
                    log.error("giving up flushing at shutdown: %s", self.last_flush_error)
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.05
            self.last_flush_error = None
            with self._lock:
                del self._to_flush[: len(batch)]
                for p in batch:
                    self._forget(p.record)
                    p.segment.flushed += 1
                for segment in {id(p.segment): p.segment for p in batch}.values():
                    if segment.closed and segment.flushed >= segment.written:
                        self._retire(segment)

    def _insert_one_by_one(self, batch: list[_Pending], templates: dict[str, str], cause: Exception) -> None:
        """Insert a refused batch record by record; a record the database refuses goes to a dead-letter file
        beside the journal (kept, logged, counted) instead of blocking every record behind it."""
        for p in batch:
            try:
                self._insert([p.record], templates, replay=True)
            except (DataError, IntegrityError) as exc:
                path = self.directory / f"dead-letter-{os.getpid()}.jsonl"
                with open(path, "a", encoding="utf-8") as out:
                    out.write(orjson.dumps({**p.record, "template": templates.get(p.record["body_sha"]),
                                            "error": str(exc)[:500]}).decode("utf-8") + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                self.dead_letters += 1
                log.error("the database refused decision record %s (%s); kept in %s", p.record["id"],
                          type(exc).__name__, path.name)
        log.warning("a batch was refused (%s); inserted record by record", type(cause).__name__)

    # --- the database --------------------------------------------------------------------------
    def _insert(self, records: list[dict[str, Any]], templates: dict[str, str], replay: bool = False) -> None:
        """Insert the answer bodies the database lacks, then the records, in one transaction.

        Live records have fresh ids; a replay after a crash may repeat records already inserted, so it
        skips those. Bodies known to be stored (this process stored or saw them) are not looked up again."""
        rows = [_row(r) for r in records]
        table = AssessmentRecord.__table__
        bodies = AssessmentBody.__table__
        with self.db.engine.begin() as conn:
            shas = {r["body_sha"] for r in rows if r["body_sha"]} - self._stored_bodies
            if shas:
                stored = set(conn.execute(select(bodies.c.sha).where(bodies.c.sha.in_(shas))).scalars())
                missing = [{"sha": sha, "template": templates[sha]} for sha in shas - stored]
                if missing:
                    conn.execute(insert(bodies), missing)
            if replay:
                ids = [r["id"] for r in rows]
                existing = set(conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
                rows = [r for r in rows if r["id"] not in existing]
            if rows:
                conn.execute(insert(table), rows)
        self._stored_bodies.update(shas)
        if len(self._stored_bodies) > 100_000:  # a cache, not a record: start again rather than grow
            self._stored_bodies.clear()

    # --- segments ------------------------------------------------------------------------------
    def _retire(self, segment: Segment) -> None:
        try:
            segment.handle.close()
            segment.path.unlink(missing_ok=True)
        except OSError:  # pragma: no cover
            log.exception("could not remove journal segment %s", segment.path)
        if self._segment is segment:
            self._segment = None

    def _unlock(self, segment: Segment) -> None:
        try:
            segment.handle.flush()
            os.fsync(segment.handle.fileno())
            segment.handle.close()
        except OSError:  # pragma: no cover
            pass

    def _replay_orphans(self) -> None:
        """Segments left by processes that stopped before flushing: claim each, insert its records, remove it."""
        for path in sorted(self.directory.glob("decisions-*.jsonl")):
            try:
                handle = open(path, "r+", encoding="utf-8")
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()  # a live process owns it
                continue
            records = []
            templates: dict[str, str] = {}
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    log.warning("skipping a torn last line in %s", path)  # a crash mid-write: never acknowledged
                    continue
                template = record.pop("template", None)
                if template is not None:
                    templates[record["body_sha"]] = template
                records.append(record)
            try:
                for i in range(0, len(records), self.batch):
                    self._insert(records[i:i + self.batch], templates, replay=True)
            except Exception as exc:  # noqa: BLE001 - keep it for the next start
                log.warning("cannot replay %s yet (%s); keeping it", path, type(exc).__name__)
                handle.close()
                continue
            log.info("replayed %d decision records from %s", len(records), path.name)
            path.unlink(missing_ok=True)
            handle.close()
