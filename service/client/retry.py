"""When the client tries a call again, and how long it waits first: bounded attempts, exponential backoff with
jitter, the server's `Retry-After` honoured up to a cap. Pure decisions, no I/O: the sync and the async client
drive the same `Attempts` and only sleep differently.

What may be retried depends on what a repeat could do on the server (`Safety`): reading twice is harmless; an
assessment or batch sent with an `Idempotency-Key` is answered once however often it is sent; any other write is
tried again only when the request provably never left this machine.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from service.client.exceptions import ConnectionFailed

#: The problem type of a 409 the service answers while an earlier request with the same Idempotency-Key is still
#: being answered: the retry waits for it (and then gets its answer replayed).
IDEMPOTENCY_IN_PROGRESS = "/problems/idempotency-in-progress"

#: Errors raised before any byte of the request was sent: the server cannot have acted on it.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Errors of a request that may have reached the server (a dropped connection, a timeout while it answered).
TRANSIENT: tuple[type[httpx.TransportError], ...] = (httpx.TimeoutException, httpx.NetworkError,
                                                     httpx.RemoteProtocolError, httpx.ProxyError)


class Safety(enum.Enum):
    """What sending a call again could do on the server."""

    READ = "read"    # nothing changes, or only a record nobody refers to: retried after any transient error and 503
    KEYED = "keyed"  # a write the server deduplicates by Idempotency-Key: retried like a read, and on 409 in-progress
    WRITE = "write"  # a write without a key (activate, upload, reload): retried only when the request was never sent


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a call is tried and how long the client waits in between.

    The n-th pause is `backoff * 2**(n-1)` seconds, at most `max_backoff`, of which a random part (up to half) is
    taken off so that clients that failed together do not come back together. A 503's `Retry-After` (seconds or an
    HTTP date) replaces the backoff, capped at `max_retry_after`."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.backoff, self.max_backoff, self.max_retry_after) < 0:
            raise ValueError("pauses cannot be negative")

    def pause(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the first)."""
        asked = parse_retry_after(retry_after) if retry_after else None
        if asked is not None:
            return min(asked, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return ceiling * (1 - self.random() / 2)


NO_RETRIES = RetryPolicy(attempts=1)


def parse_retry_after(value: str, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` in seconds from now: a number of seconds or an HTTP date; None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; a date without a zone is read as such
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class Attempts:
    """The attempts of one logical call: each outcome is answered with the pause before the next attempt, or with
    the end of trying (a response to return as it is, or `ConnectionFailed`)."""

    def __init__(self, policy: RetryPolicy, safety: Safety):
        self.policy = policy
        self.safety = safety
        self.made = 0

    def start(self) -> None:
        self.made += 1

    def pause_after_error(self, request: httpx.Request, error: httpx.TransportError) -> float:
        """The pause before trying again after `error`; raises ConnectionFailed when the call is done trying."""
        if self.made >= self.policy.attempts or not self._may_resend(error):
            raise ConnectionFailed(request.method, str(request.url), error, self.made) from error
        return self.policy.pause(self.made)

    def pause_after(self, response: httpx.Response) -> float | None:
        """The pause before trying again after `response`; None when the response is the answer."""
        if self.made >= self.policy.attempts or not self._should_resend(response):
            return None
        return self.policy.pause(self.made, response.headers.get("Retry-After"))

    def _may_resend(self, error: httpx.TransportError) -> bool:
        if isinstance(error, NEVER_SENT):
            return True
        return self.safety is not Safety.WRITE and isinstance(error, TRANSIENT)

    def _should_resend(self, response: httpx.Response) -> bool:
        if self.safety is Safety.WRITE:
            return False
        if response.status_code == 503:
            return True
        return (self.safety is Safety.KEYED and response.status_code == 409
                and _problem_type(response) == IDEMPOTENCY_IN_PROGRESS)


def _problem_type(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) else None
