"""Memory and time over many activations: retired rule sets must be freed from durable-rules.

    python bench/activations.py [--activations 500]

Alternates between two stored versions of the full rule base in one process (SQLite), evaluating
a profile under each, and prints RSS and the activation time (compile + swap + database write).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import SMALL  # noqa: E402
from bench.soak import rss_mb  # noqa: E402
from service.activation import Activation  # noqa: E402
from service.profile.model import Profile  # noqa: E402
from service.rulebase.loading import RuleFiles, from_directory  # noqa: E402
from service.serving import Serving  # noqa: E402
from service.store.db import Database  # noqa: E402
from service.versions import Versions  # noqa: E402

RULES = Path(__file__).resolve().parent.parent / "rules"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activations", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.migrate()
        serving, stored = Serving(), Versions(db)
        activation = Activation(db, RULES, serving, stored)
        first = from_directory(RULES)
        files = dict(first.files)
        name = "miit-2017-internet-access-market-cleanup.yaml"
        files[name] = files[name].replace("severity: critical", "severity: high", 1)
        versions = [stored.store(first, "bench")[0].version, stored.store(RuleFiles(files), "bench")[0].version]
        profile = Profile.model_validate(SMALL)
        for i in range(20):  # warm up
            activation.activate(versions[i % 2], "bench")
            with serving.lease() as loaded:
                loaded.compiled.evaluate(profile, "bench")
        start = rss_mb()
        print(f"after warm-up: RSS {start:.1f} MB; rule base of {serving.current.rule_count} rules")
        times = []
        step = max(1, args.activations // 10)
        for i in range(1, args.activations + 1):
            t0 = time.perf_counter()
            activation.activate(versions[i % 2], "bench")
            times.append(time.perf_counter() - t0)
            with serving.lease() as loaded:
                loaded.compiled.evaluate(profile, "bench")
            if i % step == 0:
                print(f"{i:>5} activations: RSS {rss_mb():.1f} MB")
        end = rss_mb()
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"activation: median {statistics.median(times) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms")
        print(f"RSS growth over {args.activations} activations: {end - start:+.1f} MB "
              f"(start {start:.1f}, end {end:.1f})")
        serving.close()
        db.dispose()


if __name__ == "__main__":
    main()
