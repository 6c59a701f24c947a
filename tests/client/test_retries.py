"""Retries, timeouts and idempotency keys, against servers that misbehave on loopback (tests/client/loopback.py),
with the real server behind them where an attempt gets through; sync and async (`connect`)."""
from __future__ import annotations

import email.utils
import time

import httpx
import orjson
import pytest

from service.client import (
    Conflict,
    ConnectionFailed,
    ProblemResponse,
    RetryPolicy,
    ServiceUnavailable,
    UnexpectedResponse,
)
from tests.client.loopback import DROP, HANG, Answer, Forward, LoopbackServer, problem
from tests.helpers import TOKENS, make_profile

pytestmark = pytest.mark.integration

QUICK = RetryPolicy(attempts=3, backoff=0.02, max_backoff=0.05)
UNAVAILABLE = problem(503, "Service unavailable", "the decision log is full; retry later", Retry_After="1")
IN_PROGRESS = problem(409, "Conflict", "a request with this Idempotency-Key is still being answered",
                      "/problems/idempotency-in-progress", Retry_After="0")


def gaps(fake: LoopbackServer) -> list[float]:
    """Seconds between the requests the fake received."""
    return [b.at - a.at for a, b in zip(fake.received, fake.received[1:], strict=False)]


def test_503_twice_waits_out_retry_after_and_resends_the_same_key(server, connect):
    with LoopbackServer(UNAVAILABLE, UNAVAILABLE, Forward(server.url)) as fake:
        client = connect(fake.url, retry=RetryPolicy(attempts=4, backoff=0.02))
        result = client.assess(make_profile())
        assert result.status == 201 and result.attempts == 3 and result.value.obligations
        assert fake.keys() == [result.idempotency_key] * 3 and result.idempotency_key
        assert len({r.body for r in fake.received}) == 1  # the same request each time
        assert all(1.0 <= gap < 2.5 for gap in gaps(fake)), gaps(fake)  # Retry-After: 1, not the 0.02 s backoff
        assert client.assessment(result.value.assessment_id).value == result.value


def test_503_for_ever_raises_service_unavailable_after_the_attempts_allowed(connect):
    gone = problem(503, "Service unavailable", "the database is unreachable; retry later", Retry_After="0")
    with LoopbackServer(gone) as fake:
        client = connect(fake.url, TOKENS["operator"], retry=QUICK)
        with pytest.raises(ServiceUnavailable) as failed:
            client.assess(make_profile())
        assert len(fake.received) == 3 and len(set(fake.keys())) == 1
        assert (failed.value.status, failed.value.detail) == (503, "the database is unreachable; retry later")
        assert failed.value.request_id == "fake-503"
        with pytest.raises(ServiceUnavailable):
            client.rulesets()
        assert len(fake.received) == 6
        with pytest.raises(ServiceUnavailable):  # a write without a key: the 503 came from the server, not resent
            client.activate_ruleset("2026.01.01-1")
        assert len(fake.received) == 7


def test_retry_after_as_an_http_date_and_capped(connect):
    in_two_seconds = email.utils.formatdate(time.time() + 2, usegmt=True)
    dated = problem(503, "Service unavailable", "busy", Retry_After=in_two_seconds)
    with LoopbackServer(dated, Answer(404)) as fake:
        with pytest.raises(ProblemResponse):
            connect(fake.url, retry=QUICK).rules()
        assert 0.5 <= gaps(fake)[0] < 3, gaps(fake)  # until the date (whole seconds), not the 0.02 s backoff
    an_hour = problem(503, "Service unavailable", "busy", Retry_After="3600")
    with LoopbackServer(an_hour) as fake:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            connect(fake.url, retry=RetryPolicy(attempts=3, max_retry_after=0.1)).rules()
        assert len(fake.received) == 3 and time.monotonic() - started < 2


def test_a_dropped_connection_is_retried_with_the_same_key_then_raises_connection_failed(connect):
    with LoopbackServer(DROP) as fake:
        client = connect(fake.url, retry=QUICK)
        with pytest.raises(ConnectionFailed) as failed:
            client.assess(make_profile(), idempotency_key="order-4711")
        assert failed.value.attempts == 3 and isinstance(failed.value.error, httpx.RemoteProtocolError)
        assert failed.value.__cause__ is failed.value.error
        assert fake.keys() == ["order-4711"] * 3
        with pytest.raises(ConnectionFailed):
            client.batch([make_profile()])
        batch_keys = fake.keys()[3:]
        assert len(batch_keys) == 3 and len(set(batch_keys)) == 1 and batch_keys[0] not in (None, "order-4711")


