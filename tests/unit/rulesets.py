"""Small rule sets for unit tests: rules written inline, with the real catalogue and sources."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import RULES

CITATION = {
    "instrument_id": "miit-2017-internet-access-market-cleanup",
    "provision": "II(I)1(1)",
    "document": "004_b81d122921d22990.txt",
    "quote": "Businesses without permits, i. e. enterprises, without having acquired the corresponding "
             "telecommunication business permits, conducting unauthorized IDC, ISP and CDN businesses in the jurisdiction.",
}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # rule files may not use anchors
        return True


def write_rules(directory: Path, rules: list[dict[str, Any]], examples: dict[str, Any] | None = None,
                name: str = "test.yaml", defaults: bool = True) -> Path:
    """A rules folder: the repository catalogue and sources plus one file with `rules`."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES / "instruments.yaml", directory / "instruments.yaml")
    if not (directory / "sources").exists():
        shutil.copytree(RULES / "sources", directory / "sources")
    out = []
    for rule in rules:
        rule = copy.deepcopy(rule)
        if defaults:
            rule.setdefault("title", f"Test rule {rule['id']}")
            if "derive" not in rule or "kind" in rule:
                rule.setdefault("kind", "obligation")
                rule.setdefault("citations", [CITATION])
            rule.setdefault("examples", {"fires": ["empty"], "quiet": ["empty"]})
        out.append(rule)
    exs = {"empty": {}}
    exs.update(examples or {})
    (directory / name).write_text(yaml.dump({"rules": out, "examples": exs}, Dumper=_NoAliases, sort_keys=False),
                                  encoding="utf-8")
    return directory


def compile_rules(directory: Path, rules: list[dict[str, Any]], examples: dict[str, Any] | None = None):
    """Build and compile without running examples (the unit tests check behaviour themselves)."""
    from service.engine.evaluate import CompiledRuleSet
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset

    write_rules(directory, rules, examples)
    return CompiledRuleSet(build_ruleset(from_directory(directory)), "unit")


def fired(compiled, profile: dict[str, Any]) -> dict[str, Any]:
    """rule id -> obligation for the rules a profile triggers."""
    from service.profile.model import Profile

    assessment = compiled.evaluate(Profile.model_validate(profile), "test")
    return {o.rule_id: o for o in assessment.obligations}
