"""Preparing a rule set for service: read, check, compile, and run every rule's own examples.

A rule set is only ever stored or activated after `prepare` accepts it, so a rule whose
examples do not behave (an obligation that silently never fires, or fires on its near
miss) is caught before it reaches anyone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.errors import EngineFailure, ErrorItem, InvalidRuleSet
from service.rulebase.loading import RuleFiles
from service.rulebase.ruleset import build_ruleset

from .compiler import CompileError
from .evaluate import CompiledRuleSet


@dataclass
class ExampleReport:
    rules: int = 0
    examples: int = 0
    checks: int = 0
    failures: list[ErrorItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rules": self.rules, "examples": self.examples, "checks": self.checks,
                "failures": [f.as_dict() for f in self.failures]}


def fired_rules(compiled: CompiledRuleSet, example: str) -> set[str]:
    """Ids of the rules an example profile triggers: obligations reported and facts derived."""
    profile = compiled.ruleset.examples[example].profile
    assessment = compiled.evaluate(profile, assessment_id=f"example:{example}")
    fired = {o.rule_id for o in assessment.obligations}
    for d in assessment.derived_facts:
        fired.update(d.from_rules)
    return fired


def check_examples(compiled: CompiledRuleSet) -> ExampleReport:
    report = ExampleReport(rules=len(compiled.ruleset.rules), examples=len(compiled.ruleset.examples))
    cache: dict[str, set[str]] = {}
    for spec in compiled.ruleset.rules:
        for which, expect in (("fires", True), ("quiet", False)):
            for name in getattr(spec.rule.examples, which):
                if name not in cache:
                    cache[name] = fired_rules(compiled, name)
                report.checks += 1
                if (spec.id in cache[name]) != expect:
                    verb = "does not fire on" if expect else "fires on its near miss"
                    report.failures.append(ErrorItem(path=f"examples.{which}", file=spec.file, rule=spec.id,
                                                     message=f"the rule {verb} example {name!r}"))
    return report


def prepare(files: RuleFiles, version: str) -> tuple[CompiledRuleSet, ExampleReport]:
    """Files -> a compiled rule set whose examples all pass, or InvalidRuleSet listing every problem."""
    ruleset = build_ruleset(files)
    try:
        compiled = CompiledRuleSet(ruleset, version)
    except CompileError as exc:
        raise InvalidRuleSet("the rule set cannot be compiled", [ErrorItem(path="", message=str(exc))]) from None
    except EngineFailure as exc:
        raise InvalidRuleSet("the rule engine refused the rule set", [ErrorItem(path="", message=exc.detail)]) from None
    try:
        report = check_examples(compiled)
    except EngineFailure as exc:
        compiled.close()
        raise InvalidRuleSet("the rule engine failed on an example", [ErrorItem(path="", message=exc.detail)]) from None
    if report.failures:
        compiled.close()
        raise InvalidRuleSet(f"{len(report.failures)} rule example(s) do not behave", report.failures)
    return compiled, report
