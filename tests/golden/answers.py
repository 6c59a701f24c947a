"""The answer to every example and scenario profile, as the service renders it, pinned by its SHA-256.

Changes to how evaluation runs (sessions, batching, faster write-up) must not change a byte of any answer; this
pins them. A change to the rules or to the answer's shape changes digests on purpose: regenerate, and review the
difference in the scenario tests and docs/rulebase.md, with

    python -m tests.golden.answers --update
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from bench.profiles import LARGE, SMALL
from service import answers
from service.engine.evaluate import CompiledRuleSet
from service.profile.model import Profile
from tests.helpers import REPO

DIGESTS = Path(__file__).with_name("answers.sha256.json")
#: Long enough to take in the upcoming duties and deadlines of every example.
HORIZON_DAYS = 730


def profiles(compiled: CompiledRuleSet) -> dict[str, Profile]:
    """Every rule example, every scenario and the benchmark profiles, by a stable name."""
    out = {f"example:{name}": example.profile for name, example in sorted(compiled.ruleset.examples.items())}
    for path in sorted((REPO / "tests" / "scenarios").glob("*.yaml")):
        scenario: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[f"scenario:{path.stem}"] = Profile.model_validate(scenario["profile"])
    out["bench:small"] = Profile.model_validate(SMALL)
    out["bench:large"] = Profile.model_validate(LARGE)
    return out


def digest(compiled: CompiledRuleSet, profile: Profile) -> str:
    """The answer's digest, with the version label (the caller's name for the rule set) fixed: the content counts."""
    data = compiled.write_up(profile, "golden", horizon_days=HORIZON_DAYS)
    return answers.make({**data, "ruleset": {**data["ruleset"], "version": "golden"}}).sha


def digests(compiled: CompiledRuleSet) -> dict[str, str]:
    return {name: digest(compiled, profile) for name, profile in profiles(compiled).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="write the digests of the rules in rules/")
    args = parser.parse_args()
    from service.engine.checks import prepare
    from service.rulebase.loading import from_directory

    compiled, _ = prepare(from_directory(REPO / "rules"), "golden")
    now = digests(compiled)
    if args.update:
        DIGESTS.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {len(now)} digests to {DIGESTS.relative_to(REPO)}")
    else:
        pinned = json.loads(DIGESTS.read_text(encoding="utf-8"))
        changed = sorted(k for k in now.keys() | pinned.keys() if now.get(k) != pinned.get(k))
        print(f"{len(now)} answers, {len(changed)} changed" + (f": {', '.join(changed)}" if changed else ""))


if __name__ == "__main__":
    main()
