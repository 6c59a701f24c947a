"""The direct access log writes the line `logging` with the JSON formatter would write."""
from __future__ import annotations

import asyncio
import io
import logging

import orjson

from service.api.observability import REQUEST_ID
from service.logs import ACCESS_LOGGER, AccessLog, JsonFormatter

FIELDS = {"method": "POST", "path": "/v1/assessments", "route": "/v1/assessments", "status": 201,
          "duration_ms": 1.234}


def through_logging(request_id: str) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not .level: it clears the loggers' cached isEnabledFor answers
    token = REQUEST_ID.set(request_id)
    try:
        logger.info("request", extra=FIELDS)
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
        logger.setLevel(level)
    line: dict[str, object] = orjson.loads(stream.getvalue())
    return line


def through_access_log(request_id: str) -> list[dict[str, object]]:
    stream = io.BytesIO()

    async def two_requests() -> None:
        lines = AccessLog(stream)
        lines.write(request_id, FIELDS)
        lines.write(request_id, {**FIELDS, "status": 422})
        assert stream.getvalue() == b""  # written at the end of the loop's turn, together
        await asyncio.sleep(0)

    asyncio.run(two_requests())
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_same_line_as_logging_in_one_write_per_turn() -> None:
    expected = through_logging("req-1")
    first, second = through_access_log("req-1")
    assert list(first) == list(expected)  # same keys, same order
    for line in (first, expected):
        assert isinstance(line.pop("time"), str)
    assert first == expected
    assert second["status"] == 422 and second["request_id"] == "req-1"


def test_direct_only_when_logging_would_write_json_to_stderr() -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        handler = logging.StreamHandler()  # stderr
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
        assert AccessLog.direct()
        handler.setFormatter(logging.Formatter("%(message)s"))  # LOG_FORMAT=text
        assert not AccessLog.direct()
        handler.setFormatter(JsonFormatter())
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)  # LOG_LEVEL=warning
        assert not AccessLog.direct()
    finally:
        root.handlers = saved
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.NOTSET)
