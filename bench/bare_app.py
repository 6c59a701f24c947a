"""The baseline for bench/throughput.py: a bare FastAPI endpoint that validates the same profile model and
returns a constant. Whatever the service costs beyond this is the engine, the answer and the decision log."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

from service.profile.model import Profile

app = FastAPI()
CONSTANT = b'{"obligations":[]}'


@app.post("/v1/assessments")
async def assess(profile: Profile) -> Response:
    return Response(CONSTANT, status_code=201, media_type="application/json")
