"""The page at /ui as files the service serves: headers, every asset it loads, its examples, and a guard
against markup built from data (the browser tests in tests/browser/ click through the page itself)."""
from __future__ import annotations

import json
import re
import tomllib

import pytest

from service.profile.model import Profile
from service.ui import STATIC
from tests.helpers import REPO, make_profile

SCRIPTS = sorted((STATIC / "js").glob("*.js"))


async def test_ui_redirects_to_the_page_and_serves_it_with_a_strict_policy(client):
    r = await client.get("/ui")
    assert r.status_code == 308 and r.headers["location"] == "ui/"
    page = await client.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="js/app.js">' in page.text


async def test_every_asset_the_page_loads_is_served_from_the_service(client):
    """No CDN, no build output: each stylesheet, module and import resolves to a file served under /ui/."""
    page = (await client.get("/ui/")).text
    assets = set(re.findall(r'(?:src|href)="([^"#:]+)"', page)) - {"../docs"}
    for script in SCRIPTS:
        for imported in re.findall(r'from "\./([^"]+)"', script.read_text()):
            assets.add(f"js/{imported}")
    assert {"style.css", "js/app.js", "js/dom.js"} <= assets
    for asset in sorted(assets):
        r = await client.get(f"/ui/{asset}")
        assert r.status_code == 200, asset
        if asset.endswith(".js"):
            assert "javascript" in r.headers["content-type"], asset  # module scripts need a JavaScript type
    for text in [page, *(s.read_text() for s in SCRIPTS), (STATIC / "style.css").read_text()]:
        assert not re.search(r"https?://", text), "the page must work offline"


async def test_the_page_is_open_when_reading_needs_a_token(database_url):
    import httpx

    from service.main import shutdown
    from tests.helpers import start_app

    closed = start_app(database_url, require_token_for_evaluation=True, require_token_for_reading=True)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed), base_url="http://t") as c:
            assert (await c.get("/ui/")).status_code == 200  # the page holds no data; the API asks for the token
            assert (await c.get("/v1/rules")).status_code == 401
    finally:
        shutdown(closed)


async def test_unknown_files_are_404_problems_and_the_folder_cannot_be_left(client):
    r = await client.get("/ui/no-such-file.js")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/ui/..%2f..%2fsettings.py")).status_code == 404


def load_samples() -> dict:
    return json.loads((STATIC / "samples.json").read_text(encoding="utf-8"))


def test_the_first_example_is_the_contracts():
    assert load_samples()["profiles"][0]["profile"] == make_profile()


@pytest.mark.parametrize("kind", ["profiles", "comparisons"])
def test_every_example_is_a_valid_profile_that_finds_something(compiled, kind):
    items = load_samples()[kind]
    assert len(items) >= 2
    for item in items:
        assert item["id"] and item["title"] and item["description"], item
        profiles = [item["profile"]] if kind == "profiles" else [item["baseline"], item["proposed"]]
        for profile in profiles:
            assessment = compiled.evaluate(Profile.model_validate(profile), f"sample:{item['id']}")
            assert assessment.obligations, item["id"]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scripts_never_parse_data_as_markup(script):
    """Everything from the service is set as text: no innerHTML, outerHTML, insertAdjacentHTML, document.write
    or eval, and no inline style (the page's policy refuses it)."""
    code = script.read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                      'setAttribute("style"', "javascript:"):
        assert forbidden not in code, f"{script.name} uses {forbidden}"


def test_the_page_ships_in_the_wheel():
    """The container image installs the service as a wheel: the page's files must be package data."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["service.ui"]
    shipped = {p for pattern in patterns for p in STATIC.parent.glob(pattern) if p.is_file()}
    assert {p for p in STATIC.rglob("*") if p.is_file()} <= shipped
