"""The audit log of rule-set changes: uploads, activations, rollbacks, reloads, refusals."""
from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from .db import Database
from .ruleset_versions import storable
from .tables import AuditEvent, actor_name


def log(db: Database, *, actor: str, action: str, outcome: str, from_version: str | None = None,
        to_version: str | None = None, digest: str | None = None, detail: dict[str, Any] | None = None) -> None:
    if to_version is not None and not storable(to_version, 40):  # a refused attempt on a label no version has
        detail = {**(detail or {}), "requested_version": to_version.replace("\x00", "\\0")[:200]}
        to_version = None
    with db.session() as session:
        session.add(AuditEvent(actor=actor_name(actor), action=action, outcome=outcome, from_version=from_version,
                               to_version=to_version, digest=digest, detail=json.dumps(detail or {}, default=str)))
        session.commit()


def events(db: Database, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
    with db.session() as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
        if before_id is not None:
            query = query.where(col(AuditEvent.id) < before_id)
        return list(session.exec(query))
