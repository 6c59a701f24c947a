"""The background runner of impact jobs: one thread in every server process, sharing the work through the
database (service/store/impact.py hands it out).

It claims a few businesses at a time under a lease, evaluates each under the job's two versions on the service's
evaluation threads (`Evaluations.call`: one business at a time, so requests keep getting those threads and the
event loop is never used), writes the results, and finishes the job once the last business is done. Only the claimed
chunk is in memory. Everything it knows is in the database, so a restarted process picks up where it was, and a
killed one's claims are taken over once their lease runs out.

On SQLite one process runs jobs (the one holding a lock file beside the database): SQLite has no row locks to share
work with, and its single writer would make several runners wait on each other anyway.
"""
from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.exc import SQLAlchemyError

from service import ids
from service.engine.evaluate import CompiledRuleSet
from service.errors import ServiceError
from service.evaluation import Evaluations, Limits
from service.impact import comparison
from service.store import impact as store
from service.store import ruleset_versions as versions_store
from service.store.db import Database
from service.versions import Versions

log = logging.getLogger("service.impact")


class Runner:
    def __init__(self, db: Database, versions: Versions, evaluations: Evaluations, limits: Callable[[], Limits],
                 chunk: int = 20, lease_seconds: float = 60.0, poll_seconds: float = 1.0):
        self.db = db
        self.versions = versions
        self.evaluations = evaluations
        self.limits = limits  # read at each business: the settings' bounds (tests narrow them on a running app)
        self.chunk = chunk
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker = f"{socket.gethostname()[:60]}:{os.getpid()}:{ids.assessment_id()[-8:]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._compiled: dict[str, CompiledRuleSet] = {}  # the versions of the jobs in hand, by version
        self._lock_file: IO[str] | None = None
        self.evaluated = 0  # businesses this process evaluated (for tests and logs)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="impact-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was created here: look for work now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the business in hand; hand this process's claims back so others need not wait for the lease."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            store.release(self.db, self.worker)
        except SQLAlchemyError:
            log.warning("could not hand back impact claims at shutdown; they are taken over after their lease")
        self._forget_versions(set())
        if self._lock_file is not None:
            self._lock_file.close()

    # --- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self._may_run() and self._work_once()
            except SQLAlchemyError as exc:
                log.warning("impact runner: database unavailable (%s); retrying", type(exc).__name__)
                worked = False
            except Exception:  # a runner that dies would leave jobs to other processes only: log and go on
                log.exception("impact runner failed; retrying")
                worked = False
            if not worked:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _may_run(self) -> bool:
        """SQLite: only the process holding the lock file beside the database runs jobs."""
        url = self.db.url
        if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
            return True
        if self._lock_file is not None:
            return True
        handle = open(Path(url.removeprefix("sqlite:///") + ".impact.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _work_once(self) -> bool:
        """One chunk of the oldest job with work left; finish the jobs without. Whether anything was evaluated."""
        jobs = store.running(self.db)
        self._forget_versions({v for job in jobs for v in (job.version, job.baseline_version)})
        for job in jobs:
            claimed = store.claim(self.db, job.id, self.worker, self.chunk, self.lease_seconds)
            if not claimed:
                if store.finish(self.db, job.id):
                    log.info("impact job %s done (%s against %s, %d businesses)", job.id, job.version,
                             job.baseline_version, job.total)
                continue
            baseline, candidate = self._version(job.baseline_version), self._version(job.version)
            outcomes = []
            for item in claimed:
                if self._stop.is_set():
                    break  # the rest of the chunk goes back with the claims
                outcomes.append(self.evaluations.call(self._evaluate, baseline, candidate, item))
            written = store.complete(self.db, self.worker, outcomes)
            self.evaluated += len(outcomes)
            if written < len(outcomes):
                log.warning("impact job %s: %d results not written: their lease ran out and another worker took "
                            "them", job.id, len(outcomes) - written)
            return True
        return False

    def _evaluate(self, baseline: CompiledRuleSet, candidate: CompiledRuleSet,
                  item: store.ClaimedItem) -> store.ItemOutcome:
        try:
            result = comparison.compare(baseline, candidate, item.profile, self.limits())
        except ServiceError as exc:  # beyond a bound, past the time budget
            return store.ItemOutcome(item.item_id, None, exc.detail[:500])
        except ValueError as exc:  # the recorded profile no longer validates
            return store.ItemOutcome(item.item_id, None, f"the recorded profile no longer validates: {str(exc)[:400]}")
        return store.ItemOutcome(item.item_id, result)

    # --- the versions of the jobs in hand ---------------------------------------------------------
    def _version(self, version: str) -> CompiledRuleSet:
        compiled = self._compiled.get(version)
        if compiled is None:
            row = versions_store.get(self.db, version)
            if row is None:
                raise RuntimeError(f"impact job names rule-set version {version!r}, which is not stored")
            compiled = self._compiled[version] = self.versions.load(row, "impact").compiled
        return compiled

    def _forget_versions(self, keep: set[str]) -> None:
        for version in [v for v in self._compiled if v not in keep]:
            self._compiled.pop(version).close()
