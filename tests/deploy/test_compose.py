"""deploy/compose.yaml with deploy/example.env: the one-machine set-up, checked as Compose would read it.

There is no Docker engine (nor Compose) here, and no offline Compose schema validator was found in the
registries this machine reaches, so the file is interpolated with example.env as Compose does
(${VAR}, ${VAR:-default}, ${VAR:?error}) and the result is checked for what the set-up relies on.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from service.settings import Settings
from tests.helpers import REPO

DEPLOY = REPO / "deploy"
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise ValueError(f"{name}: {arg}")
        return ""
    return VARIABLE.sub(replace, text)


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(DEPLOY / "example.env")


@pytest.fixture(scope="module")
def compose(example_env) -> dict:
    return yaml.safe_load(interpolate((DEPLOY / "compose.yaml").read_text(), example_env))


def test_every_variable_is_in_the_example_env_file_and_required_ones_are_enforced(example_env):
    text = (DEPLOY / "compose.yaml").read_text()
    used = {m["name"] for m in VARIABLE.finditer(text)}
    assert used == set(example_env), f"compose.yaml uses {sorted(used)}, example.env sets {sorted(example_env)}"
    required = {m["name"] for m in VARIABLE.finditer(text) if m["op"] == ":?"}
    assert required == {"POSTGRES_PASSWORD", "AUTH_TOKENS"}
    for name in required:
        with pytest.raises(ValueError, match=name):
            interpolate(text, {k: v for k, v in example_env.items() if k != name})


def test_two_replicas_follow_the_database_behind_migrations(compose, example_env):
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "engine"}
    engine, migrate = services["engine"], services["migrate"]
    assert engine["deploy"]["replicas"] == 2
    env = engine["environment"]
    assert env["RULESET_ON_START"] == "database"
    assert env["DATABASE_URL"] == f"postgresql://compliance:{example_env['POSTGRES_PASSWORD']}@postgres:5432/compliance"
    assert {k.lower() for k in env} <= set(Settings.model_fields) | {"auth_tokens"}
    assert engine["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                    "migrate": {"condition": "service_completed_successfully"}}
    assert migrate["command"] == ["compliance-engine", "db", "upgrade"] and migrate["environment"] == env
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["image"] == engine["image"] == example_env["ENGINE_IMAGE"]
    assert (DEPLOY / engine["build"]["context"] / engine["build"]["dockerfile"]).resolve() == REPO / "Dockerfile"


def test_read_only_containers_health_checks_and_a_volume_for_postgres(compose):
    services = compose["services"]
    for name in ("engine", "migrate"):
        assert services[name]["read_only"] is True and services[name]["tmpfs"] == ["/tmp"]
        assert services[name]["cap_drop"] == ["ALL"]
    dockerfile = (REPO / "Dockerfile").read_text()
    healthcheck = json.loads(re.search(r"^HEALTHCHECK .*?CMD (\[[^\n]*\])$", dockerfile, re.S | re.M)[1])
    assert services["engine"]["healthcheck"]["test"] == ["CMD", *healthcheck]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    volume = services["postgres"]["volumes"][0].split(":")
    assert volume == ["pgdata", "/var/lib/postgresql/data"] and "pgdata" in compose["volumes"]
    assert services["engine"]["stop_grace_period"] == "30s"  # more than uvicorn's 20 s drain


def test_published_on_loopback_by_default(compose):
    assert compose["services"]["engine"]["ports"] == ["127.0.0.1:8000-8001:8000"]
    assert "ports" not in compose["services"]["postgres"]
