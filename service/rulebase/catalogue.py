"""The instrument catalogue (rules/instruments.yaml): every legal instrument the sources name.

Citations name an instrument by id; the catalogue supplies the title, issuer, dates and
status an assessment shows. Instruments that place no duty on a business are listed
too, with the reason, so "no rule" is a stated judgement rather than an omission.

Each instrument has a `legal_force`, its place in the Chinese legal order, which decides
what a rule resting on it may report (only instruments that bind give obligations,
prohibitions and violations), and the day it took effect (`in_force_from`), with where
that date comes from: issued is not in force.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.profile import regions

from .rule_file import KIND_ORDER

PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class Status(StrEnum):
    """What the source documents call an instrument (its legal force says what it can bind)."""

    final = "final"
    draft = "draft"
    campaign = "campaign"
    plan = "plan"
    standard = "standard"
    report = "report"
    referenced = "referenced"


class LegalForce(StrEnum):
    """An instrument's place in the Chinese legal order."""

    law = "law"  # adopted by the NPC or its Standing Committee
    administrative_regulation = "administrative_regulation"  # State Council
    departmental_rule = "departmental_rule"  # a ministry's or commission's order
    local_regulation = "local_regulation"  # a local people's congress or government
    normative_document = "normative_document"  # notices, opinions, circulars that bind those they address
    mandatory_standard = "mandatory_standard"  # GB
    recommended_standard = "recommended_standard"  # GB/T, industry standards, technical and practice guides
    draft = "draft"  # for comment: never binding
    enforcement_action = "enforcement_action"  # an inspection, campaign of the authorities, criticism or case report
    policy_plan = "policy_plan"  # a policy plan, programme or report

    @property
    def is_binding(self) -> bool:
        return self in BINDING_FORCES

    @property
    def kinds(self) -> frozenset[str]:
        """What a rule resting on an instrument of this force may report."""
        return KINDS_BY_FORCE[self]


BINDING_FORCES = frozenset({LegalForce.law, LegalForce.administrative_regulation, LegalForce.departmental_rule,
                            LegalForce.local_regulation, LegalForce.normative_document, LegalForce.mandatory_standard})
_ALL_KINDS = frozenset(KIND_ORDER)
#: Guidance, recommended standards, drafts and government programmes are heads-ups (advisory); enforcement
#: actions and campaigns of the authorities are notices; a plan may also announce an opportunity (notice).
KINDS_BY_FORCE: dict[LegalForce, frozenset[str]] = {
    **{force: _ALL_KINDS for force in BINDING_FORCES},
    LegalForce.recommended_standard: frozenset({"advisory"}),
    LegalForce.draft: frozenset({"advisory"}),
    LegalForce.policy_plan: frozenset({"advisory", "notice"}),
    LegalForce.enforcement_action: frozenset({"notice"}),
}


