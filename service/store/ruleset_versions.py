"""Rule-set versions and activations in the database: the one place the active version is decided."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from .db import Database
from .tables import RuleSetActivation, RuleSetVersion, actor_name, utcnow

NOTIFY_CHANNEL = "ruleset_activated"


def find_by_digest(db: Database, digest: str) -> RuleSetVersion | None:
    with db.session() as session:
        return session.exec(select(RuleSetVersion).where(RuleSetVersion.digest == digest)).first()


def get(db: Database, version: str) -> RuleSetVersion | None:
    if not storable(version, 40):  # a label no version can have (PostgreSQL would refuse a NUL, not find nothing)
        return None
    with db.session() as session:
        return session.exec(select(RuleSetVersion).where(RuleSetVersion.version == version)).first()


def storable(text: str, length: int) -> bool:
    return len(text) <= length and "\x00" not in text


def versions(db: Database) -> list[RuleSetVersion]:
    with db.session() as session:
        return list(session.exec(select(RuleSetVersion).order_by(col(RuleSetVersion.id).desc())))


def store(db: Database, *, files: dict[str, str], digest: str, rule_count: int, report: dict[str, Any],
          actor: str) -> tuple[RuleSetVersion, bool]:
    """Store a rule set under a new version label, or return the one already holding this digest."""
    for _ in range(20):
        existing = find_by_digest(db, digest)
        if existing is not None:
            return existing, False
        day = utcnow().strftime("%Y.%m.%d")
        with db.session() as session:
            count = session.exec(select(func.count()).select_from(RuleSetVersion)
                                 .where(col(RuleSetVersion.version).like(f"{day}-%"))).one()
            row = RuleSetVersion(version=f"{day}-{count + 1}", digest=digest, files=json.dumps(files, sort_keys=True),
                                 rule_count=rule_count, report=json.dumps(report), created_by=actor_name(actor))
            session.add(row)
            try:
                session.commit()
                return row, True
            except IntegrityError:
                session.rollback()  # another process stored this digest or took this label: look again
    raise RuntimeError("could not allocate a rule-set version label")


def active(db: Database) -> RuleSetActivation | None:
    with db.session() as session:
        return session.exec(select(RuleSetActivation).order_by(col(RuleSetActivation.id).desc()).limit(1)).first()


def last_from_disk(db: Database) -> RuleSetActivation | None:
    """The newest activation of RULES_DIR (at start-up or by reload)."""
    with db.session() as session:
        return session.exec(select(RuleSetActivation).where(col(RuleSetActivation.reason).in_(("startup", "reload")))
                            .order_by(col(RuleSetActivation.id).desc()).limit(1)).first()


def was_active(db: Database, version: str) -> bool:
    with db.session() as session:
        query = select(RuleSetActivation.id).where(RuleSetActivation.version == version).limit(1)
        return session.exec(query).first() is not None


def activations(db: Database, limit: int = 50) -> list[RuleSetActivation]:
    with db.session() as session:
        return list(session.exec(select(RuleSetActivation).order_by(col(RuleSetActivation.id).desc()).limit(limit)))


def activate(db: Database, row: RuleSetVersion, *, actor: str, reason: str) -> RuleSetActivation:
    """Make `row` the active version everywhere: one committed row; PostgreSQL listeners are notified."""
    with db.session() as session:
        current = session.exec(select(RuleSetActivation).order_by(col(RuleSetActivation.id).desc()).limit(1)).first()
        activation = RuleSetActivation(version=row.version, digest=row.digest, activated_by=actor_name(actor),
                                       reason=reason, previous_version=current.version if current else None)
        session.add(activation)
        if db.url.startswith("postgresql"):
            session.connection().execute(text("SELECT pg_notify(:c, :v)"), {"c": NOTIFY_CHANNEL, "v": row.version})
        session.commit()
        return activation
