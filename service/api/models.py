"""The answers of the routes that browse the rule base, manage rule sets and report health: one model each, so
that the OpenAPI description states their shape. Field order is key order in the JSON: do not reorder."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from service.api.problems import ProblemError, absent_when_none
from service.engine.assessment import RuleSetRef
from service.rulebase.catalogue import Instrument, LegalForce
from service.rulebase.rule_file import Examples, Kind, RuleCitation, RuleInterpretation, Severity


class ApiModel(BaseModel):
    """A closed shape: a key the route adds without the model is an error in the tests, not a silent change."""

    model_config = ConfigDict(extra="forbid")


# --- health ---------------------------------------------------------------------------------------------------


class Liveness(ApiModel):
    """The process answers (GET /healthz); says nothing about the rule set or the database."""

    status: Literal["ok"] = Field(description="Always ok: an answer at all is the signal.")


class Readiness(ApiModel):
    """Whether this process can serve (GET /readyz): a rule set is loaded and the database answers."""

    status: Literal["ready", "not ready"] = Field(description="ready (HTTP 200) or not ready (HTTP 503).")
    process: int = Field(description="The operating-system id of the worker process that answered.")
    ruleset: RuleSetRef | None = Field(description="The rule-set version this process serves; null when none.")
    problems: list[str] = Field(description=(
        "What keeps it from being ready, or what a ready process reports (a newer version that failed to load)."))


# --- the rule base ----------------------------------------------------------------------------------------------


class FromRuleSet(ApiModel):
    """An answer about the active rule set, naming the version it was read from."""

    ruleset: RuleSetRef = Field(description="The rule-set version the answer was read from.")


class RuleSummary(ApiModel):
    """One rule of the active rule set, as listed."""

    rule_id: str = Field(description="Stable, dotted: instrument-prefix.what.")
    title: str = Field(description="What the rule reports, in a line.")
    kind: Kind | None = Field(description="What the rule reports; null for a rule that only derives facts.")
    severity: Severity = Field(description="How serious a finding of the rule is.")
    jurisdiction: str = Field(description="The region the rule applies in: CN for nationwide.")
    applies_from: dt.date | None = Field(description="First day the rule applies, when set in the rule file.")
    applies_until: dt.date | None = Field(description="Last day the rule applies, when set in the rule file.")
    deadline: dt.date | None = Field(description="The date by which the duty must be met.")
    instruments: list[str] = Field(description="Ids of the instruments the rule cites, sorted.")
    derives: list[str] = Field(description="Names of the facts the rule derives for other rules, sorted.")
    file: str = Field(description="The rule file it comes from.")


class CitedPassage(RuleCitation):
    """A passage a rule cites, with the title of its instrument."""

    title: str | None = Field(description="The instrument's title; null when the catalogue does not list it.")


# the bases in this order put `ruleset` first, then the summary's keys, as the route always answered
class RuleDetail(RuleSummary, FromRuleSet):
    """One rule in full (GET /v1/rules/{rule_id}): its conditions, citations and examples."""

    summary: str = Field(description="What the rule asks or forbids, in a paragraph.")
    overdue: Kind | None = Field(description="The kind reported once as_of is past the deadline.")
    when: list[dict[str, Any]] = Field(description=(
        "Conditions, all of which must hold, as the rule file states them (schemas/rules.schema.json)."))
    derive: dict[str, dict[str, Any]] = Field(description="Facts the rule asserts for other rules, by name.")
    explanation: str | None = Field(description="The reason template: {placeholders} are filled from the facts.")
    interpretation: RuleInterpretation | None = Field(description=(
        "The reading the rule takes of an ambiguous or defective source text, the alternative, and why."))
    legal_force: LegalForce | None = Field(description=(
        "The legal force of the instrument a finding rests on (the first citation's); null without a citation."))
    citations: list[CitedPassage] = Field(description="The passages the rule comes from; the first is the basis.")
    examples: Examples = Field(description="The example profiles that must and must not trigger the rule.")
    phase: int = Field(description="The evaluation phase gating it: a rule with `absent` waits for what it negates.")


class RuleList(FromRuleSet):
    """The rules of the active rule set (GET /v1/rules), filtered as asked."""

    count: int = Field(description="How many rules are listed.")
    rules: list[RuleSummary] = Field(description="The rules, in the order of the rule set.")


class CataloguedInstrument(Instrument):
    """An instrument of the catalogue, how it stands today, and the rules that cite it."""

    # named apart from Instrument.legal_status(as_of), which it is the answer of for today
    legal_status_today: str = Field(alias="legal_status", description=(
        "How it stands today: in_force, not_yet_in_force, no_longer_in_force, in_force_date_not_established, "
        "draft, superseded, standard or informational."))
    rules: list[str] = Field(description="Ids of the rules that cite it; empty when it carries no rule.")


class InstrumentList(FromRuleSet):
    """Every instrument the sources name (GET /v1/instruments), with or without rules."""

    count: int = Field(description="How many instruments are listed.")
    instruments: list[CataloguedInstrument] = Field(description="The catalogue, in its order.")


# --- rule sets --------------------------------------------------------------------------------------------------


class ServedRuleSetSummary(ApiModel):
    """A rule-set version as this process loaded it (the answer to activate and reload)."""

    version: str = Field(description="The version's name.")
    digest: str = Field(description="The SHA-256 of its files: the same content is the same digest.")
    rule_count: int = Field(description="How many rules it has.")
    loaded_at: dt.datetime = Field(description="When this process compiled it (UTC).")
    loaded_by: str = Field(description="Who activated it: a token's fingerprint (token:...) or startup.")
    activated_at: dt.datetime | None = Field(description=(
        "When it was made active (UTC); null when served from RULES_DIR without the database."))


class ActiveRuleSet(ServedRuleSetSummary):
    """The version this process serves (GET /v1/rulesets/active), and what the database says is active."""

    database_version: str | None = Field(description=(
        "The version the database names active; another one here means this process has not caught up yet."))
    previous_version: str | None = Field(description="The version active before it: what a rollback goes back to.")
    load_error: str | None = Field(description="Why the last attempt to load a newer version failed, if it did.")


class StoredRuleSet(ApiModel):
    """A stored rule-set version."""

    version: str = Field(description="The version's name.")
    digest: str = Field(description="The SHA-256 of its files: the same content is the same digest.")
    rule_count: int = Field(description="How many rules it has.")
    created_at: dt.datetime = Field(description="When it was stored (UTC).")
    created_by: str = Field(description="Who stored it: a token's fingerprint, or startup.")
    active: bool = Field(description="Whether it is the active version.")


class StoredRuleSetList(ApiModel):
    """Every stored rule-set version, newest first (GET /v1/rulesets)."""

    active: str | None = Field(description="The active version; null before any is activated.")
    versions: list[StoredRuleSet] = Field(description="The stored versions, newest first.")


class ValidationReport(ApiModel):
    """What validating a rule set in full checked: a version is stored only when nothing failed."""

    rules: int = Field(description="Rules in the rule set.")
    examples: int = Field(description="Example profiles in its files.")
    checks: int = Field(description="Example checks run: each rule against each of its fires and quiet examples.")
    failures: list[ProblemError] = Field(description="Examples that did not behave: always empty once stored.")


class StoredRuleSetDetail(StoredRuleSet):
    """One stored version (GET /v1/rulesets/{version}): its validation report and its files."""

    report: ValidationReport = Field(description="What validating it when it was stored found.")
    files: list[str] = Field(description="The paths of its files, sorted.")


class UploadedRuleSet(StoredRuleSet):
    """A version an upload stored (201), or the stored version with the same content (200)."""

    # this answer has always written the time with a space ("2026-01-02 03:04:05.678901+00:00"), unlike the others
    created_at: Annotated[dt.datetime, PlainSerializer(str, return_type=str)] = Field(description=(
        "When it was stored (UTC), written as date and time separated by a space."))
    created: bool = Field(description="True: stored now (201); false: the same content was already stored (200).")
    report: ValidationReport = Field(description="What validating it found.")


class KindChange(ApiModel):
    """A rule whose finding changes kind under the previewed version."""

    from_: str = Field(alias="from", description="The kind in the recorded assessment.")
    to: str = Field(description="The kind under the previewed version.")


class PreviewedAssessment(ApiModel):
    """One recorded assessment re-evaluated under the previewed version, or why it could not be."""

    assessment_id: str = Field(description="The recorded assessment.")
    as_of: dt.date = Field(description="Its as_of.")
    recorded_version: str = Field(description="The version it was recorded under.")
    error: str | None = Field(None, exclude_if=absent_when_none, description=(
        "Why it was not re-evaluated; present instead of appear, disappear and kind_changes."))
    appear: list[str] | None = Field(None, exclude_if=absent_when_none, description="Rules it would newly trigger.")
    disappear: list[str] | None = Field(None, exclude_if=absent_when_none, description=(
        "Rules it would no longer trigger."))
    kind_changes: dict[str, KindChange] | None = Field(None, exclude_if=absent_when_none, description=(
        "Rules whose finding would change kind, by rule id."))


class RuleSetPreview(ApiModel):
    """What activating a version would change for the latest recorded assessments (nothing is recorded)."""

    version: str = Field(description="The previewed version.")
    digest: str = Field(description="Its digest.")
    compared_with_active: str | None = Field(description="The version this process serves; null when none.")
    assessments: int = Field(description="How many recorded assessments were re-evaluated.")
    changed: int = Field(description="How many of them would change.")
    rules_appearing: dict[str, int] = Field(description="Rules that would newly fire, with how many assessments.")
    rules_disappearing: dict[str, int] = Field(description="Rules that would stop firing, with how many assessments.")
    items: list[PreviewedAssessment] = Field(description="Each assessment, newest first.")


class AuditEntry(ApiModel):
    """One audited operator action or refused attempt."""

    id: int = Field(description="The event id: `before` pages on it.")
    at: dt.datetime = Field(description="When it happened (UTC).")
    actor: str = Field(description="Who: a token's fingerprint (token:...), anonymous, or startup.")
    action: str = Field(description=(
        "What: upload, startup, reload, activate or rollback; for a request refused its token, the method and path "
        "(the first 20 characters)."))
    outcome: str = Field(description="How it went: stored, unchanged, ok, failed, refused, unauthorized or forbidden.")
    from_version: str | None = Field(description="The version active before, for an activation.")
    to_version: str | None = Field(description="The version stored or activated.")
    digest: str | None = Field(description="The digest of to_version.")
    detail: dict[str, Any] = Field(description="What else is known: counts, or the errors of a refusal.")


class AuditLog(ApiModel):
    """The audit log, newest first (GET /v1/audit)."""

    events: list[AuditEntry] = Field(description="The events, newest first.")
