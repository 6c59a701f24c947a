"""Upcoming duties and deadlines within the horizon (`horizon_days` on POST /v1/assessments and /compare)."""
from __future__ import annotations

from tests.helpers import make_profile

PI_HANDLER = {"as_of": "2020-06-01", "business": {"sectors": ["internet"]},
              "services": [{"type": "ecommerce_platform", "regions": ["CN-BJ"]}],
              "data": [{"category": "personal_information", "volume": 50000}]}
CIVIL_CODE = {"civilcode.pi-processing-principles", "civilcode.no-excessive-processing"}


async def test_civil_code_duties_are_upcoming_half_a_year_before(client):
    r = await client.post("/v1/assessments", json=PI_HANDLER)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["horizon_days"] == 365
    upcoming = {u["obligation"]["rule_id"]: u for u in body["upcoming"]}
    assert CIVIL_CODE <= set(upcoming)
    for rule_id in CIVIL_CODE:
        u = upcoming[rule_id]
        assert u["starts"] == "2021-01-01" and u["days_until"] == 214
        assert u["obligation"]["citations"] and u["obligation"]["explanation"]
        assert u["obligation"]["applies_from"] == "2021-01-01"
    assert not CIVIL_CODE & {o["rule_id"] for o in body["obligations"]}, "not binding yet on as_of"
    assert [u["starts"] for u in body["upcoming"]] == sorted(u["starts"] for u in body["upcoming"])
    # the notice that the Code is coming applies now
    assert "civilcode.takes-effect-2021" in {o["rule_id"] for o in body["obligations"]}


async def test_the_horizon_bounds_what_is_upcoming(client):
    short = (await client.post("/v1/assessments", params={"horizon_days": 100}, json=PI_HANDLER)).json()
    assert short["horizon_days"] == 100
    assert not CIVIL_CODE & {u["obligation"]["rule_id"] for u in short["upcoming"]}
    assert all(u["days_until"] <= 100 for u in short["upcoming"])
    exact = (await client.post("/v1/assessments", params={"horizon_days": 214}, json=PI_HANDLER)).json()
    assert CIVIL_CODE <= {u["obligation"]["rule_id"] for u in exact["upcoming"]}
    none = (await client.post("/v1/assessments", params={"horizon_days": 0}, json=PI_HANDLER)).json()
    assert none["upcoming"] == [] and none["deadlines"] == []


async def test_a_recorded_assessment_keeps_its_upcoming_duties(client):
    r = await client.post("/v1/assessments", json=PI_HANDLER)
    again = await client.get(r.headers["Location"])
    assert again.content == r.content and again.json()["upcoming"]


async def test_deadlines_within_the_horizon_are_listed_with_their_date(client):
    # an IDC permit from 2011 used for cloud computing, shortly after the 2017 notice: written assurance due by
    # 31 March 2017, the corresponding permit by the end of 2017
    profile = make_profile(as_of="2017-02-01")
    body = (await client.post("/v1/assessments", json=profile)).json()
    deadlines = {d["rule_id"]: d for d in body["deadlines"]}
    d = deadlines["cleanup.pre-2015-idc-permit-assurance"]
    assert d == {"date": "2017-03-31", "days_left": 58, "rule_id": "cleanup.pre-2015-idc-permit-assurance",
                 "kind": "obligation", "severity": "high", "listed_in": "obligations",
                 "title": d["title"]}
    assert deadlines["cleanup.pre-2015-idc-permit-needs-new-permit"]["date"] == "2017-12-31"
    assert [x["date"] for x in body["deadlines"]] == sorted(x["date"] for x in body["deadlines"])
    # a passed deadline is not upcoming
    later = (await client.post("/v1/assessments", json=make_profile(as_of="2017-06-01"))).json()
    assert "cleanup.pre-2015-idc-permit-assurance" not in {x["rule_id"] for x in later["deadlines"]}
    # and a deadline beyond the horizon is not listed
    short = (await client.post("/v1/assessments", params={"horizon_days": 30}, json=profile)).json()
    assert "cleanup.pre-2015-idc-permit-needs-new-permit" not in {x["rule_id"] for x in short["deadlines"]}


async def test_upcoming_duties_carry_their_own_deadlines(client):
    # in January 2017, the April 2017 prohibition and the 2018 cessation are still to come
    body = (await client.post("/v1/assessments", json=make_profile(as_of="2017-01-10"))).json()
    starts = {u["obligation"]["rule_id"]: u["starts"] for u in body["upcoming"]}
    assert starts["cleanup.pre-2015-idc-permit-needs-new-permit"] == "2017-01-17"
    assert starts["cleanup.pre-2015-idc-permit-cease"] == "2018-01-01"
    listed = {d["rule_id"]: d["listed_in"] for d in body["deadlines"]}
    assert listed["cleanup.pre-2015-idc-permit-needs-new-permit"] == "upcoming"


async def test_horizon_days_is_bounded(client):
    for bad in (-1, 3651, "soon"):
        r = await client.post("/v1/assessments", params={"horizon_days": bad}, json=PI_HANDLER)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["path"].endswith("horizon_days")
    ok = await client.post("/v1/assessments", params={"horizon_days": 3650}, json=PI_HANDLER)
    assert ok.status_code == 201 and ok.json()["horizon_days"] == 3650


async def test_compare_lists_upcoming_duties_a_new_line_adds(client):
    baseline = {"as_of": "2020-06-01", "services": [{"type": "cdn", "regions": ["CN-BJ"]}],
                "licences": [{"type": "CDN", "regions": ["CN"]}]}
    proposed = {**baseline, "data": [{"category": "personal_information"}]}
    r = await client.post("/v1/assessments/compare", json={"baseline": baseline, "proposed": proposed})
    assert r.status_code == 200, r.text
    body = r.json()
    assert CIVIL_CODE <= {u["obligation"]["rule_id"] for u in body["upcoming_added"]}
    assert body["upcoming_removed"] == []
    short = (await client.post("/v1/assessments/compare", params={"horizon_days": 10},
                               json={"baseline": baseline, "proposed": proposed})).json()
    assert short["upcoming_added"] == []
    recorded = (await client.get(f"/v1/assessments/{short['proposed']['assessment_id']}")).json()
    assert recorded["horizon_days"] == 10
