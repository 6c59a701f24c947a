"""Memory over many evaluations: durable-rules keeps per-session state unless it is deleted; each evaluation runs on
a session of its own, deleted when it ends (docs/engine.md), so whatever that leaves behind adds up.

    python bench/soak.py [--evaluations 100000]

Evaluates as the service does (write-up, then the JSON answer) a cycle of 2,000 generated profiles, no two alike, and
the small and large benchmark profiles, with no answer cache; the warm-up evaluates each profile once. Prints RSS at
intervals, the growth from the first sample after warm-up to the end, and how many engine sessions were started.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import LARGE, SMALL, generated  # noqa: E402
from service import answers  # noqa: E402
from service.engine.checks import prepare  # noqa: E402
from service.profile.model import Profile  # noqa: E402
from service.rulebase.loading import from_directory  # noqa: E402

RULES = Path(__file__).resolve().parent.parent / "rules"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evaluations", type=int, default=100_000)
    args = parser.parse_args()
    compiled, _ = prepare(from_directory(RULES), "soak")
    checked = compiled.sessions_started  # the sessions of the rule examples checked by prepare
    profiles = [Profile.model_validate(p) for p in [SMALL, LARGE, *generated(2000, seed=7)]]
    warm_up = len(profiles) + 1000  # every profile once: what is kept per value and sentence fills up (bounded)
    for i in range(warm_up):
        answers.make(compiled.write_up(profiles[i % len(profiles)], "warm"))
    start = rss_mb()
    print(f"after warm-up: RSS {start:.1f} MB")
    t0 = time.perf_counter()
    step = max(1, args.evaluations // 10)
    for i in range(1, args.evaluations + 1):
        answers.make(compiled.write_up(profiles[i % len(profiles)], "soak"))
        if i % step == 0:
            print(f"{i:>7} evaluations: RSS {rss_mb():.1f} MB ({time.perf_counter() - t0:.0f} s)", flush=True)
    end = rss_mb()
    print(f"RSS growth over {args.evaluations} evaluations: {end - start:+.1f} MB "
          f"(start {start:.1f} MB, end {end:.1f} MB)")
    print(f"engine sessions started: {compiled.sessions_started - checked} over {args.evaluations + warm_up} "
          "evaluations")
    compiled.close()


if __name__ == "__main__":
    main()
