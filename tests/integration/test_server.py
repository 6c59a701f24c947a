"""The API over real HTTP: httpx against a running `compliance-engine serve` (uvicorn) process."""
from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from service.rulebase.loading import MAX_FILES
from tests.helpers import RULES, make_profile
from tests.integration.servers import BIN, start_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("server"))
    yield s
    s.stop_gracefully()


def test_post_and_read_back_over_http(server):
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/assessments", json=make_profile())
        assert r.status_code == 201
        body = r.json()
        assert body["obligations"] and all(o["citations"] for o in body["obligations"])
        again = http.get(f"/v1/assessments/{body['assessment_id']}")
        assert again.content == r.content
        assert http.get("/v1/assessments/01J00000000000000000000000").status_code == 404
        bad = http.post("/v1/assessments", json=make_profile(services=[{"type": "nope"}]))
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "services[0].type"
        ready = http.get("/readyz").json()
        assert ready["ruleset"]["version"] == body["ruleset"]["version"]


def test_two_workers_serve(tmp_path):
    s = start_server(tmp_path, env={"WORKERS": "2"})
    try:
        with httpx.Client(base_url=s.url, timeout=10) as http:
            answers = [http.post("/v1/assessments", json=make_profile()).json() for _ in range(20)]
            versions = {answer["ruleset"]["version"] for answer in answers}
        assert len(versions) == 1
    finally:
        s.stop_gracefully()


def test_a_broken_rule_file_stops_start_up_naming_file_rule_and_field(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "miit-2017-internet-access-market-cleanup.yaml"
    path.write_text(path.read_text().replace("severity: critical", "severity: catastrophic", 1))
    s = start_server(tmp_path, env={"RULES_DIR": str(rules)}, wait=False)
    code = s.process.wait(60)
    out = s.output()
    assert code != 0
    assert "miit-2017-internet-access-market-cleanup.yaml:cleanup.unlicensed-business:severity" in out
    assert "refusing to start" in out



def test_a_rules_dir_past_the_size_limit_stops_start_up_with_a_clear_line(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    for i in range(MAX_FILES + 1 - sum(1 for p in rules.rglob("*") if p.is_file())):
        (rules / f"extra-{i}.txt").write_text("")
    s = start_server(tmp_path, env={"RULES_DIR": str(rules)}, wait=False)
    code = s.process.wait(60)
    out = s.output()
    assert code != 0
    assert f"refusing to start: a rule set holds at most {MAX_FILES} files" in out
    assert "Traceback" not in out

def test_cli_check_and_eval(tmp_path):
    checked = subprocess.run([str(BIN / "compliance-engine"), "check", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "example checks passed" in checked.stdout
    profile = tmp_path / "p.json"
    import json

    profile.write_text(json.dumps(make_profile()))
    out = subprocess.run([str(BIN / "compliance-engine"), "eval", str(profile), "--as-of", "2017-02-01"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "as of 2017-02-01" in out.stdout and "[OBLIGATION" in out.stdout and "cites " in out.stdout
    assert "Your IDC permit dates from before the 2015 catalogue (1 June 2011)" in out.stdout  # the explanation
    assert "deadlines within 365 days:\n  2017-03-31" in out.stdout
    none = subprocess.run([str(BIN / "compliance-engine"), "eval", str(profile), "--as-of", "2017-02-01",
                           "--horizon-days", "0"], capture_output=True, text=True)
    assert none.returncode == 0 and "deadlines within" not in none.stdout
    as_json = subprocess.run([str(BIN / "compliance-engine"), "eval", str(profile), "--json"],
                             capture_output=True, text=True)
    assert json.loads(as_json.stdout)["obligations"]
