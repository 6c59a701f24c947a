"""The decision log's keeper: a process beside each server process that makes its journal durable and copies it
into the database.

Why a process: the server's event loop appends journal lines itself (one write system call per turn of the
loop); the fsync and the database inserts run here, on another core and under another GIL, so the event loop
never waits for a thread of its own to get the GIL back. The server owns the journal files and holds a lock on
each until this process has retired it; it tells this process about them on stdin and hears back on stdout,
one line per message (the files, their lines and the messages: journal_protocol.py).

Segments are copied in order, each record inserted unless its id is there already (a segment the server
hands over again after a keeper died, or replays of the same orphan, insert nothing twice). A record the
database refuses goes to a dead-letter file beside the journal instead of blocking the ones behind it.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import logging.config
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import col

from service import businesses

from . import journal_protocol as protocol
from .db import Database, insert_skipping_duplicates
from .journal_protocol import Record
from .tables import AssessmentBody, AssessmentRecord

log = logging.getLogger("service.journal")

FLUSH_INTERVAL = 0.05  # seconds between looks for new lines to copy (a batch gathers meanwhile)
READ_CHUNK = 8 << 20  # bytes of a segment read at once (more when one line is longer)
COLUMNS = ("id", "kind", "ruleset_version", "ruleset_digest", "as_of", "profile", "created_at", "body_sha",
           "response", "subject")  # of an assessment row, as a record names them


@dataclass
class Tail:
    """What this process knows of one of the server's segments."""
    first: int
    path: Path
    fd: int  # read-only: enough to fsync and to read
    synced: int = 0  # bytes on disk
    copied: int = 0  # bytes in the database
    copied_lines: int = 0
    closed: bool = False
    templates: dict[str, str] = field(default_factory=dict)  # answers met in its lines, not yet stored


def _row(record: Record) -> dict[str, Any]:
    """A record as the values of its row (the journal holds times as ISO text)."""
    row = {column: record.get(column) for column in COLUMNS}
    row["as_of"] = dt.date.fromisoformat(record["as_of"])
    row["created_at"] = dt.datetime.fromisoformat(record["created_at"])
    profile = record.get("profile")  # the business key is worked out here, off the event loop
    row["business"] = businesses.key(record.get("subject"), profile) if isinstance(profile, str) else None
    return row


def _take_record(line: bytes, templates: dict[str, str]) -> Record:
    """A journal line's record; the answer template it carries goes into `templates`, by its sha."""
    record, template = protocol.decode_record(line)
    if template is not None:
        templates[record["body_sha"]] = template
    return record


def _messages(lines: list[bytes]) -> list[protocol.ToKeeper]:
    """The server's messages in these lines; one this keeper does not know is logged and skipped (the two processes
    are of one version: it is a bug, not a reason to stop making records durable)."""
    messages = []
    for line in lines:
        if not line:
            continue
        try:
            messages.append(protocol.parse_to_keeper(line))
        except ValueError:
            log.error("the decision log keeper got a message it does not know: %r", line[:100])
    return messages