class Instrument(BaseModel):
    """A legal instrument of the catalogue (rules/instruments.yaml): what every citation names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
                    description="The catalogue's identifier, the one every citation uses (shared/instruments.tsv).")
    issuer: str = Field(description="The authority that issued it, as the sources name it.")
    title: str = Field(description="Its title, in English as the sources give it.")
    issued: str | None = Field(None, pattern=PARTIAL_DATE, description=(
        "As precisely as established: the sources, or the official text recorded in in_force_source."))
    document_number: str | None = Field(None, description="Its official document number, where the sources give one.")
    status: Status = Field(
        description="What the sources call it: final, draft, campaign, plan, standard, report, referenced.")
    legal_force: LegalForce = Field(description="Its place in the Chinese legal order: what it can bind.")
    in_force_from: dt.date | None = Field(None, description=(
        "The day it took effect (for a standard: was implemented). Null for a draft, and where it is not established."))
    in_force_until: dt.date | None = Field(
        None, description="The last day it applied (a campaign that ended, a repeal).")
    in_force_source: str | None = Field(None, max_length=1000, description=(
        "Where in_force_from (and in_force_until) come from: the source document, or the official text or legal "
        "database consulted; or, when the date is not established, why."))
    jurisdiction: str = Field("CN", description=(
        "Where it applies: CN for the whole country, or a region's code (CN-SH, CN-GD-SZ) for a local instrument."))
    seeds: list[str] = Field(min_length=1, description="Source documents (rules/sources/) that mention it.")
    binds: str = Field(description="Whom the sources say it places duties on.")
    business_duty: bool = Field(
        description="Whether it places a duty, prohibition, condition or procedure on a business.")
    no_duty_reason: str | None = Field(
        None, description="Why it carries no business duty (when business_duty is false).")
    final_version: str | None = Field(None, description="For a draft: the final instrument the sources name.")
    superseded_by: str | None = Field(None, description="The instrument that replaced this one.")

    @field_validator("issued", "document_number", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, (dt.date,)):
            return value.isoformat()
        if isinstance(value, int):
            return str(value)
        return value or None

    @field_validator("jurisdiction")
    @classmethod
    def _region(cls, value: str) -> str:
        if not regions.is_region(value):
            raise ValueError(f"{value!r} is not a region: expected {regions.REGION_HELP}")
        return value

    @model_validator(mode="after")
    def _reason(self) -> Instrument:
        if not self.business_duty and not self.no_duty_reason:
            raise ValueError("an instrument without a business duty needs no_duty_reason")
        if self.final_version and self.status != Status.draft:
            raise ValueError("only a draft has a final_version")
        if (self.status == Status.draft) != (self.legal_force == LegalForce.draft):
            raise ValueError("status draft and legal_force draft go together: a draft for comment is never binding")
        if self.legal_force == LegalForce.draft and self.in_force_from is not None:
            raise ValueError("a draft is never in force: in_force_from must be null")
        if self.in_force_from and self.in_force_until and self.in_force_until < self.in_force_from:
            raise ValueError("in_force_until is before in_force_from")
        if (self.in_force_from or self.in_force_until) and not self.in_force_source:
            raise ValueError("say where the dates come from (in_force_source): the sources, or the official text "
                             "consulted")
        undated = self.in_force_from is None and not self.in_force_source
        if self.legal_force.is_binding and self.business_duty and undated:
            raise ValueError("a binding instrument needs in_force_from, or in_force_source saying why the date of "
                             "entry into force is not established")
        return self

    def legal_status(self, as_of: dt.date, superseded_from: dt.date | None = None) -> str:
        """How the instrument stands on `as_of`: in_force, not_yet_in_force, no_longer_in_force,
        in_force_date_not_established, draft, superseded, standard, informational.

        `superseded_from` is when its successor took effect, when known (superseded before that date
        means nothing yet)."""
        if self.legal_force == LegalForce.draft:
            return "draft"
        if self.superseded_by and (superseded_from is None or as_of >= superseded_from):
            return "superseded"
        if self.in_force_from and as_of < self.in_force_from:
            return "not_yet_in_force"
        if self.in_force_until and as_of > self.in_force_until:
            return "no_longer_in_force"
        if self.legal_force == LegalForce.recommended_standard:
            return "standard"
        if self.legal_force in (LegalForce.policy_plan, LegalForce.enforcement_action) and not self.business_duty:
            return "informational"
        if self.in_force_from is None:
            return "in_force_date_not_established"
        return "in_force"


class Catalogue:
    def __init__(self, instruments: list[Instrument]):
        self.instruments = {i.id: i for i in instruments}

    def __contains__(self, instrument_id: str) -> bool:
        return instrument_id in self.instruments

    def get(self, instrument_id: str) -> Instrument | None:
        return self.instruments.get(instrument_id)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self.instruments.values())

    def __len__(self) -> int:
        return len(self.instruments)

    def legal_status(self, instrument_id: str, as_of: dt.date) -> str:
        inst = self.instruments[instrument_id]
        successor = self.instruments.get(inst.superseded_by) if inst.superseded_by else None
        return inst.legal_status(as_of, successor.in_force_from if successor else None)
