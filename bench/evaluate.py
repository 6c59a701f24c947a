"""Evaluation time per profile, in process, with the full rule base: what POST /v1/assessments runs between the
profile and the answer's text (the engine's match, the write-up, the JSON), and where the time goes.

    python bench/evaluate.py [--runs 2000] [--horizon-days 365] [--generated 500]

Profiles: the small and large reference profiles (bench/profiles.py), each evaluated again and again; then the
realistic businesses of tests/scenarios and the page's samples, and `--generated` profiles no two alike
(bench/profiles.generated), each in turn. Each figure is the median (and p99) of one evaluation to its answer's text.

The breakdown times the same evaluations piece by piece: building the facts; durable-rules' C core (every call into
it, timed: the floor no Python change can go under); the Python side of each firing (reading the match, recording
it, deriving facts); the write-up (findings, reasons, explanations, citations); the JSON (`answers.make`).
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import LARGE, SMALL, generated, realistic  # noqa: E402
from service import answers  # noqa: E402
from service.engine import durable  # noqa: E402
from service.engine.checks import prepare  # noqa: E402
from service.engine.compiler import with_copies  # noqa: E402
from service.engine.evaluate import CompiledRuleSet  # noqa: E402
from service.profile.facts import build_facts  # noqa: E402
from service.profile.model import Profile  # noqa: E402
from service.rulebase.loading import from_directory  # noqa: E402
from service.serving import settle_heap  # noqa: E402

RULES = Path(__file__).resolve().parent.parent / "rules"


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def figures(times: list[float]) -> str:
    times = sorted(times)
    return f"median {statistics.median(times) * 1e3:.3f} ms, p99 {times[int(len(times) * 0.99) - 1] * 1e3:.3f} ms"


class CoreClock:
    """Times every call into durable-rules' C core (the module `service.engine.durable` calls)."""

    def __init__(self) -> None:
        self.real = durable.core
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.real, name)
        if not callable(target) or isinstance(target, type):
            return target

        def call(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return target(*args)
            finally:
                self.seconds += time.perf_counter() - t0

        return call


def breakdown(compiled: CompiledRuleSet, profiles: list[Profile], rounds: int, horizon_days: int) -> str:
    """Mean milliseconds per evaluation of each piece, over `rounds` passes over `profiles`."""
    n = rounds * len(profiles)
    facts = sum(sum(timed(lambda p=p: with_copies(build_facts(p), compiled.copies), rounds)) for p in profiles) / n
    clock = CoreClock()
    durable.core = clock  # type: ignore[assignment]
    try:
        match = sum(sum(timed(lambda p=p: compiled.match(p, p.effective_as_of()), rounds)) for p in profiles) / n
        core = clock.seconds / n
    finally:
        durable.core = clock.real
    written = sum(sum(timed(lambda p=p: compiled.write_up(p, "", horizon_days), rounds)) for p in profiles) / n
    data = [compiled.write_up(p, "", horizon_days) for p in profiles]
    json = sum(sum(timed(lambda d=d: answers.make(d), rounds)) for d in data) / n
    return (f"facts {facts * 1e3:.3f}, C core {core * 1e3:.3f} (the floor), Python side of the firings "
            f"{(match - facts - core) * 1e3:.3f}, write-up {(written - match) * 1e3:.3f}, JSON {json * 1e3:.3f} "
            f"(ms per evaluation)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--horizon-days", type=int, default=365, help="as POST /v1/assessments (upcoming duties)")
    parser.add_argument("--generated", type=int, default=500, help="profiles no two alike")
    args = parser.parse_args()
    t0 = time.perf_counter()
    compiled, report = prepare(from_directory(RULES), "bench")
    print(f"rule base: {report.rules} rules, {len(compiled.shards)} engine ruleset(s); "
          f"checked and compiled in {(time.perf_counter() - t0) * 1e3:.0f} ms")

    def answer(profile: Profile) -> None:
        answers.make(compiled.write_up(profile, "", horizon_days=args.horizon_days))

    for name, raw in (("small", SMALL), ("large", LARGE)):
        profile = Profile.model_validate(raw)
        for _ in range(50):
            answer(profile)
        settle_heap()  # as the service does after loading a rule set
        n = len(compiled.write_up(profile, "", args.horizon_days)["obligations"])
        print(f"{name:5}: {figures(timed(lambda p=profile: answer(p), args.runs))} over {args.runs} runs "
              f"({n} findings, horizon {args.horizon_days} days)")
        print(f"       {breakdown(compiled, [profile], max(args.runs // 4, 1), args.horizon_days)}")
    for name, raws in (("realistic", realistic()), ("generated", generated(args.generated))):
        fresh = [Profile.model_validate(raw) for raw in raws]
        times = timed(functools.partial(lambda it: answer(next(it)), iter(fresh * (args.runs // len(fresh) + 1))),
                      args.runs)
        print(f"{name}: {figures(times)} over {args.runs} evaluations, {len(fresh)} profiles in turn")
        print(f"       {breakdown(compiled, fresh, max(args.runs // len(fresh) // 4, 1), args.horizon_days)}")
    compiled.close()


if __name__ == "__main__":
    main()
