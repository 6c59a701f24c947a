"""`compliance-engine rulesets ...` (made with the client) against a real server: the commands, flags and output
operators know, errors as one line per problem, and a server that does not answer as a message, not a traceback."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import httpx
import pytest

from tests.api.test_rulesets import CLEANUP
from tests.helpers import RULES, TOKENS, make_profile
from tests.integration.servers import BIN, free_port

pytestmark = pytest.mark.integration


def rulesets(server, *args: str, token: str | None = TOKENS["operator"]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMPLIANCE_URL": server.url}
    env.pop("COMPLIANCE_TOKEN", None)
    if token:
        env["COMPLIANCE_TOKEN"] = token
    return subprocess.run([str(BIN / "compliance-engine"), "rulesets", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def listed(server) -> list[str]:
    """The lines `rulesets list` has always printed, from the JSON of GET /v1/rulesets."""
    body = httpx.get(f"{server.url}/v1/rulesets", headers={"Authorization": f"Bearer {TOKENS['reader']}"}).json()
    return [f"{'*' if v['active'] else ' '} {v['version']:<16} {v['rule_count']:>4} rules  {v['digest'][:19]}  "
            f"{v['created_at']}  by {v['created_by']}" for v in body["versions"]]


def test_the_operator_commands(server, tmp_path):
    none_before = rulesets(server, "rollback")
    assert none_before.returncode == 1 and none_before.stderr == "no earlier version to roll back to\n"
    httpx.post(f"{server.url}/v1/assessments", json=make_profile(), timeout=30).raise_for_status()

    listing = rulesets(server, "list")
    assert listing.returncode == 0 and listing.stdout.splitlines() == listed(server)
    old = listing.stdout.split()[1]

    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    cleanup = folder / CLEANUP
    cleanup.write_text(cleanup.read_text(encoding="utf-8").replace(
        "title: IDC, ISP or CDN business conducted without the corresponding telecom business permit",
        "title: Unlicensed business (operator CLI)", 1), encoding="utf-8")
    stored = rulesets(server, "upload", str(folder))
    found = re.fullmatch(r"stored as version (\S+) \((\d+) rules, (sha256:[0-9a-f]{64})\)\n", stored.stdout)
    assert stored.returncode == 0 and found, stored.stdout + stored.stderr
    new = found.group(1)
    again = rulesets(server, "upload", str(folder))
    assert again.stdout == stored.stdout.replace("stored as", "already stored as", 1)
    assert rulesets(server, "list").stdout.splitlines() == listed(server)

    preview = rulesets(server, "preview", new, "--limit", "5")
    assert preview.returncode == 0
    assert preview.stdout.splitlines()[0] == f"0 of 1 assessments would change under {new} (active: {old})"

    activated = rulesets(server, "activate", new)
    assert re.fullmatch(rf"active: {re.escape(new)} \(\d+ rules\) by token:[0-9a-f]+\n", activated.stdout)
    assert rulesets(server, "list").stdout.splitlines()[0].startswith(f"* {new}")
    rolled = rulesets(server, "rollback")
    assert rolled.stdout == f"rolled back from {new} to {old}\n"

    audit = rulesets(server, "audit", "--limit", "3").stdout.splitlines()
    assert [line.split()[2:] for line in audit] == [
        ["rollback", "ok", new, "->", old], ["activate", "ok", old, "->", new], ["upload", "unchanged", "-", "->", new]]

    reloaded = rulesets(server, "reload")
    assert re.fullmatch(r"active: \S+ \(\d+ rules\)\n", reloaded.stdout), reloaded.stderr


def test_errors_are_reported_one_line_per_problem(server, tmp_path):
    missing = rulesets(server, "activate", "no-such")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "404 Not found: no rule-set version 'no-such'\n"

    refused = rulesets(server, "reload", token="wrong-token-0123456789xx")
    assert refused.returncode == 1 and refused.stderr.startswith("401 Unauthorized: ")
    assert rulesets(server, "audit", token=TOKENS["reader"]).stderr.startswith("403 Forbidden: ")

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("rules: [{id: x}]\n")
    invalid = rulesets(server, "upload", str(bad))
    lines = invalid.stderr.splitlines()
    assert invalid.returncode == 1 and lines[0].startswith("422 Invalid rule set: ")
    assert "  x.yaml:x:title: Field required" in lines  # file:rule:path: message
    assert "  instruments.yaml: the instrument catalogue is missing" in lines


def test_no_server_is_a_message_not_a_traceback():
    url = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run([str(BIN / "compliance-engine"), "rulesets", "list", "--url", url], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == f"no answer from {url}: ConnectError: [Errno 111] Connection refused\n"
