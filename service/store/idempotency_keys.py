"""Idempotency keys in the database: which request a key was first sent with, and that request's answer.

The database decides between concurrent retries, on any worker process or replica: a request claims its key by
inserting a pending row under the primary key (scope, key), and only one insert can win. The others read the row:
a different request under the key is refused, a finished one is replayed, a pending one is waited for. Assessments
reach the database later (the journal keeper copies them), so the claim cannot be decided on their rows: it has
this table, written at once.

Every statement runs in a transaction of its own, and every change is a compare-and-swap on the row it read (by its
claim token, state or expiry): on SQLite a transaction that read and then writes fails at once when another process
wrote meanwhile, and on PostgreSQL no lock is held across statements.

Calls block: run them off the event loop. Database errors reach the caller (the API answers 503).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from .db import Database, insert_skipping_duplicates
from .tables import IdempotencyRecord, utcnow

log = logging.getLogger("service.idempotency")

PENDING, DONE = "pending", "done"
#: Seconds between purges of expired keys in one process, rows deleted per statement, statements per purge.
PURGE_INTERVAL = 60.0
PURGE_BATCH = 1000
PURGE_BATCHES = 10
#: Rounds of claim, read, take over before a key that keeps changing under us is reported as in progress.
CLAIM_ROUNDS = 3

_KEY = (col(IdempotencyRecord.scope), col(IdempotencyRecord.key))


@dataclass(frozen=True)
class StoredResponse:
    """An answer as it is replayed: status, the headers that matter, the body byte for byte."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: answer it, then `complete` (2xx) or `release` (anything else)."""

    token: str


@dataclass(frozen=True)
class Replay:
    """The key's request was answered already: this is its answer."""

    response: StoredResponse


@dataclass(frozen=True)
class Mismatch:
    """The key was sent with a different request, within its retention window."""


@dataclass(frozen=True)
class InProgress:
    """Another request holds the key and has not answered yet."""


Decision = Claimed | Replay | Mismatch | InProgress


