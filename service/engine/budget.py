"""What an evaluation may spend: rule firings (per evaluation) and wall-clock time (per request).

The engine checks the budget as it drains firings, so a request past its time stops at the next firing and its
worker is free again; an evaluation past its firings stops too (the profile's size multiplied out by the joins).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from service.errors import EvaluationTimeout

MAX_FIRINGS = 100_000


@dataclass(frozen=True)
class Budget:
    max_firings: int = MAX_FIRINGS
    deadline: float | None = None  # time.monotonic() after which evaluation stops
    timeout_ms: int | None = None  # the budget the deadline was set from, for the message

    @classmethod
    def lasting(cls, timeout_ms: int, max_firings: int = MAX_FIRINGS) -> Budget:
        """A budget starting now."""
        return cls(max_firings=max_firings, deadline=time.monotonic() + timeout_ms / 1000, timeout_ms=timeout_ms)

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise EvaluationTimeout(
                f"the request's evaluations ran past its time budget of {self.timeout_ms} ms (EVALUATION_TIMEOUT_MS) "
                "and were stopped; nothing was recorded: retry later, or send a smaller profile", retry_after=1)


UNBOUNDED_TIME = Budget()
