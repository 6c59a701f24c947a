"""The condition language evaluated by the engine: each form, joins, absence, chaining, dates."""
from __future__ import annotations

import pytest

from service.profile.model import Profile
from tests.helpers import compile_rules, fired


@pytest.fixture
def rules(tmp_path):
    made = []

    def build(rule_list, examples=None):
        c = compile_rules(tmp_path / f"r{len(made)}", rule_list, examples)
        made.append(c)
        return c

    yield build
    for c in made:
        c.close()


def svc(type_, regions=("CN-BJ",), **attributes):
    out = {"type": type_, "regions": list(regions)}
    if attributes:
        out["attributes"] = attributes
    return out


def lic(type_, regions):
    return {"type": type_, "regions": list(regions)}


def test_equality_on_a_field(rules):
    c = rules([{"id": "t.cdn", "when": [{"service": {"type": "cdn"}}]}])
    assert "t.cdn" in fired(c, {"services": [svc("cdn")]})
    assert "t.cdn" not in fired(c, {"services": [svc("idc")]})


def test_membership_in_a_list_of_values(rules):
    c = rules([{"id": "t.in", "when": [{"service": {"type": {"in": ["idc", "cdn"]}}}]}])
    assert "t.in" in fired(c, {"services": [svc("idc")]})
    assert "t.in" in fired(c, {"services": [svc("cdn")]})
    assert "t.in" not in fired(c, {"services": [svc("isp")]})


def test_not_and_not_in(rules):
    c = rules([
        {"id": "t.not", "when": [{"data": {"location": {"not": "CN"}}}]},
        {"id": "t.notin", "when": [{"service": {"type": {"not_in": ["idc", "cdn"]}}}]},
    ])
    assert "t.not" in fired(c, {"data": [{"category": "personal_information", "location": "SG"}]})
    assert "t.not" not in fired(c, {"data": [{"category": "personal_information", "location": "CN"}]})
    # an absent field is not "different": the rule needs the fact stated
    assert "t.not" not in fired(c, {"data": [{"category": "personal_information"}]})
    assert "t.notin" in fired(c, {"services": [svc("isp")]})
    assert "t.notin" not in fired(c, {"services": [svc("cdn")]})


def test_numeric_comparisons(rules):
    c = rules([
        {"id": "t.atleast", "when": [{"service": {"attributes": {"users": {"at_least": 1000000}}}}]},
        {"id": "t.lessthan", "when": [{"data": {"volume": {"less_than": 100}}}]},
    ])
    assert "t.atleast" in fired(c, {"services": [svc("mobile_app", users=1000000)]})
    assert "t.atleast" not in fired(c, {"services": [svc("mobile_app", users=999999)]})
    assert "t.atleast" not in fired(c, {"services": [svc("mobile_app")]})
    assert "t.lessthan" in fired(c, {"data": [{"category": "industrial_data", "volume": 99}]})
    assert "t.lessthan" not in fired(c, {"data": [{"category": "industrial_data", "volume": 100}]})


def test_date_comparison_with_a_constant(rules):
    c = rules([{"id": "t.old", "when": [{"licence": {"type": "IDC", "granted": {"before": "2015-01-01"}}}]}])
    assert "t.old" in fired(c, {"licences": [{"type": "IDC", "granted": "2014-12-31"}]})
    assert "t.old" not in fired(c, {"licences": [{"type": "IDC", "granted": "2015-01-01"}]})


def test_date_comparison_against_as_of(rules):
    c = rules([{"id": "t.started", "when": [{"service": {"since": {"on_or_before": "$as_of"}}}]}])
    profile = {"services": [{"type": "idc", "regions": ["CN-BJ"], "since": "2020-01-01"}]}
    assert "t.started" in fired(c, {**profile, "as_of": "2020-01-01"})
    assert "t.started" not in fired(c, {**profile, "as_of": "2019-12-31"})


