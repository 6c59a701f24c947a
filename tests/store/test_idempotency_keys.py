"""Idempotency keys in the store, on each database the service runs on (SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set): the database decides which of concurrent claims wins; expired keys do not count and are
purged in bounded batches; a claim left by a dead worker is taken over once stale, and its late answer is not kept."""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import func, select

from service.store import idempotency_keys
from service.store.db import Database
from service.store.idempotency_keys import Claimed, IdempotencyKeys, InProgress, Mismatch, Replay, StoredResponse
from service.store.tables import IdempotencyRecord

HOUR = dt.timedelta(hours=1)
ANSWER = StoredResponse(201, {"content-type": "application/json", "location": "/v1/assessments/01J"},
                        b'{"assessment_id":"01J","obligations":[]}\xe2\x80\x94')


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def key() -> str:
    return str(uuid.uuid4())


def count(db: Database, *where) -> int:
    with db.session() as session:
        total: int = session.exec(select(func.count()).select_from(IdempotencyRecord).where(*where)).one()
    return total


def test_a_claimed_key_is_in_progress_then_replayed_byte_for_byte(db):
    keys, k = IdempotencyKeys(db, HOUR, HOUR), key()
    claimed = keys.claim("scope", k, "sha-a")
    assert isinstance(claimed, Claimed)
    assert keys.claim("scope", k, "sha-a") == InProgress()
    assert keys.claim("scope", k, "sha-b") == Mismatch()
    assert keys.complete("scope", k, claimed.token, ANSWER)
    assert keys.claim("scope", k, "sha-a") == Replay(ANSWER)
    assert keys.claim("scope", k, "sha-b") == Mismatch()
    assert isinstance(keys.claim("other scope", k, "sha-b"), Claimed), "a key belongs to its scope"


def test_a_released_key_can_be_claimed_again_and_the_old_token_holds_nothing(db):
    keys, k = IdempotencyKeys(db, HOUR, HOUR), key()
    first = keys.claim("scope", k, "sha-a")
    assert isinstance(first, Claimed)
    keys.release("scope", k, first.token)
    second = keys.claim("scope", k, "sha-b")  # released: nothing holds the key, another request may take it
    assert isinstance(second, Claimed)
    keys.release("scope", k, first.token)  # the first request's token no longer holds it: nothing happens
    assert not keys.complete("scope", k, first.token, ANSWER)
    assert keys.complete("scope", k, second.token, ANSWER)
    assert keys.claim("scope", k, "sha-b") == Replay(ANSWER)


def test_an_expired_key_counts_as_new(db):
    keys, k = IdempotencyKeys(db, dt.timedelta(milliseconds=200), HOUR), key()
    first = keys.claim("scope", k, "sha-a")
    assert isinstance(first, Claimed) and keys.complete("scope", k, first.token, ANSWER)
    assert keys.claim("scope", k, "sha-b") == Mismatch()
    time.sleep(0.3)
    again = keys.claim("scope", k, "sha-b")
    assert isinstance(again, Claimed)
    assert keys.claim("scope", k, "sha-b") == InProgress(), "the expired answer is gone, the new claim holds"


def test_a_stale_claim_is_taken_over_and_its_late_answer_not_kept(db):
    keys, k = IdempotencyKeys(db, HOUR, dt.timedelta(milliseconds=200)), key()
    dead = keys.claim("scope", k, "sha-a")
    assert isinstance(dead, Claimed)
    assert keys.claim("scope", k, "sha-a") == InProgress()
    time.sleep(0.3)
    assert keys.claim("scope", k, "sha-b") == Mismatch(), "a stale claim still names its request"
    successor = keys.claim("scope", k, "sha-a")
    assert isinstance(successor, Claimed) and successor.token != dead.token
    assert not keys.complete("scope", k, dead.token, StoredResponse(201, {}, b"late"))
    assert keys.complete("scope", k, successor.token, ANSWER)
    assert keys.claim("scope", k, "sha-a") == Replay(ANSWER)


def test_expired_keys_are_purged_in_bounded_batches_and_live_ones_stay(db, monkeypatch):
    monkeypatch.setattr(idempotency_keys, "PURGE_BATCH", 3)
    monkeypatch.setattr(idempotency_keys, "PURGE_BATCHES", 2)
    short, long = IdempotencyKeys(db, dt.timedelta(milliseconds=100), HOUR), IdempotencyKeys(db, HOUR, HOUR)
    short._next_purge = long._next_purge = float("inf")  # no purge from the claims themselves here
    scope = f"purge {key()}"
    for _ in range(8):
        assert isinstance(short.claim(scope, key(), "sha"), Claimed)
    for _ in range(2):
        assert isinstance(long.claim(scope, key(), "sha"), Claimed)
    time.sleep(0.2)
    expired = IdempotencyRecord.expires_at <= idempotency_keys.utcnow()
    assert count(db, expired) >= 8
    assert short.purge() == 6, "two statements of three rows at most"
    assert short.purge() >= 2
    assert count(db, expired) == 0
    assert count(db, IdempotencyRecord.scope == scope) == 2


def test_a_claim_purges_expired_keys_at_most_once_a_purge_interval(db):
    keys = IdempotencyKeys(db, dt.timedelta(milliseconds=100), HOUR)
    keys._next_purge = float("inf")
    scope = f"lazy {key()}"
    for _ in range(3):
        keys.claim(scope, key(), "sha")
    time.sleep(0.2)
    keys._next_purge = 0.0  # due: the next claim purges
    assert isinstance(keys.claim(scope, key(), "sha"), Claimed)
    assert count(db, IdempotencyRecord.scope == scope) == 1
    for _ in range(3):
        keys.claim(scope, key(), "sha")
    time.sleep(0.2)
    keys.claim(scope, key(), "sha")  # purged a moment ago: not due again for PURGE_INTERVAL
    assert count(db, IdempotencyRecord.scope == scope) == 5


def test_of_concurrent_claims_on_one_key_exactly_one_wins(db):
    """Each thread has its own connection: the database, not this process, decides."""
    keys, k = IdempotencyKeys(db, HOUR, HOUR), key()
    start = threading.Barrier(8)
    decisions: list[object] = []

    def claim() -> None:
        start.wait()
        decisions.append(keys.claim("scope", k, "sha"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(d, Claimed) for d in decisions) == 1, decisions
    assert sum(d == InProgress() for d in decisions) == 7, decisions
