"""The portfolio impact of a rule-set version (POST /v1/rulesets/{version}/impact, GET /v1/impact/{job} and its
.csv) and the change feed (GET /v1/changes). The work itself is done by every process's runner (service/impact/)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service.api.auth import Operator, Reader
from service.api.deps import DbDep
from service.api.problems import documented
from service.errors import NotFound
from service.exports.table import _cell as cell
from service.impact.views import ChangeEventView, ChangeFeed, ImpactedBusiness, ImpactJobView, WebhookStatus, subject_of
from service.store import impact as store
from service.store import webhook_cursor as webhook_store
from service.store.db import MAX_ROW_ID, Database
from service.store.tables import ImpactJob

router = APIRouter(tags=["portfolio impact"])

JOB = Path(description="An impact job id (a ULID), as POST /v1/rulesets/{version}/impact returned it.")
CSV_COLUMNS = ["job", "version", "baseline_version", "business", "subject", "assessment_id", "status", "change",
               "rule_id", "instrument_id", "kind", "severity", "title", "fields", "error"]


def _job(db: Database, job_id: str) -> ImpactJob:
    job = store.get(db, job_id)
    if job is None:
        raise NotFound(f"no impact job {job_id[:40]!r}")
    return job


@router.post("/v1/rulesets/{version}/impact", status_code=202, responses={
    404: documented("No such version"), 409: documented("No version is active to compare with")},
             summary="Operator: start re-evaluating every business's latest profile under a version (a background "
                     "job shared by every process)")
async def start(version: str, request: Request, response: Response, db: DbDep, principal: Operator) -> ImpactJobView:
    job = await run_in_threadpool(store.create, db, version, principal.actor)
    request.app.state.impact.wake()
    response.headers["Location"] = f"/v1/impact/{job.id}"
    counts = await run_in_threadpool(store.progress, db, job.id)
    return ImpactJobView.of(job, counts, [], None)


@router.get("/v1/impact/{job}.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "One row per obligation added, removed or changed, per business (UTF-8, RFC 4180); one row "
                         "for a business without changes or that could not be evaluated"},
    404: documented("No such job")},
            summary="Operator: an impact job's results as CSV, streamed")
async def export_csv(db: DbDep, _: Operator, job: str = JOB) -> StreamingResponse:
    found = await run_in_threadpool(_job, db, job)
    return StreamingResponse(_csv(db, found), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="impact-{found.id}.csv"'})


def _csv(db: Database, job: ImpactJob) -> Iterator[bytes]:
    """Written as it is read, a batch of businesses at a time (bounded in memory however many)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item, result in store.every_result(db, job.id):
        base = [job.id, job.version, job.baseline_version, item.business, subject_of(item.business),
                item.assessment_id, item.state]
        error = result.get("error")
        rows = [[change, f["rule_id"], f["instrument_id"], f["kind"], f["severity"], f["title"],
                 " ".join(f.get("fields", [])), None]
                for change in ("added", "removed", "changed") for f in result.get(change, [])]
        for row in rows or [["none" if error is None else "", None, None, None, None, None, None, error]]:
            writer.writerow([cell(v) for v in base + row])
        if out.tell() > 1 << 16:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


@router.get("/v1/impact/{job}", responses={404: documented("No such job")},
            summary="Operator: an impact job's progress; once done, its totals by rule and instrument and the "
                    "businesses it changes, a page at a time")
async def read(db: DbDep, _: Operator, job: str = JOB,
               after: int = Query(0, ge=0, le=MAX_ROW_ID, description="Businesses after this place (`next_after`)."),
               limit: int = Query(100, ge=1, le=1000, description="Most businesses in the page.")) -> ImpactJobView:
    def work() -> ImpactJobView:
        found = _job(db, job)
        counts = store.progress(db, found.id)
        if found.state != store.DONE:
            return ImpactJobView.of(found, counts, [], None)
        items = store.businesses(db, found.id, after, limit + 1)
        page = [ImpactedBusiness.of(i, store.result_of(i)) for i in items[:limit]]
        return ImpactJobView.of(found, counts, page, items[limit - 1].id if len(items) > limit else None)

    return await run_in_threadpool(work)


@router.get("/v1/changes", summary="The change feed: businesses whose obligations changed with an activation, "
                                   "oldest first, after a cursor")
async def changes(db: DbDep, _: Reader,
                  since: int = Query(0, ge=0, le=MAX_ROW_ID,
                                     description="Events after this cursor (0: from the start)."),
                  limit: int = Query(100, ge=1, le=1000, description="Most events to return.")) -> ChangeFeed:
    events = await run_in_threadpool(store.events, db, since, limit)
    return ChangeFeed(events=[ChangeEventView.of(e) for e in events],
                      next_since=events[-1].id or since if events else since)


@router.get("/v1/changes/webhook", summary="Operator: how far the change feed has been pushed to the webhook "
                                          "(CHANGE_WEBHOOK_URL), and why it waits when it does")
async def webhook_status(request: Request, db: DbDep, _: Operator) -> WebhookStatus:
    cursor, latest, behind = await run_in_threadpool(webhook_store.status, db)
    return WebhookStatus.of(request.app.state.settings.change_webhook_url, cursor, latest, behind)
