"""compliance-engine: serve the API, check a rule folder, evaluate a profile from the command line."""
from __future__ import annotations

import faulthandler
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from service.evaluation import DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS
from service.operator_cli import app as rulesets_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Compliance rule engine: cited obligations for telecom, internet and data businesses in China.")
app.add_typer(rulesets_app, name="rulesets")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (env HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes (env WORKERS).")] = None,
) -> None:
    """Run the HTTP API. RULES_DIR is checked and activated first: a broken rule file stops start-up."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from service import logs
    from service.activation import Activation
    from service.engine.checks import prepare
    from service.errors import InvalidRuleSet, PayloadTooLarge
    from service.rulebase.loading import from_directory
    from service.serving import Serving
    from service.settings import get_settings
    from service.store.db import Database
    from service.versions import Versions

    try:
        settings = get_settings()
    except ValidationError as exc:  # a setting out of bounds: say which, without a traceback
        _fail(f"refusing to start: {exc}")
    settings.ensure_data_dir()
    log_config = logs.configure(settings.log_level, settings.log_format)
    log = logging.getLogger("service.cli")  # start-up speaks in the same (JSON) log lines as the workers

    def refuse(error: Exception) -> None:
        log.error("refusing to start: %s", error)
        raise typer.Exit(1)

    db = Database(settings.database_url)
    try:
        # the application's own start-up, up to serving: migrate, and make RULES_DIR active when it should be
        activation = Activation(db, settings.rules_dir, Serving(), Versions(db))
        version = activation.prepare(settings.ruleset_on_start)
        if activation.synced:
            log.info("rule set %s from %s is active", version, settings.rules_dir)
        # the workers serve what the database says is active; the parent has just made it so
        os.environ["RULESET_ON_START"] = "database"
    except (InvalidRuleSet, PayloadTooLarge) as exc:
        refuse(exc)
    except SQLAlchemyError as exc:
        # the database is down: still refuse broken rules, then let the workers serve RULES_DIR until it answers
        try:
            compiled, _ = prepare(from_directory(settings.rules_dir), "check")
            compiled.close()
        except (InvalidRuleSet, PayloadTooLarge) as invalid:
            refuse(invalid)
        log.warning("database unreachable (%s); serving %s until it answers", type(exc).__name__, settings.rules_dir)
    finally:
        db.dispose()
    # metrics from every worker process, aggregated at /metrics (a fresh folder per server)
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(_fresh_metrics_dir(settings.metrics_dir()))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # a fatal error in a C extension (durable-rules' core) leaves every thread's Python stack in the log, here and in
    # each worker process (they inherit the environment variable)
    os.environ["PYTHONFAULTHANDLER"] = "1"
    faulthandler.enable()
    uvicorn.run(
        "service.main:create_app", factory=True,
        host=host or settings.host, port=port or settings.port, workers=workers or settings.workers,
        log_level=settings.log_level.lower(), log_config=log_config, access_log=False, timeout_graceful_shutdown=20,
    )


def _fresh_metrics_dir(path: Path) -> Path:
    """`path` (named by this server's pid), after removing the folders of servers no longer running."""
    if path.parent.is_dir():
        for old in path.parent.iterdir():
            if old.name.isdigit() and old != path and not _alive(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@app.command("webhook-secret")
def webhook_secret() -> None:
    """Print a new signing key for the change webhook (CHANGE_WEBHOOK_SECRET): whsec_ and base64 of 32 random bytes,
    as Standard Webhooks write it. Give the same key to the receiver."""
    import base64
    import secrets

    from service.settings import WEBHOOK_SECRET_PREFIX

    typer.echo(WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii"))


@app.command()
def check(rules_dir: Annotated[Path, typer.Argument(help="A folder of rule files (like rules/).")]) -> None:
    """Validate RULES_DIR, compile it, and run every rule's examples."""
    from service.engine.checks import prepare
    from service.errors import InvalidRuleSet, PayloadTooLarge
    from service.rulebase.loading import from_directory

    try:
        files = from_directory(rules_dir)
        compiled, report = prepare(files, "check")
    except (InvalidRuleSet, PayloadTooLarge) as exc:
        _fail(str(exc))
    kinds: dict[str, int] = {}
    for spec in compiled.ruleset.rules:
        key = spec.rule.kind.value if spec.rule.kind else "derives only"
        kinds[key] = kinds.get(key, 0) + 1
    typer.echo(f"{rules_dir}: {report.rules} rules ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
               f"{len(compiled.ruleset.catalogue)} instruments, {report.examples} example profiles, "
               f"{report.checks} example checks passed")
    typer.echo(f"digest {files.digest}; {len(compiled.shards)} engine ruleset(s)")
    compiled.close()


@app.command("eval")
def evaluate(
    profile_path: Annotated[Path, typer.Argument(metavar="PROFILE.json",
                                                 help="A business profile (JSON); - for stdin.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Apply the law as of this date (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON.")] = False,
    rules_dir: Annotated[Path | None, typer.Option(help="Rule folder (default: RULES_DIR).")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=0, max=MAX_HORIZON_DAYS,
                                              help="Also list duties starting, and deadlines falling, this many days "
                                                   "past as_of.")] = DEFAULT_HORIZON_DAYS,
) -> None:
    """Evaluate one profile against a rule folder, without a server or database."""
    from pydantic import ValidationError

    from service import evaluation
    from service.engine.assessment import Assessment, dump
    from service.engine.checks import prepare
    from service.errors import InvalidRuleSet, ServiceError, from_pydantic
    from service.ids import assessment_id
    from service.profile.model import Profile
    from service.rulebase.loading import from_directory
    from service.settings import get_settings

    text = sys.stdin.read() if str(profile_path) == "-" else profile_path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        if as_of:
            data["as_of"] = as_of
        profile = Profile.model_validate(data)
    except json.JSONDecodeError as exc:
        _fail(f"{profile_path}: not JSON: {exc}")
    except ValidationError as exc:
        _fail("\n".join(f"{e.path}: {e.message}" for e in from_pydantic(exc.errors(), Profile)))
    try:
        compiled, _ = prepare(from_directory(rules_dir or get_settings().rules_dir), "local")
    except InvalidRuleSet as exc:
        _fail(str(exc))
    limits = evaluation.Limits.from_settings(get_settings())
    try:  # the service's own bounds and time budget
        evaluation.size(profile, limits)
        answer_data = evaluation.write_up(compiled, profile, limits.budget(), horizon_days,
                                          assessment_id=assessment_id())
    except ServiceError as exc:
        _fail(str(exc))
    finally:
        compiled.close()
    assessment = Assessment.model_validate_json(dump(answer_data))
    if as_json:
        typer.echo(assessment.model_dump_json(indent=2))
        return
    typer.echo(f"as of {assessment.as_of}: {len(assessment.obligations)} finding(s)")
    for o in assessment.obligations:
        deadline = f" (deadline {o.deadline}{', passed' if o.overdue else ''})" if o.deadline else ""
        typer.echo(f"\n[{o.kind.upper()}, {o.severity}] {o.title}{deadline}\n  rule {o.rule_id}")
        if o.explanation:
            typer.echo(f"  {o.explanation}")
        for reason in o.because:
            typer.echo(f"  because {reason}")
        for c in o.citations:
            issued = f", {c.issued}" if c.issued else ""
            typer.echo(f"  cites {c.title} ({c.issuer}{issued}) {c.provision or ''} [{c.legal_status}]")
            typer.echo(f"    \"{c.source.quote}\"")
    if assessment.upcoming:
        typer.echo(f"\nstarting within {horizon_days} days:")
        for u in assessment.upcoming:
            duty = u.obligation
            typer.echo(f"  {u.starts} [{duty.kind}, {duty.severity}] {duty.title} ({duty.rule_id})")
    if assessment.deadlines:
        typer.echo(f"\ndeadlines within {horizon_days} days:")
        for d in assessment.deadlines:
            typer.echo(f"  {d.date} [{d.kind}, {d.severity}] {d.title} ({d.rule_id})")


@app.command()
def schemas(
    check_only: Annotated[bool, typer.Option("--check", help="Fail if schemas/ differs from the code.")] = False,
) -> None:
    """Write the JSON Schemas of the profile, assessment and rule files into schemas/."""
    from service import schemas as generated

    if check_only:
        stale = generated.drift()
        if stale:
            _fail(f"schemas out of date: {', '.join(stale)} (run: compliance-engine schemas)")
        typer.echo("schemas are current")
        return
    for path in generated.write():
        typer.echo(f"wrote {path}")


@app.command("rulebase-doc")
def rulebase_doc(
    rules_dir: Annotated[Path | None, typer.Option(help="Rule folder (default: RULES_DIR).")] = None,
    check_only: Annotated[bool, typer.Option("--check", help="Fail if docs/rulebase.md is out of date.")] = False,
) -> None:
    """Write docs/rulebase.md: instruments, their rules and kinds, and the instruments without business duties."""
    from service.errors import InvalidRuleSet
    from service.rulebase.document import DOC_PATH, render
    from service.rulebase.loading import from_directory
    from service.rulebase.ruleset import build_ruleset
    from service.settings import get_settings

    try:
        text = render(build_ruleset(from_directory(rules_dir or get_settings().rules_dir)))
    except InvalidRuleSet as exc:
        _fail(str(exc))
    if check_only:
        if not DOC_PATH.exists() or DOC_PATH.read_text(encoding="utf-8") != text:
            _fail("docs/rulebase.md is out of date (run: compliance-engine rulebase-doc)")
        typer.echo("docs/rulebase.md is current")
        return
    DOC_PATH.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {DOC_PATH}")


db_app = typer.Typer(no_args_is_help=True, help="The database named by DATABASE_URL: schema migrations (Alembic).")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every schema migration to DATABASE_URL (`serve` also does this at start-up; safe to run concurrently)."""
    from sqlalchemy.engine import make_url

    from service.settings import get_settings
    from service.store.db import migrate, normalise_url, revisions

    settings = get_settings()
    settings.ensure_data_dir()
    url = normalise_url(settings.database_url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        before, _ = revisions(url)
        migrate(url)
        after, head = revisions(url)
    except Exception as exc:  # any failure: a command-line report, not a traceback
        _fail(f"cannot migrate {shown}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if after != head:
        _fail(f"{shown} is at revision {after}, expected {head}")
    typer.echo(f"{shown}: schema at revision {after} (head)"
               + (f", upgraded from {before or 'an empty database'}" if before != after else ", already current"))


if __name__ == "__main__":  # pragma: no cover
    app()
