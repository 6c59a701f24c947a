"""Wall time of POST /v1/assessments/batch with 1,000 realistic profiles, against a real server.

    python bench/batch.py [--items 1000] [--rounds 3]

The profiles are the scenario businesses (tests/scenarios) and the rules' example profiles, each
given its own business name so that no two are alike (every evaluation is a cache miss, the worst
case). Starts the service (1 worker, SQLite, decision log on) on loopback and prints, per round: the
wall time of the whole request (upload, 1,000 validations, evaluations, journal fsync, response),
with the decision log on and off, and again for the same batch (answers then come from the cache).
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import BIN, start, stop_server  # noqa: E402
from tests.integration.servers import free_port  # noqa: E402


def realistic_profiles(n: int) -> list[dict]:
    scenarios = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
    sources = [yaml.safe_load(p.read_text(encoding="utf-8"))["profile"] for p in scenarios]
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            sources.extend((data.get("examples") or {}).values())
    profiles = []
    for i in range(n):
        profile = copy.deepcopy(sources[i % len(sources)])
        profile.setdefault("business", {})["name"] = f"Business {i:04d}"
        profiles.append(json.loads(json.dumps(profile, default=str)))  # dates from YAML as ISO text
    return profiles


def post(url: str, body: bytes, query: str = "") -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/v1/assessments/batch{query}", content=body, headers={"content-type": "application/json"},
                   timeout=300)
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return elapsed, r.json() | {"bytes": len(r.content)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    profiles = realistic_profiles(args.items)
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "1",  # as make run ships it, access log on
           "DATABASE_URL": f"sqlite:///{tmp}/batch.db", "DECISION_JOURNAL_DIR": str(tmp / "journal")}
    process = start([str(BIN / "compliance-engine"), "serve"], env, port, tmp / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        times: dict[str, list[float]] = {"log on, all new": [], "log on, same batch again (cached answers)": [],
                                         "log off, all new": []}
        last: dict = {}
        for round_ in range(args.rounds):
            batch = [dict(p, business={**p.get("business", {}), "name": f"{p['business']['name']} r{round_}"})
                     for p in profiles]
            body = json.dumps({"profiles": batch}).encode()
            elapsed, last = post(url, body)
            times["log on, all new"].append(elapsed)
            elapsed, _ = post(url, body)
            times["log on, same batch again (cached answers)"].append(elapsed)
            off = json.dumps({"profiles": [dict(p, business={**p["business"], "name": p["business"]["name"] + " off"})
                                           for p in batch]}).encode()
            elapsed, _ = post(url, off, "?record=false")
            times["log off, all new"].append(elapsed)
        statuses = {i["status"] for i in last["items"]}
        print(f"batch of {args.items} realistic profiles ({len(body) / 1e6:.1f} MB request, "
              f"{last['bytes'] / 1e6:.1f} MB response, statuses {sorted(statuses)}), {args.rounds} rounds, 1 worker:")
        for label, values in times.items():
            print(f"  {label:45} median {statistics.median(values):6.2f} s  "
                  f"({statistics.median(values) / args.items * 1e3:.2f} ms per profile; min {min(values):.2f} s)")
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
