"""The change webhook: the change feed pushed to one receiver as it grows, signed, retried until accepted.

One thread in every server process; the one holding the cursor's lease in the database sends (service/store/
webhook.py), so every event goes out in order and, while the receiver keeps answering, once. Each request is a
batch of events in the change feed's own shape (`GET /v1/changes`), signed as Standard Webhooks prescribe
(https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp`, `webhook-signature` = HMAC-SHA256 of
"id.timestamp.body"), so a receiver verifies it with any Standard Webhooks library. The webhook-id names the
batch's first and last event, the same on every retry, so a receiver can drop a repeat.

A receiver that answers anything but 2xx, or does not answer within the timeout, gets the same batch again after
a pause that doubles from one second up to a ceiling (its Retry-After is honoured up to that ceiling). Nothing is
dropped: the events stay in the feed, and `GET /v1/changes/webhook` says how far delivery is and why it waits.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

import httpx
import orjson
import standardwebhooks
from sqlalchemy.exc import SQLAlchemyError

from service.client.retry import RetryPolicy
from service.impact.views import ChangeEventView, ChangeFeed
from service.metrics import WEBHOOK_DELIVERIES
from service.store import webhook_cursor as store
from service.store.db import Database
from service.store.tables import ChangeEvent

log = logging.getLogger("service.impact.webhook")

EVENT_TYPE = "compliance.obligations.changed"
BATCH = 100  # events in one request, as GET /v1/changes answers at most 1,000


def message_id(events: list[ChangeEvent]) -> str:
    """The webhook-id of a batch: its first and last cursor, so a retry carries the same id."""
    return f"changes-{events[0].id}-{events[-1].id}"


def payload(events: list[ChangeEvent]) -> bytes:
    """The body: Standard Webhooks' envelope (its timestamp: when the newest event was published) around the change
    feed's page, in the shape GET /v1/changes answers. It depends on the events only: a retry sends the same bytes."""
    feed = ChangeFeed(events=[ChangeEventView.of(e) for e in events], next_since=events[-1].id or 0)
    data = feed.model_dump(mode="json")
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": data["events"][-1]["at"], "data": data})


class Deliverer:
    def __init__(self, db: Database, url: str, secret: str, worker: str, timeout_seconds: float = 10.0,
                 max_backoff_seconds: float = 300.0, poll_seconds: float = 1.0, user_agent: str = "compliance-engine"):
        self.db = db
        self.url = url
        self.worker = worker
        self.signer = standardwebhooks.Webhook(secret)
        self.policy = RetryPolicy(backoff=1.0, max_backoff=max_backoff_seconds, max_retry_after=max_backoff_seconds)
        self.timeout_seconds = timeout_seconds
        # renewed before each request and outliving it (httpx's timeout bounds each phase: connect, send, read),
        # so no other process sends meanwhile; a killed sender's lease runs out soon after
        self.lease_seconds = 3 * timeout_seconds + 10
        self.poll_seconds = poll_seconds
        self.http = httpx.Client(timeout=timeout_seconds, follow_redirects=False,
                                 headers={"User-Agent": user_agent, "Content-Type": "application/json"})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0  # batches this process had accepted (for tests and logs)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="change-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds + 5)
        try:
            store.release(self.db, self.worker)
        except SQLAlchemyError:
            log.warning("could not hand back the change webhook's lease at shutdown; another process takes it over "
                        "after it runs out")
        self.http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.deliver_once()
            except SQLAlchemyError as exc:
                log.warning("change webhook: database unavailable (%s); retrying", type(exc).__name__)
                more = False
            except Exception:  # a sender that dies would stop the webhook for good: log and go on
                log.exception("change webhook failed; retrying")
                more = False
            if not more:
                self._stop.wait(self.poll_seconds)

    def deliver_once(self) -> bool:
        """Send the next batch if this process holds the cursor and one is due. Whether one was accepted (then
        the next may follow at once)."""
        cursor = store.take(self.db, self.worker, self.lease_seconds)
        if cursor is None:
            return False
        events = store.batch(self.db, cursor, BATCH)
        if not events:
            return False
        now = dt.datetime.now(dt.UTC)
        body, msg_id = payload(events), message_id(events)
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": self.signer.sign(msg_id, now, body)}
        status: int | None = None
        retry_after: str | None = None
        try:
            response = self.http.post(self.url, content=body, headers=headers)
            status, retry_after = response.status_code, response.headers.get("Retry-After")
            error = None if response.is_success else f"the receiver answered {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"no answer from the receiver ({type(exc).__name__}: {str(exc)[:200]})"
        last = events[-1].id or 0
        if error is None and status is not None:
            WEBHOOK_DELIVERIES.labels("ok").inc()
            if store.delivered(self.db, self.worker, last, status):
                self.sent += 1
                return True
            return False
        WEBHOOK_DELIVERIES.labels("failed").inc()
        pause = self.policy.pause(cursor.failures + 1, retry_after)
        log.warning("change webhook: events %s not accepted (%s); next attempt in %.0f s", msg_id, error, pause)
        store.failed(self.db, self.worker, last, status, error or "", now + dt.timedelta(seconds=pause))
        return False
