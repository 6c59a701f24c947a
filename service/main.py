"""create_app(settings): wiring only."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import problems
from service.api.auth import Authenticator, load_tokens
from service.api.limits import BodyLimit
from service.api.routes import assessments, health, rules, rulesets
from service.assessments import ComparisonRequest
from service.batches import BatchRequest
from service.profile.model import Profile
from service.propagation import Follower
from service.rulesets import RuleSets
from service.settings import Settings, get_settings
from service.store.db import Database
from service.store.journal import DecisionJournal

log = logging.getLogger("service")

API_VERSION = "1.0.0"
DESCRIPTION = """Compliance rule engine for telecom, internet and data businesses in China.

Post the facts about a business (licences, services, data, cross-border flows, network
resources, products) and get back the obligations, prohibitions and violations they
trigger, each citing the instrument and the passage it comes from.
"""


def start_rulesets(settings: Settings, db: Database) -> RuleSets:
    """Migrate, then serve the active rule set (loading RULES_DIR first in `disk` mode)."""
    db.migrate()
    rulesets = RuleSets(db, settings.rules_dir)
    if settings.ruleset_on_start == "disk":
        rulesets.sync_rules_dir(actor="startup")
    rulesets.refresh()
    if rulesets.current is None:  # database mode on an empty database
        rulesets.sync_rules_dir(actor="startup")
        rulesets.refresh()
    return rulesets


def startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    settings.ensure_data_dir()
    db = Database(settings.database_url)
    app.state.db = db
    app.state.rulesets = start_rulesets(settings, db)
    app.state.journal = DecisionJournal(db, settings.journal_dir(), max_pending=settings.decision_buffer_max)
    app.state.journal.start()
    app.state.follower = Follower(app.state.rulesets, settings.ruleset_poll_seconds)
    app.state.follower.start()


def shutdown(app: FastAPI) -> None:
    """After uvicorn has drained in-flight requests: flush the decision log, stop following, free the engine."""
    app.state.journal.stop()
    app.state.follower.stop()
    app.state.rulesets.close()
    app.state.db.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI):
    startup(app)
    try:
        yield
    finally:
        shutdown(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    app = FastAPI(title="Compliance rule engine", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.authenticator = Authenticator(load_tokens(settings.auth_tokens, settings.auth_tokens_file))
    problems.install(app, body_model_for={"/v1/assessments": Profile, "/v1/assessments/compare": ComparisonRequest,
                                          "/v1/assessments/questions": Profile, "/v1/assessments/batch": BatchRequest})
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, larger={"/v1/rulesets": settings.max_ruleset_bytes,
                                                                             "/v1/assessments/batch": settings.max_batch_bytes})
    app.include_router(assessments.router)
    app.include_router(rules.router)
    app.include_router(rulesets.router)
    app.include_router(health.router)
    return app
