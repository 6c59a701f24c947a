"""The answer: obligations with citations and reasons (CONTRACT.md section 2)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(Answer):
    document: str = Field(description="The source document the quote stands in.")
    quote: str = Field(description="The passage, word for word.")


class Citation(Answer):
    instrument_id: str
    title: str
    issuer: str
    issued: str | None = Field(None, description="As precisely as the sources state it (YYYY, YYYY-MM or YYYY-MM-DD).")
    document_number: str | None = None
    provision: str | None = None
    legal_status: str = Field(description="in_force, not_yet_in_force, draft, superseded, standard or informational, on as_of.")
    final_version: str | None = Field(None, description="For a draft: the instrument id of its final version, when the sources name one.")
    source: Source


class Obligation(Answer):
    rule_id: str
    kind: str = Field(description="obligation, prohibition, violation, advisory or notice.")
    title: str
    summary: str
    severity: str
    deadline: dt.date | None = None
    overdue: bool = Field(False, description="The deadline has passed on as_of.")
    jurisdiction: str = "CN"
    applies_from: dt.date | None = None
    applies_until: dt.date | None = None
    citations: list[Citation] = Field(min_length=1)
    because: list[str] = Field(description="The facts and derived facts that made the rule fire.")
    explanation: str | None = Field(None, description="The reason in one or two plain sentences.")


class DerivedFact(Answer):
    fact: str
    values: dict[str, Any] = Field(default_factory=dict)
    from_rules: list[str]


class RulesetRef(Answer):
    version: str
    digest: str


class Warning(Answer):
    path: str
    message: str


class Upcoming(Answer):
    """A duty whose conditions hold but which applies only after as_of (within the horizon)."""

    starts: dt.date = Field(description="The day the rule starts to apply (its applies_from).")
    days_until: int = Field(description="Days from as_of to starts.")
    obligation: Obligation = Field(description="The finding as it will read on the day it starts.")


class Deadline(Answer):
    """A deadline that falls between as_of and the end of the horizon."""

    date: dt.date
    days_left: int = Field(description="Days from as_of to the deadline (0: due on as_of).")
    rule_id: str
    kind: str
    severity: str
    title: str
    listed_in: str = Field(description="obligations: the duty applies on as_of; upcoming: it starts within the horizon.")


class Assessment(Answer):
    assessment_id: str
    ruleset: RulesetRef
    as_of: dt.date
    horizon_days: int = Field(0, description="How far past as_of `upcoming` and `deadlines` look, in days.")
    obligations: list[Obligation]
    derived_facts: list[DerivedFact]
    upcoming: list[Upcoming] = Field(default_factory=list, description=(
        "Duties whose conditions hold on as_of but which start to apply within the horizon, soonest first."))
    deadlines: list[Deadline] = Field(default_factory=list, description=(
        "Deadlines of the obligations and upcoming duties that fall within the horizon, soonest first."))
    warnings: list[Warning] = Field(default_factory=list)
