"""Hostile profiles (issue 7): everything a caller can send to the endpoints that take a profile
(POST /v1/assessments and both sides of /v1/assessments/compare) gets a 4xx problem document naming the
JSON path and what is allowed, in bounded time, and nothing is recorded. Never a 5xx.

Unusual text, decided: format characters (right-to-left marks and overrides, zero-width joiners and
spaces) are accepted and kept exactly as sent, because they belong to real names in Arabic, Hebrew,
Persian or Indic scripts and to emoji; the service never renders a name, it only records it. Control
characters (NUL included) and lone surrogates are refused: they are not text, a lone surrogate cannot
even be written as UTF-8, and PostgreSQL refuses NUL in text.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from service.profile import regions
from tests.helpers import bearer, limits, make_profile, record_of, recorded

MAX_ITEMS = 5  # the module's app runs with MAX_LIST_ITEMS=5: the limit is configurable
SECONDS = 10.0
PROVINCES = sorted(regions.PROVINCES)


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Any]:
    from service.main import shutdown
    from tests.helpers import start_app

    application = start_app(database_url, max_list_items=MAX_ITEMS)
    yield application
    shutdown(application)


async def post(client, body: Any, path: str = "/v1/assessments", content_type: str | None = "application/json",
               headers: dict[str, str] | None = None):
    """`body` as given when bytes or an async iterator (raw JSON tokens such as NaN), else as JSON."""
    h = dict(headers or {})
    if content_type is not None:
        h["content-type"] = content_type
    content = body if isinstance(body, bytes) or hasattr(body, "__aiter__") else json.dumps(body).encode()
    start = time.perf_counter()
    r = await client.post(path, content=content, headers=h)
    return r, time.perf_counter() - start


async def refused(client, app, body: Any, where: str, *fragments: str, status: int = 422, compare: bool = False,
                  **kwargs) -> dict[str, Any]:
    """`body` is refused with `status`: a problem whose error at `where` says each fragment; nothing recorded.

    With `compare`, the same profile is also sent as the proposed side of /compare, where the path starts with
    `proposed.` (bytes are spliced in as the proposed profile)."""
    sends = [("/v1/assessments", body, where)]
    if compare:
        side = body if isinstance(body, bytes) else json.dumps(body).encode()
        sends.append(("/v1/assessments/compare", b'{"baseline": {}, "proposed": ' + side + b"}",
                      where if where == "body" or where.startswith("headers.") else f"proposed.{where}"))
    before = recorded(app)
    problem: dict[str, Any] = {}
    for path, content, expected in sends:
        r, seconds = await post(client, content, path, **kwargs)
        assert r.status_code == status, (path, r.status_code, r.text[:500])
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
        problem = r.json()
        assert problem["status"] == status and problem["title"] in (
            "Invalid request", "Invalid profile", "Payload too large", "Profile too large", "Request too large")
        assert seconds < SECONDS, seconds
        if where:
            match = [e for e in problem["errors"] if e["path"] == expected]
            assert match, (expected, problem["errors"])
            for fragment in fragments:
                assert fragment in match[0]["message"], (fragment, match[0]["message"])
                assert fragment in problem["detail"] or len(problem["errors"]) > 3, problem["detail"]
        else:
            for fragment in fragments:
                assert fragment in problem["detail"], (fragment, problem["detail"])
    assert recorded(app) == before, "nothing is recorded for a refused profile"
    return problem


def service(**attributes: Any) -> dict[str, Any]:
    return {"type": "cdn", "regions": ["CN-GD"], "attributes": attributes}


# --- sizes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, item", [
    ("licences", {"type": "CDN", "regions": ["CN-GD"]}), ("services", {"type": "cdn"}),
    ("network_resources", {"kind": "bandwidth"}), ("data", {"category": "personal_information"}),
    ("cross_border", {"kind": "vpn"}), ("products", {"kind": "it_product"}),
])
async def test_lists_over_the_configured_limit_are_refused(client, app, name, item):
    await refused(client, app, make_profile(**{name: [item] * (MAX_ITEMS + 1)}), name,
                  f"has {MAX_ITEMS + 1} items; at most {MAX_ITEMS} are allowed", compare=True)
    r, _ = await post(client, make_profile(**{name: [item] * MAX_ITEMS}))
    assert r.status_code == 201, r.text[:300]


def expanding(services: int, licences: int, per_item_regions: int) -> dict[str, Any]:
    """Same-type services and licences in the same regions: the shape whose joins grow fastest."""
    return {"as_of": "2020-10-01", "business": {"registered_region": "CN-BJ"},
            "services": [{"type": "cloud_computing", "regions": PROVINCES[:per_item_regions]}] * services,
            "licences": [{"type": "IDC", "regions": PROVINCES[:per_item_regions], "granted": "2011-01-01",
                          "scope": ["idc"]}] * licences}


async def test_services_and_licences_that_expand_beyond_the_bound_are_refused_at_once(client, app):
    # 5 services x 20 regions and 5 licences x 20 regions x 1 service type: 200 facts, under the bound of 250.
    # Unbounded, 10 + 10 such items took 3.4 s and 600 MB before the engine stopped; 100 + 100 exhausted 23 GB.
    start = time.perf_counter()
    r, seconds = await post(client, expanding(5, 5, 20))
    assert r.status_code == 201, r.text[:300]
    assert seconds < SECONDS
    problem = await refused(client, app, expanding(5, 5, 30), "licences", "expand to 150 + 150 facts",
                            "at most 250 are evaluated", "CN alone covers every province", compare=True)
    assert {e["path"] for e in problem["errors"]} == {"proposed.services", "proposed.licences"}  # the last sent
    # the licence scope multiplies too: one licence, 40 regions, every service type
    cities = [f"CN-GD-{a}{b}" for a in "ABCDEFGH" for b in "ABCDE"][:40]
    wide = make_profile(licences=[{"type": "IDC", "regions": cities, "scope": _types()}])
    await refused(client, app, wide, "licences", f"expand to 2 + {40 * len(_types())} facts")
    assert time.perf_counter() - start < 3 * SECONDS


def _types() -> list[str]:
    from service.profile.model import ServiceType

    return [t.value for t in ServiceType]


async def test_an_evaluation_stopped_at_the_firing_bound_is_an_invalid_profile_not_a_500(client, app):
    """Whatever gets past the size checks is still bounded by the engine (MAX_RULE_FIRINGS); a profile that reaches
    the bound is the caller's to reduce (422), not an engine defect (500). A small bound here."""
    with limits(app, max_rule_firings=5):
        profile = make_profile(business={"name": "Firing bound Ltd", "registered_region": "CN-SH"})
        await refused(client, app, profile, "body", "fire more than 5 times", "state fewer items or regions")
        r, _ = await post(client, {"baseline": {}, "proposed": profile}, "/v1/assessments/compare")
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "proposed", r.text[:300]


