"""The service's exception family: plain domain errors that the engine, the rule base, the store and the
service raise. Only `service/api/problems.py` knows what HTTP answer each one gets (status, title, problem type),
and renders them all as problem details (RFC 9457) with `errors: [{path, message}]`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ErrorItem:
    path: str
    message: str
    file: str | None = None
    rule: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"path": self.path, "message": self.message}
        if self.file is not None:
            out["file"] = self.file
        if self.rule is not None:
            out["rule"] = self.rule
        return out

    def __str__(self) -> str:
        where = ":".join(p for p in (self.file, self.rule, self.path) if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class ServiceError(Exception):
    """Something the service can name: what went wrong (`detail`), where (`errors`), and, for a passing
    condition, after how many seconds trying again may succeed (`retry_after`)."""

    detail: str
    errors: list[ErrorItem] = field(default_factory=list)
    retry_after: int | None = None

    def __str__(self) -> str:
        lines = [self.detail] + [f"  {e}" for e in self.errors]
        return "\n".join(lines)


class InvalidProfile(ServiceError):
    """The profile is not one the service can assess (a value not allowed, a field not known)."""


class ProfileTooLarge(InvalidProfile):
    """The profile is valid but beyond a bound of evaluation: list items, facts once expanded, rule firings."""


class InvalidRequest(ServiceError):
    """The request around the profile is not valid (query, headers, body shape)."""


class RequestTooLarge(InvalidRequest):
    """The work the request would cause (a batch's items, the candidates questions tries) is beyond its bound."""


class InvalidRuleSet(ServiceError):
    """A rule set that does not pass the checks."""


class NotFound(ServiceError):
    """No such assessment, rule, instrument or rule-set version."""


class Unauthorized(ServiceError):
    """No token, or one the service does not know."""


@dataclass
class Forbidden(ServiceError):
    """A known token whose role may not do this."""

    actor: str | None = None


class Conflict(ServiceError):
    """The request conflicts with the state of a resource."""


class IdempotencyKeyReused(InvalidRequest):
    """An Idempotency-Key sent before, within its retention window, with a different request."""


class IdempotencyInProgress(Conflict):
    """The request first sent with this Idempotency-Key has not been answered yet."""


class PayloadTooLarge(ServiceError):
    """A body or upload beyond its size limit."""


class Unavailable(ServiceError):
    """The service cannot serve this now (no rule set loaded, the decision log full or stopping, shutting down)."""


class EvaluationTimeout(Unavailable):
    """The request's evaluations ran past EVALUATION_TIMEOUT_MS; they were stopped and nothing was recorded."""


class EngineFailure(ServiceError):
    """The rule engine could not evaluate: a defect, never the caller's fault."""


class TooManyFirings(EngineFailure):
    """An evaluation stopped at the bound on rule firings. Under the served rules that is the profile's size
    multiplied out by the rules' joins: the evaluation path reports it as ProfileTooLarge."""


Loc = tuple[str | int, ...]  # a JSON path as pydantic gives it: field names and list indices


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _fields_at(model: type, loc: Loc) -> list[str] | None:
    """The field names of the model found at `loc` (for "unknown field" messages)."""
    import typing

    from pydantic import BaseModel

    current: object = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            break
        annotation = info.annotation
        # unwrap Optional[...] and list[...]
        for _ in range(3):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if args and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                annotation = args[0]
        current = annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def from_pydantic(errors: Sequence[Mapping[str, Any]], model: type | None = None, prefix: Loc = ()) -> list[ErrorItem]:
    """Pydantic validation errors -> items naming the JSON path and what is allowed."""
    items: list[ErrorItem] = []
    for err in errors:
        loc: Loc = tuple(p for p in err.get("loc", ()) if p not in ("body",))
        # pydantic puts the validator name of Annotated/function validators in loc; keep real parts only
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        message = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":  # FastAPI's: loc ends with a character offset, not a JSON path
            offset = next((p for p in reversed(loc) if isinstance(p, int)), None)
            loc = ()
            message = f"not valid JSON: {(err.get('ctx') or {}).get('error', 'it cannot be read')}" + (
                f" (at character {offset})" if offset is not None else "")
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden" and model is not None:
            allowed = _fields_at(model, loc[:-1])
            if allowed:
                message = f"unknown field {loc[-1]!r}: allowed fields are {', '.join(allowed)}"
        items.append(ErrorItem(path=_path(prefix + loc), message=message))
    return items
