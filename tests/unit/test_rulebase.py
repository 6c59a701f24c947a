"""The repository's rule base: every rule's examples, its citations, and the generated schemas."""
from __future__ import annotations

import pytest

from service.engine.checks import fired_rules
from service.rulebase.loading import from_directory
from service.rulebase.ruleset import build_ruleset
from tests.helpers import RULES

RULESET = build_ruleset(from_directory(RULES))


@pytest.mark.parametrize("rule_id", [r.id for r in RULESET.rules])
def test_rule_examples(compiled, rule_id):
    """Each rule fires on every profile it names under `fires` and on none under `quiet`."""
    spec = compiled.ruleset.rule(rule_id)
    for name in spec.rule.examples.fires:
        assert rule_id in fired_rules(compiled, name), f"{rule_id} does not fire on {name}"
    for name in spec.rule.examples.quiet:
        assert rule_id not in fired_rules(compiled, name), f"{rule_id} fires on its near miss {name}"


def test_every_citation_quotes_its_source_word_for_word():
    """The same check as ../shared/tools/check_citations.py, against the sources shipped in rules/sources."""
    import re

    def fold(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    sources = {name: fold(text) for name, text in RULESET.sources.documents.items()}
    checked = 0
    for spec in RULESET.rules:
        for c in spec.rule.citations:
            assert c.instrument_id in RULESET.catalogue, (spec.id, c.instrument_id)
            assert fold(c.quote) in sources[c.document], (spec.id, c.quote[:60])
            checked += 1
    assert checked > 0


def test_reporting_rules_cite_and_binding_rules_cite_a_binding_instrument():
    for spec in RULESET.rules:
        if spec.rule.kind is None:
            continue
        assert spec.rule.citations, spec.id
        if spec.rule.kind.value in ("obligation", "prohibition", "violation"):
            assert any(RULESET.catalogue.get(c.instrument_id).business_duty for c in spec.rule.citations), spec.id


def test_the_sources_shipped_are_the_catalogue_sources():
    seeds = {seed for inst in RULESET.catalogue for seed in inst.seeds}
    assert seeds == set(RULESET.sources.documents)


def test_schemas_are_current():
    from service import schemas

    assert schemas.drift() == [], "schemas/ differs from the code: run `make schemas`"


def test_rulebase_document_is_current():
    from service.rulebase.document import DOC_PATH, render

    assert DOC_PATH.read_text(encoding="utf-8") == render(RULESET), "docs/rulebase.md is out of date: run `make docs`"