async def test_a_recorded_profile_stopped_at_the_firing_bound_is_an_item_of_a_preview(client, app):
    """Previewing a version re-evaluates recorded profiles: one that reaches the bound under it is reported in
    its item (the operator sees which), not a 500 for the whole preview."""
    r, _ = await post(client, make_profile(business={"name": "Preview bound Ltd"}))
    assert r.status_code == 201
    version = r.json()["ruleset"]["version"]
    with limits(app, max_rule_firings=5):
        preview = await client.post(f"/v1/rulesets/{version}/preview", params={"limit": 3}, headers=bearer("operator"))
    assert preview.status_code == 200, preview.text[:300]
    item = next(i for i in preview.json()["items"] if i["assessment_id"] == r.json()["assessment_id"])
    assert "cannot be evaluated under this version" in item["error"] and "fire more than 5 times" in item["error"]


async def test_a_ten_megabyte_body_is_413_declared_or_streamed(client, app):
    big = b'{"business": {"name": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
    await refused(client, app, big, "", "larger than 1048576 bytes", status=413, compare=True)

    async def stream():
        yield b'{"business": {"name": "'
        for _ in range(10):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    for path in ("/v1/assessments", "/v1/assessments/compare"):  # no Content-Length: counted as it arrives
        before = recorded(app)
        r, seconds = await post(client, stream(), path)
        assert r.status_code == 413, r.text[:300]
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["type"], r.json()["title"]) == ("/problems/payload-too-large", "Payload too large")
        assert "larger than 1048576 bytes" in r.json()["detail"]
        assert recorded(app) == before


# --- what JSON can hold ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["[" * 10_000 + "]" * 10_000, '{"a": ' * 10_000 + "1" + "}" * 10_000])
async def test_ten_thousand_levels_of_nesting_are_refused_not_a_stack_overflow(client, app, shape):
    body = b'{"services": [{"type": "cdn", "attributes": {"deep": ' + shape.encode() + b"}}]}"
    await refused(client, app, body, "body", "nests arrays or objects too deeply", compare=True)


async def test_nesting_the_parser_reads_is_refused_by_the_attribute_rules(client, app):
    deep = 0
    for _ in range(50):
        deep = [deep]
    await refused(client, app, make_profile(services=[service(deep=deep)]), "services[0].attributes",
                  "must be a string, number, boolean or a flat list of them", compare=True)