class IdempotencyKeys:
    """Claims, answers and expiry of idempotency keys. `retention`: how long a key holds after its first use;
    `stale_after`: how long a pending claim may go unanswered before its worker is taken to have died and the
    next retry takes the key over."""

    def __init__(self, db: Database, retention: dt.timedelta, stale_after: dt.timedelta) -> None:
        self.db = db
        self.retention = retention
        self.stale_after = stale_after
        self._purging = threading.Lock()
        self._next_purge = 0.0  # monotonic time: the first claim of a process purges

    def claim(self, scope: str, key: str, request_sha: str) -> Decision:
        """Claim `key` for the request of digest `request_sha`, or say why not (replay, mismatch, in progress)."""
        for _ in range(CLAIM_ROUNDS):
            at = utcnow()
            token = uuid.uuid4().hex
            if self._insert(scope, key, request_sha, token, at):
                self._purge_if_due()
                return Claimed(token)
            row = self._read(scope, key)
            if row is None:  # released between our insert and our read: try again
                continue
            if row.expires_at <= at:  # an expired key does not count: it starts afresh
                if self._take_over_expired(scope, key, request_sha, token, at):
                    return Claimed(token)
                continue
            if row.request_sha != request_sha:
                return Mismatch()
            if row.state == DONE:
                return Replay(_stored(row))
            if row.claimed_at <= at - self.stale_after:  # its worker died before answering
                if self._take_over_stale(scope, key, row.claim, token, at):
                    log.warning("idempotency key taken over from a claim unanswered since %s", row.claimed_at)
                    return Claimed(token)
                continue
            return InProgress()
        return InProgress()

    def complete(self, scope: str, key: str, token: str, response: StoredResponse) -> bool:
        """Store the answer of the request holding `token`; False when the claim was taken over meanwhile."""
        statement = (update(IdempotencyRecord)
                     .where(*self._held(scope, key, token))
                     .values(state=DONE, status=response.status, headers=orjson.dumps(response.headers).decode(),
                             body=response.body))
        with self.db.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def release(self, scope: str, key: str, token: str) -> None:
        """Give the key up (the request was not answered 2xx): a retry may claim it and try again."""
        with self.db.engine.begin() as conn:
            conn.execute(delete(IdempotencyRecord).where(*self._held(scope, key, token)))

    def purge(self, at: dt.datetime | None = None) -> int:
        """Delete expired keys, PURGE_BATCH rows a statement, at most PURGE_BATCHES statements; how many went."""
        at = at or utcnow()
        expired = (select(*_KEY).where(col(IdempotencyRecord.expires_at) <= at)
                   .order_by(col(IdempotencyRecord.expires_at)).limit(PURGE_BATCH))
        deleted = 0
        for _ in range(PURGE_BATCHES):
            with self.db.engine.begin() as conn:
                count = conn.execute(delete(IdempotencyRecord).where(tuple_(*_KEY).in_(expired))).rowcount
            deleted += count
            if count < PURGE_BATCH:
                break
        return deleted

    # --- one statement each ----------------------------------------------------------------------
    def _insert(self, scope: str, key: str, request_sha: str, token: str, at: dt.datetime) -> bool:
        statement = insert_skipping_duplicates(self.db.engine.dialect.name, IdempotencyRecord).values(
            scope=scope, key=key, request_sha=request_sha, state=PENDING, claim=token, created_at=at, claimed_at=at,
            expires_at=at + self.retention)
        with self.db.engine.begin() as conn:  # RETURNING says whether it went in (psycopg gives no rowcount here)
            return conn.execute(statement.returning(col(IdempotencyRecord.claim))).first() is not None

    def _read(self, scope: str, key: str) -> IdempotencyRecord | None:
        with self.db.session() as session:
            return session.get(IdempotencyRecord, (scope, key))

    def _take_over_expired(self, scope: str, key: str, request_sha: str, token: str, at: dt.datetime) -> bool:
        statement = (update(IdempotencyRecord)
                     .where(*_is(scope, key), col(IdempotencyRecord.expires_at) <= at)
                     .values(request_sha=request_sha, state=PENDING, claim=token, created_at=at, claimed_at=at,
                             expires_at=at + self.retention, status=None, headers=None, body=None))
        with self.db.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def _take_over_stale(self, scope: str, key: str, stale_token: str, token: str, at: dt.datetime) -> bool:
        statement = (update(IdempotencyRecord)
                     .where(*self._held(scope, key, stale_token),
                            col(IdempotencyRecord.claimed_at) <= at - self.stale_after)
                     .values(claim=token, claimed_at=at))
        with self.db.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    @staticmethod
    def _held(scope: str, key: str, token: str) -> tuple[Any, ...]:
        """The row of a key while the claim of `token` holds it."""
        return (*_is(scope, key), col(IdempotencyRecord.state) == PENDING, col(IdempotencyRecord.claim) == token)

    def _purge_if_due(self) -> None:
        """Purge now and then, from the claims themselves: a process that takes keys also clears the expired
        ones (one process at a time per process; several processes may overlap, harmlessly)."""
        if time.monotonic() < self._next_purge or not self._purging.acquire(blocking=False):
            return
        try:
            self._next_purge = time.monotonic() + PURGE_INTERVAL
            deleted = self.purge()
            if deleted:
                log.info("purged %d expired idempotency keys", deleted)
        except SQLAlchemyError as exc:  # best effort: the next purge tries again; expired keys never count anyway
            log.warning("purging expired idempotency keys failed: %s", type(exc).__name__)
        finally:
            self._purging.release()


def _is(scope: str, key: str) -> tuple[Any, ...]:
    return (col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)


def _stored(row: IdempotencyRecord) -> StoredResponse:
    if row.status is None or row.headers is None or row.body is None:  # pragma: no cover - `complete` sets all three
        raise LookupError(f"the answer of idempotency key {row.key!r} is missing")
    headers: dict[str, str] = orjson.loads(row.headers)
    return StoredResponse(status=row.status, headers=headers, body=bytes(row.body))
