"""The one place that talks to durable-rules: create and delete rulesets, run one session.

This drives the C core (`durable_rules_engine`) directly instead of `durable.engine.Host`:

- Host starts two timer threads per process that poll every ruleset forever; we use
  neither timers nor queues.
- Host runs Python actions that swallow exceptions (an obligation could vanish silently).
  Here an "action" is this module reading the match the core hands back; anything that
  goes wrong raises.
- Host cannot remove a ruleset; `close()` calls the core's `delete_ruleset`.

Engine behaviours handled here (durable-rules 2.0.28):

- Every evaluation runs on a new session, deleted (`delete_state`) when the evaluation ends, whether it succeeded or
  not. Facts are never retracted: retracting a fact that took part in a completed action corrupts the heap.
  `complete_and_start_action` frees the action's frame (`deleteDispatchingActionFrame`) but leaves its
  `isDispatching` flag set and leaves the frame's location in every fact it matched. `retract_facts` then finds that
  stale location, `deleteActionFrame` answers "dispatching" (it checks the flag before `isActive`), and
  `deleteMessageFromFrame` clears the fact from the freed frame without lowering its `messageCount`. The second fact
  of the same match retracted makes it scan past the frame's 16-entry message array until it has counted
  `messageCount` entries: through the next frames of the pool and, when the frame is near the end, past the end of
  the action's result pool, writing zeros wherever a word there equals the fact's offset. With the rule base and the
  reused session (every fact retracted after each evaluation) that was about 70 such scans per evaluation, a write
  past the array about once in 300 evaluations, and ASan (no malloc fill, like glibc) stopped within 800
  evaluations on a read past the pool (`heap-buffer-overflow ... 0 bytes to the right of 1952-byte region`, in
  `deleteMessageFromFrame` from `retractFacts`): heap corruption of the kind behind the rare segfaults in libc's
  malloc/free and in libpython. A new session costs about 0.34 ms more per evaluation (the core allocates and zeroes
  indexes and frame pools for each of the ~1,000 beta nodes).
- A session on which no action ever started frees an uninitialised pointer in `delete_state` (the state node's
  action context is never initialised). Each session therefore first asserts the context fact alone, which the
  `$start` rule always matches, and starts that action before anything else can fail; a session on which no action
  started is left to the ruleset (not deleted) rather than have the core free that pointer.
- Asserting a fact that matches no rule returns code 1 (not handled): expected, ignored.
"""
from __future__ import annotations

import contextlib
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
    """One compiled durable-rules ruleset; each evaluation on it runs on a session of its own. Evaluations on it are
    serialised by a lock."""

    def __init__(self, label: str, definition: dict[str, Any]):
        self.name = f"{label}-{next(_names)}"
        try:
            self._handle = core.create_ruleset(self.name, _dumps(definition))
        except core.error as exc:
            raise EngineFailure(f"durable-rules refused the compiled ruleset: {exc}") from None
        self._lock = threading.Lock()
        self._closed = False
        self._sid: str | None = None  # the session of the evaluation running, if any
        self._started = False  # whether an action started on it (the core initialised its action context)
        self.sessions_started = 0
        self.last_session: str | None = None  # the session of the latest evaluation (deleted once it ended)

    @property
    def session(self) -> str | None:
        """The session of the evaluation running, if any: None between evaluations."""
        return self._sid

    def has_session(self, sid: str) -> bool:
        """Whether the engine holds state for a session."""
        try:
            core.get_state(self._handle, sid)
            return True
        except core.error:
            return False

    def close(self) -> None:
        """Free the ruleset in the C core (Host has no way to do this)."""
        with self._lock:
            if not self._closed:
                self._end_session()
                core.delete_ruleset(self._handle)
                self._closed = True

    def run(self, context: dict[str, Any], facts: list[dict[str, Any]], phases: int, on_match: OnMatch,
            budget: Budget = UNBOUNDED_TIME) -> None:
        """One evaluation on a new session: the context fact alone (the `$start` action), then all facts, then one
        phase fact per phase; the session is deleted when it ends. Stops (raising) when the budget's firings or time
        run out."""
        with self._lock:
            if self._closed:
                raise EngineFailure("ruleset already closed")
            sid = self._sid = self.last_session = str(next(_sids))
            self._started = False
            self.sessions_started += 1
            try:
                state = self._assert(sid, [context])  # a new session: the $start action first, alone
                self._drain(state, sid, on_match, budget)
                if facts:
                    budget.check()
                    self._assert(sid, facts)
                    self._drain(state, sid, on_match, budget)
                for n in range(1, phases + 1):
                    budget.check()
                    self._assert(sid, [{"t": "phase", "id": f"phase:{n}", "n": n}])
                    self._drain(state, sid, on_match, budget)
            except core.error as exc:
                raise EngineFailure(f"durable-rules failed during evaluation: {exc}") from None
            finally:
                self._end_session()

    def _end_session(self) -> None:
        """Delete the session of the evaluation (never by retracting its facts: see the module's docstring)."""
        if self._sid is not None:
            if self._started:  # else the core would free the uninitialised action context: the state is left
                with contextlib.suppress(core.error):  # already gone
                    core.delete_state(self._handle, self._sid)
            self._sid = None
            self._started = False

    def _assert(self, sid: str, facts: list[dict[str, Any]]) -> int:
        state: int
        code, state = core.assert_facts(self._handle, _dumps([{**f, "sid": sid} for f in facts]))
        if code not in (OK, NOT_HANDLED, OBSERVED):
            raise EngineFailure(f"durable-rules refused facts with code {code}")
        return state

    def _drain(self, state: int, sid: str, on_match: OnMatch, budget: Budget) -> None:
        """Fire until nothing is left to fire. Facts the firings derive are asserted together once the agenda is
        empty, and the agenda drained again (one call to the core per round, not per fact): positive rules reach
        the same fixed point, and a rule that negates a derived fact waits for a later phase anyway."""
        handle = self._handle
        actions = 0
        while True:
            derived: list[dict[str, Any]] = []
            following = core.start_action_for_state(handle, state)
            message = following[1] if following else None
            if message:
                self._started = True
            while message:
                for name, match in orjson.loads(message).items():
                    derived.extend(on_match(name, match))
                actions += 1
                if actions > budget.max_firings:
                    raise TooManyFirings(f"more than {budget.max_firings} rule firings in one evaluation")
                if actions % CLOCK_EVERY == 0:
                    budget.check()
                message = core.complete_and_start_action(handle, state)
            if not derived:
                return
            self._assert(sid, derived)
