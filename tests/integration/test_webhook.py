"""The change webhook sent by two real server processes on one PostgreSQL database: one sends at a time, every event
reaches the receiver in order and, once accepted, once; when the sender is SIGKILLed mid-retry the other process
takes the batch over after the lease and sends it whole (same webhook-id)."""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import pytest
import standardwebhooks

from bench.impact import seed
from tests.api.test_rulesets import retitled, rule_files
from tests.api.test_webhook import SECRET, Receiver
from tests.helpers import bearer
from tests.integration.test_impact import pid_of, two_servers

pytestmark = pytest.mark.integration

TIMEOUT_SECONDS = 1  # the sender's lease is 3 x this + 10 s


def status(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/v1/changes/webhook", headers=bearer("operator"), timeout=10).json())


def feed(url: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    since = 0
    while True:
        page = httpx.get(f"{url}/v1/changes", params={"since": since, "limit": 1000}, timeout=30).json()
        if not page["events"]:
            return events
        events += page["events"]
        since = page["next_since"]


def wait(predicate: Any, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.1)


def test_one_process_sends_every_event_once_in_order_and_a_killed_senders_batch_is_taken_over(tmp_path,
                                                                                               postgres_url):
    receiver = Receiver(script=[(500, {})] * 1000)  # refuse until the sender is killed
    served = receiver.serve()
    receiver_url = next(served)
    first, second = two_servers(tmp_path, postgres_url, CHANGE_WEBHOOK_URL=receiver_url,
                                CHANGE_WEBHOOK_SECRET=SECRET, CHANGE_WEBHOOK_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
                                CHANGE_WEBHOOK_MAX_BACKOFF_SECONDS="1")
    try:
        servers = {pid_of(first.url): first, pid_of(second.url): second}
        seed(os.environ["TEST_DATABASE_URL"], 600)
        with httpx.Client(base_url=first.url, headers=bearer("operator"), timeout=120) as http:
            upload = http.post("/v1/rulesets", json={"files": retitled(rule_files(), "Retitled (webhook)")})
            assert http.post(f"/v1/rulesets/{upload.json()['version']}/activate").status_code == 200
        wait(lambda: len(receiver.deliveries) >= 2, "two refused attempts", 120)
        sender = status(first.url)["sending_process"]
        assert sender is not None and status(second.url)["sending_process"] == sender  # one sender, seen by both
        killed = servers.pop(int(sender.split(":")[1]))
        os.killpg(killed.process.pid, signal.SIGKILL)
        killed.process.wait(10)
        with receiver.lock:
            refused = len(receiver.deliveries)
            receiver.script.clear()  # the receiver accepts from now on
        survivor_pid, survivor = next(iter(servers.items()))
        wait(lambda: status(survivor.url)["behind"] == 0, "every event delivered by the survivor", 90)
        published = feed(survivor.url)
        final = status(survivor.url)
    finally:
        first.stop(signal.SIGKILL)
        second.stop(signal.SIGKILL)
        next(served, None)  # the receiver stops

    assert len(published) > 100  # more than one batch
    assert final["delivered"] == published[-1]["cursor"] and final["failures"] == 0
    assert int(final["sending_process"].split(":")[1]) == survivor_pid
    verifier = standardwebhooks.Webhook(SECRET)
    accepted = receiver.accepted()
    sent_events = [e for d in accepted for e in verifier.verify(d.body, d.headers)["data"]["events"]]
    assert [e["cursor"] for e in sent_events] == [e["cursor"] for e in published]  # every event once, in order
    assert sent_events == published
    # the survivor's first batch is the one the killed sender was retrying: the same webhook-id and bytes
    failed = receiver.deliveries[:refused]
    assert {d.headers["webhook-id"] for d in failed} == {accepted[0].headers["webhook-id"]}
    assert {d.body for d in failed} == {accepted[0].body}
