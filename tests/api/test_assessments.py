"""POST/GET /v1/assessments and /compare through the ASGI app, on a fresh database (SQLite, and PostgreSQL in CI)."""
from __future__ import annotations

import json

from tests.helpers import make_profile, quotes_source, record_of, recorded, served


async def test_contract_example_gets_cited_obligations(client):
    r = await client.post("/v1/assessments", json=make_profile())
    assert r.status_code == 201, r.text
    body = r.json()
    active = await served(client)
    assert body["ruleset"] == {"version": active["version"], "digest": active["digest"]}
    assert r.headers["X-Ruleset-Version"] == active["version"]
    assert r.headers["Location"] == f"/v1/assessments/{body['assessment_id']}"
    assert body["as_of"] == "2020-10-01"
    ids = {o["rule_id"] for o in body["obligations"]}
    # an IDC permit from 2011 covering only idc, used for cloud computing in Beijing and Guangdong: the permit was
    # due by the end of 2017 (II(I)2 read with its consequence clauses), so since 1 January 2018 it must stop
    assert {"cleanup.pre-2015-idc-permit-cease", "entry552.pre-2012-permit-requirements"} <= ids
    # the transition's own rules govern it, not the general violation; the 2017 deadline has become the cessation
    assert not {"cleanup.beyond-business-scope", "cleanup.pre-2015-idc-permit-needs-new-permit"} & ids
    # no permit covers cloud computing at all, so this is not a question of regions
    assert "cleanup.beyond-geographic-scope" not in ids
    cease = next(o for o in body["obligations"] if o["rule_id"] == "cleanup.pre-2015-idc-permit-cease")
    assert cease["kind"] == "violation" and cease["severity"] == "critical" and cease["applies_from"] == "2018-01-01"
    assert cease["legal_force"] == "normative_document" and cease["conditional_on"] == []
    assert "by the end of 2017" in cease["interpretation"]["reading"]
    assert "service cloud_computing in CN-GD (since 2016-05-01)" in cease["because"]
    assert all(o["legal_force"] for o in body["obligations"])
    catalogue = {i["id"] for i in (await client.get("/v1/instruments")).json()["instruments"]}
    for o in body["obligations"]:
        assert o["citations"], o["rule_id"]
        for c in o["citations"]:
            assert c["instrument_id"] in catalogue
            assert quotes_source(c["source"]["document"], c["source"]["quote"])
            assert c["title"] and c["issuer"] and c["legal_status"] and c["legal_force"]
    derived = {d["fact"] for d in body["derived_facts"]}
    assert "internet_access_service" in derived


async def test_a_recorded_assessment_reads_back_exactly_as_returned(client, app):
    r = await client.post("/v1/assessments", json=make_profile(as_of="2017-02-01"))
    assert r.status_code == 201
    again = await client.get(r.headers["Location"])
    assert again.status_code == 200
    assert again.content == r.content
    row = record_of(app, r.json()["assessment_id"])
    assert row is not None and row.ruleset_version == r.json()["ruleset"]["version"]
    assert row.ruleset_digest == r.json()["ruleset"]["digest"]
    assert str(row.as_of) == "2017-02-01" and row.created_at is not None
    assert json.loads(row.profile)["business"]["name"] == "Acme Cloud Ltd"


async def test_as_of_defaults_to_today_and_is_recorded(client, app):
    import datetime as dt

    r = await client.post("/v1/assessments", json=make_profile(as_of=None))
    assert r.status_code == 201
    assert r.json()["as_of"] == dt.date.today().isoformat()
    row = record_of(app, r.json()["assessment_id"])
    assert row is not None and json.loads(row.profile)["as_of"] == dt.date.today().isoformat()


async def test_empty_profile_is_valid(client):
    r = await client.post("/v1/assessments", json={})
    assert r.status_code == 201 and r.json()["obligations"] == []


