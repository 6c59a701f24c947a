"""Onboarding on the page without typing JSON, end to end in headless Chromium against a real server.

The profile form is generated from the schema the service serves (GET /v1/schemas/profile): the tests derive
what must be on the form from that schema, never from a list of their own. Findings, questions and comparisons
shown are checked against the API's own answers for the same profile. Screenshots go to test-artifacts/ui/.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

import httpx
import pytest

from service.ui import STATIC
from tests.browser.conftest import shot

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SAMPLES = json.loads((STATIC / "samples.json").read_text(encoding="utf-8"))
CONTRACT_EXAMPLE = SAMPLES["profiles"][0]["profile"]
JSON_TEXT = "textarea[data-field=profile]"
LIVE_RULES = ".live .live-finding"
# the page asks for this many questions (live.js QUESTIONS_LIMIT); the ranking does not depend on it
QUESTIONS = "v1/assessments/questions?limit=40"


# --- the schema, read the way the form reads it ---------------------------------------------------------------
def resolve(schema: dict, node: dict) -> dict:
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            node = options[0]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def item_schema(schema: dict, node: dict) -> dict | None:
    """The object schema of a list's items, when the list holds objects."""
    node = resolve(schema, node)
    if node.get("type") != "array":
        return None
    item = resolve(schema, node["items"])
    return item if "properties" in item else None


def fields(schema: dict, node: dict, prefix: str = "") -> list[tuple[str, str, dict]]:
    """(path, name, schema) of every field of an object, nested objects and the first item of each list of
    objects included."""
    out = []
    for name, prop in node["properties"].items():
        path = f"{prefix}.{name}" if prefix else name
        out.append((path, name, prop))
        inner = resolve(schema, prop)
        if "properties" in inner:
            out += fields(schema, inner, path)
        item = item_schema(schema, prop)
        if item is not None:
            out += fields(schema, item, f"{path}[0]")
    return out


def automatic_title(name: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in name.split("_"))


def explicit_titles(schema: dict) -> dict[str, str]:
    """path -> title, for the fields whose schema names them otherwise than their key does."""
    return {path: prop["title"] for path, name, prop in fields(schema, schema)
            if prop.get("title") and prop["title"] != automatic_title(name)}


def apply_patch(profile: dict, patch: list[dict]) -> dict:
    """The `add` operations the service's questions send (RFC 6902), for the expected profile."""
    out = copy.deepcopy(profile)
    for op in patch:
        assert op["op"] == "add", op
        *parents, last = [int(k) if k.isdigit() else k for k in op["path"].split("/")[1:]]
        node: Any = out
        for key, following in zip(parents, [*parents[1:], last], strict=True):
            if isinstance(node, dict) and key not in node:
                node[key] = [] if following == "-" or isinstance(following, int) else {}
            node = node[key]
        if last == "-":
            node.append(op["value"])
        else:
            node[last] = op["value"]
    return out


# --- the page ---------------------------------------------------------------------------------------------------
def open_form(page) -> None:
    page.goto("/ui/")
    page.locator("[data-form-state=ready]").wait_for()


def settled(page) -> None:
    """The findings beside the form are those of the profile on screen."""
    page.locator(".live[data-live-state=ready]").wait_for()


def profile_text(page) -> dict:
    return json.loads(page.input_value(JSON_TEXT))


def live_rules(page) -> list[str]:
    return sorted(page.locator(LIVE_RULES).evaluate_all("els => els.map(e => e.dataset.ruleId)"))


def api_rules(server, profile: dict) -> list[str]:
    r = httpx.post(f"{server.url}/v1/assessments?record=false", json=profile, timeout=30)
    assert r.status_code == 200, r.text
    return sorted(o["rule_id"] for o in r.json()["obligations"])


def add_item(page, section: str, **identity: str) -> None:
    """Open the section if it is folded, choose what the new item is, and add it."""
    folded = page.locator(f"details[data-section={section}]")
    if folded.count() and folded.get_attribute("open") is None:
        folded.locator("> summary").click()
    for name, value in identity.items():
        page.locator(f"select[data-path='{section}'][data-role='new-{name}']").select_option(value)
    page.locator(f"button[data-path='{section}'][data-role=add]").click()


def check(page, path: str, value: str) -> None:
    page.locator(f"input[type=checkbox][data-path='{path}'][value='{value}']").check()


