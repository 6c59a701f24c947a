"""Rule sets at runtime: validate and store versions, activate one, and follow the active one.

The database decides which version is active (the newest activation row). Each process
serves a compiled copy; `refresh()` makes it follow the database. Requests take a *lease*
on the compiled rule set they start with, so a swap never changes a request midway and a
retired rule set is freed from durable-rules only when its last request has finished.
"""
from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from service.answers import AnswerCache
from service import metrics
from service.engine.checks import prepare
from service.engine.assessment import RuleSetRef
from service.engine.evaluate import CompiledRuleSet
from service import evaluation
from service.errors import (ErrorItem, EvaluationTimeout, InvalidRuleSet, NotFound, PayloadTooLarge, ProfileTooLarge,
                            ServiceError, Unavailable)
from service.evaluation import Limits
from service.rulebase.loading import RuleFiles, from_directory
from service.rulebase.ruleset import build_ruleset
from service.store import audit
from service.store import rulesets as store
from service.store.db import Database
from service.store.tables import RuleSetVersion

log = logging.getLogger("service.rulesets")
ANSWER_CACHE_BYTES = 64 * 1024 * 1024  # per served version: identical evaluations reuse the answer


def settle_heap() -> None:
    """Collect, then freeze what is left (the rule set just loaded, the app) out of the collector's way.

    Without it every full collection rescans the compiled rule base and evaluation p99 is 4x its
    median; unfreezing first lets a retired rule set's objects be freed.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@dataclass
class ServedRuleSet:
    """A compiled rule set and what an operator needs to know about it."""

    compiled: CompiledRuleSet
    version: str
    digest: str
    loaded_at: dt.datetime
    activated_by: str
    activated_at: dt.datetime | None
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(ANSWER_CACHE_BYTES))
    leases: int = 0
    retired: bool = False

    @property
    def rule_count(self) -> int:
        return self.compiled.rule_count

    @property
    def ref(self) -> RuleSetRef:
        return RuleSetRef(version=self.version, digest=self.digest)


@dataclass
class Health:
    last_error: str | None = None
    failed_version: str | None = None
    failures: int = 0
    activations: dict[str, int] = field(default_factory=dict)
    database_error: str | None = None  # set while the database does not answer
    started: bool = True  # False while serving RULES_DIR locally because the database was down at start-up


class RuleSets:
    def __init__(self, db: Database, rules_dir: Path):
        self.db = db
        self.rules_dir = rules_dir
        self._current: ServedRuleSet | None = None
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self.health = Health()

    # --- serving -------------------------------------------------------------------------------
    @property
    def current(self) -> ServedRuleSet | None:
        return self._current

    @contextmanager
    def lease(self) -> Iterator[ServedRuleSet]:
        """The active compiled rule set, kept alive (and unchanged) for the duration of the block."""
        with self._lock:
            loaded = self._current
            if loaded is None:
                raise Unavailable("no rule set is loaded yet")
            loaded.leases += 1
        try:
            yield loaded
        finally:
            with self._lock:
                loaded.leases -= 1
                release = loaded.retired and loaded.leases == 0
            if release:
                loaded.compiled.close()

    def _install(self, loaded: ServedRuleSet) -> None:
        with self._lock:
            old, self._current = self._current, loaded
            release = old is not None and old is not loaded and old.leases == 0
            if old is not None and old is not loaded:
                old.retired = True
        if release:
            old.compiled.close()
        metrics.set_active(loaded.version, loaded.digest)
        settle_heap()
        log.info("serving rule set %s (%s, %d rules)", loaded.version, loaded.digest[:19], loaded.rule_count)

    def close(self) -> None:
        with self._lock:
            loaded, self._current = self._current, None
        if loaded is not None:
            loaded.retired = True
            if loaded.leases == 0:
                loaded.compiled.close()

    # --- versions ------------------------------------------------------------------------------
    def validate(self, files: RuleFiles, label: str = "candidate") -> tuple[CompiledRuleSet, dict]:
        compiled, report = prepare(files, label)
        return compiled, report.as_dict()

    def store(self, files: RuleFiles, actor: str, action: str = "upload") -> tuple[RuleSetVersion, bool]:
        """Validate in full, then store as a candidate version (not active). Refusals are audited."""
        existing = store.find_by_digest(self.db, files.digest)
        if existing is not None:
            audit.log(self.db, actor=actor, action=action, outcome="unchanged", to_version=existing.version,
                      digest=existing.digest)
            return existing, False
        try:
            compiled, report = self.validate(files)
        except (InvalidRuleSet, PayloadTooLarge) as exc:
            audit.log(self.db, actor=actor, action=action, outcome="refused", digest=files.digest,
                      detail={"detail": exc.detail, "errors": [e.as_dict() for e in exc.errors[:50]]})
            raise
        compiled.close()
        row, created = store.store(self.db, files=files.files, digest=files.digest,
                                   rule_count=report["rules"], report=report, actor=actor)
        audit.log(self.db, actor=actor, action=action, outcome="stored" if created else "unchanged",
                  to_version=row.version, digest=row.digest, detail={"rules": report["rules"]})
        return row, created

    def activate(self, version: str, actor: str, reason: str | None = None) -> ServedRuleSet:
        """Make `version` active in the database, and serve it here at once.

        Activating a version that was active before is a rollback, and is audited as one."""
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
                loaded = self._load(row, actor)
            except ServiceError as exc:
                audit.log(self.db, actor=actor, action=reason, outcome="failed", to_version=version,
                          from_version=current.version if current else None, digest=row.digest,
                          detail={"detail": exc.detail})
                metrics.ACTIVATIONS.labels(reason, "failed").inc()
                raise
            activation = store.activate(self.db, row, actor=actor, reason=reason)
            loaded.activated_at = activation.activated_at
            self._install(loaded)
        self.health.activations[reason] = self.health.activations.get(reason, 0) + 1
        metrics.ACTIVATIONS.labels(reason, "ok").inc()
        audit.log(self.db, actor=actor, action=reason, outcome="ok", to_version=row.version,
                  from_version=activation.previous_version, digest=row.digest)
        return loaded

    def preview(self, version: str, limit: int, limits: Limits) -> dict:
        """Re-evaluate the last `limit` recorded assessments under `version`: what would appear and disappear. Each
        profile goes through the evaluation path's bounds, all of them within one request's time budget."""
        from service.profile.model import Profile
        from service.store import decisions

        row = store.get(self.db, version)
        if row is None:
            raise NotFound(f"no rule-set version {version!r}")
        candidate = self._load(row, "preview")
        items, appearing, disappearing = [], {}, {}
        budget = limits.budget()
        try:
            for record, body in decisions.latest(self.db, limit):
                before = {o["rule_id"]: o["kind"] for o in json.loads(body)["obligations"]}
                item = {"assessment_id": record.id, "as_of": record.as_of.isoformat(),
                        "recorded_version": record.ruleset_version}
                try:
                    profile = Profile.model_validate_json(record.profile)
                except ValueError as exc:
                    items.append({**item, "error": f"the recorded profile no longer validates: {str(exc)[:200]}"})
                    continue
                try:
                    evaluation.size(profile, limits)
                    found = evaluation.assessment(candidate.compiled, profile, budget, horizon_days=0)
                except ProfileTooLarge as exc:
                    items.append({**item, "error": f"the recorded profile cannot be evaluated under this version: {exc.detail}"})
                    continue
                except EvaluationTimeout:
                    items.append({**item, "error": "not re-evaluated: the preview ran past its time budget (EVALUATION_TIMEOUT_MS)"})
                    continue
                after = {o.rule_id: o.kind for o in found.obligations}
                appear = sorted(set(after) - set(before))
                disappear = sorted(set(before) - set(after))
                kind_changes = {r: {"from": before[r], "to": after[r]} for r in sorted(set(before) & set(after))
                                if before[r] != after[r]}
                for r in appear:
                    appearing[r] = appearing.get(r, 0) + 1
                for r in disappear:
                    disappearing[r] = disappearing.get(r, 0) + 1
                items.append({**item, "appear": appear, "disappear": disappear, "kind_changes": kind_changes})
        finally:
            candidate.compiled.close()
        changed = sum(1 for i in items if i.get("appear") or i.get("disappear") or i.get("kind_changes"))
        current = self._current
        return {
            "version": row.version, "digest": row.digest,
            "compared_with_active": current.version if current else None,
            "assessments": len(items), "changed": changed,
            "rules_appearing": dict(sorted(appearing.items())), "rules_disappearing": dict(sorted(disappearing.items())),
            "items": items,
        }

    def _load(self, row: RuleSetVersion, activated_by: str) -> ServedRuleSet:
        """Compile a stored version (already validated when stored; its examples are not re-run)."""
        files = RuleFiles(json.loads(row.files))
        try:
            compiled = CompiledRuleSet(build_ruleset(files), row.version)
        except InvalidRuleSet:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the operator, the current version stays
            raise InvalidRuleSet(f"version {row.version} cannot be compiled here",
                                 [ErrorItem(path="", message=str(exc)[:300])]) from exc
        return ServedRuleSet(compiled=compiled, version=row.version, digest=row.digest,
                      loaded_at=dt.datetime.now(dt.UTC), activated_by=activated_by, activated_at=None)

    # --- following the database ----------------------------------------------------------------
    def refresh(self) -> bool:
        """Serve the version the database says is active; True when it changed. A failure keeps the current one."""
        with self._refresh_lock:
            activation = store.active(self.db)
            if activation is None:
                return False
            current = self._current
            if current is not None and current.version == activation.version:
                return False
            row = store.get(self.db, activation.version)
            if row is None:
                return False
            try:
                loaded = self._load(row, activation.activated_by)
            except ServiceError as exc:
                self.health.last_error = f"cannot load version {row.version}: {exc.detail}"
                self.health.failed_version = row.version
                self.health.failures += 1
                metrics.LOAD_FAILURES.inc()
                log.error("%s; still serving %s", self.health.last_error, current.version if current else "nothing")
                return False
            loaded.activated_at = activation.activated_at
            self._install(loaded)
            self.health.last_error = None
            self.health.failed_version = None
            return True

    def start(self, mode: str) -> None:
        """Migrate, then serve the active version (loading RULES_DIR first in `disk` mode, or when none is active).
        Raises InvalidRuleSet for broken files, and the database's own errors when it does not answer."""
        self.db.migrate()
        if mode == "disk":
            self.sync_rules_dir(actor="startup")
        self.refresh()
        if self._current is None or not self.health.started and store.active(self.db) is None:
            self.sync_rules_dir(actor="startup")
            self.refresh()
        self.health.started = True
        self.health.database_error = None

    def serve_local(self, reason: str) -> ServedRuleSet:
        """The database is down at start-up: serve RULES_DIR (checked in full) until it answers.

        The version label says the rule set is not stored yet (`local-` and its digest); answers and
        decision-log records name it, and the follower stores and activates the files once it can."""
        files = from_directory(self.rules_dir)
        compiled, _ = prepare(files, f"local-{files.digest.removeprefix('sha256:')[:12]}")
        loaded = ServedRuleSet(compiled=compiled, version=compiled.version, digest=files.digest,
                        loaded_at=dt.datetime.now(dt.UTC), activated_by="startup (database unreachable)",
                        activated_at=None)
        self._install(loaded)
        self.health.started = False
        self.health.database_error = reason
        return loaded

    def sync_rules_dir(self, actor: str = "startup") -> str:
        """Start-up in `disk` mode: activate RULES_DIR when its content changed since it was last loaded from disk.

        An operator's runtime activation survives a restart; editing the files and restarting picks them up.
        Raises when the files are invalid (the service never starts half-loaded)."""
        files = from_directory(self.rules_dir)
        current = store.active(self.db)
        from_disk = store.last_from_disk(self.db)
        if current is not None and from_disk is not None and from_disk.digest == files.digest:
            return current.version  # RULES_DIR unchanged: keep whatever is active
        row, _ = self.store(files, actor=actor, action="startup")
        if current is None or current.digest != row.digest:
            self.activate(row.version, actor=actor, reason="startup")
        return row.version

    def reload(self, actor: str) -> ServedRuleSet:
        """Operator: load RULES_DIR from disk as a new version and activate it."""
        files = from_directory(self.rules_dir)
        row, _ = self.store(files, actor=actor, action="reload")
        return self.activate(row.version, actor=actor, reason="reload")
