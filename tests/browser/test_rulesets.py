"""The page's Rule sets section, end to end: headless Chromium against a real server with tokens. An operator sees
the stored versions, a version's portfolio impact (checked against GET /v1/impact/{job} and its CSV), and only then
can activate it; without a token the section says what is needed and nothing breaks."""
from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api.test_impact import LICENSED_CDN, UNLICENSED_CDN
from tests.api.test_rulesets import retitled, rule_files
from tests.browser.conftest import shot
from tests.helpers import TOKENS, bearer, make_profile
from tests.integration.servers import start_server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

OPERATOR = bearer("operator")
PAGE = 25  # the page's businesses per page (js/rulesets.js)
UNLICENSED_SUBJECTS = [f"cust-{i:03d}" for i in range(PAGE + 2)]  # more than a page of businesses that change


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server that requires tokens for operator actions only (reading and evaluating stay open)."""
    auth = ",".join(f"{token}={role}" for role, token in TOKENS.items())
    s = start_server(tmp_path_factory.mktemp("ui-rulesets"), env={"AUTH_TOKENS": auth})
    yield s
    s.stop_gracefully()


def record(http: httpx.Client, profile: dict[str, Any], subject: str | None = None) -> str:
    r = http.post("/v1/assessments", json=profile, params={"subject": subject} if subject else None)
    assert r.status_code == 201, r.text
    return str(r.json()["assessment_id"])


def wait_recorded(http: httpx.Client, ids: list[str]) -> None:
    """Assessments are written to the database by the journal's flusher: the impact reads them from there."""
    deadline = time.monotonic() + 30
    while ids and time.monotonic() < deadline:
        ids = [i for i in ids if http.get(f"/v1/assessments/{i}").status_code != 200]
        time.sleep(0.1)
    assert not ids, f"not recorded: {ids}"


def store_version(http: httpx.Client, title: str) -> str:
    r = http.post("/v1/rulesets", json={"files": retitled(rule_files(), title)}, headers=OPERATOR)
    assert r.status_code in (200, 201), r.text
    return str(r.json()["version"])


def enter_token(page, token: str) -> None:
    page.click("#token-panel summary")
    page.fill("#token-input", token)
    page.get_by_role("button", name="Save the token").click()


def counts_shown(page, section: str) -> dict[str, dict[str, int]]:
    rows = page.locator(f".impact table[data-counts={section}] tbody tr")
    return {row.get_attribute("data-id"): {c.get_attribute("data-change"): int(c.text_content())
                                           for c in row.locator("td[data-change]").all()}
            for row in rows.all()}


def businesses_shown(page) -> dict[str, dict[str, list[str]]]:
    out = {}
    for row in page.locator(".impact table.impact-businesses tbody tr").all():
        out[row.get_attribute("data-business")] = {
            change: sorted(row.locator(f"ul[data-change={change}] li").evaluate_all(
                "els => els.map(e => e.dataset.ruleId)")) for change in ("added", "removed", "changed")}
    return out


