"""The instrument catalogue (rules/instruments.yaml): every legal instrument the sources name.

Citations name an instrument by id; the catalogue supplies the title, issuer, dates and
status an assessment shows. Instruments that place no duty on a business are listed
too, with the reason, so "no rule" is a stated judgement rather than an omission.
"""
from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.profile import regions

PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class Status(StrEnum):
    final = "final"
    draft = "draft"
    campaign = "campaign"
    plan = "plan"
    standard = "standard"
    report = "report"
    referenced = "referenced"


class Instrument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    issuer: str
    title: str
    issued: str | None = Field(None, pattern=PARTIAL_DATE, description="As precisely as the sources state it.")
    effective: str | None = Field(None, pattern=PARTIAL_DATE)
    document_number: str | None = None
    status: Status
    jurisdiction: str = "CN"
    seeds: list[str] = Field(min_length=1, description="Source documents (rules/sources/) that mention it.")
    binds: str = Field(description="Whom the sources say it places duties on.")
    business_duty: bool = Field(description="Whether it places a duty, prohibition, condition or procedure on a business.")
    no_duty_reason: str | None = Field(None, description="Why it carries no business duty (when business_duty is false).")
    final_version: str | None = Field(None, description="For a draft: the final instrument the sources name.")
    superseded_by: str | None = Field(None, description="The instrument that replaced this one.")

    @field_validator("issued", "effective", "document_number", mode="before")
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
    def _reason(self) -> "Instrument":
        if not self.business_duty and not self.no_duty_reason:
            raise ValueError("an instrument without a business duty needs no_duty_reason")
        if self.final_version and self.status != Status.draft:
            raise ValueError("only a draft has a final_version")
        return self

    def effective_date(self) -> dt.date | None:
        """The effective date, when the sources give a full day."""
        if self.effective and re.match(r"^\d{4}-\d{2}-\d{2}$", self.effective):
            return dt.date.fromisoformat(self.effective)
        return None

    def legal_status(self, as_of: dt.date, superseded_from: dt.date | None = None) -> str:
        """How the instrument stands on `as_of`: in_force, not_yet_in_force, draft, superseded, standard, informational.

        `superseded_from` is when its successor took effect, when the sources say (superseded before that date
        means nothing yet)."""
        if self.status == Status.draft:
            return "draft"
        if self.superseded_by and (superseded_from is None or as_of >= superseded_from):
            return "superseded"
        effective = self.effective_date()
        if effective and as_of < effective:
            return "not_yet_in_force"
        if self.status == Status.standard:
            return "standard"
        if self.status in (Status.report, Status.plan) and not self.business_duty:
            return "informational"
        return "in_force"


class Catalogue:
    def __init__(self, instruments: list[Instrument]):
        self.instruments = {i.id: i for i in instruments}

    def __contains__(self, instrument_id: str) -> bool:
        return instrument_id in self.instruments

    def get(self, instrument_id: str) -> Instrument | None:
        return self.instruments.get(instrument_id)

    def __iter__(self):
        return iter(self.instruments.values())

    def __len__(self) -> int:
        return len(self.instruments)

    def legal_status(self, instrument_id: str, as_of: dt.date) -> str:
        inst = self.instruments[instrument_id]
        successor = self.instruments.get(inst.superseded_by) if inst.superseded_by else None
        return inst.legal_status(as_of, successor.effective_date() if successor else None)
