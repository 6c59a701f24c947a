"""Identifiers: request ids and assessment ids (ULIDs), from a pool of random bytes.

os.urandom is a system call that releases the GIL, and on the event loop a released GIL may not come
back for a whole switch interval while the decision log's threads run: one refill of 4 KiB serves
hundreds of ids. The pool belongs to one process (emptied in a forked child), so no two processes share ids.
"""
from __future__ import annotations

import os
import threading
import time

from ulid import ULID

_lock = threading.Lock()
_pool = bytearray()


def _forget_pool() -> None:
    """A forked child starts with an empty pool: it must not hand out its parent's next ids."""
    global _pool
    _pool = bytearray()


os.register_at_fork(after_in_child=_forget_pool)


def random_bytes(n: int) -> bytes:
    global _pool
    with _lock:
        if len(_pool) < n:
            _pool = bytearray(os.urandom(4096))
        out = bytes(_pool[:n])
        del _pool[:n]
    return out


def request_id() -> str:
    return random_bytes(16).hex()


def assessment_id() -> str:
    """A ULID: the time in milliseconds, then 80 random bits (ids sort by time; they cannot be guessed)."""
    return str(ULID.from_bytes(int(time.time() * 1000).to_bytes(6, "big") + random_bytes(10)))
