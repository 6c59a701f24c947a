"""What changes between two assessments: the rules whose findings appear, disappear, change or stay the same.

One definition for the onboarding comparison (two profiles, one rule set) and the operators' preview (one
profile, two rule sets).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Changes:
    """Rule ids: added and changed in the order of `after`, removed in the order of `before`."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: list[str]


def between(before: Mapping[str, T], after: Mapping[str, T], same: Callable[[T, T], bool] = lambda a, b: a == b
            ) -> Changes:
    """Findings by rule id, before and after."""
    return Changes(
        added=[rule for rule in after if rule not in before],
        removed=[rule for rule in before if rule not in after],
        changed=[rule for rule in after if rule in before and not same(before[rule], after[rule])],
        unchanged=[rule for rule in after if rule in before and same(before[rule], after[rule])],
    )
