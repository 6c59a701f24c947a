"""A process killed with SIGKILL in the middle of an activation leaves exactly one consistent active version."""
from __future__ import annotations

import os
import random
import signal
import threading
import time

import httpx
import pytest
from sqlmodel import select

from service.store.db import Database
from service.store.tables import RuleSetActivation, RuleSetVersion
from tests.helpers import bearer
from tests.integration.servers import start_server
from tests.integration.test_propagation import AUTH_ENV, new_rule_files

pytestmark = pytest.mark.integration


def activate(url: str, version: str) -> None:
    """Ask the server at `url` to activate `version`, as an operator's client would; it may be killed under it."""
    try:
        httpx.post(f"{url}/v1/rulesets/{version}/activate", headers=bearer("operator"), timeout=30)
    except httpx.HTTPError:
        pass  # the server dies under it


def test_sigkill_during_activation(tmp_path):
    random.seed(7)
    db_url = f"sqlite:///{tmp_path}/service.db"
    env = {**AUTH_ENV, "DATABASE_URL": db_url}
    server = start_server(tmp_path, env=env)
    with httpx.Client(base_url=server.url, headers=bearer("operator"), timeout=30) as http:
        versions = [http.get("/v1/rulesets/active").json()["version"],
                    http.post("/v1/rulesets", json={"files": new_rule_files()}).json()["version"]]
    outcomes = []
    for trial in range(6):
        target = versions[(trial + 1) % 2]
        caller = threading.Thread(target=activate, args=(server.url, target))
        caller.start()
        time.sleep(random.uniform(0.0, 0.25))
        server.stop(signal.SIGKILL)
        caller.join()

        db = Database(db_url)
        with db.session() as session:
            newest = session.exec(select(RuleSetActivation).order_by(RuleSetActivation.id.desc())).first()
            stored = {v.version: v.digest for v in session.exec(select(RuleSetVersion))}
        db.dispose()
        assert newest is not None and newest.version in stored and newest.digest == stored[newest.version]

        server = start_server(tmp_path, env=env)  # restart on the same database
        with httpx.Client(base_url=server.url, timeout=30) as http:
            active = http.get("/v1/rulesets/active").json()
            answer = http.post("/v1/assessments", json={"services": [{"type": "cdn", "regions": ["CN-GD"]}]})
        assert active["version"] == active["database_version"] == newest.version
        assert answer.headers["X-Ruleset-Version"] == newest.version
        outcomes.append(newest.version == target)
    server.stop_gracefully()
    print(f"activation committed before the kill in {sum(outcomes)} of {len(outcomes)} trials")


def test_a_fatal_error_in_a_worker_leaves_every_threads_python_stack_in_the_log(tmp_path):
    """A segmentation fault (what a bug in durable-rules' C core would raise) is not silent: the log shows where each
    thread of the worker was, in Python."""
    server = start_server(tmp_path, env={"WORKERS": "2"})
    try:
        worker = int(httpx.get(f"{server.url}/readyz", timeout=5).json()["process"])
        os.kill(worker, signal.SIGSEGV)
        deadline = time.monotonic() + 20
        while "Fatal Python error: Segmentation fault" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.output()
    finally:
        server.stop(signal.SIGKILL)
    assert "Fatal Python error: Segmentation fault" in log, log[-3000:]
    crash = log.split("Fatal Python error: Segmentation fault", 1)[1]
    assert crash.count("Thread 0x") >= 2 and "most recent call first" in crash  # every thread, not only one
