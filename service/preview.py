"""The operators' preview: the last recorded assessments re-evaluated under a stored version, before activating
it: which rules would appear, disappear or change kind for each.

Each recorded profile goes through the evaluation path's bounds, all of them within one request's time budget;
a profile that cannot be evaluated is reported in its own item.
"""
from __future__ import annotations

import json
from typing import Any

from service import changes, evaluation
from service.errors import EvaluationTimeout, NotFound, ProfileTooLarge
from service.evaluation import Limits
from service.profile.model import Profile
from service.serving import Serving
from service.store import decisions
from service.store import ruleset_versions as store
from service.store.db import Database
from service.versions import Versions


def preview(db: Database, versions: Versions, serving: Serving, version: str, limit: int,
            limits: Limits) -> dict[str, Any]:
    """Re-evaluate the last `limit` recorded assessments under `version`."""
    row = store.get(db, version)
    if row is None:
        raise NotFound(f"no rule-set version {version!r}")
    candidate = versions.load(row, "preview")
    items: list[dict[str, Any]] = []
    appearing: dict[str, int] = {}
    disappearing: dict[str, int] = {}
    budget = limits.budget()
    try:
        for record, body in decisions.latest(db, limit):
            before = {o["rule_id"]: o["kind"] for o in json.loads(body)["obligations"]}
            item: dict[str, Any] = {"assessment_id": record.id, "as_of": record.as_of.isoformat(),
                                    "recorded_version": record.ruleset_version}
            try:
                profile = Profile.model_validate_json(record.profile)
            except ValueError as exc:
                items.append({**item, "error": f"the recorded profile no longer validates: {str(exc)[:200]}"})
                continue
            try:
                evaluation.size(profile, limits)
                found = evaluation.write_up(candidate.compiled, profile, budget, horizon_days=0)
            except ProfileTooLarge as exc:
                items.append({**item, "error": "the recorded profile cannot be evaluated under this version: "
                                               f"{exc.detail}"})
                continue
            except EvaluationTimeout:
                items.append({**item, "error": "not re-evaluated: the preview ran past its time budget "
                                               "(EVALUATION_TIMEOUT_MS)"})
                continue
            after = {o["rule_id"]: o["kind"] for o in found["obligations"]}
            diff = changes.between(before, after)
            for rule in diff.added:
                appearing[rule] = appearing.get(rule, 0) + 1
            for rule in diff.removed:
                disappearing[rule] = disappearing.get(rule, 0) + 1
            kind_changes = {rule: {"from": before[rule], "to": after[rule]} for rule in sorted(diff.changed)}
            items.append({**item, "appear": sorted(diff.added), "disappear": sorted(diff.removed),
                          "kind_changes": kind_changes})
    finally:
        candidate.compiled.close()
    changed = sum(1 for i in items if i.get("appear") or i.get("disappear") or i.get("kind_changes"))
    current = serving.current
    return {
        "version": row.version, "digest": row.digest,
        "compared_with_active": current.version if current else None,
        "assessments": len(items), "changed": changed,
        "rules_appearing": dict(sorted(appearing.items())), "rules_disappearing": dict(sorted(disappearing.items())),
        "items": items,
    }
