"""Evaluation is deterministic, safe under concurrency, and leaves no engine state behind."""
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


def test_no_engine_state_is_left_behind(compiled):
    """durable-rules keeps per-session state until deleted: every session, also a failed one, is deleted."""
    from service.errors import EngineFailure

    engine = compiled._engines()[0]  # this thread's copy
    answer(compiled, LARGE)
    assert engine.last_sid is not None and not engine.has_session(engine.last_sid)
    sids = set()
    for _ in range(5):
        answer(compiled, make_profile())
        sids.add(engine.last_sid)
    assert len(sids) == 5 and not any(engine.has_session(s) for s in sids)
    # a session that fails midway is deleted too
    original = engine._drain
    calls = {"n": 0}

    def failing(state, sid, on_match, budget):
        calls["n"] += 1
        if calls["n"] == 2:
            raise EngineFailure("injected")
        return original(state, sid, on_match, budget)

    engine._drain = failing
    try:
        try:
            answer(compiled, LARGE)
        except EngineFailure:
            pass
    finally:
        del engine._drain
    assert calls["n"] == 2 and not engine.has_session(engine.last_sid)


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
