"""SQLModel tables: the decision log, rule-set versions and activations, the audit log, and idempotency keys.

JSON documents are stored as text, exactly as produced, so a recorded assessment is read
back byte for byte as it was returned.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
