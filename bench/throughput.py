"""HTTP throughput and latency of the service as `make run` ships it, against a bare FastAPI endpoint under the same
load generator, on three workloads.

    python bench/throughput.py [--seconds 10] [--rounds 3] [--connections 32] [--threads 1] [--checkout DIR]

Configuration: `compliance-engine serve` with its defaults, as `make run` starts it (one worker, the decision log
on, the JSON access log on at LOG_LEVEL=info), with its SQLite file and decision journal in a temporary folder.
Load: `wrk` (Debian package `wrk`), one thread and 32 connections by default, on the same machine.

Workloads, each posted to the bare endpoint (bench/bare_app.py: validates the same profile model, returns a
constant) and to the service:
- *same profile*: the small reference profile again and again (the service reuses its answer);
- *realistic, each new*: the realistic businesses of bench/profiles.realistic() in turn, each request with a
  business name never used before, so no answer is reused and the engine runs for every request;
- *generated, each new*: 500 profiles no two alike (bench/profiles.generated) in turn, each request with a new name
  and its own dates (as_of, every service's since, every licence's granted), so its facts are new as well.
Then the service with the decision log off (`?record=false`) on the same profile and on realistic new ones, and
with two workers on the same profile, and last two
workers under load while an operator activates another version every second. Rounds interleave the set-ups (a slow
spell of the shared machine does not land on one of them); each figure is the median round's.

`--checkout DIR` serves the service from another checkout of the repository (same virtualenv): the before figure
of a before-and-after comparison.
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

from bench.profiles import SMALL, generated, realistic  # noqa: E402
from tests.integration.servers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
MARKER = "@@NAME@@"
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
bodies = {bodies}
math.randomseed({seed})
local n = 0
local function day(first, last)
  return string.format("%04d-%02d-%02d", math.random(first, last), math.random(1, 12), math.random(1, 28))
end
request = function()
  n = n + 1
  local body = bodies[(n % #bodies) + 1]
  if #body == 1 then return wrk.format(nil, nil, nil, body[1]) end
  local text = body[1] .. "{salt}-" .. n .. body[2]
  -- a generated profile's dates: each request its own, so its facts are new too
  text = string.gsub(text, "@@DAY@@", function() return day(2005, 2016) end)
  text = string.gsub(text, "@@AS_OF@@", function() return day(2017, 2026) end)
  return wrk.format(nil, nil, nil, text)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %f %f %f %f\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), summary.duration))
end
"""
#: Targets of issue 16, per workload: (at least this share of the bare endpoint's requests/s, p99 at most, ms).
TARGETS = {"same profile": (0.5, 25.0), "realistic, each new": (0.25, 50.0), "generated, each new": (0.25, 50.0)}


def write_script(path: Path, profiles: list[dict], salt: str, new_names: bool, new_days: bool = False) -> Path:
    """A wrk script posting `profiles` in turn; with `new_names`, each request a business name never used before;
    with `new_days`, each request its own dates too (as_of, and every service's since and licence's granted)."""
    bodies = []
    for profile in profiles:
        if new_names:
            named = {**profile, "business": {**profile.get("business", {}), "name": f"Bench {MARKER}"}}
            if new_days:
                named = {**named, "as_of": "@@AS_OF@@",
                         "services": [{**s, "since": "@@DAY@@"} for s in named.get("services", [])],
                         "licences": [{**lic, "granted": "@@DAY@@"} for lic in named.get("licences", [])]}
            bodies.append(json.dumps(named).split(MARKER))
        else:
            bodies.append([json.dumps(profile)])
    lua_bodies = "{" + ",".join("{" + ",".join(json.dumps(part) for part in body) + "}" for body in bodies) + "}"
    seed = sum(map(ord, salt))
    path.write_text(LUA.replace("{bodies}", lua_bodies).replace("{salt}", salt).replace("{seed}", str(seed)))
    return path


def start(command: list[str], env: dict[str, str], port: int, log: Path, root: Path = ROOT) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True, cwd=root)
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


def load(url: str, seconds: int, connections: int, threads: int, script: Path) -> dict:
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script),
               url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in out.splitlines() if text.startswith("RESULT"))
    n, status_errors, socket_errors, p50, p90, p99, duration = line.split()[1:]
    return {"rps": int(n) / (float(duration) / 1e6), "requests": int(n), "non_2xx": int(status_errors),
            "socket_errors": int(socket_errors), "p50_ms": float(p50) / 1e3, "p90_ms": float(p90) / 1e3,
            "p99_ms": float(p99) / 1e3}


TOKEN = "bench-operator-token-0123456789"


def service_command(checkout: Path | None) -> tuple[list[str], dict[str, str], Path]:
    """How `make run` starts the service: from this checkout, or from another one (the before of a comparison)."""
    if checkout is None:
        return [str(BIN / "compliance-engine"), "serve"], {}, ROOT
    return ([sys.executable, "-c", "from service.cli import app; app()", "serve"],
            {"PYTHONPATH": str(checkout), "RULES_DIR": str(checkout / "rules")}, checkout)


