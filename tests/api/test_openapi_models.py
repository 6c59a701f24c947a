"""The OpenAPI description states every answer's shape, and says what each model and field holds: every
operation's success response has a schema (a model, for JSON), and every component and property has a description."""
from __future__ import annotations

from functools import cache
from typing import Any

import pytest

JSON = "application/json"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@cache
def openapi() -> dict[str, Any]:
    """The description the service publishes (routes exist once the app is created; nothing starts)."""
    from service.main import create_app
    from service.settings import Settings

    return create_app(Settings()).openapi()


def components() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = openapi().get("components", {}).get("schemas", {})
    return schemas


def operations() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", op) for path, item in openapi()["paths"].items()
            for method, op in item.items() if method in HTTP_METHODS]


def _referenced(schema: dict[str, Any]) -> str | None:
    """The component a schema is only a reference to (directly, through allOf, or or-null), if it is one."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    options = [s for s in schema.get("allOf", []) + schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1 and "$ref" in options[0]:
        return str(options[0]["$ref"]).rsplit("/", 1)[-1]
    return None


def _described(schema: dict[str, Any]) -> bool:
    if schema.get("description"):
        return True
    target = _referenced(schema)
    return target is not None and bool(components().get(target, {}).get("description"))


def success_problems(op: dict[str, Any]) -> list[str]:
    """What is missing from an operation's success responses: each needs content with a real schema, and JSON
    a model (a component), not the free-form object FastAPI writes for a hand-built dict."""
    found = []
    successes = {status: r for status, r in op.get("responses", {}).items() if str(status).startswith("2")}
    if not successes:
        return ["no success response is documented"]
    for status, response in successes.items():
        if status == "204":
            continue
        content = response.get("content") or {}
        if not content:
            found.append(f"{status}: no content (media type and schema) is declared")
        for media, body in content.items():
            schema = body.get("schema") or {}
            if not schema:
                found.append(f"{status} {media}: empty schema")
            elif media == JSON and _referenced(schema) is None:
                found.append(f"{status} {media}: not a model (schema {schema})")
    return found


@pytest.mark.parametrize("name,op", operations(), ids=[name for name, _ in operations()])
def test_every_operation_states_its_answer(name: str, op: dict[str, Any]) -> None:
    problems = success_problems(op)
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("model", sorted(components()))
def test_every_model_and_field_is_described(model: str) -> None:
    schema = components()[model]
    missing = [] if schema.get("description") else [f"{model}: the model has no description (class docstring)"]
    missing += [f"{model}.{field}: no description" for field, prop in schema.get("properties", {}).items()
                if not _described(prop)]
    assert not missing, "\n".join(missing)


def test_the_checks_see_what_they_check() -> None:
    """The description has operations and models to check, and a bare dict answer would be caught."""
    assert len(operations()) > 15 and len(components()) > 20
    untyped = {"responses": {"200": {"content": {JSON: {"schema": {"type": "object", "additionalProperties": True}}}}}}
    assert success_problems(untyped) and success_problems({"responses": {"200": {"description": "OK"}}})
