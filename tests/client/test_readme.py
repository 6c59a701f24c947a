"""README.md's "The Python client" runs as written against a real server: the lines an internal system needs, with
a profile the service takes and one it refuses, and the async variant."""
from __future__ import annotations

import asyncio
import contextlib
import io
import re
import textwrap

import pytest

from service.client import AsyncComplianceClient
from tests.helpers import REPO, make_profile

pytestmark = pytest.mark.integration


def snippets() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The Python client\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run(code: str, **names: object) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, dict(names))  # the README's own code
    return out.getvalue()


def test_the_readme_lines_assess_and_show_the_errors_of_a_refused_profile(server):
    first, _ = snippets()
    printed = run(first, url=server.url, token=None, profile=make_profile()).splitlines()
    assert len(printed) >= 2 and printed[0].startswith(("violation ", "obligation ", "prohibition "))
    request_id, version = printed[-1].split()
    assert re.fullmatch(r"[0-9a-f]{32}", request_id) and re.fullmatch(r"\d{4}\.\d\d\.\d\d-\d+", version)

    refused = run(first, url=server.url, token=None, profile=make_profile(services=[{"type": "nope"}]))
    assert refused.startswith("[('services[0].type', \"Input should be 'idc', 'cloud_computing'")


def test_the_readme_async_lines(server):
    _, second = snippets()
    namespace = {"AsyncComplianceClient": AsyncComplianceClient, "url": server.url, "token": None,
                 "profile": make_profile()}
    exec("async def main():\n" + textwrap.indent(second, "    ") + "    return result\n", namespace)
    result = asyncio.run(namespace["main"]())
    assert result.status == 201 and result.value.obligations