def answer_flag(page, path: str, value: bool) -> None:
    radio = page.locator(f"input[type=radio][data-path='{path}'][value='{str(value).lower()}']")
    if not radio.is_visible():  # a yes/no fact not stated yet is folded away
        page.locator(f".form-field[data-path='{path}']").locator("xpath=ancestor::details[1]/summary").click()
    radio.check()


def test_the_form_shows_every_field_the_schema_has(page, server):
    schema = httpx.get(f"{server.url}/v1/schemas/profile").json()
    open_form(page)
    shot(page, "20-onboarding-start")
    # the onboarding starts with the essentials; the other parts wait, folded
    sections = page.locator("details[data-section]").evaluate_all("els => els.map(e => [e.dataset.section, e.open])")
    assert {name for name, _ in sections} == {n for n, p in schema["properties"].items()
                                              if item_schema(schema, p) is not None} - {"services"}
    assert not any(is_open for _, is_open in sections)
    assert page.locator("input[data-path='business.name']").is_visible()

    page.get_by_role("button", name="Show every part of the form").click()
    for name, prop in schema["properties"].items():
        item = item_schema(schema, prop)
        if item is not None:
            first = next(n for n in item.get("required", []))
            add_item(page, name, **{first: resolve(schema, item["properties"][first])["enum"][0]})
    page.get_by_role("button", name="Show every part of the form").click()  # the new items' folded facts too

    rendered = page.locator(".profile-form .form-field[data-path]").evaluate_all("els => els.map(e => e.dataset.path)")
    assert set(rendered) == {path for path, _, _ in fields(schema, schema)}, "the schema's fields, and only those"
    assert len(rendered) == len(set(rendered))

    # titles come from the schema; values are offered in its words
    labels = dict(page.locator(".profile-form .form-field[data-path]").evaluate_all(
        "els => els.map(e => [e.dataset.path, e.querySelector(':scope > label, :scope > legend').textContent])"))
    titles = explicit_titles(schema)
    assert titles and all(labels[path] == title for path, title in titles.items()), titles
    service_type = resolve(schema, schema["$defs"]["Service"]["properties"]["type"])
    options = page.locator("select[data-path='services[0].type'] option").evaluate_all(
        "els => els.map(o => [o.value, o.textContent])")
    assert options == [[v, service_type["x-labels"][v]] for v in service_type["enum"]]
    regions = resolve(schema, schema["$defs"]["Service"]["properties"]["regions"])["items"]
    offered = page.locator("input[type=checkbox][data-path='services[0].regions']").evaluate_all(
        "els => els.map(e => e.value)")
    assert offered == list(regions["x-labels"])

    # every control has a label, the whole form open
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('.profile-form :is(input, select, button)')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map(el => el.outerHTML.slice(0, 100))""")
    assert unlabelled == []
    shot(page, "21-onboarding-every-field")


def test_a_profile_built_with_clicks_only(page, server):
    open_form(page)
    answer_flag(page, "business.foreign_invested", False)
    check(page, "business.sectors", "internet")
    add_item(page, "licences", type="ISP")
    check(page, "licences[0].regions", "CN-BJ")
    add_item(page, "services", type="cdn")
    check(page, "services[0].regions", "CN-BJ")
    check(page, "services[0].regions", "CN-GD")
    answer_flag(page, "services[0].attributes.third_party_sdks", True)
    add_item(page, "data", category="personal_information")
    add_item(page, "cross_border", kind="data_transfer")
    page.locator("select[data-path='cross_border[0].data_category']").select_option("personal_information")
    add_item(page, "products", kind="commercial_cryptography")
    page.locator("select[data-path='products[0].trade']").select_option("import")

    expected = {
        "business": {"foreign_invested": False, "sectors": ["internet"]},
        "licences": [{"type": "ISP", "regions": ["CN-BJ"]}],
        "services": [{"type": "cdn", "regions": ["CN-BJ", "CN-GD"], "attributes": {"third_party_sdks": True}}],
        "data": [{"category": "personal_information"}],
        "cross_border": [{"kind": "data_transfer", "data_category": "personal_information"}],
        "products": [{"kind": "commercial_cryptography", "trade": "import"}],
    }
    assert profile_text(page) == expected
    # the JSON lists the parts in the schema's order, as the form shows them
    assert list(profile_text(page)) == ["business", "licences", "services", "data", "cross_border", "products"]

    settled(page)
    shown = live_rules(page)
    assert shown and shown == api_rules(server, expected)
    summary = page.locator(".live .live-summary")
    assert summary.get_attribute("aria-live") == "polite"
    assert summary.text_content().startswith(f"{len(shown)} findings")
    assert page.locator(".questions .question").count() > 0
    side = page.locator(".onboarding-side").text_content() + page.locator(".profile-form").text_content()
    assert not re.search(r"\b(null|undefined|NaN)\b", side), "a missing value was written out"
    shot(page, "22-onboarding-built-with-clicks")

    # a "not stated" answer takes the fact out again: absence is not "no"
    answer_flag(page, "business.foreign_invested", True)
    page.locator("input[type=radio][data-path='business.foreign_invested'][value='']").check()
    assert "foreign_invested" not in profile_text(page)["business"]
    # removing the only product removes the list; unchecking the last sector, the sectors
    page.get_by_role("button", name="Remove product 1").click()
    page.locator("input[type=checkbox][data-path='business.sectors'][value=internet]").uncheck()
    assert "products" not in profile_text(page) and "business" not in profile_text(page)


def test_the_json_and_the_form_follow_each_other(page, server):
    open_form(page)
    page.fill(JSON_TEXT, json.dumps(CONTRACT_EXAMPLE, indent=2))
    name = page.locator("input[data-path='business.name']")
    page.wait_for_function("() => document.querySelector(\"input[data-path='business.name']\")?.value !== ''")
    assert name.input_value() == CONTRACT_EXAMPLE["business"]["name"]
    assert page.locator("select[data-path='licences[0].type']").input_value() == "IDC"
    assert page.locator("details[data-section=licences]").get_attribute("open") is not None  # it holds something
    regions = page.locator("input[type=checkbox][data-path='services[0].regions']:checked").evaluate_all(
        "els => els.map(e => e.value)")
    assert regions == CONTRACT_EXAMPLE["services"][0]["regions"]
    assert page.locator("input[type=radio][data-path='business.cii_operator'][value=false]").is_checked()
    since = CONTRACT_EXAMPLE["services"][0]["since"]
    assert page.locator("input[data-path='services[0].since']").input_value() == since
    assert page.locator("input[data-path='services[0].attributes.users']").input_value() == "2000000"
    settled(page)
    assert live_rules(page) == api_rules(server, CONTRACT_EXAMPLE)

    # the form writes into the JSON
    name.fill("Acme Cloud (Guangdong) Ltd")
    check(page, "services[0].regions", "CN-SH")
    answer_flag(page, "business.cii_operator", True)
    page.locator("select[data-path='licences[0].type']").select_option("ISP")
    expected = copy.deepcopy(CONTRACT_EXAMPLE)
    expected["business"]["name"] = "Acme Cloud (Guangdong) Ltd"
    expected["business"]["cii_operator"] = True
    expected["services"][0]["regions"].append("CN-SH")
    expected["licences"][0]["type"] = "ISP"
    assert profile_text(page) == expected
    shot(page, "23-onboarding-json-and-form")

    # JSON that does not read: said where, and the form keeps the last profile that did
    page.fill(JSON_TEXT, '{"business": {"name": "Half typed}')
    problem = page.locator("[data-problem-for=profile]")
    problem.wait_for()
    assert "not valid JSON (line 1" in problem.text_content()
    assert name.input_value() == "Acme Cloud (Guangdong) Ltd"
    assert page.locator(".live").get_attribute("data-live-state") == "paused"
    page.fill(JSON_TEXT, json.dumps({"business": {"name": "Whole"}}))
    page.wait_for_function("() => document.querySelector(\"input[data-path='business.name']\").value === 'Whole'")
    assert problem.is_hidden()
    assert page.locator(".profile-form [data-path^='licences[']").count() == 0


def test_a_question_answered_with_one_click(page, server):
    open_form(page)
    page.click("[data-sample=contract-example]")
    settled(page)
    asked = httpx.post(f"{server.url}/{QUESTIONS}", json=CONTRACT_EXAMPLE, timeout=30).json()
    # a fact the findings depend on, with an answer that changes them (the service says which)
    conditional = next(c for c in asked["conditional"] if any(a["opens"] or a["closes"] for a in c["answers"]))
    chosen = next(a for a in conditional["answers"] if a["opens"] or a["closes"])
    before = live_rules(page)
    item = page.locator(f"li[data-question-kind=conditional][data-question-path='{conditional['path']}']")
    assert item.locator(".statement").text_content() == conditional["statement"]
    shot(page, "24-onboarding-questions", full_page=False)
    item.locator(f"button[data-answer={str(chosen['value']).lower()}]").click()

    expected = apply_patch(CONTRACT_EXAMPLE, chosen["patch"])
    assert profile_text(page) == expected
    settled(page)
    after = live_rules(page)
    assert after == api_rules(server, expected) and after != before
    assert {o["rule_id"] for o in chosen["closes"]}.isdisjoint(after)
    assert {o["rule_id"] for o in chosen["opens"]} <= set(after)
    # beside the form, what the answer did: the findings it brought and those it took away
    changed = dict(page.locator(".live [data-change]").evaluate_all("els => els.map(e => [e.dataset.ruleId, "
                                                                   "e.dataset.change])"))
    assert changed == {**{r: "added" for r in set(after) - set(before)},
                       **{r: "removed" for r in set(before) - set(after)}}
    # the question is answered: it is no longer asked, and the form shows the answer where the fact lives
    assert item.count() == 0
    path = conditional["path"]
    radio = page.locator(f"input[type=radio][data-path='{path}'][value='{str(chosen['value']).lower()}']")
    assert radio.is_checked() and radio.is_visible()

    # the best-ranked question about something new: "yes" adds it, and the rules it opens report
    asked = httpx.post(f"{server.url}/{QUESTIONS}", json=expected, timeout=30).json()
    ranked = sorted((q for g in asked["groups"] for q in g["questions"]), key=lambda q: -q["score"])
    top = ranked[0]
    page.locator(f"li[data-question-id='{top['id']}'] button[data-answer=yes]").click()
    expected = apply_patch(expected, top["patch"])
    assert profile_text(page) == expected
    settled(page)
    after = live_rules(page)
    assert after == api_rules(server, expected)
    assert {o["rule_id"] for o in top["opens"]} <= set(after)
    shot(page, "25-onboarding-question-answered")

    # "no" to something new adds nothing and the question is not asked again
    asked = httpx.post(f"{server.url}/{QUESTIONS}", json=expected, timeout=30).json()
    ranked = sorted((q for g in asked["groups"] for q in g["questions"]), key=lambda q: -q["score"])
    new = next(q for q in ranked[:6] if q["patch"][0]["path"].endswith("/-"))  # among those shown
    page.locator(f"li[data-question-id='{new['id']}'] button[data-answer=no]").click()
    assert page.locator(f"li[data-question-id='{new['id']}']").count() == 0
    assert profile_text(page) == expected


def test_compare_with_today(page, server):
    open_form(page)
    page.click("[data-sample=contract-example]")
    settled(page)
    page.get_by_role("button", name="Mark this profile as today").click()
    assert "Today is marked: Acme Cloud Ltd" in page.locator("[data-today]").text_content()

    # the new line: CDN in Guangdong, with clicks
    add_item(page, "services", type="cdn")
    check(page, "services[1].regions", "CN-GD")
    proposed = profile_text(page)
    assert proposed["services"][-1] == {"type": "cdn", "regions": ["CN-GD"]}
    assert proposed["services"][:-1] == CONTRACT_EXAMPLE["services"]

    page.get_by_role("button", name="Compare with today").click()
    report = page.locator(".results [data-report=comparison]")
    report.wait_for()
    expected = httpx.post(f"{server.url}/v1/assessments/compare?record=false",
                          json={"baseline": CONTRACT_EXAMPLE, "proposed": proposed}, timeout=30).json()

    def shown(key: str) -> list[str]:
        return report.locator(f"[data-compare={key}] article.finding").evaluate_all(
            "els => els.filter(e => !e.parentElement.closest('article')).map(e => e.dataset.ruleId)")

    assert expected["added"] and shown("added") == [o["rule_id"] for o in expected["added"]]
    assert shown("removed") == [o["rule_id"] for o in expected["removed"]]
    assert shown("changed") == [c["rule_id"] for c in expected["changed"]]
    assert report.locator("h2").text_content() == "What the new line changes, compared with today"
    # recorded, like the Compare page's: each side can be read back
    for link in report.locator("a[data-assessment-id]").all():
        assert httpx.get(link.get_attribute("href")).status_code == 200
    shot(page, "26-onboarding-compare-with-today")


def test_a_refused_value_is_shown_on_its_field(page, server):
    open_form(page)
    add_item(page, "services", type="mobile_app")
    users = page.locator("input[data-path='services[0].attributes.users']")
    users.fill("-1")
    profile = profile_text(page)
    assert profile == {"services": [{"type": "mobile_app", "attributes": {"users": -1}}]}
    refused = httpx.post(f"{server.url}/v1/assessments?record=false", json=profile)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["path"] == "services[0].attributes.users"

    page.locator(".live[data-live-state=refused]").wait_for()
    box = page.locator(".form-field[data-path='services[0].attributes.users'] > .field-errors")
    assert box.is_visible() and box.text_content() == error["message"]
    assert users.get_attribute("aria-invalid") == "true"
    assert box.get_attribute("id") in users.get_attribute("aria-describedby").split()
    assert page.locator(".field-errors:not([hidden])").count() == 1  # on that field only
    listed = page.locator("[data-problem-for=live] .problem-path").all_text_contents()
    assert listed == [error["path"]]
    shot(page, "27-onboarding-refused-value", full_page=False)

    # the path in the list takes the officer to the field
    page.locator("[data-problem-for=live] .problem-path").click()
    assert page.evaluate("document.activeElement.dataset.path") == "services[0].attributes.users"
    users.fill("1200")
    settled(page)
    assert users.get_attribute("aria-invalid") is None and box.is_hidden()


def test_the_form_works_from_the_keyboard(page, server):
    recorded = []
    page.on("request", lambda r: recorded.append(r.url) if r.url.endswith("/v1/assessments") else None)
    open_form(page)
    page.focus("input[data-path='business.name']")
    page.keyboard.type("Keyboard Ltd")
    page.keyboard.press("Enter")  # a field's Enter does not send the page's form: Assess records
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.path") == "business.registered_region"
    page.keyboard.type("CN-SH")

    # a service: its type chosen with the arrow keys, added with Enter; the cursor goes to the new service
    page.focus("select[data-path='services'][data-role='new-type']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.role") == "add"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.path") == "services[0].type"
    schema = httpx.get(f"{server.url}/v1/schemas/profile").json()
    second = schema["$defs"]["ServiceType"]["enum"][1]
    # a yes/no fact: the radio buttons move with the arrow keys
    page.locator(".form-field[data-path='services[0].attributes.targets_minors']").locator(
        "xpath=ancestor::details[1]/summary").focus()
    page.keyboard.press("Enter")  # opens the folded yes/no facts
    page.focus("input[type=radio][data-path='services[0].attributes.targets_minors'][value='']")
    page.keyboard.press("ArrowLeft")  # from "not stated" to "no"
    assert profile_text(page) == {"business": {"name": "Keyboard Ltd", "registered_region": "CN-SH"},
                                  "services": [{"type": second, "attributes": {"targets_minors": False}}]}
    settled(page)
    assert recorded == [] and page.locator(".results .report").count() == 0


def test_drafts_are_evaluated_once_typing_rests_and_a_change_cancels_the_evaluation_under_way(page, server):
    evaluations = []
    page.on("request", lambda r: evaluations.append(r.url) if "/v1/assessments?" in r.url else None)
    open_form(page)
    settled(page)
    before = len(evaluations)
    page.focus("input[data-path='business.name']")
    page.keyboard.type("Twelve keys!")
    settled(page)
    assert evaluations[before:] == [f"{server.url}/v1/assessments?record=false"]  # one, not recorded

    held = []  # the next evaluation is held back, as a slow answer would be
    page.route("**/v1/assessments?record=false", lambda route: held.append(route) if not held else route.continue_())
    cancelled = []
    page.on("requestfailed", lambda r: cancelled.append(r.url))
    check(page, "business.sectors", "internet")
    while not held:
        page.wait_for_timeout(50)
    add_item(page, "services", type="cdn")  # while the first is under way
    settled(page)
    assert f"{server.url}/v1/assessments?record=false" in cancelled
    expected = {"business": {"name": "Twelve keys!", "sectors": ["internet"]}, "services": [{"type": "cdn"}]}
    assert profile_text(page) == expected
    shown = live_rules(page)
    assert shown and shown == api_rules(server, expected)
    page.unroute("**/v1/assessments?record=false")
