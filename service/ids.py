"""Identifiers: request ids and assessment ids (ULIDs), from a pool of random bytes.

os.urandom is a system call that releases the GIL, and on the event loop a released GIL may not come
back for a whole switch interval while the decision log's threads run: one refill of 4 KiB serves
hundreds of ids. The pool belongs to one process (refilled after a fork), so no two processes share ids.
"""
from __future__ import annotations

import os
import threading
import time

from ulid import ULID

_lock = threading.Lock()
_pool = bytearray()
_pid = 0


def random_bytes(n: int) -> bytes:
    global _pool, _pid
    with _lock:
        if len(_pool) < n or _pid != os.getpid():
            _pool, _pid = bytearray(os.urandom(4096)), os.getpid()
        out = bytes(_pool[:n])
        del _pool[:n]
    return out


def request_id() -> str:
    return random_bytes(16).hex()


def assessment_id() -> str:
    """A ULID: the time in milliseconds, then 80 random bits (ids sort by time; they cannot be guessed)."""
    return str(ULID.from_bytes(int(time.time() * 1000).to_bytes(6, "big") + random_bytes(10)))