def test_list_fields_with_includes(rules):
    c = rules([
        {"id": "t.children", "when": [{"data": {"subjects": {"includes": "children"}}}]},
        {"id": "t.health-ads",
         "when": [{"service": {"attributes": {"content_types": {"includes_any": ["medical", "health_food"]}}}}]},
    ])
    pi = {"category": "personal_information"}
    assert "t.children" in fired(c, {"data": [{**pi, "subjects": ["adults", "children"]}]})
    assert "t.children" not in fired(c, {"data": [{**pi, "subjects": ["adults"]}]})
    assert "t.health-ads" in fired(c, {"services": [svc("online_advertising", content_types=["food", "health_food"])]})
    assert "t.health-ads" not in fired(c, {"services": [svc("online_advertising", content_types=["food"])]})


def test_any_is_or(rules):
    c = rules([{"id": "t.or", "when": [{"any": [{"business": {"cii_operator": True}},
                                                 {"data": {"category": "important_data"}}]}]}])
    assert "t.or" in fired(c, {"business": {"cii_operator": True}})
    assert "t.or" in fired(c, {"data": [{"category": "important_data"}]})
    assert "t.or" not in fired(c, {"business": {"cii_operator": False}})


def test_join_across_facts_with_region_coverage(rules):
    c = rules([{"id": "t.covered", "when": [
        {"service": {"type": "cdn", "region": "$r"}},
        {"licence": {"type": "CDN", "region": {"covers": "$r"}}},
    ]}])
    cdn_sz = {"services": [svc("cdn", ["CN-GD-SZ"])]}
    assert "t.covered" in fired(c, {**cdn_sz, "licences": [lic("CDN", ["CN-GD"])]})
    assert "t.covered" in fired(c, {**cdn_sz, "licences": [lic("CDN", ["CN"])]})
    assert "t.covered" in fired(c, {**cdn_sz, "licences": [lic("CDN", ["CN-GD-SZ"])]})
    assert "t.covered" not in fired(c, {**cdn_sz, "licences": [lic("CDN", ["CN-SH"])]})
    assert "t.covered" not in fired(c, {**cdn_sz, "licences": [{"type": "IDC", "regions": ["CN"]}]})
    # a provincial licence does not cover a nationwide service
    assert "t.covered" not in fired(c, {"services": [svc("cdn", ["CN"])], "licences": [lic("CDN", ["CN-GD"])]})


def test_absence_no_licence_covers_the_service(rules):
    c = rules([{"id": "t.unlicensed", "when": [
        {"service": {"type": "cdn", "region": "$r"}},
        {"absent": {"licence": {"type": "CDN", "region": {"covers": "$r"}}}},
    ]}])
    ob = fired(c, {"services": [svc("cdn", ["CN-GD"])]})
    assert "t.unlicensed" in ob
    assert ob["t.unlicensed"].because == ["service cdn in CN-GD", "no licence with type CDN, region covering CN-GD"]
    assert "t.unlicensed" not in fired(c, {"services": [svc("cdn", ["CN-GD"])], "licences": [lic("CDN", ["CN-GD"])]})
    # the licence is listed before the service in the facts: absence is judged after all facts are in
    assert "t.unlicensed" not in fired(c, {"licences": [lic("CDN", ["CN"])], "services": [svc("cdn", ["CN-GD"])]})


def test_absence_sees_a_fact_another_pattern_of_the_rule_bound(rules):
    """A licence matched by a positive pattern must still count in the rule's absence test."""
    c = rules([{"id": "t.elsewhere", "when": [
        {"service": {"type": "cdn", "region": "$r"}},
        {"licence": {"type": "CDN"}},
        {"absent": {"licence": {"type": "CDN", "region": {"covers": "$r"}}}},
    ]}])
    assert "t.elsewhere" not in fired(c, {"services": [svc("cdn", ["CN-GD"])], "licences": [lic("CDN", ["CN-GD"])]})
    assert "t.elsewhere" in fired(c, {"services": [svc("cdn", ["CN-GD"])], "licences": [lic("CDN", ["CN-BJ"])]})


