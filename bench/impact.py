"""Portfolio impact at scale: N recorded businesses (generated profiles, inserted straight into the database), one
impact job of a retitled rule-set version, real servers doing the work. Prints the time, businesses per second,
how the work was split between the processes, and their memory.

  .venv/bin/python bench/impact.py --businesses 100000                      # SQLite: one process runs the job
  .venv/bin/python bench/impact.py --businesses 100000 --workers 2 \\
      --database postgresql://user:password@127.0.0.1/db                    # PostgreSQL: 2 server processes share it

The database is emptied first (PostgreSQL: its public schema is dropped), so point --database at a scratch one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles import generated  # noqa: E402
from bench.throughput import BIN, start, stop_server  # noqa: E402
from tests.integration.servers import free_port  # noqa: E402

TOKEN = "bench-impact-operator-token"
SEED_BATCH = 1000


def seed(url: str, businesses: int, first: int = 0) -> list[str]:
    """Record `businesses` generated businesses (subjects bench-<i>) straight into the decision log, a batch at a
    time, as the journal keeper would (profile as stated, business key); the version they name is the active one.
    Returns the subjects."""
    from sqlalchemy import insert

    from service import businesses as keys
    from service import evaluation, ids
    from service.profile.model import Profile
    from service.store import ruleset_versions
    from service.store.db import Database
    from service.store.tables import AssessmentRecord

    db = Database(url)
    active = ruleset_versions.active(db)
    assert active is not None, "start a server on the database first: it migrates it and activates rules/"
    subjects = []
    try:
        for start_at in range(first, first + businesses, SEED_BATCH):
            count = min(SEED_BATCH, first + businesses - start_at)
            rows = []
            for i, profile in enumerate(generated(count, seed=start_at + 1)):
                subject = f"bench-{start_at + i}"
                model = Profile.model_validate(profile)
                stated = evaluation.stated(model)
                rows.append({"id": ids.assessment_id(), "created_at": dt.datetime.now(dt.UTC), "kind": "assessment",
                             "ruleset_version": active.version, "ruleset_digest": active.digest,
                             "as_of": model.effective_as_of(), "profile": stated, "response": "{}",
                             "body_sha": None, "subject": subject, "business": keys.key(subject, stated)})
                subjects.append(subject)
            with db.engine.begin() as conn:
                conn.execute(insert(AssessmentRecord), rows)
    finally:
        db.dispose()
    return subjects


def empty(url: str) -> None:
    if url.startswith(("postgresql", "postgres")):
        from tests.helpers import reset_postgres

        reset_postgres(url)
    elif url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def rss_mb(pids: list[int]) -> dict[int, float]:
    """Resident memory of each server process and its children (uvicorn workers, journal keepers), by pid."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            pgid = os.getpgid(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
        if pgid in pids and "journal_keeper" not in (proc / "cmdline").read_text(errors="replace"):
            rss = next(line for line in status.splitlines() if line.startswith("VmRSS"))
            out[int(proc.name)] = int(rss.split()[1]) / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--businesses", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL) or uvicorn workers "
                                                               "(SQLite, where one process runs the job)")
    parser.add_argument("--database", default="", help="a SQLAlchemy URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-impact-"))
    url = args.database or f"sqlite:///{tmp}/bench.db"
    empty(url)
    postgres = url.startswith(("postgresql", "postgres"))
    env = {"DATABASE_URL": url, "AUTH_TOKENS": f"{TOKEN}=operator", "LOG_LEVEL": "warning", "ACCESS_LOG": "false",
           "IMPACT_POLL_SECONDS": "0.2"}
    servers, urls = [], []
    for n in range(args.workers if postgres else 1):
        port = free_port()
        (tmp / str(n)).mkdir()
        process_env = {**env, "PORT": str(port), "DECISION_JOURNAL_DIR": str(tmp / str(n) / "journal"),
                       "WORKERS": "1" if postgres else str(args.workers),
                       "RULESET_ON_START": "disk" if n == 0 else "database"}
        servers.append(start([str(BIN / "compliance-engine"), "serve"], process_env, port, tmp / f"server-{n}.log"))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        t0 = time.monotonic()
        seed(url, args.businesses)
        print(f"seeded {args.businesses:,} businesses in {time.monotonic() - t0:.1f} s")
        from tests.api.test_rulesets import retitled, rule_files

        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=urls[0], headers=auth, timeout=120) as http:
            version = http.post("/v1/rulesets", json={"files": retitled(rule_files(), "Retitled (bench)")}).json()
            t0 = time.monotonic()
            started = http.post(f"/v1/rulesets/{version['version']}/impact")
            assert started.status_code == 202, started.text
            created = time.monotonic() - t0
            location = started.headers["Location"]
            peak: dict[int, float] = {}
            early: dict[int, float] = {}  # at a tenth of the job: the memory after the start-up of the work
            while True:
                job = http.get(location, params={"limit": 1}).json()
                rss = rss_mb([s.pid for s in servers])
                for pid, mb in rss.items():
                    peak[pid] = max(peak.get(pid, 0.0), mb)
                if not early and job["done"] >= job["total"] / 10:
                    early = rss
                if job["state"] == "done":
                    break
                time.sleep(0.5)
            last = rss_mb([s.pid for s in servers])
            elapsed = time.monotonic() - t0
        shares = split(url, job["job"])
        print(f"impact of {job['total']:,} businesses on {'PostgreSQL' if postgres else 'SQLite'}, "
              f"{args.workers} {'server processes' if postgres else 'uvicorn workers'}: {elapsed:.1f} s "
              f"({job['total'] / elapsed:,.0f} businesses/s; job created in {created:.2f} s)")
        print(f"businesses changed {job['totals']['businesses_changed']:,}, failed {job['failed']:,}")
        print("evaluated per process: " + ", ".join(f"{n:,}" for n in sorted(shares.values(), reverse=True))
              + f"; claimed more than once: {shares_twice(url, job['job'])}")
        print("RSS per process (MB) at a tenth of the job / at its end / peak: " + ", ".join(
            f"{early.get(pid, 0):.0f} / {last.get(pid, 0):.0f} / {mb:.0f}" for pid, mb in sorted(peak.items())))
    finally:
        for process in servers:
            stop_server(process)


def split(url: str, job_id: str) -> dict[str, int]:
    """Businesses evaluated by each worker process."""
    from sqlalchemy import func, select

    from service.store.db import Database
    from service.store.tables import ImpactItem

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(select(ImpactItem.claimed_by, func.count()).where(ImpactItem.job_id == job_id)
                                .group_by(ImpactItem.claimed_by)).all()
    finally:
        db.dispose()
    return {str(worker): n for worker, n in rows}


def shares_twice(url: str, job_id: str) -> int:
    from sqlalchemy import func, select

    from service.store.db import Database
    from service.store.tables import ImpactItem

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ImpactItem).where(
                ImpactItem.job_id == job_id, ImpactItem.attempts > 1)).scalar_one())
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
