"""The rule base and its sources over HTTP, health, and the API description."""
from __future__ import annotations

from tests.helpers import catalogue_ids, served


async def test_rules_list_and_detail(client):
    r = await client.get("/v1/rules")
    assert r.status_code == 200
    body = r.json()
    active = await served(client)
    assert body["ruleset"]["version"] == active["version"]
    assert body["count"] == len(body["rules"]) == active["rule_count"]
    ids = [x["rule_id"] for x in body["rules"]]
    assert "cleanup.unlicensed-business" in ids
    detail = (await client.get("/v1/rules/cleanup.unlicensed-business")).json()
    assert detail["kind"] == "violation" and detail["when"] and detail["citations"][0]["quote"]
    assert detail["citations"][0]["title"].startswith("Notice on Cleaning Up")


async def test_rules_filter_by_instrument_and_kind(client):
    instrument = "miit-2018-network-security-inspection"
    r = await client.get("/v1/rules", params={"instrument": instrument, "kind": "notice"})
    rules = r.json()["rules"]
    assert rules and all(x["kind"] == "notice" and instrument in x["instruments"] for x in rules)


async def test_unknown_rule_is_404(client):
    r = await client.get("/v1/rules/no.such-rule")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_instruments_list_every_instrument_with_its_rules(client):
    body = (await client.get("/v1/instruments")).json()
    catalogue = catalogue_ids()
    assert body["count"] == len(catalogue) == len(body["instruments"])
    assert {i["id"] for i in body["instruments"]} == catalogue
    by_id = {i["id"]: i for i in body["instruments"]}
    cleanup = by_id["miit-2017-internet-access-market-cleanup"]
    assert cleanup["business_duty"] is True and "cleanup.unlicensed-business" in cleanup["rules"]
    no_duty = [i for i in body["instruments"] if not i["business_duty"]]
    assert no_duty and all(i["no_duty_reason"] for i in no_duty)


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ruleset"]["version"] == (await served(client))["version"]


async def test_openapi_and_docs(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/v1/assessments", "/v1/assessments/{assessment_id}", "/v1/assessments/compare", "/v1/rules",
                 "/v1/rules/{rule_id}", "/v1/instruments", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert (await client.get("/docs")).status_code == 200
