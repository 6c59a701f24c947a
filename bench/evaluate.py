"""Evaluation time per profile, in process, with the full rule base: median and p99 for the reference profiles.

    python bench/evaluate.py [--runs 2000] [--horizon-days 365]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import LARGE, SMALL  # noqa: E402
from service.engine.checks import prepare  # noqa: E402
from service.profile.model import Profile  # noqa: E402
from service.rulebase.loading import from_directory  # noqa: E402
from service.serving import settle_heap  # noqa: E402

RULES = Path(__file__).resolve().parent.parent / "rules"


def measure(compiled, profile: Profile, runs: int, horizon_days: int) -> tuple[float, float, int]:
    for _ in range(50):
        compiled.evaluate(profile, "warm", horizon_days=horizon_days)
    settle_heap()  # as the service does after loading a rule set
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        a = compiled.evaluate(profile, "bench", horizon_days=horizon_days)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99) - 1] * 1e3, len(a.obligations)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--horizon-days", type=int, default=365, help="as POST /v1/assessments (upcoming duties)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    compiled, report = prepare(from_directory(RULES), "bench")
    print(f"rule base: {report.rules} rules, {len(compiled.shards)} engine ruleset(s); "
          f"checked and compiled in {(time.perf_counter() - t0) * 1e3:.0f} ms")
    for name, raw in (("small", SMALL), ("large", LARGE)):
        profile = Profile.model_validate(raw)
        median, p99, n = measure(compiled, profile, args.runs, args.horizon_days)
        print(f"{name:5}: median {median:.3f} ms, p99 {p99:.3f} ms over {args.runs} runs ({n} obligations, "
              f"horizon {args.horizon_days} days)")
    compiled.close()


if __name__ == "__main__":
    main()
