"""The bench scripts are how the performance figures are produced: each runs, on small sizes, and prints
the figures docs/performance.md quotes (the figures themselves are not asserted: timing lives in bench/)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests import prerequisites
from tests.helpers import REPO

SCRIPTS = {
    "evaluate.py": (["--runs", "20"], [r"small: median [\d.]+ ms, p99 [\d.]+ ms", r"large: median [\d.]+ ms"]),
    "scaling.py": (["--runs", "3"], [r"x16 +\d+ +\d+ +\d+ms", r"\n +32 +\d+ +[\d.]+ms"]),
    "soak.py": (["--evaluations", "200"], [r"RSS growth over 200 evaluations: [+-][\d.]+ MB",
                                         r"engine sessions started: 3202 over 3202 evaluations"]),
    "activations.py": (["--activations", "4"], [r"activation: median \d+ ms", r"RSS growth over 4 activations"]),
    "batch.py": (["--items", "20", "--rounds", "1"], [r"batch of 20 realistic profiles .*statuses \[201\]",
                                                       r"log off, all new +median"]),
    "impact.py": (["--businesses", "60"], [r"impact of 61 businesses on SQLite, 1 uvicorn workers: [\d.]+ s",
                                           r"evaluated per process: 61; claimed more than once: 0",
                                           r"RSS per process \(MB\) at a tenth of the job / at its end / peak: "
                                           r"\d+ / \d+ / \d+"]),
    "contention.py": (["--seconds", "2", "--heavy", "2", "--connections", "4"],
                      [r"small profiles alone: \d+ req/s", r"GET /healthz every 50 ms .*over 100 ms: \d+",
                       r"small profiles beside 2 heavy clients and the batch: \d+ req/s"]),
    "throughput.py": (["--seconds", "2", "--rounds", "1", "--connections", "8"],
                      [r"same profile: service / bare [\d.]+ \(target >= 0.5\), p99 [\d.]+ ms",
                       r"realistic, each new: service / bare [\d.]+ \(target >= 0.25\), p99 [\d.]+ ms",
                       r"generated, each new: service / bare [\d.]+ \(target >= 0.25\), p99 [\d.]+ ms",
                       r"decision log cost: -?\d+%",
                       r"activations during the load: \d+, failed 0"]),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_bench_script_runs_and_prints_its_figures(script):
    args, patterns = SCRIPTS[script]
    if script == "throughput.py" and shutil.which("wrk") is None:
        prerequisites.skip_or_fail("bench/throughput.py needs wrk (apt-get install -y wrk; .ci/run installs it)")
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    for pattern in patterns:
        assert re.search(pattern, done.stdout), f"{script} did not print {pattern!r}:\n{done.stdout}"
