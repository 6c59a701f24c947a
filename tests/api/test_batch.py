"""POST /v1/assessments/batch: each item assessed and recorded on its own; a bad item refused on its own."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from service.store.tables import AssessmentBody, AssessmentRecord
from tests.helpers import make_profile, recorded, refuse_record, served, stored


async def test_each_item_gets_its_own_assessment_and_a_bad_one_its_own_422(client, app):
    before = recorded(app)
    good = make_profile()
    bad = make_profile(services=[{"type": "teleportation", "regions": ["CN-BJ"]}])
    r = await client.post("/v1/assessments/batch", json={"profiles": [good, bad, make_profile(as_of="2017-02-01")]})
    assert r.status_code == 200, r.text
    active = await served(client)
    assert r.headers["X-Ruleset-Version"] == active["version"]
    body = r.json()
    assert body["ruleset"] == {"version": active["version"], "digest": active["digest"]}
    assert (body["count"], body["assessed"], body["refused"]) == (3, 2, 1)
    assert [i["index"] for i in body["items"]] == [0, 1, 2]
    assert [i["status"] for i in body["items"]] == [201, 422, 201]

    problem = body["items"][1]["problem"]
    assert problem["status"] == 422 and problem["title"] == "Invalid profile"
    assert problem["errors"][0]["path"] == "profiles[1].services[0].type"
    assert "cloud_computing" in problem["errors"][0]["message"]
    assert problem["detail"].startswith("profiles[1].services[0].type")

    first, third = body["items"][0], body["items"][2]
    assert first["assessment_id"] != third["assessment_id"]
    assert first["assessment"]["assessment_id"] == first["assessment_id"]
    assert first["location"] == f"/v1/assessments/{first['assessment_id']}"
    assert third["assessment"]["as_of"] == "2017-02-01"
    for item in (first, third):
        again = await client.get(item["location"])
        assert again.status_code == 200
        assert again.content in r.content, "the batch carries exactly the bytes recorded"
    assert recorded(app) == before + 2


async def test_an_item_answers_as_a_single_assessment_would(client):
    profile = make_profile(as_of="2019-05-01")
    single = (await client.post("/v1/assessments", json=profile)).json()
    item = (await client.post("/v1/assessments/batch", json={"profiles": [profile]})).json()["items"][0]
    single.pop("assessment_id")
    item["assessment"].pop("assessment_id")
    assert item["assessment"] == single


async def test_items_that_are_not_profiles_or_too_large_are_refused_each_with_their_path(client):
    too_many = make_profile(services=[{"type": "cdn", "regions": ["CN-GD"]}] * 201)
    r = await client.post("/v1/assessments/batch", json={"profiles": [5, {"extra": 1}, too_many, {}]})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == [422, 422, 422, 201]
    assert items[0]["problem"]["errors"][0]["path"] == "profiles[0]"
    assert items[1]["problem"]["errors"][0]["path"] == "profiles[1].extra"
    assert "unknown field" in items[1]["problem"]["errors"][0]["message"]
    assert items[2]["problem"]["errors"] == [
        {"path": "profiles[2].services", "message": "has 201 items; at most 200 are allowed"}]


async def test_identical_profiles_share_one_stored_answer_but_not_an_id(client, app):
    profile = make_profile(as_of="2018-03-03")
    r = await client.post("/v1/assessments/batch", json={"profiles": [profile] * 5})
    ids = [i["assessment_id"] for i in r.json()["items"]]
    assert len(set(ids)) == 5
    with stored(app) as session:
        shas = set(session.exec(select(AssessmentRecord.body_sha).where(AssessmentRecord.id.in_(ids))))
        assert len(shas) == 1
        assert session.get(AssessmentBody, shas.pop()) is not None


async def test_without_recording(client, app):
    before = recorded(app)
    r = await client.post("/v1/assessments/batch", params={"record": "false", "horizon_days": 0},
                          json={"profiles": [make_profile(), make_profile()]})
    items = r.json()["items"]
    assert [i["status"] for i in items] == [200, 200]
    assert all("location" not in i for i in items)
    assert items[0]["assessment"]["horizon_days"] == 0
    assert recorded(app) == before
    assert (await client.get(f"/v1/assessments/{items[0]['assessment_id']}")).status_code == 404


async def test_the_batch_itself_must_hold_1_to_1000_items(client):
    for body, path in (({"profiles": []}, "profiles"), ({"profiles": [{}] * 1001}, "profiles"),
                       ({}, "profiles"), ({"profiles": {}}, "profiles")):
        r = await client.post("/v1/assessments/batch", json=body)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["path"] == path


async def test_a_batch_may_exceed_the_single_request_body_limit(client):
    # 1,000 profiles of ~1.1 KB each: over MAX_BODY_BYTES (1 MiB), within MAX_BATCH_BYTES
    services = [{"type": t, "regions": ["CN-BJ", "CN-SH", "CN-GD"], "attributes": {"users": 1000}}
                for t in ("cloud_computing", "cdn", "mobile_app", "portal", "email", "dns", "search_engine", "isp",
                          "website_hosting", "app_store")]
    profiles = [make_profile(business={"name": f"Company {i:04d}"}, services=services) for i in range(1000)]
    content = json.dumps({"profiles": profiles}).encode()
    assert len(content) > 1024 * 1024
    r = await client.post("/v1/assessments/batch", params={"record": "false"}, content=content,
                          headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["assessed"] == 1000


async def test_an_item_the_decision_log_cannot_take_gets_503_and_the_others_stand(client, app, monkeypatch):
    refuse_record(app, monkeypatch, nth=2)
    r = await client.post("/v1/assessments/batch", json={"profiles": [make_profile(), make_profile(), make_profile()]})
    items = r.json()["items"]
    assert [i["status"] for i in items] == [201, 503, 201]
    assert items[1]["problem"]["title"] == "Service unavailable" and "assessment" not in items[1]
    assert r.json()["refused"] == 1
    assert (await client.get(items[0]["location"])).status_code == 200


@pytest.fixture(scope="module")
def small_batch_app(database_url):
    from service.main import shutdown
    from tests.helpers import start_app

    application = start_app(database_url, max_batch_bytes=4096)
    yield application
    shutdown(application)


async def test_a_body_over_max_batch_bytes_is_413(small_batch_app):
    import httpx

    transport = httpx.ASGITransport(app=small_batch_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post("/v1/assessments/batch", json={"profiles": [make_profile()] * 10})
        assert r.status_code == 413 and r.json()["status"] == 413
        ok = await c.post("/v1/assessments/batch", json={"profiles": [make_profile()]})
        assert ok.status_code == 200
