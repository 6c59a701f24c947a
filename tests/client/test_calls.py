"""The client against a real server (`compliance-engine serve`): every call, sync and async (`connect`), read with
the service's models, with the request id and rule-set version of the answer; error answers as typed exceptions."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from service.api.batch import BatchResponse
from service.api.models import RuleList
from service.client import (
    AsyncComplianceClient,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooLarge,
    Unauthorized,
)
from service.engine.assessment import Assessment
from service.profile.model import Profile
from tests.api.test_rulesets import retitled, rule_files
from tests.helpers import TOKENS, make_profile

pytestmark = pytest.mark.integration

CDN_IN_GUANGDONG = {"type": "cdn", "regions": ["CN-GD"]}


def logged_request_ids(server, route: str) -> set[str]:
    """The request ids the server's access log gives for `route`."""
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return {line["request_id"] for line in lines if line.get("route") == route}


def test_an_assessment_carries_its_request_id_and_version_and_reads_back_equal(server, connect):
    client = connect(server.url)
    result = client.assess(make_profile())
    assessment = result.value
    assert isinstance(assessment, Assessment) and result.status == 201
    assert assessment.obligations and all(o.citations for o in assessment.obligations)
    assert result.location == f"/v1/assessments/{assessment.assessment_id}"
    assert result.ruleset_version == assessment.ruleset.version == client.active_ruleset().value.version
    assert str(uuid.UUID(result.idempotency_key, version=4)) == result.idempotency_key
    assert not result.replayed and result.attempts == 1
    deadline = time.monotonic() + 5  # the access log line is written after the answer
    while result.request_id not in logged_request_ids(server, "/v1/assessments") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert result.request_id in logged_request_ids(server, "/v1/assessments")

    again = client.assessment(assessment.assessment_id)
    assert again.value == assessment and again.status == 200
    assert again.ruleset_version == result.ruleset_version and again.request_id != result.request_id


def test_a_profile_model_is_sent_as_stated_and_a_request_id_of_the_caller_is_kept(server, connect):
    client = connect(server.url, headers={"X-Request-ID": "caller-trace-17"})
    stated = make_profile(services=[CDN_IN_GUANGDONG], licences=[])
    result = client.assess(Profile.model_validate(stated), record=False, horizon_days=30)
    assert result.status == 200 and result.location is None and result.request_id == "caller-trace-17"
    assert result.value.horizon_days == 30 and result.value.as_of.isoformat() == stated["as_of"]
    as_json = client.assess(stated, record=False, horizon_days=30).value
    assert result.value.obligations == as_json.obligations and result.value.warnings == as_json.warnings == []


def test_bad_input_unknown_ids_tokens_and_size_raise_typed_problems(server, connect):
    client = connect(server.url)
    with pytest.raises(InvalidRequest) as bad:
        client.assess(make_profile(services=[{"type": "nope", "regions": ["CN-BJ"]}]))
    assert bad.value.status == 422 and bad.value.type == "/problems/invalid-request"
    assert [e.path for e in bad.value.errors] == ["services[0].type"]
    assert "cloud_computing" in bad.value.errors[0].message  # what is allowed there
    assert bad.value.document is not None and bad.value.document["errors"][0]["path"] == "services[0].type"
    assert bad.value.request_id

    with pytest.raises(NotFound) as missing:
        client.assessment("01J00000000000000000000000")
    assert missing.value.status == 404 and "01J00000000000000000000000" in missing.value.detail
    with pytest.raises(NotFound):
        client.rule("no.such-rule")
    with pytest.raises(NotFound):
        client.ruleset("../assessments")  # one path segment, never another route

    with pytest.raises(Unauthorized) as anonymous:
        client.audit()
    assert anonymous.value.status == 401 and not isinstance(anonymous.value, Forbidden)
    with pytest.raises(Forbidden) as reader:
        connect(server.url, TOKENS["reader"]).activate_ruleset("any")
    assert reader.value.status == 403

    with pytest.raises(TooLarge) as large:
        client.assess(make_profile(business={"name": "x" * (1024 * 1024 + 1)}))
    assert large.value.status == 413


def test_compare_batch_and_questions(server, connect):
    client = connect(server.url)
    baseline = make_profile(licences=[], services=[{"type": "cloud_computing", "regions": ["CN-BJ"]}])
    proposed = make_profile(licences=[], services=[{"type": "cloud_computing", "regions": ["CN-BJ"]},
                                                   CDN_IN_GUANGDONG])
    comparison = client.compare(baseline, proposed)
    assert comparison.status == 200 and comparison.ruleset_version == comparison.value.ruleset.version
    assert comparison.value.added and not comparison.value.removed
    assert any("cdn" in " ".join(o.because) for o in comparison.value.added)
    for side in (comparison.value.baseline, comparison.value.proposed):
        assert client.assessment(side.assessment_id).value.assessment_id == side.assessment_id

    batch = client.batch([baseline, {"services": [{"type": "bad"}]}, proposed])
    assert isinstance(batch.value, BatchResponse) and batch.idempotency_key
    assert (batch.value.count, batch.value.assessed, batch.value.refused) == (3, 2, 1)
    first, refused, _ = batch.value.items
    assert first.status == 201 and first.assessment is not None
    assert client.assessment(first.assessment_id).value == first.assessment
    assert refused.status == 422 and refused.problem is not None
    assert refused.problem.errors[0].path == "profiles[1].services[0].type"

    asked = client.questions({"as_of": "2020-10-01", "services": [{"type": "mobile_app", "regions": ["CN-BJ"]}]},
                             limit=3)
    assert 1 <= asked.value.shown <= 3 and asked.value.groups
    assert asked.ruleset_version == asked.value.ruleset.version


