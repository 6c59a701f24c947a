"""The service's exception family. Each knows its HTTP status; one handler renders them all
as problem details (RFC 9457) with `errors: [{path, message}]`."""
from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


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
    detail: str
    errors: list[ErrorItem] = field(default_factory=list)
    status = 500
    title = "Internal error"
    type = "about:blank"
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        lines = [self.detail] + [f"  {e}" for e in self.errors]
        return "\n".join(lines)


class InvalidProfile(ServiceError):
    status = 422
    title = "Invalid profile"
    type = "/problems/invalid-profile"


class InvalidRequest(ServiceError):
    status = 422
    title = "Invalid request"
    type = "/problems/invalid-request"


class InvalidRuleSet(ServiceError):
    status = 422
    title = "Invalid rule set"
    type = "/problems/invalid-ruleset"


class NotFound(ServiceError):
    status = 404
    title = "Not found"
    type = "/problems/not-found"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"
    type = "/problems/unauthorized"


@dataclass
class Forbidden(ServiceError):
    actor: str | None = None
    status = 403
    title = "Forbidden"
    type = "/problems/forbidden"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    type = "/problems/conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"
    type = "/problems/payload-too-large"


class Unavailable(ServiceError):
    status = 503
    title = "Service unavailable"
    type = "/problems/unavailable"


class EngineFailure(ServiceError):
    """The rule engine could not evaluate: a defect, never the caller's fault."""

    status = 500
    title = "Rule engine failure"
    type = "/problems/engine-failure"


class TooManyFirings(EngineFailure):
    """An evaluation stopped at the engine's bound on rule firings. Under the served rules that is the
    profile's size multiplied out by the rules' joins: callers get it as an invalid profile (422)."""


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _fields_at(model: type, loc: tuple) -> list[str] | None:
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


def from_pydantic(errors: list[dict], model: type | None = None, prefix: tuple = ()) -> list[ErrorItem]:
    """Pydantic validation errors -> items naming the JSON path and what is allowed."""
    items = []
    for err in errors:
        loc = tuple(p for p in err.get("loc", ()) if p not in ("body",))
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


class ProblemError(BaseModel):
    path: str = Field(description="Where: a JSON path into the request (services[0].type), a header or a file.")
    message: str = Field(description="What is wrong there, and what is allowed.")
    file: str | None = Field(None, description="For a rule set: the file.")
    rule: str | None = Field(None, description="For a rule set: the rule id.")


class Problem(BaseModel):
    """Every error answer (RFC 9457 problem details), with each thing wrong listed under `errors`."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError]
