"""GET /healthz (the process answers) and GET /readyz (it can serve: a rule set is loaded, the database answers)."""
from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from service import metrics
from service.api.deps import DbDep, ServingDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _database_ok(db) -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - reported, not raised: readiness is a report
        return f"database unreachable: {type(exc).__name__}"


@router.get("/metrics", summary="Prometheus metrics (all worker processes)", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    request.app.state.ticker.tick()
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/readyz", summary="Readiness: a rule set is loaded and the database answers")
async def readyz(serving: ServingDep, db: DbDep) -> JSONResponse:
    problems = []
    current = serving.current
    if current is None:
        problems.append("no rule set loaded")
    if serving.health.last_error:
        problems.append(serving.health.last_error)
    if not serving.health.started and current is not None:
        problems.append(f"serving {current.version} from RULES_DIR until the database answers")
    db_problem = await run_in_threadpool(_database_ok, db)
    if db_problem:
        problems.append(db_problem)
    body: dict[str, Any] = {
        "status": "ready" if current is not None and serving.health.started and not db_problem else "not ready",
        "process": os.getpid(),
        "ruleset": {"version": current.version, "digest": current.digest} if current else None,
        "problems": problems,
    }
    # a process that failed to load a newer version still serves its current one: ready, but it says so
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)
