"""Per request: an id (honoured from X-Request-ID, or made), security headers, one structured log
line and the HTTP metrics. Pure ASGI, so it costs a few microseconds on the hot path."""
from __future__ import annotations

import contextvars
import logging
import re
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import ids, metrics
from service.logs import ACCESS_LOGGER, AccessLog

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("service.api")
_INTERNAL_ERROR = (b'{"type":"about:blank","title":"Internal error","status":500,'
                   b'"detail":"the service failed; the error is logged with this request\'s id","errors":[]}')

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_UI_CSP = (b"content-security-policy",
           b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
           b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# the interactive API docs load Swagger UI from its CDN and start it with an inline script
_DOCS_CSP = (b"content-security-policy",
             b"default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
             b"style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src https://fastapi.tiangolo.com data:; "
             b"connect-src 'self'; frame-ancestors 'none'")
_NO_STORE = (b"cache-control", b"no-store")


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    if path.startswith(("/docs", "/redoc")):
        return _COMMON + [_DOCS_CSP]
    if path.startswith("/ui"):
        return _COMMON + [_UI_CSP]
    if path.startswith("/v1/"):
        return _COMMON + [_API_CSP, _NO_STORE]
    return _COMMON + [_API_CSP]


_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The metric children of one method, route and status, looked up once (labels() takes a lock each time)."""
    key = (method, route, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (metrics.REQUESTS.labels(method, route, str(status)), metrics.LATENCY.labels(route))
    return found


class RequestContext:
    def __init__(self, app: ASGIApp, access_log: bool = True):
        self.app = app
        self.access_log = access_log
        self._lines: AccessLog | None = None  # the direct access log, when logging allows it
        self._decided = False  # at the first request, once logging is configured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_ID.match(candidate):
                    request_id = candidate
                break
        request_id = request_id or ids.request_id()
        token = REQUEST_ID.set(request_id)
        extra = [(b"x-request-id", request_id.encode("ascii"))] + security_headers(scope["path"])
        status = 500
        started = time.perf_counter()

        started_response = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                headers = list(message.get("headers") or ())
                own = {name.lower() for name, _ in headers}  # a response's own policy (the HTML report's) wins
                message["headers"] = headers + [h for h in extra if h[0] not in own]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # a bug: logged here, where the request id is known, and answered as a problem
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = 500
            if not started_response:
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"application/problem+json"),
                                                     (b"content-length", str(len(_INTERNAL_ERROR)).encode())]})
                await send({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            count, latency = _series(scope["method"], route, status)
            count.inc()
            latency.observe(elapsed)
            if self.access_log and log.isEnabledFor(logging.INFO):
                fields = {"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                          "duration_ms": round(elapsed * 1000, 3)}
                if not self._decided:
                    self._lines, self._decided = (AccessLog() if AccessLog.direct() else None), True
                if self._lines is not None:
                    self._lines.write(request_id, fields)
                else:
                    log.info("request", extra=fields)
            REQUEST_ID.reset(token)
