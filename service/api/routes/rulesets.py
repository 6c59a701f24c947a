"""Rule sets at runtime: upload, list, activate, roll back, reload, preview; the audit log."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service import evaluation
from service.preview import preview as preview_of
from service.api import bodies
from service.api.problems import documented
from service.api.auth import Operator, Reader
from service.api.deps import ActivationDep, DbDep, EvaluationsDep, LimitsDep, ServingDep, VersionsDep
from service.errors import ErrorItem, InvalidRuleSet, NotFound, PayloadTooLarge
from service.rulebase import loading
from service.store import audit
from service.store import rulesets as store

router = APIRouter(tags=["rule sets"])

ARCHIVE_TYPES = ("application/zip", "application/gzip", "application/x-gzip", "application/x-tar",
                 "application/x-compressed-tar", "application/octet-stream")


def _version(row, active_version: str | None) -> dict[str, Any]:
    return {"version": row.version, "digest": row.digest, "rule_count": row.rule_count,
            "created_at": row.created_at, "created_by": row.created_by, "active": row.version == active_version}


def _loaded(loaded) -> dict[str, Any]:
    return {"version": loaded.version, "digest": loaded.digest, "rule_count": loaded.rule_count,
            "loaded_at": loaded.loaded_at, "loaded_by": loaded.activated_by, "activated_at": loaded.activated_at}


@router.get("/v1/rulesets/active", summary="The rule-set version this process serves")
def active(serving: ServingDep, db: DbDep, _: Reader) -> dict[str, Any]:
    loaded = serving.current
    if loaded is None:
        raise NotFound("no rule set is loaded")
    activation = store.active(db)
    return {**_loaded(loaded),
            "database_version": activation.version if activation else None,
            "previous_version": activation.previous_version if activation else None,
            "load_error": serving.health.last_error}


@router.get("/v1/rulesets", summary="Every stored rule-set version, newest first")
def list_versions(db: DbDep, _: Reader) -> dict[str, Any]:
    activation = store.active(db)
    current = activation.version if activation else None
    return {"active": current, "versions": [_version(r, current) for r in store.versions(db)]}


@router.get("/v1/rulesets/{version}", responses={404: documented("No such version")}, summary="One stored version: its files' digest, rule count and validation report")
def get_version(version: str, db: DbDep, _: Reader) -> dict[str, Any]:
    row = store.get(db, version)
    if row is None:
        raise NotFound(f"no rule-set version {version!r}")
    activation = store.active(db)
    return {**_version(row, activation.version if activation else None), "report": json.loads(row.report),
            "files": sorted(json.loads(row.files))}


#: The body the upload reads itself (an archive is not a model): documented by hand.
UPLOAD_BODY = {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["files"], "additionalProperties": False,
        "properties": {"files": {"type": "object", "additionalProperties": {"type": "string"},
                                 "description": "Rule files by relative path (*.yaml), and sources/*.txt."}}}},
    "application/zip": {"schema": {"type": "string", "format": "binary"}},
    "application/gzip": {"schema": {"type": "string", "format": "binary", "description": "A .tar.gz archive."}},
}}


@router.post("/v1/rulesets", status_code=201, summary="Operator: upload a rule set; validate it in full; store it (not active)",
             responses={200: {"description": "The same content is already stored: its version"},
                        422: documented("Invalid: every error, with file, rule id and field; nothing stored"),
                        401: documented("No token"), 403: documented("Not an operator"),
                        413: documented("Over 10 MiB or 5,000 files")},
             openapi_extra={"requestBody": UPLOAD_BODY})
async def upload(request: Request, versions: VersionsDep, principal: Operator) -> JSONResponse:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()

    def files_of() -> loading.RuleFiles:
        if not body:
            raise InvalidRuleSet("the upload is empty", [ErrorItem(path="body", message=loading.ARCHIVE_HELP)])
        if content_type == "application/json":
            return loading.from_mapping(bodies.loads(body, "{\"files\": {\"path\": \"text\"}}", InvalidRuleSet))
        if content_type in ARCHIVE_TYPES or not content_type:
            return loading.from_archive(body)
        raise InvalidRuleSet(f"unsupported content type {content_type!r}",
                             [ErrorItem(path="headers.content-type", message="expected application/json, application/zip or application/gzip")])

    def work():
        try:
            files = files_of()
        except (InvalidRuleSet, PayloadTooLarge) as exc:
            # every refusal of an authenticated operator is audited alike (the body limit refuses before anyone is known)
            audit.log(versions.db, actor=principal.actor, action="upload", outcome="refused",
                      detail={"detail": exc.detail, "errors": [e.as_dict() for e in exc.errors[:50]]})
            raise
        return versions.store(files, actor=principal.actor)

    row, created = await run_in_threadpool(work)
    activation = store.active(versions.db)
    return JSONResponse(
        json.loads(json.dumps({**_version(row, activation.version if activation else None),
                               "created": created, "report": json.loads(row.report)}, default=str)),
        status_code=201 if created else 200, headers={"Location": f"/v1/rulesets/{row.version}"})


@router.post("/v1/rulesets/reload", summary="Operator: load RULES_DIR from disk as a new version and activate it")
async def reload(activation: ActivationDep, principal: Operator) -> dict[str, Any]:
    loaded = await run_in_threadpool(activation.reload, principal.actor)
    return _loaded(loaded)


@router.post("/v1/rulesets/{version}/activate", responses={404: documented("No such version")}, summary="Operator: make a version active everywhere (an earlier one: a rollback)")
async def activate(version: str, activation: ActivationDep, principal: Operator) -> dict[str, Any]:
    loaded = await run_in_threadpool(activation.activate, version, principal.actor)
    return _loaded(loaded)


@router.post("/v1/rulesets/{version}/preview", responses={404: documented("No such version")},
             summary="Operator: re-evaluate the last recorded assessments under a version: what would appear and disappear")
async def preview(version: str, db: DbDep, versions: VersionsDep, serving: ServingDep, principal: Operator,
                  evaluations: EvaluationsDep,
                  limits: LimitsDep,
                  limit: int = Query(100, ge=1, le=1000, description="How many of the latest assessments.")) -> dict[str, Any]:
    return await evaluations.run(evaluation.EXPENSIVE, preview_of, db, versions, serving, version, limit, limits)


@router.get("/v1/audit", summary="Operator: uploads, activations, rollbacks, reloads and refused attempts, newest first")
def audit_log(db: DbDep, _: Operator, limit: int = Query(100, ge=1, le=1000),
              before: int | None = Query(None, ge=1, le=2**31 - 1, description="Only events older than this event id.")) -> dict[str, Any]:
    events = audit.events(db, limit=limit, before_id=before)
    return {"events": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "outcome": e.outcome,
                        "from_version": e.from_version, "to_version": e.to_version, "digest": e.digest,
                        "detail": json.loads(e.detail)} for e in events]}
