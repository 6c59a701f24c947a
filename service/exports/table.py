"""An assessment as CSV: one row per finding and citation (RFC 4180: comma-separated, CRLF, quoted as needed, UTF-8).

Findings that apply on as_of come first (`section` obligations), then the duties that start within the
horizon (`section` upcoming, with `starts`). A cell that a spreadsheet would read as a formula (one that
begins with =, +, -, @, a tab or a carriage return) is written with a leading apostrophe, as OWASP
recommends against CSV injection; everything else is the recorded text unchanged.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from service.engine.assessment import Assessment, Obligation

COLUMNS = [
    "assessment_id", "ruleset_version", "ruleset_digest", "as_of", "section", "starts", "rule_id", "kind", "severity",
    "legal_force", "title", "summary", "explanation", "because", "conditional_on", "caveats", "interpretation",
    "deadline", "overdue", "jurisdiction", "applies_from", "applies_until", "citation", "instrument_id",
    "instrument_title", "issuer", "issued", "document_number", "provision", "legal_status", "in_force_from",
    "source_document", "quote",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(assessment: Assessment) -> Iterator[list[str]]:
    findings: list[tuple[str, dt.date | None, Obligation]] = [("obligations", None, o) for o in assessment.obligations]
    findings += [("upcoming", u.starts, u.obligation) for u in assessment.upcoming]
    for section, starts, o in findings:
        for number, c in enumerate(o.citations, start=1):
            yield [_cell(v) for v in (
                assessment.assessment_id, assessment.ruleset.version, assessment.ruleset.digest, assessment.as_of,
                section, starts, o.rule_id, o.kind, o.severity, o.legal_force, o.title, o.summary, o.explanation,
                "; ".join(o.because), "; ".join(f"{f.path}: {f.statement}" for f in o.conditional_on),
                "; ".join(o.caveats), _interpretation(o), o.deadline, o.overdue, o.jurisdiction, o.applies_from,
                o.applies_until, number, c.instrument_id, c.title, c.issuer, c.issued, c.document_number, c.provision,
                c.legal_status, c.in_force_from, c.source.document, c.source.quote)]


def _interpretation(o: Obligation) -> str | None:
    i = o.interpretation
    return f"Reading taken: {i.reading} Alternative: {i.alternative} Why: {i.why}" if i else None


def render(assessment: Assessment) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(assessment))
    return out.getvalue()
