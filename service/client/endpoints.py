"""The calls as methods, written once for both clients: each method of `Operations` is a builder of
`service/client/calls.py` whose `Call` goes to the client's own `send`, which returns the `Result` (sync client) or
an awaitable of it (async client). The signatures, defaults and docstrings are the builders'.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, overload

from service.client import calls
from service.client.calls import Call, M, Result

if TYPE_CHECKING:
    from service.client.asynchronous import AsyncComplianceClient
    from service.client.synchronous import ComplianceClient

P = ParamSpec("P")


class Endpoint(Generic[P, M]):
    """A builder bound, on a client, to that client's `send`."""

    def __init__(self, build: Callable[P, Call[M]]):
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, client: ComplianceClient, owner: type[Any]) -> Callable[P, Result[M]]: ...
    @overload
    def __get__(self, client: AsyncComplianceClient, owner: type[Any]) -> Callable[P, Awaitable[Result[M]]]: ...

    def __get__(self, client: ComplianceClient | AsyncComplianceClient | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        build, send = self.build, client.send

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))
        return method


class Operations:
    """Every call of the service, as methods of a client."""

    # assessments
    assess = Endpoint(calls.assess)
    assessment = Endpoint(calls.assessment)
    compare = Endpoint(calls.compare)
    batch = Endpoint(calls.batch)
    questions = Endpoint(calls.questions)
    # the rule base
    rules = Endpoint(calls.rules)
    rule = Endpoint(calls.rule)
    instruments = Endpoint(calls.instruments)
    # rule sets; the changes and the audit need an operator token
    rulesets = Endpoint(calls.rulesets)
    active_ruleset = Endpoint(calls.active_ruleset)
    ruleset = Endpoint(calls.ruleset)
    upload_ruleset = Endpoint(calls.upload_ruleset)
    preview_ruleset = Endpoint(calls.preview_ruleset)
    activate_ruleset = Endpoint(calls.activate_ruleset)
    reload_ruleset = Endpoint(calls.reload_ruleset)
    audit = Endpoint(calls.audit)
    # portfolio impact (operator) and the change feed
    start_impact = Endpoint(calls.start_impact)
    impact = Endpoint(calls.impact)
    changes = Endpoint(calls.changes)
    webhook_status = Endpoint(calls.webhook_status)
