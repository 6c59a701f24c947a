"""Container smoke test: build the image from the Dockerfile and run it, for real, on this machine.

buildah (chroot isolation) builds the Dockerfile FROM a local debootstrap base image and runs the
image's own CMD bound to 127.0.0.1. The test posts the contract's example profile and checks the
cited answer, checks the image's HEALTHCHECK, its non-root user and its workers, stops it with
SIGTERM while a request is in flight (the request completes, then every worker runs the
application's shutdown), reads the drained request back after a restart, checks that nothing was
written outside /data (so a read-only root file system works), and overrides the baked rules with
a mounted folder.

Locally the test is skipped when buildah, debootstrap or podman are missing; in CI (CI set) or
with CONTAINER_TESTS=required it fails instead.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time

import httpx
import pytest

from tests.helpers import RULES, make_profile
from tests.integration import containers as ct

pytestmark = [pytest.mark.integration, pytest.mark.container]

RULE = "cleanup.pre-2015-idc-permit-cease"
INSTRUMENT = "miit-2017-internet-access-market-cleanup"


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict:
    ct.skip_or_fail_without_tools()
    logs = tmp_path_factory.mktemp("container-build")
    ct.ensure_base_image(logs / "base-image.log")
    seconds = ct.build_image(logs / "build.log")
    print(f"built {ct.IMAGE} FROM {ct.BASE_IMAGE} in {seconds:.1f}s")
    return ct.image_config(ct.IMAGE)


def check_cited_answer(response: httpx.Response, ready: dict) -> dict:
    assert response.status_code == 201, response.text
    body = response.json()
    version = ready["ruleset"]["version"]
    assert body["ruleset"] == ready["ruleset"] and version
    assert response.headers["X-Ruleset-Version"] == version
    assert body["obligations"], body
    for o in body["obligations"]:
        assert o["kind"] in ("obligation", "prohibition", "violation", "advisory", "notice"), o
        assert o["citations"], o["rule_id"]
        for c in o["citations"]:
            assert c["instrument_id"] and c["title"] and c["issuer"] and c["legal_status"], c
            assert c["source"]["document"] and c["source"]["quote"], c
    finding = next(o for o in body["obligations"] if o["rule_id"] == RULE)
    assert finding["kind"] == "violation" and finding["legal_force"] == "normative_document"
    assert finding["applies_from"] == "2018-01-01" and finding["interpretation"]["reading"]
    assert INSTRUMENT in {c["instrument_id"] for c in finding["citations"]}
    return body


def test_image_metadata(image):
    assert image["User"] == "10001:10001"  # numeric, so Kubernetes' runAsNonRoot can verify it
    assert image["Cmd"] == ["compliance-engine", "serve"]
    assert "/data" in image["Volumes"]
    env = dict(item.split("=", 1) for item in image["Env"])
    assert env["RULES_DIR"] == "/app/rules" and env["WORKERS"] == "2"
    assert env["DATABASE_URL"] == "sqlite:////data/compliance.db"
    assert image["Healthcheck"]["Test"][0] == "CMD" and "/healthz" in " ".join(image["Healthcheck"]["Test"])
    assert image["StopSignal"] == "SIGTERM"


def test_serve_assess_drain_on_sigterm_and_restart(image, tmp_path):
    name = ct.create("serve")
    try:
        rootfs_before = ct.snapshot(ct.mount(name))
        box = ct.start(name, image["Cmd"], tmp_path / "run1.log", env={"WORKERS": "2"})
        try:
            ready = box.wait_ready()
            assert len(box.workers()) == 2, box.output()  # WORKERS from the environment
            for pid in [box.server_pid(), *box.workers()]:  # the server and its workers run as the image's user
                with open(f"/proc/{pid}/status") as status:
                    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
                assert uids == ["10001"] * 4, (pid, uids)

            with httpx.Client(base_url=box.url, timeout=30) as http:
                r = http.post("/v1/assessments", json=make_profile())
                body = check_cited_answer(r, ready)
                again = http.get(f"/v1/assessments/{body['assessment_id']}")
                assert again.status_code == 200 and again.content == r.content
                page = http.get("/ui/")  # the page's files ship in the wheel the image installs
                assert page.status_code == 200 and 'src="js/app.js"' in page.text
                assert http.get("/ui/js/app.js").status_code == 200 and http.get("/ui/samples.json").status_code == 200

            # the image's HEALTHCHECK command, run inside the container as a runtime would
            health = box.exec(image["Healthcheck"]["Test"][1:])
            assert health.returncode == 0, health.stderr

            # SIGTERM while a request is in flight: its headers and half its body are sent ...
            payload = json.dumps(make_profile(as_of="2017-02-01")).encode()
            conn = socket.create_connection(("127.0.0.1", int(box.url.rsplit(":", 1)[1])), timeout=30)
            conn.sendall(b"POST /v1/assessments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(payload) + payload[:100])
            time.sleep(0.5)
            os.kill(box.server_pid(), signal.SIGTERM)
            time.sleep(2)
            assert box.process.poll() is None, "the server exited with a request in flight:\n" + box.output()
            # ... the rest of the body arrives after the signal, and the request is still answered
            conn.sendall(payload[100:])
            raw = b""
            while chunk := conn.recv(65536):
                raw += chunk
            conn.close()
            head, _, rest = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 201"), raw[:300]
            drained = json.loads(rest)
            assert drained["as_of"] == "2017-02-01" and drained["obligations"]
            code = box.wait_exit(60)
        finally:
            box.kill()
        out = box.output()
        assert code == 0, out
        assert "Waiting for connections to close" in out, out
        assert out.count("Application shutdown complete") == 2, out  # each worker ran the lifespan shutdown
        listing = box.exec(["ls", "-ln", "/data"]).stdout  # the database is in the volume, owned by the app user
        assert any(line.split()[2:4] == ["10001", "10001"] and line.endswith(" compliance.db")
                   for line in listing.splitlines()), listing

        # nothing was written outside /data: the root file system may be read-only
        assert ct.changed(rootfs_before, ct.snapshot(ct.mount(name))) == []

        # restarted on the same volume: the drained request was recorded before the process exited
        box = ct.start(name, image["Cmd"], tmp_path / "run2.log", env={"WORKERS": "1"})
        try:
            again_ready = box.wait_ready()
            assert again_ready["ruleset"] == ready["ruleset"]  # the same rules: no new version
            with httpx.Client(base_url=box.url, timeout=30) as http:
                read_back = http.get(f"/v1/assessments/{drained['assessment_id']}")
                assert read_back.status_code == 200 and read_back.json() == drained
            assert box.stopped_gracefully(box.terminate()), box.output()
        finally:
            box.kill()
        assert "Application shutdown complete" in box.output()
        assert box.exec(image["Healthcheck"]["Test"][1:]).returncode != 0  # the health check sees it stopped
    finally:
        ct.remove(name)


def test_a_mounted_rules_folder_overrides_the_baked_rules(image, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / f"{INSTRUMENT}.yaml"
    text = path.read_text()
    marker = "(mounted override)"
    assert f"id: {RULE}" in text
    start = text.index(f"id: {RULE}")
    title_at = text.index('title: "', start) + len('title: "')  # a quoted title
    path.write_text(text[:title_at] + f"{marker} " + text[title_at:])
    rules.chmod(0o755)
    name = ct.create("rules")
    try:
        box = ct.start(name, ["compliance-engine", "serve"], tmp_path / "run.log",
                       env={"WORKERS": "1", "RULES_DIR": "/srv/rules"}, volumes=[f"{rules}:/srv/rules:ro"])
        try:
            ready = box.wait_ready()
            with httpx.Client(base_url=box.url, timeout=30) as http:
                body = check_cited_answer(http.post("/v1/assessments", json=make_profile()), ready)
            finding = next(o for o in body["obligations"] if o["rule_id"] == RULE)
            assert finding["title"].startswith(marker), finding["title"]
            assert box.stopped_gracefully(box.terminate()), box.output()
        finally:
            box.kill()
        assert "from /srv/rules is active" in box.output()
    finally:
        ct.remove(name)
