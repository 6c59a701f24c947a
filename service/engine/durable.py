"""The one place that talks to durable-rules: create and delete rulesets, run one session.

This drives the C core (`durable_rules_engine`) directly instead of `durable.engine.Host`:

- Host starts two timer threads per process that poll every ruleset forever; we use
  neither timers nor queues.
- Host runs Python actions that swallow exceptions (an obligation could vanish silently).
  Here an "action" is this module reading the match the core hands back; anything that
  goes wrong raises.
- Host cannot remove a ruleset; `close()` calls the core's `delete_ruleset`.

Engine behaviours handled here (durable-rules 2.0.28):

- Per-session state lives until `delete_state`; every session is deleted, also on error.
- A session on which no action ever started frees an uninitialised pointer in
  `delete_state` (the state node's action context is never initialised). Each session
  therefore first asserts the context fact alone, which the `$start` rule always matches,
  and completes that action before anything else can fail.
- Asserting a fact that matches no rule returns code 1 (not handled): expected, ignored.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import durable_rules_engine as core
import orjson

from service.errors import EngineFailure, TooManyFirings

from .budget import UNBOUNDED_TIME, Budget

OK, NOT_HANDLED, OBSERVED = 0, 1, 2
#: How many firings pass between two looks at the clock (a look costs ~50 ns; a firing ~20 us).
CLOCK_EVERY = 64

_names = itertools.count(1)
_sids = itertools.count(1)

#: called with (rule name, {alias: fact}); returns facts to assert in the same session
OnMatch = Callable[[str, dict[str, Any]], Iterable[dict[str, Any]]]


def _dumps(value: Any) -> str:
    """JSON text for the core. Facts hold only validated vocabulary (ASCII words, codes, numbers)."""
    return orjson.dumps(value).decode("utf-8")


class DurableRuleset:
    """One compiled durable-rules ruleset. Sessions on it are serialised by a lock."""

    def __init__(self, label: str, definition: dict[str, Any]):
        self.name = f"{label}-{next(_names)}"
        try:
            self._handle = core.create_ruleset(self.name, _dumps(definition))
        except core.error as exc:
            raise EngineFailure(f"durable-rules refused the compiled ruleset: {exc}") from None
        self._lock = threading.Lock()
        self._closed = False
        self.last_sid: str | None = None

    def has_session(self, sid: str) -> bool:
        """Whether the engine still holds state for a session (it never should after `run`)."""
        try:
            core.get_state(self._handle, sid)
            return True
        except core.error:
            return False

    def close(self) -> None:
        """Free the ruleset in the C core (Host has no way to do this)."""
        with self._lock:
            if not self._closed:
                core.delete_ruleset(self._handle)
                self._closed = True

    def run(self, context: dict[str, Any], facts: list[dict[str, Any]], phases: int, on_match: OnMatch,
            budget: Budget = UNBOUNDED_TIME) -> None:
        """One session: the context fact, then all facts, then one phase fact per phase; nothing kept after.
        Stops (raising) when the budget's firings or time run out."""
        sid = str(next(_sids))
        self.last_sid = sid
        with self._lock:
            if self._closed:
                raise EngineFailure("ruleset already closed")
            started = False
            try:
                state = self._assert([{**context, "sid": sid}])
                self._drain(state, sid, lambda name, match: (), budget)  # the $start action initialises the session
                started = True
                if facts:
                    budget.check()
                    self._assert([{**f, "sid": sid} for f in facts])
                    self._drain(state, sid, on_match, budget)
                for n in range(1, phases + 1):
                    budget.check()
                    self._assert([{"t": "phase", "id": f"phase:{n}", "n": n, "sid": sid}])
                    self._drain(state, sid, on_match, budget)
            except core.error as exc:
                raise EngineFailure(f"durable-rules failed during evaluation: {exc}") from None
            finally:
                if started:
                    core.delete_state(self._handle, sid)

    def _assert(self, facts: list[dict[str, Any]]) -> int:
        state: int
        code, state = core.assert_facts(self._handle, _dumps(facts))
        if code not in (OK, NOT_HANDLED, OBSERVED):
            raise EngineFailure(f"durable-rules refused facts with code {code}")
        return state

    def _drain(self, state: int, sid: str, on_match: OnMatch, budget: Budget) -> None:
        result = core.start_action_for_state(self._handle, state)
        actions = 0
        while result:
            message = orjson.loads(result[1])
            for name, match in message.items():
                new = list(on_match(name, match))
                if new:
                    code, _ = core.assert_facts(self._handle, _dumps([{**f, "sid": sid} for f in new]))
                    if code not in (OK, NOT_HANDLED, OBSERVED):
                        raise EngineFailure(f"durable-rules refused derived facts with code {code}")
            actions += 1
            if actions > budget.max_firings:
                raise TooManyFirings(f"more than {budget.max_firings} rule firings in one evaluation")
            if actions % CLOCK_EVERY == 0:
                budget.check()
            following = core.complete_and_start_action(self._handle, state)
            result = (None, following) if following else None