def activations_under_load(tmp: Path, args: argparse.Namespace, script: Path) -> None:
    """Two workers under wrk while an operator flips between two stored versions every second: every request
    must succeed, and each activation (an HTTP call: load, swap, database write, the other worker follows) is timed."""
    from tests.api.test_rulesets import retitled, rule_files

    port = free_port()
    command, extra, root = service_command(args.checkout)
    env = {**extra, "WORKERS": "2", "HOST": "127.0.0.1", "PORT": str(port),
           "AUTH_TOKENS": f"{TOKEN}=operator", "RULESET_POLL_SECONDS": "0.5",
           "DATABASE_URL": f"sqlite:///{tmp}/activations.db", "DECISION_JOURNAL_DIR": str(tmp / "journal-activations")}
    process = start(command, env, port, tmp / "activations.log", root)
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
            result = load(f"{url}/v1/assessments", args.seconds, args.connections, args.threads, script)
            stop.set()
            flipper.join()
    finally:
        stop_server(process)
    times.sort()
    print(f"{'2 workers, activations every second':42} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:6.2f} ms  "
          f"non-2xx {result['non_2xx']}  socket errors {result['socket_errors']}")
    print(f"activations during the load: {len(times)}, failed {len(failures)}, median "
          f"{statistics.median(times) * 1e3:.0f} ms, max {times[-1] * 1e3:.0f} ms "
          "(target <= 1 s, zero failed requests)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="of each measured run (after 3 s of warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all the set-ups; medians are reported")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--checkout", type=Path, help="serve the service from this checkout instead")
    parser.add_argument("--skip-activations", action="store_true", help="leave out the activations-under-load run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/throughput.py needs wrk, the HTTP load generator (Debian: apt-get install -y wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    workloads = {"same profile": ([SMALL], False, False), "realistic, each new": (realistic(), True, False),
                 "generated, each new": (generated(500), True, True)}
    serve, serve_env, serve_root = service_command(args.checkout)
    bare = [str(BIN / "uvicorn"), "bench.bare_app:app", "--log-level", "warning"]
    # (label, workload, command, environment, query)
    runs = [(f"bare, {w}", w, bare, {}, "") for w in workloads]
    runs += [(f"service, {w}", w, serve, {}, "") for w in workloads]
    runs += [("service, same profile, decision log off", "same profile", serve, {}, "?record=false"),
             ("service, realistic, each new, log off", "realistic, each new", serve, {}, "?record=false"),
             ("service, same profile, 2 workers", "same profile", serve, {"WORKERS": "2"}, "")]
    print(f"service: {'checkout ' + str(args.checkout) if args.checkout else 'this checkout'}, as make run ships it "
          f"(1 worker, decision log on, access log on); wrk -t {args.threads} -c {args.connections}, "
          f"{args.seconds} s per run after 3 s of warm-up, {args.rounds} round(s)\n", flush=True)
    rounds: dict[str, list[dict]] = {label: [] for label, *_ in runs}
    for round_ in range(args.rounds):
        for i, (label, workload, command, env, query) in enumerate(runs):
            port = free_port()
            run_id = f"{round_}-{i}"
            service = command is serve
            env = {**(serve_env if service else {}), **env, "HOST": "127.0.0.1", "PORT": str(port),
                   "DATABASE_URL": f"sqlite:///{tmp}/run{run_id}.db",
                   "DECISION_JOURNAL_DIR": str(tmp / f"journal{run_id}")}
            if not service:
                command = command + ["--host", "127.0.0.1", "--port", str(port)]
            process = start(command, env, port, tmp / f"run{run_id}.log", serve_root if service else ROOT)
            try:
                profiles, new_names, new_days = workloads[workload]
                url = f"http://127.0.0.1:{port}/v1/assessments{query}"
                warm = write_script(tmp / "warm.lua", profiles, f"warm-{run_id}", new_names, new_days)
                measured = write_script(tmp / "run.lua", profiles, f"run-{run_id}", new_names, new_days)
                load(url, 3, args.connections, args.threads, warm)
                rounds[label].append(load(url, args.seconds, args.connections, args.threads, measured))
            finally:
                stop_server(process)
        print(f"round {round_ + 1}: " + ", ".join(f"{label} {rounds[label][-1]['rps']:.0f}" for label, *_ in runs),
              flush=True)
    print()
    results = {label: sorted(values, key=lambda r: r["rps"])[len(values) // 2] for label, values in rounds.items()}
    for label, r in results.items():
        spread = [v["rps"] for v in rounds[label]]
        print(f"{label:42} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p90 {r['p90_ms']:6.2f} ms  "
              f"p99 {r['p99_ms']:6.2f} ms  non-2xx {sum(v['non_2xx'] for v in rounds[label])}  "
              f"socket errors {sum(v['socket_errors'] for v in rounds[label])}  "
              f"(rounds {min(spread):.0f}-{max(spread):.0f})")
    print()
    for workload, (share, p99) in TARGETS.items():
        on, bare_rps = results[f"service, {workload}"], results[f"bare, {workload}"]["rps"]
        print(f"{workload}: service / bare {on['rps'] / bare_rps:.2f} (target >= {share}), "
              f"p99 {on['p99_ms']:.1f} ms (target <= {p99:.0f} ms)")
    on, off = results["service, same profile"], results["service, same profile, decision log off"]
    print(f"decision log cost: {1 - on['rps'] / off['rps']:.0%} of throughput (target <= 15%)")
    fresh, fresh_off = results["service, realistic, each new"], results["service, realistic, each new, log off"]
    print(f"decision log cost, every profile new: {1 - fresh['rps'] / fresh_off['rps']:.0%} of throughput, "
          f"p99 {fresh['p99_ms']:.1f} ms with it, {fresh_off['p99_ms']:.1f} ms without")
    print(f"2 workers / 1 worker: {results['service, same profile, 2 workers']['rps'] / on['rps']:.2f}x")
    if not args.skip_activations:
        print()
        activations_under_load(tmp, args, write_script(tmp / "post.lua", [SMALL], "activations", False))


if __name__ == "__main__":
    main()
