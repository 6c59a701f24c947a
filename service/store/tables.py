"""SQLModel tables: the decision log, rule-set versions and activations, the audit log, and idempotency keys.

JSON documents are stored as text, exactly as produced, so a recorded assessment is read
back byte for byte as it was returned.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SUBJECT_LENGTH = 200  # a business key: a subject (at most 128 characters) or "sha256:" and 64 hex digits
ACTOR_LENGTH = 120  # who did it: a token's name, "startup", ...


def actor_name(actor: str) -> str:
    """An actor as the column holds it: PostgreSQL refuses a longer value where SQLite would keep it whole."""
    return actor[:ACTOR_LENGTH]


class RuleSetVersion(SQLModel, table=True):
    """A rule set stored whole (its files), content-addressed by digest."""

    __tablename__ = "ruleset_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=40, unique=True, index=True)
    digest: str = Field(max_length=80, unique=True, index=True)
    files: str = Field(sa_column=Column(Text, nullable=False))
    rule_count: int
    report: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=ACTOR_LENGTH)


class RuleSetActivation(SQLModel, table=True):
    """One activation: the newest row names the active version everywhere."""

    __tablename__ = "ruleset_activation"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=40, index=True)
    digest: str = Field(max_length=80)
    previous_version: str | None = Field(default=None, max_length=40)
    activated_at: dt.datetime = Field(default_factory=utcnow)
    activated_by: str = Field(max_length=ACTOR_LENGTH)
    reason: str = Field(max_length=20)


class AssessmentRecord(SQLModel, table=True):
    """The decision log: every assessment as returned, with the profile and rule-set version."""

    __tablename__ = "assessment"

    id: str = Field(primary_key=True, max_length=40)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=20)
    ruleset_version: str = Field(max_length=40)
    ruleset_digest: str = Field(max_length=80)
    as_of: dt.date
    profile: str = Field(sa_column=Column(Text, nullable=False))
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # rows before 0002
    body_sha: str | None = Field(default=None, max_length=64)  # the answer: assessment_body.template
    subject: str | None = Field(default=None, max_length=SUBJECT_LENGTH)  # the caller's name for the business
    business: str | None = Field(default=None, max_length=SUBJECT_LENGTH, index=True)  # businesses.key


class AssessmentBody(SQLModel, table=True):
    """One answer body per distinct answer (the JSON with an empty assessment id), shared by its assessments."""

    __tablename__ = "assessment_body"

    sha: str = Field(primary_key=True, max_length=64)
    template: str = Field(sa_column=Column(Text, nullable=False))


class AuditEvent(SQLModel, table=True):
    """Who changed which rule set, when, and how it went (refusals included)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=ACTOR_LENGTH)
    action: str = Field(max_length=20)
    outcome: str = Field(max_length=20)
    from_version: str | None = Field(default=None, max_length=40)
    to_version: str | None = Field(default=None, max_length=40)
    digest: str | None = Field(default=None, max_length=80)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class ImpactJob(SQLModel, table=True):
    """A portfolio impact: every business's latest profile re-evaluated under `version`, compared with
    `baseline_version` (the version active when it started). Its work items are its `impact_item` rows."""

    __tablename__ = "impact_job"

    id: str = Field(primary_key=True, max_length=40)
    version: str = Field(max_length=40)
    digest: str = Field(max_length=80)
    baseline_version: str = Field(max_length=40)
    reason: str = Field(max_length=20)  # "requested" (an operator asked) or "activation" (feeds the change feed)
    state: str = Field(max_length=12, index=True)  # running, done
    total: int
    totals: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON, once done
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=ACTOR_LENGTH)
    finished_at: dt.datetime | None = None


class ImpactItem(SQLModel, table=True):
    """One business of an impact job: a work item claimed under a lease, then its result (the obligations added,
    removed and changed, as JSON) or why it could not be evaluated."""

    __tablename__ = "impact_item"
    __table_args__ = (Index("ix_impact_item_work", "job_id", "state", "id"),
                      Index("ux_impact_item_business", "job_id", "business", unique=True))

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=40)
    business: str = Field(max_length=SUBJECT_LENGTH)
    assessment_id: str = Field(max_length=40)  # its latest assessment: the profile re-evaluated
    state: str = Field(max_length=12)  # pending, claimed, done, failed
    claimed_by: str | None = Field(default=None, max_length=ACTOR_LENGTH)
    lease_until: dt.datetime | None = None
    attempts: int = 0  # claims: 1 once evaluated, more only after a lease ran out (a worker died or stalled)
    changed: bool = False  # whether any obligation is added, removed or changed
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON


class ChangeEvent(SQLModel, table=True):
    """The change feed: after an activation, one event per business whose obligations changed. `id` is the
    cursor (events of one activation are written in one transaction, in order, one activation at a time)."""

    __tablename__ = "change_event"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=40)
    version: str = Field(max_length=40)
    previous_version: str = Field(max_length=40)
    business: str = Field(max_length=SUBJECT_LENGTH)
    assessment_id: str = Field(max_length=40)
    changes: str = Field(sa_column=Column(Text, nullable=False))  # JSON: added, removed, changed
    created_at: dt.datetime = Field(default_factory=utcnow)


class WebhookCursor(SQLModel, table=True):
    """How far the change feed has been delivered to the configured webhook, and by whom: one row, leased by the
    one process that delivers (so events go out once and in order, whichever worker or replica sends them).
    `batch_last` holds a batch that failed, so its retries carry the same events under the same webhook-id."""

    __tablename__ = "webhook_cursor"

    name: str = Field(primary_key=True, max_length=40)
    delivered: int = 0  # the last change-event id the receiver accepted
    batch_last: int | None = None  # the last event of the batch being retried
    leased_by: str | None = Field(default=None, max_length=ACTOR_LENGTH)
    lease_until: dt.datetime | None = None
    failures: int = 0  # consecutive failed attempts at the batch in hand
    next_attempt_at: dt.datetime | None = None
    last_attempt_at: dt.datetime | None = None
    last_status: int | None = None  # the receiver's HTTP status at the last attempt (null: no answer)
    last_error: str | None = Field(default=None, max_length=500)
    last_delivered_at: dt.datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    """An Idempotency-Key's claim on a request, then its answer: the database decides which concurrent retry runs
    (the primary key), so it holds across worker processes and replicas (service/store/idempotency_keys.py)."""

    __tablename__ = "idempotency_key"

    scope: str = Field(primary_key=True, max_length=200)  # the route and the caller
    key: str = Field(primary_key=True, max_length=255)
    request_sha: str = Field(max_length=64)  # method, path, the query that changes the answer, canonical body
    state: str = Field(max_length=10)  # pending, then done
    claim: str = Field(max_length=32)  # the token of the request that holds it
    created_at: dt.datetime
    claimed_at: dt.datetime
    expires_at: dt.datetime = Field(index=True)
    status: int | None = None
    headers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON object
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
