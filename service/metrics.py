"""Prometheus metrics, aggregated over uvicorn's worker processes.

`compliance-engine serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder before the workers
start, so every process writes its samples there and /metrics (answered by any one worker)
reports them all. Run in one process (tests, an app started some other way) the default
registry is used.

Counting the obligations of every answer on the hot path would cost a label lookup per
obligation per request; instead each request counts a hit on its answer, and `Ticker` turns
the hits into per-rule counts every few seconds (and before each scrape).
"""
from __future__ import annotations

import collections
import os
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

if TYPE_CHECKING:
    from service.answers import Answer

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter("compliance_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
LATENCY = Histogram("compliance_http_request_duration_seconds", "Time to answer, by route.", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVALUATIONS = Counter("compliance_evaluations_total", "Profiles evaluated, by whether an identical evaluation "
                      "was reused.", ["outcome"])
OBLIGATIONS = Counter("compliance_obligations_total", "Obligations reported, by rule and kind.", ["rule_id", "kind"])
ACTIVE = Gauge("compliance_ruleset_active", "1 for the rule-set version this process serves.", ["version", "digest"],
               multiprocess_mode="liveall")
ACTIVATIONS = Counter("compliance_ruleset_activations_total", "Activations by this process, by reason and outcome.",
                      ["reason", "outcome"])
LOAD_FAILURES = Counter("compliance_ruleset_load_failures_total",
                        "Times this process could not load the version the database says is active.")
QUEUE = Gauge("compliance_decision_log_queue_depth", "Assessments journaled but not yet in the database.",
              multiprocess_mode="livesum")
FLUSH_ERRORS = Gauge("compliance_decision_log_flush_errors", "Failed attempts to write the decision log to the "
                     "database since the process started.", multiprocess_mode="livesum")
WRITE_ERRORS = Gauge("compliance_decision_log_write_errors", "Disk errors writing the journal since the process "
                     "started (the requests concerned got 503).", multiprocess_mode="livesum")
DEAD_LETTERS = Gauge("compliance_decision_log_dead_letters", "Records the database refused, kept in a dead-letter "
                     "file beside the journal.", multiprocess_mode="livesum")
WEBHOOK_DELIVERIES = Counter("compliance_change_webhook_deliveries_total", "Batches of change events sent to the "
                             "change webhook, by outcome (ok: answered 2xx; failed: anything else, retried later).",
                             ["outcome"])
DATABASE_UP = Gauge("compliance_database_up", "1 when this process reaches the database.", multiprocess_mode="liveall")


class HitCounter:
    """Answers served since the last tick; turned into per-rule obligation counts off the hot path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[int, tuple[Answer, int]] = {}  # id(answer) -> (answer, hits)

    def hit(self, answer: Answer) -> None:
        with self._lock:
            _, hits = self._hits.get(id(answer), (answer, 0))
            self._hits[id(answer)] = (answer, hits + 1)

    def drain(self) -> None:
        """Counted per rule and kind first, then one increment each: with every answer new (a thousand a second),
        an increment per answer and rule was 20,000 labelled increments a tick, on a thread that competes with the
        event loop for the GIL."""
        with self._lock:
            hits, self._hits = self._hits, {}
        fired: collections.Counter[tuple[str, str]] = collections.Counter()
        for answer, n in hits.values():
            for key in answer.fired:
                fired[key] += n
        for (rule_id, kind), n in fired.items():
            OBLIGATIONS.labels(rule_id, kind).inc(n)


HITS = HitCounter()


class Ticker:
    """Every few seconds: obligation counts, queue depth, database reachability and the served version."""

    def __init__(self, sample: Callable[[], None], interval: float = 2.0):
        self.sample = sample
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.tick()

    def tick(self) -> None:
        HITS.drain()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # any failure: metrics must never take the process down
                pass


_served: list[tuple[str, str]] = []


def set_active(version: str, digest: str) -> None:
    """Mark `version` as the one this process serves, and the one before as no longer served."""
    for labels in _served:
        ACTIVE.labels(*labels).set(0)  # multiprocess files cannot forget a label; 0 says "not served"
    _served[:] = [(version, digest)]
    ACTIVE.labels(version, digest).set(1)


def exposition() -> tuple[bytes, str]:
    if MULTIPROCESS:
        _forget_dead_workers()
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def _forget_dead_workers() -> None:
    """Drop the live gauges of workers that died (killed, or replaced by uvicorn): their files stay behind,
    and a dead worker's queue depth or served version must not be reported as current."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    pids = {int(m.group(1)) for name in os.listdir(folder) if (m := _LIVE_FILE.match(name))}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated
        except PermissionError:
            pass


_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")
