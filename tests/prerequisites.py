"""Tests that need tools from outside Python (Chromium, buildah, wrk) skip without them on a developer's machine,
and fail in CI (CI set, as `.ci/run` runs) or when their variable says `required`: CI never counts a skip as a pass."""
from __future__ import annotations

import os

import pytest


def required(variable: str | None = None) -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or bool(variable and os.environ.get(variable, "") == "required")


def skip_or_fail(message: str, variable: str | None = None) -> None:
    """Skip with `message`, or fail with it where the tools are required."""
    if required(variable):
        where = f"CI or {variable}=required" if variable else "CI"
        pytest.fail(f"{message}; required here ({where}), so this is a failure, not a skip")
    pytest.skip(message)
