"""Answers as JSON text: one body per distinct answer, the assessment id spliced in.

Evaluation is deterministic: the same profile under the same rule-set version gives the same
answer but for its assessment id. So the JSON is rendered once into a *template* (the body with
an empty id), identified by its SHA-256, cached per process, and stored once in the decision
log; each assessment is the template with its own id put back, byte for byte as returned.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from service.engine.assessment import AnswerData, Assessment, dump

PREFIX = '{"assessment_id":"'
ID_SLOT = len(PREFIX)


@dataclass(frozen=True)
class Answer:
    """Text and a few scalars only: a cache of thousands of answers must not hold thousands of model trees
    (each full garbage collection walks every object held; that cost ~100 ms pauses under fresh profiles)."""

    template: str  # the JSON with "assessment_id":""
    sha: str  # sha256 of the template
    encoded: bytes  # the template as UTF-8, split around the id, so a response needs no encoding
    ruleset_version: str
    ruleset_digest: str
    as_of: str  # ISO date
    fired: tuple[tuple[str, str], ...]  # (rule_id, kind) of each obligation, for the metrics

    def body(self, assessment_id: str) -> str:
        return render(self.template, assessment_id)

    def body_bytes(self, assessment_id: str) -> bytes:
        return self.encoded[:ID_SLOT] + assessment_id.encode("ascii") + self.encoded[ID_SLOT:]

    def for_id(self, assessment_id: str) -> Assessment:
        """The assessment as a model, read back from its text (compare needs it; responses use the text)."""
        return Assessment.model_validate_json(self.body(assessment_id))


def render(template: str, assessment_id: str) -> str:
    return template[:ID_SLOT] + assessment_id + template[ID_SLOT:]


def make(data: AnswerData) -> Answer:
    """An assessment's JSON data (with any id) -> its answer template."""
    encoded = dump({**data, "assessment_id": ""})
    template = encoded.decode("utf-8")
    assert template.startswith(PREFIX + '"'), "assessment_id must be the first field of the answer"
    ruleset = data["ruleset"]
    return Answer(template, hashlib.sha256(encoded).hexdigest(), encoded, ruleset["version"], ruleset["digest"],
                  data["as_of"].isoformat(), tuple((o["rule_id"], o["kind"]) for o in data["obligations"]))


#: What an answer is cached by under one served version: (horizon in days, the profile as stated, in canonical JSON).
Key = tuple[int, str]


class AnswerCache:
    """Answers by (horizon, canonical profile) under one served version, least recently used out, bounded in bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Key, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Answer | None:
        with self._lock:
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: Key, answer: Answer) -> None:
        size = len(answer.template) + len(key[1])
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                old_key, old = self._items.popitem(last=False)
                self._bytes -= len(old.template) + len(old_key[1])
