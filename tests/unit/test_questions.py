"""What to ask next: candidates come from the rules' conditions, and every question shown is verified."""
from __future__ import annotations

import copy

import pytest

from bench.profiles import SMALL
from service.engine.questions import ask, propose, reporting
from service.profile.model import Profile
from tests.helpers import compile_rules, make_profile

#: A question's score: the severities of the rules it opens, summed with these weights.
WEIGHTS = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}

def patched(profile: dict, ops: list[dict]) -> dict:
    """RFC 6902 `add`, written independently of the service's own, on the profile as the service reads it."""
    doc = Profile.model_validate(profile).model_dump(mode="json")
    for op in ops:
        assert op["op"] == "add"
        *parents, last = op["path"][1:].split("/")
        target = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            assert last == "-"
            target.append(copy.deepcopy(op["value"]))
        else:
            target[last] = copy.deepcopy(op["value"])
    return doc


PROFILES = {
    "empty": {"as_of": "2020-10-01"},
    "contract example": make_profile(),
    "small": SMALL,
    "live streaming": {"as_of": "2020-10-01", "business": {"registered_region": "CN-BJ", "sectors": ["media"]},
                       "services": [{"type": "live_streaming", "regions": ["CN-BJ"]}]},
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_question_opens_the_rules_it_names_and_only_new_ones(compiled, name):
    profile = PROFILES[name]
    as_of = Profile.model_validate(profile).effective_as_of()
    before = reporting(compiled, Profile.model_validate(profile), as_of)
    answer = ask(compiled, Profile.model_validate(profile), 200, limit=200)
    assert answer.shown > 0 and answer.found >= answer.shown and answer.considered >= answer.found
    for group in answer.groups:
        for q in group.questions:
            after = reporting(compiled, Profile.model_validate(patched(profile, q.patch)), as_of)
            opened = {o.rule_id for o in q.opens}
            assert opened == after - before, (q.statement, opened ^ (after - before))
            assert q.score == sum(WEIGHTS[o.severity] for o in q.opens)
            for rule_id in opened:
                assert answer.rules[rule_id].citations, rule_id


def test_the_answer_is_deterministic_bounded_and_ranked(compiled):
    profile = Profile.model_validate(SMALL)
    first = ask(compiled, profile, 200, limit=10)
    assert ask(compiled, profile, 200, limit=10).model_dump_json() == first.model_dump_json()
    assert first.shown == sum(len(g.questions) for g in first.groups) == 10
    scores = [g.score for g in first.groups]
    assert scores == sorted(scores, reverse=True)
    for g in first.groups:
        assert [q.score for q in g.questions] == sorted((q.score for q in g.questions), reverse=True)
        assert g.score == g.questions[0].score
    everything = ask(compiled, profile, 200, limit=200)
    best = sorted((q.score for g in everything.groups for q in g.questions), reverse=True)[:10]
    assert sorted((q.score for g in first.groups for q in g.questions), reverse=True) == best
    assert set(first.rules) == {o.rule_id for g in first.groups for q in g.questions for o in q.opens}
    ids = [q.id for g in everything.groups for q in g.questions]
    assert len(ids) == len(set(ids))
    assert "cross_border[+]=data_transfer/personal_information" in ids and "services[+]=user_profiling@CN" in ids


def test_facts_already_given_are_not_asked(compiled):
    profile = make_profile(business={"registered_region": "CN-SH", "cii_operator": False, "foreign_invested": True,
                                     "negative_credit_record": False, "serious_data_incident_last_12_months": False,
                                     "sectors": ["internet"]},
                           data=[{"category": "personal_information", "subjects": ["children"]}])
    answer = ask(compiled, Profile.model_validate(profile), 200, limit=200)
    paths = {q.path for g in answer.groups for q in g.questions}
    assert not {p for p in paths if p.startswith("business.")}, paths
    statements = {q.statement for g in answer.groups for q in g.questions}
    assert not any(s.startswith("You offer cloud computing") for s in statements)
    assert "You hold personal information." not in statements
    assert "data[0].subjects" not in paths


def test_an_unstated_attribute_of_a_listed_service_is_asked(compiled):
    answer = ask(compiled, Profile.model_validate(PROFILES["live streaming"]), 200, limit=200)
    q = next(q for g in answer.groups for q in g.questions if q.path == "services[0].attributes.targets_minors")
    assert q.statement == "Live streaming (services[0]): aimed at minors."
    assert q.id == "services[0].attributes.targets_minors=true"
    assert q.patch == [{"op": "add", "path": "/services/0/attributes/targets_minors", "value": True}]
    assert {"minors2019.no-improper-content", "minors2019.pre-broadcast-review"} <= {o.rule_id for o in q.opens}
    group = next(g for g in answer.groups if g.group == "services[0]")
    assert group.title == "Live streaming (services[0])"


def test_a_new_service_is_offered_where_the_business_is_known_to_be(compiled):
    profile = {"as_of": "2020-10-01", "business": {"registered_region": "CN-GD"},
               "services": [{"type": "mobile_app", "regions": ["CN-GD-SZ", "CN"]}]}
    answer = ask(compiled, Profile.model_validate(profile), 200, limit=200)
    new = {q.statement: q for g in answer.groups if g.group == "services" for q in g.questions}
    q = new["You offer financial information services in all of China (CN)."]
    assert q.id == "services[+]=financial_information_services@CN"
    assert q.patch == [{"op": "add", "path": "/services/-",
                        "value": {"type": "financial_information_services", "regions": ["CN"]}}]
    assert "fininfo.service-without-permit" in {o.rule_id for o in q.opens}


def test_an_attribute_is_asked_of_the_kinds_of_item_rules_test_it_on_and_once(compiled):
    profile = {"as_of": "2020-10-01", "business": {"sectors": ["internet"]},
               "services": [{"type": "cloud_computing", "regions": ["CN-BJ"]},
                            {"type": "mobile_app", "regions": ["CN"]},
                            {"type": "mobile_app", "regions": ["CN-SH"]}]}
    answer = ask(compiled, Profile.model_validate(profile), 200, limit=200)
    paths = {q.path for g in answer.groups for q in g.questions}
    assert "services[1].attributes.content_types" in paths  # rules test advertising content on apps
    assert "services[0].attributes.content_types" not in paths  # ... and on no cloud service
    assert "services[2].attributes.content_types" not in paths  # the second app would open the same rules


def test_business_flags_and_sectors_come_from_the_conditions(compiled):
    candidates = [c for c, _ in propose(compiled, Profile.model_validate({}))]
    business = {(c.path, c.patch[0][2]) for c in candidates if c.group == "business"}
    assert ("business.negative_credit_record", "true") in business
    assert ("business.sectors", '"finance"') in business
    assert ("business.registered_region", '"CN-SH"') in business  # a Shanghai rule applies to businesses there
    assert all(c.patch[0][0] == "add" for c in candidates)


def test_questions_are_single_facts(tmp_path):
    """A rule that needs two facts the profile does not give is not asked about: no single answer opens it."""
    rules = [{"id": "t.two-facts", "when": [{"service": {"type": "cdn"}}, {"business": {"foreign_invested": True}}]},
             {"id": "t.one-fact", "severity": "high", "when": [{"service": {"type": "idc"}}]}]
    compiled = compile_rules(tmp_path, rules)
    try:
        empty = ask(compiled, Profile.model_validate({"as_of": "2020-01-01"}), 200)
        assert [q.statement for g in empty.groups for q in g.questions] == ["You offer IDC."]
        with_cdn = ask(compiled, Profile.model_validate({"as_of": "2020-01-01", "services": [{"type": "cdn"}]}), 200)
        asked = {q.statement: q for g in with_cdn.groups for q in g.questions}
        assert [o.rule_id for o in asked["The business is foreign-invested."].opens] == ["t.two-facts"]
    finally:
        compiled.close()