def test_two_patterns_may_match_the_same_fact(rules):
    c = rules([{"id": "t.same", "when": [{"licence": {"type": "CDN"}}, {"licence": {"region": "CN-GD"}}]}])
    assert "t.same" in fired(c, {"licences": [lic("CDN", ["CN-GD"])]})


def test_given_tests_whether_a_field_is_stated(rules):
    c = rules([{"id": "t.unknown", "when": [{"cross_border": {"kind": "vpn", "approved": {"given": False}}}]}])
    assert "t.unknown" in fired(c, {"cross_border": [{"kind": "vpn"}]})
    assert "t.unknown" not in fired(c, {"cross_border": [{"kind": "vpn", "approved": False}]})


def test_forward_chaining_through_derived_facts(rules):
    c = rules([
        {"id": "t.derive-access", "title": "access service",
         "derive": {"access_service": {"region": "$r", "permit": "CDN"}},
         "when": [{"service": {"type": "cdn", "region": "$r"}}]},
        {"id": "t.derive-big", "title": "big operator", "derive": {"big_operator": {}},
         "when": [{"access_service": {"permit": "CDN"}}, {"business": {"sectors": {"includes": "internet"}}}]},
        {"id": "t.report", "when": [{"big_operator": {}}]},
    ])
    profile = {"business": {"sectors": ["internet"]}, "services": [svc("cdn", ["CN-GD"])]}
    evaluation = c.evaluate(Profile.model_validate(profile), "x")
    assert [o.rule_id for o in evaluation.obligations] == ["t.report"]
    facts = {d.fact: d for d in evaluation.derived_facts}
    assert facts["access_service"].values == {"region": "CN-GD", "permit": "CDN"}
    assert facts["access_service"].from_rules == ["t.derive-access"]
    assert facts["big_operator"].from_rules == ["t.derive-big"]
    assert "t.report" not in fired(c, {"business": {"sectors": ["telecom"]}, "services": [svc("cdn", ["CN-GD"])]})


def test_absence_of_a_derived_fact_waits_until_it_is_derived(rules):
    """Stratified negation: the rule negating `licensed` runs only after every rule deriving it."""
    c = rules([
        {"id": "t.derive-licensed", "title": "licensed", "derive": {"licensed": {"region": "$r"}},
         "when": [{"licence": {"type": "CDN", "region": "$r"}}]},
        {"id": "t.missing", "when": [{"service": {"type": "cdn", "region": "$r"}},
                                     {"absent": {"licensed": {"region": {"covers": "$r"}}}}]},
    ])
    assert c.ruleset.rule("t.missing").phase == 1
    assert "t.missing" in fired(c, {"services": [svc("cdn", ["CN-GD"])]})
    assert "t.missing" not in fired(c, {"services": [svc("cdn", ["CN-GD"])], "licences": [lic("CDN", ["CN-GD"])]})


def test_strata_follow_chains_through_absence(rules):
    """`unlicensed` is derived from an absence (phase 1); the rule negating it must wait for phase 2."""
    c = rules([
        {"id": "t.derive-unlicensed", "title": "unlicensed service", "derive": {"unlicensed": {"region": "$r"}},
         "when": [{"service": {"type": "cdn", "region": "$r"}}, {"absent": {"licence": {"type": "CDN"}}}]},
        {"id": "t.all-licensed", "when": [{"service": {"type": "cdn"}}, {"absent": {"unlicensed": {}}}]},
    ])
    assert c.ruleset.rule("t.derive-unlicensed").phase == 1
    assert c.ruleset.rule("t.all-licensed").phase == 2
    assert "t.all-licensed" not in fired(c, {"services": [svc("cdn", ["CN-GD"])]})
    assert "t.all-licensed" in fired(c, {"services": [svc("cdn", ["CN-GD"])], "licences": [lic("CDN", ["CN"])]})


