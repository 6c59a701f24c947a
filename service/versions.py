"""Stored rule-set versions: validate a rule set in full, store it as a new version (audited), compile one.

A version is stored only once `prepare` accepts it (schema, citations, compilation, every rule's examples); the
database keeps its files, digest and validation report, and the audit log who stored or tried to store what.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from service.engine.checks import prepare
from service.engine.evaluate import CompiledRuleSet
from service.errors import ErrorItem, InvalidRuleSet, PayloadTooLarge
from service.rulebase.loading import RuleFiles
from service.rulebase.ruleset import build_ruleset
from service.serving import ServedRuleSet
from service.store import audit
from service.store import ruleset_versions as store
from service.store.db import Database
from service.store.tables import RuleSetVersion


class Versions:
    def __init__(self, db: Database):
        self.db = db

    def validate(self, files: RuleFiles, label: str = "candidate") -> tuple[CompiledRuleSet, dict[str, Any]]:
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

    def load(self, row: RuleSetVersion, activated_by: str) -> ServedRuleSet:
        """Compile a stored version (already validated when stored; its examples are not re-run)."""
        files = RuleFiles(json.loads(row.files))
        try:
            compiled = CompiledRuleSet(build_ruleset(files), row.version)
        except InvalidRuleSet:
            raise
        except Exception as exc:  # reported to the operator: the current version stays
            raise InvalidRuleSet(f"version {row.version} cannot be compiled here",
                                 [ErrorItem(path="", message=str(exc)[:300])]) from exc
        return ServedRuleSet(compiled=compiled, version=row.version, digest=row.digest,
                             loaded_at=dt.datetime.now(dt.UTC), activated_by=activated_by, activated_at=None)
