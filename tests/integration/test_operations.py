"""Operating the real server: structured logs, metrics over several workers, a worker killed under load,
the database down at start-up, and a full disk under SQLite."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.api.test_rulesets import retitled, rule_files
from tests.helpers import TOKENS, bearer, make_profile
from tests.integration.postgres import PrivatePostgres
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration

AUTH = ",".join(f"{token}={role}" for role, token in TOKENS.items())


def worker_pids(url: str, expected: int, timeout: float = 30) -> set[int]:
    """The worker processes behind `url`, found by asking /readyz on fresh connections until all answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        with httpx.Client(timeout=5) as http:  # a new connection each time: the kernel spreads them over workers
            r = http.get(f"{url}/readyz")
            if r.status_code == 200:
                seen.add(r.json()["process"])
    assert len(seen) == expected, seen
    return seen


def test_json_logs_carry_the_request_id_and_never_a_token(tmp_path):
    server = start_server(tmp_path, env={"LOG_FORMAT": "json", "AUTH_TOKENS": AUTH, "WORKERS": "2"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            r = http.post("/v1/assessments", json=make_profile(), headers={"X-Request-ID": "trace-7f3a"})
            assert r.status_code == 201 and r.headers["X-Request-ID"] == "trace-7f3a"
            files = retitled(rule_files(), "Unlicensed business (logged)")
            up = http.post("/v1/rulesets", json={"files": files},
                           headers={**bearer("operator"), "X-Request-ID": "op-1"})
            assert up.status_code == 201, up.text
            wrong = "wrong-token-but-secret-0123456789"
            assert http.post("/v1/rulesets/reload", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
            malformed = http.post("/v1/rulesets", content=b"{",
                                  headers={**bearer("operator"), "Content-Type": "application/json"})
            assert malformed.status_code in (400, 422)
    finally:
        server.stop_gracefully()
    out = server.output()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "service.access"]
    assert any(line["request_id"] == "trace-7f3a" and line["route"] == "/v1/assessments" and line["status"] == 201
               for line in access), access
    assert any(line["request_id"] == "op-1" and line["status"] == 201 for line in access)
    messages = {line["message"].split(" [")[0] for line in lines}
    assert {"Started parent process", "Application startup complete."} & messages
    for token in [*TOKENS.values(), wrong]:
        assert token not in out


def test_metrics_are_gathered_from_every_worker(tmp_path):
    server = start_server(tmp_path, env={"WORKERS": "2"})
    try:
        pids = worker_pids(server.url, 2)
        with httpx.Client(timeout=5) as http:
            scrape = http.get(f"{server.url}/metrics").text
        readyz = re.findall(r'compliance_http_requests_total\{[^}]*route="/readyz"[^}]*\} (\S+)', scrape)
        counted = sum(float(v) for v in readyz)
        assert counted >= 2  # both workers' /readyz answers, whichever worker was scraped
        active = re.findall(r'compliance_ruleset_active\{[^}]*pid="(\d+)"[^}]*\} 1\.0', scrape)
        assert {int(p) for p in active} == pids  # each worker says which version it serves
    finally:
        server.stop_gracefully()


def test_a_worker_killed_under_load_leaves_the_others_serving(tmp_path):
    server = start_server(tmp_path, env={"WORKERS": "2"})
    ok: list[str] = []
    failures: list[str] = []
    after_kill: list[int] = []
    killed = threading.Event()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while not stop.is_set():
                try:
                    r = http.post("/v1/assessments", json=make_profile())
                except httpx.TransportError as exc:  # the connection the killed worker held
                    failures.append(repr(exc))
                    continue
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                    continue
                ok.append(r.json()["assessment_id"])
                if killed.is_set():
                    after_kill.append(r.status_code)

    try:
        victim = min(worker_pids(server.url, 2))
        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        os.kill(victim, signal.SIGKILL)
        killed.set()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join()
        # only connections held by the dead worker broke, and none got an error status
        disconnects = ("RemoteProtocolError", "ReadError", "ConnectError", "WriteError")
        assert all(f.startswith(disconnects) for f in failures), failures
        assert len(failures) <= 8, failures
        assert len(after_kill) > 50, "the surviving worker kept answering"
        replaced = worker_pids(server.url, 2)  # uvicorn started a new worker in its place
        assert victim not in replaced
        assert f"Child process [{victim}] died" in server.output()
        with httpx.Client(base_url=server.url, timeout=10) as http:
            # every answered assessment is readable, those the dead worker answered too (its journal is replayed)
            deadline = time.monotonic() + 20
            missing = ok
            while missing and time.monotonic() < deadline:
                missing = [i for i in missing if http.get(f"/v1/assessments/{i}").status_code != 200]
                time.sleep(0.2)
            assert not missing, f"{len(missing)} of {len(ok)} answered assessments unreadable"
            scrape = http.get("/metrics").text
        assert str(victim) not in re.findall(r'compliance_ruleset_active\{[^}]*pid="(\d+)"', scrape)
    finally:
        stop.set()
        server.stop_gracefully()


def test_database_down_at_start_up(tmp_path):
    pg = PrivatePostgres()  # initialised, not started: the database is down when the service starts
    try:
        server = start_server(tmp_path, env={"DATABASE_URL": pg.url, "RULESET_POLL_SECONDS": "0.5"}, wait=False)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert server.process.poll() is None, server.output()
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)
            ready = http.get("/readyz")
            assert ready.status_code == 503
            problems = " ".join(ready.json()["problems"])
            assert "database unreachable" in problems and "RULES_DIR" in problems
            # evaluation answers from the rules on disk when it need not be recorded
            r = http.post("/v1/assessments", params={"record": "false"}, json=make_profile())
            assert r.status_code == 200 and r.json()["obligations"]
            # recorded: taken into the journal on disk, in the database once it is back
            recorded = http.post("/v1/assessments", json=make_profile())
            assert recorded.status_code == 201, recorded.text
            listing = http.get("/v1/rulesets")  # what only the database knows: 503, retry later, never a 500
            assert listing.status_code == 503 and listing.headers["Retry-After"], listing.text
            pg.start()
            deadline = time.monotonic() + 30
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, http.get("/readyz").text
                time.sleep(0.2)
            active = http.get("/v1/rulesets/active")
            # the files it served are now stored and active: the same digest, under a stored version label
            assert r.json()["ruleset"]["version"].startswith("local-")
            assert active.status_code == 200 and active.json()["digest"] == r.json()["ruleset"]["digest"], active.text
            deadline = time.monotonic() + 30
            while True:
                with psycopg.connect(pg.url.replace("+psycopg", "")) as conn:
                    stored = conn.execute("SELECT count(*) FROM assessment WHERE id = %s",
                                          (recorded.json()["assessment_id"],)).fetchone()[0]
                if stored or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert stored == 1
        server.stop_gracefully()
    finally:
        pg.remove()


@pytest.fixture
def small_disk(tmp_path):
    """A real 24 MiB tmpfs: the service's database and journal live on it, and the test fills it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if os.environ.get("CI"):
            pytest.fail("the disk-full test needs root to mount a tmpfs (CI runs as root)")
        pytest.skip("needs root to mount a tmpfs")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_under_sqlite_gives_a_clear_error_and_corrupts_nothing(tmp_path, small_disk):
    server = start_server(tmp_path, env={"DATABASE_URL": f"sqlite:///{small_disk}/service.db",
                                         "DECISION_JOURNAL_DIR": str(small_disk / "journal")})
    answered: list[str] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(20):
                r = http.post("/v1/assessments", json=make_profile())
                assert r.status_code == 201
                answered.append(r.json()["assessment_id"])
            filler = fill(small_disk)
            statuses = []
            for _ in range(200):
                r = http.post("/v1/assessments", json=make_profile(services=[{"type": "cdn", "regions": ["CN-GD"]}]))
                statuses.append(r.status_code)
                if r.status_code == 201:
                    answered.append(r.json()["assessment_id"])
                else:
                    assert r.status_code == 503, r.text
                    problem = r.json()
                    assert "disk" in problem["detail"] and r.headers["Retry-After"]
            assert 503 in statuses, "the disk is full: recording must fail loudly"
            # evaluation that does not record still answers
            assert http.post("/v1/assessments", params={"record": "false"}, json=make_profile()).status_code == 200
            assert http.get("/healthz").status_code == 200
            filler.unlink()  # space again: recording resumes
            deadline = time.monotonic() + 10
            while (r := http.post("/v1/assessments", json=make_profile())).status_code != 201:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.2)
            answered.append(r.json()["assessment_id"])
            deadline = time.monotonic() + 20
            missing = answered
            while missing and time.monotonic() < deadline:
                missing = [i for i in missing if http.get(f"/v1/assessments/{i}").status_code != 200]
                time.sleep(0.2)
            assert not missing, f"{len(missing)} answered assessments unreadable after the disk filled"
    finally:
        server.stop_gracefully()
    with sqlite3.connect(small_disk / "service.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM assessment")}
    assert set(answered) <= stored
    for segment in (small_disk / "journal").glob("*.jsonl"):  # whatever is left parses: no torn line
        for line in segment.read_text().splitlines():
            json.loads(line)
