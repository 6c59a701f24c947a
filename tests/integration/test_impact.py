"""A portfolio impact job shared by two real server processes on one PostgreSQL database: no business is evaluated
twice, a SIGKILLed server's claimed share is taken over by the other once its lease runs out, and the results equal
a straight re-evaluation of every business's latest profile under both versions (computed here, with the service's
engine, not its impact code)."""
from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bench.impact import seed
from service.store.db import Database
from service.store.tables import AssessmentRecord, ImpactItem
from tests.api.test_rulesets import retitled, rule_files
from tests.helpers import TOKENS, bearer, straight_impact
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4
ENV = {"AUTH_TOKENS": ",".join(f"{t}={r}" for r, t in TOKENS.items()), "IMPACT_POLL_SECONDS": "0.2",
       "IMPACT_CHUNK": "10", "IMPACT_LEASE_SECONDS": str(LEASE_SECONDS)}


def two_servers(tmp_path, url: str, **env: str):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_server(tmp_path / "a", env={**ENV, **env, "DATABASE_URL": url})
    second = start_server(tmp_path / "b", env={**ENV, **env, "DATABASE_URL": url, "RULESET_ON_START": "database"})
    return first, second


def start_job(url: str, businesses: int) -> tuple[str, str, str]:
    """Seed the businesses, upload a retitled version, start its impact: (job location, baseline, version)."""
    seed(os.environ["TEST_DATABASE_URL"], businesses)
    with httpx.Client(base_url=url, headers=bearer("operator"), timeout=120) as http:
        baseline = http.get("/v1/rulesets/active").json()["version"]
        upload = http.post("/v1/rulesets", json={"files": retitled(rule_files(), "Retitled (impact integration)")})
        assert upload.status_code in (200, 201), upload.text
        version = upload.json()["version"]
        started = http.post(f"/v1/rulesets/{version}/impact")
        assert started.status_code == 202, started.text
    return started.headers["Location"], baseline, version


def wait_done(url: str, location: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, headers=bearer("operator"), timeout=30) as http:
        while time.monotonic() < deadline:
            job = http.get(location, params={"limit": 1000}).json()
            if job["state"] == "done":
                pages = job["businesses"]
                while job["next_after"] is not None:
                    job = http.get(location, params={"limit": 1000, "after": job["next_after"]}).json()
                    pages += job["businesses"]
                return {**job, "businesses": pages}
            time.sleep(0.3)
    raise AssertionError(f"job {location} not done in {timeout}s: {job}")


def items(url: str, job_id: str) -> list[ImpactItem]:
    db = Database(url)
    try:
        with db.session() as session:
            return list(session.exec(select(ImpactItem).where(ImpactItem.job_id == job_id)))
    finally:
        db.dispose()


def claims(url: str, job_id: str) -> list[tuple[int, str, str | None]]:
    """(item id, state, claimed by) of every item: what the kill needs, light enough to poll."""
    db = Database(url)
    try:
        with db.session() as session:
            query = select(ImpactItem.id, ImpactItem.state, ImpactItem.claimed_by).where(ImpactItem.job_id == job_id)
            return [(int(i or 0), s, c) for i, s, c in session.exec(query)]
    finally:
        db.dispose()


def straight(url: str, baseline: str, version: str) -> dict[str, dict[str, list[str]]]:
    """Every business's latest profile, evaluated here under both versions: rule ids added, removed, changed."""
    from service.store import ruleset_versions
    from service.versions import Versions

    db = Database(url)
    try:
        with db.session() as session:
            rows = session.exec(select(AssessmentRecord.business, AssessmentRecord.profile)
                                .order_by(AssessmentRecord.created_at, AssessmentRecord.id)).all()
        latest = {business: profile for business, profile in rows}
        versions = Versions(db)
        old = versions.load(ruleset_versions.get(db, baseline), "test").compiled
        new = versions.load(ruleset_versions.get(db, version), "test").compiled
    finally:
        db.dispose()
    return straight_impact(old, new, {business: json.loads(profile) for business, profile in latest.items()})


