"""Idempotency-Key on POST /v1/assessments and /batch, through the ASGI app on a fresh database (SQLite, and
PostgreSQL in CI): a retry replays the first answer and records nothing; the key refuses another request; an
answer that is not 2xx frees the key. Several processes on one database: tests/integration/test_idempotency.py."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.main import shutdown
from tests.helpers import bearer, limits, make_profile, recorded, refuse_record, start_app

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT = ("content-type", "location", "x-ruleset-version", "x-assessment-subject")


def new_key() -> dict[str, str]:
    return {KEY: str(uuid.uuid4())}


def assert_replayed(first: httpx.Response, again: httpx.Response) -> None:
    """`again` is `first` as replayed: same status, body and kept headers, marked as replayed."""
    assert REPLAYED not in first.headers
    assert again.headers.get(REPLAYED) == "true"
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert [again.headers.get(h) for h in KEPT] == [first.headers.get(h) for h in KEPT]


def assert_key_problem(r: httpx.Response, status: int, type_: str, *fragments: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = r.json()
    assert problem["type"] == type_, problem
    assert [e["path"] for e in problem["errors"]] == ["headers.idempotency-key"], problem
    for fragment in fragments:
        assert fragment in problem["errors"][0]["message"], problem
    return problem


async def test_a_retry_gets_the_first_answer_back_and_records_nothing(client, app):
    before = recorded(app)
    key = new_key()
    first = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert_replayed(first, again)
    assert again.json()["assessment_id"] == first.json()["assessment_id"]
    # the same JSON re-encoded (other key order, white space) is the same request
    text = json.dumps(dict(reversed(make_profile().items())), indent=2)
    reordered = await client.post("/v1/assessments", content=text.encode(),
                                  headers={**key, "content-type": "application/json"})
    assert_replayed(first, reordered)
    assert recorded(app) == before + 1, "one assessment recorded for three requests with one key"
    read_back = await client.get(first.headers["Location"])
    assert read_back.status_code == 200 and read_back.content == first.content


async def test_a_retry_with_a_subject_gets_the_subject_back_and_another_subject_is_another_request(client, app):
    before = recorded(app)
    key = new_key()
    first = await client.post("/v1/assessments?subject=customer-42", json=make_profile(), headers=key)
    assert first.status_code == 201 and first.headers["x-assessment-subject"] == "customer-42"
    again = await client.post("/v1/assessments?subject=customer-42", json=make_profile(), headers=key)
    assert_replayed(first, again)
    other = await client.post("/v1/assessments?subject=customer-43", json=make_profile(), headers=key)
    assert other.status_code == 422 and "idempotency-key-reused" in other.json()["type"]
    assert recorded(app) == before + 1


async def test_the_same_key_with_another_request_is_422_and_records_nothing(client, app):
    key = new_key()
    first = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert first.status_code == 201
    before = recorded(app)
    other_body = await client.post("/v1/assessments", json=make_profile(as_of="2019-01-01"), headers=key)
    assert_key_problem(other_body, 422, "/problems/idempotency-key-reused", "different request", "new key")
    other_query = await client.post("/v1/assessments?horizon_days=30", json=make_profile(), headers=key)
    assert_key_problem(other_query, 422, "/problems/idempotency-key-reused")
    not_recorded = await client.post("/v1/assessments?record=false", json=make_profile(), headers=key)
    assert_key_problem(not_recorded, 422, "/problems/idempotency-key-reused")
    assert recorded(app) == before
    again = await client.post("/v1/assessments", json=make_profile(), headers=key)  # the key still holds its answer
    assert_replayed(first, again)


@pytest.mark.parametrize("value", [b"", b"x" * 256, "cl\u00e9".encode(), b"tab\there", b" padded"])
async def test_a_key_that_is_not_printable_ascii_of_1_to_255_is_422_naming_the_header(client, app, value):
    before = recorded(app)
    r = await client.post("/v1/assessments", json=make_profile(), headers={KEY: value})
    assert_key_problem(r, 422, "/problems/invalid-request", "1 to 255 printable ASCII characters")
    assert recorded(app) == before


async def test_a_key_sent_twice_is_422(client, app):
    before = recorded(app)
    r = await client.post("/v1/assessments", json=make_profile(), headers=[(KEY, "one"), (KEY, "two")])
    assert_key_problem(r, 422, "/problems/invalid-request", "more than once")
    assert recorded(app) == before


async def test_the_longest_key_is_taken(client):
    key = {KEY: "~" + "k with spaces " * 18 + "k!"}
    assert len(key[KEY]) == 255
    first = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert first.status_code == 201, first.text
    assert_replayed(first, await client.post("/v1/assessments", json=make_profile(), headers=key))


async def test_a_refused_profile_does_not_use_the_key_up(client, app):
    key = new_key()
    invalid = await client.post("/v1/assessments", json={**make_profile(), "extra": 1}, headers=key)
    assert invalid.status_code == 422 and invalid.json()["type"] == "/problems/invalid-request"
    with limits(app, max_profile_facts=1):  # refused inside the handler, once the key is claimed
        too_large = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert too_large.status_code == 422 and too_large.json()["type"] == "/problems/profile-too-large"
    before = recorded(app)
    r = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert r.status_code == 201 and REPLAYED not in r.headers, r.text
    assert recorded(app) == before + 1


async def test_a_503_frees_the_key_and_the_retry_is_recorded_once(client, app, monkeypatch):
    key = new_key()
    before = recorded(app)
    refuse_record(app, monkeypatch, nth=1)
    refused = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert refused.status_code == 503 and refused.headers["Retry-After"], refused.text
    retried = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert retried.status_code == 201 and REPLAYED not in retried.headers, retried.text
    assert_replayed(retried, await client.post("/v1/assessments", json=make_profile(), headers=key))
    assert recorded(app) == before + 1


async def test_concurrent_retries_in_one_process_record_one_assessment(client, app):
    key = new_key()
    before = recorded(app)
    answers = await asyncio.gather(*(client.post("/v1/assessments", json=make_profile(as_of="2018-03-01"),
                                                 headers=key) for _ in range(12)))
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers if r.status_code != 201]
    assert len({r.json()["assessment_id"] for r in answers}) == 1
    assert sum(REPLAYED not in r.headers for r in answers) == 1
    assert recorded(app) == before + 1


@contextlib.asynccontextmanager
async def first_request_held(client: httpx.AsyncClient, app, monkeypatch,
                             headers: dict[str, str]) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task]]:
    """The first request with `headers`, held between its evaluation and its answer: the decision log takes its
    record but says it is durable only once the yielded event is set (the yielded task is the request)."""
    journal = app.state.journal
    original = journal.submit
    submitted, durable = asyncio.Event(), asyncio.Event()

    def submit(record: Any, template: str, loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Future[None]:
        written = original(record, template, loop)
        submitted.set()

        async def later() -> None:
            await durable.wait()
            await written

        return asyncio.ensure_future(later())

    monkeypatch.setattr(journal, "submit", submit)
    first = asyncio.create_task(client.post("/v1/assessments", json=make_profile(), headers=headers))
    await submitted.wait()
    try:
        yield durable, first
    finally:
        durable.set()


async def test_a_retry_while_the_first_is_answered_waits_for_its_answer(client, app, monkeypatch):
    key = new_key()
    before = recorded(app)
    async with first_request_held(client, app, monkeypatch, key) as (durable, first):
        retry = asyncio.create_task(client.post("/v1/assessments", json=make_profile(), headers=key))
        await asyncio.sleep(0.3)
        assert not retry.done(), "the retry waits while the first request holds the key"
        durable.set()
        answered, replayed = await first, await retry
    assert answered.status_code == 201, answered.text
    assert_replayed(answered, replayed)
    assert recorded(app) == before + 1


async def test_a_retry_still_waiting_after_the_evaluation_timeout_gets_409(client, app, monkeypatch):
    key = new_key()
    before = recorded(app)
    async with first_request_held(client, app, monkeypatch, key) as (durable, first):
        started = time.monotonic()
        with limits(app, timeout_ms=400):
            busy = await client.post("/v1/assessments", json=make_profile(), headers=key)
        waited = time.monotonic() - started
        assert_key_problem(busy, 409, "/problems/idempotency-in-progress", "still being answered")
        assert busy.headers["Retry-After"] == "1"
        assert 0.2 <= waited < 3, waited
        durable.set()
        answered = await first
    assert answered.status_code == 201
    assert_replayed(answered, await client.post("/v1/assessments", json=make_profile(), headers=key))
    assert recorded(app) == before + 1


async def test_an_answer_the_database_cannot_keep_still_goes_out_and_the_key_stays_claimed(client, app,
                                                                                           monkeypatch):
    from sqlalchemy.exc import OperationalError

    def unreachable(*args: Any) -> bool:
        raise OperationalError("UPDATE idempotency_key", {}, ConnectionRefusedError("the database went away"))

    key = new_key()
    before = recorded(app)
    monkeypatch.setattr(app.state.idempotency, "complete", unreachable)
    answered = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert answered.status_code == 201 and REPLAYED not in answered.headers, answered.text
    monkeypatch.undo()
    with limits(app, timeout_ms=200):  # the claim holds until it is stale: a retry meanwhile is told to wait
        busy = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert_key_problem(busy, 409, "/problems/idempotency-in-progress")
    assert recorded(app) == before + 1


async def test_record_false_answers_are_replayed_too(client, app):
    key = new_key()
    before = recorded(app)
    first = await client.post("/v1/assessments?record=false", json=make_profile(), headers=key)
    assert first.status_code == 200 and "location" not in first.headers
    assert_replayed(first, await client.post("/v1/assessments?record=false", json=make_profile(), headers=key))
    assert recorded(app) == before


async def test_keys_belong_to_their_caller_and_their_route(client, app):
    key = new_key()
    before = recorded(app)
    mine = await client.post("/v1/assessments", json=make_profile(), headers={**key, **bearer("evaluator")})
    theirs = await client.post("/v1/assessments", json=make_profile(), headers={**key, **bearer("operator")})
    anonymous = await client.post("/v1/assessments", json=make_profile(as_of="2019-06-01"), headers=key)
    batch = await client.post("/v1/assessments/batch", json={"profiles": [make_profile()]},
                              headers={**key, **bearer("evaluator")})
    assert [r.status_code for r in (mine, theirs, anonymous, batch)] == [201, 201, 201, 200]
    assert not any(REPLAYED in r.headers for r in (mine, theirs, anonymous, batch))
    ids = {mine.json()["assessment_id"], theirs.json()["assessment_id"], anonymous.json()["assessment_id"],
           batch.json()["items"][0]["assessment_id"]}
    assert len(ids) == 4
    assert recorded(app) == before + 4


async def test_a_batch_is_replayed_whole_and_recorded_once(client, app):
    key = new_key()
    before = recorded(app)
    body = {"profiles": [make_profile(), {"extra": 1}, make_profile(as_of="2017-02-01")]}
    first = await client.post("/v1/assessments/batch", json=body, headers=key)
    assert first.status_code == 200, first.text
    assert [i["status"] for i in first.json()["items"]] == [201, 422, 201]
    assert recorded(app) == before + 2
    again = await client.post("/v1/assessments/batch", json=body, headers=key)
    assert_replayed(first, again)
    assert recorded(app) == before + 2
    other = await client.post("/v1/assessments/batch", json={"profiles": body["profiles"][:1]}, headers=key)
    assert_key_problem(other, 422, "/problems/idempotency-key-reused")
    assert recorded(app) == before + 2


@pytest.fixture
async def short_lived(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An application whose keys hold for one second (IDEMPOTENCY_RETENTION_HOURS=1/3600)."""
    application = start_app(database_url, idempotency_retention_hours=1 / 3600)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as c:
            yield c, application
    finally:
        shutdown(application)


async def test_after_the_retention_window_a_key_counts_as_new(short_lived):
    client, app = short_lived
    key = new_key()
    first = await client.post("/v1/assessments", json=make_profile(), headers=key)
    assert_replayed(first, await client.post("/v1/assessments", json=make_profile(), headers=key))
    await asyncio.sleep(1.2)
    before = recorded(app)
    other = await client.post("/v1/assessments", json=make_profile(as_of="2019-01-01"), headers=key)
    assert other.status_code == 201 and REPLAYED not in other.headers, other.text
    assert other.json()["assessment_id"] != first.json()["assessment_id"]
    assert_replayed(other, await client.post("/v1/assessments", json=make_profile(as_of="2019-01-01"), headers=key))
    assert recorded(app) == before + 1


def test_the_header_and_its_problems_are_in_the_openapi_description(app):
    spec = app.openapi()
    for path in ("/v1/assessments", "/v1/assessments/batch"):
        operation = spec["paths"][path]["post"]
        header = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == KEY]
        assert len(header) == 1 and header[0]["schema"]["maxLength"] == 255, operation["parameters"]
        assert "/problems/idempotency-key-reused" in header[0]["description"]
        assert "/problems/idempotency-in-progress" in operation["responses"]["409"]["description"]
