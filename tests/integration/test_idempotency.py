"""Idempotency-Key across processes: many concurrent retries of one request with one key, spread over two server
processes on a real PostgreSQL and over two workers on SQLite, record exactly one assessment (read back from the
database once the journal keepers have copied everything), and every answer carries its id. With the database
unreachable a key cannot be decided: 503, while requests without a key are still answered."""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bench.profiles import heavy
from service.store.db import normalise_url
from tests.helpers import make_profile
from tests.integration.postgres import PrivatePostgres
from tests.integration.servers import Server, start_server

pytestmark = pytest.mark.integration

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
CALLERS = 16


def retry_concurrently(urls: list[str], key: str, body: dict) -> tuple[list[int], list[httpx.Response]]:
    """CALLERS clients, released together, post `body` with `key`, each to the next of `urls` on a connection of
    its own; a 409 (in progress) is retried after its Retry-After. The first status each got, and the final
    answers."""
    start = threading.Barrier(CALLERS)
    first: list[int] = [0] * CALLERS
    final: list[httpx.Response | None] = [None] * CALLERS

    def call(i: int) -> None:
        url = f"{urls[i % len(urls)]}/v1/assessments"
        with httpx.Client(timeout=60) as http:
            start.wait()
            r = http.post(url, json=body, headers={KEY: key})
            first[i] = r.status_code
            for _ in range(30):
                if r.status_code != 409:
                    break
                time.sleep(float(r.headers["Retry-After"]))
                r = http.post(url, json=body, headers={KEY: key})
            final[i] = r

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = [r for r in final if r is not None]
    assert len(answers) == CALLERS
    return first, answers


def assert_one_answer(first: list[int], answers: list[httpx.Response]) -> str:
    """Every caller got the one assessment: 201, the same id and bytes, all but one replayed. Its id."""
    assert set(first) <= {201, 409}, first
    assert [r.status_code for r in answers] == [201] * CALLERS, [r.text[:300] for r in answers if r.status_code != 201]
    ids = {r.json()["assessment_id"] for r in answers}
    assert len(ids) == 1, ids
    assert len({r.content for r in answers}) == 1
    assert sorted(r.headers.get(REPLAYED, "") for r in answers) == [""] + ["true"] * (CALLERS - 1)
    return ids.pop()


def stop(*servers: Server) -> None:
    """SIGTERM: each process flushes its decision log into the database before it exits."""
    for server in servers:
        server.stop_gracefully()


def test_concurrent_retries_over_two_processes_on_postgresql_record_one_assessment(tmp_path, postgres_url):
    env = {"DATABASE_URL": postgres_url}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first_server = start_server(tmp_path / "a", env=env)
    second_server = start_server(tmp_path / "b", env={**env, "RULESET_ON_START": "database"})
    urls = [first_server.url, second_server.url]
    key = str(uuid.uuid4())
    try:
        # about half a second an evaluation: the callers that do not win the key wait for the one that did
        first, answers = retry_concurrently(urls, key, heavy("Idempotent Group"))
        assessment_id = assert_one_answer(first, answers)
        for url in urls:  # either process replays it, and refuses the key for another request
            with httpx.Client(base_url=url, timeout=60) as http:
                again = http.post("/v1/assessments", json=heavy("Idempotent Group"), headers={KEY: key})
                assert again.status_code == 201 and again.headers[REPLAYED] == "true"
                assert again.content == answers[0].content
                other = http.post("/v1/assessments", json=make_profile(), headers={KEY: key})
                assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
    finally:
        stop(first_server, second_server)
    engine = create_engine(normalise_url(postgres_url))
    try:
        with engine.connect() as conn:
            stored = list(conn.execute(text("SELECT id FROM assessment")).scalars())
            keys = list(conn.execute(text("SELECT state, status FROM idempotency_key WHERE key = :k"), {"k": key}))
    finally:
        engine.dispose()
    assert stored == [assessment_id]
    assert [tuple(row) for row in keys] == [("done", 201)]


def test_concurrent_retries_over_two_workers_on_sqlite_record_one_assessment(tmp_path):
    server = start_server(tmp_path, env={"WORKERS": "2"})
    key = str(uuid.uuid4())
    try:
        first, answers = retry_concurrently([server.url], key, heavy("Idempotent Group"))
        assessment_id = assert_one_answer(first, answers)
    finally:
        stop(server)
    with sqlite3.connect(tmp_path / "service.db") as conn:
        stored = [row[0] for row in conn.execute("SELECT id FROM assessment")]
    assert stored == [assessment_id]


def test_with_the_database_unreachable_a_key_cannot_be_decided(tmp_path: Path):
    pg = PrivatePostgres()
    try:
        pg.start()
        pg.wait_ready()
        server = start_server(tmp_path, env={"DATABASE_URL": pg.url})
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                key = {KEY: str(uuid.uuid4())}
                answered = http.post("/v1/assessments", json=make_profile(), headers=key)
                assert answered.status_code == 201, answered.text
                pg.stop("fast")
                for headers in (key, {KEY: str(uuid.uuid4())}):
                    refused = http.post("/v1/assessments", json=make_profile(), headers=headers)
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["Retry-After"] and refused.json()["status"] == 503
                unkeyed = http.post("/v1/assessments", json=make_profile())  # the decision log buffers it
                assert unkeyed.status_code == 201, unkeyed.text
                pg.start()
                pg.wait_ready()
                deadline = time.monotonic() + 30
                while True:  # the pool's connections were cut: the first requests may still find one dead
                    again = http.post("/v1/assessments", json=make_profile(), headers=key)
                    if again.status_code != 503 or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                assert again.status_code == 201 and again.headers[REPLAYED] == "true", again.text
                assert again.content == answered.content
        finally:
            server.stop_gracefully()
    finally:
        pg.remove()
