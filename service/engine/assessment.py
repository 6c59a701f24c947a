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

    starts: dt.date
    obligation: Obligation


class Assessment(Answer):
    assessment_id: str
    ruleset: RulesetRef
    as_of: dt.date
    obligations: list[Obligation]
    derived_facts: list[DerivedFact]
    upcoming: list[Upcoming] = Field(default_factory=list)
    warnings: list[Warning] = Field(default_factory=list)
