"""How binding a finding is, from when, for whom, and on what it depends: the write-up of legal characterisation."""
from __future__ import annotations

import datetime as dt

from service.engine.questions import ask
from service.profile.model import Profile
from tests.helpers import CITATION, compile_rules, fired

MPS_GUIDELINES = {"instrument_id": "mps-2019-internet-pi-security-guidelines", "document": "001_e95f85c7a5551e8f.txt",
                  "quote": "prior explicit consents from the users are compulsory if an application of a user "
                           "profiling service may bring legal consequences to the users."}
IP_RECORDAL = {"instrument_id": "miit-2019-ip-address-recordal", "document": "001_e95f85c7a5551e8f.txt",
               "quote": "ISPs shall conduct ordinary business self-inspections."}
SHANGHAI_PLAN = {"instrument_id": "shanghai-cac-2019-incident-contingency-plan", "document": "003_d982fa287fc45213.txt",
                 "quote": "the relevant entity must report it to the competent authority verbally within half an hour "
                          "and in writing within one hour."}
OLD_IDC = {"type": "IDC", "regions": ["CN-BJ"], "granted": "2011-06-01", "scope": ["idc"]}
CLOUD = {"type": "cloud_computing", "regions": ["CN-BJ"], "since": "2016-05-01"}


def test_a_finding_carries_the_legal_force_of_the_instrument_it_rests_on(tmp_path):
    compiled = compile_rules(tmp_path, [
        {"id": "t.guide", "kind": "advisory", "when": [{"service": {"type": "user_profiling"}}],
         "citations": [MPS_GUIDELINES, CITATION]},
        {"id": "t.notice", "when": [{"service": {"type": "cdn"}}]},
    ])
    found = fired(compiled, {"as_of": "2020-10-01", "services": [{"type": "user_profiling"}, {"type": "cdn"}]})
    guide = found["t.guide"]
    assert guide.kind == "advisory" and guide.legal_force == "recommended_standard"
    assert [(c.instrument_id, c.legal_force, c.legal_status) for c in guide.citations] == [
        ("mps-2019-internet-pi-security-guidelines", "recommended_standard", "standard"),
        ("miit-2017-internet-access-market-cleanup", "normative_document", "in_force")]
    assert guide.citations[0].in_force_from == dt.date(2019, 4, 10)
    assert found["t.notice"].legal_force == "normative_document"


def test_a_rule_applies_from_the_day_its_instrument_took_effect(tmp_path):
    compiled = compile_rules(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}]}])
    assert "t.x" not in fired(compiled, {"as_of": "2017-01-16", "services": [{"type": "cdn"}]})
    finding = fired(compiled, {"as_of": "2017-01-17", "services": [{"type": "cdn"}]})["t.x"]
    assert finding.applies_from == dt.date(2017, 1, 17)


def test_a_standard_applies_from_its_implementation_until_it_is_replaced(tmp_path):
    spec_2017 = {"instrument_id": "tc260-2018-pi-security-specification", "document": "003_d982fa287fc45213.txt",
                 "quote": "the Information Security Technology \u2013 Personal Information Security Specification "
                          "which came into effect in 2018"}
    compiled = compile_rules(tmp_path, [{"id": "t.x", "kind": "advisory", "citations": [spec_2017],
                                         "when": [{"data": {"category": "personal_information"}}]}])
    holding = {"data": [{"category": "personal_information"}]}
    assert [d for d in ("2018-04-30", "2018-05-01", "2020-09-30", "2020-10-01")
            if "t.x" in fired(compiled, {"as_of": d, **holding})] == ["2018-05-01", "2020-09-30"]


def test_a_finding_whose_instrument_has_no_established_date_says_so(tmp_path):
    compiled = compile_rules(tmp_path, [{"id": "t.x", "applies_from": "2019-04-11", "citations": [IP_RECORDAL],
                                         "when": [{"service": {"type": "isp"}}]}])
    assert "t.x" not in fired(compiled, {"as_of": "2019-04-10", "services": [{"type": "isp"}]})
    finding = fired(compiled, {"as_of": "2019-04-11", "services": [{"type": "isp"}]})["t.x"]
    assert finding.caveats
    assert finding.caveats[0].startswith("Date of entry into force not established (source 001 says")
    assert "the rule is applied from 11 April 2019" in finding.caveats[0]
    assert finding.citations[0].legal_status == "in_force_date_not_established"


