"""The decision log: record an assessment as returned; read it back unchanged."""
from __future__ import annotations

import datetime as dt

from .db import Database
from .tables import AssessmentRecord


def record(db: Database, *, assessment_id: str, kind: str, ruleset_version: str, ruleset_digest: str,
           as_of: dt.date, profile_json: str, response_json: str) -> None:
    with db.session() as session:
        session.add(AssessmentRecord(
            id=assessment_id, kind=kind, ruleset_version=ruleset_version, ruleset_digest=ruleset_digest,
            as_of=as_of, profile=profile_json, response=response_json,
        ))
        session.commit()


def record_many(db: Database, records: list[AssessmentRecord]) -> None:
    """One transaction for a batch: all are recorded or none."""
    with db.session() as session:
        session.add_all(records)
        session.commit()


def read(db: Database, assessment_id: str) -> AssessmentRecord | None:
    with db.session() as session:
        return session.get(AssessmentRecord, assessment_id)


def latest(db: Database, limit: int) -> list[AssessmentRecord]:
    from sqlmodel import select

    with db.session() as session:
        rows = session.exec(
            select(AssessmentRecord).where(AssessmentRecord.kind == "assessment")
            .order_by(AssessmentRecord.created_at.desc(), AssessmentRecord.id.desc()).limit(limit)
        )
        return list(rows)
