"""JSON request bodies that cannot be read, explained in the caller's terms (a 422, never a 500).

`json.loads` fails in ways FastAPI reports only as "There was an error parsing the body" (or,
read by a route itself, as a 500): nesting deep enough to exhaust the stack, an integer longer
than Python converts, bytes that are not UTF-8.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from service.errors import ErrorItem, InvalidRequest, ServiceError


def unreadable(exc: BaseException) -> str | None:
    """Why `json.loads` refused a body, and what is allowed; None when `exc` is not about reading JSON."""
    if isinstance(exc, RecursionError):
        return "the JSON nests arrays or objects too deeply to be read (hundreds of levels): requests need only a few"
    if isinstance(exc, UnicodeDecodeError):
        return f"the body is not UTF-8 (byte {exc.object[exc.start]:#04x} at {exc.start}): JSON must be UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return f"a number is longer than {sys.get_int_max_str_digits()} digits: numbers may have at most that many"
    return None


class _Duplicate(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(f"the key {key[:80]!r} comes twice in one object: each key once")
        out[key] = value
    return out


def loads(body: bytes, expected: str, error: type[ServiceError] = InvalidRequest) -> Any:
    """A JSON body a route reads itself; duplicate keys are refused (as in YAML rule files)."""
    try:
        return json.loads(body, object_pairs_hook=_unique)
    except (RecursionError, ValueError) as exc:
        message = str(exc) if isinstance(exc, _Duplicate) else unreadable(exc) or "not valid JSON"
        raise error("the body cannot be read as JSON",
                    [ErrorItem(path="body", message=f"{message}; expected {expected}")]) from None
