"""The shape of a rule file, as analysts write it (one YAML file per legal instrument).

```yaml
instrument: miit-2017-internet-access-market-cleanup
rules:
  - id: cleanup.cdn-without-permit
    kind: violation
    severity: high
    title: CDN service offered without a CDN permit for that region
    summary: ...
    when:
      - service: {type: cdn, region: $r}
      - absent:
          licence: {scope: {includes: cdn}, region: {covers: $r}}
    citations:
      - instrument_id: miit-2017-internet-access-market-cleanup
        provision: "II(I)1(1)"
        document: 004_b81d122921d22990.txt
        quote: "Businesses without permits, ..."
    examples:
      fires: [cdn-in-guangdong-no-licence]
      quiet: [cdn-in-guangdong-with-cdn-licence]
examples:
  cdn-in-guangdong-no-licence:
    as_of: 2017-06-01
    services: [{type: cdn, regions: [CN-GD]}]
```

The `when` conditions are checked in `conditions.py` against the fact vocabulary; this
module checks everything else about a rule's shape.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.profile import regions

RULE_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$"
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
EXAMPLE_NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Kind(StrEnum):
    """What a finding is: a breach the facts show (violation), a duty not to act (prohibition), a duty to act
    (obligation), guidance or a draft's expectation that binds no one (advisory), or something to know (notice).
    Declared in the order an assessment lists them: breaches first, heads-ups last."""

    violation = "violation"
    prohibition = "prohibition"
    obligation = "obligation"
    advisory = "advisory"
    notice = "notice"


#: Kind -> its place in an assessment's listing (the enum's order).
KIND_ORDER: dict[str, int] = {kind.value: i for i, kind in enumerate(Kind)}


class Severity(StrEnum):
    """How much a finding weighs, critical first: the rule's author's reading of its consequences."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


#: Severity -> its place in an assessment's listing within a kind (the enum's order).
SEVERITY_ORDER: dict[str, int] = {severity.value: i for i, severity in enumerate(Severity)}


def listing_key(kind: str, severity: str, rule_id: str) -> tuple[int, int, str]:
    """Where a finding goes in a listing: by kind, then severity, then rule id (stable across runs)."""
    return KIND_ORDER[kind], SEVERITY_ORDER[severity], rule_id


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleCitation(RuleModel):
    instrument_id: str = Field(description="An id of the instrument catalogue (rules/instruments.yaml).")
    provision: str | None = Field(
        None, max_length=80, description="Article, section or item, as the source numbers it.")
    document: str = Field(description="The source document (a file in rules/sources/) the quote stands in.")
    quote: str = Field(min_length=20, max_length=4000, description="The passage, word for word.")


class RuleInterpretation(RuleModel):
    """Where the text is ambiguous or the translation defective: the reading the rule takes, and why."""

    reading: str = Field(min_length=10, max_length=2000, description="The reading the rule takes.")
    alternative: str = Field(min_length=10, max_length=2000, description="The other reading the text allows.")
    why: str = Field(min_length=10, max_length=2000,
                     description="Why this reading: the text, its consequence clauses, the official text.")


class Examples(RuleModel):
    """The example profiles a rule is checked against: some must trigger it, near misses must not."""

    fires: list[str] = Field(min_length=1, description="Example profiles that must trigger the rule.")
    quiet: list[str] = Field(min_length=1, description="Near misses: example profiles that must not trigger it.")


