"""Exports escape whatever the data holds: HTML is autoescaped, CSV quoted and guarded against formulas."""
from __future__ import annotations

import csv
import datetime as dt
import io

from service.engine.assessment import Assessment, Citation, Deadline, Obligation, RuleSetRef, Source, Upcoming
from service.exports import report, table

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


def hostile_assessment() -> Assessment:
    citation = Citation(instrument_id="inst-<1>", title=f"Title {HOSTILE}", issuer="MIIT & <i>CAC</i>", issued="2017",
                        provision='II"(1)', legal_status="in_force",
                        source=Source(document="doc.txt", quote=f'He said "stop", then, {HOSTILE}\nnext line'))
    finding = Obligation(rule_id="t.rule", kind="violation", title=f"=HYPERLINK(\"http://x\") {HOSTILE}",
                         summary="-1+1", severity="high", citations=[citation], because=["@SUM(A1)", HOSTILE],
                         explanation=f"You {HOSTILE}.", deadline=dt.date(2017, 3, 31))
    return Assessment(assessment_id="01TEST", ruleset=RuleSetRef(version="v<1>", digest="sha256:x"),
                      as_of=dt.date(2017, 1, 1), horizon_days=365, obligations=[finding], derived_facts=[],
                      upcoming=[Upcoming(starts=dt.date(2017, 4, 1), days_until=90, obligation=finding)],
                      deadlines=[Deadline(date=dt.date(2017, 3, 31), days_left=89, rule_id="t.rule", kind="violation",
                                          severity="high", title=HOSTILE, listed_in="obligations")])


def test_the_report_escapes_everything_from_data():
    html = report.render(hostile_assessment())
    assert "<script" not in html and "<b>bold</b>" not in html and "<i>CAC</i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "v&lt;1&gt;" in html and "inst-&lt;1&gt;" in html
    assert "Upcoming: duties that start within 365 days" in html and "starts 2017-04-01" in html


def test_the_csv_quotes_and_defuses_formulas():
    text = table.render(hostile_assessment())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 3  # header, the finding, the same finding upcoming
    row = dict(zip(table.COLUMNS, rows[1], strict=True))
    assert row["title"].startswith("'=HYPERLINK(")
    assert row["summary"] == "'-1+1"
    assert row["because"] == f"'@SUM(A1); {HOSTILE}"
    assert row["quote"] == f'He said "stop", then, {HOSTILE}\nnext line'
    assert row["provision"] == 'II"(1)' and row["deadline"] == "2017-03-31" and row["overdue"] == "false"
    assert dict(zip(table.COLUMNS, rows[2], strict=True))["starts"] == "2017-04-01"


def test_only_a_leading_formula_character_is_defused():
    a = hostile_assessment()
    a.obligations[0].because.reverse()
    rows = list(csv.reader(io.StringIO(table.render(a), newline="")))
    assert dict(zip(table.COLUMNS, rows[1], strict=True))["because"] == f"{HOSTILE}; @SUM(A1)"
