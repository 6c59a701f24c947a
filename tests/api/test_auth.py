"""Tokens and roles: evaluation can be made to need a token; tokens are read from a file too."""
from __future__ import annotations

import httpx
import pytest

from service.api.auth import TokenError, load_tokens, parse_tokens
from tests.helpers import bearer, make_profile, start_app


@pytest.fixture(scope="module")
def closed_app(database_url):
    from service.main import shutdown

    application = start_app(database_url, require_token_for_evaluation=True, require_token_for_reading=True)
    yield application
    shutdown(application)


async def test_evaluation_and_reading_can_require_tokens(closed_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed_app), base_url="http://t") as client:
        assert (await client.post("/v1/assessments", json=make_profile())).status_code == 401
        assert (await client.post("/v1/assessments", json=make_profile(), headers=bearer("reader"))).status_code == 403
        r = await client.post("/v1/assessments", json=make_profile(), headers=bearer("evaluator"))
        assert r.status_code == 201
        assert (await client.get(r.headers["Location"])).status_code == 401
        assert (await client.get(r.headers["Location"], headers=bearer("reader"))).status_code == 200
        assert (await client.get("/v1/rules")).status_code == 401
        assert (await client.get("/v1/rules", headers=bearer("operator"))).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_the_new_endpoints_follow_the_same_roles(closed_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed_app), base_url="http://t") as client:
        for path, body in (("/v1/assessments/batch", {"profiles": [make_profile()]}),
                           ("/v1/assessments/questions", make_profile())):
            assert (await client.post(path, json=body)).status_code == 401, path
            assert (await client.post(path, json=body, headers=bearer("reader"))).status_code == 403, path
            assert (await client.post(path, json=body, headers=bearer("evaluator"))).status_code == 200, path
        r = await client.post("/v1/assessments", json=make_profile(), headers=bearer("evaluator"))
        for suffix in (".csv", "/report"):
            assert (await client.get(r.headers["Location"] + suffix)).status_code == 401, suffix
            assert (await client.get(r.headers["Location"] + suffix, headers=bearer("reader"))).status_code == 200


def test_tokens_from_environment_and_file(tmp_path):
    file = tmp_path / "tokens"
    file.write_text("# operators\nfile-token-0123456789abc=operator\n")
    tokens = load_tokens("env-token-0123456789abcd=reader", file)
    assert tokens == {"env-token-0123456789abcd": "reader", "file-token-0123456789abc": "operator"}


@pytest.mark.parametrize("text", ["short=operator", "long-enough-token-123456=admin", "no-role-separator-1234567"])
def test_bad_token_configuration_is_refused(text):
    with pytest.raises(TokenError):
        parse_tokens(text, "AUTH_TOKENS")