class Rule(RuleModel):
    id: str = Field(pattern=RULE_ID_PATTERN, max_length=120, description="Stable, dotted: instrument-prefix.what.")
    title: str = Field(min_length=5, max_length=200)
    summary: str = Field("", max_length=4000)
    kind: Kind | None = Field(
        None, description="What the rule reports. A rule without a kind only derives facts for other rules."
    )
    severity: Severity = Severity.medium
    when: list[dict[str, Any]] = Field(min_length=1, max_length=16, description="Conditions, all of which must hold.")
    derive: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Facts this rule asserts for other rules to match (forward chaining)."
    )
    deadline: dt.date | None = Field(None, description="The date by which the duty must be met.")
    overdue: Kind | None = Field(None, description="The kind reported once as_of is past the deadline.")
    applies_from: dt.date | None = Field(None, description=(
        "First day the rule applies (as_of on or after it). Defaults to the day the instrument of the first "
        "citation took effect; set it only for a later start (a transition, a consequence that starts later)."))
    applies_until: dt.date | None = Field(None, description=(
        "Last day the rule applies (as_of on or before it). Defaults to the instrument's last day in force, if any."))
    jurisdiction: str = Field("CN", description="Region the rule applies in: CN for nationwide.")
    explanation: str | None = Field(
        None, max_length=600,
        description="One or two plain sentences with {placeholders} filled from the matched facts.",
    )
    citations: list[RuleCitation] = Field(default_factory=list, max_length=12, description=(
        "The passages the rule comes from. The first is the instrument the finding rests on: its legal force "
        "decides what the rule may report, and its date of entry into force when the rule starts to apply."))
    interpretation: RuleInterpretation | str | None = Field(None, description=(
        "The reading taken where the text is ambiguous or the translation defective, the alternative, and why; or "
        "the name of one of the file's `interpretations`, when several rules rely on the same reading."))
    examples: Examples

    @field_validator("jurisdiction")
    @classmethod
    def _region(cls, value: str) -> str:
        if not regions.is_region(value):
            raise ValueError(f"{value!r} is not a region: expected {regions.REGION_HELP}")
        return value

    @field_validator("derive")
    @classmethod
    def _derive_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        import re

        for name, fields in value.items():
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"derived fact name {name!r} must be a lower-case identifier")
            if not isinstance(fields, dict):
                raise ValueError(f"derived fact {name!r} must map field names to values or $variables")
            for field in fields:
                if not isinstance(field, str) or not re.match(NAME_PATTERN, field):
                    raise ValueError(f"field {field!r} of derived fact {name!r} must be a lower-case identifier")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.kind is None and not self.derive:
            raise ValueError("a rule needs a kind (what it reports), a derive section (facts it asserts), or both")
        if self.kind is not None and not self.citations:
            raise ValueError("a rule that reports something needs at least one citation")
        if self.overdue is not None and self.deadline is None:
            raise ValueError("overdue needs a deadline")
        if self.applies_from and self.applies_until and self.applies_until < self.applies_from:
            raise ValueError("applies_until is before applies_from")
        return self


class RuleFile(RuleModel):
    instrument: str | None = Field(None, description="The instrument the file's rules derive from.")
    interpretations: dict[str, RuleInterpretation] = Field(default_factory=dict, description=(
        "Readings several rules of the file rely on, by name (a rule's `interpretation` names one)."))
    rules: list[Rule] = Field(default_factory=list)
    examples: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Example profiles, by name, in the shape of POST /v1/assessments."
    )

    @field_validator("examples")
    @classmethod
    def _example_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        import re

        for name in value:
            if not re.match(EXAMPLE_NAME_PATTERN, str(name)):
                raise ValueError(f"example name {name!r} must be lower-case words joined by hyphens")
        return value


CONDITION_SCHEMA: dict[str, Any] = {
    "description": (
        "One condition. `<fact>: {field: test}` requires a fact of that type (a profile fact such as service, "
        "licence, business, data, cross_border, network_resource, product, presence; or a derived fact); "
        "`absent: {<fact>: {...}}` requires that no such fact exists; `any: [...]` requires one of its options "
        "(each a condition or a list of conditions). A test is a value (equality; `$name` binds or joins a "
        "variable) or one of: in, not, not_in, at_least, more_than, at_most, less_than, before, after, "
        "on_or_before, on_or_after, includes, includes_any, covers, within, given; `as: $name` names the field's value."
    ),
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
}
