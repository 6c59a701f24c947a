"""The caller's `subject` on an assessment: validated, recorded with it, returned when it is read back, and the
business key the portfolio impact groups the decision log by (the subject, else the profile's digest)."""
from __future__ import annotations

import hashlib

import pytest

from service import businesses
from tests.helpers import make_profile, record_of, recorded

HEADER = "X-Assessment-Subject"


async def test_subject_is_recorded_and_returned_when_read_back(client, app):
    r = await client.post("/v1/assessments", params={"subject": "customer-42/CN"}, json=make_profile())
    assert r.status_code == 201, r.text
    assert r.headers[HEADER] == "customer-42/CN"
    assessment_id = r.json()["assessment_id"]
    again = await client.get(f"/v1/assessments/{assessment_id}")  # served from the journal or the database
    assert again.status_code == 200 and again.headers[HEADER] == "customer-42/CN"
    assert again.content == r.content  # the answer itself is unchanged: the subject travels beside it
    row = record_of(app, assessment_id)
    assert row is not None and row.subject == "customer-42/CN" and row.business == "customer-42/CN"
    flushed = await client.get(f"/v1/assessments/{assessment_id}")  # now certainly from the database
    assert flushed.headers[HEADER] == "customer-42/CN"


async def test_without_a_subject_the_business_is_the_profile_digest(client, app):
    r = await client.post("/v1/assessments", json=make_profile(as_of="2021-03-04"))
    assert r.status_code == 201 and HEADER not in r.headers
    row = record_of(app, r.json()["assessment_id"])
    assert row is not None and row.subject is None
    assert row.business == "sha256:" + hashlib.sha256(row.profile.encode("utf-8")).hexdigest()
    read = await client.get(f"/v1/assessments/{row.id}")
    assert HEADER not in read.headers


@pytest.mark.parametrize("subject", ["", "x" * (businesses.SUBJECT_MAX_LENGTH + 1), "line\nbreak", "tab\there",
                                     "caf\u00e9", " padded", "sha256:" + "0" * 64])
async def test_a_bad_subject_is_refused_naming_the_field_and_nothing_is_recorded(client, app, subject):
    before = recorded(app)
    r = await client.post("/v1/assessments", params={"subject": subject}, json=make_profile())
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in problem["errors"]] == ["query.subject"]
    assert "printable ASCII" in problem["errors"][0]["message"]
    assert recorded(app) == before


async def test_record_false_returns_the_subject_and_records_nothing(client, app):
    before = recorded(app)
    r = await client.post("/v1/assessments", params={"subject": "prospect-7", "record": "false"}, json=make_profile())
    assert r.status_code == 200 and r.headers[HEADER] == "prospect-7"
    assert recorded(app) == before
