"""The README's configuration table is where operators look: every setting the service reads is in it."""
from __future__ import annotations

import re

from service.settings import REPO_ROOT, Settings


def documented_variables() -> set[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)`", section, flags=re.M))


def test_every_setting_is_in_the_readme_configuration_table():
    missing = {name.upper() for name in Settings.model_fields} - documented_variables()
    assert not missing, f"settings missing from README.md's configuration table: {sorted(missing)}"


def test_the_table_names_no_setting_that_does_not_exist():
    # rows for compose, tests and prometheus-client are marked as such or read outside Settings
    outside = {"POSTGRES_PASSWORD", "PUBLISH_ADDRESS", "ENGINE_IMAGE", "TEST_DATABASE_URL", "CONTAINER_TESTS",
               "CONTAINER_BASE_IMAGE", "BROWSER_TESTS", "CHROMIUM", "PROMETHEUS_MULTIPROC_DIR"}
    unknown = documented_variables() - {name.upper() for name in Settings.model_fields} - outside
    assert not unknown, f"README.md documents variables nothing reads: {sorted(unknown)}"
