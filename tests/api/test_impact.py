"""Portfolio impact and the change feed through the API, on one application (SQLite; PostgreSQL too when
TEST_DATABASE_URL is set): the results are checked against a straight re-evaluation of every business's latest
profile under both versions, computed here with the service's own engine."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from tests.api.test_rulesets import retitled, rule_files
from tests.helpers import bearer, make_profile, straight_impact

NEW_TITLE = "Unlicensed IDC, ISP or CDN business (impact test)"
UNLICENSED_CDN = make_profile(licences=[], services=[{"type": "cdn", "regions": ["CN-GD"]}])
LICENSED_CDN = make_profile(licences=[{"type": "CDN", "regions": ["CN"], "scope": ["cdn"]}],
                            services=[{"type": "cdn", "regions": ["CN-GD"]}])
OPERATOR = bearer("operator")


async def assess(client, profile: dict[str, Any], subject: str | None = None) -> str:
    r = await client.post("/v1/assessments", json=profile, params={"subject": subject} if subject else None)
    assert r.status_code == 201, r.text
    return str(r.json()["assessment_id"])


async def wait_done(client, location: str, **params: Any) -> dict[str, Any]:
    for _ in range(600):
        r = await client.get(location, headers=OPERATOR, params=params)
        assert r.status_code == 200, r.text
        if r.json()["state"] == "done":
            return dict(r.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"impact job {location} not done: {r.text}")


def straight(app, baseline: str, candidate: str, profiles: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each business's findings under both versions, compared by rule here (not through service.impact)."""
    from service.store import ruleset_versions

    db, versions = app.state.db, app.state.versions
    old = versions.load(ruleset_versions.get(db, baseline), "test").compiled
    new = versions.load(ruleset_versions.get(db, candidate), "test").compiled
    return straight_impact(old, new, profiles)


