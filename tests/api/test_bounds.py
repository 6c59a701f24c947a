"""One evaluation path, one set of bounds (issue 14): every endpoint that evaluates refuses a profile beyond
MAX_PROFILE_FACTS and one that reaches MAX_RULE_FIRINGS (422 naming the bound), refuses up front a request whose
evaluations would exceed MAX_REQUEST_WORK, and stops a request past EVALUATION_TIMEOUT_MS (503 with Retry-After),
each within 2 s, recording nothing."""
from __future__ import annotations

import time
from typing import Any

import pytest

from bench.profiles import LARGE, heavy
from service.profile import regions
from tests.helpers import bearer, limits, make_profile, recorded

PROVINCES = sorted(code for code in regions.PROVINCES if code not in regions.OUTSIDE_MAINLAND)
#: Beyond MAX_PROFILE_FACTS (250): 9 service types in every province.
OVERSIZED = make_profile(services=[{"type": t, "regions": PROVINCES} for t in
                                   ("idc", "cloud_computing", "cdn", "isp", "website_hosting", "dns", "email",
                                    "mobile_app", "portal")])
SECONDS = 2.0


async def send(client, path: str, body: Any, **params: Any):
    start = time.perf_counter()
    r = await client.post(path, json=body, params=params or None)
    return r, time.perf_counter() - start


def problem_of(r, status: int, title: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] == title, body
    return body


ENDPOINTS = {  # path -> how to wrap one profile into its body, and the path prefix its errors carry
    "/v1/assessments": (lambda p: p, ""),
    "/v1/assessments/compare": (lambda p: {"baseline": {}, "proposed": p}, "proposed."),
    "/v1/assessments/questions": (lambda p: p, ""),
}


@pytest.mark.parametrize("path", list(ENDPOINTS))
async def test_a_profile_beyond_max_profile_facts_is_refused_at_once(client, app, path):
    wrap, prefix = ENDPOINTS[path]
    before = recorded(app)
    r, seconds = await send(client, path, wrap(OVERSIZED))
    body = problem_of(r, 422, "Profile too large")
    assert seconds < SECONDS
    error = body["errors"][0]
    assert error["path"] == f"{prefix}services" and "MAX_PROFILE_FACTS" in error["message"]
    assert "279 + 1 facts" in error["message"] and "state fewer items or regions" in error["message"]
    assert recorded(app) == before


async def test_a_batch_item_beyond_max_profile_facts_is_refused_at_once_and_the_others_stand(client, app):
    before = recorded(app)
    r, seconds = await send(client, "/v1/assessments/batch", {"profiles": [make_profile(), OVERSIZED]})
    assert r.status_code == 200 and seconds < SECONDS
    first, second = r.json()["items"]
    assert first["status"] == 201
    assert second["status"] == 422 and second["problem"]["title"] == "Profile too large"
    assert second["problem"]["errors"][0]["path"] == "profiles[1].services"
    assert recorded(app) == before + 1


@pytest.mark.parametrize("path", list(ENDPOINTS))
async def test_a_profile_that_reaches_the_firing_bound_is_refused(client, app, path):
    wrap, prefix = ENDPOINTS[path]
    before = recorded(app)
    with limits(app, max_rule_firings=5):
        r, seconds = await send(client, path, wrap(make_profile(business={"name": f"Firings {path}"})))
    body = problem_of(r, 422, "Profile too large")
    assert seconds < SECONDS
    assert body["errors"][0]["path"] == (f"{prefix[:-1]}" if prefix else "body")
    assert "fire more than 5 times" in body["errors"][0]["message"] and "MAX_RULE_FIRINGS" in body["detail"]
    assert recorded(app) == before


