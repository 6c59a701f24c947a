"""Schemathesis against the service's own OpenAPI description, over real HTTP: every operation, operator
ones included, with a token of each kind and without one. No 5xx, and every answer (status, content type,
headers, body) conforms to what the description documents."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import TOKENS, reset_postgres
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration

AUTH = ",".join(f"{token}={role}" for role, token in TOKENS.items())
KEY_REUSED = b'"type":"/problems/idempotency-key-reused"'
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per operation and token; CI keeps the default


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"AUTH_TOKENS": AUTH, "MAX_LIST_ITEMS": "50"}
    if os.environ.get("TEST_DATABASE_URL"):  # PostgreSQL refuses values SQLite takes (NUL, long text): fuzz it
        reset_postgres(os.environ["TEST_DATABASE_URL"])
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    s = start_server(tmp_path_factory.mktemp("fuzz"), env=env)
    yield s
    s.stop_gracefully()


def own_openapi() -> dict:
    """The description the service publishes (the routes exist once the app is created; nothing starts)."""
    from service.main import create_app
    from service.settings import Settings

    return create_app(Settings(auth_tokens=AUTH)).openapi()


schema = schemathesis.openapi.from_dict(own_openapi())


def test_the_fuzzed_description_is_the_one_served(server):
    import httpx

    assert httpx.get(f"{server.url}/openapi.json", timeout=10).json() == own_openapi()


def fuzz(role: str | None):
    """One test per token kind (schemathesis' lazy tests take no pytest parameters)."""
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    def test(case, server):
        excluded = []
        if (case.method, case.path) == ("POST", "/v1/rulesets"):
            # a rule set is judged on its content (conditions, citations against the sources), which no schema
            # can state: a well-formed upload of made-up files is rightly refused with 422
            excluded.append(positive_data_acceptance)
        response = case.call(base_url=server.url, headers=headers)
        if response.status_code == 422 and KEY_REUSED in response.content:
            # an Idempotency-Key is state: a generated key sent before with another request is rightly refused
            excluded.append(positive_data_acceptance)
        case.validate_response(response, headers=headers, excluded_checks=excluded,
                               transport_kwargs={"base_url": server.url, "headers": headers})

    return test


test_without_a_token = fuzz(None)
test_with_a_reader_token = fuzz("reader")
test_with_an_evaluator_token = fuzz("evaluator")
test_with_an_operator_token = fuzz("operator")
