"""Real server processes for integration tests: `compliance-engine serve` on a free loopback port."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def stop_gracefully(self) -> None:
        """SIGTERM: uvicorn drains, shuts the application down, then exits by the same signal."""
        code = self.stop(signal.SIGTERM)
        assert code in (0, -signal.SIGTERM), self.output()
        assert "Application shutdown complete" in self.output(), self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_server(tmp: Path, env: dict[str, str] | None = None, wait: bool = True, timeout: float = 60) -> Server:
    port = free_port()
    log = tmp / f"server-{port}.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
                "DATABASE_URL": f"sqlite:///{tmp}/service.db", "DECISION_JOURNAL_DIR": str(tmp / "journal"),
                **(env or {})}
    process = subprocess.Popen([str(BIN / "compliance-engine"), "serve"], env=full_env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    if wait:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()}")
            try:
                if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"server not ready in {timeout}s:\n{server.output()}")
    return server
