"""GET /v1/schemas/profile: the profile's JSON Schema, generated from the model (once per process).

Forms are built from it (the page at /ui generates its profile form from it), so it is served from the code
that validates profiles and cannot drift from it. `schemas/profile.schema.json` is the checked-in copy of the
same document with its keys sorted (for reviewable diffs); served, the properties keep the model's order, which
is the order a form shows them in. Like /openapi.json it describes the interface and holds no data: no token
is needed.
"""
from __future__ import annotations

import functools
import hashlib

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from service import schemas

router = APIRouter(tags=["schemas"])

MEDIA_TYPE = "application/schema+json"


@functools.cache
def _profile_document() -> tuple[bytes, str]:
    body = orjson.dumps(schemas.generate()["profile.schema.json"])  # insertion order: the model's
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/v1/schemas/profile", response_class=Response, responses={
    200: {"content": {MEDIA_TYPE: {"schema": {"type": "object", "description": "A JSON Schema (draft 2020-12)"}}},
          "description": "The profile's JSON Schema, with `x-labels` (code -> words) for enumerated and offered codes"},
    304: {"description": "Not modified (the ETag sent in If-None-Match is current)"}},
            summary="The JSON Schema of the business profile, for building forms")
def profile_schema(request: Request) -> Response:
    body, etag = _profile_document()
    headers = {"ETag": etag, "Cache-Control": "no-cache"}  # revalidated on each use: a new release is seen at once
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
