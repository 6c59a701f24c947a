"""The page for compliance officers, end to end: headless Chromium against a real server.

Each test clicks through one flow as an officer would and asserts on what the page shows, checked against
the API's own answer where the two must agree. Screenshots go to test-artifacts/ui/.
"""
from __future__ import annotations

import itertools
import json

import httpx
import pytest

from service.ui import STATIC
from tests.browser.conftest import open_page, shot
from tests.helpers import make_profile
from tests.integration.servers import start_server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

RULE = "cleanup.pre-2015-idc-permit-cease"
INSTRUMENT = "miit-2017-internet-access-market-cleanup"
QUOTE = "Those who have not acquired the corresponding telecommunication business permits in time"
CONDITIONAL = "cleanup.unmet-permit-requirements-no-new-users"
SAMPLES = json.loads((STATIC / "samples.json").read_text(encoding="utf-8"))


def assess(page, sample: str | None = None, text: str | None = None) -> None:
    if sample:
        page.click(f"[data-sample={sample}]")
    if text is not None:
        page.fill("textarea[data-field=profile]", text)
    page.get_by_role("button", name="Assess", exact=True).click()


def finding(page, rule_id: str, within: str = ".results"):
    return page.locator(f"{within} article.finding[data-rule-id='{rule_id}']")


def test_header_names_the_rule_set_in_use(page, server):
    active = httpx.get(f"{server.url}/v1/rulesets/active").json()
    page.goto("/ui")  # redirected to /ui/
    assert page.url.endswith("/ui/")
    version = page.locator("[data-ruleset-version]")
    assert version.text_content() == active["version"]
    header = page.locator("#ruleset").text_content()
    assert f"{active['rule_count']} rules" in header and "loaded " in header
    assert page.locator("h1").text_content() == "Compliance rule engine"
    assert page.title() == "Assess a business \u2014 Compliance rule engine"
    shot(page, "01-start", full_page=False)


def test_assess_the_contract_example(page, server):
    page.goto("/ui/")
    assess(page, sample="contract-example")
    assert "Acme Cloud Ltd" in page.input_value("textarea[data-field=profile]")
    report = page.locator(".results .report")
    report.wait_for()
    assert report.locator("h2").text_content() == "Findings for Acme Cloud Ltd"
    assert page.evaluate("document.activeElement.classList.contains('report-title')")  # focus moves to the answer

    # grouped by kind, most serious first
    kinds = page.locator(".results .group").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == [k for k in ["violation", "prohibition", "obligation", "advisory", "notice"] if k in kinds]
    card = finding(page, RULE, ".results .group[data-kind=violation]")
    assert card.count() == 1
    text = card.text_content()
    assert "Critical severity" in text and "Violation" in text and "Normative document" in text
    assert "Written assurance by 31 March 2017, and the corresponding permit by the end of 2017." in (
        card.locator(".interpretation").text_content())
    assert "licence IDC for CN-BJ (granted 2011-06-01)" in card.locator(".because").text_content()
    # a finding that depends on what the profile does not say names it
    conditional = finding(page, CONDITIONAL)
    assert "Conditional" in conditional.locator(".tags").text_content()
    assert "(licences[0].entry_requirements_met)" in conditional.locator(".conditional-on").text_content()
    quotes = card.locator("blockquote").all_text_contents()
    assert any(q.startswith(QUOTE) for q in quotes), quotes
    caption = card.locator("figcaption").first.text_content()
    assert "Notice on Cleaning Up and Regulating the Internet Access Service Market" in caption

    # the id links to the recorded answer, which is the same assessment
    link = report.locator("a.assessment-link")
    assessment_id = link.get_attribute("data-assessment-id")
    assert link.get_attribute("href") == f"{server.url}/v1/assessments/{assessment_id}"
    recorded = httpx.get(link.get_attribute("href")).json()
    assert recorded["assessment_id"] == assessment_id
    shown = page.locator(".results .group article.finding").evaluate_all("els => els.map(e => e.dataset.ruleId)")
    assert sorted(shown) == sorted(o["rule_id"] for o in recorded["obligations"])
    summary = report.locator(".report-summary").text_content()
    assert summary.startswith(f"{len(recorded['obligations'])} findings: 1 violation")
    shot(page, "02-assessment-by-kind")

    # grouped by instrument: the finding sits under the instrument it cites first
    page.get_by_label("by instrument").check()
    group = page.locator(f".results .group[data-instrument-id='{INSTRUMENT}']")
    assert group.locator(f"article[data-rule-id='{RULE}']").count() == 1
    assert group.locator("h3").text_content().startswith("Notice on Cleaning Up")
    shot(page, "03-assessment-by-instrument")

    # the report's own link opens the recorded assessment in the page
    report.get_by_role("link", name="link to this report").click()
    page.wait_for_url(f"**/ui/#/assessments/{assessment_id}")
    page.locator(".results .report h2", has_text="Recorded assessment").wait_for()
    assert finding(page, RULE).count() == 1