def test_a_finding_that_depends_on_an_unstated_fact_names_it(tmp_path):
    compiled = compile_rules(tmp_path, [
        {"id": "t.unstated", "kind": "prohibition",
         "when": [{"licence": {"type": "IDC", "assured_corresponding_permit": {"given": False}}}]},
        {"id": "t.stated", "kind": "violation",
         "when": [{"licence": {"type": "IDC", "assured_corresponding_permit": False}}]},
    ])
    unstated = fired(compiled, {"as_of": "2017-06-01", "licences": [OLD_IDC]})
    assert list(unstated) == ["t.unstated"]
    [fact] = unstated["t.unstated"].conditional_on
    assert fact.path == "licences[0].assured_corresponding_permit"
    assert "written assurance" in fact.statement
    assert fact.statement.endswith("(licences[0].assured_corresponding_permit).")
    not_assured = {**OLD_IDC, "assured_corresponding_permit": False}
    stated = fired(compiled, {"as_of": "2017-06-01", "licences": [not_assured]})
    assert list(stated) == ["t.stated"] and stated["t.stated"].conditional_on == []
    assured = {**OLD_IDC, "assured_corresponding_permit": True}
    assert fired(compiled, {"as_of": "2017-06-01", "licences": [assured]}) == {}


def test_questions_ask_first_for_what_the_findings_depend_on(tmp_path):
    compiled = compile_rules(tmp_path, [
        {"id": "t.unstated", "kind": "prohibition",
         "when": [{"licence": {"type": "IDC", "assured_corresponding_permit": {"given": False}}}]},
        {"id": "t.stated", "kind": "violation",
         "when": [{"licence": {"type": "IDC", "assured_corresponding_permit": False}}]},
    ])
    answer = ask(compiled, Profile.model_validate({"as_of": "2017-06-01", "licences": [OLD_IDC]}), max_items=100)
    [question] = answer.conditional
    assert question.path == "licences[0].assured_corresponding_permit" and question.findings == ["t.unstated"]
    by_value = {a.value: a for a in question.answers}
    assert [r.rule_id for r in by_value[True].closes] == ["t.unstated"] and by_value[True].opens == []
    assert [r.rule_id for r in by_value[False].opens] == ["t.stated"]
    assert [r.rule_id for r in by_value[False].closes] == ["t.unstated"]
    assert by_value[False].patch == [{"op": "add", "path": "/licences/0/assured_corresponding_permit", "value": False}]


def test_a_named_interpretation_is_shown_with_the_finding(tmp_path):
    import yaml

    from tests.helpers import write_rules

    write_rules(tmp_path, [{"id": "t.x", "interpretation": "dates", "when": [{"service": {"type": "cdn"}}]}])
    path = tmp_path / "test.yaml"
    data = yaml.safe_load(path.read_text())
    data["interpretations"] = {"dates": {"reading": "Assurance first, then the permit.",
                                         "alternative": "As the translation reads.",
                                         "why": "The consequence clauses say so."}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    from service.engine.evaluate import CompiledRuleSet
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset

    compiled = CompiledRuleSet(build_ruleset(from_directory(tmp_path)), "unit")
    finding = fired(compiled, {"as_of": "2020-10-01", "services": [{"type": "cdn"}]})["t.x"]
    assert finding.interpretation is not None and finding.interpretation.reading == "Assurance first, then the permit."
    assert finding.interpretation.why == "The consequence clauses say so."


def test_a_local_instrument_reaches_businesses_there_not_every_nationwide_service(tmp_path):
    compiled = compile_rules(tmp_path, [{"id": "t.sh", "jurisdiction": "CN-SH", "citations": [SHANGHAI_PLAN],
                                         "when": [{"service": {}}]}])
    nationwide = {"as_of": "2020-10-01", "business": {"registered_region": "CN-HB"},
                  "services": [{"type": "mobile_app", "regions": ["CN"]}]}
    assert "t.sh" not in fired(compiled, nationwide)
    assert "t.sh" in fired(compiled, {**nationwide, "business": {"registered_region": "CN-SH"}})
    assert "t.sh" in fired(compiled, {**nationwide, "services": [{"type": "mobile_app", "regions": ["CN", "CN-SH"]}]})
    assert "t.sh" not in fired(compiled, {**nationwide, "as_of": "2019-10-29",
                                          "business": {"registered_region": "CN-SH"}})