def check_results(job: dict[str, Any], expected: dict[str, dict[str, list[str]]]) -> None:
    assert job["total"] == len(expected) and job["failed"] == 0 and job["pending"] == 0
    listed = {b["business"]: {k: sorted(f["rule_id"] for f in b["changes"][k]) for k in ("added", "removed",
                                                                                         "changed")}
              for b in job["businesses"]}
    assert listed == {b: c for b, c in expected.items() if any(c.values())}
    assert job["totals"]["businesses_changed"] == len(listed) > 0


def test_two_servers_share_one_job_and_evaluate_no_business_twice(tmp_path, postgres_url):
    first, second = two_servers(tmp_path, postgres_url)
    try:
        location, baseline, version = start_job(first.url, 400)
        job = wait_done(second.url, location)
    finally:
        stopped = [first.stop(), second.stop()]  # both, whatever the first answers
    assert stopped == [-signal.SIGTERM] * 2, first.output()[-2000:] + second.output()[-2000:]
    work = items(postgres_url, job["job"])
    assert len(work) == job["total"] and all(i.state == "done" for i in work)
    assert [i.business for i in work if i.attempts != 1] == []  # each business claimed, and evaluated, once
    shares = {}
    for i in work:
        shares[i.claimed_by] = shares.get(i.claimed_by, 0) + 1
    assert len(shares) == 2 and min(shares.values()) >= 20, shares  # both processes took a real share
    check_results(job, straight(postgres_url, baseline, version))


def pid_of(url: str) -> int:
    """The worker process of a server (one worker): its runner's claims carry its pid."""
    return int(httpx.get(f"{url}/readyz", timeout=5).json()["process"])


def by(pid: int, worker: str | None) -> bool:
    return worker is not None and worker.split(":")[1] == str(pid)


def test_a_killed_servers_share_is_taken_over_after_its_lease(tmp_path, postgres_url):
    first, second = two_servers(tmp_path, postgres_url)
    try:
        first_pid, second_pid = pid_of(first.url), pid_of(second.url)
        location, baseline, version = start_job(first.url, 1500)
        job_id = location.rsplit("/", 1)[1]
        deadline = time.monotonic() + 180
        held: set[int] = set()
        while time.monotonic() < deadline:  # once both have done some work and the first holds claims: SIGKILL it
            work = claims(postgres_url, job_id)
            done_by = {worker.split(":")[1] for _, state, worker in work if state == "done" and worker}
            if len(done_by) == 2 and any(state == "claimed" and by(first_pid, worker) for _, state, worker in work):
                # frozen first, so what it holds cannot change between reading it and killing it
                os.killpg(first.process.pid, signal.SIGSTOP)
                held = {i for i, state, worker in claims(postgres_url, job_id)
                        if state == "claimed" and by(first_pid, worker)}
                if not held:  # it finished its chunk meanwhile: let it claim the next one
                    os.killpg(first.process.pid, signal.SIGCONT)
                    continue
                os.killpg(first.process.pid, signal.SIGKILL)
                first.process.wait(10)
                killed_at = time.monotonic()
                break
            time.sleep(0.02)
        assert held, "the first server held no claims when killed (the job was too short?)"
        job = wait_done(second.url, location)
        assert time.monotonic() - killed_at >= LEASE_SECONDS - 1  # its share waited for the lease to run out
    finally:
        first.stop(signal.SIGKILL)
        second.stop()
    work = {i.id: i for i in items(postgres_url, job["job"])}
    assert all(i.state == "done" for i in work.values())
    assert {i for i, item in work.items() if item.attempts > 1} == held  # only the killed server's claims, again
    assert all(work[i].attempts == 2 and by(second_pid, work[i].claimed_by) for i in held)
    check_results(job, straight(postgres_url, baseline, version))
