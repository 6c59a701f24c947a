"""The container image, built and run for real on this machine: buildah with chroot isolation.

There is no Docker engine here and registry images cannot be pulled, so (as
../shared/notes/containers.md describes) the image is built FROM a local base image made by
debootstrap (deploy/scripts/base-image.sh) and run with `buildah run --isolation chroot
--network host`, the server bound to 127.0.0.1 only.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import prerequisites
from tests.helpers import REPO
from tests.integration.servers import free_port

TOOLS = ("buildah", "debootstrap", "podman")
BASE_IMAGE = os.environ.get("CONTAINER_BASE_IMAGE", "localhost/base-python:bookworm")
# one tag per checkout, so two checkouts on one machine do not retag each other's image
IMAGE = "localhost/compliance-engine:test-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:10]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
APP_UID = 10001


def required() -> bool:
    """In CI (CI set, as `.ci/run` runs) or with CONTAINER_TESTS=required, missing tools fail the test."""
    return prerequisites.required("CONTAINER_TESTS")


def missing_prerequisites() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (buildah chroot isolation and debootstrap run as root here)")
    return missing


def skip_or_fail_without_tools() -> None:
    missing = missing_prerequisites()
    if not missing:
        return
    message = (f"the container smoke test needs {', '.join(missing)}: apt-get install -y buildah debootstrap podman "
               "(.ci/run installs them)")
    prerequisites.skip_or_fail(message, "CONTAINER_TESTS")


def run(cmd: list[str], timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def ensure_base_image(log: Path) -> None:
    script = REPO / "deploy" / "scripts" / "base-image.sh"
    done = run(["bash", str(script)], env={**os.environ, "BASE_IMAGE": BASE_IMAGE})
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        pytest.fail(f"could not make the base image {BASE_IMAGE}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def build_image(log: Path) -> float:
    """buildah bud the repository's Dockerfile FROM the local base image; returns the seconds taken."""
    started = time.monotonic()
    cmd = ["buildah", "bud", "--format", "docker", "--layers", "--isolation", "chroot", "--network", "host",
           "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-f", str(REPO / "Dockerfile"), "-t", IMAGE]
    if Path(CA_BUNDLE).exists():  # pip inside the build reaches the package index through this bundle
        cmd[2:2] = ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    done = run(cmd + [str(REPO)], timeout=1800)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        pytest.fail(f"buildah bud failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return time.monotonic() - started


def image_config(image: str) -> dict:
    done = run(["buildah", "inspect", "--type", "image", image])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["Docker"]["config"]


# --- the container's root file system: what a run wrote outside its volumes -------------------------------
SKIP_TOP = {"proc", "sys", "dev", "data"}
# written by buildah itself for every `buildah run`, not by the application
BUILDAH_FILES = {"run/.containerenv", "etc/hosts", "etc/resolv.conf", "etc/hostname"}


def snapshot(root: Path) -> dict[str, tuple]:
    state: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIP_TOP]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            state[rel] = (st.st_mode, st.st_size if not os.path.isdir(path) else 0,
                          st.st_mtime_ns if not os.path.isdir(path) else 0)
    return state


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in paths if p not in BUILDAH_FILES)


# --- a container running the image's command ----------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


@dataclass
class Container:
    name: str
    process: subprocess.Popen  # `buildah run`, in its own session (process group) so it can be stopped
    url: str
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def server_pid(self) -> int:
        """The `compliance-engine serve` process inside the container (uvicorn's parent process)."""
        for pid in descendants(self.process.pid):
            argv = cmdline(pid)
            if len(argv) >= 3 and Path(argv[0]).name.startswith("python") and argv[1].endswith("compliance-engine"):
                return pid
        raise AssertionError(f"no compliance-engine process under buildah run {self.process.pid}:\n{self.output()}")

    def workers(self) -> list[int]:
        return [pid for pid in descendants(self.server_pid()) if "multiprocessing.spawn" in " ".join(cmdline(pid))]

    def exec(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        """Another process in the same container with the same environment (as `docker exec` runs one)."""
        env = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        return run(["buildah", "run", "--isolation", "chroot", "--network", "host", *env, self.name, "--", *argv],
                   timeout=timeout)

    def wait_ready(self, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the container exited with {self.process.returncode}:\n{self.output()}")
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=2)
                if r.status_code == 200:
                    return r.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"not ready in {timeout}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise AssertionError(f"the container did not stop within {timeout}s of SIGTERM:\n{self.output()}") from exc

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM to the server inside, as a container runtime's stop sends it; returns buildah run's exit code."""
        if self.process.poll() is None:
            os.kill(self.server_pid(), signal.SIGTERM)
        return self.wait_exit(timeout)

    def stopped_gracefully(self, code: int) -> bool:
        """Exited after the application's shutdown: 0 (uvicorn's worker supervisor), or by the SIGTERM that a
        single uvicorn process re-raises once it has shut down (buildah then reports status 1, "on terminated")."""
        out = self.output()
        by_signal = code == 1 and "subprocess exited on terminated" in out
        return (code == 0 or by_signal) and "Application shutdown complete" in out

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def create(name_hint: str) -> str:
    name = f"compliance-smoke-{name_hint}-{os.getpid()}"
    run(["buildah", "rm", name])  # a leftover from an interrupted run
    done = run(["buildah", "from", "--name", name, IMAGE])
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def remove(name: str) -> None:
    run(["buildah", "umount", name])
    run(["buildah", "rm", name])


def mount(name: str) -> Path:
    done = run(["buildah", "mount", name])
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def start(name: str, command: list[str], log: Path, env: dict[str, str] | None = None,
          volumes: list[str] = ()) -> Container:
    """Run `command` in container `name`, bound to a free port on 127.0.0.1.

    /data is the image's VOLUME: buildah gives each container its own volume there, kept from one
    `buildah run` to the next (a bind mount given with -v on a VOLUME path is ignored by buildah).
    """
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), **(env or {})}
    cmd = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    for volume in volumes:
        cmd += ["-v", volume]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    process = subprocess.Popen(cmd + [name, "--", *command], stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    return Container(name, process, f"http://127.0.0.1:{port}", log, env)
