"""Debian's Chromium, driven by Playwright for Python, for the page's end-to-end tests.

Playwright's own browser download (`playwright install`) cannot work here (no network but the package
registries), so the tests drive the `chromium` package from Debian (`apt-get install -y chromium`; `.ci/run`
installs it) through `executable_path`. Locally the tests are skipped when Chromium or Playwright is
missing; in CI (CI set, as `.ci/run` runs) or with BROWSER_TESTS=required they fail instead.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from tests import prerequisites

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet: this machine has no network, and Chromium's background services (updates, sync,
# safe browsing, QUIC probes) would otherwise retry connections for the whole run.
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def required() -> bool:
    return prerequisites.required("BROWSER_TESTS")


def missing_prerequisites() -> list[str]:
    missing = []
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -r requirements.lock)")
    return missing


def skip_or_fail_without_browser() -> None:
    missing = missing_prerequisites()
    if not missing:
        return
    prerequisites.skip_or_fail(f"the browser tests need {' and '.join(missing)}; .ci/run installs them",
                               "BROWSER_TESTS")
