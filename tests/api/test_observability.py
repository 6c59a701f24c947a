"""What an operator watching the service sees: request ids, security headers, CORS, metrics, version headers."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.helpers import bearer, make_profile, start_app

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


async def test_a_request_id_is_echoed_or_made(client):
    sent = await client.post("/v1/assessments", json=make_profile(), headers={"X-Request-ID": "order-42.check"})
    assert sent.headers["X-Request-ID"] == "order-42.check"
    made = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    # an id that could forge log lines or bloat them is replaced, not echoed
    for hostile in ("a b", "x" * 200, "id\u2028next", ""):
        r = await client.get("/healthz", headers={"X-Request-ID": hostile.encode("utf-8")})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"]), hostile
    assert made.headers["X-Request-ID"] != (await client.get("/healthz")).headers["X-Request-ID"]


@pytest.mark.parametrize("request_args", [
    ("POST", "/v1/assessments", {"json": make_profile()}),                     # 201
    ("POST", "/v1/assessments", {"json": make_profile(services=[{"type": "x"}])}),  # 422
    ("GET", "/v1/assessments/01J00000000000000000000000", {}),                # 404
    ("POST", "/v1/assessments",                                               # 413
     {"content": b"{" + b" " * (2 << 20), "headers": {"Content-Type": "application/json"}}),
    ("POST", "/v1/rulesets", {"content": b"rules: []"}),                      # 401
    ("GET", "/readyz", {}),
])
async def test_every_answer_carries_the_security_headers(client, request_args):
    method, path, kwargs = request_args
    r = await client.request(method, path, **kwargs)
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (r.status_code, name)
    assert "default-src 'none'" in r.headers["content-security-policy"]
    if path.startswith("/v1/"):
        assert r.headers["cache-control"] == "no-store"  # answers about a business are not cached by proxies


async def test_cors_is_off_unless_origins_are_configured(client, database_url):
    preflight = {"Origin": "https://portal.example", "Access-Control-Request-Method": "POST"}
    r = await client.options("/v1/assessments", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = await client.post("/v1/assessments", json=make_profile(), headers={"Origin": "https://portal.example"})
    assert r.status_code == 201 and "access-control-allow-origin" not in r.headers

    from service.main import shutdown

    app = start_app(database_url, cors_origins=["https://portal.example"])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as open_client:
            r = await open_client.options("/v1/assessments", headers=preflight)
            assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://portal.example"
            r = await open_client.options("/v1/assessments", headers={**preflight, "Origin": "https://evil.example"})
            assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    finally:
        shutdown(app)


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = re.fullmatch(name + r"(?:\{(.*)\})? (\S+)", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
            out.append((labels, float(m.group(2))))
    return out


def _value(text: str, name: str, **labels: str) -> float:
    return sum(v for got, v in _samples(text, name) if all(got.get(k) == w for k, w in labels.items()))


async def test_metrics_report_requests_evaluations_obligations_and_the_served_version(client):
    before = (await client.get("/metrics")).text
    answer = (await client.post("/v1/assessments", json=make_profile())).json()
    await client.post("/v1/assessments", json=make_profile())
    await client.post("/v1/assessments", json=make_profile(services=[{"type": "x"}]))
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = {"route": "/v1/assessments", "method": "POST"}
    assert grew("compliance_http_requests_total", status="201", **route) == 2
    assert grew("compliance_http_requests_total", status="422", **route) == 1
    assert grew("compliance_http_request_duration_seconds_count", route="/v1/assessments") == 3
    assert grew("compliance_evaluations_total") == 2
    for obligation in answer["obligations"]:  # each fired rule counted once per answer
        assert grew("compliance_obligations_total", rule_id=obligation["rule_id"]) == 2 * sum(
            o["rule_id"] == obligation["rule_id"] for o in answer["obligations"])
    version, digest = answer["ruleset"]["version"], answer["ruleset"]["digest"]
    assert _value(after, "compliance_ruleset_active", version=version, digest=digest) == 1
    assert _samples(after, "compliance_decision_log_queue_depth")
    assert _value(after, "compliance_database_up") == 1


async def test_activation_outcomes_are_counted(client):
    from tests.api.test_rulesets import retitled, rule_files

    before = (await client.get("/metrics")).text
    upload = await client.post("/v1/rulesets", json={"files": retitled(rule_files(), "Unlicensed business (metrics)")},
                               headers=bearer("operator"))
    assert upload.status_code in (200, 201), upload.text
    version = upload.json()["version"]
    assert (await client.post(f"/v1/rulesets/{version}/activate", headers=bearer("operator"))).status_code == 200
    assert (await client.post("/v1/rulesets/no-such-version/activate", headers=bearer("operator"))).status_code == 404
    after = (await client.get("/metrics")).text
    for outcome in ("ok", "refused"):
        assert _value(after, "compliance_ruleset_activations_total", outcome=outcome) == 1 + _value(
            before, "compliance_ruleset_activations_total", outcome=outcome)
    assert _value(after, "compliance_ruleset_active", version=version) == 1
    assert sum(v for _, v in _samples(after, "compliance_ruleset_active")) == 1  # one version served at a time


async def test_every_assessment_answer_names_the_rule_set_version(client):
    created = await client.post("/v1/assessments", json=make_profile())
    version = created.json()["ruleset"]["version"]
    assert created.headers["X-Ruleset-Version"] == version
    read = await client.get(created.headers["Location"])
    assert read.headers["X-Ruleset-Version"] == version
    compared = await client.post("/v1/assessments/compare",
                                 json={"baseline": make_profile(), "proposed": make_profile(services=[])})
    assert compared.status_code == 200 and compared.headers["X-Ruleset-Version"] == version


async def test_a_bug_is_answered_as_a_problem_with_the_request_id_and_logged_with_it(client, monkeypatch):
    import logging

    from service import evaluation
    from service.logs import JsonFormatter

    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # formatted at once, while the request id is set
            lines.append(JsonFormatter().format(record))

    handler = Capture(level=logging.ERROR)
    logging.getLogger("service.api").addHandler(handler)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the service")

    monkeypatch.setattr(evaluation, "size", broken)
    try:
        r = await client.post("/v1/assessments", json=make_profile(), headers={"X-Request-ID": "bug-report-1"})
    finally:
        logging.getLogger("service.api").removeHandler(handler)
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Internal error" and "a bug" not in r.text  # no internals leak to the caller
    assert r.headers["X-Request-ID"] == "bug-report-1" and r.headers["x-content-type-options"] == "nosniff"
    import json

    logged = [json.loads(line) for line in lines]
    assert any(entry["request_id"] == "bug-report-1" and "a bug in the service" in entry["exception"]
               for entry in logged), logged
