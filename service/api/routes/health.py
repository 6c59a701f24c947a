"""GET /healthz (the process answers) and GET /readyz (it can serve: a rule set is loaded, the database answers)."""
from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import text

from service import metrics
from service.api.deps import DbDep, ServingDep
from service.api.models import Liveness, Readiness
from service.store.db import Database

router = APIRouter(tags=["health"])

ALIVE = Liveness(status="ok")


@router.get("/healthz", summary="Liveness")
def healthz() -> Liveness:
    return ALIVE


def _database_ok(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # reported, not raised: readiness is a report
        return f"database unreachable: {type(exc).__name__}"


@router.get("/metrics", summary="Prometheus metrics (all worker processes)", include_in_schema=False,
            response_class=Response, responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                                      "description": "The Prometheus text exposition format"}})
async def prometheus(request: Request) -> Response:
    request.app.state.ticker.tick()
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/readyz", summary="Readiness: a rule set is loaded and the database answers",
            responses={503: {"model": Readiness, "description": "Not ready: `problems` says why"}})
async def readyz(serving: ServingDep, db: DbDep, response: Response) -> Readiness:
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
    ready = current is not None and serving.health.started and not db_problem
    # a process that failed to load a newer version still serves its current one: ready, but it says so
    response.status_code = 200 if ready else 503
    return Readiness(status="ready" if ready else "not ready", process=os.getpid(),
                     ruleset=current.ref if current is not None else None, problems=problems)
