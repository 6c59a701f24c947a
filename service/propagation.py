"""Following the active rule-set version from every process: the database decides, each process follows.

PostgreSQL wakes the follower at once (LISTEN on the channel the activation NOTIFYs in
the same transaction); a cheap poll of the newest activation row is the fallback, and the
only mechanism on SQLite. A failed load leaves the process on its current version; the
next wake-up retries.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from service.activation import Activation
from service.store.ruleset_versions import NOTIFY_CHANNEL

log = logging.getLogger("service.propagation")


class Follower:
    def __init__(self, activation: Activation, interval: float, mode: str = "database"):
        self.activation = activation
        self.interval = interval
        self.mode = mode  # RULESET_ON_START, to finish a start-up the database missed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = False
        self._listen_failed = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ruleset-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _check(self) -> None:
        serving = self.activation.serving
        health = serving.health
        try:
            if not health.started:  # the database was down at start-up: finish starting once it answers
                self.activation.start(self.mode)
                log.info("database reachable: rule set %s from the database",
                         serving.current.version if serving.current else "none")
            else:
                self.activation.refresh()
            health.database_error = None
        except SQLAlchemyError as exc:
            if health.database_error is None:
                log.warning("database unreachable (%s); serving %s and retrying", type(exc).__name__,
                            serving.current.version if serving.current else "nothing")
            health.database_error = f"database unreachable ({type(exc).__name__})"
        except Exception:  # any failure: a follower that dies would leave the process behind for good
            log.exception("checking the active rule-set version failed; retrying")

    def _run(self) -> None:
        url = self.activation.db.url
        while not self._stop.is_set():
            if url.startswith("postgresql"):
                self._listen(url.replace("postgresql+psycopg://", "postgresql://", 1))
            self._check()
            self._stop.wait(self.interval)

    def _listen(self, url: str) -> None:
        """Wait on LISTEN until stopped or the connection fails; check on every notification and every interval."""
        import psycopg

        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.listening = True
                if self._listen_failed:
                    log.info("LISTEN %s again", NOTIFY_CHANNEL)
                    self._listen_failed = False
                self._check()  # anything activated before we listened
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=self.interval, stop_after=1):
                        pass
                    self._check()
        except Exception as exc:  # any failure: fall back to polling, reconnect later
            if not self._stop.is_set() and not self._listen_failed:  # once per outage, not every interval
                self._listen_failed = True
                log.warning("LISTEN %s unavailable (%s); polling every %.1fs", NOTIFY_CHANNEL, type(exc).__name__,
                            self.interval)
        finally:
            self.listening = False
