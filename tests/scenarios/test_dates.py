"""Every dated rule, on both sides of each of its dates: the day before it applies and the day it does, its last
day and the day after, its deadline and the day after. Each rule's own `fires` example is moved in time; the rule
reports on the days inside its window and not outside it, and turns overdue (and into its `overdue` kind) only
after its deadline. The dates come from the rule or, by default, from its instrument's entry into force."""
from __future__ import annotations

import datetime as dt

import pytest

from service.profile.model import Profile
from tests.helpers import RULES

DAY = dt.timedelta(days=1)


def _dated_rules():
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset

    ruleset = build_ruleset(from_directory(RULES))
    return [s.id for s in ruleset.rules if s.rule.kind is not None and not any(v.uses_as_of for v in s.variants)
            and (s.rule.applies_from or s.rule.applies_until or s.rule.deadline)]


def _finding(compiled, profile: Profile, rule_id: str, day: dt.date):
    assessment = compiled.evaluate(profile.model_copy(update={"as_of": day}), "dates")
    return next((o for o in assessment.obligations if o.rule_id == rule_id), None)


@pytest.mark.parametrize("rule_id", _dated_rules())
def test_a_rule_reports_inside_its_dates_and_not_outside(compiled, rule_id):
    spec = compiled.ruleset.rule(rule_id)
    rule = spec.rule
    examples = [compiled.ruleset.examples[name].profile for name in rule.examples.fires]
    # the example that shows the rule inside its window
    profile = next((p for p in examples if _finding(compiled, p, rule_id, p.effective_as_of())), None)
    assert profile is not None, f"{rule_id}: none of its fires examples reports it"
    start, end = rule.applies_from, rule.applies_until
    if start:
        assert _finding(compiled, profile, rule_id, start - DAY) is None, f"reported the day before {start}"
        assert _finding(compiled, profile, rule_id, start) is not None, f"not reported on {start}, its first day"
    if end:
        assert _finding(compiled, profile, rule_id, end) is not None, f"not reported on {end}, its last day"
        assert _finding(compiled, profile, rule_id, end + DAY) is None, f"reported the day after {end}"
    deadline = rule.deadline
    if deadline and (start is None or start <= deadline) and (end is None or deadline <= end):
        on_the_day = _finding(compiled, profile, rule_id, deadline)
        assert on_the_day.kind == rule.kind.value and on_the_day.overdue is False, "overdue on its deadline"
        if end is None or deadline < end:
            after = _finding(compiled, profile, rule_id, deadline + DAY)
            assert after.overdue is True
            assert after.kind == (rule.overdue or rule.kind).value, "a breach only where the rule says so"
