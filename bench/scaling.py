"""How evaluation time grows: with the rule base (x1, x4, x16 synthetic copies of every rule) and with
the size of the profile (the number of facts it gives the engine).

    python bench/scaling.py [--runs 300]

A copy of a rule is the same rule under another id, so the engine holds N times the rules and fires
N times the matches; time per rule and time per fact are printed so growth can be read directly.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import _DATA, _SERVICE_TYPES, LARGE, SMALL  # noqa: E402
from service.engine.evaluate import CompiledRuleSet  # noqa: E402
from service.profile.facts import build_facts  # noqa: E402
from service.profile.model import Profile  # noqa: E402
from service.profile.regions import PROVINCES, in_mainland  # noqa: E402
from service.rulebase.loading import from_directory  # noqa: E402
from service.rulebase.ruleset import RuleSet, build_ruleset  # noqa: E402
from service.serving import settle_heap  # noqa: E402

RULES = Path(__file__).resolve().parent.parent / "rules"
MAINLAND = sorted(code for code in PROVINCES if in_mainland(code))


def copies(ruleset: RuleSet, n: int) -> RuleSet:
    """The rule base with every reporting rule n times (derived-fact rules once: copies would only repeat facts)."""
    specs = []
    for k in range(n):
        for spec in ruleset.rules:
            if k and spec.rule.kind is None:
                continue
            rule = spec.rule.model_copy(update={"id": spec.rule.id + (f".copy{k}" if k else "")})
            specs.append(dataclasses.replace(spec, rule=rule, order=len(specs)))
    return dataclasses.replace(ruleset, rules=specs)


def profile_of(units: int) -> dict:
    """`units` times (1 licence, 3 services, 1 data holding, 1 cross-border flow), in distinct regions."""
    def region(i: int) -> str:
        return MAINLAND[i % len(MAINLAND)]

    return {
        "as_of": "2020-10-01",
        "business": {"name": "Scaling Group", "registered_region": "CN-SH", "sectors": ["internet", "telecom"]},
        "licences": [{"type": ("IDC", "ISP", "CDN", "ICP")[i % 4], "regions": [region(i)], "granted": "2012-03-01"}
                     for i in range(units)],
        "services": [{"type": _SERVICE_TYPES[i % len(_SERVICE_TYPES)], "regions": [region(i // 2)],
                      "attributes": {"users": 1000 * (i + 1)}} for i in range(3 * units)],
        "data": [{"category": _DATA[i % len(_DATA)], "subjects": ["customers"], "storage": "cloud", "location": "CN"}
                 for i in range(units)],
        "cross_border": [{"kind": "data_transfer", "data_category": "personal_information",
                          "destination": ("SG", "US", "DE", "JP")[i % 4]} for i in range(units)],
    }


def median_ms(compiled: CompiledRuleSet, profile: Profile, runs: int) -> tuple[float, int]:
    for _ in range(20):
        answer = compiled.evaluate(profile, "warm")
    settle_heap()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        compiled.evaluate(profile, "bench")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, len(answer.obligations)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    base = build_ruleset(from_directory(RULES))
    small, large = Profile.model_validate(SMALL), Profile.model_validate(LARGE)

    print("rule base size (synthetic copies of every rule)")
    print(f"{'copies':>6} {'rules':>6} {'shards':>6} {'compile':>9} {'small':>9} {'large':>9} {'large/rule':>11}")
    for n in (1, 4, 16):
        t0 = time.perf_counter()
        compiled = CompiledRuleSet(copies(base, n), f"x{n}")
        built = (time.perf_counter() - t0) * 1e3
        s, _ = median_ms(compiled, small, args.runs)
        lg, _ = median_ms(compiled, large, args.runs)
        rules = len(compiled.ruleset.rules)
        print(f"{'x' + str(n):>6} {rules:>6} {len(compiled.shards):>6} {built:>7.0f}ms {s:>7.3f}ms {lg:>7.3f}ms "
              f"{lg / rules * 1e3:>9.2f}us")
        compiled.close()

    print("\nprofile size (facts given to the engine), full rule base")
    print(f"{'units':>5} {'facts':>6} {'median':>9} {'per fact':>9} {'obligations':>11}")
    compiled = CompiledRuleSet(base, "x1")
    for units in (1, 2, 4, 8, 16, 32):
        profile = Profile.model_validate(profile_of(units))
        facts = len(build_facts(profile))
        ms, obligations = median_ms(compiled, profile, args.runs)
        print(f"{units:>5} {facts:>6} {ms:>7.3f}ms {ms / facts * 1e3:>7.1f}us {obligations:>11}")
    compiled.close()


if __name__ == "__main__":
    main()
