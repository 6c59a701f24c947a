"""The one place that talks to durable-rules: create and delete rulesets, run one session.

This drives the C core (`durable_rules_engine`) directly instead of `durable.engine.Host`:

- Host starts two timer threads per process that poll every ruleset forever; we use
  neither timers nor queues.
- Host runs Python actions that swallow exceptions (an obligation could vanish silently).
  Here an "action" is this module reading the match the core hands back; anything that
  goes wrong raises.
- Host cannot remove a ruleset; `close()` calls the core's `delete_ruleset`.

Engine behaviours handled here (durable-rules 2.0.28):

- Starting a session costs more than evaluating a small profile: the core allocates and zeroes
  two 4 KB indexes and three frame pools for every beta node of the ruleset (about 1,000 here;
  0.34 ms a session). So each ruleset keeps one session and reuses it: an evaluation asserts its
  facts, drains the agenda, then retracts every fact it asserted (the phase facts first: they
  gate every rule with `absent`, so no negation can come true while the rest goes). A session
  that fails, that finds anything still to fire after the retraction, or that has served
  SESSION_EVALUATIONS evaluations is deleted and a new one started.
- Per-session state lives until `delete_state`; the kept session is deleted on close.
- A session on which no action ever started frees an uninitialised pointer in
  `delete_state` (the state node's action context is never initialised). A new session's
  first evaluation therefore asserts the context fact alone, which the `$start` rule always
  matches, and completes that action before anything else can fail; later evaluations on the
  session assert the context fact with the others.
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
#: Evaluations one session serves before it is deleted and a new one started: a bound on whatever the core might
#: keep from one evaluation to the next (tests/golden and bench/soak.py find nothing kept).
SESSION_EVALUATIONS = 10_000

_names = itertools.count(1)
_sids = itertools.count(1)

#: called with (rule name, {alias: fact}); returns facts to assert in the same session
OnMatch = Callable[[str, dict[str, Any]], Iterable[dict[str, Any]]]


def _dumps(value: Any) -> str:
    """JSON text for the core. Facts hold only validated vocabulary (ASCII words, codes, numbers)."""
    return orjson.dumps(value).decode("utf-8")


class DurableRuleset:
    """One compiled durable-rules ruleset and the session it reuses. Evaluations on it are serialised by a lock."""

    def __init__(self, label: str, definition: dict[str, Any]):
        self.name = f"{label}-{next(_names)}"
        try:
            self._handle = core.create_ruleset(self.name, _dumps(definition))
        except core.error as exc:
            raise EngineFailure(f"durable-rules refused the compiled ruleset: {exc}") from None
        self._lock = threading.Lock()
        self._closed = False
        self._sid: str | None = None  # the session kept between evaluations
        self._served = 0  # evaluations the kept session has served
        self.sessions_started = 0

    @property
    def session(self) -> str | None:
        """The session kept for the next evaluation, if any."""
        return self._sid

    def has_session(self, sid: str) -> bool:
        """Whether the engine holds state for a session."""
        try:
            core.get_state(self._handle, sid)
            return True
        except core.error:
            return False

    def close(self) -> None:
        """Delete the kept session and free the ruleset in the C core (Host has no way to do this)."""
        with self._lock:
            if not self._closed:
                self._end_session()
                core.delete_ruleset(self._handle)
                self._closed = True

    def run(self, context: dict[str, Any], facts: list[dict[str, Any]], phases: int, on_match: OnMatch,
            budget: Budget = UNBOUNDED_TIME) -> None:
        """One evaluation: the context fact, then all facts, then one phase fact per phase; then every fact asserted
        is retracted, so the session holds nothing for the next one. Stops (raising) when the budget's firings or
        time run out."""
        with self._lock:
            if self._closed:
                raise EngineFailure("ruleset already closed")
            if self._sid is None or self._served >= SESSION_EVALUATIONS:
                self._end_session()
                self._sid = str(next(_sids))
                self.sessions_started += 1
            sid = self._sid
            asserted: dict[str, None] = {}  # fact ids in the order asserted (a dict: each once)
            try:
                first = [context] if self._served == 0 or not facts else [context, *facts]
                state = self._assert(sid, first, asserted)  # a new session: the $start action first, alone
                self._drain(state, sid, on_match, budget, asserted)
                if len(first) == 1 and facts:
                    budget.check()
                    self._assert(sid, facts, asserted)
                    self._drain(state, sid, on_match, budget, asserted)
                for n in range(1, phases + 1):
                    budget.check()
                    self._assert(sid, [{"t": "phase", "id": f"phase:{n}", "n": n}], asserted)
                    self._drain(state, sid, on_match, budget, asserted)
                self._served += 1
                clean = self._retract(sid, asserted)
            except core.error as exc:
                self._end_session()
                raise EngineFailure(f"durable-rules failed during evaluation: {exc}") from None
            except BaseException:
                self._end_session()
                raise
            if not clean:
                self._end_session()

    def _end_session(self) -> None:
        if self._sid is not None:
            with contextlib.suppress(core.error):  # never started, or already gone
                core.delete_state(self._handle, self._sid)
            self._sid = None
            self._served = 0

    def _assert(self, sid: str, facts: list[dict[str, Any]], asserted: dict[str, None]) -> int:
        state: int
        code, state = core.assert_facts(self._handle, _dumps([{**f, "sid": sid} for f in facts]))
        for fact in facts:
            asserted[fact["id"]] = None
        if code not in (OK, NOT_HANDLED, OBSERVED):
            raise EngineFailure(f"durable-rules refused facts with code {code}")
        return state

    def _retract(self, sid: str, asserted: dict[str, None]) -> bool:
        """Retract every fact of the evaluation, phase facts first; whether nothing is left to fire."""
        ids = sorted(asserted, key=lambda i: not i.startswith("phase:"))
        code, state = core.retract_facts(self._handle, _dumps([{"sid": sid, "id": i} for i in ids]))
        if code not in (OK, NOT_HANDLED, OBSERVED):
            return False
        return not core.start_action_for_state(self._handle, state)

    def _drain(self, state: int, sid: str, on_match: OnMatch, budget: Budget, asserted: dict[str, None]) -> None:
        """Fire until nothing is left to fire. Facts the firings derive are asserted together once the agenda is
        empty, and the agenda drained again (one call to the core per round, not per fact): positive rules reach
        the same fixed point, and a rule that negates a derived fact waits for a later phase anyway."""
        handle = self._handle
        actions = 0
        while True:
            derived: list[dict[str, Any]] = []
            following = core.start_action_for_state(handle, state)
            message = following[1] if following else None
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
            self._assert(sid, derived, asserted)