def businesses_of(answer: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {b["business"]: {k: sorted(f["rule_id"] for f in b["changes"][k]) for k in ("added", "removed", "changed")}
            for b in answer["businesses"]}


def test_show_the_impact_of_a_version_then_activate_it(page, server):
    from playwright.sync_api import expect  # here: without Playwright, the browser fixture skips (or fails in CI)

    with httpx.Client(base_url=server.url, timeout=30) as http:
        ids = [record(http, UNLICENSED_CDN, s) for s in UNLICENSED_SUBJECTS]
        ids += [record(http, LICENSED_CDN, "cust-licensed"), record(http, make_profile()),
                record(http, UNLICENSED_CDN)]  # one without a subject: known by its profile's digest
        wait_recorded(http, ids)
        before = http.get("/v1/rulesets/active").json()["version"]
        version = store_version(http, "Unlicensed IDC, ISP or CDN business (page impact test)")
        audit = http.get("/v1/audit", headers=OPERATOR).json()["events"]

    page.goto("/ui/")
    enter_token(page, TOKENS["operator"])
    page.get_by_role("link", name="Rule sets").click()
    page.wait_for_url("**/ui/#/rulesets")
    assert page.title() == "Rule sets \u2014 Compliance rule engine"
    row = page.locator(f"table.rulesets tr[data-version='{version}']")
    active_row = page.locator(f"table.rulesets tr[data-version='{before}']")
    row.wait_for()
    # newest first, the active one marked, who stored and who activated each (from the API)
    versions = page.locator("table.rulesets tbody tr").evaluate_all("els => els.map(e => e.dataset.version)")
    assert versions == [version, before]
    assert "Active" in active_row.locator("th").text_content() and "Active" not in row.locator("th").text_content()
    started = next(e for e in audit if e["outcome"] == "ok" and e["to_version"] == before)
    assert f"by {started['actor']}" in active_row.locator("td[data-activated]").text_content()
    assert "Never" in row.locator("td[data-activated]").text_content()
    assert page.locator("[data-activate]").count() == 0  # nothing to activate before an impact is shown
    shot(page, "20-rulesets-versions")

    row.get_by_role("button", name=f"Show impact of version {version}").click()
    panel = page.locator(f".impact[data-impact-version='{version}']")
    assert page.evaluate("document.activeElement.tagName") == "H3"  # focus moves to the impact
    activate = panel.get_by_role("button", name="Activate this version")
    activate.wait_for()
    job = panel.get_attribute("data-job")
    assert panel.locator("progress").evaluate("p => p.value === p.max")
    assert "Done: " in panel.locator("[role=status]").first.text_content()
    answer = httpx.get(f"{server.url}/v1/impact/{job}", params={"limit": 1000}, headers=OPERATOR).json()
    assert answer["state"] == "done" and answer["version"] == version and answer["baseline_version"] == before
    totals = answer["totals"]
    assert totals["businesses_changed"] == len(UNLICENSED_SUBJECTS) + 1  # every unlicensed business, subject or not
    assert panel.locator("[data-businesses-changed]").get_attribute("data-businesses-changed") == str(
        totals["businesses_changed"])
    assert counts_shown(page, "rules") == totals["by_rule"]
    assert counts_shown(page, "instruments") == totals["by_instrument"]
    shot(page, "21-rulesets-impact")

    # the businesses, a page at a time, are the API's
    rows = panel.locator("table.impact-businesses tbody tr")
    first = businesses_shown(page)
    assert len(first) == PAGE
    panel.get_by_role("button", name="Next businesses").click()
    expect(rows).to_have_count(len(answer["businesses"]) - PAGE)
    second = businesses_shown(page)
    assert page.evaluate("document.activeElement.hasAttribute('data-businesses-heading')")  # keyboard keeps its place
    assert {**first, **second} == businesses_of(answer) and not set(first) & set(second)
    subjects = page.locator(".impact table.impact-businesses tbody th").all_text_contents()
    assert any(t.startswith("No subject: sha256:") for t in subjects), subjects
    shot(page, "22-rulesets-impact-page-2")
    panel.get_by_role("button", name="Previous businesses").click()
    expect(rows).to_have_count(PAGE)
    assert businesses_shown(page) == first
    # a rule id leads to the Rules section
    rule_id = next(iter(totals["by_rule"]))
    assert panel.locator(f"table[data-counts=rules] tr[data-id='{rule_id}'] a").get_attribute("href") == (
        f"#/rules/{rule_id}")

    # the CSV, fetched with the token, is the API's
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download every change (CSV)").click()
    assert download.value.suggested_filename == f"impact-{job}.csv"
    csv_api = httpx.get(f"{server.url}/v1/impact/{job}.csv", headers=OPERATOR).content
    assert open(download.value.path(), "rb").read() == csv_api

    # activation asks first, naming the number of businesses affected; declined, nothing changes
    messages: list[str] = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    activate.click()
    assert messages and f"{totals['businesses_changed']} businesses see" in messages[0] and version in messages[0]
    assert httpx.get(f"{server.url}/v1/rulesets/active").json()["version"] == before
    page.once("dialog", lambda d: d.accept())
    activate.click()
    panel.get_by_text(f"Version {version} is now active.").wait_for()
    assert httpx.get(f"{server.url}/v1/rulesets/active").json()["version"] == version
    page.locator(f"table.rulesets tr[data-version='{version}'] .badge", has_text="Active").wait_for()
    assert page.locator(f"table.rulesets tr[data-version='{version}'] button").count() == 0
    assert page.locator(f"table.rulesets tr[data-version='{before}'] button[data-show-impact]").count() == 1
    page.locator(f"[data-ruleset-version='{version}']").wait_for()  # the header names it too
    assert activate.count() == 0
    shot(page, "23-rulesets-activated")


def test_without_an_operator_token_the_section_says_so(page, server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        version = store_version(http, "Unlicensed IDC, ISP or CDN business (page token test)")
    page.goto("/ui/#/rulesets")
    row = page.locator(f"table.rulesets tr[data-version='{version}']")
    row.wait_for()  # reading is open: the versions are listed
    problem = page.locator("[data-view=rulesets] > .problem")
    problem.wait_for()
    assert "Only an operator" in problem.text_content() and "needs an access token" in problem.text_content()
    assert "(operators only)" in row.locator("td[data-activated]").text_content()
    shot(page, "24-rulesets-no-token")

    row.get_by_role("button", name=f"Show impact of version {version}").click()
    impact_problem = page.locator(".impact .problem")
    impact_problem.wait_for()
    assert "An access token is needed" in impact_problem.text_content()
    assert page.locator("[data-activate]").count() == 0
    assert page.locator("#token-panel").get_attribute("open") is not None  # opened for the operator
    shot(page, "25-rulesets-impact-no-token")

    # a token that is not an operator's: refused, and said so
    page.fill("#token-input", TOKENS["reader"])
    page.get_by_role("button", name="Save the token").click()
    row.get_by_role("button", name=f"Show impact of version {version}").click()
    page.locator(".impact .problem", has_text="does not allow this").wait_for()
    assert page.locator("[data-activate]").count() == 0
    assert httpx.get(f"{server.url}/v1/rulesets/active").json()["version"] != version
