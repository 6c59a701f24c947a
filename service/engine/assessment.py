"""The answer: obligations with citations and reasons (CONTRACT.md section 2)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

#: The answer as JSON data: dicts and lists in the order of the models' fields below, dates as dates, pieces rendered
#: once as orjson fragments. The engine writes the answer as this data, not as a tree of models: building and dumping
#: the models cost more than evaluating a small profile.
AnswerData = dict[str, Any]


def dump(data: AnswerData) -> bytes:
    """The answer's JSON text: byte for byte what `Assessment.model_dump_json` writes for the same answer (compact,
    fields in the models' order, dates as YYYY-MM-DD, UTF-8 as is; tests/golden holds this to every answer)."""
    return orjson.dumps(data)


class AnswerModel(BaseModel):
    """The objects of the answer: no fields beyond the ones declared."""

    model_config = ConfigDict(extra="forbid")


class Source(AnswerModel):
    """The passage a citation quotes, and the document it stands in."""

    document: str = Field(description=(
        "The source document the quote stands in: a file of the rule set's sources, e.g. 004_b81d122921d22990.txt."))
    quote: str = Field(description="The passage, word for word.")


class Citation(AnswerModel):
    """Where the law says so: one passage of one instrument, with how that instrument stands on as_of."""

    instrument_id: str = Field(description=(
        "The instrument's id in the catalogue of the rule base (GET /v1/instruments), e.g. "
        "miit-2017-internet-access-market-cleanup."))
    title: str = Field(description="The instrument's title, as the catalogue gives it.")
    issuer: str = Field(description="The authority that issued the instrument, e.g. MIIT, CAC, State Council.")
    issued: str | None = Field(None, description=(
        "The day the instrument was issued (issued is not in force: see in_force_from), as precisely as the sources "
        "state it (YYYY, YYYY-MM or YYYY-MM-DD); null where not known."))
    document_number: str | None = Field(None, description=(
        "The instrument's official document number, e.g. MIIT Infocom. Dept. Doc. No. [2012] 552; null when it has "
        "none or the sources do not give it."))
    provision: str | None = Field(None, description=(
        "The article, section or item quoted, as the source numbers it, e.g. II(I)2; null when none is given."))
    legal_status: str = Field(description=(
        "How the instrument stands on as_of: in_force, not_yet_in_force, no_longer_in_force, "
        "in_force_date_not_established, draft, superseded (replaced by a later instrument), standard (recommended) "
        "or informational (a plan or enforcement report that places no duty on a business)."))
    legal_force: str | None = Field(None, description=(
        "The instrument's place in the Chinese legal order (absent only from assessments recorded before it was "
        "added): law, administrative_regulation, departmental_rule, "
        "local_regulation, normative_document, mandatory_standard (these bind), recommended_standard, draft, "
        "enforcement_action or policy_plan (these do not)."))
    in_force_from: dt.date | None = Field(None, description=(
        "The day the instrument took effect (a standard: was implemented); null for a draft or where not established."))
    final_version: str | None = Field(None, description=(
        "For a draft: the instrument id of its final version, when the sources name one."))
    source: Source = Field(description="The passage quoted, word for word, and the source document it stands in.")


class ConditionalFact(AnswerModel):
    """A fact the profile does not state on which the finding depends."""

    path: str = Field(description="Where the fact goes in the profile, e.g. licences[0].assured_corresponding_permit.")
    statement: str = Field(description="What the finding depends on, as a question a person can answer.")


class Interpretation(AnswerModel):
    """Where the source is ambiguous or its translation defective: the reading the rule takes."""

    reading: str = Field(description="The reading the rule takes.")
    alternative: str = Field(description="The other reading the text allows.")
    why: str = Field(description="Why this reading: the text, its consequence clauses, the official text.")


class Obligation(AnswerModel):
    """One finding: what the law asks of this business, why it applies, and where the law says so."""

    rule_id: str = Field(description=(
        "The rule that reports the finding (GET /v1/rules/{rule_id}): stable and dotted, instrument prefix first, "
        "e.g. cleanup.pre-2015-idc-permit-cease."))
    kind: str = Field(description=(
        "obligation, prohibition, violation (these only from an instrument that binds), advisory (drafts, "
        "recommended standards, guidance the sources call non-binding, government programmes) or notice "
        "(campaigns, inspections, enforcement reports, opportunities)."))
    legal_force: str | None = Field(None, description=(
        "The legal force of the instrument the finding rests on (its first citation; absent only from assessments "
        "recorded before it was added): law, "
        "administrative_regulation, departmental_rule, local_regulation, normative_document, mandatory_standard, "
        "recommended_standard, draft, enforcement_action or policy_plan."))
    title: str = Field(description="The finding in one line.")
    summary: str = Field(description="What the rule says the law asks, in a few sentences (may be empty).")
    severity: str = Field(description=(
        "How serious the finding is: critical, high, medium, low or info. Findings are listed by kind (violations "
        "first), then by severity."))
    deadline: dt.date | None = Field(None, description=(
        "The day by which the duty must be met, as the source sets it; null when it sets none."))
    overdue: bool = Field(False, description=(
        "The deadline has passed on as_of. A missed deadline is reported as a violation only where the text makes it "
        "a breach; otherwise the duty stays a duty, overdue."))
    jurisdiction: str = Field("CN", description=(
        "Where the rule applies: CN for all of mainland China, or the ISO 3166-2:CN code of a province or city "
        "(e.g. CN-GD-SZ) for a local rule."))
    applies_from: dt.date | None = Field(None, description=(
        "The first day the rule applies: the day its instrument took effect, or a later day the text gives (a "
        "transition); null when the rule has no start day (a draft, or an instrument whose day of entry into force "
        "is not established: caveats say so)."))
    applies_until: dt.date | None = Field(None, description=(
        "The last day the rule applies (e.g. the last day its instrument applied: a campaign that ended, a repeal); "
        "null when it has no end."))
    citations: list[Citation] = Field(min_length=1, description=(
        "The passages the finding comes from, at least one. The first is the instrument the finding rests on: its "
        "legal force is the finding's legal_force."))
    because: list[str] = Field(description=(
        "The facts and derived facts that made the rule fire, and the absences it relied on, in the profile's codes "
        "(e.g. \"service cloud_computing in CN-BJ\", \"no licence covers cloud_computing\")."))
    explanation: str | None = Field(None, description="The reason in one or two plain sentences.")
    conditional_on: list[ConditionalFact] = Field(default_factory=list, description=(
        "Facts the profile does not state on which this finding depends: stating them may change or remove it "
        "(POST /v1/assessments/questions asks for them)."))
    interpretation: Interpretation | None = Field(None, description=(
        "The reading of an ambiguous or defective source text this finding relies on, the alternative, and why."))
    caveats: list[str] = Field(default_factory=list, description=(
        "What a reader must know to weigh the finding, e.g. that the date its instrument took effect is not "
        "established."))


