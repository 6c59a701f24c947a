"""Bearer tokens and roles: reader < evaluator < operator (each includes the ones before).

Tokens come from AUTH_TOKENS (comma-separated token=role pairs) or the file AUTH_TOKENS_FILE
(token=role lines). They are compared in constant time and never logged: an actor is named
by the first characters of the token's SHA-256, never by the token.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from service.errors import ErrorItem, Forbidden, Unauthorized

ROLES = ("reader", "evaluator", "operator")
RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    role: str
    actor: str  # "token:<sha256 prefix>", or "anonymous"

    def allows(self, role: str) -> bool:
        return RANK.get(self.role, -1) >= RANK[role]


ANONYMOUS = Principal(role="", actor="anonymous")


class TokenError(ValueError):
    pass


def parse_tokens(text: str, source: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for n, item in enumerate(x.strip() for x in text.replace("\n", ",").split(",")):
        if not item or item.startswith("#"):
            continue
        token, sep, role = item.rpartition("=")
        if not sep or not token or role.strip() not in ROLES:
            raise TokenError(f"{source}: entry {n + 1} is not token=role with role one of {', '.join(ROLES)}")
        if len(token.strip()) < 16:
            raise TokenError(f"{source}: entry {n + 1}: a token must be at least 16 characters")
        tokens[token.strip()] = role.strip()
    return tokens


def load_tokens(env_value: str, file: Path | None) -> dict[str, str]:
    tokens = parse_tokens(env_value, "AUTH_TOKENS") if env_value else {}
    if file is not None:
        tokens.update(parse_tokens(file.read_text(encoding="utf-8"), f"AUTH_TOKENS_FILE {file}"))
    return tokens


def fingerprint(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


class Authenticator:
    def __init__(self, tokens: dict[str, str]):
        self._tokens = [(t.encode("utf-8"), role) for t, role in tokens.items()]

    def identify(self, presented: str) -> Principal | None:
        """The principal a token names, comparing against every known token in constant time."""
        given = presented.encode("utf-8")
        found: Principal | None = None
        for token, role in self._tokens:
            if hmac.compare_digest(token, given) and found is None:
                found = Principal(role=role, actor=fingerprint(presented))
        return found


def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("expected Authorization: Bearer <token>",
                           [ErrorItem(path="headers.authorization", message="not a bearer token")])
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.identify(value.strip())
    if principal is None:
        raise Unauthorized("the token is not valid", [ErrorItem(path="headers.authorization", message="unknown token")])
    return principal


def requires(role: str, setting: str | None = None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller needs `role` (or, when `setting` is false in the settings, nothing)."""

    async def check(request: Request) -> Principal:  # async: FastAPI runs sync dependencies on a thread
        return await authorize(request, role, setting)

    return check


async def authorize(request: Request, role: str, setting: str | None = None) -> Principal:
    """The check behind `requires`, callable directly where a dependency costs too much (the hot path)."""
    try:
        principal = _principal(request)
        if setting is not None and not getattr(request.app.state.settings, setting):
            return principal
        if principal is ANONYMOUS:
            raise Unauthorized(f"this endpoint needs a bearer token with the {role} role",
                               [ErrorItem(path="headers.authorization", message="missing")])
        if not principal.allows(role):
            raise Forbidden(f"this endpoint needs the {role} role; the token has {principal.role}",
                            [ErrorItem(path="headers.authorization", message=f"role {principal.role} is not enough")],
                            actor=principal.actor)
        return principal
    except (Unauthorized, Forbidden) as exc:
        if role == "operator":  # refused attempts to change rule sets are part of the audit trail
            from fastapi.concurrency import run_in_threadpool

            from service.store import audit

            await run_in_threadpool(
                audit.log, request.app.state.db, actor=getattr(exc, "actor", None) or "anonymous",
                action=f"{request.method} {request.url.path}"[:20], outcome=type(exc).__name__.lower(),
                detail={"path": request.url.path, "method": request.method, "detail": exc.detail})
        raise


Operator = Annotated[Principal, Depends(requires("operator"))]
Evaluator = Annotated[Principal, Depends(requires("evaluator", "require_token_for_evaluation"))]
Reader = Annotated[Principal, Depends(requires("reader", "require_token_for_reading"))]
