"""Every example and scenario answer is byte for byte the one pinned in answers.sha256.json (see answers.py)."""
from __future__ import annotations

import json

from tests.golden.answers import DIGESTS, digest, digests, profiles


def test_every_answer_is_the_pinned_one(compiled):
    pinned = json.loads(DIGESTS.read_text(encoding="utf-8"))
    now = digests(compiled)
    assert now.keys() == pinned.keys(), "profiles added or removed: python -m tests.golden.answers --update"
    changed = sorted(name for name in now if now[name] != pinned[name])
    assert not changed, (f"{len(changed)} answers differ from the pinned ones: {changed[:20]}; if the rules changed "
                         "on purpose, review and run python -m tests.golden.answers --update")


def test_answers_do_not_depend_on_what_the_session_served_before(compiled):
    """The profiles were evaluated in one order above (each on a session of its own); in the reverse order every
    answer is the same."""
    pinned = json.loads(DIGESTS.read_text(encoding="utf-8"))
    every = profiles(compiled)
    reverse = {name: digest(compiled, every[name]) for name in reversed(list(every))}
    assert reverse == pinned
