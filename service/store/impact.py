"""Impact jobs in the database: the one place their work is handed out, so that every worker process of every
replica shares it and no business is evaluated twice.

A job's work items are its `impact_item` rows, one per business (its latest assessment), written by one
INSERT ... SELECT when the job starts: nothing is loaded into memory. A worker claims a few at a time (PostgreSQL:
`SELECT ... FOR UPDATE SKIP LOCKED`, so workers never wait on each other's rows) under a lease; a claim whose
lease ran out (its worker was killed or stalled) is claimable again, and `attempts` counts the claims. A result is
written only by the worker that holds the claim. The worker that finds a job's last item done computes its totals
and, for an activation, writes its change-feed events, in one transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import DateTime, and_, bindparam, func, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from service import ids
from service.errors import Conflict, NotFound

from . import ruleset_versions as versions_store
from .db import Database
from .tables import AssessmentRecord, ChangeEvent, ImpactItem, ImpactJob, actor_name, utcnow

PENDING, CLAIMED, DONE, FAILED = "pending", "claimed", "done", "failed"
RUNNING = "running"
READ_BATCH = 1000  # items read at once when totals, pages and exports stream over a job

#: Every business's latest assessment: one work item each (kind "assessment": what POST /v1/assessments,
#: /compare and /batch record).
_LATEST = text("""
INSERT INTO impact_item (job_id, business, assessment_id, state, attempts, changed)
SELECT :job, business, id, 'pending', 0, false FROM (
    SELECT business, id, ROW_NUMBER() OVER (PARTITION BY business ORDER BY created_at DESC, id DESC) AS n
    FROM assessment WHERE kind = 'assessment' AND business IS NOT NULL
) AS latest WHERE n = 1 ORDER BY business
""")

#: The businesses recorded before the job started whose record reached the database only after (it was in a
#: process's decision journal then): added before the job finishes, so a job covers every business recorded before
#: it started, whichever process recorded it. (job_id, business) is unique: a business is never added twice.
_LATE = text("""
INSERT INTO impact_item (job_id, business, assessment_id, state, attempts, changed)
SELECT CAST(:job AS VARCHAR(40)), business, id, 'pending', 0, false FROM (
    SELECT business, id, ROW_NUMBER() OVER (PARTITION BY business ORDER BY created_at DESC, id DESC) AS n
    FROM assessment WHERE kind = 'assessment' AND business IS NOT NULL AND created_at <= :started
) AS latest WHERE n = 1 AND NOT EXISTS (
    SELECT 1 FROM impact_item AS item WHERE item.job_id = CAST(:job AS VARCHAR(40)) AND item.business = latest.business
) ORDER BY business
""").bindparams(bindparam("started", type_=DateTime))  # compared as the column stores it

_EVENTS = text("""
INSERT INTO change_event (job_id, version, previous_version, business, assessment_id, changes, created_at)
SELECT job_id, :version, :previous, business, assessment_id, result, :now FROM impact_item
WHERE job_id = :job AND changed ORDER BY id
""")


@dataclass(frozen=True)
class ClaimedItem:
    """A business to evaluate: its work item and its latest recorded profile."""

    item_id: int
    business: str
    assessment_id: str
    profile: str  # as stated, canonical JSON


@dataclass(frozen=True)
class ItemOutcome:
    """An evaluated business: its result (added, removed, changed) or why it could not be evaluated."""

    item_id: int
    result: dict[str, Any] | None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.result and (self.result["added"] or self.result["removed"] or self.result["changed"]))


def create(db: Database, version: str, actor: str, reason: str = "requested",
           baseline: str | None = None) -> ImpactJob:
    """Start an impact job for a stored `version` against `baseline` (default: the active version)."""
    row = versions_store.get(db, version)
    if row is None:
        raise NotFound(f"no rule-set version {version!r}")
    if baseline is None:
        active = versions_store.active(db)
        if active is None:
            raise Conflict("no rule-set version is active to compare with")
        baseline = active.version
    job = ImpactJob(id=ids.assessment_id(), version=row.version, digest=row.digest, baseline_version=baseline,
                    reason=reason, state=RUNNING, total=0, created_by=actor_name(actor))
    with db.session() as session:
        session.add(job)
        session.flush()
        job.total = session.connection().execute(_LATEST, {"job": job.id}).rowcount
        session.commit()
    if job.total == 0:
        finish(db, job.id)
    return get(db, job.id) or job


def get(db: Database, job_id: str) -> ImpactJob | None:
    if len(job_id) > 40 or "\x00" in job_id:  # no job has such an id (PostgreSQL would refuse a NUL)
        return None
    with db.session() as session:
        return session.get(ImpactJob, job_id)


def jobs(db: Database, limit: int = 20) -> list[ImpactJob]:
    """The newest jobs first."""
    with db.session() as session:
        query = select(ImpactJob).order_by(col(ImpactJob.created_at).desc(), col(ImpactJob.id).desc()).limit(limit)
        return list(session.scalars(query))


def running(db: Database) -> list[ImpactJob]:
    with db.session() as session:
        query = (select(ImpactJob).where(col(ImpactJob.state) == RUNNING)
                 .order_by(col(ImpactJob.created_at), col(ImpactJob.id)))
        return list(session.scalars(query))


def progress(db: Database, job_id: str) -> dict[str, int]:
    """Items by state."""
    with db.session() as session:
        rows = session.execute(select(col(ImpactItem.state), func.count()).where(col(ImpactItem.job_id) == job_id)
                               .group_by(col(ImpactItem.state))).all()
    counts = {PENDING: 0, CLAIMED: 0, DONE: 0, FAILED: 0}
    counts.update({state: n for state, n in rows})
    return counts


def claim(db: Database, job_id: str, worker: str, chunk: int, lease_seconds: float) -> list[ClaimedItem]:
    """Claim up to `chunk` businesses of a job that nobody holds (pending, or their lease ran out)."""
    now = utcnow()
    claimable = and_(col(ImpactItem.job_id) == job_id, or_(
        col(ImpactItem.state) == PENDING, and_(col(ImpactItem.state) == CLAIMED, col(ImpactItem.lease_until) < now)))
    with db.engine.begin() as conn:
        item_ids = list(conn.execute(select(col(ImpactItem.id)).where(claimable).order_by(col(ImpactItem.id))
                                     .limit(chunk).with_for_update(skip_locked=True)).scalars())
        if not item_ids:
            return []
        conn.execute(update(ImpactItem).where(col(ImpactItem.id).in_(item_ids)).values(
            state=CLAIMED, claimed_by=actor_name(worker), lease_until=now + dt.timedelta(seconds=lease_seconds),
            attempts=col(ImpactItem.attempts) + 1))
        rows = conn.execute(select(col(ImpactItem.id), col(ImpactItem.business), col(ImpactItem.assessment_id),
                                   col(AssessmentRecord.profile))
                            .join(AssessmentRecord, col(AssessmentRecord.id) == col(ImpactItem.assessment_id))
                            .where(col(ImpactItem.id).in_(item_ids)).order_by(col(ImpactItem.id))).all()
    return [ClaimedItem(int(r[0] or 0), r[1], r[2], r[3]) for r in rows]


def complete(db: Database, worker: str, outcomes: list[ItemOutcome]) -> int:
    """Write the outcomes of claimed items; only the claim's holder may (a worker whose lease ran out and whose
    items another took writes nothing). How many were written."""
    if not outcomes:
        return 0
    statement = (update(ImpactItem)
                 .where(col(ImpactItem.id) == bindparam("item"), col(ImpactItem.claimed_by) == bindparam("worker"),
                        col(ImpactItem.state) == CLAIMED)
                 .values(state=bindparam("new_state"), changed=bindparam("has_changes"),
                         result=bindparam("outcome"), lease_until=None))
    params = [{"item": o.item_id, "worker": actor_name(worker), "new_state": DONE if o.error is None else FAILED,
               "has_changes": o.changed,
               "outcome": orjson.dumps(o.result if o.error is None else {"error": o.error}).decode()}
              for o in outcomes]
    with db.engine.begin() as conn:
        result = conn.execute(statement.execution_options(synchronize_session=False), params)
        return int(result.rowcount)


def release(db: Database, worker: str) -> None:
    """A worker stopping in order hands its claims back at once (rather than after the lease)."""
    with db.engine.begin() as conn:
        conn.execute(update(ImpactItem).where(col(ImpactItem.claimed_by) == actor_name(worker),
                                              col(ImpactItem.state) == CLAIMED)
                     .values(state=PENDING, lease_until=None))


def finish(db: Database, job_id: str) -> bool:
    """Once no item of the job is pending or claimed: the businesses whose record arrived late (`_LATE`; if any,
    the job goes on with them), then its totals, its change-feed events (an activation's), done. One transaction,
    and only one worker does it (PostgreSQL: the job's row is locked; SQLite: one process runs jobs)."""
    with db.engine.begin() as conn:
        job = conn.execute(select(col(ImpactJob.state), col(ImpactJob.reason), col(ImpactJob.version),
                                  col(ImpactJob.baseline_version), col(ImpactJob.created_at))
                           .where(col(ImpactJob.id) == job_id).with_for_update()).one_or_none()
        if job is None or job.state != RUNNING or _left(conn, job_id):
            return False
        late = conn.execute(_LATE, {"job": job_id, "started": job.created_at}).rowcount
        if late:
            conn.execute(update(ImpactJob).where(col(ImpactJob.id) == job_id)
                         .values(total=col(ImpactJob.total) + late))
            return False
        now = utcnow()
        conn.execute(update(ImpactJob).where(col(ImpactJob.id) == job_id).values(state=DONE, finished_at=now))
        totals = _totals(conn, job_id)
        if job.reason == "activation":
            if conn.dialect.name == "postgresql":  # event ids commit in order: a reader never skips one
                conn.execute(text("LOCK TABLE change_event IN EXCLUSIVE MODE"))
            conn.execute(_EVENTS, {"job": job_id, "version": job.version, "previous": job.baseline_version,
                                   "now": now})
        conn.execute(update(ImpactJob).where(col(ImpactJob.id) == job_id).values(totals=orjson.dumps(totals).decode()))
    return True


def _left(conn: Connection, job_id: str) -> int:
    """Items of the job still pending or claimed."""
    return int(conn.execute(select(func.count()).select_from(ImpactItem).where(
        col(ImpactItem.job_id) == job_id, col(ImpactItem.state).in_((PENDING, CLAIMED)))).scalar_one())


def _count(table: dict[str, dict[str, int]], key: str | None, change: str) -> None:
    counts = table.setdefault(key or "", {"added": 0, "removed": 0, "changed": 0})
    counts[change] += 1


def _totals(conn: Connection, job_id: str) -> dict[str, Any]:
    """Businesses changed and failed, and the obligations added, removed and changed by rule and by instrument,
    from the results (read in batches: bounded in memory however many businesses)."""
    by_rule: dict[str, dict[str, int]] = {}
    by_instrument: dict[str, dict[str, int]] = {}
    changed = 0
    for _, result in _results(conn, job_id, changed_only=True):
        changed += 1
        for change in ("added", "removed", "changed"):
            for finding in result[change]:
                _count(by_rule, finding["rule_id"], change)
                _count(by_instrument, finding["instrument_id"], change)
    failed = conn.execute(select(func.count()).select_from(ImpactItem).where(
        col(ImpactItem.job_id) == job_id, col(ImpactItem.state) == FAILED)).scalar_one()
    return {"businesses_changed": changed, "businesses_failed": failed,
            "by_rule": dict(sorted(by_rule.items())), "by_instrument": dict(sorted(by_instrument.items()))}


def _results(conn: Connection, job_id: str, changed_only: bool) -> Iterator[tuple[ImpactItem, dict[str, Any]]]:
    after = 0
    while True:
        query = select(ImpactItem).where(col(ImpactItem.job_id) == job_id, col(ImpactItem.id) > after)
        query = query.where(col(ImpactItem.changed)) if changed_only else query
        rows = list(Session(bind=conn).scalars(query.order_by(col(ImpactItem.id)).limit(READ_BATCH)))
        if not rows:
            return
        for item in rows:
            yield item, result_of(item)
        after = rows[-1].id or after


def result_of(item: ImpactItem) -> dict[str, Any]:
    """An item's result: added, removed, changed; or error."""
    result: dict[str, Any] = orjson.loads(item.result or "{}")
    return result


def businesses(db: Database, job_id: str, after: int, limit: int) -> list[ImpactItem]:
    """A page of the businesses whose obligations change or that could not be evaluated, in item order."""
    with db.session() as session:
        query = (select(ImpactItem).where(col(ImpactItem.job_id) == job_id, col(ImpactItem.id) > after,
                                          or_(col(ImpactItem.changed), col(ImpactItem.state) == FAILED))
                 .order_by(col(ImpactItem.id)).limit(limit))
        return list(session.scalars(query))


def every_result(db: Database, job_id: str) -> Iterator[tuple[ImpactItem, dict[str, Any]]]:
    """Every evaluated business of a job with its result, in batches (for the CSV export)."""
    with db.engine.connect() as conn:
        yield from _results(conn, job_id, changed_only=False)


def events(db: Database, since: int, limit: int) -> list[ChangeEvent]:
    """The change feed after cursor `since`, oldest first."""
    with db.session() as session:
        return list(session.scalars(select(ChangeEvent).where(col(ChangeEvent.id) > since)
                                    .order_by(col(ChangeEvent.id)).limit(limit)))
