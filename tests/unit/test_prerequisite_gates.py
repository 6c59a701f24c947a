"""Tests needing outside tools (tests/prerequisites.py) skip locally without them and fail instead in CI:
the browser tests without Chromium or Playwright, the container smoke test without buildah, debootstrap, podman."""
from __future__ import annotations

import pytest

from tests.browser import browsers
from tests.integration import containers as ct

GATES = {
    # gate: (what to break, its variable, the check, what a failure names, what a skip tells to install)
    "browser": (lambda mp: mp.setattr(browsers, "CHROMIUM", "/nonexistent/chromium"), "BROWSER_TESTS",
                browsers.skip_or_fail_without_browser, "Chromium at /nonexistent/chromium.*failure, not a skip",
                "apt-get install -y chromium"),
    "container": (lambda mp: mp.setattr(ct.shutil, "which", lambda tool: None), "CONTAINER_TESTS",
                  ct.skip_or_fail_without_tools, "buildah, debootstrap, podman.*failure, not a skip",
                  "apt-get install -y buildah debootstrap podman"),
}


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "1"}, {"<variable>": "required"}])
def test_missing_tools_fail_in_ci(monkeypatch, gate, env):
    break_it, variable, check, fails_with, _ = GATES[gate]
    break_it(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(variable, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(variable if key == "<variable>" else key, value)
    with pytest.raises(pytest.fail.Exception, match=fails_with):
        check()


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_missing_tools_skip_outside_ci(monkeypatch, gate, ci):
    break_it, variable, check, _, skips_with = GATES[gate]
    break_it(monkeypatch)
    monkeypatch.delenv(variable, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=skips_with):
        check()


def test_missing_playwright_is_named(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(browsers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="the playwright package"):
        browsers.skip_or_fail_without_browser()
