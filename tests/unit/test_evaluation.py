"""Evaluation is deterministic, safe under concurrency, and carries nothing from one evaluation to the next."""
from __future__ import annotations

import json
import threading

from service.profile.model import Profile
from tests.helpers import make_profile

LARGE = make_profile(
    licences=[{"type": t, "regions": ["CN-BJ", "CN-SH"], "granted": "2011-06-01"} for t in ("IDC", "ISP", "CDN")],
    services=[{"type": t, "regions": ["CN-BJ", "CN-GD", "CN"]}
              for t in ("cloud_computing", "cdn", "isp", "mobile_app", "idc")],
    network_resources=[{"kind": "ip_addresses", "provider_licensed": False, "recorded": False,
                        "sublet_for_idc_isp": True}],
    cross_border=[{"kind": "vpn", "approved": False, "purpose": "business_operations"}],
)


def answer(compiled, profile: dict) -> str:
    a = compiled.evaluate(Profile.model_validate(profile), "fixed-id")
    return json.dumps(a.model_dump(mode="json"), sort_keys=False)


def test_same_profile_same_answer_in_the_same_order(compiled):
    first = answer(compiled, LARGE)
    assert all(answer(compiled, LARGE) == first for _ in range(20))
    assert json.loads(first)["obligations"], "the large profile triggers obligations"


def test_order_of_the_profile_lists_does_not_change_the_answer(compiled):
    shuffled = dict(LARGE, services=list(reversed(LARGE["services"])), licences=list(reversed(LARGE["licences"])))
    a, b = json.loads(answer(compiled, LARGE)), json.loads(answer(compiled, shuffled))
    assert [o["rule_id"] for o in a["obligations"]] == [o["rule_id"] for o in b["obligations"]]


def test_concurrent_evaluations_give_the_answers_of_serial_ones(compiled):
    profiles = [LARGE, make_profile(), make_profile(services=[]), make_profile(licences=[])]
    expected = [answer(compiled, p) for p in profiles]
    results: list[list[str]] = [[] for _ in range(8)]
    errors = []

    def work(i: int) -> None:
        try:
            for _ in range(25):
                results[i].append(answer(compiled, profiles[i % len(profiles)]))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, got in enumerate(results):
        assert set(got) == {expected[i % len(profiles)]}


def test_every_evaluation_runs_on_a_session_of_its_own_deleted_when_it_ends(compiled):
    engine = compiled._engines()[0]  # this thread's copy
    started = engine.sessions_started
    sessions = set()
    for profile in [LARGE, make_profile(), make_profile(services=[], licences=[]), LARGE]:
        answer(compiled, profile)
        assert engine.session is None and not engine.has_session(engine.last_session)
        sessions.add(engine.last_session)
    assert engine.sessions_started == started + 4 and len(sessions) == 4


class _CoreSpy:
    """durable_rules_engine with every call recorded (name, first argument)."""

    def __init__(self, real):
        self._real = real
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def recorded(*args, **kwargs):
            self.calls.append((name, args[0] if args else None))
            return attr(*args, **kwargs)

        return recorded


def test_facts_are_never_retracted_a_session_is_deleted_instead(compiled, monkeypatch):
    """durable-rules 2.0.28 leaves a completed action's frame flagged as dispatching, and the frame's place in every
    fact it matched: retracting the second fact of a completed match makes `deleteMessageFromFrame` run past the
    frame's message array and write beyond the frame pool (heap corruption: service/engine/durable.py). So the facts
    of an evaluation are never retracted; its session is deleted."""
    from service.engine import durable

    spy = _CoreSpy(durable.core)
    monkeypatch.setattr(durable, "core", spy)
    engine = compiled._engines()[0]
    answer(compiled, LARGE)
    names = [name for name, _ in spy.calls]
    assert "complete_and_start_action" in names, "the large profile fires rules"
    assert not {"retract_fact", "retract_facts"} & set(names)
    assert names.count("delete_state") == len(compiled.shards)
    assert not engine.has_session(engine.last_session)


def test_a_session_is_deleted_when_an_evaluation_fails(compiled):
    from service.errors import EngineFailure

    engine = compiled._engines()[0]  # this thread's copy
    expected = answer(compiled, LARGE)
    original = engine._drain
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise EngineFailure("injected")
        return original(*args, **kwargs)

    engine._drain = failing
    try:
        try:
            answer(compiled, LARGE)
        except EngineFailure:
            pass
    finally:
        del engine._drain
    failed = engine.last_session
    assert calls["n"] == 2 and engine.session is None and not engine.has_session(failed)
    assert answer(compiled, LARGE) == expected and engine.last_session != failed


def test_a_session_stopped_by_its_firing_budget_is_deleted(compiled):
    from service.engine.budget import Budget
    from service.errors import TooManyFirings

    engine = compiled._engines()[0]
    expected = answer(compiled, LARGE)
    try:
        compiled.match(Profile.model_validate(LARGE), Profile.model_validate(LARGE).effective_as_of(),
                       Budget(max_firings=3))
    except TooManyFirings:
        pass
    else:
        raise AssertionError("the large profile fires more than 3 rules")
    assert engine.session is None and not engine.has_session(engine.last_session)
    assert answer(compiled, LARGE) == expected


def test_what_sentences_keep_stays_bounded_over_fresh_profiles(compiled, monkeypatch):
    """Filled-in sentences and the words for each value are kept, but values and dates come from callers: over
    profiles never seen before, what is kept stays under the limit, and the answers are unchanged."""
    from bench.profiles import generated

    profiles = [Profile.model_validate(p) for p in generated(60, seed=3)]
    expected = [answer(compiled, p) for p in profiles]
    monkeypatch.setattr(compiled.sentences, "CACHE_LIMIT", 25)
    compiled.sentences._words.clear()
    compiled.sentences._texts.clear()
    sizes = []
    for profile, before in zip(profiles, expected, strict=True):
        assert answer(compiled, profile) == before
        sizes.append((len(compiled.sentences._words), len(compiled.sentences._texts)))
    assert max(w for w, _ in sizes) <= 25 and max(t for _, t in sizes) <= 25
    assert max(w for w, _ in sizes) >= 10  # the words were kept between evaluations


def test_regions_outside_the_mainland_are_reported_not_assessed(compiled):
    """Hong Kong, Macao and Taiwan carry ISO 3166-2:CN codes, but the instruments govern the mainland."""
    def unlicensed_cdn(*regions: str) -> dict:
        profile = make_profile(services=[{"type": "cdn", "regions": list(regions)}], licences=[],
                               business={"name": "Edge Ltd", "registered_region": "CN-HK"})
        return json.loads(answer(compiled, profile))

    in_guangdong = unlicensed_cdn("CN-GD")
    in_hong_kong = unlicensed_cdn("CN-HK")
    both = unlicensed_cdn("CN-GD", "CN-HK")
    cdn_rules = {o["rule_id"] for o in in_guangdong["obligations"] if "CN-GD" in json.dumps(o)}
    assert cdn_rules, "an unlicensed CDN in Guangdong has duties"
    assert not cdn_rules & {o["rule_id"] for o in in_hong_kong["obligations"]}
    assert "CN-HK" not in json.dumps(in_hong_kong["obligations"]) + json.dumps(both["obligations"])
    assert cdn_rules <= {o["rule_id"] for o in both["obligations"]}
    paths = {w["path"]: w["message"] for w in in_hong_kong["warnings"]}
    assert "outside mainland China" in paths["services[0].regions[0]"]
    assert "Hong Kong" in paths["business.registered_region"]
    assert "services[0].regions[1]" in {w["path"] for w in both["warnings"]}
