"""Rule sets at runtime: upload, list, activate, roll back, reload, preview; the audit log."""
from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from service import evaluation
from service.api import bodies
from service.api.auth import Operator, Reader
from service.api.deps import ActivationDep, DbDep, EvaluationsDep, LimitsDep, ServingDep, VersionsDep
from service.api.models import (
    ActiveRuleSet,
    AuditEntry,
    AuditLog,
    RuleSetPreview,
    ServedRuleSetSummary,
    StoredRuleSet,
    StoredRuleSetDetail,
    StoredRuleSetList,
    UploadedRuleSet,
    ValidationReport,
)
from service.api.problems import documented
from service.errors import ErrorItem, InvalidRuleSet, NotFound, PayloadTooLarge
from service.preview import preview as preview_of
from service.rulebase import loading
from service.serving import ServedRuleSet
from service.store import audit
from service.store import ruleset_versions as store
from service.store.db import MAX_ROW_ID, Database
from service.store.tables import AuditEvent, RuleSetVersion

router = APIRouter(tags=["rule sets"])

ARCHIVE_TYPES = ("application/zip", "application/gzip", "application/x-gzip", "application/x-tar",
                 "application/x-compressed-tar", "application/octet-stream")


def _active_version(db: Database) -> str | None:
    activation = store.active(db)
    return activation.version if activation else None


def _stored(row: RuleSetVersion, active_version: str | None) -> StoredRuleSet:
    return StoredRuleSet(version=row.version, digest=row.digest, rule_count=row.rule_count,
                         created_at=row.created_at, created_by=row.created_by, active=row.version == active_version)


def _served(served: ServedRuleSet) -> ServedRuleSetSummary:
    return ServedRuleSetSummary(version=served.version, digest=served.digest, rule_count=served.rule_count,
                                loaded_at=served.loaded_at, loaded_by=served.activated_by,
                                activated_at=served.activated_at)


def _event(event: AuditEvent) -> AuditEntry:
    shown = event.model_dump(include=set(AuditEntry.model_fields))
    return AuditEntry.model_validate({**shown, "detail": json.loads(event.detail)})


@router.get("/v1/rulesets/active", summary="The rule-set version this process serves")
def active(serving: ServingDep, db: DbDep, _: Reader) -> ActiveRuleSet:
    loaded = serving.current
    if loaded is None:
        raise NotFound("no rule set is loaded")
    activation = store.active(db)
    return ActiveRuleSet(**_served(loaded).model_dump(),
                         database_version=activation.version if activation else None,
                         previous_version=activation.previous_version if activation else None,
                         load_error=serving.health.last_error)


@router.get("/v1/rulesets", summary="Every stored rule-set version, newest first")
def list_versions(db: DbDep, _: Reader) -> StoredRuleSetList:
    current = _active_version(db)
    return StoredRuleSetList(active=current, versions=[_stored(r, current) for r in store.versions(db)])


@router.get("/v1/rulesets/{version}", responses={404: documented("No such version")},
            summary="One stored version: its files' digest, rule count and validation report")
def get_version(version: str, db: DbDep, _: Reader) -> StoredRuleSetDetail:
    row = store.get(db, version)
    if row is None:
        raise NotFound(f"no rule-set version {version!r}")
    return StoredRuleSetDetail(**_stored(row, _active_version(db)).model_dump(),
                               report=ValidationReport.model_validate_json(row.report),
                               files=sorted(json.loads(row.files)))


#: The body the upload reads itself (an archive is not a model): documented by hand.
UPLOAD_BODY = {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["files"], "additionalProperties": False,
        "properties": {"files": {"type": "object", "additionalProperties": {"type": "string"},
                                 "description": "Rule files by relative path (*.yaml), and sources/*.txt."}}}},
    "application/zip": {"schema": {"type": "string", "format": "binary"}},
    "application/gzip": {"schema": {"type": "string", "format": "binary", "description": "A .tar.gz archive."}},
}}


