"""The one evaluation path: bound the profile, evaluate it within the request's budget, write it up.

Every endpoint that evaluates (assess, compare, batch, questions), the rule-set preview and the CLI go through
here, under one set of limits read from the settings:

- MAX_LIST_ITEMS items in any list of a profile, and MAX_PROFILE_FACTS service and licence facts once a profile is
  spread by region and scope: the engine's joins grow much faster than the profile;
- MAX_RULE_FIRINGS firings in one evaluation (what gets past the size checks is still bounded);
- MAX_REQUEST_WORK units of work over all the evaluations one request causes (a batch's items, the candidates
  questions tries), refused up front. A profile's work is its service facts times its licence facts plus both: the
  engine's joins between services and licences are what make an evaluation expensive (the heavy benchmark profile,
  124 service and 120 licence facts, is 15,124 units and 0.45 s; the large one, 30 and 10, is 340 units and 3.5 ms;
  a realistic profile is under 100);
- EVALUATION_TIMEOUT_MS of wall-clock time for one request's evaluations: past it the engine stops at its next
  firing, the request is answered 503 and nothing is recorded.

A profile beyond a bound is refused before anything runs (ProfileTooLarge, RequestTooLarge: 422, naming the path
and the bound). Evaluations run off the event loop (`Evaluations.run`), on a few threads, so that health checks,
metrics and reads are never queued behind an expensive one.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from service import ids, metrics
from service.answers import Answer, make
from service.engine.budget import Budget
from service.errors import ErrorItem, ProfileTooLarge, RequestTooLarge, TooManyFirings
from service.profile.facts import expansion
from service.profile.model import Profile, check_list_sizes
from service.settings import Settings

if TYPE_CHECKING:
    from service.engine.assessment import AnswerData
    from service.engine.evaluate import CompiledRuleSet
    from service.serving import ServedRuleSet

EVALUATED = metrics.EVALUATIONS.labels("evaluated")
REUSED = metrics.EVALUATIONS.labels("reused")
#: How far past as_of an assessment looks for duties that start and deadlines that fall (days).
DEFAULT_HORIZON_DAYS = 365
MAX_HORIZON_DAYS = 3650
#: What "state less" means, in every refusal of a too-large profile.
SMALLER = "state fewer items or regions (CN alone covers every province)"

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """The bounds of evaluation, from the settings."""

    max_list_items: int = 200
    max_profile_facts: int = 250
    max_rule_firings: int = 100_000
    max_request_work: int = 200_000
    timeout_ms: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_list_items=settings.max_list_items, max_profile_facts=settings.max_profile_facts,
                   max_rule_firings=settings.max_rule_firings, max_request_work=settings.max_request_work,
                   timeout_ms=settings.evaluation_timeout_ms)

    def budget(self) -> Budget:
        """The budget of one request, starting now."""
        return Budget.lasting(self.timeout_ms, self.max_rule_firings)


@dataclass
class Evaluated:
    """One evaluated profile: its assessment id, the answer it shares with identical evaluations, and the
    profile as stated (for the decision log)."""

    assessment_id: str
    answer: Answer
    stated_profile: str  # canonical JSON, with the as_of applied

    @property
    def body(self) -> str:
        """The JSON text returned and recorded."""
        return self.answer.body(self.assessment_id)


@dataclass(frozen=True)
class Size:
    """What evaluating a profile costs: its service and licence facts once spread by region and scope."""

    services: int
    licences: int

    @property
    def facts(self) -> int:
        return self.services + self.licences

    @property
    def work(self) -> int:
        """The engine's joins between services and licences, plus the facts themselves."""
        return self.services * self.licences + self.facts


def measure(profile: Profile) -> Size:
    """The profile's size, unchecked."""
    return Size(*expansion(profile))


def size(profile: Profile, limits: Limits, prefix: str = "") -> Size:
    """The profile's size, once checked against the profile bounds (MAX_LIST_ITEMS, MAX_PROFILE_FACTS)."""
    problems = check_list_sizes(profile, limits.max_list_items)
    found = measure(profile)
    if found.facts > limits.max_profile_facts:
        message = (f"services and licences expand to {found.services} + {found.licences} facts (a service: one per "
                   f"region; a licence: one per region and service type in scope); at most {limits.max_profile_facts} "
                   f"are evaluated (MAX_PROFILE_FACTS): {SMALLER}")
        problems += [(name, message) for name, count in (("services", found.services), ("licences", found.licences))
                     if count]
    if problems:
        raise too_large([ErrorItem(path=f"{prefix}{path}", message=msg) for path, msg in problems])
    return found


#: The work of what always goes to the evaluation threads (a batch, questions, a preview).
EXPENSIVE = 10**9


