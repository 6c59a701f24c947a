"""The answer: obligations with citations and reasons (CONTRACT.md section 2)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AnswerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(AnswerModel):
    document: str = Field(description="The source document the quote stands in.")
    quote: str = Field(description="The passage, word for word.")


class Citation(AnswerModel):
    instrument_id: str
    title: str
    issuer: str
    issued: str | None = Field(None, description="As precisely as the sources state it (YYYY, YYYY-MM or YYYY-MM-DD).")
    document_number: str | None = None
    provision: str | None = None
    legal_status: str = Field(description=(
        "How the instrument stands on as_of: in_force, not_yet_in_force, no_longer_in_force, "
        "in_force_date_not_established, draft, superseded, standard (recommended) or informational."))
    legal_force: str | None = Field(None, description=(
        "The instrument's place in the Chinese legal order (absent only from assessments recorded before it was "
        "added): law, administrative_regulation, departmental_rule, "
        "local_regulation, normative_document, mandatory_standard (these bind), recommended_standard, draft, "
        "enforcement_action or policy_plan (these do not)."))
    in_force_from: dt.date | None = Field(None, description=(
        "The day the instrument took effect (a standard: was implemented); null for a draft or where not established."))
    final_version: str | None = Field(None, description="For a draft: the instrument id of its final version, when the sources name one.")
    source: Source


class ConditionalFact(AnswerModel):
    """A fact the profile does not state on which the finding depends."""

    path: str = Field(description="Where the fact goes in the profile, e.g. licences[0].assured_corresponding_permit.")
    statement: str = Field(description="What the finding depends on, as a question a person can answer.")


class Interpretation(AnswerModel):
    """Where the source is ambiguous or its translation defective: the reading the rule takes."""

    reading: str
    alternative: str
    why: str


class Obligation(AnswerModel):
    """One finding: what the law asks of this business, why it applies, and where the law says so."""

    rule_id: str
    kind: str = Field(description=(
        "obligation, prohibition, violation (these only from an instrument that binds), advisory (drafts, "
        "recommended standards, guidance the sources call non-binding, government programmes) or notice "
        "(campaigns, inspections, enforcement reports, opportunities)."))
    legal_force: str | None = Field(None, description=(
        "The legal force of the instrument the finding rests on (its first citation; absent only from assessments "
        "recorded before it was added): law, "
        "administrative_regulation, departmental_rule, local_regulation, normative_document, mandatory_standard, "
        "recommended_standard, draft, enforcement_action or policy_plan."))
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
    conditional_on: list[ConditionalFact] = Field(default_factory=list, description=(
        "Facts the profile does not state on which this finding depends: stating them may change or remove it "
        "(POST /v1/assessments/questions asks for them)."))
    interpretation: Interpretation | None = Field(None, description=(
        "The reading of an ambiguous or defective source text this finding relies on, the alternative, and why."))
    caveats: list[str] = Field(default_factory=list, description=(
        "What a reader must know to weigh the finding, e.g. that the date its instrument took effect is not established."))


class DerivedFact(AnswerModel):
    fact: str
    values: dict[str, Any] = Field(default_factory=dict)
    from_rules: list[str]


class RuleSetRef(AnswerModel):
    version: str
    digest: str


class ProfileWarning(AnswerModel):
    path: str
    message: str


class Upcoming(AnswerModel):
    """A duty whose conditions hold but which applies only after as_of (within the horizon)."""

    starts: dt.date = Field(description="The day the rule starts to apply (its applies_from).")
    days_until: int = Field(description="Days from as_of to starts.")
    obligation: Obligation = Field(description="The finding as it will read on the day it starts.")


class Deadline(AnswerModel):
    """A deadline that falls between as_of and the end of the horizon."""

    date: dt.date
    days_left: int = Field(description="Days from as_of to the deadline (0: due on as_of).")
    rule_id: str
    kind: str
    severity: str
    title: str
    listed_in: str = Field(description="obligations: the duty applies on as_of; upcoming: it starts within the horizon.")


class Assessment(AnswerModel):
    assessment_id: str
    ruleset: RuleSetRef
    as_of: dt.date
    horizon_days: int = Field(0, description="How far past as_of `upcoming` and `deadlines` look, in days.")
    obligations: list[Obligation]
    derived_facts: list[DerivedFact]
    upcoming: list[Upcoming] = Field(default_factory=list, description=(
        "Duties whose conditions hold on as_of but which start to apply within the horizon, soonest first."))
    deadlines: list[Deadline] = Field(default_factory=list, description=(
        "Deadlines of the obligations and upcoming duties that fall within the horizon, soonest first."))
    warnings: list[ProfileWarning] = Field(default_factory=list)
