"""An expensive evaluation does not hold up the others (issue 14): a real server with one worker evaluates heavy
valid profiles and a batch of them while GET /healthz is probed every 50 ms; no probe waits over 100 ms, and a
cheap assessment sent meanwhile is answered at once."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from bench.profiles import SMALL, heavy
from tests.integration.servers import start_server

pytestmark = pytest.mark.integration


def test_health_probes_and_cheap_assessments_are_not_queued_behind_heavy_evaluations(tmp_path):
    server = start_server(tmp_path, env={"WORKERS": "1"})
    stop = threading.Event()
    statuses: list[int] = []
    probes: list[float] = []
    cheap: list[float] = []

    def heavy_client(name: str) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            n = 0
            while not stop.is_set():
                n += 1
                statuses.append(client.post("/v1/assessments", json=heavy(f"{name} {n}")).status_code)

    def batch_client() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            r = client.post("/v1/assessments/batch", json={"profiles": [heavy(f"Batch item {i}") for i in range(6)]})
            statuses.append(r.status_code)
            statuses.extend(item["status"] for item in r.json()["items"])

    try:
        workers = [threading.Thread(target=heavy_client, args=(f"Heavy {i}",)) for i in range(2)]
        workers.append(threading.Thread(target=batch_client))
        for w in workers:
            w.start()
        time.sleep(0.5)  # the heavy evaluations are running
        with httpx.Client(base_url=server.url, timeout=30) as client:
            deadline = time.monotonic() + 3
            n = 0
            while time.monotonic() < deadline:
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                probes.append(time.perf_counter() - started)
                if len(probes) % 10 == 0:  # now and then, a cheap assessment of a profile never seen
                    n += 1
                    started = time.perf_counter()
                    profile = {**SMALL, "business": {**SMALL["business"], "name": f"Cheap {n}"}}
                    assert client.post("/v1/assessments", json=profile).status_code == 201
                    cheap.append(time.perf_counter() - started)
                time.sleep(0.05)
        stop.set()
        for w in workers:
            w.join(timeout=120)
    finally:
        stop.set()
        server.stop()
    assert len(probes) >= 30
    assert max(probes) < 0.1, f"slowest /healthz {max(probes) * 1000:.0f} ms (of {len(probes)} probes)"
    assert cheap and max(cheap) < 0.5, f"slowest cheap assessment {max(cheap) * 1000:.0f} ms"
    assert statuses and set(statuses) <= {200, 201}, statuses  # every heavy evaluation finished in its budget
