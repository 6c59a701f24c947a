"""The decision log, read side: an assessment exactly as it was returned (writes go through journal.py)."""
from __future__ import annotations

from sqlmodel import col, select

from service.answers import render

from .db import Database
from .tables import AssessmentBody, AssessmentRecord


def read(db: Database, assessment_id: str) -> AssessmentRecord | None:
    with db.session() as session:
        return session.get(AssessmentRecord, assessment_id)


def body(db: Database, row: AssessmentRecord) -> str:
    """The JSON text returned for the assessment, byte for byte."""
    if row.response is not None:
        return row.response
    with db.session() as session:
        stored = session.get(AssessmentBody, row.body_sha)
    if stored is None:  # pragma: no cover - the journal writes the body before (or with) the row
        raise LookupError(f"answer body {row.body_sha} of assessment {row.id} is missing")
    return render(stored.template, row.id)


def latest(db: Database, limit: int) -> list[tuple[AssessmentRecord, str]]:
    """The newest assessments with their answers (for previews of a rule-set version)."""
    with db.session() as session:
        rows = list(session.exec(
            select(AssessmentRecord).where(AssessmentRecord.kind == "assessment")
            .order_by(col(AssessmentRecord.created_at).desc(), col(AssessmentRecord.id).desc()).limit(limit)
        ))
        shas = {r.body_sha for r in rows if r.response is None and r.body_sha is not None}
        bodies: dict[str, str] = {}
        if shas:
            query = select(AssessmentBody).where(col(AssessmentBody.sha).in_(shas))
            bodies = {b.sha: b.template for b in session.exec(query)}
    return [(r, _answer(r, bodies)) for r in rows]


def _answer(row: AssessmentRecord, bodies: dict[str, str]) -> str:
    """The JSON text returned for `row`, its answer body among `bodies` (by sha) unless the row holds it whole."""
    if row.response is not None:
        return row.response
    if row.body_sha is None or row.body_sha not in bodies:  # pragma: no cover - the journal writes it with the row
        raise LookupError(f"answer body {row.body_sha} of assessment {row.id} is missing")
    return render(bodies[row.body_sha], row.id)