def too_large(errors: list[ErrorItem]) -> ProfileTooLarge:
    """The detail names the paths and the bounds, as a validation error's does."""
    return ProfileTooLarge("the profile is too large: " + "; ".join(str(e) for e in errors[:3]), errors)


def plan(work: int, limits: Limits, path: str, what: str, how: str) -> None:
    """Refuse up front a request whose evaluations would together take more than MAX_REQUEST_WORK."""
    if work > limits.max_request_work:
        message = (f"{what} would take {work:,} units of work (each evaluation: its service facts times its licence "
                   f"facts, plus both); at most {limits.max_request_work:,} are done for one request "
                   f"(MAX_REQUEST_WORK): {how}")
        raise RequestTooLarge(f"the request is too large: {path}: {message}", [ErrorItem(path=path, message=message)])


def write_up(compiled: CompiledRuleSet, profile: Profile, budget: Budget, horizon_days: int = DEFAULT_HORIZON_DAYS,
             where: str = "body", assessment_id: str = "") -> AnswerData:
    """The engine's evaluation within the budget, as the answer's JSON data; a profile beyond the firing bound is
    refused like one beyond the size bounds (the profile's size has been checked: `size`)."""
    budget.check()
    try:
        return compiled.write_up(profile, assessment_id, horizon_days=horizon_days, budget=budget)
    except TooManyFirings:
        raise too_large([ErrorItem(path=where, message=(
            f"its items and regions make the rules fire more than {budget.max_firings:,} times, the bound on one "
            f"evaluation (MAX_RULE_FIRINGS): {SMALLER}"))]) from None


def stated(profile: Profile) -> str:
    """The profile as stated, in canonical JSON with its effective as_of: what is recorded with an assessment, and
    with the horizon what an answer is cached by."""
    return profile.model_copy(update={"as_of": profile.effective_as_of()}).model_dump_json(exclude_none=True)


def evaluate(loaded: ServedRuleSet, profile: Profile, budget: Budget, horizon_days: int = DEFAULT_HORIZON_DAYS,
             where: str = "body", as_stated: str | None = None) -> Evaluated:
    """Evaluate within the budget, or reuse the answer of an identical evaluation under this rule-set version
    (evaluation is deterministic). `as_stated`: the profile's `stated` form, when the caller has it already."""
    as_stated = stated(profile) if as_stated is None else as_stated
    key = (horizon_days, as_stated)
    answer = loaded.answers.get(key)
    if answer is None:
        answer = make(write_up(loaded.compiled, profile, budget, horizon_days, where))
        loaded.answers.put(key, answer)
        EVALUATED.inc()
    else:
        REUSED.inc()
    metrics.HITS.hit(answer)
    return Evaluated(ids.assessment_id(), answer, as_stated)


def cached(loaded: ServedRuleSet, as_stated: str, horizon_days: int) -> Evaluated | None:
    """The answer of an identical evaluation, when there is one: no evaluation needed (cheap on any thread)."""
    answer = loaded.answers.get((horizon_days, as_stated))
    if answer is None:
        return None
    REUSED.inc()
    metrics.HITS.hit(answer)
    return Evaluated(ids.assessment_id(), answer, as_stated)


#: Work up to which a profile is evaluated on the event loop itself: it takes a few milliseconds at most (the large
#: benchmark profile, 340 units, 3.5 ms), less than handing it to a thread costs, and it is never queued behind
#: expensive evaluations. More work goes to the evaluation threads.
INLINE_MAX_WORK = 400
#: How long a thread holding the GIL may keep it while another waits (CPython's default is 5 ms). The evaluation
#: threads run Python for every rule firing; at 5 ms the event loop, waiting for the GIL at each step of a request,
#: answered /healthz in 76 ms (p50) and 293 ms (max) beside four heavy evaluations; at 0.5 ms in 12 ms and 77 ms.
SWITCH_INTERVAL = 0.0005


class Evaluations:
    """Where evaluations run. A cheap one runs on the event loop at once; an expensive one on a few threads beside
    it, so the loop keeps answering health checks, metrics, reads and cheap evaluations while it runs.
    durable-rules holds the GIL only inside its short C calls (~0.2 ms at most per firing; 20 ms for the largest
    assertion measured); the rest is Python, which yields the GIL every SWITCH_INTERVAL (docs/performance.md has the
    measurements behind threads rather than processes)."""

    def __init__(self, threads: int):
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="evaluation")
        self.threads = threads

    async def run(self, work: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)`, whose evaluations take `work` units in all: inline when cheap, else on an
        evaluation thread."""
        if work <= INLINE_MAX_WORK:
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on an evaluation thread, waited for by a thread that is not the event loop (the
        portfolio impact's runner): background work queues with expensive requests, on the same few threads."""
        return self._pool.submit(lambda: fn(*args, **kwargs)).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
