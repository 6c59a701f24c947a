"""What tests share: the repository's paths, a profile factory, tokens, an application started as its lifespan
starts it, a count of recorded assessments, and small rule sets written inline (with the real catalogue and
sources). Fixtures stay in conftest.py; everything here is plain functions and constants."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"

BASE_PROFILE: dict[str, Any] = {
    "as_of": "2020-10-01",
    "business": {
        "name": "Acme Cloud Ltd",
        "registered_region": "CN-BJ",
        "foreign_invested": False,
        "cii_operator": False,
        "negative_credit_record": False,
        "serious_data_incident_last_12_months": False,
        "sectors": ["internet"],
    },
    "licences": [{"type": "IDC", "regions": ["CN-BJ"], "granted": "2011-06-01", "scope": ["idc"]}],
    "services": [{"type": "cloud_computing", "regions": ["CN-BJ", "CN-GD"], "since": "2016-05-01",
                  "attributes": {"users": 2000000}}],
}


def make_profile(**changes: Any) -> dict[str, Any]:
    """The contract's example business with the given top-level parts replaced."""
    profile = copy.deepcopy(BASE_PROFILE)
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    return profile


TOKENS = {
    "operator": "operator-token-0123456789",
    "evaluator": "evaluator-token-0123456789",
    "reader": "reader-token-0123456789ab",
}


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def start_app(database_url: str, **settings: Any):
    import tempfile

    from service.main import create_app, startup
    from service.settings import Settings

    auth = ",".join(f"{token}={role}" for role, token in TOKENS.items())
    settings.setdefault("decision_journal_dir", Path(tempfile.mkdtemp(prefix="journal-")))
    application = create_app(Settings(database_url=database_url, rules_dir=RULES, auth_tokens=auth,
                                      ruleset_poll_seconds=0.2, **settings))
    startup(application)
    return application


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from service.store.db import normalise_url

    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def recorded(app: Any) -> int:
    """How many assessments the application's decision log has recorded (after flushing it)."""
    from sqlmodel import func, select

    from service.store.tables import AssessmentRecord

    assert app.state.journal.wait_flushed()
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(AssessmentRecord)).one()


# --- small rule sets, written inline -------------------------------------------------------------
CITATION = {
    "instrument_id": "miit-2017-internet-access-market-cleanup",
    "provision": "II(I)1(1)",
    "document": "004_b81d122921d22990.txt",
    "quote": "Businesses without permits, i. e. enterprises, without having acquired the corresponding "
             "telecommunication business permits, conducting unauthorized IDC, ISP and CDN businesses in the jurisdiction.",
}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # rule files may not use anchors
        return True


def write_rules(directory: Path, rules: list[dict[str, Any]], examples: dict[str, Any] | None = None,
                name: str = "test.yaml", defaults: bool = True) -> Path:
    """A rules folder: the repository catalogue and sources plus one file with `rules`."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES / "instruments.yaml", directory / "instruments.yaml")
    if not (directory / "sources").exists():
        shutil.copytree(RULES / "sources", directory / "sources")
    out = []
    for rule in rules:
        rule = copy.deepcopy(rule)
        if defaults:
            rule.setdefault("title", f"Test rule {rule['id']}")
            if "derive" not in rule or "kind" in rule:
                rule.setdefault("kind", "obligation")
                rule.setdefault("citations", [CITATION])
            rule.setdefault("examples", {"fires": ["empty"], "quiet": ["empty"]})
        out.append(rule)
    exs = {"empty": {}}
    exs.update(examples or {})
    (directory / name).write_text(yaml.dump({"rules": out, "examples": exs}, Dumper=_NoAliases, sort_keys=False),
                                  encoding="utf-8")
    return directory


def compile_rules(directory: Path, rules: list[dict[str, Any]], examples: dict[str, Any] | None = None):
    """Build and compile without running examples (the unit tests check behaviour themselves)."""
    from service.engine.evaluate import CompiledRuleSet
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset

    write_rules(directory, rules, examples)
    return CompiledRuleSet(build_ruleset(from_directory(directory)), "unit")


def fired(compiled, profile: dict[str, Any]) -> dict[str, Any]:
    """rule id -> obligation for the rules a profile triggers."""
    from service.profile.model import Profile

    assessment = compiled.evaluate(Profile.model_validate(profile), "test")
    return {o.rule_id: o for o in assessment.obligations}
