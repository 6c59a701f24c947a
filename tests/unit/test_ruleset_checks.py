"""What the rule-set checks refuse, and that each error names the file, the rule and the field."""
from __future__ import annotations

import pytest

from service.errors import InvalidRuleSet
from service.rulebase.loading import from_directory, parse_yaml
from service.rulebase.ruleset import build_ruleset
from tests.helpers import CITATION, write_rules


def problems(tmp_path, rules, examples=None) -> list[str]:
    write_rules(tmp_path, rules, examples)
    with pytest.raises(InvalidRuleSet) as info:
        build_ruleset(from_directory(tmp_path))
    return [str(e) for e in info.value.errors]


def one(tmp_path, rules, examples=None) -> str:
    found = problems(tmp_path, rules, examples)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_rule_passes(tmp_path):
    write_rules(tmp_path, [{"id": "t.ok", "when": [{"service": {"type": "cdn"}}]}])
    assert [r.id for r in build_ruleset(from_directory(tmp_path)).rules] == ["t.ok"]


def test_unknown_field_of_a_rule(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}], "sevrity": "high"}])
    assert msg.startswith("test.yaml:t.x:sevrity: unknown field 'sevrity'") and "severity" in msg


def test_unknown_kind_names_allowed_values(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "kind": "duty", "when": [{"service": {"type": "cdn"}}]}])
    assert msg.startswith("test.yaml:t.x:kind:") and "obligation" in msg and "violation" in msg


def test_duplicate_rule_ids(tmp_path):
    rule = {"id": "t.same", "when": [{"service": {"type": "cdn"}}]}
    assert one(tmp_path, [rule, rule]) == "test.yaml:t.same:id: duplicate rule id (also in test.yaml)"


def test_unknown_fact_type(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"servce": {"type": "cdn"}}]}])
    assert msg.startswith("test.yaml:t.x:when[0].servce:") and "'servce' is neither a profile fact" in msg


def test_unknown_field_of_a_fact(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"typ": "cdn"}}]}])
    assert msg.startswith("test.yaml:t.x:when[0].service.typ:") and "expected one of" in msg


def test_value_not_allowed_names_the_allowed_values(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cloud"}}]}])
    assert msg.startswith("test.yaml:t.x:when[0].service.type:") and "cloud_computing" in msg


def test_operator_on_the_wrong_kind_of_field(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": {"at_least": 3}}}]}])
    assert "when[0].service.type.at_least" in msg and "compares numbers" in msg


def test_variable_used_before_it_is_bound(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"licence": {"region": {"covers": "$r"}}},
                                                {"service": {"region": "$r"}}]}])
    assert "when[0].licence.region.covers" in msg and "$r is used before a condition binds it" in msg


def test_derived_fact_nothing_defines(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "when": [{"big_operator": {}}]}])
    assert msg.startswith("test.yaml:t.x:when[0].big_operator: fact 'big_operator' is neither a profile fact")
    assert msg.endswith("nor derived by any rule")


def test_instrument_missing_from_the_catalogue(tmp_path):
    citation = {**CITATION, "instrument_id": "miit-2099-made-up"}
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}], "citations": [citation]}])
    assert msg.startswith("test.yaml:t.x:citations[0].instrument_id:") and "miit-2099-made-up" in msg


def test_quote_not_in_the_source(tmp_path):
    citation = {**CITATION, "quote": "Enterprises must file a report on the moon every quarter."}
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}], "citations": [citation]}])
    assert msg.startswith("test.yaml:t.x:citations[0].quote:") and "word for word" in msg


def test_a_draft_cannot_be_binding(tmp_path):
    citation = {"instrument_id": "cac-2019-pi-cross-border-assessment-measures-draft",
                "document": "003_d982fa287fc45213.txt",
                "quote": "network operators must record all cross-border transfers and retain the records for at least "
                         "five years."}
    msg = one(tmp_path, [{"id": "t.x", "kind": "obligation", "when": [{"service": {"type": "cdn"}}],
                          "citations": [citation]}])
    assert msg.startswith("test.yaml:t.x:kind:") and "it may report advisory, not obligation" in msg
    assert "a draft is never binding" in msg


MPS_GUIDELINES = {"instrument_id": "mps-2019-internet-pi-security-guidelines", "document": "001_e95f85c7a5551e8f.txt",
                  "quote": "prior explicit consents from the users are compulsory if an application of a user "
                           "profiling service may bring legal consequences to the users."}
CRITICISM = {"instrument_id": "shca-2018-network-security-monitoring-criticism", "document": "003_d982fa287fc45213.txt",
             "quote": "recently criticised four telecoms and internet companies for failing to improve their network "
                      "security monitoring and forecasting systems"}


@pytest.mark.parametrize("kind", ["obligation", "prohibition", "violation"])
def test_guidance_the_sources_call_non_binding_can_only_advise(tmp_path, kind):
    msg = one(tmp_path, [{"id": "t.x", "kind": kind, "when": [{"service": {"type": "user_profiling"}}],
                          "citations": [MPS_GUIDELINES]}])
    assert msg.startswith("test.yaml:t.x:kind:") and "a recommended standard" in msg and f"not {kind}" in msg


def test_guidance_may_advise(tmp_path):
    write_rules(tmp_path, [{"id": "t.x", "kind": "advisory", "when": [{"service": {"type": "user_profiling"}}],
                            "citations": [MPS_GUIDELINES]}])
    assert build_ruleset(from_directory(tmp_path)).rule("t.x").rule.kind.value == "advisory"


