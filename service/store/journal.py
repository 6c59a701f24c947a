"""The decision log's write path: durable before the answer, copied into the database after it.

An assessment is answered 2xx only once its record is *durably queued*: appended to this process's journal
file and fsync'ed. The event loop appends the records itself, once per turn of the loop for all the records
that turn produced (one write system call). The fsync and the copying into the database are done by the
journal keeper (journal_keeper.py), a process of its own that says when lines are durable and when they are
in the database; the event loop reads its answers like any other socket (the files, their lines and the
messages both sides exchange are in journal_protocol.py). No thread of this process works for the decision
log: a thread here would have to win the GIL back from the busy event loop (up to sys.getswitchinterval(),
5 ms, each time), and every answer would wait for it.

A record names its answer by the SHA-256 of the answer's template (service/answers.py); the template itself
is written once per journal segment and stored once in the database, however many assessments share it.

If the database is unreachable the journal grows; once `max_pending` records are not yet in the database,
recording requests get 503 instead of a silent drop. A write the disk refuses fails the records in it (503)
and the file is cut back to what was written before. If the keeper dies, a new one is handed the segments
and makes what was written durable (the page cache still holds it); a keeper that dies as soon as it starts
is not restarted at once, and what waits on it is refused (503). On shutdown the keeper copies what it can;
what it cannot stays in the journal, and the next keeper to start on this folder replays it (this process
holds a lock on each of its segments until the keeper has retired it, so no keeper replays a live one).
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import select
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVarTuple

from service.answers import render
from service.errors import Unavailable

from . import journal_protocol as protocol
from .db import Database
from .journal_protocol import Record
from .tables import utcnow

log = logging.getLogger("service.journal")

SEGMENT_RECORDS = 5000
KEEPER_START_SECONDS = 60.0  # to replay orphans and say it is ready
KEEPER_RESTART_PAUSE = 2.0  # a keeper that dies this soon after starting is not restarted at once


@dataclass
class Segment:
    first: int  # sequence number of its first line
    path: Path
    fd: int  # append-only, locked while the segment lives
    lines: int = 0
    written: int = 0  # bytes written (what follows a failed write is cut off)
    last: int = 0  # sequence number of its last line
    templates: set[str] = field(default_factory=set)  # answers its lines carry (by sha)


@dataclass
class _Write:
    """One append: its records' futures wait until the keeper says its last line is durable."""
    last: int
    futures: list[asyncio.Future[None]]
    ids: list[str]


def _complete(futures: Iterable[asyncio.Future[None]], error: BaseException | None = None) -> None:
    """Complete futures of any event loop: directly on this thread's loop, by a call-soon on another's."""
    running = _running_loop()
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for future in futures:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, group in by_loop.items():
        if loop is running:
            _settle(group, error)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(_settle, group, error)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_Args = TypeVarTuple("_Args")


def _on_loop(loop: asyncio.AbstractEventLoop, call: Callable[[*_Args], object], *args: *_Args) -> None:
    """Call `call` on `loop`'s thread: now if this is it, else soon (add_reader and remove_reader are not
    thread-safe)."""
    if loop.is_closed():
        return
    if _running_loop() is loop:
        call(*args)
    else:
        loop.call_soon_threadsafe(call, *args)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error:
            future.set_exception(error)
        else:
            future.set_result(None)


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """One of the keeper's pipes: always there, the keeper is started with both (Popen types them optional)."""
    if stream is None:
        raise RuntimeError("the decision log keeper was started without its pipes")
    return stream


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # a regular file takes it all, or fails (disk full) after part of it
        view = view[os.write(fd, view):]


