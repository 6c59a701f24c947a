"""The browser tests are skipped locally without Chromium or Playwright, and fail instead in CI."""
from __future__ import annotations

import pytest

from tests.browser import browsers


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(browsers, "CHROMIUM", "/nonexistent/chromium")


@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "1"}, {"BROWSER_TESTS": "required"}])
def test_missing_chromium_fails_in_ci(no_chromium, monkeypatch, env):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BROWSER_TESTS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(pytest.fail.Exception, match="Chromium at /nonexistent/chromium.*failure, not a skip"):
        browsers.skip_or_fail_without_browser()


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_missing_chromium_skips_outside_ci(no_chromium, monkeypatch, ci):
    monkeypatch.delenv("BROWSER_TESTS", raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        browsers.skip_or_fail_without_browser()


def test_missing_playwright_is_named(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(browsers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="the playwright package"):
        browsers.skip_or_fail_without_browser()
