"""A real server, Debian's Chromium driven by Playwright, a fresh browser context per test, and screenshots
kept in test-artifacts/ui/ (the CI run's artefacts)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import browsers
from tests.helpers import REPO
from tests.integration.servers import start_server

ARTIFACTS = REPO / "test-artifacts" / "ui"
# Chromium reports every 4xx answer to fetch() on the console; the page expects some (422, 401) and shows them
EXPECTED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of (401|403|404|422)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("ui-server"))
    yield s
    s.stop_gracefully()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (Playwright gives each launch a fresh, empty profile directory).

    Module-scoped, not session-scoped: Playwright's sync API runs its own event loop, which must be gone
    before the asyncio tests of other modules start theirs."""
    browsers.skip_or_fail_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browsers.CHROMIUM, args=browsers.ARGS)
        yield chromium
        chromium.close()


class PageProblems:
    """What went wrong in the page that it did not show the officer: script errors, policy refusals, assets
    that failed to load. Each test ends by asserting there were none."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.items.append(f"script error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type in ("error", "warning") and not EXPECTED_CONSOLE.match(message.text):
            self.items.append(f"console {message.type}: {message.text}")

    def _response(self, response) -> None:
        if "/ui/" in response.url and response.status >= 400:
            self.items.append(f"{response.status} for {response.url}")


def open_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = PageProblems()
    problems.watch(page)
    return context, page, problems


@pytest.fixture
def page(browser, server) -> Iterator:
    context, page, problems = open_page(browser, server.url)
    yield page
    context.close()
    assert not problems.items, problems.items


def shot(page, name: str, full_page: bool = True) -> Path:
    """A screenshot kept as a test artefact: test-artifacts/ui/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
