"""Every call the client makes, described once: the request (method, path, query, body), the service's own model
of the answer, and whether it may be sent again (`Safety`). Both clients send these descriptions; neither knows a
route by itself.

The answers are read with the service's models (`Assessment`, `Comparison`, `RuleList`, ...), so a field the
service adds reaches the client, and with unknown keys ignored, so a client older than its server still reads it.
"""
from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic_core
from pydantic import BaseModel

from service.api.batch import BatchResponse
from service.api.models import (
    ActiveRuleSet,
    AuditLog,
    InstrumentList,
    RuleDetail,
    RuleList,
    RuleSetPreview,
    ServedRuleSetSummary,
    StoredRuleSetDetail,
    StoredRuleSetList,
    UploadedRuleSet,
)
from service.assessments import Comparison
from service.client.retry import Safety
from service.engine.assessment import Assessment
from service.engine.questions import Questions
from service.impact.views import ChangeFeed, ImpactJobView, WebhookStatus
from service.profile.model import Profile

M = TypeVar("M", bound=BaseModel)
#: A business profile: the service's model, or the JSON object as a mapping (validated by the service, which
#: names each wrong path in its 422).
ProfileInput = Profile | Mapping[str, Any]
#: `True`: a fresh key for this call (the same on each of its retries); a string: this key; `False`: none.
IdempotencyKey = bool | str
Params = dict[str, str | int]


@dataclass(frozen=True)
class Call(Generic[M]):
    """One request to the service and the model its answer is read with."""

    method: str
    path: str
    model: type[M]
    safety: Safety
    params: Params = field(default_factory=dict)
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass(frozen=True)
class Result(Generic[M]):
    """An answer: the model (`value`) and what the response said about it."""

    value: M
    status: int
    request_id: str | None  # X-Request-ID: quote it when asking about a request
    ruleset_version: str | None  # X-Ruleset-Version: the rule set that produced the answer, when it names one
    location: str | None  # Location: where a created assessment or rule-set version can be read back
    replayed: bool  # Idempotent-Replayed: true: the answer to an earlier request with the same Idempotency-Key
    subject: str | None  # X-Assessment-Subject: the business an assessment was recorded under, when named
    idempotency_key: str | None  # the key sent, if any
    attempts: int  # how many times the request was sent
    headers: httpx.Headers


# --- assessments -------------------------------------------------------------------------------------------------


def assess(profile: ProfileInput, *, record: bool = True, horizon_days: int | None = None,
           idempotency_key: IdempotencyKey = True, subject: str | None = None) -> Call[Assessment]:
    """Evaluate one profile and record it in the decision log (POST /v1/assessments): 201 with a Location, or 200
    with `record=False` (evaluated only, not readable later). Sent with an Idempotency-Key by default, so a retry
    is answered with the first answer rather than recorded again. `subject` names the business (a customer id):
    portfolio impact and the change feed know it by that name (the answer's X-Assessment-Subject header)."""
    call = _recording_write("/v1/assessments", Assessment, _profile(profile), record, horizon_days, idempotency_key)
    return replace(call, params={**call.params, **_given(subject=subject)})


def assessment(assessment_id: str) -> Call[Assessment]:
    """A recorded assessment, exactly as it was returned (GET /v1/assessments/{id})."""
    return Call("GET", f"/v1/assessments/{_segment(assessment_id)}", Assessment, Safety.READ)


def compare(baseline: ProfileInput, proposed: ProfileInput, *, record: bool = True,
            horizon_days: int | None = None) -> Call[Comparison]:
    """Obligations added, removed, changed and unchanged from a baseline to a proposed profile (POST
    /v1/assessments/compare); each side is recorded as an assessment of its own unless `record=False`."""
    body = {"baseline": _profile(baseline), "proposed": _profile(proposed)}
    return _json_call("POST", "/v1/assessments/compare", Comparison, body, _evaluation_params(record, horizon_days))


