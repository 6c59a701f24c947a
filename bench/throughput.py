"""HTTP throughput and latency: the service against a bare FastAPI endpoint, under the same load generator.

    python bench/throughput.py [--seconds 15] [--connections 32]

Starts, one after another on loopback: the bare endpoint (bench/bare_app.py), the service with the
decision log on, the same with `?record=false` (recording off), and the service with two workers;
each under `wrk` (Debian package `wrk`) posting the small reference profile. Prints requests/s and
latency percentiles, and the ratios the performance targets are stated in. Last, two workers under
the same load while an operator activates another version every second: failed requests and the
time of each activation.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles import SMALL  # noqa: E402
from tests.integration.servers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %f %f %f %f\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), summary.duration))
end
"""


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/assessments", json=SMALL, timeout=2)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command} did not start:\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def load(url: str, seconds: int, connections: int, script: Path) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    n, status_errors, socket_errors, p50, p90, p99, duration = line.split()[1:]
    return {"rps": int(n) / (float(duration) / 1e6), "requests": int(n), "non_2xx": int(status_errors),
            "socket_errors": int(socket_errors), "p50_ms": float(p50) / 1e3, "p90_ms": float(p90) / 1e3,
            "p99_ms": float(p99) / 1e3}


TOKEN = "bench-operator-token-0123456789"


def activations_under_load(tmp: Path, seconds: int, connections: int, script: Path) -> None:
    """Two workers under wrk while an operator flips between two stored versions every second: every request
    must succeed, and each activation (an HTTP call: load, swap, database write, the other worker follows) is timed."""
    from tests.api.test_rulesets import retitled, rule_files

    port = free_port()
    env = {"WORKERS": "2", "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warning",
           "AUTH_TOKENS": f"{TOKEN}=operator", "RULESET_POLL_SECONDS": "0.5",
           "DATABASE_URL": f"sqlite:///{tmp}/activations.db", "DECISION_JOURNAL_DIR": str(tmp / "journal-activations")}
    process = start([str(BIN / "compliance-engine"), "serve"], env, port, tmp / "activations.log")
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            first = http.get("/v1/rulesets/active").json()["version"]
            upload = http.post("/v1/rulesets", json={"files": retitled(rule_files(), "Unlicensed business (bench)")})
            second = upload.json()["version"]
            times: list[float] = []
            failures: list[str] = []
            stop = threading.Event()

            def flip() -> None:
                i = 0
                while not stop.wait(1.0):
                    t0 = time.perf_counter()
                    r = http.post(f"/v1/rulesets/{(second, first)[i % 2]}/activate")
                    times.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    i += 1

            flipper = threading.Thread(target=flip)
            flipper.start()
            result = load(f"{url}/v1/assessments", seconds, connections, script)
            stop.set()
            flipper.join()
    finally:
        stop_server(process)
    times.sort()
    print(f"{'2 workers, activations every second':40} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:6.2f} ms  "
          f"non-2xx {result['non_2xx']}  socket errors {result['socket_errors']}")
    print(f"activations during the load: {len(times)}, failed {len(failures)}, median "
          f"{statistics.median(times) * 1e3:.0f} ms, max {times[-1] * 1e3:.0f} ms (target <= 1 s, zero failed requests)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-activations", action="store_true", help="leave out the activations-under-load run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    script = tmp / "post.lua"
    script.write_text(LUA.format(body=json.dumps(json.dumps(SMALL))))
    results = {}
    runs = [
        ("bare FastAPI (validate + constant)", [str(BIN / "uvicorn"), "bench.bare_app:app", "--log-level", "warning"],
         {}, ""),
        ("service, 1 worker, decision log on", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "1"}, ""),
        ("service, 1 worker, decision log off", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "1"}, "?record=false"),
        ("service, 2 workers, decision log on", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "2"}, ""),
    ]
    for i, (label, command, env, query) in enumerate(runs):
        port = free_port()
        env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warning",
               "DATABASE_URL": f"sqlite:///{tmp}/run{i}.db", "DECISION_JOURNAL_DIR": str(tmp / f"journal{i}")}
        if "bench.bare_app:app" in command:
            command = command + ["--host", "127.0.0.1", "--port", str(port)]
        process = start(command, env, port, tmp / f"run{i}.log")
        try:
            load(f"http://127.0.0.1:{port}/v1/assessments{query}", 3, args.connections, script)  # warm up
            results[label] = load(f"http://127.0.0.1:{port}/v1/assessments{query}", args.seconds, args.connections, script)
        finally:
            stop_server(process)
        r = results[label]
        print(f"{label:40} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p90 {r['p90_ms']:6.2f} ms  "
              f"p99 {r['p99_ms']:6.2f} ms  non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}", flush=True)
    bare = results["bare FastAPI (validate + constant)"]["rps"]
    on = results["service, 1 worker, decision log on"]
    off = results["service, 1 worker, decision log off"]
    print(f"\nservice / bare (1 worker, log on): {on['rps'] / bare:.0%} (target >= 50%)")
    print(f"p99, 1 worker, log on: {on['p99_ms']:.1f} ms (target <= 25 ms)")
    print(f"decision log cost: {1 - on['rps'] / off['rps']:.0%} of throughput (target <= 15%)")
    print(f"2 workers / 1 worker: {results['service, 2 workers, decision log on']['rps'] / on['rps']:.2f}x")
    if not args.skip_activations:
        print()
        activations_under_load(tmp, args.seconds, args.connections, script)


if __name__ == "__main__":
    main()