def test_upload_a_profile_file(page, tmp_path):
    profile = SAMPLES["profiles"][1]["profile"]  # the CDN start-up in Guangdong with no permit
    path = tmp_path / "pearl-river.json"
    path.write_text(json.dumps(profile, indent=2))
    page.goto("/ui/")
    page.set_input_files("input[data-file-for=profile]", str(path))
    page.locator(".file-status", has_text="Loaded pearl-river.json").wait_for()
    assert json.loads(page.input_value("textarea[data-field=profile]")) == profile
    assess(page)
    card = finding(page, "cleanup.unlicensed-business", ".results .group[data-kind=violation]")
    card.wait_for()
    assert "Businesses without permits" in card.locator("blockquote").first.text_content()
    assert page.locator(".results .report h2").text_content() == "Findings for Pearl River Edge Networks Co Ltd"


def test_a_refused_profile_shows_each_path_beside_the_input(page):
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/v1/assessments") else None)
    page.goto("/ui/")
    problem = page.locator("[data-problem-for=profile]")

    # JSON the browser cannot read: said at once, nothing sent
    assess(page, text='{\n  "as_of": "2020-10-01",\n  "services": [\n}')
    problem.wait_for()
    assert "not valid JSON (line 4" in problem.text_content()
    assert requests == []

    # the service's 422: each path and message, and the field marked invalid
    bad = make_profile(services=[{"type": "satellite_uplink", "regions": ["CN-BJ"]}])
    bad["<img src=x onerror=\"window.pwned=1\">"] = True  # echoed back in the error path: shown as text only
    assess(page, text=json.dumps(bad, indent=2))
    page.locator("[data-problem-for=profile] .problem-list").wait_for()
    paths = problem.locator(".problem-path").all_text_contents()
    assert "services[0].type" in paths and '<img src=x onerror="window.pwned=1">' in paths
    messages = problem.locator(".problem-message").all_text_contents()
    assert any(m.startswith("Input should be 'idc'") for m in messages)
    assert "The profile was not accepted" in problem.text_content()
    assert page.get_attribute("textarea[data-field=profile]", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.dataset.problemFor") == "profile"  # focus moves to the problem
    assert problem.locator("img").count() == 0 and page.evaluate("window.pwned") is None
    # each path found in the text is a button that selects it there
    problem.get_by_role("button", name="services[0].type").click()
    selected = page.evaluate("(() => { const t = document.activeElement; "
                             "return [t.dataset.field, t.value.slice(t.selectionStart, t.selectionEnd)]; })()")
    assert selected == ["profile", '"type"']
    assert page.locator(".results .report").count() == 0
    assert len(requests) == 1
    shot(page, "04-refused-profile", full_page=False)

    # fixed: the problem goes away and the answer comes
    assess(page, sample="contract-example")
    page.locator(".results .report").wait_for()
    assert problem.is_hidden()
    assert page.get_attribute("textarea[data-field=profile]", "aria-invalid") is None


def test_compare_two_profiles(page, server):
    sample = SAMPLES["comparisons"][0]  # a cloud provider starts CDN in Guangdong
    expected = httpx.post(f"{server.url}/v1/assessments/compare?record=false",
                          json={"baseline": sample["baseline"], "proposed": sample["proposed"]}).json()
    page.goto("/ui/")
    page.get_by_role("link", name="Compare two profiles").click()
    page.click(f"[data-sample={sample['id']}]")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator(".results .report").wait_for()

    def shown(key: str) -> list[str]:
        return page.locator(f"[data-compare={key}] article.finding").evaluate_all(
            "els => els.filter(e => !e.parentElement.closest('article')).map(e => e.dataset.ruleId)")

    assert shown("added") == [o["rule_id"] for o in expected["added"]]
    assert shown("removed") == [o["rule_id"] for o in expected["removed"]]
    assert shown("changed") == [c["rule_id"] for c in expected["changed"]]
    assert shown("unchanged") == [o["rule_id"] for o in expected["unchanged"]]
    assert "cleanup.unlicensed-business" in shown("added")
    added = page.locator("[data-compare=added] h3").text_content()
    assert added == f"New with the change ({len(expected['added'])})"
    change = page.locator("[data-compare=changed] article.change").first
    assert change.locator(".reason-added").count() >= 1  # the CDN service is a new reason
    assert "cdn" in change.locator(".reason-added").first.text_content()
    shot(page, "05-compare")

    # a refused side is shown under its own box, with the path inside that profile
    page.fill("textarea[data-field=proposed]", json.dumps({"as_of": "2020-13-01"}))
    page.get_by_role("button", name="Compare", exact=True).click()
    proposed_problem = page.locator("[data-problem-for=proposed]")
    proposed_problem.locator(".problem-path").first.wait_for()
    assert proposed_problem.locator(".problem-path").all_text_contents() == ["as_of"]
    assert page.locator("[data-problem-for=baseline]").is_hidden()


def test_browse_instruments_rules_and_quotes(page, server):
    instruments = httpx.get(f"{server.url}/v1/instruments").json()["instruments"]
    no_duty = [i for i in instruments if not i["business_duty"]]
    page.goto("/ui/#/instruments")
    rows = page.locator("table.instruments tbody tr")
    rows.first.wait_for()
    assert rows.count() == len(instruments)

    # the instruments that carry no business duty, each with its reason
    page.get_by_label("no business duty").check()
    assert rows.count() == len(no_duty)
    assert page.locator("table.instruments tbody tr:not(.no-duty)").count() == 0
    report = next(i for i in no_duty if i["id"] == "caict-2020-pi-protection-report")
    row = page.locator("tr[data-instrument-id='caict-2020-pi-protection-report'] td.duty")
    assert row.text_content() == f"None. {report['no_duty_reason']}"
    shot(page, "06-instruments-without-duty")

    # search, then one instrument: its rules and the passages they quote
    page.get_by_label("all", exact=True).check()
    page.get_by_label("Find an instrument").fill("cleaning up")
    assert rows.count() == 1
    page.get_by_role("link", name="Notice on Cleaning Up and Regulating the Internet Access Service Market").click()
    page.wait_for_url(f"**/#/instruments/{INSTRUMENT}")
    page.locator(".passage").first.wait_for()
    rules = page.locator(".rule-list li").evaluate_all("els => els.map(e => e.dataset.ruleId)")
    assert RULE in rules and len(rules) == len(next(i for i in instruments if i["id"] == INSTRUMENT)["rules"])
    assert any(q.startswith(QUOTE) for q in page.locator(".passage blockquote").all_text_contents())
    shot(page, "07-instrument")

    # one rule: its sources quoted word for word
    page.locator(f".rule-list li[data-rule-id='{RULE}'] a").click()
    page.wait_for_url(f"**/#/rules/{RULE}")
    page.locator(".rule blockquote").first.wait_for()
    rule = httpx.get(f"{server.url}/v1/rules/{RULE}").json()
    assert page.locator("h2").text_content() == rule["title"]
    tags = page.locator(".rule .tags").text_content()
    assert "Normative document" in tags and "Overdue" not in tags
    # applies from the day the text gives
    assert "1 January 2018" in page.locator(".rule dl.facts").first.text_content()
    assert "consequence clauses" in page.locator(".rule .interpretation").text_content()
    assert page.locator(".rule blockquote").all_text_contents() == [c["quote"] for c in rule["citations"]]
    assert page.evaluate("document.activeElement.id") == "rule-heading"
    shot(page, "08-rule")

    # the list of rules, filtered by kind
    page.get_by_role("link", name="All rules").click()
    page.locator("table.rules tbody tr").first.wait_for()
    page.get_by_label("Kind").select_option("violation")
    kinds = page.locator("table.rules tbody tr .badge").all_text_contents()
    expected = [r for r in httpx.get(f"{server.url}/v1/rules", params={"kind": "violation"}).json()["rules"]]
    assert kinds == ["Violation"] * len(expected)
    page.go_back()  # the browser's back button returns to the rule
    page.wait_for_url(f"**/#/rules/{RULE}")


def test_fields_the_service_may_add_show_when_present(page):
    """`explanation` and `upcoming` show when the answer carries them; an answer without them still reads."""
    starts = "2021-01-01"

    def with_extras(route):
        answer = route.fetch().json()
        answer["obligations"][0]["explanation"] = "You offer cloud computing in Guangdong, and no licence covers it."
        upcoming = dict(answer["obligations"][-1], rule_id="civilcode.takes-effect-2021",
                        title="The Civil Code takes effect")
        answer["upcoming"] = [{"starts": starts, "obligation": upcoming}]
        route.fulfill(status=201, json=answer)

    page.route("**/v1/assessments", with_extras)
    page.goto("/ui/")
    assess(page, sample="contract-example")
    page.locator(".results .report").wait_for()
    assert page.locator(".results .explanation").first.text_content() == (
        "In plain words: You offer cloud computing in Guangdong, and no licence covers it.")
    coming = page.locator(".results .upcoming")
    assert coming.locator("h3").text_content() == "Coming up (1)"
    assert "Applies from 1 January 2021" in coming.locator("article").text_content()
    shot(page, "09-explanation-and-upcoming")

    def without_extras(route):
        answer = route.fetch().json()
        answer.pop("upcoming", None)
        answer.pop("warnings", None)
        for o in answer["obligations"]:
            o.pop("explanation", None)
        route.fulfill(status=201, json=answer)

    page.unroute("**/v1/assessments")
    page.route("**/v1/assessments", without_extras)
    assess(page)
    page.locator(".results .report").wait_for()
    assert finding(page, RULE).count() == 1
    assert page.locator(".results .explanation").count() == 0 and page.locator(".results .upcoming").count() == 0


def test_keyboard_labels_and_headings(page):
    page.goto("/ui/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.focus("[data-sample=contract-example]")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.field") == "profile"
    page.focus("button.primary")
    page.keyboard.press("Enter")
    page.locator(".results .report").wait_for()
    page.get_by_label("by instrument").focus()
    page.keyboard.press("ArrowLeft")  # radio buttons move with the arrow keys
    assert page.locator(".results .group[data-kind]").count() > 0

    for route in ("#/assess", "#/compare", "#/instruments", f"#/rules/{RULE}"):
        page.goto(f"/ui/{route}")
        page.locator("main h2").first.wait_for()
        page.wait_for_load_state("networkidle")
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
            .map(el => el.outerHTML.slice(0, 80))""")
        assert unlabelled == [], (route, unlabelled)
        levels = page.evaluate("() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])")
        assert levels[0] == 1 and levels.count(1) == 1, (route, levels)
        skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
        assert skips == [], (route, levels)


def test_print_leaves_out_the_controls(page):
    page.goto("/ui/")
    assess(page, sample="contract-example")
    page.locator(".results .report").wait_for()
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden() and page.locator("form.assess-form").is_hidden()
    assert page.locator(".report-controls").is_hidden() and page.locator("#token-panel").is_hidden()
    assert finding(page, RULE).is_visible()
    shot(page, "10-print")


def test_a_token_is_kept_for_the_tab_only(browser, tmp_path):
    token = "officer-evaluator-token-0123456789"
    server = start_server(tmp_path, env={"REQUIRE_TOKEN_FOR_EVALUATION": "true", "AUTH_TOKENS": f"{token}=evaluator"})
    try:
        context, page, problems = open_page(browser, server.url)
        page.goto("/ui/")
        assess(page, sample="contract-example")
        problem = page.locator("[data-problem-for=profile]")
        problem.wait_for()
        assert "needs an access token" in problem.text_content()
        assert page.locator("#token-panel").get_attribute("open") is not None  # opened for the officer
        assert page.get_attribute("textarea[data-field=profile]", "aria-invalid") is None  # the profile is fine
        shot(page, "11-token-needed", full_page=False)

        problem.get_by_role("button", name="Enter the access token").click()
        assert page.evaluate("document.activeElement.id") == "token-input"
        page.keyboard.type(token)
        page.get_by_role("button", name="Save the token").click()
        assert page.locator("#token-state").text_content() == "set"
        assess(page)
        page.locator(".results .report").wait_for()
        assert finding(page, RULE).count() == 1
        assert page.evaluate("sessionStorage.getItem('compliance-engine.token')") == token
        assert page.evaluate("localStorage.length") == 0 and context.cookies() == []
        assert page.input_value("#token-input") == ""  # not left in the form

        page.reload()  # the same tab keeps it ...
        assert page.locator("#token-state").text_content() == "set"
        page.click("#token-panel summary")
        page.get_by_role("button", name="Forget it").click()  # ... until forgotten
        assert page.evaluate("sessionStorage.getItem('compliance-engine.token')") is None
        context.close()
        assert not problems.items, problems.items

        other, page, _ = open_page(browser, server.url)  # a new session never had it
        page.goto("/ui/")
        assert page.locator("#token-state").text_content() == "not set"
        other.close()
    finally:
        server.stop_gracefully()


@pytest.mark.parametrize(("text", "where", "message"), [
    ('{\n  "as_of": "2020-10-01",\n  "services": [\n}', "line 4, column 1", "expected a value, found \u201c}\u201d"),
    ('{"as_of": "2020-10-01",}', "line 1, column 24", "a comma before \u201c}\u201d: remove it"),
    ("{'as_of': '2020-10-01'}", "line 1, column 2", "texts and field names need double quotes"),
    ('{"business": {"name": "Acme}}', "line 1, column 23", "a text in quotes is never closed"),
    ('{"as_of" "2020-10-01"}', "line 1, column 10", "expected \u201c:\u201d after the field name"),
    ("[1, 2]", None, "A profile is a JSON object"),
], ids=["unclosed-list", "trailing-comma", "single-quotes", "unclosed-text", "missing-colon", "not-an-object"])
def test_broken_json_is_located_for_the_officer(page, text, where, message):
    page.goto("/ui/")
    page.fill("textarea[data-field=profile]", text)
    page.get_by_role("button", name="Assess", exact=True).click()
    problem = page.locator("[data-problem-for=profile]")
    problem.wait_for()
    said = problem.text_content()
    assert message in said and (where is None or f"({where})" in said), said
