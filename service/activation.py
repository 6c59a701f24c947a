"""Which version this process serves: activate one (everywhere, through the database), follow the database,
and the start-up modes.

The database decides which version is active (the newest activation row). Each process serves a compiled copy;
`refresh()` makes it follow the database (service/propagation.py calls it on every notification and poll).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from service import metrics
from service.engine.checks import prepare
from service.errors import NotFound, ServiceError
from service.rulebase.loading import from_directory
from service.serving import ServedRuleSet, Serving
from service.store import audit
from service.store import impact as impact_store
from service.store import ruleset_versions as store
from service.store.db import Database
from service.versions import Versions

log = logging.getLogger("service.activation")


class Activation:
    def __init__(self, db: Database, rules_dir: Path, serving: Serving, versions: Versions):
        self.db = db
        self.rules_dir = rules_dir
        self.serving = serving
        self.versions = versions
        self._refresh_lock = threading.Lock()
        self.synced = False  # whether RULES_DIR has been brought into the database by this process
    def activate(self, version: str, actor: str, reason: str | None = None) -> ServedRuleSet:
        """Make `version` active in the database, and serve it here at once.

        Activating a version that was active before is a rollback, and is audited as one."""
        health = self.serving.health
        row = store.get(self.db, version)
        current = store.active(self.db)
        if reason is None:
            reason = "rollback" if row is not None and store.was_active(self.db, version) else "activate"
        if row is None:
            audit.log(self.db, actor=actor, action=reason, outcome="refused", to_version=version,
                      from_version=current.version if current else None, detail={"detail": "no such version"})
            metrics.ACTIVATIONS.labels(reason, "refused").inc()
            raise NotFound(f"no rule-set version {version!r}")
        with self._refresh_lock:  # the follower must not install a version between our commit and install
            try:
                served = self.versions.load(row, actor)
            except ServiceError as exc:
                audit.log(self.db, actor=actor, action=reason, outcome="failed", to_version=version,
                          from_version=current.version if current else None, digest=row.digest,
                          detail={"detail": exc.detail})
                metrics.ACTIVATIONS.labels(reason, "failed").inc()
                raise
            activation = store.activate(self.db, row, actor=actor, reason=reason)
            served.activated_at = activation.activated_at
            self.serving.install(served)
        health.activations[reason] = health.activations.get(reason, 0) + 1
        metrics.ACTIVATIONS.labels(reason, "ok").inc()
        audit.log(self.db, actor=actor, action=reason, outcome="ok", to_version=row.version,
                  from_version=activation.previous_version, digest=row.digest)
        self._feed_changes(row.version, activation.previous_version, actor)
        return served

    def _feed_changes(self, version: str, previous: str | None, actor: str) -> None:
        """The change feed: every business compared old -> new, by an impact job the runners share. The activation
        stands whatever happens here (it is committed); a failure is logged."""
        if previous is None or previous == version:
            return
        try:
            job = impact_store.create(self.db, version, actor, reason="activation", baseline=previous)
        except Exception:
            log.exception("activation of %s: the change-feed job could not be created", version)
            return
        log.info("activation of %s: change-feed job %s over %d businesses", version, job.id, job.total)

    def refresh(self) -> bool:
        """Serve the version the database says is active; True when it changed. A failure keeps the current one."""
        health = self.serving.health
        with self._refresh_lock:
            activation = store.active(self.db)
            if activation is None:
                return False
            current = self.serving.current
            if current is not None and current.version == activation.version:
                return False
            row = store.get(self.db, activation.version)
            if row is None:
                return False
            try:
                served = self.versions.load(row, activation.activated_by)
            except ServiceError as exc:
                health.last_error = f"cannot load version {row.version}: {exc.detail}"
                health.failed_version = row.version
                health.failures += 1
                metrics.LOAD_FAILURES.inc()
                log.error("%s; still serving %s", health.last_error, current.version if current else "nothing")
                return False
            served.activated_at = activation.activated_at
            self.serving.install(served)
            health.last_error = None
            health.failed_version = None
            return True

    def prepare(self, mode: str) -> str | None:
        """Migrate the database and, in `disk` mode or when no version is active, make RULES_DIR the active version
        (stored first if new); the version active now. What start-up does before serving, and what `serve` does
        once in the parent process before the workers start (so they do not race to do it)."""
        self.db.migrate()
        if mode == "disk" or store.active(self.db) is None:
            return self.sync_rules_dir(actor="startup")
        active = store.active(self.db)
        return active.version if active else None

    def start(self, mode: str) -> None:
        """Prepare, then serve the active version. Raises InvalidRuleSet for broken files, and the database's own
        errors when it does not answer."""
        health = self.serving.health
        self.prepare(mode)
        self.refresh()
        if self.serving.current is None:
            self.sync_rules_dir(actor="startup")
            self.refresh()
        health.started = True
        health.database_error = None

    def serve_local(self, reason: str) -> ServedRuleSet:
        """The database is down at start-up: serve RULES_DIR (checked in full) until it answers.

        The version label says the rule set is not stored yet (`local-` and its digest); answers and
        decision-log records name it, and the follower stores and activates the files once it can."""
        files = from_directory(self.rules_dir)
        compiled, _ = prepare(files, f"local-{files.digest.removeprefix('sha256:')[:12]}")
        served = ServedRuleSet(compiled=compiled, version=compiled.version, digest=files.digest,
                               loaded_at=dt.datetime.now(dt.UTC), activated_by="startup (database unreachable)",
                               activated_at=None)
        self.serving.install(served)
        self.serving.health.started = False
        self.serving.health.database_error = reason
        return served

    def sync_rules_dir(self, actor: str = "startup") -> str:
        """Start-up in `disk` mode: activate RULES_DIR when its content changed since it was last loaded from disk.

        An operator's runtime activation survives a restart; editing the files and restarting picks them up.
        Raises when the files are invalid (the service never starts half-loaded)."""
        files = from_directory(self.rules_dir)
        self.synced = True
        current = store.active(self.db)
        from_disk = store.last_from_disk(self.db)
        if current is not None and from_disk is not None and from_disk.digest == files.digest:
            return current.version  # RULES_DIR unchanged: keep whatever is active
        row, _ = self.versions.store(files, actor=actor, action="startup")
        if current is None or current.digest != row.digest:
            self.activate(row.version, actor=actor, reason="startup")
        return row.version

    def reload(self, actor: str) -> ServedRuleSet:
        """Operator: load RULES_DIR from disk as a new version and activate it."""
        files = from_directory(self.rules_dir)
        row, _ = self.versions.store(files, actor=actor, action="reload")
        return self.activate(row.version, actor=actor, reason="reload")