def batch(profiles: Sequence[ProfileInput], *, record: bool = True, horizon_days: int | None = None,
          idempotency_key: IdempotencyKey = True) -> Call[BatchResponse]:
    """Up to 1,000 profiles, each assessed and recorded on its own (POST /v1/assessments/batch): a bad profile gets
    its own problem in `items`, not an exception. Sent with an Idempotency-Key by default."""
    return _recording_write("/v1/assessments/batch", BatchResponse, {"profiles": [_profile(p) for p in profiles]},
                            record, horizon_days, idempotency_key)


def questions(profile: ProfileInput, *, limit: int | None = None) -> Call[Questions]:
    """What to ask next about a partial profile (POST /v1/assessments/questions); nothing is recorded."""
    return _json_call("POST", "/v1/assessments/questions", Questions, _profile(profile), _given(limit=limit))


# --- the rule base -----------------------------------------------------------------------------------------------


def rules(*, instrument: str | None = None, kind: str | None = None) -> Call[RuleList]:
    """The rules of the active rule set (GET /v1/rules), only those citing `instrument` or of `kind` when given."""
    return Call("GET", "/v1/rules", RuleList, Safety.READ, _given(instrument=instrument, kind=kind))


def rule(rule_id: str) -> Call[RuleDetail]:
    """One rule in full: its conditions, citations and examples (GET /v1/rules/{rule_id})."""
    return Call("GET", f"/v1/rules/{_segment(rule_id)}", RuleDetail, Safety.READ)


def instruments() -> Call[InstrumentList]:
    """Every instrument the sources name, its rules and legal status (GET /v1/instruments)."""
    return Call("GET", "/v1/instruments", InstrumentList, Safety.READ)


# --- rule sets (the operator calls need an operator token) -------------------------------------------------------


def rulesets() -> Call[StoredRuleSetList]:
    """Every stored rule-set version, newest first (GET /v1/rulesets)."""
    return Call("GET", "/v1/rulesets", StoredRuleSetList, Safety.READ)


def active_ruleset() -> Call[ActiveRuleSet]:
    """The version the answering process serves, and the one before it (GET /v1/rulesets/active)."""
    return Call("GET", "/v1/rulesets/active", ActiveRuleSet, Safety.READ)


def ruleset(version: str) -> Call[StoredRuleSetDetail]:
    """One stored version with its validation report and files (GET /v1/rulesets/{version})."""
    return Call("GET", f"/v1/rulesets/{_segment(version)}", StoredRuleSetDetail, Safety.READ)


def upload_ruleset(rule_set: Path | Mapping[str, str] | bytes, *,
                   content_type: str = "application/zip") -> Call[UploadedRuleSet]:
    """Operator: upload a rule set, validated in full and stored, not active (POST /v1/rulesets): a rule folder (sent
    as a zip), a .zip or .tar.gz file, the files as {relative path: text}, or archive bytes of `content_type`.
    201 stores a new version; 200 names the version that already holds the same content."""
    if isinstance(rule_set, Mapping):
        return _json_call("POST", "/v1/rulesets", UploadedRuleSet, {"files": dict(rule_set)}, safety=Safety.WRITE)
    if isinstance(rule_set, Path):
        if rule_set.is_dir():
            rule_set = zip_folder(rule_set)
        else:
            content_type = "application/zip" if rule_set.suffix == ".zip" else "application/gzip"
            rule_set = rule_set.read_bytes()
    return Call("POST", "/v1/rulesets", UploadedRuleSet, Safety.WRITE, content=rule_set,
                headers={"Content-Type": content_type})


def preview_ruleset(version: str, *, limit: int | None = None) -> Call[RuleSetPreview]:
    """Operator: what activating `version` would change for the latest recorded assessments (POST
    /v1/rulesets/{version}/preview); nothing changes."""
    return Call("POST", f"/v1/rulesets/{_segment(version)}/preview", RuleSetPreview, Safety.READ, _given(limit=limit))