class DecisionJournal:
    def __init__(self, db: Database, directory: Path, max_pending: int = 10_000, batch: int = 500) -> None:
        self.db = db
        self.directory = directory
        self.max_pending = max_pending
        self.batch = batch
        self._lock = threading.RLock()  # the keeper's answers are read by the loop, or by a waiting caller
        self._outbox: list[tuple[Record, str, asyncio.Future[None]]] = []  # this turn of the loop's records
        self._scheduled_on: asyncio.AbstractEventLoop | None = None  # the loop that writes the outbox at its turn's end
        self._seq = 0  # sequence number of the last line written
        self._segment: Segment | None = None
        self._segments: dict[int, Segment] = {}  # not yet retired by the keeper, by first line
        self._waiting: deque[_Write] = deque()  # written, not yet durable
        self._order: deque[tuple[int, str]] = deque()  # (line, assessment id) written, not yet in the database
        self._by_id: dict[str, str] = {}  # assessment id -> answer template, until it is in the database
        self._subjects: dict[str, str] = {}  # assessment id -> its subject (when it has one), likewise
        self._keeper: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._outgoing = bytearray()
        self._incoming = b""
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that reads the keeper's answers
        self._ready = False
        self._stopping = False
        self.write_errors = 0
        self.dead_letters = 0
        self.flush_errors = 0
        self.last_flush_error: str | None = None

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the keeper and wait until it has replayed what earlier processes left."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._start_keeper()
        deadline = time.monotonic() + KEEPER_START_SECONDS
        while not self._ready and self._keeper is not None and time.monotonic() < deadline:
            self._wait_for_keeper(0.1)
        if not self._ready:
            log.error("the decision log keeper is not ready; recording assessments answers 503 until it is")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop taking records, write what was taken, and let the keeper put as much as it can into the database."""
        with self._lock:
            self._stopping = True
            if self._outbox:
                self._write_outbox()
            if self._segment is not None:
                self._send(protocol.Close(self._segment.first))
                self._segment = None
            keeper = self._keeper
        if keeper is not None:
            stdin = _pipe(keeper.stdin)
            os.set_blocking(stdin.fileno(), True)
            try:
                stdin.write(bytes(self._outgoing))
                stdin.close()  # end of input: the keeper copies what is left and exits
            except (BrokenPipeError, OSError):
                pass
            self._outgoing.clear()
            deadline = time.monotonic() + timeout
            while self._keeper is keeper and time.monotonic() < deadline:
                self._wait_for_keeper(0.1)
            if keeper.poll() is None:
                log.error("the decision log keeper did not finish in %.0f s; stopping it", timeout)
                keeper.kill()
            keeper.wait()
            self._forget_keeper(keeper)
        with self._lock:
            left = len(self._by_id)
            for segment in self._segments.values():
                os.close(segment.fd)  # its lock goes: the next keeper to start replays what is left
            self._segments.clear()
            _complete([f for w in self._waiting for f in w.futures],
                      Unavailable("the service is shutting down; the assessment was not recorded"))
            self._waiting.clear()
        if left:
            log.warning("%d decision records stay in %s for the next start", left, self.directory)

    # --- the request path ----------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Records taken and not yet in the database."""
        return len(self._by_id)

    def submit(self, record: Record, template: str,
               loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Future[None]:
        """Queue a record (its answer: `template`, named by record["body_sha"]) from the event loop `loop` (the
        running one by default); the returned future of that loop completes once the record is durable, or
        fails with Unavailable. Raises Unavailable when the decision log cannot take it."""
        loop = loop or asyncio.get_running_loop()
        with self._lock:
            if self._stopping:
                raise Unavailable("the service is shutting down; the assessment was not recorded")
            if self._keeper is None and not self._restart_keeper():
                raise Unavailable("the decision log is not running; the assessment was not recorded", retry_after=5)
            if len(self._by_id) >= self.max_pending:
                raise Unavailable(f"the decision log cannot reach the database and holds {self.max_pending} "
                                  "unrecorded assessments; retry later", retry_after=5)
            if loop is not self._loop:
                self._listen(loop)
            record = {**record, "created_at": record.get("created_at") or utcnow().isoformat()}
            future: asyncio.Future[None] = loop.create_future()
            self._outbox.append((record, template, future))
            self._by_id[record["id"]] = template
            if record.get("subject"):
                self._subjects[record["id"]] = record["subject"]
            if self._scheduled_on is not loop:
                self._scheduled_on = loop
                loop.call_soon(self._write_outbox)  # after the other requests of this turn: one write for all
        return future

    def read(self, assessment_id: str) -> str | None:
        """The answer of an assessment not yet in the database, or None."""
        template = self._by_id.get(assessment_id)
        return render(template, assessment_id) if template is not None else None

    def subject(self, assessment_id: str) -> str | None:
        """The subject of an assessment not yet in the database (None: none, or it is in the database)."""
        return self._subjects.get(assessment_id)

    def wait_flushed(self, timeout: float = 10.0) -> bool:
        """Until every record taken so far is in the database (for tests and orderly shutdowns). It reads the
        keeper's answers itself, so it may be called on the event loop's thread."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self._wait_for_keeper(0.02)
        return self.pending == 0

    def _forget(self, assessment_id: str) -> None:
        """Under the lock: the record is in the database, or was not taken."""
        self._by_id.pop(assessment_id, None)
        self._subjects.pop(assessment_id, None)

    # --- writing -------------------------------------------------------------------------------
    def _write_outbox(self) -> None:
        """Append the records taken since the last call, in one write; ask the keeper to make them durable."""
        with self._lock:
            self._scheduled_on = None
            batch, self._outbox = self._outbox, []
            if not batch:
                return
            segment = None
            try:
                segment = self._current_segment()
                known = set(segment.templates)
                lines = []
                for record, template, _ in batch:
                    sha = record["body_sha"]
                    if sha in segment.templates:
                        lines.append(protocol.encode_record(record))
                    else:  # each segment carries every template its records need
                        lines.append(protocol.encode_record(record, template))
                        segment.templates.add(sha)
                data = b"".join(lines)
                _write_all(segment.fd, data)
            except OSError as exc:  # disk full or gone: these records are not taken; nothing torn stays
                if segment is not None:
                    self._cut(segment)
                    segment.templates = known
                self.write_errors += 1
                for record, _, _ in batch:
                    self._forget(record["id"])
                _complete([f for _, _, f in batch], Unavailable(
                    f"the decision log cannot write to disk ({exc.strerror}); the assessment was not recorded",
                    retry_after=5))
                return
            first = self._seq + 1
            self._seq += len(batch)
            segment.lines += len(batch)
            segment.written += len(data)
            segment.last = self._seq
            ids = [r["id"] for r, _, _ in batch]
            self._waiting.append(_Write(self._seq, [f for _, _, f in batch], ids))
            self._order.extend(zip(range(first, self._seq + 1), ids, strict=True))
            self._send(protocol.Sync(segment.first, segment.written, self._seq))

    def _current_segment(self) -> Segment:
        segment = self._segment
        if segment is None or segment.lines >= SEGMENT_RECORDS:
            if segment is not None:
                self._send(protocol.Close(segment.first))
            path = self.directory / protocol.segment_name(os.getpid(), uuid.uuid4().hex[:8])
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            segment = self._segment = Segment(self._seq + 1, path, fd)
            self._segments[segment.first] = segment
            self._send(protocol.NewSegment(segment.first, path))
        return segment

    def _cut(self, segment: Segment) -> None:
        """Cut a segment back to what was written before a failed write (a torn line must not run into the next)."""
        try:
            os.ftruncate(segment.fd, segment.written)
        except OSError:
            log.exception("cannot cut journal segment %s back", segment.path)

    # --- the keeper ----------------------------------------------------------------------------
    def _start_keeper(self) -> None:
        env = {**os.environ, protocol.DATABASE_URL_VARIABLE: self.db.url}
        keeper = subprocess.Popen(protocol.keeper_command(self.directory, self.batch), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=env)
        os.set_blocking(_pipe(keeper.stdin).fileno(), False)
        os.set_blocking(_pipe(keeper.stdout).fileno(), False)
        self._keeper, self._started_at, self._ready = keeper, time.monotonic(), False
        self._incoming = b""
        self._outgoing.clear()
        if self._loop is not None:
            self._listen(self._loop)

    def _restart_keeper(self) -> bool:
        """Under the lock: a new keeper, handed every segment not yet retired, to make durable what was written
        and copy it (inserts skip what the last keeper copied already)."""
        if time.monotonic() - self._started_at < KEEPER_RESTART_PAUSE:
            return False
        try:
            self._start_keeper()
        except OSError:
            log.exception("cannot start the decision log keeper")
            return False
        for segment in self._segments.values():
            self._send(protocol.NewSegment(segment.first, segment.path))
            if segment.lines:
                self._send(protocol.Sync(segment.first, segment.written, segment.last))
            if segment is not self._segment:
                self._send(protocol.Close(segment.first))
        return True

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read the keeper's answers on `loop` (the loop changes only in tests, one loop per test)."""
        old, self._loop = self._loop, loop
        if self._keeper is None:
            return
        fd = _pipe(self._keeper.stdout).fileno()
        if old is not None and old is not loop:
            _on_loop(old, old.remove_reader, fd)
        _on_loop(loop, loop.add_reader, fd, self._receive)

    def _send(self, message: protocol.ToKeeper) -> None:
        self._outgoing += protocol.encode(message)
        self._pump()

    def _pump(self) -> None:
        keeper = self._keeper
        if keeper is None or not self._outgoing:
            return
        try:
            sent = os.write(_pipe(keeper.stdin).fileno(), self._outgoing)
            del self._outgoing[:sent]
        except BlockingIOError:
            pass
        except OSError:  # the keeper is gone: its end of output says so
            return
        if self._outgoing and self._loop is not None and _running_loop() is self._loop:
            self._loop.call_later(0.005, self._pump)  # its pipe is full: try again shortly

    def _wait_for_keeper(self, seconds: float) -> None:
        keeper = self._keeper
        if keeper is None:
            time.sleep(seconds)
            return
        select.select([_pipe(keeper.stdout).fileno()], [], [], seconds)
        self._receive()

    def _receive(self) -> None:
        """The keeper's answers: durable lines complete their futures, copied ones leave memory."""
        with self._lock:
            keeper = self._keeper
            if keeper is None:
                return
            try:
                data = os.read(_pipe(keeper.stdout).fileno(), 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._keeper_gone(keeper)
                return
            lines, self._incoming = protocol.split_lines(self._incoming, data)
            durable: list[asyncio.Future[None]] = []
            for line in lines:
                try:
                    message = protocol.parse_to_server(line)
                except ValueError:  # the two processes are of one version: this is a bug, not a reason to stop
                    log.error("the decision log keeper sent a message the server does not know: %r", line[:100])
                    continue
                durable.extend(self._take(message))
            self._pump()
        _complete(durable)

    def _take(self, message: protocol.ToServer) -> list[asyncio.Future[None]]:
        """Under the lock: one of the keeper's answers taken into account; the futures it makes durable."""
        durable: list[asyncio.Future[None]] = []
        match message:
            case protocol.Durable(last):
                while self._waiting and self._waiting[0].last <= last:
                    durable.extend(self._waiting.popleft().futures)
            case protocol.Flushed(last):
                while self._order and self._order[0][0] <= last:
                    self._forget(self._order.popleft()[1])
            case protocol.Retired(first):
                segment = self._segments.pop(first, None)
                if segment is not None:
                    os.close(segment.fd)
                    if segment is self._segment:
                        self._segment = None
            case protocol.Stats(flush_errors, dead_letters, last_flush_error):
                self.flush_errors, self.dead_letters = flush_errors, dead_letters
                self.last_flush_error = last_flush_error
            case protocol.Ready():
                self._ready = True
        return durable

    def _keeper_gone(self, keeper: subprocess.Popen[bytes]) -> None:
        """Under the lock: the keeper ended. While stopping that is the end. Otherwise a new keeper takes the
        segments over and makes durable what waits; unless this one died as soon as it started (it would
        again): then what waits is refused, and the next record tries a new keeper after a pause."""
        self._forget_keeper(keeper)
        if self._stopping:
            return
        log.error("the decision log keeper stopped (exit %s)", keeper.wait())
        if self._restart_keeper():
            return
        failed = list(self._waiting)
        self._waiting.clear()
        for write in failed:
            for assessment_id in write.ids:
                self._forget(assessment_id)
        _complete([f for w in failed for f in w.futures], Unavailable(
            "the decision log's keeper stopped before the assessment was durable; it was not recorded",
            retry_after=5))

    def _forget_keeper(self, keeper: subprocess.Popen[bytes]) -> None:
        if self._keeper is not keeper:
            return
        if self._loop is not None:
            _on_loop(self._loop, self._loop.remove_reader, _pipe(keeper.stdout).fileno())
        self._keeper = None
        self._ready = False
