"""POST /v1/assessments/questions: facts not yet given that would make further rules apply; nothing recorded."""
from __future__ import annotations

from tests.helpers import recorded, served
from tests.unit.test_questions import patched

ONBOARDING = {"as_of": "2020-10-01",
              "business": {"name": "New Co", "registered_region": "CN-SH", "sectors": ["internet"]},
              "services": [{"type": "mobile_app", "regions": ["CN"]}]}


async def test_questions_are_grouped_ranked_and_cite_what_they_open(client, app):
    before = recorded(app)
    r = await client.post("/v1/assessments/questions", json=ONBOARDING)
    assert r.status_code == 200, r.text
    body = r.json()
    active = await served(client)
    assert body["ruleset"] == {"version": active["version"], "digest": active["digest"]}
    assert body["as_of"] == "2020-10-01" and body["shown"] == 25 and body["found"] >= 25
    assert [g["score"] for g in body["groups"]] == sorted((g["score"] for g in body["groups"]), reverse=True)
    for group in body["groups"]:
        assert group["title"] and group["questions"]
        for q in group["questions"]:
            assert q["statement"].endswith(".") and q["patch"] and q["opens"]
            for opened in q["opens"]:
                rule = body["rules"][opened["rule_id"]]
                assert rule["title"] == opened["title"] and rule["citations"]
                assert all(c["source"]["quote"] for c in rule["citations"])
    assert recorded(app) == before, "questions are not recorded in the decision log"


async def test_answering_a_question_yes_opens_its_rules(client):
    body = (await client.post("/v1/assessments/questions", json=ONBOARDING)).json()
    top = body["groups"][0]["questions"][0]
    now = {o["rule_id"] for o in (await client.post("/v1/assessments", params={"record": "false"},
                                                    json=ONBOARDING)).json()["obligations"]}
    after = (await client.post("/v1/assessments", params={"record": "false"},
                               json=patched(ONBOARDING, top["patch"]))).json()
    assert {o["rule_id"] for o in after["obligations"]} - now == {o["rule_id"] for o in top["opens"]}


async def test_limit_bounds_the_answer(client):
    body = (await client.post("/v1/assessments/questions", params={"limit": 3}, json=ONBOARDING)).json()
    assert body["shown"] == 3 == sum(len(g["questions"]) for g in body["groups"])
    assert set(body["rules"]) == {o["rule_id"] for g in body["groups"] for q in g["questions"] for o in q["opens"]}
    for bad in (0, 201):
        r = await client.post("/v1/assessments/questions", params={"limit": bad}, json=ONBOARDING)
        assert r.status_code == 422 and r.json()["errors"][0]["path"].endswith("limit")


async def test_a_bad_profile_is_refused_with_its_paths(client):
    r = await client.post("/v1/assessments/questions", json={"services": [{"type": "teleportation"}], "colour": 1})
    assert r.status_code == 422
    paths = {e["path"] for e in r.json()["errors"]}
    assert {"services[0].type", "colour"} <= paths
    unknown = next(e for e in r.json()["errors"] if e["path"] == "colour")
    assert "allowed fields are" in unknown["message"]
