"""Realistic businesses, end to end: each scenario file states a profile and the full set of rule ids it must get.

A scenario file (tests/scenarios/*.yaml):

    name: IDC operator with a 2011 permit now selling cloud
    profile: {... as POST /v1/assessments takes it ...}
    expected:                      # every rule id the assessment must report, and no other
      cleanup.beyond-business-scope: violation
      cleanup.pre-2015-idc-permit-scope-only:     # or what the finding must say beside its kind
        kind: prohibition
        legal_force: normative_document
        deadline: null
        conditional_on: [licences[0].assured_corresponding_permit]
      ...
    why: |                         # the reading of the sources behind the expectation, line by line
      ...
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.profile.model import Profile

SCENARIOS = sorted(Path(__file__).parent.glob("*.yaml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(compiled, path):
    scenario = load(path)
    assessment = compiled.evaluate(Profile.model_validate(scenario["profile"]), f"scenario:{path.stem}")
    findings = {o.rule_id: o for o in assessment.obligations}
    got = {rule_id: o.kind for rule_id, o in findings.items()}
    expected = {r: e if isinstance(e, dict) else {"kind": e} for r, e in (scenario["expected"] or {}).items()}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    assert not missing and not unexpected, f"missing {missing}; unexpected {unexpected}"
    wrong_kind = {r: (expected[r]["kind"], got[r]) for r in expected if expected[r]["kind"] != got[r]}
    assert not wrong_kind, f"kinds differ (expected, got): {wrong_kind}"
    for rule_id, want in expected.items():
        finding = findings[rule_id]
        shown = {"kind": finding.kind, "legal_force": finding.legal_force,
                 "deadline": finding.deadline.isoformat() if finding.deadline else None,
                 "overdue": finding.overdue, "conditional_on": [c.path for c in finding.conditional_on]}
        differ = {k: (v, shown[k]) for k, v in want.items() if shown[k] != (str(v) if k == "deadline" and v else v)}
        assert not differ, f"{rule_id}: (expected, got) {differ}"
    for o in assessment.obligations:
        assert o.citations and o.because, o.rule_id


def test_scenario_files_are_complete():
    for path in SCENARIOS:
        scenario = load(path)
        assert {"name", "profile", "expected", "why"} <= set(scenario), path.name
