"""The answers of the portfolio-impact and change-feed routes: one model each, so the OpenAPI description states
their shape. Field order is key order in the JSON."""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from service.api.models import ApiModel
from service.businesses import DIGEST_PREFIX
from service.store.tables import ChangeEvent, ImpactItem, ImpactJob, WebhookCursor, utcnow


class Finding(ApiModel):
    """An obligation added or removed for a business."""

    rule_id: str = Field(description="The rule that reports it.")
    instrument_id: str | None = Field(description="The instrument it rests on (its first citation).")
    kind: str = Field(description="obligation, prohibition, violation, advisory or notice.")
    severity: str = Field(description="How serious it is.")
    title: str = Field(description="What the rule reports, in a line.")


class ChangedFinding(Finding):
    """An obligation reported under both versions, differently (its summary is the new version's)."""

    fields: list[str] = Field(description="The fields of the finding that differ.")
    before: dict[str, Any] = Field(description="The plain (non-list) fields that differ, as they were.")
    after: dict[str, Any] = Field(description="... and as they become.")


class BusinessChanges(ApiModel):
    """What changes for one business."""

    added: list[Finding] = Field(description="Obligations the new version reports and the baseline does not.")
    removed: list[Finding] = Field(description="Obligations the baseline reports and the new version does not.")
    changed: list[ChangedFinding] = Field(description="Obligations both report, differently.")


def subject_of(business: str) -> str | None:
    """The caller's subject a business key is, or None for a business known by its profile's digest."""
    return None if business.startswith(DIGEST_PREFIX) else business


class ImpactedBusiness(ApiModel):
    """One business whose obligations change, or that could not be evaluated."""

    business: str = Field(description="The business: its subject, else sha256: and its profile's digest.")
    subject: str | None = Field(description="The subject it was assessed under; null when none was given.")
    assessment_id: str = Field(description="Its latest assessment: the profile re-evaluated.")
    attempts: int = Field(description="How many times it was claimed (1 unless a worker died holding it).")
    changes: BusinessChanges | None = Field(description="What changes; null when it could not be evaluated.")
    error: str | None = Field(description="Why it could not be evaluated (beyond a bound, a profile that no "
                                          "longer validates); null when it was.")

    @classmethod
    def of(cls, item: ImpactItem, result: dict[str, Any]) -> ImpactedBusiness:
        error = result.get("error")
        return cls(business=item.business, subject=subject_of(item.business), assessment_id=item.assessment_id,
                   attempts=item.attempts, changes=None if error else BusinessChanges.model_validate(result),
                   error=error)


class Counts(ApiModel):
    """How many businesses see a rule's (or an instrument's) obligations added, removed or changed."""

    added: int = Field(description="Businesses for which the rule's (or instrument's) obligation is added.")
    removed: int = Field(description="... removed.")
    changed: int = Field(description="... changed.")


class Totals(ApiModel):
    """Totals over every business, computed from the results when the job is done."""

    businesses_changed: int = Field(description="Businesses with at least one obligation added, removed or changed.")
    businesses_failed: int = Field(description="Businesses that could not be evaluated.")
    by_rule: dict[str, Counts] = Field(description="By rule id.")
    by_instrument: dict[str, Counts] = Field(description="By instrument id (of each finding's first citation).")


class ImpactJobView(ApiModel):
    """A portfolio impact job: its progress, and once done its totals and a page of the businesses it changes."""

    job: str = Field(description="The job id (GET /v1/impact/{job}).")
    version: str = Field(description="The version whose impact is measured.")
    digest: str = Field(description="Its digest.")
    baseline_version: str = Field(description="The version compared with: the one active when the job started.")
    reason: Literal["requested", "activation"] = Field(description=(
        "requested: an operator asked (POST /v1/rulesets/{version}/impact); activation: the change feed's job."))
    state: Literal["running", "done"] = Field(description="running until every business is evaluated.")
    created_at: dt.datetime = Field(description="When it started (UTC).")
    created_by: str = Field(description="Who started it.")
    finished_at: dt.datetime | None = Field(description="When it was done; null while running.")
    total: int = Field(description="Businesses: each one's latest recorded profile is re-evaluated.")
    done: int = Field(description="Businesses evaluated.")
    failed: int = Field(description="Businesses that could not be evaluated.")
    pending: int = Field(description="Businesses not yet evaluated (some may be in a worker's hands).")
    totals: Totals | None = Field(description="Once done: the totals; null while running.")
    businesses: list[ImpactedBusiness] = Field(description=(
        "Once done: a page of the businesses whose obligations change or that could not be evaluated."))
    next_after: int | None = Field(description="The `after` of the next page; null on the last one.")

    @classmethod
    def of(cls, job: ImpactJob, counts: dict[str, int], page: list[ImpactedBusiness],
           next_after: int | None) -> ImpactJobView:
        totals = Totals.model_validate_json(job.totals) if job.totals else None
        return cls(job=job.id, version=job.version, digest=job.digest, baseline_version=job.baseline_version,
                   reason=job.reason, state=job.state, created_at=job.created_at,
                   created_by=job.created_by, finished_at=job.finished_at, total=job.total,
                   done=counts["done"], failed=counts["failed"], pending=counts["pending"] + counts["claimed"],
                   totals=totals, businesses=page, next_after=next_after)