async def assert_refused(client, app, body, path: str, *fragments: str):
    before = recorded(app)
    r = await client.post("/v1/assessments", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and problem["title"]
    match = [e for e in problem["errors"] if e["path"] == path]
    assert match, problem["errors"]
    for fragment in fragments:
        assert fragment in match[0]["message"], match[0]["message"]
    assert recorded(app) == before, "nothing is recorded for a refused profile"


async def test_unknown_field_names_path_and_allowed_fields(client, app):
    await assert_refused(client, app, make_profile(business={"nmae": "x"}), "business.nmae", "unknown field",
                         "registered_region")
    await assert_refused(client, app, {**make_profile(), "extra": 1}, "extra", "unknown field", "licences")


async def test_unknown_enum_value_names_allowed_values(client, app):
    await assert_refused(client, app, make_profile(services=[{"type": "teleportation"}]), "services[0].type",
                         "cloud_computing", "cdn")
    await assert_refused(client, app, make_profile(licences=[{"type": "XYZ"}]), "licences[0].type", "IDC", "CDN")


async def test_malformed_date_and_region(client, app):
    await assert_refused(client, app, make_profile(as_of="2020-13-45"), "as_of", "date")
    await assert_refused(client, app, make_profile(services=[{"type": "cdn", "regions": ["GD"]}]),
                         "services[0].regions[0]", "not a region", "CN-GD")
    await assert_refused(client, app, make_profile(as_of="0001-01-01"), "as_of", "out of range")


async def test_wrong_type(client, app):
    await assert_refused(client, app, make_profile(services=[{"type": "cdn", "regions": "CN-GD"}]),
                         "services[0].regions", "list")
    await assert_refused(client, app, make_profile(business={"cii_operator": "maybe"}), "business.cii_operator", "bool")


async def test_too_many_items_is_refused(client, app):
    services = [{"type": "cdn", "regions": ["CN-GD"]}] * 201
    await assert_refused(client, app, make_profile(services=services), "services", "at most 200")


async def test_not_json_is_refused(client, app):
    r = await client.post("/v1/assessments", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"]


async def test_body_over_one_mebibyte_is_413(client, app):
    before = recorded(app)
    big = make_profile(business={"name": "x" * (1024 * 1024)})
    r = await client.post("/v1/assessments", json=big)
    assert r.status_code == 413 and r.json()["status"] == 413
    assert recorded(app) == before


async def test_unknown_assessment_is_404(client):
    for ident in ("01J00000000000000000000000", "no-such-id"):
        r = await client.get(f"/v1/assessments/{ident}")
        assert r.status_code == 404 and r.json()["title"] == "Not found"


async def test_compare_shows_what_a_new_business_line_adds(client):
    baseline = make_profile(licences=[{"type": "IDC", "regions": ["CN"], "granted": "2019-06-01",
                                       "scope": ["idc", "cloud_computing"]}],
                            services=[{"type": "cloud_computing", "regions": ["CN-BJ"]}])
    proposed = json.loads(json.dumps(baseline))
    proposed["services"].append({"type": "cdn", "regions": ["CN-GD"]})
    r = await client.post("/v1/assessments/compare", json={"baseline": baseline, "proposed": proposed})
    assert r.status_code == 200, r.text
    body = r.json()
    added = {o["rule_id"] for o in body["added"]}
    assert {"cleanup.unlicensed-business", "cleanup.new-cdn-permit-requirements"} <= added
    assert body["removed"] == []
    unchanged = {o["rule_id"] for o in body["unchanged"]}
    assert "cleanup.no-self-built-or-unlicensed-resources" in unchanged | {c["rule_id"] for c in body["changed"]}
    assert body["baseline"]["assessment_id"] != body["proposed"]["assessment_id"]
    for side in ("baseline", "proposed"):
        got = await client.get(f"/v1/assessments/{body[side]['assessment_id']}")
        assert got.status_code == 200


async def test_compare_refuses_a_bad_side_naming_it(client):
    r = await client.post("/v1/assessments/compare", json={"baseline": {}, "proposed": {"services": [{"type": "x"}]}})
    assert r.status_code == 422
    assert any(e["path"] == "proposed.services[0].type" for e in r.json()["errors"])


async def test_evaluation_without_recording(client, app):
    before = recorded(app)
    r = await client.post("/v1/assessments", params={"record": "false"}, json=make_profile())
    assert r.status_code == 200 and r.json()["obligations"] and "Location" not in r.headers
    assert recorded(app) == before
    assert (await client.get(f"/v1/assessments/{r.json()['assessment_id']}")).status_code == 404