def activate_ruleset(version: str) -> Call[ServedRuleSetSummary]:
    """Operator: make `version` active on every process and replica (an earlier one: a rollback)."""
    return Call("POST", f"/v1/rulesets/{_segment(version)}/activate", ServedRuleSetSummary, Safety.WRITE)


def reload_ruleset() -> Call[ServedRuleSetSummary]:
    """Operator: load the server's RULES_DIR from disk as a new version and activate it (POST /v1/rulesets/reload)."""
    return Call("POST", "/v1/rulesets/reload", ServedRuleSetSummary, Safety.WRITE)


def start_impact(version: str) -> Call[ImpactJobView]:
    """Operator: start re-evaluating every business's latest profile under a stored version against the active one
    (POST /v1/rulesets/{version}/impact): 202 with the job, `location` to follow it."""
    return Call("POST", f"/v1/rulesets/{_segment(version)}/impact", ImpactJobView, Safety.WRITE)


def impact(job: str, *, after: int | None = None, limit: int | None = None) -> Call[ImpactJobView]:
    """Operator: an impact job's progress; once done, its totals and a page of the businesses it changes (the next
    page: `after=value.next_after`)."""
    return Call("GET", f"/v1/impact/{_segment(job)}", ImpactJobView, Safety.READ, _given(after=after, limit=limit))


def changes(*, since: int = 0, limit: int | None = None) -> Call[ChangeFeed]:
    """The change feed after a cursor (GET /v1/changes): the businesses whose obligations changed with each
    activation, oldest first; ask again with `value.next_since`."""
    return Call("GET", "/v1/changes", ChangeFeed, Safety.READ, _given(since=since, limit=limit))


def webhook_status() -> Call[WebhookStatus]:
    """Operator: how far the change feed has been pushed to the webhook, and why it waits when it does."""
    return Call("GET", "/v1/changes/webhook", WebhookStatus, Safety.READ)


def audit(*, limit: int | None = None, before: int | None = None) -> Call[AuditLog]:
    """Operator: uploads, activations, rollbacks and refused attempts, newest first (GET /v1/audit)."""
    return Call("GET", "/v1/audit", AuditLog, Safety.READ, _given(limit=limit, before=before))


# --- building requests -------------------------------------------------------------------------------------------


def zip_folder(folder: Path) -> bytes:
    """A rule folder as a zip of its files (paths relative to the folder; hidden files and folders left out)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _json_call(method: str, path: str, model: type[M], body: Any, params: Params | None = None,
               safety: Safety = Safety.READ, headers: Mapping[str, str] | None = None) -> Call[M]:
    return Call(method, path, model, safety, params or {}, pydantic_core.to_json(body),
                {"Content-Type": "application/json", **(headers or {})})


def _recording_write(path: str, model: type[M], body: Any, record: bool, horizon_days: int | None,
                     idempotency_key: IdempotencyKey) -> Call[M]:
    """An assessment or a batch: with a key, the service answers a resend with the first answer, so it is retried
    like a read; without one, only when never sent (unless nothing is recorded)."""
    key = str(uuid.uuid4()) if idempotency_key is True else (idempotency_key or None)
    safety = Safety.KEYED if key else (Safety.WRITE if record else Safety.READ)
    return _json_call("POST", path, model, body, _evaluation_params(record, horizon_days), safety,
                      {"Idempotency-Key": key} if key else None)


def _profile(profile: ProfileInput) -> Any:
    """A profile as JSON data: a model gives only what was set on it, as the caller stated it."""
    if isinstance(profile, BaseModel):
        return profile.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(profile)


def _evaluation_params(record: bool, horizon_days: int | None) -> Params:
    return _given(record=None if record else "false", horizon_days=horizon_days)


def _given(**params: str | int | None) -> Params:
    """The query parameters given (the service's defaults stand for the others)."""
    return {name: value for name, value in params.items() if value is not None}


def _segment(value: str) -> str:
    """A value as one path segment: an id or version cannot reach another route."""
    return quote(value, safe="")
