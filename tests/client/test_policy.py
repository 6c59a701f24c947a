"""The retry policy's arithmetic and each call's safety, without a network (the behaviour over real sockets is in
test_retries.py)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service.client import RetryPolicy, Safety, calls
from service.client.retry import parse_retry_after
from tests.helpers import RULES, make_profile

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), (" 0 ", 0.0), ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0), ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
    ("-5", None), ("1.5", None), ("soon", None), ("", None),
])
def test_retry_after_is_seconds_or_an_http_date(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


def test_backoff_doubles_up_to_its_cap_less_a_jitter_of_up_to_half():
    steady = RetryPolicy(backoff=0.5, max_backoff=3.0, random=lambda: 0.0)
    assert [steady.pause(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = RetryPolicy(backoff=0.5, max_backoff=3.0, random=lambda: 0.999999)
    assert jittered.pause(3) == pytest.approx(1.0, abs=1e-5)  # half of the 2 s taken off at most
    assert steady.pause(1, "12") == 12.0 and RetryPolicy(max_retry_after=5).pause(1, "3600") == 5.0
    assert steady.pause(2, "not a number") == 1.0  # an unreadable Retry-After: the backoff
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(backoff=-1)


def test_each_call_says_whether_it_may_be_sent_again():
    keyed = calls.assess(make_profile())
    assert keyed.safety is Safety.KEYED and keyed.idempotency_key
    assert calls.assess(make_profile()).idempotency_key != keyed.idempotency_key  # one key per logical call
    assert calls.assess(make_profile(), idempotency_key="mine").idempotency_key == "mine"
    assert calls.assess(make_profile(), idempotency_key=False).safety is Safety.WRITE
    unrecorded = calls.assess(make_profile(), record=False, idempotency_key=False)
    assert unrecorded.safety is Safety.READ and unrecorded.params == {"record": "false"}
    assert calls.batch([make_profile()]).safety is Safety.KEYED
    assert {calls.compare(make_profile(), make_profile()).safety, calls.questions({}).safety,
            calls.preview_ruleset("v").safety, calls.rules().safety, calls.audit().safety, calls.impact("j").safety,
            calls.changes().safety, calls.webhook_status().safety} == {Safety.READ}
    assert {calls.activate_ruleset("v").safety, calls.reload_ruleset().safety,
            calls.upload_ruleset({"a.yaml": ""}).safety, calls.start_impact("v").safety} == {Safety.WRITE}
    named = calls.assess(make_profile(), subject="customer-42")
    assert named.params == {"subject": "customer-42"} and named.safety is Safety.KEYED


def test_an_uploaded_folder_travels_as_a_zip_and_ids_as_one_path_segment(tmp_path: Path):
    upload = calls.upload_ruleset(RULES)
    assert upload.headers["Content-Type"] == "application/zip" and upload.content
    (tmp_path / "rules.tar.gz").write_bytes(b"\x1f\x8b")
    assert calls.upload_ruleset(tmp_path / "rules.tar.gz").headers["Content-Type"] == "application/gzip"
    assert calls.ruleset("../audit").path == "/v1/rulesets/..%2Faudit"
    assert calls.rule("a/b?c").path == "/v1/rules/a%2Fb%3Fc"