async def test_a_batch_item_that_reaches_the_firing_bound_gets_its_own_422(client, app):
    before = recorded(app)
    with limits(app, max_rule_firings=5):
        r, seconds = await send(client, "/v1/assessments/batch",
                                {"profiles": [make_profile(business={"name": "Firings batch"})]})
    assert r.status_code == 200 and seconds < SECONDS
    [item] = r.json()["items"]
    assert item["status"] == 422 and item["problem"]["errors"][0]["path"] == "profiles[0]"
    assert "MAX_RULE_FIRINGS" in item["problem"]["errors"][0]["message"]
    assert recorded(app) == before


async def test_a_batch_beyond_max_request_work_is_refused_up_front(client, app):
    before = recorded(app)
    with limits(app, max_request_work=100):
        r, seconds = await send(client, "/v1/assessments/batch", {"profiles": [LARGE] * 3})
    body = problem_of(r, 422, "Request too large")
    assert seconds < SECONDS
    [error] = body["errors"]
    assert error["path"] == "profiles" and "MAX_REQUEST_WORK" in error["message"]
    assert "at most 100" in error["message"] and "several smaller batches" in error["message"]
    assert recorded(app) == before


async def test_questions_beyond_max_request_work_are_refused_up_front(client, app):
    """The heavy profile is within MAX_PROFILE_FACTS, but asking about it would evaluate it once per candidate."""
    r, seconds = await send(client, "/v1/assessments/questions", heavy("Questions about a heavy profile"))
    body = problem_of(r, 422, "Request too large")
    assert seconds < SECONDS
    message = body["errors"][0]["message"]
    assert "MAX_REQUEST_WORK" in message and "evaluations beside the first" in message


TIMEOUT_CASES = {  # endpoint -> a body whose evaluations take longer than the budget below
    "/v1/assessments": heavy("Timeout assess"),
    "/v1/assessments/compare": {"baseline": {}, "proposed": heavy("Timeout compare")},
    "/v1/assessments/questions": LARGE,
}


@pytest.mark.parametrize("path", list(TIMEOUT_CASES))
async def test_a_request_past_its_time_budget_is_stopped_and_answered_503(client, app, path):
    before = recorded(app)
    with limits(app, timeout_ms=30):
        r, seconds = await send(client, path, TIMEOUT_CASES[path])
    body = problem_of(r, 503, "Evaluation timed out")
    assert seconds < SECONDS, seconds
    assert r.headers["Retry-After"] == "1"
    assert "30 ms (EVALUATION_TIMEOUT_MS)" in body["detail"] and "nothing was recorded" in body["detail"]
    assert recorded(app) == before
    # the worker is free again: the next request is answered at once
    r, seconds = await send(client, "/v1/assessments", make_profile(business={"name": f"After {path}"}))
    assert r.status_code == 201 and seconds < SECONDS


async def test_batch_items_not_evaluated_within_the_time_budget_get_503_each(client, app):
    before = recorded(app)
    profiles = [heavy(f"Timeout batch {i}") for i in range(3)]
    with limits(app, timeout_ms=30):
        r, seconds = await send(client, "/v1/assessments/batch", {"profiles": profiles})
    assert r.status_code == 200 and seconds < SECONDS
    items = r.json()["items"]
    assert [i["status"] for i in items] == [503, 503, 503]
    assert items[0]["problem"]["title"] == "Evaluation timed out"
    assert recorded(app) == before


async def test_a_preview_past_its_time_budget_reports_the_items_it_could_not_evaluate(client, app):
    r = await client.post("/v1/assessments", json=heavy("Preview timeout"))
    assert r.status_code == 201
    version = r.json()["ruleset"]["version"]
    with limits(app, timeout_ms=30):
        start = time.perf_counter()
        preview = await client.post(f"/v1/rulesets/{version}/preview", params={"limit": 5}, headers=bearer("operator"))
        seconds = time.perf_counter() - start
    assert preview.status_code == 200 and seconds < SECONDS
    item = next(i for i in preview.json()["items"] if i["assessment_id"] == r.json()["assessment_id"])
    assert "time budget (EVALUATION_TIMEOUT_MS)" in item["error"]