class Keeper:
    def __init__(self, db: Database, directory: Path, batch: int = 500, out: int = 1) -> None:
        self.db = db
        self.directory = directory
        self.batch = batch
        self.out = out
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._tails: dict[int, Tail] = {}  # by first line, in the order they are to be copied
        self._stopping = False
        self._stored_bodies: set[str] = set()
        self._write_lock = threading.Lock()
        self.flush_errors = 0
        self.dead_letters = 0
        self.last_flush_error: str | None = None

    def tell(self, message: protocol.ToServer) -> None:
        data = protocol.encode(message)
        with self._write_lock:
            try:
                os.write(self.out, data)
            except BrokenPipeError:  # the server is gone: nobody to tell, the work goes on
                pass

    def _report(self) -> None:
        self.tell(protocol.Stats(self.flush_errors, self.dead_letters, self.last_flush_error))

    # --- the server's messages -----------------------------------------------------------------
    def serve(self, source: int = 0) -> None:
        """Follow the server's messages until its end of input; then copy what is left and return."""
        flusher = threading.Thread(target=self._copy_loop, name="journal-copy", daemon=True)
        flusher.start()
        pending = b""
        while True:
            chunk = os.read(source, 1 << 16)
            if not chunk:
                break
            lines, pending = protocol.split_lines(pending, chunk)
            self._handle(_messages(lines))
        with self._lock:
            self._stopping = True
            for tail in self._tails.values():
                tail.closed = True
            self._wake.notify()
        flusher.join()

    def _handle(self, messages: list[protocol.ToKeeper]) -> None:
        """One batch of messages: segments to follow, lines to make durable (one fsync per segment), closes."""
        syncs: dict[int, protocol.Sync] = {}  # the last of each segment's: one fsync covers them all
        closes = []
        for message in messages:
            match message:
                case protocol.NewSegment(first, path):
                    tail = Tail(first, path, os.open(path, os.O_RDONLY))
                    with self._lock:
                        self._tails[tail.first] = tail
                case protocol.Sync(first):
                    syncs[first] = message
                case protocol.Close(first):
                    closes.append(first)
        last = None
        for sync in syncs.values():
            tail = self._tails[sync.first]
            os.fsync(tail.fd)  # an error here ends this process: the server fails what waits, starts another
            with self._lock:
                tail.synced = max(tail.synced, sync.offset)
            last = max(last or sync.last, sync.last)
        if closes:
            with self._lock:
                for first in closes:
                    self._tails[first].closed = True
        if last is not None:
            self.tell(protocol.Durable(last))

    # --- copying into the database -------------------------------------------------------------
    def _copy_loop(self) -> None:
        backoff = 0.05
        while True:
            with self._lock:
                self._retire_copied()
                tail = next((t for t in self._tails.values() if t.copied < t.synced), None)
                if tail is None:
                    if self._stopping:
                        return
                    self._wake.wait(FLUSH_INTERVAL)
                    continue
                start, end = tail.copied, tail.synced
            records, templates, size = self._read(tail, start, end)  # outside the lock: fsyncs go on meanwhile
            try:
                self._insert(records, templates)
            except (DataError, IntegrityError) as exc:  # the database answers but refuses something in this batch
                self._insert_one_by_one(records, templates, exc)
            except Exception as exc:  # the database is down or failing: keep the lines, retry
                self.flush_errors += 1
                self.last_flush_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                self._report()
                if self._stopping and backoff >= 1.0:
                    log.error("giving up copying the decision log at shutdown: %s; the journal keeps it",
                              self.last_flush_error)
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            if self.last_flush_error is not None:
                self.last_flush_error = None
                self._report()
            backoff = 0.05
            with self._lock:
                tail.copied += size
                tail.copied_lines += len(records)
                for sha in list(tail.templates):
                    if sha in self._stored_bodies:
                        del tail.templates[sha]
            self.tell(protocol.Flushed(tail.first + tail.copied_lines - 1))
            if len(self._stored_bodies) > 100_000:  # a cache, not a record: start again rather than grow
                self._stored_bodies.clear()

    def _read(self, tail: Tail, start: int, end: int) -> tuple[list[Record], dict[str, str], int]:
        """Up to `batch` records from the durable lines of `tail` between byte `start` and `end` (a line's end),
        with the answers they need; and how many bytes they took."""
        size = min(end - start, READ_CHUNK)
        while True:
            data = os.pread(tail.fd, size, start)
            whole = data.rfind(b"\n") + 1  # whole lines only
            if whole:
                break
            size *= 2  # one line longer than the chunk
        records = []
        used = 0
        for line in data[: whole - 1].split(b"\n")[: self.batch]:
            used += len(line) + 1
            records.append(_take_record(line, tail.templates))
        return records, dict(tail.templates), used

    def _retire_copied(self) -> None:
        """Under the lock: remove each closed segment whose lines are all in the database, and say so."""
        for first, tail in list(self._tails.items()):
            if tail.closed and tail.copied >= tail.synced and os.fstat(tail.fd).st_size <= tail.synced:
                os.close(tail.fd)
                tail.path.unlink(missing_ok=True)
                del self._tails[first]
                self.tell(protocol.Retired(first))
            elif not tail.closed or tail.copied < tail.synced:
                break  # segments are copied in order: the later ones wait for this one

    def _insert(self, records: list[Record], templates: dict[str, str]) -> None:
        """The answer bodies the database lacks, then the records, in one transaction; ids already there are
        skipped (a segment handed over again, an orphan replayed twice)."""
        rows = [_row(r) for r in records]
        dialect = self.db.engine.dialect.name
        with self.db.engine.begin() as conn:
            shas = {r["body_sha"] for r in rows if r["body_sha"]} - self._stored_bodies
            if shas:
                column = col(AssessmentBody.sha)
                stored = set(conn.execute(select(column).where(column.in_(shas))).scalars())
                missing = [{"sha": sha, "template": templates[sha]} for sha in shas - stored if sha in templates]
                if missing:
                    conn.execute(insert_skipping_duplicates(dialect, AssessmentBody), missing)
            if rows:
                conn.execute(insert_skipping_duplicates(dialect, AssessmentRecord), rows)
        self._stored_bodies.update(shas)

    def _insert_one_by_one(self, records: list[Record], templates: dict[str, str], cause: Exception) -> None:
        for record in records:
            try:
                self._insert([record], templates)
            except (DataError, IntegrityError) as exc:
                path = self.directory / protocol.dead_letter_name(os.getppid())
                with open(path, "a", encoding="utf-8") as out:
                    out.write(orjson.dumps({**record, protocol.TEMPLATE: templates.get(record.get("body_sha", "")),
                                            "error": str(exc)[:500]}).decode("utf-8") + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                self.dead_letters += 1
                log.error("the database refused decision record %s (%s); kept in %s", record.get("id"),
                          type(exc).__name__, path.name)
        log.warning("a batch was refused (%s); inserted record by record", type(cause).__name__)
        self._report()

    # --- orphans -------------------------------------------------------------------------------
    def replay_orphans(self) -> None:
        """Segments left by processes that stopped before copying them: claim each (a live server holds the
        lock on its own), insert its records, remove it. What the database cannot take yet stays for later."""
        for path in sorted(self.directory.glob(protocol.SEGMENT_GLOB)):
            try:
                handle = open(path, "rb")
            except FileNotFoundError:
                continue
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process owns it
                records = []
                templates: dict[str, str] = {}
                for line in handle:
                    try:
                        records.append(_take_record(line, templates))
                    except orjson.JSONDecodeError:
                        log.warning("skipping a torn last line in %s", path)  # a crash mid-write: never acknowledged
                try:
                    for i in range(0, len(records), self.batch):
                        self._insert(records[i:i + self.batch], templates)
                except Exception as exc:  # the database cannot take it yet: keep it for the next start
                    log.warning("cannot replay %s yet (%s); keeping it", path, type(exc).__name__)
                    continue
                log.info("replayed %d decision records from %s", len(records), path.name)
                path.unlink(missing_ok=True)


def main() -> None:
    """`python -m service.store.journal_keeper DIRECTORY BATCH`, started by service/store/journal.py."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server says when to stop: by closing our input
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.setswitchinterval(0.0005)  # the fsync loop gets the GIL back quickly from the copying thread
    from service.logs import configure

    logging.config.dictConfig(configure(os.environ.get("LOG_LEVEL", "info"), os.environ.get("LOG_FORMAT", "json")))
    directory, batch = protocol.keeper_arguments(sys.argv)
    db = Database(os.environ[protocol.DATABASE_URL_VARIABLE])
    keeper = Keeper(db, directory, batch)
    keeper.replay_orphans()
    keeper.tell(protocol.Ready())
    try:
        keeper.serve()
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
