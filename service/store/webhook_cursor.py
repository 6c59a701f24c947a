"""The change webhook's place in the change feed (service/impact/webhook.py sends it): one row, leased by the one
process that delivers, so events go out once and in order whichever worker or replica sends them. The cursor
moves only when the receiver accepted a batch; a failed batch is retried whole (the same events, so the same
webhook-id) once its retry time has come."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select, update
from sqlmodel import Session, col

from .db import Database, insert_skipping_duplicates
from .tables import ChangeEvent, WebhookCursor, actor_name, utcnow

NAME = "change-feed"


def take(db: Database, worker: str, lease_seconds: float) -> WebhookCursor | None:
    """The cursor, leased to `worker`, when nobody else holds it and no retry is waiting; else None."""
    now = utcnow()
    mine = actor_name(worker)
    with db.engine.begin() as conn:
        taken = conn.execute(update(WebhookCursor).where(
            col(WebhookCursor.name) == NAME,
            or_(col(WebhookCursor.leased_by).is_(None), col(WebhookCursor.leased_by) == mine,
                col(WebhookCursor.lease_until) < now),
            or_(col(WebhookCursor.next_attempt_at).is_(None), col(WebhookCursor.next_attempt_at) <= now),
        ).values(leased_by=mine, lease_until=now + dt.timedelta(seconds=lease_seconds))).rowcount
        if taken:
            return Session(bind=conn).get_one(WebhookCursor, NAME)
        if conn.execute(select(col(WebhookCursor.name)).where(col(WebhookCursor.name) == NAME)).first() is None:
            # the first time: the row every process leases (the first to insert it wins; the next look takes it)
            conn.execute(insert_skipping_duplicates(conn.dialect.name, WebhookCursor).values(
                name=NAME, delivered=0, failures=0))
        return None


def batch(db: Database, cursor: WebhookCursor, limit: int) -> list[ChangeEvent]:
    """The events to send next: the failed batch again, else up to `limit` after the last delivered."""
    query = select(ChangeEvent).where(col(ChangeEvent.id) > cursor.delivered)
    if cursor.batch_last is not None:
        query = query.where(col(ChangeEvent.id) <= cursor.batch_last)
    with db.session() as session:
        return list(session.scalars(query.order_by(col(ChangeEvent.id)).limit(limit)))


def delivered(db: Database, worker: str, last: int, status: int) -> bool:
    """The receiver accepted the events up to `last`. False when `worker` no longer held the lease (another
    process took it over and will send the batch again: the receiver sees it twice, under one webhook-id)."""
    now = utcnow()
    with db.engine.begin() as conn:
        return bool(conn.execute(update(WebhookCursor).where(
            col(WebhookCursor.name) == NAME, col(WebhookCursor.leased_by) == actor_name(worker)
        ).values(delivered=last, batch_last=None, failures=0, next_attempt_at=None, last_attempt_at=now,
                 last_status=status, last_error=None, last_delivered_at=now)).rowcount)


def failed(db: Database, worker: str, batch_last: int, status: int | None, error: str,
           retry_at: dt.datetime) -> None:
    """The receiver did not accept the batch ending at `batch_last`: try it again at `retry_at`."""
    with db.engine.begin() as conn:
        conn.execute(update(WebhookCursor).where(
            col(WebhookCursor.name) == NAME, col(WebhookCursor.leased_by) == actor_name(worker)
        ).values(batch_last=batch_last, failures=col(WebhookCursor.failures) + 1, next_attempt_at=retry_at,
                 last_attempt_at=utcnow(), last_status=status, last_error=error[:500]))


def release(db: Database, worker: str) -> None:
    """A process stopping in order hands the lease back (rather than after it runs out)."""
    with db.engine.begin() as conn:
        conn.execute(update(WebhookCursor).where(col(WebhookCursor.leased_by) == actor_name(worker))
                     .values(leased_by=None, lease_until=None))


def status(db: Database) -> tuple[WebhookCursor | None, int, int]:
    """The cursor (None before the first attempt), the newest event's id (0: none), and the events not yet
    accepted by the receiver."""
    with db.session() as session:
        cursor = session.get(WebhookCursor, NAME)
        latest = session.scalar(select(func.coalesce(func.max(col(ChangeEvent.id)), 0)))
        behind = session.scalar(select(func.count()).select_from(ChangeEvent).where(
            col(ChangeEvent.id) > (cursor.delivered if cursor else 0)))
    return cursor, int(latest or 0), int(behind or 0)