def test_rules_and_instruments(server, connect):
    client = connect(server.url)
    violations = client.rules(kind="violation")
    assert isinstance(violations.value, RuleList) and violations.value.count == len(violations.value.rules) > 0
    assert {r.kind for r in violations.value.rules} == {"violation"}
    every = client.rules().value
    assert every.count > violations.value.count
    first = every.rules[0]
    detail = client.rule(first.rule_id).value
    assert (detail.rule_id, detail.title, detail.ruleset) == (first.rule_id, first.title, every.ruleset)
    assert detail.citations and detail.citations[0].instrument_id in first.instruments
    citing = client.rules(instrument=first.instruments[0]).value
    assert first.rule_id in {r.rule_id for r in citing.rules}

    catalogue = client.instruments().value
    assert catalogue.count == len(catalogue.instruments)
    by_id = {i.id: i for i in catalogue.instruments}
    assert first.rule_id in by_id[first.instruments[0]].rules


def test_operator_calls_upload_preview_activate_roll_back_and_audit(server, connect):
    client = connect(server.url, TOKENS["operator"])
    old = client.active_ruleset().value.version
    client.assess(make_profile())  # something recorded for the preview to re-evaluate
    files = retitled(rule_files(), f"Unlicensed business ({uuid.uuid4().hex[:8]})")

    uploaded = client.upload_ruleset(files)
    new = uploaded.value.version
    assert uploaded.status == 201 and uploaded.value.created and not uploaded.value.active
    assert uploaded.location == f"/v1/rulesets/{new}" and uploaded.value.report.checks > 0
    again = client.upload_ruleset(files)
    assert again.status == 200 and again.value.version == new and not again.value.created

    listed = client.rulesets().value
    assert listed.active == old and [v.version for v in listed.versions].count(new) == 1
    assert client.ruleset(new).value.digest == uploaded.value.digest

    preview = client.preview_ruleset(new, limit=5).value
    assert preview.version == new and preview.compared_with_active == old and 1 <= preview.assessments <= 5

    activated = client.activate_ruleset(new).value
    assert activated.version == new and activated.loaded_by.startswith("token:")
    active = client.active_ruleset().value
    assert (active.version, active.previous_version) == (new, old)
    assert client.assess(make_profile()).ruleset_version == new

    back = client.activate_ruleset(active.previous_version).value  # the rollback
    assert back.version == old and client.active_ruleset().value.version == old

    events = client.audit(limit=10).value.events
    moves = [(e.action, e.outcome, e.from_version, e.to_version) for e in events[:4]]
    assert moves == [("rollback", "ok", new, old), ("activate", "ok", old, new),
                     ("upload", "unchanged", None, new), ("upload", "stored", None, new)], moves
    assert [e.id for e in client.audit(limit=2, before=events[0].id).value.events] == [e.id for e in events[1:3]]


def test_portfolio_impact_and_the_change_feed(server, connect):
    client = connect(server.url, TOKENS["operator"])
    subject = f"client-{uuid.uuid4().hex[:8]}"
    recorded = client.assess(make_profile(licences=[], services=[CDN_IN_GUANGDONG]), subject=subject)
    assert recorded.status == 201 and recorded.subject == subject
    assert client.assess(make_profile(), record=False).subject is None
    old = client.active_ruleset().value.version
    new = client.upload_ruleset(retitled(rule_files(), f"Unlicensed business ({uuid.uuid4().hex[:8]})")).value.version
    start = client.changes(limit=1000).value.next_since

    started = client.start_impact(new)
    assert started.status == 202 and started.location == f"/v1/impact/{started.value.job}"
    assert (started.value.version, started.value.baseline_version) == (new, old)
    deadline = time.monotonic() + 60
    job = started.value
    while job.state != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.impact(started.value.job, limit=1000).value
    assert job.state == "done" and job.totals is not None and job.totals.businesses_changed >= 1
    mine = [b for b in job.businesses if b.business == subject]
    assert len(mine) == 1 and mine[0].changes is not None
    assert [c.rule_id for c in mine[0].changes.changed] == ["cleanup.unlicensed-business"]
    with pytest.raises(NotFound):
        client.impact("01JNOSUCHJOB")

    client.activate_ruleset(new)
    events = []
    while not events and time.monotonic() < deadline:
        events = [e for e in client.changes(since=start, limit=1000).value.events if e.business == subject]
        time.sleep(0.1)
    assert len(events) == 1 and (events[0].version, events[0].previous_version) == (new, old)
    assert events[0].subject == subject and events[0].assessment_id == recorded.value.assessment_id
    status = client.webhook_status().value
    assert status.configured is False and status.latest >= events[0].cursor
    client.activate_ruleset(old)


async def test_the_async_client_assesses_concurrently(server):
    async with AsyncComplianceClient(server.url) as client:
        results = await asyncio.gather(*(client.assess(make_profile(as_of=f"2020-10-0{day}"))
                                         for day in range(1, 6)))
        assert [r.status for r in results] == [201] * 5
        assert len({r.value.assessment_id for r in results}) == len({r.idempotency_key for r in results}) == 5
        assert [str(r.value.as_of) for r in results] == [f"2020-10-0{day}" for day in range(1, 6)]
        read = await client.assessment(results[0].value.assessment_id)
        assert read.value == results[0].value
