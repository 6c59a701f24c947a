"""Explanation templates: their syntax, what the checks refuse (naming file, rule and field), and how they read."""
from __future__ import annotations

import pytest

from service.errors import InvalidRuleSet
from service.profile import labels
from service.rulebase import explanations
from service.rulebase.loading import from_directory
from service.rulebase.ruleset import build_ruleset
from tests.helpers import compile_rules, fired, write_rules

CDN_BEYOND_REGION = {
    "id": "t.cdn-beyond-region",
    "kind": "violation",
    "when": [{"service": {"type": {"in": ["cdn", "cloud_computing"], "as": "$t"}, "region": "$r"}},
             {"absent": {"licence": {"scope": {"includes": "$t"}, "region": {"covers": "$r"}}}}],
}


def problems(tmp_path, rule: dict) -> list[str]:
    write_rules(tmp_path, [rule])
    with pytest.raises(InvalidRuleSet) as info:
        build_ruleset(from_directory(tmp_path))
    return [str(e) for e in info.value.errors]


# --- syntax ----------------------------------------------------------------------------------------
def test_parse_splits_text_and_placeholders():
    template, errors = explanations.parse("You offer {$t} in {service.region|or}; see {deadline|code}. {{literal}}")
    assert errors == []
    kinds = [(p.kind, p.name, p.field, p.conjunction, p.code) for p in template.placeholders]
    assert kinds == [("var", "$t", "", "and", False), ("field", "service", "region", "or", False),
                     ("date", "deadline", "", "and", True)]
    assert template.parts[-1] == ". {literal}"


@pytest.mark.parametrize("text, fragment", [
    ("You offer {$t", "unmatched '{'"),
    ("braces } alone", "unmatched '}'"),
    ("{}", "empty placeholder"),
    ("{$T}", "not a variable name"),
    ("{$as_of}", "write {as_of}"),
    ("{service}", "expected a variable"),
    ("{service.type|upper}", "unknown filter 'upper'"),
])
def test_parse_refuses_malformed_placeholders(text, fragment):
    template, errors = explanations.parse(text)
    assert template is None and any(fragment in e for e in errors), errors


# --- checks against the rule ---------------------------------------------------------------------
def test_a_template_naming_what_the_rule_matched_passes(tmp_path):
    rule = dict(CDN_BEYOND_REGION, explanation="You offer {$t} in {$r} ({service.type|code}, {service.region|code}).")
    write_rules(tmp_path, [rule])
    spec = build_ruleset(from_directory(tmp_path)).rule("t.cdn-beyond-region")
    assert spec.explanation is not None and len(spec.explanation.placeholders) == 4


@pytest.mark.parametrize("template, fragment", [
    ("{$x} is not bound", "{$x}: no condition of the rule binds $x (bound: $r, $t)"),
    ("{licence.type}", "{licence.type}: the rule's conditions match no licence fact"),
    ("{product.kind}", "match no product fact"),
    ("{servce.type}", "'servce' is neither a profile fact nor derived by any rule"),
    ("{service.colour}", "service has no field 'colour'"),
    ("{service.since}", "do not test service.since"),
    ("{deadline}", "the rule has no deadline"),
    ("{service.type", "unmatched '{'"),
])
def test_the_checks_refuse_templates_naming_unknown_things(tmp_path, template, fragment):
    found = problems(tmp_path, dict(CDN_BEYOND_REGION, explanation=template))
    assert len(found) == 1, found
    assert found[0].startswith("test.yaml:t.cdn-beyond-region:explanation: "), found[0]
    assert fragment in found[0], found[0]


def test_a_variable_bound_in_only_some_alternatives_is_refused(tmp_path):
    rule = {"id": "t.any", "when": [{"any": [{"service": {"type": "cdn", "region": "$r"}},
                                             {"licence": {"type": "CDN"}}]}],
            "explanation": "Somewhere in {$r}."}
    found = problems(tmp_path, rule)
    assert len(found) == 1 and "not bound in every alternative" in found[0] and "alternatives 2" in found[0]


def test_a_fact_matched_in_only_some_alternatives_is_refused(tmp_path):
    rule = {"id": "t.any", "when": [{"any": [{"service": {"type": "cdn"}}, {"licence": {"type": "CDN"}}]}],
            "explanation": "You offer {service.type}."}
    found = problems(tmp_path, rule)
    assert len(found) == 1 and "alternative 2 of the rule's `any` match no service fact" in found[0]


def test_a_rule_that_only_derives_has_nothing_to_explain(tmp_path):
    rule = {"id": "t.derive", "when": [{"service": {"type": "cdn"}}], "derive": {"cdn_business": {}},
            "explanation": "You offer CDN."}
    found = problems(tmp_path, rule)
    assert found == ["test.yaml:t.derive:explanation: a rule that reports nothing has nothing to explain: remove it"]


