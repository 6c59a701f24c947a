"""Activation across real processes: uvicorn --workers 2 on SQLite, and two uvicorn processes sharing PostgreSQL.

Under a steady stream of concurrent evaluations an operator activates a new version, then rolls
back: no request fails, every answer is wholly of the version it names, and every process
serves the new version within 2 seconds.
"""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.helpers import TOKENS, bearer, make_profile
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration

RULE = "cleanup.unlicensed-business"
OLD_TITLE = "IDC, ISP or CDN business conducted without the corresponding telecom business permit"
NEW_TITLE = "Unlicensed IDC, ISP or CDN business (version under test)"
PROFILE = make_profile(licences=[], services=[{"type": "cdn", "regions": ["CN-GD"]}])
AUTH_ENV = {"AUTH_TOKENS": ",".join(f"{t}={r}" for r, t in TOKENS.items()), "RULESET_POLL_SECONDS": "0.5"}


def new_rule_files() -> dict[str, str]:
    from tests.api.test_rulesets import retitled, rule_files

    return retitled(rule_files(), NEW_TITLE)


class Load:
    """Threads posting the profile continuously, checking every answer against the version it names."""

    def __init__(self, urls: list[str], titles: dict[str, str], threads: int = 6):
        self.urls, self.titles = urls, titles
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.mixed: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, i: int) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                url = self.urls[i % len(self.urls)]
                try:
                    r = http.post(f"{url}/v1/assessments", json=PROFILE)
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.failures.append(repr(exc))
                    continue
                with self.lock:
                    if r.status_code != 201:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")
                        continue
                    body = r.json()
                    version = body["ruleset"]["version"]
                    title = {o["rule_id"]: o["title"] for o in body["obligations"]}.get(RULE)
                    if (version not in self.titles or title != self.titles[version]
                            or r.headers["X-Ruleset-Version"] != version):
                        self.mixed.append(f"{version}: {title}")
                    self.ok += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def processes(urls: list[str], expected: int) -> dict[int, str]:
    """pid -> version for every serving process (several connections per URL reach every worker)."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + 20
    while len(seen) < expected and time.monotonic() < deadline:
        for url in urls:
            body = httpx.get(f"{url}/readyz", timeout=5).json()
            seen[body["process"]] = body["ruleset"]["version"]
    assert len(seen) == expected, seen
    return seen


def wait_all_on(urls: list[str], pids: set[int], version: str, since: float) -> float:
    """Seconds from `since` until every process reports `version`."""
    pending = set(pids)
    while pending:
        for url in urls:
            body = httpx.get(f"{url}/readyz", timeout=5).json()
            if body["ruleset"]["version"] == version:
                pending.discard(body["process"])
        if time.monotonic() - since > 10:
            break
        time.sleep(0.02)
    assert not pending, f"processes {pending} never served {version}"
    return time.monotonic() - since


def exercise(urls: list[str], expected_processes: int) -> dict[str, float]:
    api = urls[0]
    with httpx.Client(base_url=api, timeout=60, headers=bearer("operator")) as http:
        old = http.get("/v1/rulesets/active").json()["version"]
        upload = http.post("/v1/rulesets", json={"files": new_rule_files()})
        assert upload.status_code in (200, 201), upload.text
        new = upload.json()["version"]
        pids = set(processes(urls, expected_processes))
        timings = {}
        with Load(urls, {old: OLD_TITLE, new: NEW_TITLE}) as load:
            time.sleep(1.0)
            t0 = time.monotonic()
            assert http.post(f"/v1/rulesets/{new}/activate").status_code == 200
            timings["activate"] = wait_all_on(urls, pids, new, t0)
            time.sleep(1.0)
            t0 = time.monotonic()
            assert http.post(f"/v1/rulesets/{old}/activate").status_code == 200
            timings["rollback"] = wait_all_on(urls, pids, old, t0)
            time.sleep(1.0)
    assert load.failures == [], load.failures[:5]
    assert load.mixed == [], load.mixed[:5]
    assert load.ok > 50, load.ok
    assert timings["activate"] < 2.0 and timings["rollback"] < 2.0, timings
    return timings


def test_two_workers_on_sqlite(tmp_path):
    server = start_server(tmp_path, env={**AUTH_ENV, "WORKERS": "2"})
    try:
        print("propagation, 2 workers on SQLite:", exercise([server.url], 2))
    finally:
        server.stop_gracefully()


def test_two_processes_sharing_postgresql(tmp_path, postgres_url):
    """The poll is set to 30 s here: the new version can only arrive in time through LISTEN/NOTIFY."""
    env = {**AUTH_ENV, "DATABASE_URL": postgres_url, "RULESET_POLL_SECONDS": "30"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_server(tmp_path / "a", env=env)
    second = start_server(tmp_path / "b", env={**env, "RULESET_ON_START": "database"})
    try:
        print("propagation, 2 processes on PostgreSQL:", exercise([first.url, second.url], 2))
    finally:
        first.stop_gracefully()
        second.stop_gracefully()
