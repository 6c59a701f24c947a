"""Safe retries of POST /v1/assessments and /batch: the `Idempotency-Key` header.

A request sent with a key is answered once. The first claims the key (service/store/idempotency_keys.py: the
database decides, across workers and replicas); once its answer is durable and 2xx, the answer is stored with the
key, and a retry with the same key and the same request gets it back byte for byte, with `Idempotent-Replayed:
true`, recording nothing. The same key with a different request is refused (422); a retry while the first is still
being answered waits for it, up to EVALUATION_TIMEOUT_MS, then gets 409 with Retry-After. An answer that is not
2xx is not stored: the key is released and a retry tries again. Without the header nothing here runs.

A key belongs to its route and its caller (the token's identity; every caller without a token shares one scope),
and holds for IDEMPOTENCY_RETENTION_HOURS after its first use.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from service import header_values
from service.api.auth import Principal
from service.api.problems import OpenApiResponses, documented
from service.api.responses import SUBJECT_HEADER, VERSION_HEADER
from service.errors import ErrorItem, IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from service.settings import Settings
from service.store.db import Database
from service.store.idempotency_keys import Claimed, IdempotencyKeys, Mismatch, Replay, StoredResponse

log = logging.getLogger("service.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
PATH = f"headers.{HEADER.lower()}"  # where problems about the key point
MAX_KEY_LENGTH = 255
ALLOWED = (f"1 to {MAX_KEY_LENGTH} printable ASCII characters (space to ~), neither beginning nor ending with a space "
           "(HTTP drops those), such as a UUID")
#: The headers of an answer that are stored with it and replayed (beside its status and body).
KEPT_HEADERS = ("content-type", "location", VERSION_HEADER.lower(), SUBJECT_HEADER.lower())
#: How long past EVALUATION_TIMEOUT_MS a claim may stay unanswered before its worker is taken to have died.
STALE_GRACE = dt.timedelta(seconds=60)
#: Waiting for the request that holds the key: first pause, longest pause (seconds); Retry-After of the 409.
FIRST_PAUSE, LONGEST_PAUSE = 0.05, 0.5
IN_PROGRESS_RETRY_AFTER = 1

PARAMETER: dict[str, Any] = {
    "name": HEADER, "in": "header", "required": False,
    "description": (
        "Makes retries safe: a retry with the same key and the same request (body, record, horizon_days) within "
        "IDEMPOTENCY_RETENTION_HOURS gets the first answer back (same status, body and assessment ids, with "
        f"{REPLAYED_HEADER}: true) and records nothing; the same key with another request is 422 "
        "(/problems/idempotency-key-reused); a retry while the first is being answered waits for it, then gets 409 "
        f"(/problems/idempotency-in-progress, Retry-After). {ALLOWED}. Keys are per route and per caller."),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": header_values.PATTERN},
}
RESPONSES: OpenApiResponses = {
    409: documented(f"/problems/idempotency-in-progress: the request first sent with this {HEADER} is still being "
                    "answered; retry after Retry-After"),
}


def keys_for(db: Database, settings: Settings) -> IdempotencyKeys:
    """The idempotency keys of this process, held as the settings say."""
    return IdempotencyKeys(db, retention=dt.timedelta(hours=settings.idempotency_retention_hours),
                           stale_after=dt.timedelta(milliseconds=settings.evaluation_timeout_ms) + STALE_GRACE)


def key_of(request: Request) -> str | None:
    """The Idempotency-Key sent, checked (422 naming the header otherwise); None when there is none."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    problem = None
    if len(request.headers.getlist(HEADER)) > 1:
        problem = "sent more than once: send one key"
    elif not header_values.fits(key, MAX_KEY_LENGTH):
        problem = f"not a key: send {ALLOWED}"
    if problem is not None:
        raise InvalidRequest(f"{PATH}: {problem}", [ErrorItem(path=PATH, message=problem)])
    return key


async def once(request: Request, principal: Principal, key: str, query: dict[str, Any],
               answer: Callable[[], Awaitable[Response]]) -> Response:
    """Answer the request with `answer()` once per key: claim the key, or replay its stored answer, or refuse."""
    keys: IdempotencyKeys = request.app.state.idempotency
    scope = f"{request.method} {request.url.path} {principal.actor}"
    digest = request_sha(request.method, request.url.path, query, await request.body())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + request.app.state.limits.timeout_ms / 1000
    pause = FIRST_PAUSE
    while True:
        decision = await run_in_threadpool(keys.claim, scope, key, digest)
        if isinstance(decision, Claimed):
            break
        if isinstance(decision, Replay):
            return replay(decision.response)
        if isinstance(decision, Mismatch):
            message = ("already used with a different request (body, record or horizon_days) within "
                       "IDEMPOTENCY_RETENTION_HOURS: send a new key for a new request")
            raise IdempotencyKeyReused(f"{PATH}: {message}", [ErrorItem(path=PATH, message=message)])
        if loop.time() + pause > deadline:
            message = "the request first sent with this key is still being answered: retry after Retry-After"
            raise IdempotencyInProgress(f"{PATH}: {message}", [ErrorItem(path=PATH, message=message)],
                                        retry_after=IN_PROGRESS_RETRY_AFTER)
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
    token = decision.token
    try:
        response = await answer()
    except Exception:  # refused (4xx, 503) or failed: nothing was recorded, a retry may try again
        await _release(keys, scope, key, token)
        raise
    # (a cancelled request leaves its claim pending: whether it recorded cannot be told, so the key waits for the
    # stale bound before a retry takes it over)
    if 200 <= response.status_code < 300:
        await _complete(keys, scope, key, token, response)
    else:
        await _release(keys, scope, key, token)
    return response


def request_sha(method: str, path: str, query: dict[str, Any], body: bytes) -> str:
    """SHA-256 of what makes a request the same request: method, path, the query that changes the answer and the
    body as canonical JSON (keys sorted, no white space), so a retry that re-encodes its JSON is the same request."""
    try:
        content: Any = json.loads(body)  # as FastAPI read it
        canonical = json.dumps({"method": method, "path": path, "query": query, "body": content}, sort_keys=True,
                               separators=(",", ":"), ensure_ascii=True)
    except (ValueError, RecursionError):  # a body only FastAPI's reading took: the bytes as sent
        canonical = json.dumps({"method": method, "path": path, "query": query, "raw": body.hex()}, sort_keys=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def replay(stored: StoredResponse) -> Response:
    """A stored answer, as first sent, marked as replayed."""
    return Response(stored.body, status_code=stored.status, headers={**stored.headers, REPLAYED_HEADER: "true"})


async def _complete(keys: IdempotencyKeys, scope: str, key: str, token: str, response: Response) -> None:
    """Store the answer with the key. The answer is durable already: if the database cannot take it, the caller
    still gets it (a retry then waits until the claim is stale, and is answered afresh)."""
    stored = StoredResponse(response.status_code, {name: response.headers[name] for name in KEPT_HEADERS
                                                   if name in response.headers}, bytes(response.body))
    try:
        if not await run_in_threadpool(keys.complete, scope, key, token, stored):
            log.warning("an idempotency key was taken over before its answer was stored")
    except SQLAlchemyError as exc:
        log.warning("the answer of an idempotency key could not be stored (%s)", type(exc).__name__)


async def _release(keys: IdempotencyKeys, scope: str, key: str, token: str) -> None:
    try:
        await run_in_threadpool(keys.release, scope, key, token)
    except SQLAlchemyError as exc:  # the claim stays until it is stale; the request's own answer goes out
        log.warning("an idempotency key could not be released (%s)", type(exc).__name__)
