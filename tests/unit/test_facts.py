"""Profile -> facts: what the engine sees."""
from __future__ import annotations

from service.profile.facts import build_facts
from service.profile.model import Profile


def facts_of(profile: dict) -> list[dict]:
    return build_facts(Profile.model_validate(profile))


def facts_of_kind(profile: dict, kind: str) -> list[dict]:
    return [f for f in facts_of(profile) if f["t"] == kind]


def test_a_service_is_one_fact_per_region_with_the_regions_containing_it():
    services = facts_of_kind({"services": [{"type": "cdn", "regions": ["CN-GD-SZ", "CN"]}]}, "service")
    assert [(f["region"], f["region__province"], f["region__country"]) for f in services] == [
        ("CN-GD-SZ", "CN-GD", "CN"), ("CN", "CN", "CN")]


def test_a_licence_is_one_fact_per_region_and_covered_service():
    licence = {"type": "IDC", "regions": ["CN-BJ", "CN-SH"], "granted": "2011-06-01",
               "scope": ["idc", "cloud_computing"]}
    licences = facts_of_kind({"licences": [licence]}, "licence")
    assert sorted((f["region"], f["scope"]) for f in licences) == [
        ("CN-BJ", "cloud_computing"), ("CN-BJ", "idc"), ("CN-SH", "cloud_computing"), ("CN-SH", "idc")]
    assert {f["granted"] for f in licences} == {20110601}


def test_a_licence_without_scope_covers_its_own_type():
    licences = [f for f in facts_of({"licences": [{"type": "CDN", "regions": ["CN"]}]}) if f["t"] == "licence"]
    assert [f["scope"] for f in licences] == ["cdn"]


def test_presence_covers_registration_and_operation():
    profile = {"business": {"registered_region": "CN-SH"},
               "services": [{"type": "mobile_app", "regions": ["CN-SH", "CN-BJ"]}]}
    presence = {f["region"]: (f["registered"], f["operates"]) for f in facts_of_kind(profile, "presence")}
    assert presence == {"CN-SH": (True, True), "CN-BJ": (False, True)}


def test_unstated_values_are_absent_not_false():
    business = facts_of({"business": {"cii_operator": False}})[0]
    assert business["cii_operator"] is False and "foreign_invested" not in business


def test_unknown_attributes_are_kept_out_of_the_facts_and_reported():
    profile = Profile.model_validate(
        {"services": [{"type": "mobile_app", "attributes": {"users": 5, "colour": "blue"}}]})
    service = [f for f in build_facts(profile) if f["t"] == "service"][0]
    assert service["attributes"] == {"users": 5}
    assert profile.unused_attributes() == [("services[0].attributes.colour", "colour")]


def test_the_same_profile_gives_the_same_facts():
    profile = {"business": {"sectors": ["media", "internet"]},
               "services": [{"type": "cdn", "regions": ["CN-GD", "CN-BJ"]}]}
    assert facts_of(profile) == facts_of(profile)


def test_expansion_counts_the_service_and_licence_facts_build_facts_makes():
    """The API bounds a profile by `expansion` (MAX_PROFILE_FACTS) without building its facts: it must agree."""
    from service.profile.facts import expansion

    profiles = [
        {},
        {"services": [{"type": "cdn"}, {"type": "idc", "regions": ["CN-GD", "CN-BJ", "CN-GD"]}]},
        {"licences": [{"type": "ICP"}, {"type": "IDC", "regions": ["CN", "CN-SH"], "scope": ["idc", "cdn", "idc"]},
                      {"type": "CDN", "scope": []}, {"type": "ISP", "regions": ["CN-BJ"]}]},
    ]
    for raw in profiles:
        profile = Profile.model_validate(raw)
        facts = build_facts(profile)
        assert expansion(profile) == (sum(f["t"] == "service" for f in facts), sum(f["t"] == "licence" for f in facts))
