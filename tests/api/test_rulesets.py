"""Rule sets at runtime over HTTP: upload, validation, activation, rollback, preview, reload, audit, and auth."""
from __future__ import annotations

import io
import json
import logging
import tarfile
import zipfile

from tests.helpers import RULES, TOKENS, bearer, make_profile

CLEANUP = "miit-2017-internet-access-market-cleanup.yaml"


def rule_files() -> dict[str, str]:
    return {p.relative_to(RULES).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(RULES.rglob("*")) if p.is_file()}


def retitled(files: dict[str, str], new_title: str) -> dict[str, str]:
    out = dict(files)
    out[CLEANUP] = out[CLEANUP].replace(
        "title: IDC, ISP or CDN business conducted without the corresponding telecom business permit",
        f"title: {new_title}", 1)
    assert out[CLEANUP] != files[CLEANUP]
    return out


async def versions(client) -> list[dict]:
    return (await client.get("/v1/rulesets", headers=bearer("reader"))).json()["versions"]


async def audit_events(client) -> list[dict]:
    return (await client.get("/v1/audit", headers=bearer("operator"))).json()["events"]


async def test_upload_validates_stores_and_does_not_activate(client, app):
    before = (await client.get("/v1/rulesets/active")).json()
    files = retitled(rule_files(), "Unlicensed IDC, ISP or CDN business (v2)")
    r = await client.post("/v1/rulesets", json={"files": files}, headers=bearer("operator"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] is True and body["active"] is False and body["rule_count"] > 30
    assert body["digest"].startswith("sha256:") and body["report"]["checks"] > 0
    again = await client.post("/v1/rulesets", json={"files": files}, headers=bearer("operator"))
    assert again.status_code == 200 and again.json()["version"] == body["version"]
    assert [v["version"] for v in await versions(client)].count(body["version"]) == 1
    assert (await client.get("/v1/rulesets/active")).json()["version"] == before["version"]


async def test_archives_are_accepted(client):
    files = retitled(rule_files(), "Unlicensed business (zip)")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        for name, text in files.items():
            z.writestr(f"rules/{name}", text)
    r = await client.post("/v1/rulesets", content=zipped.getvalue(),
                          headers={**bearer("operator"), "content-type": "application/zip"})
    assert r.status_code == 201, r.text
    files = retitled(rule_files(), "Unlicensed business (tar)")
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    r = await client.post("/v1/rulesets", content=tarred.getvalue(),
                          headers={**bearer("operator"), "content-type": "application/gzip"})
    assert r.status_code == 201, r.text


async def test_an_invalid_rule_set_lists_every_error_and_stores_nothing(client):
    count = len(await versions(client))
    files = rule_files()
    files[CLEANUP] = files[CLEANUP].replace("severity: critical", "severity: catastrophic", 1)
    files["extra.yaml"] = ("rules:\n  - id: x.bad\n    title: A bad rule here\n    kind: obligation\n"
                           "    when: [{servce: {}}]\n")
    r = await client.post("/v1/rulesets", json={"files": files}, headers=bearer("operator"))
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any(e.get("file") == CLEANUP and e.get("rule") == "cleanup.unlicensed-business" and e["path"] == "severity"
               for e in errors)
    assert any(e.get("file") == "extra.yaml" and e.get("rule") == "x.bad" for e in errors)
    assert len(await versions(client)) == count
    assert (await audit_events(client))[0]["outcome"] == "refused"


async def test_unsafe_paths_are_refused(client):
    for bad in ("../escape.yaml", "/abs.yaml", "a/../../b.yaml"):
        r = await client.post("/v1/rulesets", json={"files": {**rule_files(), bad: "rules: []\n"}},
                              headers=bearer("operator"))
        assert r.status_code == 422, bad
        assert any(e.get("file") == bad for e in r.json()["errors"])


async def test_an_upload_over_ten_mebibytes_is_413(client):
    r = await client.post("/v1/rulesets", content=b"0" * (10 * 1024 * 1024 + 1),
                          headers={**bearer("operator"), "content-type": "application/zip"})
    assert r.status_code == 413


async def test_activate_serves_the_new_version_then_roll_back(client, app):
    old = (await client.get("/v1/rulesets/active")).json()["version"]
    files = retitled(rule_files(), "Unlicensed business (activated)")
    new = (await client.post("/v1/rulesets", json={"files": files}, headers=bearer("operator"))).json()["version"]
    r = await client.post(f"/v1/rulesets/{new}/activate", headers=bearer("operator"))
    assert r.status_code == 200 and r.json()["version"] == new and r.json()["loaded_by"].startswith("token:")
    active = (await client.get("/v1/rulesets/active")).json()
    assert active["version"] == new and active["database_version"] == new and active["previous_version"] == old
    cdn = make_profile(licences=[], services=[{"type": "cdn", "regions": ["CN-GD"]}])
    answer = await client.post("/v1/assessments", json=cdn)
    assert answer.headers["X-Ruleset-Version"] == new
    titles = {o["rule_id"]: o["title"] for o in answer.json()["obligations"]}
    assert titles["cleanup.unlicensed-business"] == "Unlicensed business (activated)"

    back = await client.post(f"/v1/rulesets/{old}/activate", headers=bearer("operator"))
    assert back.status_code == 200 and back.json()["version"] == old
    answer = await client.post("/v1/assessments", json=cdn)
    assert answer.headers["X-Ruleset-Version"] == old
    events = await audit_events(client)
    assert (events[0]["action"], events[0]["outcome"], events[0]["from_version"], events[0]["to_version"]) == (
        "rollback", "ok", new, old)
    assert (events[1]["action"], events[1]["from_version"], events[1]["to_version"]) == ("activate", old, new)


async def test_activating_an_unknown_version_is_404_and_audited(client):
    r = await client.post("/v1/rulesets/1999.01.01-9/activate", headers=bearer("operator"))
    assert r.status_code == 404
    assert (await audit_events(client))[0]["outcome"] == "refused"


async def test_preview_reports_what_would_appear_and_disappear(client):
    cdn = make_profile(licences=[], services=[{"type": "cdn", "regions": ["CN-GD"]}])
    recorded = (await client.post("/v1/assessments", json=cdn)).json()
    files = rule_files()
    files[CLEANUP] = files[CLEANUP].replace("  - id: cleanup.new-cdn-permit-requirements",
                                            "  - id: cleanup.new-cdn-permit-requirement")
    candidate = (await client.post("/v1/rulesets", json={"files": files}, headers=bearer("operator"))).json()["version"]
    r = await client.post(f"/v1/rulesets/{candidate}/preview", params={"limit": 5}, headers=bearer("operator"))
    assert r.status_code == 200, r.text
    body = r.json()
    item = next(i for i in body["items"] if i["assessment_id"] == recorded["assessment_id"])
    assert item["appear"] == ["cleanup.new-cdn-permit-requirement"]
    assert item["disappear"] == ["cleanup.new-cdn-permit-requirements"]
    assert body["assessments"] <= 5 and body["changed"] >= 1
    assert body["rules_disappearing"]["cleanup.new-cdn-permit-requirements"] >= 1
    assert (await client.get("/v1/rulesets/active")).json()["version"] != candidate  # preview activates nothing


async def test_reload_loads_rules_dir_and_activates_it(client, app):
    r = await client.post("/v1/rulesets/reload", headers=bearer("operator"))
    assert r.status_code == 200
    stored = [v for v in await versions(client) if v["version"] == r.json()["version"]][0]
    from service.rulebase.loading import from_directory

    assert stored["digest"] == from_directory(RULES).digest
    assert (await client.get("/v1/rulesets/active")).json()["version"] == r.json()["version"]


async def test_operator_endpoints_need_an_operator_token_and_change_nothing(client, app, caplog):
    caplog.set_level(logging.DEBUG)
    active = (await client.get("/v1/rulesets/active")).json()["version"]
    count = len(await versions(client))
    files = retitled(rule_files(), "Never stored")
    attempts = [("post", "/v1/rulesets", {"json": {"files": files}}),
                ("post", f"/v1/rulesets/{active}/activate", {}),
                ("post", "/v1/rulesets/reload", {}),
                ("post", f"/v1/rulesets/{active}/preview", {}),
                ("get", "/v1/audit", {})]
    for method, path, kwargs in attempts:
        assert (await getattr(client, method)(path, **kwargs)).status_code == 401, path
        r = await getattr(client, method)(path, headers={"Authorization": "Bearer not-a-real-token-at-all"}, **kwargs)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        for role in ("reader", "evaluator"):
            r = await getattr(client, method)(path, headers=bearer(role), **kwargs)
            assert r.status_code == 403, (path, role)
    assert len(await versions(client)) == count
    assert (await client.get("/v1/rulesets/active")).json()["version"] == active
    events = await audit_events(client)
    assert events[0]["outcome"] in ("forbidden", "unauthorized")
    for token in TOKENS.values():
        assert token not in caplog.text
        assert all(token not in json.dumps(e) for e in events)