def test_the_first_citation_is_what_a_finding_rests_on(tmp_path):
    """A binding instrument cited after a guide does not make the guide's rule binding."""
    msg = one(tmp_path, [{"id": "t.x", "kind": "obligation", "when": [{"service": {"type": "user_profiling"}}],
                          "citations": [MPS_GUIDELINES, CITATION]}])
    assert msg.startswith("test.yaml:t.x:kind:") and "mps-2019-internet-pi-security-guidelines" in msg


def test_a_binding_rule_cannot_start_before_its_instrument_took_effect(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "kind": "obligation", "applies_from": "2017-01-01",
                          "when": [{"service": {"type": "cdn"}}]}])
    assert msg.startswith("test.yaml:t.x:applies_from: 2017-01-01 is before miit-2017-internet-access-market-cleanup "
                          "took effect (2017-01-17): issued is not in force")


def test_a_rule_starts_when_its_instrument_took_effect_unless_it_says_later(tmp_path):
    write_rules(tmp_path, [{"id": "t.default", "when": [{"service": {"type": "cdn"}}]},
                           {"id": "t.later", "applies_from": "2017-04-01", "when": [{"service": {"type": "cdn"}}]}])
    ruleset = build_ruleset(from_directory(tmp_path))
    assert str(ruleset.rule("t.default").rule.applies_from) == "2017-01-17"
    assert str(ruleset.rule("t.later").rule.applies_from) == "2017-04-01"


def test_a_rule_resting_on_an_instrument_with_no_established_date_must_say_when_it_starts(tmp_path):
    citation = {"instrument_id": "miit-2019-ip-address-recordal", "document": "001_e95f85c7a5551e8f.txt",
                "quote": "ISPs shall conduct ordinary business self-inspections."}
    msg = one(tmp_path, [{"id": "t.x", "kind": "obligation", "when": [{"service": {"type": "isp"}}],
                          "citations": [citation]}])
    assert msg.startswith(
        "test.yaml:t.x:applies_from: the day miit-2019-ip-address-recordal took effect is not established")


def test_an_enforcement_report_is_a_notice(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "kind": "obligation", "jurisdiction": "CN-SH",
                          "when": [{"service": {"type": "isp"}}], "citations": [CRITICISM]}])
    assert msg.startswith("test.yaml:t.x:kind:") and "an enforcement action" in msg
    assert "it may report notice, not obligation" in msg


def test_an_interpretation_name_must_be_defined_in_the_file(tmp_path):
    msg = one(tmp_path, [{"id": "t.x", "interpretation": "nowhere", "when": [{"service": {"type": "cdn"}}]}])
    assert msg == "test.yaml:t.x:interpretation: no interpretation named 'nowhere' in this file (it has: none)"


def test_a_regional_instrument_needs_a_regional_rule(tmp_path):
    citation = {"instrument_id": "shanghai-cac-2019-incident-contingency-plan", "document": "003_d982fa287fc45213.txt",
                "quote": "the relevant entity must report it to the competent authority verbally within half an hour "
                         "and in writing within one hour."}
    msg = one(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}], "citations": [citation]}])
    assert msg.startswith("test.yaml:t.x:jurisdiction:") and "CN-SH" in msg


def test_a_chain_that_never_settles(tmp_path):
    found = problems(tmp_path, [
        {"id": "t.flip", "title": "flip flop", "derive": {"on": {}},
         "when": [{"service": {"type": "cdn"}}, {"absent": {"off": {}}}]},
        {"id": "t.flop", "title": "flop flip", "derive": {"off": {}},
         "when": [{"service": {"type": "cdn"}}, {"absent": {"on": {}}}]},
    ])
    assert any(m.startswith("test.yaml:t.flip:when:") and "never settles" in m for m in found)
    assert any(m.startswith("test.yaml:t.flop:when:") and "never settles" in m for m in found)


def test_example_names_must_exist_and_be_valid_profiles(tmp_path):
    found = problems(tmp_path, [{"id": "t.x", "when": [{"service": {"type": "cdn"}}],
                                 "examples": {"fires": ["nowhere"], "quiet": ["bad"]}}],
                     {"bad": {"services": [{"type": "teleport"}]}})
    assert "test.yaml:t.x:examples.fires: no example profile named 'nowhere'" in found
    assert any(m.startswith("test.yaml:examples.bad.services[0].type:") for m in found)


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    found = problems(tmp_path, [
        {"id": "t.a", "when": [{"service": {"type": "nope"}}]},
        {"id": "t.b", "when": [{"licence": {"type": "NOPE"}}]},
    ])
    assert len(found) == 2


def test_examples_that_misbehave_are_refused(tmp_path):
    from service.engine.checks import prepare

    write_rules(tmp_path, [{"id": "t.cdn", "when": [{"service": {"type": "cdn"}}],
                            "examples": {"fires": ["idc"], "quiet": ["cdn"]}}],
                {"idc": {"services": [{"type": "idc"}]}, "cdn": {"services": [{"type": "cdn"}]}})
    with pytest.raises(InvalidRuleSet) as info:
        prepare(from_directory(tmp_path), "t")
    messages = [str(e) for e in info.value.errors]
    assert "test.yaml:t.cdn:examples.fires: the rule does not fire on example 'idc'" in messages
    assert "test.yaml:t.cdn:examples.quiet: the rule fires on its near miss example 'cdn'" in messages


@pytest.mark.parametrize("text, expected", [
    ("a: &x [1]\nb: *x\n", "anchors and aliases are not allowed"),
    ("a: !!python/object/apply:os.system ['true']\n", "YAML:"),
    ("a: !custom 1\n", "YAML:"),
    ("[" * 200 + "]" * 200, "nesting deeper than"),
    ("a: [1\n", "YAML:"),
])
def test_yaml_is_read_safely(text, expected):
    data, error = parse_yaml("x.yaml", text)
    assert data is None and error is not None and expected in error.message and error.file == "x.yaml"
