"""create_app(settings): wiring only."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig
from sqlalchemy.exc import SQLAlchemyError

from service import metrics
from service.activation import Activation
from service.api import idempotency, problems
from service.api.auth import Authenticator, load_tokens
from service.api.batch import BatchRequest
from service.api.limits import BodyLimit
from service.api.observability import RequestContext
from service.api.responses import SUBJECT_HEADER
from service.api.routes import assessments, health, impact, rules, rulesets, schemas, ui
from service.assessments import ComparisonRequest
from service.evaluation import Evaluations, Limits
from service.impact.runner import Runner
from service.impact.webhook import Deliverer
from service.profile.model import Profile
from service.propagation import Follower
from service.serving import Serving
from service.settings import Settings, get_settings
from service.store.db import Database
from service.store.journal import DecisionJournal
from service.versions import Versions

log = logging.getLogger("service")

API_VERSION = "1.0.0"
DESCRIPTION = """Compliance rule engine for telecom, internet and data businesses in China.

Post the facts about a business (licences, services, data, cross-border flows, network
resources, products) and get back the obligations, prohibitions and violations they
trigger, each citing the instrument and the passage it comes from.
"""


def start_serving(settings: Settings, db: Database) -> tuple[Serving, Versions, Activation]:
    """Serve the active rule set. With the database down, serve RULES_DIR (checked in full) until it answers:
    the service starts, /readyz says why, and evaluation answers. Broken rule files stop start-up."""
    serving, versions = Serving(), Versions(db)
    activation = Activation(db, settings.rules_dir, serving, versions)
    try:
        activation.start(settings.ruleset_on_start)
    except (SQLAlchemyError, OSError) as exc:
        reason = f"database unreachable at start-up ({type(exc).__name__})"
        log.error("%s; serving %s until it answers", reason, settings.rules_dir)
        activation.serve_local(reason)
    return serving, versions, activation


def startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    settings.ensure_data_dir()
    db = Database(settings.database_url)
    app.state.db = db
    app.state.serving, app.state.versions, app.state.activation = start_serving(settings, db)
    app.state.journal = DecisionJournal(db, settings.journal_dir(), max_pending=settings.decision_buffer_max)
    app.state.journal.start()
    app.state.idempotency = idempotency.keys_for(db, settings)
    app.state.follower = Follower(app.state.activation, settings.ruleset_poll_seconds, settings.ruleset_on_start)
    app.state.follower.start()
    app.state.ticker = metrics.Ticker(lambda: sample(app))
    app.state.ticker.start()
    app.state.evaluations = Evaluations(settings.evaluation_threads)
    app.state.impact = Runner(db, app.state.versions, app.state.evaluations, lambda: app.state.limits,
                              chunk=settings.impact_chunk, lease_seconds=settings.impact_lease_seconds,
                              poll_seconds=settings.impact_poll_seconds)
    app.state.impact.start()
    app.state.webhook = None
    if settings.change_webhook_url:
        app.state.webhook = Deliverer(
            db, settings.change_webhook_url, settings.change_webhook_secret.get_secret_value(),
            worker=app.state.impact.worker, timeout_seconds=settings.change_webhook_timeout_seconds,
            max_backoff_seconds=settings.change_webhook_max_backoff_seconds,
            poll_seconds=settings.impact_poll_seconds, user_agent=f"compliance-engine/{API_VERSION}")
        app.state.webhook.start()


def sample(app: FastAPI) -> None:
    """The gauges only this process knows: its decision-log queue and whether it reaches the database."""
    journal, health = app.state.journal, app.state.serving.health
    metrics.QUEUE.set(journal.pending)
    metrics.FLUSH_ERRORS.set(journal.flush_errors)
    metrics.WRITE_ERRORS.set(journal.write_errors)
    metrics.DEAD_LETTERS.set(journal.dead_letters)
    metrics.DATABASE_UP.set(0 if health.database_error or journal.last_flush_error else 1)


def shutdown(app: FastAPI) -> None:
    """After uvicorn has drained in-flight requests: flush the decision log, stop following, free the engine."""
    if app.state.webhook is not None:
        app.state.webhook.stop()
    app.state.impact.stop()  # before the evaluation threads it uses
    app.state.evaluations.close()
    app.state.journal.stop()
    app.state.ticker.stop()
    app.state.follower.stop()
    app.state.serving.close()
    app.state.db.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    startup(app)
    try:
        yield
    finally:
        shutdown(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    telemetry: TelemetryConfig | None = None if settings.opentelemetry else {
        "tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(title="Compliance rule engine", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan,
                  telemetry=telemetry)
    app.state.settings = settings
    app.state.limits = Limits.from_settings(settings)
    app.state.authenticator = Authenticator(load_tokens(settings.auth_tokens, settings.auth_tokens_file))
    problems.install(app, body_model_for={"/v1/assessments": Profile, "/v1/assessments/compare": ComparisonRequest,
                                          "/v1/assessments/questions": Profile, "/v1/assessments/batch": BatchRequest})
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       larger={"/v1/rulesets": settings.max_ruleset_bytes,
                               "/v1/assessments/batch": settings.max_batch_bytes})
    if settings.cors_origins:  # off unless origins are configured
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID", idempotency.HEADER],
                           expose_headers=["X-Request-ID", "X-Ruleset-Version", "Location",
                                           SUBJECT_HEADER, idempotency.REPLAYED_HEADER])
    app.add_middleware(RequestContext, access_log=settings.access_log)  # outermost: every answer gets its id
    for router in (assessments.router, rules.router, rulesets.router, impact.router):
        app.include_router(router, responses=problems.COMMON)
    app.include_router(health.router)
    app.include_router(schemas.router)
    app.include_router(ui.router)
    return app
