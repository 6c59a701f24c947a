"""Every setting the service reads, in one place: environment variables only."""
from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False,
                                      hide_input_in_errors=True)  # tokens and keys stay out of error messages

    host: str = Field("127.0.0.1", description="Address uvicorn binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port uvicorn listens on.")
    workers: int = Field(1, ge=1, le=64, description="Number of uvicorn worker processes.")
    database_url: str = Field(
        f"sqlite:///{REPO_ROOT / 'data' / 'compliance.db'}",
        description="Any SQLAlchemy URL: the embedded SQLite file by default, or postgresql+psycopg://...",
    )
    rules_dir: Path = Field(REPO_ROOT / "rules", description="Folder of rule files loaded at start-up and by reload.")
    ruleset_on_start: Literal["disk", "database"] = Field(
        "disk",
        description="disk: at start-up, activate RULES_DIR when its files changed since they were last loaded from "
        "disk (a version an operator activated at runtime survives a restart otherwise). "
        "database: serve the version active in the database; load RULES_DIR only when none is active.",
    )
    max_body_bytes: int = Field(1024 * 1024, description="Largest request body accepted (413 beyond).")
    max_list_items: int = Field(200, ge=1, description="Largest number of items in any list of a profile.")
    max_profile_facts: int = Field(
        250, ge=1, description="Largest number of service and licence facts a profile may expand to (a service: one "
        "per region; a licence: one per region and service type in scope). The engine's joins between them grow much "
        "faster than the profile: at 250 the worst evaluation measured took about 2 s and 250 MB; the largest real "
        "profile seen expands to 25.")
    max_rule_firings: int = Field(
        100_000, ge=1, description="Most rule firings one evaluation may take; a profile beyond it is refused (422). "
        "What passes MAX_PROFILE_FACTS stays well within it.")
    max_request_work: int = Field(
        200_000, ge=1, description="Most work all the evaluations of one request may take together (the items of a "
        "batch; the profile times the evaluations questions makes), where one evaluation's work is its service facts "
        "times its licence facts plus both (about 10 to 30 microseconds a unit): a request beyond it is refused up "
        "front (422) with the bound and how to stay inside it.")
    evaluation_timeout_ms: int = Field(
        10_000, ge=1, le=600_000, description="Wall-clock budget of one request's evaluations: past it the engine "
        "stops at its next firing, the request is answered 503 (Retry-After) and nothing is recorded (in a batch, the "
        "items not yet evaluated get 503 each).")
    evaluation_threads: int = Field(
        2, ge=1, le=64, description="Threads per worker process that evaluate profiles beside the event loop, which "
        "keeps answering health checks, metrics and reads meanwhile. More threads do not evaluate faster (the "
        "engine holds the GIL); they let a cheap evaluation start while expensive ones run.")
    log_level: str = Field("info", description="Python log level.")
    log_format: Literal["json", "text"] = Field("json", description="json: one JSON object per line; text: plain.")
    access_log: bool = Field(
        True, description="One log line per request (method, route, status, duration, request id).")
    opentelemetry: bool = Field(
        False, description="FastAPI's own OpenTelemetry spans, metrics and logs for each request, sent to the "
        "providers configured in the process (off: the service reports through /metrics and its JSON logs, and each "
        "request is spared FastAPI's look for a provider).")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (none by default: CORS off).")
    auth_tokens: str = Field(
        "", description="Bearer tokens as comma-separated token=role pairs; roles: reader, evaluator, operator.")
    auth_tokens_file: Path | None = Field(None, description="A file of token=role lines (read at start-up).")
    require_token_for_evaluation: bool = Field(
        False, description="Whether POST /v1/assessments and /compare need an evaluator token.")
    require_token_for_reading: bool = Field(
        False,
        description="Whether the GET endpoints (assessments, rules, instruments, rule sets) need a reader token.")
    ruleset_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often each process checks which rule-set version is active "
        "(PostgreSQL also notifies at once).")
    impact_chunk: int = Field(
        20, ge=1, le=1000, description="Businesses a process claims at once from a portfolio impact job (the work "
        "shared by every process and replica through the database).")
    impact_lease_seconds: float = Field(
        60.0, gt=0, le=3600, description="How long a process holds the businesses it claimed from an impact job: "
        "if it dies, another takes them over once the lease runs out.")
    impact_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often an idle process looks for impact work (a job created on the "
        "process itself starts at once), and for change events to send to the webhook.")
    change_webhook_url: str = Field(
        "", description="Where the change feed is pushed as it grows (an http or https URL; empty: no webhook). Each "
        "request is a batch of events signed as Standard Webhooks prescribe; one process of all sends at a time.")
    change_webhook_secret: SecretStr = Field(
        SecretStr(""), description="The webhook's signing key, as Standard Webhooks write it: whsec_ and base64 of 24 "
        "to 64 random bytes (`compliance-engine webhook-secret` makes one). Required with CHANGE_WEBHOOK_URL.")
    change_webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="How long the webhook's receiver has to answer a batch.")
    change_webhook_max_backoff_seconds: float = Field(
        300.0, ge=1, le=86_400, description="The longest pause between attempts at a batch the receiver did not "
        "accept (the pause doubles from one second up to it; the batch is retried until accepted).")
    max_ruleset_bytes: int = Field(10 * 1024 * 1024, description="Largest rule-set upload accepted.")
    max_batch_bytes: int = Field(
        32 * 1024 * 1024, description="Largest body of POST /v1/assessments/batch (413 beyond).")
    decision_journal_dir: Path | None = Field(
        None, description="Where each process journals assessments (fsync'ed) before they reach the database "
        "(default: a journal folder beside an SQLite file, else data/journal in the repository).")
    idempotency_retention_hours: float = Field(
        24.0, gt=0, le=24 * 365, description="How long an Idempotency-Key holds after its first use on POST "
        "/v1/assessments or /batch: within it a retry with the key replays the first answer; after it the key counts "
        "as new (expired keys are purged).")
    decision_buffer_max: int = Field(
        10_000, ge=1, description="Assessments held in the journal while the database is unreachable; "
        "beyond it, recording requests get 503.")

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        """A webhook is configured whole, or not at all."""
        if self.change_webhook_url:
            problem = webhook_url_problem(self.change_webhook_url)
            if problem:
                raise ValueError(f"CHANGE_WEBHOOK_URL: {problem}")
            problem = webhook_secret_problem(self.change_webhook_secret.get_secret_value())
            if problem:
                raise ValueError(f"CHANGE_WEBHOOK_SECRET: {problem}")
        return self

    def journal_dir(self) -> Path:
        if self.decision_journal_dir is not None:
            return self.decision_journal_dir
        if self.database_url.startswith("sqlite:///") and self.database_url != "sqlite:///:memory:":
            return Path(self.database_url.removeprefix("sqlite:///")).parent / "journal"
        return REPO_ROOT / "data" / "journal"

    def metrics_dir(self) -> Path:
        """Where the worker processes of one server keep their metric files: memory-backed /dev/shm when it
        can be used (prometheus-client writes through mmap, and a write into a sparse page of a full disk kills
        the process with SIGBUS; /dev/shm is also writable under a read-only root file system), else beside the
        journal. One folder per user (a shared /dev/shm) and per server process."""
        shm = Path("/dev/shm") / f"compliance-metrics-{os.getuid()}"
        try:
            shm.mkdir(mode=0o700, exist_ok=True)
            base = shm if os.access(shm, os.W_OK) else self.journal_dir().parent / "metrics"
        except OSError:
            base = self.journal_dir().parent / "metrics"
        return base / str(os.getpid())

    def ensure_data_dir(self) -> None:
        """Create the folder of an embedded SQLite file so a fresh checkout starts without set-up."""
        if self.database_url.startswith("sqlite:///"):
            path = Path(self.database_url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)


WEBHOOK_SECRET_PREFIX = "whsec_"


def webhook_url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL, or None."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http or https URL with a host (got scheme {parts.scheme[:20]!r})"
    return None


def webhook_secret_problem(secret: str) -> str | None:
    """What is wrong with a webhook signing key, or None."""
    expected = (f"expected {WEBHOOK_SECRET_PREFIX} and base64 of 24 to 64 random bytes (`compliance-engine "
                "webhook-secret` makes one)")
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return f"required with CHANGE_WEBHOOK_URL; {expected}"
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return f"not base64; {expected}"
    if not 24 <= len(key) <= 64:
        return f"{len(key)} bytes; {expected}"
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