@router.post("/v1/rulesets", status_code=201,
             summary="Operator: upload a rule set; validate it in full; store it (not active)",
             responses={200: {"model": UploadedRuleSet,
                              "description": "The same content is already stored: its version"},
                        422: documented("Invalid: every error, with file, rule id and field; nothing stored"),
                        401: documented("No token"), 403: documented("Not an operator"),
                        413: documented("Over 10 MiB or 5,000 files")},
             openapi_extra={"requestBody": UPLOAD_BODY})
async def upload(request: Request, response: Response, versions: VersionsDep, principal: Operator) -> UploadedRuleSet:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()

    def files_of() -> loading.RuleFiles:
        if not body:
            raise InvalidRuleSet("the upload is empty", [ErrorItem(path="body", message=loading.ARCHIVE_HELP)])
        if content_type == "application/json":
            return loading.from_mapping(bodies.loads(body, "{\"files\": {\"path\": \"text\"}}", InvalidRuleSet))
        if content_type in ARCHIVE_TYPES or not content_type:
            return loading.from_archive(body)
        raise InvalidRuleSet(f"unsupported content type {content_type!r}", [ErrorItem(
            path="headers.content-type", message="expected application/json, application/zip or application/gzip")])

    def work() -> tuple[RuleSetVersion, bool]:
        try:
            files = files_of()
        except (InvalidRuleSet, PayloadTooLarge) as exc:
            # every refusal of an authenticated operator is audited alike (the body limit refuses before anyone
            # is known)
            audit.log(versions.db, actor=principal.actor, action="upload", outcome="refused",
                      detail={"detail": exc.detail, "errors": [e.as_dict() for e in exc.errors[:50]]})
            raise
        return versions.store(files, actor=principal.actor)

    row, created = await run_in_threadpool(work)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/rulesets/{row.version}"
    return UploadedRuleSet(**_stored(row, _active_version(versions.db)).model_dump(), created=created,
                           report=ValidationReport.model_validate_json(row.report))


@router.post("/v1/rulesets/reload", summary="Operator: load RULES_DIR from disk as a new version and activate it")
async def reload(activation: ActivationDep, principal: Operator) -> ServedRuleSetSummary:
    loaded = await run_in_threadpool(activation.reload, principal.actor)
    return _served(loaded)


@router.post("/v1/rulesets/{version}/activate", responses={404: documented("No such version")},
             summary="Operator: make a version active everywhere (an earlier one: a rollback)")
async def activate(version: str, activation: ActivationDep, principal: Operator) -> ServedRuleSetSummary:
    loaded = await run_in_threadpool(activation.activate, version, principal.actor)
    return _served(loaded)


@router.post("/v1/rulesets/{version}/preview", responses={404: documented("No such version")},
             summary="Operator: re-evaluate the last recorded assessments under a version: what would appear and "
                     "disappear")
async def preview(version: str, db: DbDep, versions: VersionsDep, serving: ServingDep, principal: Operator,
                  evaluations: EvaluationsDep, limits: LimitsDep,
                  limit: int = Query(100, ge=1, le=1000, description="How many of the latest assessments.")
                  ) -> RuleSetPreview:
    found = await evaluations.run(evaluation.EXPENSIVE, preview_of, db, versions, serving, version, limit, limits)
    return RuleSetPreview.model_validate(found)


@router.get("/v1/audit",
            summary="Operator: uploads, activations, rollbacks, reloads and refused attempts, newest first")
def audit_log(db: DbDep, _: Operator, limit: int = Query(100, ge=1, le=1000, description="Most events to return."),
              before: int | None = Query(None, ge=1, le=MAX_ROW_ID, description="Only events older than this event id.")
              ) -> AuditLog:
    return AuditLog(events=[_event(e) for e in audit.events(db, limit=limit, before_id=before)])