class DerivedFact(AnswerModel):
    """A fact the rules derived from the profile for other rules to match (e.g. that a service is internet access
    business under the IDC permit): the steps between the profile and the findings."""

    fact: str = Field(description="The derived fact's name, as the rule base defines it, e.g. internet_access_service.")
    values: dict[str, Any] = Field(default_factory=dict, description=(
        "Its fields and their values in the profile's codes (dates as YYYY-MM-DD), e.g. {\"service\": "
        "\"cloud_computing\", \"region\": \"CN-BJ\", \"permit\": \"IDC\"}; empty for a fact without fields."))
    from_rules: list[str] = Field(description="The rules that derived it (rule ids, sorted).")


class RuleSetRef(AnswerModel):
    """The rule-set version an answer was evaluated under."""

    version: str = Field(description=(
        "The version label, e.g. 2026.11.22-3; local-<digest prefix> for rule files served while the database was "
        "unreachable at start-up (not stored yet)."))
    digest: str = Field(description="sha256 over the version's files (sha256:<hex>): the same files, the same digest.")


class ProfileWarning(AnswerModel):
    """Something the profile states that was not assessed."""

    path: str = Field(description="Where it is in the profile, e.g. services[0].attributes.colour.")
    message: str = Field(description=(
        "Why it was not assessed: an attribute no rule reads, or a region outside mainland China (CN-HK, CN-MO, "
        "CN-TW), which the rule base does not cover."))


class Upcoming(AnswerModel):
    """A duty whose conditions hold but which applies only after as_of (within the horizon)."""

    starts: dt.date = Field(description="The day the rule starts to apply (its applies_from).")
    days_until: int = Field(description="Days from as_of to starts.")
    obligation: Obligation = Field(description="The finding as it will read on the day it starts.")


class Deadline(AnswerModel):
    """A deadline that falls between as_of and the end of the horizon."""

    date: dt.date = Field(description="The deadline: the day by which the duty must be met.")
    days_left: int = Field(description="Days from as_of to the deadline (0: due on as_of).")
    rule_id: str = Field(description="The rule of the finding the deadline belongs to.")
    kind: str = Field(description="The finding's kind (obligation, prohibition, violation, advisory or notice).")
    severity: str = Field(description="The finding's severity (critical, high, medium, low or info).")
    title: str = Field(description="The finding's title.")
    listed_in: str = Field(description=(
        "obligations: the duty applies on as_of; upcoming: it starts within the horizon."))


class Assessment(AnswerModel):
    """The answer for one profile: the findings that apply on as_of, each with its citations and reasons; the duties
    that start and the deadlines that fall within the horizon; and what the profile states that was not assessed.
    It is recorded in the decision log exactly as returned: GET /v1/assessments/{id} gives the same bytes."""

    assessment_id: str = Field(description=(
        "The assessment's id, a ULID (26 characters, sorting by time): GET /v1/assessments/{assessment_id} returns "
        "the assessment as recorded (nothing is recorded with ?record=false)."))
    ruleset: RuleSetRef = Field(description="The rule-set version the profile was evaluated under.")
    as_of: dt.date = Field(description=(
        "The date the law was applied at: the profile's as_of, or the day of evaluation when it gives none."))
    horizon_days: int = Field(0, description="How far past as_of `upcoming` and `deadlines` look, in days.")
    obligations: list[Obligation] = Field(description=(
        "The findings that apply on as_of, of every kind, most serious first: by kind (violation, prohibition, "
        "obligation, advisory, notice), then by severity."))
    derived_facts: list[DerivedFact] = Field(description=(
        "The facts the rules derived from the profile on the way to the findings (see each finding's because)."))
    upcoming: list[Upcoming] = Field(default_factory=list, description=(
        "Duties whose conditions hold on as_of but which start to apply within the horizon, soonest first."))
    deadlines: list[Deadline] = Field(default_factory=list, description=(
        "Deadlines of the obligations and upcoming duties that fall within the horizon, soonest first."))
    warnings: list[ProfileWarning] = Field(default_factory=list, description=(
        "What the profile states that was not assessed: attributes no rule reads, and regions outside mainland "
        "China."))
