"""No data lost: the database goes away in the middle of a load, and every assessment answered 2xx is
readable afterwards. SIGTERM flushes the decision log before the process exits."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers import make_profile
from tests.integration.postgres import PrivatePostgres
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration

PROFILE = make_profile(licences=[], services=[{"type": "cdn", "regions": ["CN-GD"]}])


def post_continuously(url: str, stop: threading.Event, ok: list[str], refused: list[int], errors: list[str]) -> None:
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            try:
                r = http.post(f"{url}/v1/assessments", json=PROFILE)
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            if r.status_code == 201:
                ok.append(r.json()["assessment_id"])
            elif r.status_code == 503:
                refused.append(r.status_code)
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")


def test_database_outage_in_the_middle_of_a_load(tmp_path):
    pg = PrivatePostgres()
    try:
        run_outage(pg, tmp_path)
    finally:
        pg.remove()


def run_outage(pg: PrivatePostgres, tmp_path) -> None:
    pg.start()
    pg.wait_ready()
    server = start_server(tmp_path, env={"DATABASE_URL": pg.url, "RULESET_POLL_SECONDS": "0.5",
                                         "DECISION_BUFFER_MAX": "400"})
    stop = threading.Event()
    ok: list[str] = []
    refused: list[int] = []
    errors: list[str] = []
    threads = [threading.Thread(target=post_continuously, args=(server.url, stop, ok, refused, errors))
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    pg.stop("immediate")  # the database goes away mid-load
    time.sleep(4)
    during = len(ok)
    pg.start()
    pg.wait_ready()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert refused, "with the buffer full the service refuses (503) rather than dropping records"
    # every answered assessment reaches the database once it is back
    engine = create_engine(pg.url)
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT id FROM assessment")).scalars())
        if set(ok) <= stored or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    engine.dispose()
    missing = set(ok) - stored
    assert not missing, f"{len(missing)} answered assessments were lost"
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for assessment_id in list(ok)[:: max(1, len(ok) // 20)]:
            assert http.get(f"/v1/assessments/{assessment_id}").status_code == 200
    server.stop_gracefully()
    print(f"answered {len(ok)} (of which {during} before the database came back), refused {len(refused)} with 503")


def test_sigterm_flushes_the_decision_log(tmp_path):
    server = start_server(tmp_path)
    answered = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(200):
            r = http.post("/v1/assessments", json=PROFILE)
            assert r.status_code == 201
            answered.append(r.json()["assessment_id"])
    server.stop_gracefully()
    engine = create_engine(f"sqlite:///{tmp_path}/service.db")
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT id FROM assessment")).scalars())
    engine.dispose()
    assert set(answered) <= stored
    assert list((tmp_path / "journal").glob("*.jsonl")) == []  # everything flushed, nothing left to replay