def with_token(template: str, token: str) -> bytes:
    """`template` with the raw JSON `token` where it says TOKEN (json.dumps cannot write 1e400)."""
    return template.replace("TOKEN", token).encode()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_nan_and_infinity_are_refused_where_they_stand(client, app, token):
    body = with_token('{"services": [{"type": "cdn", "attributes": {"users": TOKEN}}]}', token)
    await refused(client, app, body, "services[0].attributes.users", "finite number", compare=True)
    body = with_token('{"services": [{"type": "cdn", "attributes": {"peak_load": TOKEN}}]}', token)
    await refused(client, app, body, "services[0].attributes", "'peak_load' must be a finite number")
    body = with_token('{"data": [{"category": "personal_information", "volume": TOKEN}]}', token)
    await refused(client, app, body, "data[0].volume", "finite number", compare=True)


@pytest.mark.parametrize("digits", [4301, 5000, 100_000])
async def test_integers_longer_than_python_converts_are_refused(client, app, digits):
    body = b'{"data": [{"category": "personal_information", "volume": ' + b"9" * digits + b"}]}"
    await refused(client, app, body, "body", "longer than 4300 digits", compare=True)


async def test_a_long_integer_python_reads_is_refused_by_its_bound(client, app):
    body = b'{"data": [{"category": "personal_information", "volume": ' + b"9" * 4000 + b"}]}"
    await refused(client, app, body, "data[0].volume", "less than or equal to 1000000000000", compare=True)


# --- text ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("where, body", [
    ("business.name", b'{"business": {"name": "Acme \\ud800 Ltd"}}'),
    ("services[0].attributes", b'{"services": [{"type": "cdn", "attributes": {"note": "\\udfff"}}]}'),
    ("services[0].attributes", b'{"services": [{"type": "cdn", "attributes": {"notes": ["ok", "\\ud83d"]}}]}'),
])
async def test_lone_surrogates_are_refused(client, app, where, body):
    await refused(client, app, body, where, "lone surrogates", compare=True)


async def test_a_lone_surrogate_in_a_key_is_refused_at_its_object(client, app):
    await refused(client, app, b'{"business": {"\\ud800": 1}}', "business", "valid string", compare=True)
    await refused(client, app, b'{"services": [{"type": "cdn", "attributes": {"\\ud800": 1}}]}',
                  "services[0].attributes", "valid string", compare=True)


@pytest.mark.parametrize("where, profile", [
    ("business.name", make_profile(business={"name": "Acme\u0000Ltd"})),
    ("business.name", make_profile(business={"name": "Acme\nLtd"})),
    ("business.name", make_profile(business={"name": "Acme\u0085Ltd"})),
    ("services[0].attributes", make_profile(services=[service(**{"note\u0000": 1})])),
    ("services[0].attributes", make_profile(services=[service(note="line\u001bone")])),
])
async def test_control_characters_are_refused(client, app, where, profile):
    await refused(client, app, profile, where, "control characters", compare=True)


@pytest.mark.parametrize("name", [
    "Acme \u202eevil.exe\u202c Ltd",           # right-to-left override ... pop
    "Acme\u200b\u200c\u200d\u2060Ltd",       # zero-width space, non-joiner, joiner, word joiner
    "\u0634\u0631\u06a9\u062a\u200c\u0647\u0627",  # Persian: the zero-width non-joiner is spelling
    "\ufeffAcme \U0001F469\u200d\U0001F4BB",        # a BOM inside, an emoji sequence joined by ZWJ
])
async def test_format_characters_are_kept_exactly_as_sent(client, app, name):
    r, _ = await post(client, make_profile(business={"name": name}))
    assert r.status_code == 201, r.text[:300]
    row = record_of(app, r.json()["assessment_id"])
    assert row is not None and json.loads(row.profile)["business"]["name"] == name


# --- dates -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, fragment", [
    ("0000-01-01", "year 0 is out of range"),
    ("10000-01-01", "expected a date as text, YYYY-MM-DD"),
    ("2020-02-30", "day value is outside expected range"),
    ("2020-13-01", "valid date"),
    ("1948-12-31", "out of range: expected 1949-01-01 to 2199-12-31"),
    ("2200-01-01", "out of range: expected 1949-01-01 to 2199-12-31"),
    ("9999-12-31", "out of range: expected 1949-01-01 to 2199-12-31"),
    (1e20, "expected a date as text, YYYY-MM-DD from 1949-01-01 to 2199-12-31, not a number"),
    (0, "expected a date as text"),  # was read as a Unix timestamp: 1970-01-01
    ("", "expected a date as text, YYYY-MM-DD"),
])
async def test_dates_out_of_range_are_refused_naming_the_range(client, app, value, fragment):
    await refused(client, app, make_profile(as_of=value), "as_of", fragment, compare=True)
    await refused(client, app, make_profile(licences=[{"type": "IDC", "granted": value}]), "licences[0].granted",
                  fragment)
    await refused(client, app, make_profile(services=[{"type": "cdn", "since": value}]), "services[0].since", fragment)