def ids_of(changes: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {k: sorted(f["rule_id"] for f in changes[k]) for k in ("added", "removed", "changed")}


async def test_impact_of_a_version_equals_a_straight_re_evaluation_of_every_latest_profile(client, app):
    await assess(client, LICENSED_CDN, "cust-a")  # superseded by cust-a's next assessment
    await assess(client, UNLICENSED_CDN, "cust-a")
    await assess(client, LICENSED_CDN, "cust-b")
    await assess(client, UNLICENSED_CDN)  # twice without a subject: one business, known by its digest
    await assess(client, UNLICENSED_CDN)
    await assess(client, make_profile(), "cust-c")
    assert app.state.journal.wait_flushed()
    active = (await client.get("/v1/rulesets/active")).json()["version"]
    upload = await client.post("/v1/rulesets", json={"files": retitled(rule_files(), NEW_TITLE)}, headers=OPERATOR)
    assert upload.status_code in (200, 201), upload.text
    version = upload.json()["version"]

    r = await client.post(f"/v1/rulesets/{version}/impact", headers=OPERATOR)
    assert r.status_code == 202, r.text
    started = r.json()
    assert r.headers["Location"] == f"/v1/impact/{started['job']}"
    assert started["version"] == version and started["baseline_version"] == active and started["total"] >= 4
    done = await wait_done(client, r.headers["Location"], limit=1000)
    assert done["done"] + done["failed"] == done["total"] and done["pending"] == 0

    # the expected answer: every business's latest profile, from the decision log, re-evaluated here
    from sqlmodel import select

    from service.store.tables import AssessmentRecord
    with app.state.db.session() as session:
        rows = session.exec(select(AssessmentRecord).order_by(AssessmentRecord.created_at, AssessmentRecord.id)).all()
    latest = {row.business: json.loads(row.profile) for row in rows}
    assert done["total"] == len(latest)
    expected = straight(app, active, version, latest)
    changed = {b: c for b, c in expected.items() if any(c.values())}
    listed = {b["business"]: ids_of(b["changes"]) for b in done["businesses"]}
    assert listed == changed
    assert "cust-a" in changed and "cust-b" not in changed  # cust-a's latest profile is the unlicensed one
    assert changed["cust-a"]["changed"] == ["cleanup.unlicensed-business"]
    by_rule = done["totals"]["by_rule"]
    assert by_rule["cleanup.unlicensed-business"]["changed"] == sum(
        "cleanup.unlicensed-business" in c["changed"] for c in changed.values())
    assert done["totals"]["businesses_changed"] == len(changed) and done["totals"]["businesses_failed"] == 0
    assert done["totals"]["by_instrument"]["miit-2017-internet-access-market-cleanup"]["changed"] >= 1
    item = next(b for b in done["businesses"] if b["business"] == "cust-a")
    change = item["changes"]["changed"][0]
    assert item["subject"] == "cust-a" and item["attempts"] == 1
    assert "title" in change["fields"] and change["after"]["title"] == NEW_TITLE
    no_subject = [b for b in done["businesses"] if b["business"].startswith("sha256:")]
    assert no_subject and all(b["subject"] is None for b in no_subject)

    # paged: one business at a time gives the same list
    pages, after = [], 0
    while True:
        page = (await client.get(r.headers["Location"], headers=OPERATOR, params={"limit": 1, "after": after})).json()
        pages += [b["business"] for b in page["businesses"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert pages == [b["business"] for b in done["businesses"]]

    # the CSV: one row per change, one per business without
    export = await client.get(f"{r.headers['Location']}.csv", headers=OPERATOR)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert {row["business"] for row in table} == set(latest)
    assert sum(row["change"] == "changed" for row in table) == sum(len(c["changed"]) for c in changed.values())
    assert {row["business"] for row in table if row["change"] == "none"} == set(latest) - set(changed)


async def test_impact_problems(client):
    assert (await client.post("/v1/rulesets/no-such-version/impact", headers=OPERATOR)).status_code == 404
    assert (await client.post("/v1/rulesets/x/impact")).status_code == 401
    assert (await client.post("/v1/rulesets/x/impact", headers=bearer("reader"))).status_code == 403
    missing = await client.get("/v1/impact/01HZZZZZZZZZZZZZZZZZZZZZZZ", headers=OPERATOR)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    assert (await client.get("/v1/impact/nope.csv", headers=OPERATOR)).status_code == 404
    assert (await client.get("/v1/impact/" + "x" * 300, headers=OPERATOR)).status_code == 404
    assert (await client.get("/v1/impact/nope")).status_code == 401
    bad = await client.get("/v1/changes", params={"since": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.since"
    assert (await client.get("/v1/changes", params={"limit": 0})).status_code == 422


async def test_an_activation_publishes_each_changed_business_to_the_change_feed(client, app):
    await assess(client, UNLICENSED_CDN, "feed-1")
    await assess(client, LICENSED_CDN, "feed-2")
    assert app.state.journal.wait_flushed()
    start = (await client.get("/v1/changes", params={"limit": 1000})).json()["next_since"]
    old = (await client.get("/v1/rulesets/active")).json()["version"]
    upload = await client.post("/v1/rulesets", json={"files": retitled(rule_files(), NEW_TITLE + " (feed)")},
                               headers=OPERATOR)
    new = upload.json()["version"]
    assert (await client.post(f"/v1/rulesets/{new}/activate", headers=OPERATOR)).status_code == 200
    events: list[dict[str, Any]] = []
    for _ in range(600):
        feed = (await client.get("/v1/changes", params={"since": start})).json()
        if feed["events"]:
            events = feed["events"]
            break
        await asyncio.sleep(0.05)
    by_business = {e["business"]: e for e in events}
    assert "feed-1" in by_business and "feed-2" not in by_business
    event = by_business["feed-1"]
    assert event["version"] == new and event["previous_version"] == old and event["subject"] == "feed-1"
    assert [c["rule_id"] for c in event["changes"]["changed"]] == ["cleanup.unlicensed-business"]
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(cursors) and cursors[0] > start
    after = (await client.get("/v1/changes", params={"since": cursors[-1]})).json()
    assert after["events"] == [] and after["next_since"] == cursors[-1]
    job = (await client.get(f"/v1/impact/{event['job']}", headers=OPERATOR)).json()
    assert job["reason"] == "activation" and job["state"] == "done"
    assert (await client.post(f"/v1/rulesets/{old}/activate", headers=OPERATOR)).status_code == 200  # back