def test_fields_every_fact_carries_and_derived_fields_need_no_test(tmp_path):
    rules = [
        {"id": "t.category", "when": [{"service": {"type": {"in": ["cdn", "idc"], "as": "$t"}, "region": "$r"}}],
         "derive": {"access": {"service": "$t", "region": "$r"}}},
        {"id": "t.uses", "when": [{"access": {}}, {"licence": {"granted": {"before": "2015-01-01"}}}],
         "explanation": "You offer {access.service} in {access.region} under {licence.type} permits."},
    ]
    write_rules(tmp_path, rules)
    assert build_ruleset(from_directory(tmp_path)).rule("t.uses").explanation is not None


# --- rendering -----------------------------------------------------------------------------------
def test_regions_and_types_read_as_words_and_several_matches_are_listed(tmp_path):
    rule = dict(CDN_BEYOND_REGION, explanation="You offer {$t} in {$r}, and none of your licences covers {$t} "
                                                "in {service.region|or}.")
    compiled = compile_rules(tmp_path, [rule])
    try:
        got = fired(compiled, {"services": [{"type": "cdn", "regions": ["CN-SH", "CN-GD", "CN-GD-SZ"]}],
                               "licences": [{"type": "CDN", "regions": ["CN-BJ"]}]})
        assert got["t.cdn-beyond-region"].explanation == (
            "You offer CDN in Guangdong (CN-GD), Shanghai (CN-SH) and Shenzhen (CN-GD-SZ), and none of your licences "
            "covers CDN in Guangdong (CN-GD), Shanghai (CN-SH) or Shenzhen (CN-GD-SZ).")
        one = fired(compiled, {"services": [{"type": "cloud_computing", "regions": ["CN-GD"]}]})
        assert one["t.cdn-beyond-region"].explanation == (
            "You offer cloud computing in Guangdong (CN-GD), and none of your licences covers cloud computing in "
            "Guangdong (CN-GD).")
    finally:
        compiled.close()


def test_dates_numbers_and_codes(tmp_path):
    rule = {"id": "t.users", "deadline": "2017-03-31",
            "when": [{"service": {"type": "mobile_app", "attributes": {"users": {"at_least": 1000}}}}],
            "explanation": "{service.type} with {service.attributes.users} users; due {deadline} ({deadline|code}), "
                           "judged on {as_of}; type {service.type|code}."}
    compiled = compile_rules(tmp_path, [rule])
    try:
        got = fired(compiled, {"as_of": "2017-02-01", "services": [
            {"type": "mobile_app", "attributes": {"users": 2500000}},
            {"type": "mobile_app", "attributes": {"users": 1500}}]})
        assert got["t.users"].explanation == (
            "A mobile app with 1,500 and 2,500,000 users; due 31 March 2017 (2017-03-31), judged on 1 February 2017; "
            "type mobile_app.")
    finally:
        compiled.close()


def test_without_a_template_the_title_and_reasons_make_the_sentence(tmp_path):
    compiled = compile_rules(tmp_path, [{"id": "t.plain", "title": "CDN needs a permit",
                                         "when": [{"service": {"type": "cdn", "region": "$r"}}]}])
    try:
        got = fired(compiled, {"services": [{"type": "cdn", "regions": ["CN-GD"]}]})
        assert got["t.plain"].explanation == (
            "CDN needs a permit. This applies because the profile shows: service cdn in CN-GD.")
    finally:
        compiled.close()


def test_labels_join_naturally_and_bound_long_lists():
    assert labels.join(["A"]) == "A"
    assert labels.join(["A", "B"], "or") == "A or B"
    assert labels.join(["A", "B", "C"]) == "A, B and C"
    assert labels.join([str(i) for i in range(12)]) == "0, 1, 2, 3, 4, 5, 6 and 5 others"
    assert labels.region("CN") == "all of China (CN)" and labels.region("CN-GD-XX") == "CN-GD-XX"
    assert labels.country("DE") == "Germany (DE)" and labels.country("ZZ") == "ZZ"


# --- the repository's rule base --------------------------------------------------------------------
def test_every_rule_that_reports_has_a_template(compiled):
    missing = [s.id for s in compiled.ruleset.rules if s.rule.kind is not None and s.explanation is None]
    assert missing == [], f"rules without an explanation template: {missing}"


def test_every_example_finding_reads_from_its_template(compiled):
    """Each rule's example profiles: the explanation is the template filled in (never the fallback, never a brace)."""
    seen = 0
    for name, example in compiled.ruleset.examples.items():
        assessment = compiled.evaluate(example.profile, "example", horizon_days=365)
        for o in assessment.obligations + [u.obligation for u in assessment.upcoming]:
            seen += 1
            assert o.explanation and "{" not in o.explanation and "}" not in o.explanation, (name, o.rule_id)
            assert "This applies because the profile shows" not in o.explanation, (name, o.rule_id, o.explanation)
            assert len(o.explanation) <= 700, (name, o.rule_id)
    assert seen > 500
