"""HTTP throughput and latency: the service against a bare FastAPI endpoint, under the same load generator.

    python bench/throughput.py [--seconds 10] [--rounds 3] [--connections 32]

Starts, one after another on loopback: the bare endpoint (bench/bare_app.py), the service with the
decision log on, the same with `?record=false` (recording off), the service with two workers, each
under `wrk` (Debian package `wrk`) posting the small reference profile; and one worker again with every
request a profile never seen before (a new business name each time), so that no answer is reused from
the cache of identical evaluations and the engine runs for every request. Prints requests/s and
latency percentiles, and the ratios the performance targets are stated in. Last, two workers under
the same load while an operator activates another version every second: failed requests and the
time of each activation.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
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
{request}done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %f %f %f %f\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), summary.duration))
end
"""


# every request a profile never seen before (its business name numbered by thread and request, salted per run):
# no answer can be reused, the engine evaluates each one
UNIQUE = """
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, head .. tid .. "-" .. n .. tail)
end
"""


def write_script(path: Path, profile: dict, unique_salt: str | None = None) -> Path:
    """A wrk script posting `profile`; with `unique_salt`, each request a new business name (no reuse)."""
    if unique_salt is None:
        path.write_text(LUA.format(body=json.dumps(json.dumps(profile)), request=""))
        return path
    marker = "@@N@@"
    named = {**profile, "business": {**profile["business"], "name": f"Bench {unique_salt} {marker}"}}
    head, tail = json.dumps(named).split(marker)
    path.write_text(LUA.format(body=json.dumps(json.dumps(profile)),
                               request=f"head = {json.dumps(head)}\ntail = {json.dumps(tail)}\n" + UNIQUE))
    return path


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
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in out.splitlines() if text.startswith("RESULT"))
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
          f"{statistics.median(times) * 1e3:.0f} ms, max {times[-1] * 1e3:.0f} ms "
          "(target <= 1 s, zero failed requests)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="of each measured run (after 3 s of warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all the set-ups; medians are reported")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-activations", action="store_true", help="leave out the activations-under-load run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/throughput.py needs wrk, the HTTP load generator (Debian: apt-get install -y wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    script = write_script(tmp / "post.lua", SMALL)
    new = "service, 1 worker, log on, all new"
    runs = [
        ("bare FastAPI (validate + constant)", [str(BIN / "uvicorn"), "bench.bare_app:app", "--log-level", "warning"],
         {}, ""),
        ("service, 1 worker, decision log on", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "1"}, ""),
        ("service, 1 worker, decision log off", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "1"},
         "?record=false"),
        ("service, 2 workers, decision log on", [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "2"}, ""),
        (new, [str(BIN / "compliance-engine"), "serve"], {"WORKERS": "1"}, ""),
    ]
    # rounds interleave the set-ups, so a slow spell of this shared machine does not land on one of them;
    # each figure is the median round's
    rounds: dict[str, list[dict]] = {label: [] for label, *_ in runs}
    for round_ in range(args.rounds):
        for i, (label, command, env, query) in enumerate(runs):
            port = free_port()
            run_id = f"{round_}-{i}"
            env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warning",
                   "DATABASE_URL": f"sqlite:///{tmp}/run{run_id}.db",
                   "DECISION_JOURNAL_DIR": str(tmp / f"journal{run_id}")}
            if "bench.bare_app:app" in command:
                command = command + ["--host", "127.0.0.1", "--port", str(port)]
            process = start(command, env, port, tmp / f"run{run_id}.log")
            try:
                warm, measured = script, script
                if label == new:
                    warm = write_script(tmp / "warm.lua", SMALL, unique_salt=f"warm-{run_id}")
                    measured = write_script(tmp / "new.lua", SMALL, unique_salt=f"run-{run_id}")
                load(f"http://127.0.0.1:{port}/v1/assessments{query}", 3, args.connections, warm)  # warm up
                rounds[label].append(load(f"http://127.0.0.1:{port}/v1/assessments{query}", args.seconds,
                                          args.connections, measured))
            finally:
                stop_server(process)
        print(f"round {round_ + 1}: " + ", ".join(f"{label.split(' (')[0]} {rounds[label][-1]['rps']:.0f}"
                                                  for label, *_ in runs), flush=True)
    print()
    results = {label: sorted(values, key=lambda r: r["rps"])[len(values) // 2] for label, values in rounds.items()}
    for label, r in results.items():
        spread = [v["rps"] for v in rounds[label]]
        print(f"{label:40} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p90 {r['p90_ms']:6.2f} ms  "
              f"p99 {r['p99_ms']:6.2f} ms  non-2xx {sum(v['non_2xx'] for v in rounds[label])}  "
              f"socket errors {sum(v['socket_errors'] for v in rounds[label])}  "
              f"(rounds {min(spread):.0f}-{max(spread):.0f})")
    bare = results["bare FastAPI (validate + constant)"]["rps"]
    on = results["service, 1 worker, decision log on"]
    off = results["service, 1 worker, decision log off"]
    print(f"\nservice / bare (1 worker, log on): {on['rps'] / bare:.0%} (target >= 50%)")
    print(f"p99, 1 worker, log on: {on['p99_ms']:.1f} ms (target <= 25 ms)")
    print(f"decision log cost: {1 - on['rps'] / off['rps']:.0%} of throughput (target <= 15%)")
    print(f"2 workers / 1 worker: {results['service, 2 workers, decision log on']['rps'] / on['rps']:.2f}x")
    print(f"every profile new (no answer reused) / bare: {results[new]['rps'] / bare:.0%}; "
          f"p99 {results[new]['p99_ms']:.1f} ms")
    if not args.skip_activations:
        print()
        activations_under_load(tmp, args.seconds, args.connections, script)


if __name__ == "__main__":
    main()
