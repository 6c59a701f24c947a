"""The change webhook through a running application (SQLite; PostgreSQL too when TEST_DATABASE_URL is set) and a
real HTTP receiver on loopback: an activation's change events arrive signed (checked with the Standard Webhooks
library and by hand, per the spec), in order, retried whole until the receiver accepts them, and the operator's
status says how far delivery is."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import standardwebhooks

from tests.api.test_impact import LICENSED_CDN, UNLICENSED_CDN, assess
from tests.api.test_rulesets import retitled, rule_files
from tests.helpers import bearer, start_app

SECRET = "whsec_" + base64.b64encode(b"change-webhook-test-key-0123456789").decode()
OPERATOR = bearer("operator")


@dataclass
class Delivery:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An HTTP receiver on loopback that answers each POST with the next scripted status (then 200) and keeps
    what it was sent."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> Iterator[str]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status, extra = receiver.script.pop(0) if receiver.script else (200, {})
                    receiver.deliveries.append(Delivery(time.monotonic(), dict(self.headers), body, status))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://user:password@127.0.0.1:{server.server_address[1]}/hooks/compliance?token=t"
        finally:
            server.shutdown()
            server.server_close()

    def accepted(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.status == 200]


@pytest.fixture(scope="module")
def receiver(database_url: str) -> Receiver:
    """One receiver per database the module runs on."""
    return Receiver()


@pytest.fixture(scope="module")
def receiver_url(receiver: Receiver) -> Iterator[str]:
    yield from receiver.serve()


@pytest.fixture(scope="module")
def hooked_app(database_url: str, receiver_url: str) -> Iterator[Any]:
    from service.main import shutdown

    application = start_app(database_url, change_webhook_url=receiver_url, change_webhook_secret=SECRET,
                            change_webhook_max_backoff_seconds=2, impact_poll_seconds=0.1)
    yield application
    shutdown(application)


@pytest.fixture
async def hooked(hooked_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hooked_app), base_url="http://testserver") as c:
        yield c


def signed_by_hand(headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks signature, computed here from the spec: base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return expected in headers["webhook-signature"].split(" ")


async def failed_deliveries(client: httpx.AsyncClient) -> float:
    """The failed-delivery counter of /metrics (it counts for the process, over every test)."""
    found = re.search(r'^compliance_change_webhook_deliveries_total\{outcome="failed"\} (\S+)$',
                      (await client.get("/metrics")).text, flags=re.M)
    return float(found.group(1)) if found else 0.0


async def wait_for(predicate: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        await asyncio.sleep(0.05)


async def test_an_activation_reaches_the_webhook_signed_in_order_and_retried_until_accepted(
        hooked, hooked_app, receiver: Receiver):
    failed_before = await failed_deliveries(hooked)
    await assess(hooked, UNLICENSED_CDN, "hook-1")
    await assess(hooked, UNLICENSED_CDN, "hook-2")
    await assess(hooked, LICENSED_CDN, "hook-3")  # not concerned by the retitled rule: no event
    assert hooked_app.state.journal.wait_flushed()
    start = (await hooked.get("/v1/changes", params={"limit": 1000})).json()["next_since"]
    with receiver.lock:
        receiver.script[:] = [(500, {}), (503, {"Retry-After": "1"})]  # then 200
    old = (await hooked.get("/v1/rulesets/active")).json()["version"]
    upload = await hooked.post("/v1/rulesets", json={"files": retitled(rule_files(), "Retitled (webhook)")},
                               headers=OPERATOR)
    new = upload.json()["version"]
    assert (await hooked.post(f"/v1/rulesets/{new}/activate", headers=OPERATOR)).status_code == 200

    await wait_for(lambda: receiver.accepted(), "an accepted delivery")
    feed = (await hooked.get("/v1/changes", params={"since": start})).json()
    assert {e["business"] for e in feed["events"]} == {"hook-1", "hook-2"}

    attempts = receiver.deliveries
    assert [d.status for d in attempts] == [500, 503, 200]
    verifier = standardwebhooks.Webhook(SECRET)
    for attempt in attempts:
        assert attempt.headers["Content-Type"] == "application/json"
        assert attempt.headers["User-Agent"].startswith("compliance-engine/")
        assert signed_by_hand(attempt.headers, attempt.body)
        sent = verifier.verify(attempt.body, attempt.headers)  # raises on a bad signature or a stale timestamp
        assert sent["type"] == "compliance.obligations.changed"
        # the feed's own page: the same events a reader of GET /v1/changes gets, with its next cursor
        assert sent["data"] == feed
        assert attempt.headers["webhook-id"] == (f"changes-{feed['events'][0]['cursor']}-"
                                                 f"{feed['events'][-1]['cursor']}")
    assert attempts[2].at - attempts[1].at >= 0.9  # the receiver's Retry-After: 1 was honoured

    forged = dict(attempts[2].headers, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(attempts[2].body, forged)

    status = (await hooked.get("/v1/changes/webhook", headers=OPERATOR)).json()
    assert status["configured"] is True
    assert status["url"].endswith("/hooks/compliance") and "password" not in status["url"] and "?" not in status["url"]
    assert status["delivered"] == feed["next_since"] == status["latest"] and status["behind"] == 0
    assert status["failures"] == 0 and status["last_status"] == 200 and status["last_error"] is None
    assert status["next_attempt_at"] is None and status["last_delivered_at"] is not None
    assert await failed_deliveries(hooked) == failed_before + 2
    assert (await hooked.post(f"/v1/rulesets/{old}/activate", headers=OPERATOR)).status_code == 200  # back

    # going back publishes the reverse change for the same two businesses: a second batch, after the first
    await wait_for(lambda: len(receiver.accepted()) == 2, "the rollback's delivery")
    second = json.loads(receiver.accepted()[1].body)["data"]
    assert {e["business"] for e in second["events"]} == {"hook-1", "hook-2"}
    assert second["events"][0]["cursor"] > feed["next_since"]
    assert all(e["version"] == old for e in second["events"])


async def test_a_receiver_that_keeps_failing_holds_the_events_and_says_why(hooked, hooked_app, receiver: Receiver):
    await wait_for(lambda: _status(hooked_app)["behind"] == 0, "nothing left to send")
    before = len(receiver.deliveries)
    with receiver.lock:
        receiver.script[:] = [(500, {})] * 3
    await assess(hooked, UNLICENSED_CDN, "hook-4")
    assert hooked_app.state.journal.wait_flushed()
    active = (await hooked.get("/v1/rulesets/active")).json()["version"]
    new = (await hooked.post("/v1/rulesets", json={"files": retitled(rule_files(), "Retitled again (webhook)")},
                             headers=OPERATOR)).json()["version"]
    assert (await hooked.post(f"/v1/rulesets/{new}/activate", headers=OPERATOR)).status_code == 200

    def status() -> dict[str, Any]:
        return _status(hooked_app)

    await wait_for(lambda: status()["failures"] >= 2, "two failed attempts")
    waiting = status()
    assert waiting["behind"] >= 3 and waiting["delivered"] < waiting["latest"]
    assert waiting["last_status"] == 500 and "answered 500" in waiting["last_error"]
    assert dt.datetime.fromisoformat(waiting["next_attempt_at"]) > dt.datetime.fromisoformat(
        waiting["last_attempt_at"])
    await wait_for(lambda: status()["behind"] == 0, "the batch accepted after the receiver recovers")
    sent = receiver.deliveries[before:]
    assert [d.status for d in sent] == [500, 500, 500, 200]
    assert len({d.headers["webhook-id"] for d in sent}) == 1 and len({d.body for d in sent}) == 1
    assert (await hooked.post(f"/v1/rulesets/{active}/activate", headers=OPERATOR)).status_code == 200
    await wait_for(lambda: status()["behind"] == 0 and status()["latest"] > waiting["latest"], "the rollback sent")


def _status(app: Any) -> dict[str, Any]:
    from service.impact.views import WebhookStatus
    from service.store import webhook_cursor

    return WebhookStatus.of(app.state.settings.change_webhook_url, *webhook_cursor.status(app.state.db)).model_dump(
        mode="json")


async def test_the_webhook_status_is_for_operators_and_says_when_none_is_configured(client):
    assert (await client.get("/v1/changes/webhook")).status_code == 401
    assert (await client.get("/v1/changes/webhook", headers=bearer("reader"))).status_code == 403
    r = await client.get("/v1/changes/webhook", headers=OPERATOR)
    assert r.status_code == 200, r.text
    assert r.json()["configured"] is False and r.json()["url"] is None and r.json()["behind"] >= 0