# --- shapes and envelopes ----------------------------------------------------------------------------
@pytest.mark.parametrize("where, body, fragment", [
    ("as_of", {"as_of": []}, "expected a date as text"),
    ("business", {"business": []}, "valid dictionary"),
    ("business.name", {"business": {"name": 7}}, "valid string"),
    ("business.cii_operator", {"business": {"cii_operator": "maybe"}}, "valid boolean"),
    ("business.sectors", {"business": {"sectors": "internet"}}, "valid list"),
    ("licences", {"licences": {"type": "IDC"}}, "valid list"),
    ("licences[0]", {"licences": ["IDC"]}, "valid dictionary"),
    ("services", {"services": "cdn"}, "valid list"),
    ("services[0].regions", {"services": [{"type": "cdn", "regions": "CN-GD"}]}, "valid list"),
    ("services[0].attributes.users", {"services": [{"type": "cdn", "attributes": {"users": "many"}}]},
     "not a number: expected a whole number"),
    ("services[0].attributes.users", {"services": [{"type": "cdn", "attributes": {"users": -1}}]},
     "greater than or equal to 0"),
    ("services[0].attributes", {"services": [{"type": "cdn", "attributes": []}]}, "valid dictionary"),
    ("network_resources", {"network_resources": 5}, "valid list"),
    ("data[0].volume", {"data": [{"category": "personal_information", "volume": 1.5}]}, "valid integer"),
    ("cross_border[0].approved", {"cross_border": [{"kind": "vpn", "approved": "yes please"}]}, "valid boolean"),
    ("products[0]", {"products": [1]}, "valid dictionary"),
    ("body", [make_profile()], "valid dictionary"),
    ("body", "a profile", "valid dictionary"),
    ("body", None, "valid dictionary"),
])
async def test_wrong_types_name_the_path(client, app, where, body, fragment):
    await refused(client, app, body, where, fragment, compare=where != "body")


async def test_a_body_that_is_not_json_says_where_it_breaks(client, app):
    await refused(client, app, b'{"as_of": "2020-10-01",}', "body", "not valid JSON", "(at character 23)")
    await refused(client, app, b"{not json", "body", "not valid JSON: Expecting property name", compare=True)


async def test_a_body_that_is_not_utf8_is_refused(client, app):
    body = '{"business": {"name": "Caf\xe9 Ltd"}}'.encode("latin-1")
    await refused(client, app, body, "body", "not UTF-8 (byte 0xe9 at", "JSON must be UTF-8 text", compare=True)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
async def test_a_body_of_another_type_names_the_header(client, app, content_type):
    await refused(client, app, make_profile(), "headers.content-type",
                  f"expected application/json, got '{content_type}'", content_type=content_type, compare=True)


async def test_an_empty_body_is_refused(client, app):
    for content_type in ("application/json", None):
        await refused(client, app, b"", "body", "Field required", content_type=content_type)
        r, _ = await post(client, b"", "/v1/assessments/compare", content_type=content_type)
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body"


async def test_ids_no_record_can_have_are_not_found_on_every_database(client):
    """A NUL or an over-long id cannot be looked up in PostgreSQL (it refuses the value): still a plain 404."""
    for ident in ("01J0000000000000000000000%00", "x" * 300, "01J00000000000000000000000%00"):  # %00: a NUL
        r = await client.get(f"/v1/assessments/{ident}")
        assert r.status_code == 404, (ident, r.text)
    for version in ("v%00", "9" * 300):
        assert (await client.get(f"/v1/rulesets/{version}")).status_code == 404
        r = await client.post(f"/v1/rulesets/{version}/activate", headers=bearer("operator"))
        assert r.status_code == 404, r.text
        assert (await client.post(f"/v1/rulesets/{version}/preview", headers=bearer("operator"))).status_code == 404
    events = (await client.get("/v1/audit", headers=bearer("operator"))).json()["events"]
    assert events[0]["outcome"] == "refused" and events[0]["to_version"] is None  # the attempt is kept, in detail
    assert (await client.get("/v1/audit", params={"before": 10**22}, headers=bearer("operator"))).status_code == 422
