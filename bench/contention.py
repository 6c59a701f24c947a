"""Heavy evaluations beside cheap requests: does an expensive profile hold up the others?

    python bench/contention.py [--seconds 8] [--heavy 4] [--connections 8]

Starts the service as `make run` ships it (one worker, decision log on, the access log on) on loopback and, for
`--seconds` each, measures:

1. small profiles alone: every request a profile never seen before (a new business name), `--connections` at once;
2. `--heavy` clients posting heavy valid profiles (bench/profiles.py: 4 services in every province, 4 licences
   over 10 of them, about 0.45 s an evaluation) one after another, each new, and one client posting a batch of
   10 of them, while GET /healthz is probed every 50 ms: the probes' latency;
3. small profiles as in 1, beside the heavy clients of 2: requests/s and latency.

Prints small-profile requests/s alone and beside heavy ones, and the latency percentiles of the probes and of the
heavy requests. The client runs in this process (asyncio and httpx),
on the same machine: the figures compare the two phases, not the service with other servers.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profiles import SMALL, heavy  # noqa: E402
from tests.integration.servers import start_server  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def small_clients(url: str, seconds: float, connections: int, stop: asyncio.Event) -> tuple[int, list[float]]:
    done, latencies = 0, []
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < deadline and not stop.is_set():
            profile = {**SMALL, "business": {**SMALL["business"], "name": f"Small {os.getpid()} {next(counter)}"}}
            started = time.perf_counter()
            r = await client.post("/v1/assessments", json=profile)
            latencies.append(time.perf_counter() - started)
            if r.status_code == 201:
                done += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=connections)) as client:
        await asyncio.gather(*(one(client) for _ in range(connections)))
    return done, latencies


async def heavy_clients(url: str, count: int, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(10**9))

    async def one(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            r = await client.post("/v1/assessments", json=heavy(f"Heavy {next(counter)}"))
            latencies.append(time.perf_counter() - started)
            assert r.status_code in (201, 503), r.text[:300]

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await asyncio.gather(*(one(client) for _ in range(count)))
    return latencies


async def batch_client(url: str, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(10**9))
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        while not stop.is_set():
            started = time.perf_counter()
            r = await client.post("/v1/assessments/batch", json={"profiles": [heavy(f"Batch {next(counter)}")
                                                                             for _ in range(10)]})
            latencies.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text[:300]
    return latencies


async def probes(url: str, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            r = await client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert r.status_code == 200
            await asyncio.sleep(0.05)
    return latencies


async def measure(url: str, seconds: float, heavy_count: int, connections: int) -> None:
    stop = asyncio.Event()
    alone, alone_lat = await small_clients(url, seconds, connections, stop)
    print(f"small profiles alone: {alone / seconds:,.0f} req/s, p50 {pct(alone_lat, .5) * 1000:.1f} ms, "
          f"p99 {pct(alone_lat, .99) * 1000:.1f} ms")
    probe_stop = asyncio.Event()
    heavy_task = asyncio.create_task(heavy_clients(url, heavy_count, stop))
    batch_task = asyncio.create_task(batch_client(url, stop))
    await asyncio.sleep(1)  # the heavy clients are running
    probe_task = asyncio.create_task(probes(url, probe_stop))
    await asyncio.sleep(seconds)
    probe_stop.set()
    probe_lat = await probe_task
    print(f"GET /healthz every 50 ms beside {heavy_count} heavy clients and a batch of 10 heavy profiles: "
          f"{len(probe_lat)} probes, p50 {pct(probe_lat, .5) * 1000:.1f} ms, p99 {pct(probe_lat, .99) * 1000:.1f} ms, "
          f"max {max(probe_lat, default=0) * 1000:.1f} ms, over 100 ms: {sum(1 for x in probe_lat if x > 0.1)}")
    loaded, loaded_lat = await small_clients(url, seconds, connections, asyncio.Event())
    stop.set()
    heavy_lat, batch_lat = await heavy_task, await batch_task
    print(f"small profiles beside {heavy_count} heavy clients and the batch: {loaded / seconds:,.0f} req/s, "
          f"p50 {pct(loaded_lat, .5) * 1000:.1f} ms, p99 {pct(loaded_lat, .99) * 1000:.1f} ms")
    heavy_median = statistics.median(heavy_lat) if heavy_lat else 0
    print(f"heavy profiles: {len(heavy_lat)} answered, median {heavy_median:.2f} s, "
          f"max {max(heavy_lat, default=0):.2f} s; batches of 10: {len(batch_lat)} answered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--heavy", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), env={"WORKERS": "1"})
        try:
            print("configuration: as `make run` ships it (1 worker, decision log on, access log on), SQLite in a "
                  f"temporary folder; client and server on this machine ({os.cpu_count()} CPUs)")
            asyncio.run(measure(server.url, args.seconds, args.heavy, args.connections))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
