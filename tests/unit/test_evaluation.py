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


def test_a_reused_session_keeps_nothing_of_the_evaluations_before():
    """Each ruleset keeps one durable-rules session and retracts every fact after an evaluation: whatever ran before,
    an answer is the one a new session gives (tests/golden holds every example and scenario to this too)."""
    from service.engine.checks import prepare
    from service.rulebase.loading import from_directory
    from tests.helpers import REPO

    profiles = [LARGE, make_profile(), make_profile(services=[], licences=[]), LARGE,
                make_profile(services=[{"type": "cdn", "regions": ["CN-GD"]}], licences=[])]
    kept, _ = prepare(from_directory(REPO / "rules"), "v")
    try:
        engine = kept._engines()[0]
        answers = [answer(kept, p) for p in profiles]
        assert engine.sessions_started == 1 and engine.session is not None and engine.has_session(engine.session)
        for profile, got in zip(profiles, answers, strict=True):
            fresh, _ = prepare(from_directory(REPO / "rules"), "v")
            try:
                assert answer(fresh, profile) == got
            finally:
                fresh.close()
    finally:
        kept.close()
    assert engine.session is None


def test_a_session_is_deleted_when_an_evaluation_fails_and_a_new_one_started(compiled):
    from service.errors import EngineFailure

    engine = compiled._engines()[0]  # this thread's copy
    expected = answer(compiled, LARGE)
    failed = engine.session
    assert failed is not None
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
    assert calls["n"] == 2 and engine.session is None and not engine.has_session(failed)
    started = engine.sessions_started
    assert answer(compiled, LARGE) == expected and engine.sessions_started == started + 1


def test_a_session_is_replaced_after_serving_its_share_of_evaluations(compiled, monkeypatch):
    from service.engine import durable

    monkeypatch.setattr(durable, "SESSION_EVALUATIONS", 3)
    engine = compiled._engines()[0]
    answer(compiled, LARGE)
    first, started = engine.session, engine.sessions_started
    for _ in range(3):
        answer(compiled, make_profile())
    assert engine.sessions_started == started + 1 and engine.session != first and not engine.has_session(first)


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
