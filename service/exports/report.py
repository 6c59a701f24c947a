"""An assessment as a printable HTML page: findings grouped by instrument and kind, with reasons and quotes.

Rendered with Jinja2 with autoescaping on: every value comes from the recorded assessment (and, through
it, from profiles and rule files), so none of it is ever markup. The page needs nothing else: no
scripts, no external style sheets or fonts (the response forbids them with its Content-Security-Policy).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.engine.assessment import Assessment, Citation, Obligation
from service.rulebase.rule_file import KIND_ORDER

KIND_HEADINGS = {
    "violation": "Violations: the profile shows a breach",
    "prohibition": "Prohibitions: what the business must not do",
    "obligation": "Obligations: what the business must do",
    "advisory": "Advisories: drafts and non-binding texts",
    "notice": "Notices: campaigns, inspections and opportunities",
}
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")

_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class KindGroup:
    kind: str
    heading: str
    findings: list[Obligation]


@dataclass
class InstrumentGroup:
    """The findings whose first citation is this instrument (an instrument as the source shows it)."""

    citation: Citation
    kinds: list[KindGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(k.findings) for k in self.kinds)


def group(obligations: list[Obligation]) -> list[InstrumentGroup]:
    """By instrument (the most serious findings' instrument first), then by kind in the answer's order."""
    by_instrument: dict[str, tuple[Citation, dict[str, list[Obligation]]]] = {}
    for o in obligations:  # the answer lists findings most serious first; groups keep that order
        first = o.citations[0]
        _, kinds = by_instrument.setdefault(first.instrument_id, (first, {}))
        kinds.setdefault(o.kind, []).append(o)
    out = []
    for citation, kinds in by_instrument.values():
        out.append(InstrumentGroup(citation, [KindGroup(k, KIND_HEADINGS.get(k, k), kinds[k])
                                              for k in sorted(kinds, key=lambda k: KIND_ORDER.get(k, 99))]))
    return out


def render(assessment: Assessment) -> str:
    counts = {k: sum(1 for o in assessment.obligations if o.kind == k) for k in KIND_HEADINGS}
    return _env.get_template("report.html").render(
        a=assessment,
        counts=counts,
        groups=group(assessment.obligations),
        upcoming_groups=group([u.obligation for u in assessment.upcoming]),
        starts={u.obligation.rule_id: u.starts for u in assessment.upcoming},
        headings=KIND_HEADINGS,
    )
