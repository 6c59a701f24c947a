"""compliance-engine rulesets ...: the operator's commands for a running server (upload, list, preview, activate,
rollback, reload, audit), made with the Python client (`service/client/`)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from service.client import ComplianceClient

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Operate rule sets on a running server (needs an operator token for changes).")

Url = Annotated[str, typer.Option("--url", envvar="COMPLIANCE_URL", help="The server (env COMPLIANCE_URL).")]
Token = Annotated[str | None, typer.Option("--token", envvar="COMPLIANCE_TOKEN",
                                              help="A bearer token (env COMPLIANCE_TOKEN).", show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8000"
#: An upload is validated in full (every rule's examples) and a preview re-evaluates up to 1,000 assessments.
TIMEOUT_SECONDS = 120


@contextlib.contextmanager
def _client(url: str, token: str | None) -> Iterator[ComplianceClient]:
    """A client of the server; an error answer or no answer ends the command with its message (exit 1)."""
    # imported here: the client reads answers with the service's models, which `serve`, `check` and `eval` need
    # not wait for
    from service.client import ComplianceClient, ConnectionFailed, ProblemResponse

    try:
        with ComplianceClient(url, token, timeout=TIMEOUT_SECONDS) as client:
            yield client
    except ProblemResponse as exc:
        if exc.document is None:  # not a problem document (a proxy's page): as it came
            typer.echo(f"{exc.status}: {exc.detail}", err=True)
        else:
            typer.echo(f"{exc.status} {exc.title}: {exc.detail}", err=True)
            for e in exc.errors[:200]:
                where = ":".join(part for part in (e.file, e.rule, e.path) if part)
                typer.echo(f"  {where}: {e.message}", err=True)
        raise typer.Exit(1) from None
    except ConnectionFailed as exc:
        typer.echo(f"no answer from {url}: {type(exc.error).__name__}: {exc.error}", err=True)
        raise typer.Exit(1) from None


def _shown(model: BaseModel) -> dict[str, Any]:
    """An answer's fields as its JSON has them (times as the service wrote them)."""
    return model.model_dump(mode="json", by_alias=True)


@app.command("list")
def list_versions(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Stored versions, newest first; * marks the active one."""
    with _client(url, token) as client:
        body = _shown(client.rulesets().value)
    for v in body["versions"]:
        typer.echo(f"{'*' if v['active'] else ' '} {v['version']:<16} {v['rule_count']:>4} rules  {v['digest'][:19]}  "
                   f"{v['created_at']}  by {v['created_by']}")


@app.command()
def upload(path: Annotated[Path, typer.Argument(help="A rule folder, or a .zip / .tar.gz of one.")],
           url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Upload a rule set: the server validates it in full and stores it as a candidate (not active)."""
    with _client(url, token) as client:
        result = client.upload_ruleset(path)
    state = "stored as" if result.status == 201 else "already stored as"
    stored = result.value
    typer.echo(f"{state} version {stored.version} ({stored.rule_count} rules, {stored.digest})")


@app.command()
def preview(version: str, limit: Annotated[int, typer.Option(help="How many recent assessments.")] = 100,
            url: Url = DEFAULT_URL, token: Token = None) -> None:
    """What would change for the latest recorded assessments if VERSION were active."""
    with _client(url, token) as client:
        body = client.preview_ruleset(version, limit=limit).value
    typer.echo(f"{body.changed} of {body.assessments} assessments would change under {body.version} "
               f"(active: {body.compared_with_active})")
    for rule, n in body.rules_appearing.items():
        typer.echo(f"  + {rule} ({n})")
    for rule, n in body.rules_disappearing.items():
        typer.echo(f"  - {rule} ({n})")


@app.command()
def activate(version: str, url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Make VERSION active on every process and replica."""
    with _client(url, token) as client:
        body = client.activate_ruleset(version).value
    typer.echo(f"active: {body.version} ({body.rule_count} rules) by {body.loaded_by}")


@app.command()
def rollback(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Activate the version that was active before the current one."""
    with _client(url, token) as client:
        current = client.active_ruleset().value
        if not current.previous_version:
            typer.echo("no earlier version to roll back to", err=True)
            raise typer.Exit(1)
        body = client.activate_ruleset(current.previous_version).value
    typer.echo(f"rolled back from {current.version} to {body.version}")


@app.command()
def reload(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Load the server's RULES_DIR from disk as a new version and activate it."""
    with _client(url, token) as client:
        body = client.reload_ruleset().value
    typer.echo(f"active: {body.version} ({body.rule_count} rules)")


@app.command()
def audit(limit: Annotated[int, typer.Option(help="How many events.")] = 20, url: Url = DEFAULT_URL,
          token: Token = None) -> None:
    """The audit log: who changed which rule set, when, and how it went."""
    with _client(url, token) as client:
        body = _shown(client.audit(limit=limit).value)
    for e in body["events"]:
        move = f"{e['from_version'] or '-'} -> {e['to_version'] or '-'}"
        typer.echo(f"{e['at']}  {e['actor']:<20} {e['action']:<10} {e['outcome']:<10} {move}")
