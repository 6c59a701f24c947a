"""GET /v1/schemas/profile: the profile's JSON Schema as the code generates it, which forms are built from."""
from __future__ import annotations

import json

import pytest

from service.profile import regions
from service.profile.model import Profile
from service.schemas import SCHEMA_DIR

MEDIA_TYPE = "application/schema+json"


async def test_the_served_schema_is_the_checked_in_one_in_the_models_order(client):
    r = await client.get("/v1/schemas/profile")
    assert r.status_code == 200 and r.headers["content-type"] == MEDIA_TYPE
    served = r.json()
    assert served == json.loads((SCHEMA_DIR / "profile.schema.json").read_text(encoding="utf-8"))
    # the file sorts its keys; served, properties keep the order a form shows them in: the model's
    assert list(served["properties"]) == list(Profile.model_fields)
    assert list(served["$defs"]["Service"]["properties"])[:2] == ["type", "regions"]


async def test_it_is_revalidated_by_its_etag(client):
    first = await client.get("/v1/schemas/profile")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/v1/schemas/profile", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = await client.get("/v1/schemas/profile", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()


async def test_every_code_a_form_offers_has_words(client):
    schema = (await client.get("/v1/schemas/profile")).json()
    enums = {name: d for name, d in schema["$defs"].items() if "enum" in d}
    assert {"ServiceType", "LicenceType", "DataCategory", "Sector"} <= set(enums)
    for name, d in enums.items():
        assert list(d["x-labels"]) == d["enum"], name
        assert all(isinstance(w, str) and w and w[0].isupper() for w in d["x-labels"].values()), name
    assert enums["ServiceType"]["x-labels"]["app_store"] == "App store"  # "an app store" in a sentence
    region = schema["$defs"]["Service"]["properties"]["regions"]["items"]
    assert all(regions.is_region(code) for code in region["x-labels"])
    assert set(regions.PROVINCES) | {"CN"} | set(regions.CITIES) == set(region["x-labels"])
    assert region["x-labels"]["CN-GD-SZ"] == "Shenzhen (CN-GD-SZ)"
    subjects = schema["$defs"]["DataHolding"]["properties"]["subjects"]["items"]
    assert "children" in subjects["examples"] and "minors" in subjects["examples"]


@pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer not-a-token-of-this-service"}])
async def test_no_token_is_needed_where_reading_needs_one(database_url, header):
    """Like /openapi.json, it describes the interface and holds no data."""
    import httpx

    from service.main import shutdown
    from tests.helpers import start_app

    closed = start_app(database_url, require_token_for_evaluation=True, require_token_for_reading=True)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed), base_url="http://t") as c:
            assert (await c.get("/v1/schemas/profile", headers=header)).status_code == 200
            assert (await c.get("/v1/rules", headers=header)).status_code == 401
    finally:
        shutdown(closed)
