"""What tests share: the repository's paths, a profile factory, tokens, an application started as its lifespan
starts it, the few reach-ins API tests need beside the HTTP API (the decision log's rows, evaluation limits, a
simulated failure), and small rule sets written inline (with the real catalogue and sources). Fixtures stay in
conftest.py; everything here is plain functions and constants."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import asyncio

    import httpx
    import pytest
    from fastapi import FastAPI
    from sqlmodel import Session

    from service.engine.assessment import Obligation
    from service.engine.evaluate import CompiledRuleSet
    from service.rulebase.sources import Sources
    from service.store.tables import AssessmentRecord

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


def start_app(database_url: str, **settings: Any) -> FastAPI:
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


# --- what the HTTP API does not show -------------------------------------------------------------
# API tests go through the API; these are the only places they reach into the application, each for a reason
# its docstring gives.

@contextlib.contextmanager
def stored(app: FastAPI) -> Iterator[Session]:
    """A session on the application's database once its decision journal has flushed: what was recorded is
    checked in the store itself (no route lists the decision log or shows its rows)."""
    assert app.state.journal.wait_flushed()
    with app.state.db.session() as session:
        yield session


def recorded(app: FastAPI) -> int:
    """How many assessments the application's decision log has recorded."""
    from sqlmodel import func, select

    from service.store.tables import AssessmentRecord

    with stored(app) as session:
        count: int = session.exec(select(func.count()).select_from(AssessmentRecord)).one()
    return count


def record_of(app: FastAPI, assessment_id: str) -> AssessmentRecord | None:
    """The decision log's row for one assessment (the profile as stored, the rule set that answered), or None."""
    from service.store.tables import AssessmentRecord

    with stored(app) as session:
        row: AssessmentRecord | None = session.get(AssessmentRecord, assessment_id)
    return row


@contextlib.contextmanager
def limits(app: FastAPI, **changes: Any) -> Iterator[None]:
    """The application's evaluation limits with `changes`, for the block: bounds small enough to reach in a test,
    on an application that is already running (settings are read once, at start-up)."""
    before = app.state.limits
    app.state.limits = dataclasses.replace(before, **changes)
    try:
        yield
    finally:
        app.state.limits = before


def refuse_evaluations(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the served rule set's engine fail any evaluation: no answer tells a fresh evaluation from a recorded
    one, so a test that a route only reads the decision log breaks the engine under it."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("evaluated where only the decision log should be read")

    monkeypatch.setattr(app.state.serving.current.compiled, "evaluate", refuse)


def refuse_record(app: FastAPI, monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Make the decision journal refuse the `nth` record it is given from now on, as a full journal refuses one
    (503, retry later): filling the real one would take its whole buffer (DECISION_BUFFER_MAX) of slow writes."""
    from service.errors import Unavailable

    journal = app.state.journal
    original: Callable[..., asyncio.Future[None]] = journal.submit
    calls = {"n": 0}

    def submit(record: Any, template: str, loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Future[None]:
        calls["n"] += 1
        if calls["n"] == nth:
            raise Unavailable("the decision log is full; retry later", retry_after=5)
        return original(record, template, loop)

    monkeypatch.setattr(journal, "submit", submit)


# --- the served rule set, as a client sees it and as the repository holds it ----------------------
async def served(client: httpx.AsyncClient) -> dict[str, Any]:
    """The rule set the application serves, as GET /v1/rulesets/active reports it (version, digest, rule_count)."""
    r = await client.get("/v1/rulesets/active", headers=bearer("reader"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def catalogue_ids() -> set[str]:
    """Every instrument id of the repository's catalogue (rules/instruments.yaml), the one the test apps serve."""
    rows = yaml.safe_load((RULES / "instruments.yaml").read_text(encoding="utf-8"))
    return {row["id"] for row in rows}


@functools.cache
def _sources() -> Sources:
    from service.rulebase.sources import Sources

    return Sources({p.name: p.read_text(encoding="utf-8") for p in (RULES / "sources").glob("*.txt")})


def quotes_source(document: str, quote: str) -> bool:
    """True when `quote` stands word for word (white space folded) in rules/sources/`document`, the source
    documents the test apps serve."""
    return _sources().quotes(document, quote)


# --- small rule sets, written inline -------------------------------------------------------------
CITATION = {
    "instrument_id": "miit-2017-internet-access-market-cleanup",
    "provision": "II(I)1(1)",
    "document": "004_b81d122921d22990.txt",
    "quote": "Businesses without permits, i. e. enterprises, without having acquired the corresponding "
             "telecommunication business permits, conducting unauthorized IDC, ISP and CDN businesses in the "
             "jurisdiction.",
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
    exs: dict[str, Any] = {"empty": {}}
    exs.update(examples or {})
    (directory / name).write_text(yaml.dump({"rules": out, "examples": exs}, Dumper=_NoAliases, sort_keys=False),
                                  encoding="utf-8")
    return directory


def compile_rules(directory: Path, rules: list[dict[str, Any]],
                  examples: dict[str, Any] | None = None) -> CompiledRuleSet:
    """Build and compile without running examples (the unit tests check behaviour themselves)."""
    from service.engine.evaluate import CompiledRuleSet
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset

    write_rules(directory, rules, examples)
    return CompiledRuleSet(build_ruleset(from_directory(directory)), "unit")


def fired(compiled: CompiledRuleSet, profile: dict[str, Any]) -> dict[str, Obligation]:
    """rule id -> obligation for the rules a profile triggers."""
    from service.profile.model import Profile

    assessment = compiled.evaluate(Profile.model_validate(profile), "test")
    return {o.rule_id: o for o in assessment.obligations}


def straight_impact(old: Any, new: Any, profiles: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Each business's findings under two compiled rule sets, compared by rule here (not through service.impact),
    which closes both: rule ids added, removed and changed."""
    from service.profile.model import Profile

    out = {}
    try:
        for business, profile in profiles.items():
            model = Profile.model_validate(profile)
            before = {o.rule_id: o.model_dump(mode="json") for o in old.evaluate(model, "x").obligations}
            after = {o.rule_id: o.model_dump(mode="json") for o in new.evaluate(model, "x").obligations}
            out[business] = {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                             "changed": sorted(r for r in set(after) & set(before) if after[r] != before[r])}
    finally:
        old.close()
        new.close()
    return out
