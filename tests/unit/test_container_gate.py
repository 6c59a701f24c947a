"""The container smoke test is skipped locally without its tools, and fails instead in CI."""
from __future__ import annotations

import pytest

from tests.integration import containers as ct


@pytest.fixture
def no_tools(monkeypatch):
    monkeypatch.setattr(ct.shutil, "which", lambda tool: None)


@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "1"}, {"CONTAINER_TESTS": "required"}])
def test_missing_tools_fail_in_ci(no_tools, monkeypatch, env):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CONTAINER_TESTS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(pytest.fail.Exception, match="buildah, debootstrap, podman.*failure, not a skip"):
        ct.skip_or_fail_without_tools()


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_missing_tools_skip_outside_ci(no_tools, monkeypatch, ci):
    monkeypatch.delenv("CONTAINER_TESTS", raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y buildah debootstrap podman"):
        ct.skip_or_fail_without_tools()