def test_a_service_without_regions_does_not_break_region_joins(rules):
    c = rules([{"id": "t.joined", "when": [{"service": {"type": "cdn", "region": "$r"}},
                                            {"absent": {"licence": {"region": {"covers": "$r"}}}}]}])
    assert "t.joined" not in fired(c, {"services": [{"type": "cdn"}]})
    assert "t.joined" in fired(c, {"services": [{"type": "cdn", "regions": ["CN"]}],
                                   "licences": [lic("CDN", ["CN-GD"])]})


def test_applies_from_and_until_against_as_of(rules):
    c = rules([{"id": "t.window", "applies_from": "2021-01-01", "applies_until": "2021-12-31",
                "when": [{"service": {"type": "cdn"}}]}])
    profile = {"services": [svc("cdn")]}
    assert "t.window" not in fired(c, {**profile, "as_of": "2020-12-31"})
    assert "t.window" in fired(c, {**profile, "as_of": "2021-01-01"})
    assert "t.window" in fired(c, {**profile, "as_of": "2021-12-31"})
    assert "t.window" not in fired(c, {**profile, "as_of": "2022-01-01"})


def test_deadline_turns_a_pending_duty_into_a_violation(rules):
    c = rules([{"id": "t.deadline", "kind": "obligation", "overdue": "violation", "deadline": "2017-03-31",
                "when": [{"service": {"type": "cdn"}}]}])
    before = fired(c, {"as_of": "2017-03-31", "services": [svc("cdn")]})["t.deadline"]
    after = fired(c, {"as_of": "2017-04-01", "services": [svc("cdn")]})["t.deadline"]
    assert (before.kind, before.overdue) == ("obligation", False)
    assert (after.kind, after.overdue) == ("violation", True)
    assert str(after.deadline) == "2017-03-31"


def test_regional_rules_fire_only_where_the_business_is(rules):
    c = rules([{"id": "t.shanghai", "jurisdiction": "CN-SH", "when": [{"service": {"type": "mobile_app"}}]}])
    app = svc("mobile_app", ["CN-BJ"])
    assert "t.shanghai" not in fired(c, {"business": {"registered_region": "CN-BJ"}, "services": [app]})
    assert "t.shanghai" in fired(c, {"business": {"registered_region": "CN-SH"}, "services": [app]})
    beijing = {"business": {"registered_region": "CN-BJ"}}
    assert "t.shanghai" in fired(c, {**beijing, "services": [svc("mobile_app", ["CN-SH"])]})
    ob = fired(c, {**beijing, "services": [svc("mobile_app", ["CN-SH"])]})
    assert "offers services in CN-SH" in ob["t.shanghai"].because
    # a service offered nationwide does not by itself bring a Beijing business under a Shanghai instrument
    assert "t.shanghai" not in fired(c, {**beijing, "services": [svc("mobile_app", ["CN"])]})


def test_city_rules_and_province_businesses(rules):
    c = rules([{"id": "t.shenzhen", "jurisdiction": "CN-GD-SZ",
                "when": [{"service": {"type": "public_video_surveillance"}}]}])
    cam = svc("public_video_surveillance", ["CN-GD-SZ"])
    assert "t.shenzhen" in fired(c, {"services": [cam]})
    assert "t.shenzhen" in fired(c, {"services": [svc("public_video_surveillance", ["CN-GD"])]})
    assert "t.shenzhen" not in fired(c, {"services": [svc("public_video_surveillance", ["CN-SH"])]})


def test_same_rule_on_several_facts_is_one_obligation_with_every_reason(rules):
    c = rules([{"id": "t.cdn", "when": [{"service": {"type": "cdn", "region": "$r"}},
                                         {"absent": {"licence": {"region": {"covers": "$r"}}}}]}])
    ob = fired(c, {"services": [svc("cdn", ["CN-SH", "CN-GD"])]})
    assert list(ob) == ["t.cdn"]
    assert "service cdn in CN-GD" in ob["t.cdn"].because and "service cdn in CN-SH" in ob["t.cdn"].because
