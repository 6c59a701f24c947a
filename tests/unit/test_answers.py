"""Cached answers are text: what compare and the metrics read back from them is the assessment as evaluated."""
from __future__ import annotations

import gc

from bench.profiles import LARGE
from service.answers import AnswerCache, make
from service.profile.model import Profile


def test_an_answer_read_back_is_the_assessment_as_evaluated(compiled):
    """The answer is written as plain data and rendered by orjson: byte for byte what the model writes."""
    profile = Profile.model_validate(LARGE)
    answer = make(compiled.write_up(profile, "", horizon_days=365))
    assessment = compiled.evaluate(profile, "01JDQ7Y8Z9A0B1C2D3E4F5G6H7", horizon_days=365)
    assert answer.for_id("01JDQ7Y8Z9A0B1C2D3E4F5G6H7") == assessment
    assert answer.body_bytes("01JDQ7Y8Z9A0B1C2D3E4F5G6H7") == assessment.model_dump_json().encode()
    assert answer.fired == tuple((o.rule_id, o.kind) for o in assessment.obligations) and answer.fired
    assert (answer.ruleset_version, answer.ruleset_digest, answer.as_of) == (
        assessment.ruleset.version, assessment.ruleset.digest, assessment.as_of.isoformat())


def test_the_answer_cache_holds_no_model_objects(compiled):
    """Thousands of cached model trees made every full garbage collection walk them (pauses of ~100 ms)."""
    cache = AnswerCache(64 * 1024 * 1024)
    gc.collect()
    before = len(gc.get_objects())
    for i in range(50):
        profile = Profile.model_validate({**LARGE, "business": {**LARGE["business"], "name": f"Business {i}"}})
        cache.put((365, str(i)), make(compiled.write_up(profile, "", horizon_days=365)))
    gc.collect()
    assert len(gc.get_objects()) - before < 50 * 40  # a few tracked objects per answer; as models: ~500 each