class ChangeEventView(ApiModel):
    """One business whose obligations changed with an activation."""

    cursor: int = Field(description="The event's place in the feed: ask for events `since` it.")
    at: dt.datetime = Field(description="When it was published (UTC).")
    version: str = Field(description="The version activated.")
    previous_version: str = Field(description="The version it replaced.")
    job: str = Field(description="The impact job that compared them (GET /v1/impact/{job}).")
    business: str = Field(description="The business: its subject, else sha256: and its profile's digest.")
    subject: str | None = Field(description="The subject it was assessed under; null when none was given.")
    assessment_id: str = Field(description="Its latest assessment: the profile compared.")
    changes: BusinessChanges = Field(description="What changed.")

    @classmethod
    def of(cls, event: ChangeEvent) -> ChangeEventView:
        return cls(cursor=event.id or 0, at=event.created_at, version=event.version,
                   previous_version=event.previous_version, job=event.job_id, business=event.business,
                   subject=subject_of(event.business), assessment_id=event.assessment_id,
                   changes=BusinessChanges.model_validate_json(event.changes))


class ChangeFeed(ApiModel):
    """Events after the cursor asked for, oldest first."""

    events: list[ChangeEventView] = Field(description="At most `limit` events.")
    next_since: int = Field(description="The `since` of the next call (the last event's cursor, or the same).")


def public_url(url: str) -> str:
    """A URL without what may be secret in it (user, password, query, fragment)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


class WebhookStatus(ApiModel):
    """How far the change feed has been pushed to the webhook, and why it waits when it does."""

    configured: bool = Field(description="Whether a webhook is configured (CHANGE_WEBHOOK_URL) in this process.")
    url: str | None = Field(description="Where events are sent (without credentials or query); null when none.")
    delivered: int = Field(description="The cursor of the last event the receiver accepted (0: none yet).")
    latest: int = Field(description="The cursor of the newest event in the feed (0: none).")
    behind: int = Field(description="Events not yet accepted by the receiver.")
    sending_process: str | None = Field(description="The process that holds the right to send (host:pid:...), "
                                                    "while its lease lasts; null when none does.")
    failures: int = Field(description="Failed attempts in a row at the batch in hand (0 after a success).")
    next_attempt_at: dt.datetime | None = Field(description="When a failed batch is tried again (UTC); null when "
                                                            "nothing waits.")
    last_attempt_at: dt.datetime | None = Field(description="The last attempt (UTC).")
    last_status: int | None = Field(description="The receiver's HTTP status then; null when it did not answer.")
    last_error: str | None = Field(description="Why the last attempt failed; null after a success.")
    last_delivered_at: dt.datetime | None = Field(description="The last accepted batch (UTC).")

    @classmethod
    def of(cls, url: str, cursor: WebhookCursor | None, latest: int, behind: int) -> WebhookStatus:
        leased = cursor is not None and cursor.lease_until is not None and _aware(cursor.lease_until) > utcnow()
        return cls(configured=bool(url), url=public_url(url) if url else None,
                   delivered=cursor.delivered if cursor else 0, latest=latest, behind=behind,
                   sending_process=cursor.leased_by if cursor and leased else None,
                   failures=cursor.failures if cursor else 0,
                   next_attempt_at=cursor.next_attempt_at if cursor else None,
                   last_attempt_at=cursor.last_attempt_at if cursor else None,
                   last_status=cursor.last_status if cursor else None,
                   last_error=cursor.last_error if cursor else None,
                   last_delivered_at=cursor.last_delivered_at if cursor else None)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