def test_a_dropped_connection_then_the_real_server_answers(server, connect):
    with LoopbackServer(DROP, DROP, Forward(server.url)) as fake:
        result = connect(fake.url, retry=QUICK).assess(make_profile())
        assert result.status == 201 and result.attempts == 3
        assert fake.keys() == [result.idempotency_key] * 3
        assert result.ruleset_version == result.value.ruleset.version


@pytest.mark.parametrize("step", [DROP, HANG])
def test_a_write_that_may_have_reached_the_server_is_not_resent(server, connect, step):
    with LoopbackServer(step) as fake:
        client = connect(fake.url, TOKENS["operator"], timeout=0.5, retry=QUICK)
        with pytest.raises(ConnectionFailed) as activating:
            client.activate_ruleset("2026.01.01-1")
        assert activating.value.attempts == 1 and len(fake.received) == 1
        with pytest.raises(ConnectionFailed) as unkeyed:
            client.assess(make_profile(), idempotency_key=False)
        assert unkeyed.value.attempts == 1 and fake.keys()[1:] == [None]
        with pytest.raises(ConnectionFailed) as uploading:
            client.upload_ruleset({"instruments.yaml": "[]"})
        assert uploading.value.attempts == 1 and len(fake.received) == 3


def test_a_write_is_resent_when_the_connection_was_refused(server, connect):
    active = connect(server.url).active_ruleset().value.version
    with LoopbackServer(Forward(server.url), refuse_for=0.3) as fake:
        client = connect(fake.url, TOKENS["operator"], retry=RetryPolicy(attempts=20, backoff=0.05, max_backoff=0.1))
        result = client.activate_ruleset(active)
        assert result.value.version == active and result.attempts > 1
        assert len(fake.received) == 1  # refused connections carried nothing: the write arrived once


def test_a_server_that_never_answers_times_out_on_each_attempt(connect):
    with LoopbackServer(HANG) as fake:
        client = connect(fake.url, timeout=httpx.Timeout(0.3, connect=1.0), retry=RetryPolicy(attempts=2,
                                                                                               backoff=0.02))
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as failed:
            client.rules()
        elapsed = time.monotonic() - started
        assert isinstance(failed.value.error, httpx.ReadTimeout) and failed.value.attempts == 2
        assert len(fake.received) == 2 and 0.6 <= elapsed < 3.0, elapsed


def test_in_progress_conflict_is_waited_for_and_a_replay_is_reported(server, connect):
    with LoopbackServer(IN_PROGRESS, Forward(server.url, added={"Idempotent-Replayed": "true"})) as fake:
        result = connect(fake.url, retry=QUICK).assess(make_profile())
        assert result.replayed and result.attempts == 2 and result.status == 201
        assert fake.keys() == [result.idempotency_key] * 2
    other = problem(409, "Conflict", "something else")
    with LoopbackServer(other) as fake:
        with pytest.raises(Conflict):
            connect(fake.url, retry=QUICK).assess(make_profile())
        assert len(fake.received) == 1


def test_answers_other_than_the_services_own(server, connect):
    rules = orjson.loads(httpx.get(f"{server.url}/v1/rules").content)
    rules["added_by_a_newer_server"] = True
    rules["rules"][0]["also_new"] = {"nested": 1}
    newer = Answer(200, orjson.dumps(rules), {"Content-Type": "application/json"})
    page = Answer(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"})
    with LoopbackServer(newer, Answer(200, b'{"unexpected": true}'), page) as fake:
        client = connect(fake.url, retry=QUICK)
        assert client.rules().value.count == rules["count"]  # keys a newer server adds are ignored
        with pytest.raises(UnexpectedResponse) as unexpected:
            client.rules()
        assert unexpected.value.status == 200
        with pytest.raises(ProblemResponse) as gateway:
            client.rules()
        assert type(gateway.value) is ProblemResponse and gateway.value.status == 502 and gateway.value.document is None
        assert "Bad gateway" in gateway.value.detail and len(fake.received) == 3
