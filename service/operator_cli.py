"""compliance-engine rulesets ...: the operator's client for a running server (upload, list, preview, activate,
rollback)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Operate rule sets on a running server (needs an operator token for changes).")

Url = Annotated[str, typer.Option("--url", envvar="COMPLIANCE_URL", help="The server (env COMPLIANCE_URL).")]
Token = Annotated[str | None, typer.Option("--token", envvar="COMPLIANCE_TOKEN",
                                              help="A bearer token (env COMPLIANCE_TOKEN).", show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8000"


def _client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=120)


def _show(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        if isinstance(body, dict) and "detail" in body:
            typer.echo(f"{response.status_code} {body.get('title', '')}: {body['detail']}", err=True)
            for e in body.get("errors", [])[:200]:
                where = ":".join(str(e[k]) for k in ("file", "rule", "path") if e.get(k))
                typer.echo(f"  {where}: {e['message']}", err=True)
        else:
            typer.echo(f"{response.status_code}: {body}", err=True)
        raise typer.Exit(1)
    return body


def zip_folder(folder: Path) -> bytes:
    """A rule folder as a zip of its files (paths relative to the folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@app.command("list")
def list_versions(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Stored versions, newest first; * marks the active one."""
    with _client(url, token) as http:
        body = _show(http.get("/v1/rulesets"))
    for v in body["versions"]:
        typer.echo(f"{'*' if v['active'] else ' '} {v['version']:<16} {v['rule_count']:>4} rules  {v['digest'][:19]}  "
                   f"{v['created_at']}  by {v['created_by']}")


@app.command()
def upload(path: Annotated[Path, typer.Argument(help="A rule folder, or a .zip / .tar.gz of one.")],
           url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Upload a rule set: the server validates it in full and stores it as a candidate (not active)."""
    if path.is_dir():
        body, content_type = zip_folder(path), "application/zip"
    else:
        body = path.read_bytes()
        content_type = "application/zip" if path.suffix == ".zip" else "application/gzip"
    with _client(url, token) as http:
        response = http.post("/v1/rulesets", content=body, headers={"content-type": content_type})
        result = _show(response)
    state = "stored as" if response.status_code == 201 else "already stored as"
    typer.echo(f"{state} version {result['version']} ({result['rule_count']} rules, {result['digest']})")


@app.command()
def preview(version: str, limit: Annotated[int, typer.Option(help="How many recent assessments.")] = 100,
            url: Url = DEFAULT_URL, token: Token = None) -> None:
    """What would change for the latest recorded assessments if VERSION were active."""
    with _client(url, token) as http:
        body = _show(http.post(f"/v1/rulesets/{version}/preview", params={"limit": limit}))
    typer.echo(f"{body['changed']} of {body['assessments']} assessments would change under {body['version']} "
               f"(active: {body['compared_with_active']})")
    for rule, n in body["rules_appearing"].items():
        typer.echo(f"  + {rule} ({n})")
    for rule, n in body["rules_disappearing"].items():
        typer.echo(f"  - {rule} ({n})")


@app.command()
def activate(version: str, url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Make VERSION active on every process and replica."""
    with _client(url, token) as http:
        body = _show(http.post(f"/v1/rulesets/{version}/activate"))
    typer.echo(f"active: {body['version']} ({body['rule_count']} rules) by {body['loaded_by']}")


@app.command()
def rollback(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Activate the version that was active before the current one."""
    with _client(url, token) as http:
        current = _show(http.get("/v1/rulesets/active"))
        previous = current.get("previous_version")
        if not previous:
            typer.echo("no earlier version to roll back to", err=True)
            raise typer.Exit(1)
        body = _show(http.post(f"/v1/rulesets/{previous}/activate"))
    typer.echo(f"rolled back from {current['version']} to {body['version']}")


@app.command()
def reload(url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Load the server's RULES_DIR from disk as a new version and activate it."""
    with _client(url, token) as http:
        body = _show(http.post("/v1/rulesets/reload"))
    typer.echo(f"active: {body['version']} ({body['rule_count']} rules)")


@app.command()
def audit(limit: Annotated[int, typer.Option(help="How many events.")] = 20, url: Url = DEFAULT_URL,
          token: Token = None) -> None:
    """The audit log: who changed which rule set, when, and how it went."""
    with _client(url, token) as http:
        body = _show(http.get("/v1/audit", params={"limit": limit}))
    for e in body["events"]:
        move = f"{e['from_version'] or '-'} -> {e['to_version'] or '-'}"
        typer.echo(f"{e['at']}  {e['actor']:<20} {e['action']:<10} {e['outcome']:<10} {move}")


