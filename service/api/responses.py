"""Responses that carry the rule-set version that produced them: the one place X-Ruleset-Version is set."""
from __future__ import annotations

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

VERSION_HEADER = "X-Ruleset-Version"
SUBJECT_HEADER = "X-Assessment-Subject"  # the subject an assessment was recorded with, when it has one


def versioned(body: bytes, version: str, status: int = 200, media_type: str = "application/json",
              headers: dict[str, str] | None = None) -> Response:
    """A response naming the rule-set version its content comes from."""
    return Response(body, status_code=status, media_type=media_type,
                    headers={VERSION_HEADER: version, **(headers or {})})


def json_bytes(model: BaseModel) -> bytes:
    """A response model as JSON (what FastAPI would write for it, without a second pass through validation)."""
    return orjson.dumps(model.model_dump(mode="json"))
