"""A scripted HTTP server on loopback, for what a healthy service never does: answer 503, drop the connection
without answering, never answer. Each connection carries one request and takes the next step of the script (the
last step repeats); a `Forward` step passes the request to a real server and its answer back. Every request is
recorded (method, path, headers, body, when), so a test can check what each attempt sent."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import orjson


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **headers: str) -> Answer:
    """An answer carrying a problem document, as the service writes one."""
    body = orjson.dumps({"type": type_, "title": title, "status": status, "detail": detail, "errors": []})
    return Answer(status, body, {"Content-Type": "application/problem+json", "X-Request-ID": f"fake-{status}",
                                 **{name.replace("_", "-"): value for name, value in headers.items()}})


@dataclass(frozen=True)
class Forward:
    """Pass the request to the server at `url` and its answer back (headers that matter included, and `added`)."""

    url: str
    added: dict[str, str] = field(default_factory=dict)


DROP = "drop"  # read the request, close the connection without a byte of answer
HANG = "hang"  # read the request, answer nothing until the server stops
Step = Answer | Forward | str


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when it was read


class LoopbackServer:
    def __init__(self, *steps: Step, refuse_for: float = 0.0):
        """`refuse_for`: seconds during which connections are refused (the port is bound, not listening yet)."""
        assert steps
        self.steps = list(steps)
        self.refuse_for = refuse_for
        self.received: list[Received] = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> LoopbackServer:
        if not self.refuse_for:
            self._socket.listen()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._socket.close()

    def keys(self) -> list[str | None]:
        """The Idempotency-Key of each request received."""
        return [r.headers.get("idempotency-key") for r in self.received]

    def _accept(self) -> None:
        if self.refuse_for:
            if self._stopped.wait(self.refuse_for):
                return
            self._socket.listen()
        self._socket.settimeout(0.05)  # to see `_stopped`: closing the socket would not wake accept()
        while not self._stopped.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by __exit__
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            received = _read_request(conn)
            if received is None:
                return
            with self._lock:
                step = self.steps[min(len(self.received), len(self.steps) - 1)]
                self.received.append(received)
            if step == DROP:
                return
            if step == HANG:
                self._stopped.wait()
                return
            answer = _forwarded(step, received) if isinstance(step, Forward) else step
            assert isinstance(answer, Answer)
            head = [f"HTTP/1.1 {answer.status} Scripted", f"Content-Length: {len(answer.body)}", "Connection: close",
                    *(f"{name}: {value}" for name, value in answer.headers.items())]
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body)


def _read_request(conn: socket.socket) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return Received(method, path, headers, body, time.monotonic())


PASSED_ON = ("authorization", "content-type", "idempotency-key", "x-request-id")
PASSED_BACK = ("content-type", "location", "x-request-id", "x-ruleset-version", "retry-after", "idempotent-replayed")


def _forwarded(forward: Forward, received: Received) -> Answer:
    response = httpx.request(received.method, forward.url + received.path, content=received.body, timeout=30,
                             headers={k: v for k, v in received.headers.items() if k in PASSED_ON})
    return Answer(response.status_code, response.content,
                  {**{k: v for k, v in response.headers.items() if k.lower() in PASSED_BACK}, **forward.added})
