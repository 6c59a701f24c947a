"""GET /v1/assessments/{id}.csv and /v1/assessments/{id}/report: built from the recorded assessment."""
from __future__ import annotations

import csv
import io

from service.exports.table import COLUMNS
from tests.helpers import make_profile, refuse_evaluations


async def create(client, **changes) -> tuple[str, dict]:
    r = await client.post("/v1/assessments", json=make_profile(**changes))
    assert r.status_code == 201, r.text
    return r.json()["assessment_id"], r.json()


def findings(body: dict) -> list[tuple[str, dict]]:
    return [("obligations", o) for o in body["obligations"]] + [("upcoming", u["obligation"]) for u in body["upcoming"]]


async def test_csv_has_one_row_per_finding_and_citation(client):
    ident, body = await create(client, as_of="2017-01-10")
    r = await client.get(f"/v1/assessments/{ident}.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="assessment-{ident}.csv"'
    assert r.content.count(b"\r\n") >= 2, "RFC 4180 line ends"
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert table[0] == COLUMNS
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in table[1:]]
    expected = [(section, o, c) for section, o in findings(body) for c in o["citations"]]
    assert len(rows) == len(expected) and any(section == "upcoming" for section, _, _ in expected)
    for row, (section, o, c) in zip(rows, expected, strict=True):
        shown = (row["assessment_id"], row["section"], row["rule_id"], row["kind"])
        assert shown == (ident, section, o["rule_id"], o["kind"])
        assert row["ruleset_version"] == body["ruleset"]["version"] and row["as_of"] == "2017-01-10"
        assert row["explanation"] == o["explanation"] and row["because"] == "; ".join(o["because"])
        assert row["quote"] == c["source"]["quote"], "quotes with commas and quote marks survive the quoting"
        assert row["instrument_id"] == c["instrument_id"] and row["provision"] == (c["provision"] or "")
    upcoming = next(row for row in rows if row["section"] == "upcoming")
    assert upcoming["starts"] == next(u["starts"] for u in body["upcoming"]
                                      if u["obligation"]["rule_id"] == upcoming["rule_id"])


async def test_csv_keeps_text_beyond_ascii(client):
    # the children's provisions quote "network operators" inside curly quotes in some sources
    ident, body = await create(client, data=[{"category": "children_personal_information"}],
                               services=[{"type": "mobile_app", "regions": ["CN-BJ"]}])
    text = (await client.get(f"/v1/assessments/{ident}.csv")).content.decode("utf-8")
    quotes = [c["source"]["quote"] for _, o in findings(body) for c in o["citations"]]
    assert any(not q.isascii() for q in quotes)
    for q in quotes:
        assert q.replace('"', '""') in text


async def test_report_groups_findings_by_instrument_and_kind_with_quotes(client):
    # two weeks into the 2017 notice: duties in force, conditional ones, and a prohibition and a cessation to come
    ident, body = await create(client, as_of="2017-02-01")
    r = await client.get(f"/v1/assessments/{ident}/report")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    html = r.text
    assert ident in html and body["ruleset"]["version"] in html and body["ruleset"]["digest"] in html
    assert "<script" not in html.lower()
    from markupsafe import escape  # what the report's autoescaping writes

    for _, o in findings(body):
        assert escape(o["title"]) in html
        assert escape(o["explanation"]) in html
        for c in o["citations"]:
            assert escape(c["source"]["quote"]) in html
    first_instrument = body["obligations"][0]["citations"][0]["title"]
    assert f"<h3>{escape(first_instrument)}</h3>" in html
    assert "Violations: the profile shows a breach" in html or "Obligations: what the business must do" in html
    assert "Upcoming: duties that start within 365 days" in html
    conditional = next(o for o in body["obligations"] if o["conditional_on"])
    assert escape(conditional["conditional_on"][0]["statement"]) in html
    interpreted = next(o for o in body["obligations"] if o["interpretation"])
    assert escape(interpreted["interpretation"]["why"]) in html
    assert "force: normative document" in html


async def test_exports_read_the_record_and_never_evaluate_again(client, app, monkeypatch):
    ident, _ = await create(client, as_of="2019-01-01")
    refuse_evaluations(app, monkeypatch)
    assert (await client.get(f"/v1/assessments/{ident}.csv")).status_code == 200
    assert (await client.get(f"/v1/assessments/{ident}/report")).status_code == 200


async def test_exports_of_unknown_or_unrecorded_assessments_are_404(client):
    unrecorded = (await client.post("/v1/assessments", params={"record": "false"}, json=make_profile())).json()
    for ident in ("01J00000000000000000000000", unrecorded["assessment_id"]):
        for path in (f"/v1/assessments/{ident}.csv", f"/v1/assessments/{ident}/report"):
            r = await client.get(path)
            assert r.status_code == 404 and r.json()["title"] == "Not found", path


async def test_empty_assessment_exports(client):
    r = await client.post("/v1/assessments", json={"as_of": "2020-01-01"})
    ident = r.json()["assessment_id"]
    table = (await client.get(f"/v1/assessments/{ident}.csv")).text.splitlines()
    assert table == [",".join(COLUMNS)]
    assert "No finding applies to this profile" in (await client.get(f"/v1/assessments/{ident}/report")).text
