"""Hostile rule sets over HTTP (issue 7): each is refused with a problem naming the file or field and what
is allowed, within bounded time and memory; nothing is stored, the active version is untouched, and the
audit log says exactly what happened.

Audit, as the service keeps it: an upload refused after the operator's token was checked is one
`upload`/`refused` event whose detail names the problem (whether the files could not be read, were too
large or did not validate); a body the size limit refuses before anyone is authenticated leaves no event
(nobody is known yet, and an anonymous flood must not fill the audit log).

Memory is measured with tracemalloc (Python allocations: the request body, YAML values, archive members,
errors); the payload is built before measuring starts.
"""
from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.auth import fingerprint
from tests.helpers import TOKENS, bearer, write_rules

OPERATOR = bearer("operator")
ACTOR = fingerprint(TOKENS["operator"])
MiB = 1024 * 1024
SECONDS = 10.0  # generous: every refusal here takes well under a second
HOSTILE = "hostile.yaml"

OK_RULE = {"id": "t.cdn", "when": [{"service": {"type": "cdn"}}], "examples": {"fires": ["cdn"], "quiet": ["empty"]}}
CDN = {"cdn": {"services": [{"type": "cdn", "regions": ["CN-GD"]}]}}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, str]:
    """A small valid rule set (the real catalogue and sources, one rule): hostile files are added to it."""
    return folder(write_rules(tmp_path_factory.mktemp("base"), [OK_RULE], CDN))


def folder(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class Sent:
    response: httpx.Response
    seconds: float
    peak: int  # bytes, tracemalloc

    @property
    def problem(self) -> dict[str, Any]:
        assert self.response.headers["content-type"].startswith("application/problem+json"), self.response.text[:300]
        return self.response.json()

    @property
    def said(self) -> str:
        return described(self.problem)


def described(problem: dict[str, Any]) -> str:
    """Everything a problem (or an audited refusal) says, as one text to look for what it names."""
    return " | ".join([problem["detail"]] + [" ".join(f"{k}={v}" for k, v in e.items()) for e in problem["errors"]])


async def send(client, *, files: dict[str, str] | None = None, content: Any = None, content_type: str | None = None,
               headers: dict[str, str] | None = None) -> Sent:
    """POST /v1/rulesets as the operator, timed, with the peak of Python memory while it ran."""
    h = {**OPERATOR, **(headers or {})}
    if content_type is not None:
        h["content-type"] = content_type
    tracemalloc.start()
    start = time.perf_counter()
    try:
        if files is not None:
            r = await client.post("/v1/rulesets", json={"files": files}, headers=h)
        else:
            r = await client.post("/v1/rulesets", content=content, headers=h)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Sent(r, seconds, peak)


@dataclass
class State:
    versions: list[str]
    active: dict[str, Any]
    last_event: int


async def state(client) -> State:
    versions = [v["version"] for v in (await client.get("/v1/rulesets", headers=bearer("reader"))).json()["versions"]]
    active = (await client.get("/v1/rulesets/active")).json()
    events = (await client.get("/v1/audit", params={"limit": 1}, headers=OPERATOR)).json()["events"]
    return State(versions, {k: active[k] for k in ("version", "digest", "database_version")},
                 events[0]["id"] if events else 0)


async def new_events(client, before: State) -> list[dict]:
    events = (await client.get("/v1/audit", headers=OPERATOR)).json()["events"]
    return [e for e in events if e["id"] > before.last_event]


async def refused(client, before: State, sent: Sent, status: int, *named: str, audited: bool = True,
                  max_bytes: int = 200 * MiB) -> list[dict]:
    """The upload got `status` with a problem that names each of `named`; nothing changed; the audit is honest."""
    assert sent.response.status_code == status, sent.response.text[:500]
    problem = sent.problem
    assert problem["status"] == status and problem["title"] and problem["detail"]
    for fragment in named:
        assert fragment in sent.said, (fragment, sent.said[:500])
    assert sent.seconds < SECONDS, sent.seconds
    assert sent.peak < max_bytes, f"{sent.peak / MiB:.1f} MiB"
    after = await state(client)
    assert after.versions == before.versions, "nothing is stored"
    assert after.active == before.active, "the active version is untouched"
    events = await new_events(client, before)
    if not audited:
        assert events == [], events
        return events
    assert len(events) == 1, events
    event = events[0]
    shown = (event["action"], event["outcome"], event["actor"], event["to_version"])
    assert shown == ("upload", "refused", ACTOR, None)
    assert event["detail"]["detail"] == problem["detail"]
    assert event["detail"]["errors"] == problem["errors"][:50]
    assert len(json.dumps(event["detail"])) < 64 * 1024, "the audit keeps a bounded account of the refusal"
    return events


def zipped(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if modes and name in modes:
                info.external_attr = modes[name] << 16
            z.writestr(info, data)
    return out.getvalue()


def tarred(files: dict[str, str], extra: list[tarfile.TarInfo] = ()) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for info in extra:
            t.addfile(info)
    return out.getvalue()


# --- YAML ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, named", [
    ("rules: !!python/object/apply:os.system ['true']\n", "'!!python/object/apply:os.system'"),
    ("rules:\n  - !foo {id: t.x}\n", "'!foo'"),
    ("examples: !!set {a, b}\n", "'!!set'"),
])
async def test_tags_are_refused_naming_the_tag(client, base, text, named):
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: text})
    await refused(client, before, sent, 422, f"file={HOSTILE}", named, "tags are not allowed", "plain YAML")


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


async def test_an_alias_bomb_is_refused_without_expanding_it(client, base):
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: billion_laughs()})  # 9**10 strings once expanded
    await refused(client, before, sent, 422, f"file={HOSTILE}", "path=line 1", "anchors and aliases are not allowed",
                  max_bytes=50 * MiB)


@pytest.mark.parametrize("shape, text", [
    ("flow lists", "[" * 10_000 + "]" * 10_000),
    ("flow maps", "{a: " * 10_000 + "1" + "}" * 10_000),
    ("block sequences", "- " * 10_000 + "x\n"),
    # 10,000 block maps need ~50 MB of indentation (beyond the upload limit); 3,000 fit in 4.5 MB
    ("block maps", "".join(" " * i + "a:\n" for i in range(3_000)) + " " * 3_000 + "b\n"),
])
async def test_deep_nesting_is_refused(client, base, shape, text):
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: text})
    await refused(client, before, sent, 422, f"file={HOSTILE}", "nesting deeper than 64 levels", max_bytes=100 * MiB)


async def test_duplicate_keys_are_refused_not_silently_merged(client, base):
    rule = ("rules:\n  - id: t.twice\n    title: The first title of this rule\n    kind: obligation\n"
            "    title: A second title that would win\n    when: [{service: {type: cdn}}]\n")
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: rule})
    await refused(client, before, sent, 422, f"file={HOSTILE}", "path=line 5",
                  "duplicate key 'title' (first on line 3)")
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: "rules: []\nexamples: {}\nrules: []\n"})
    await refused(client, before, sent, 422, "duplicate key 'rules' (first on line 1)")


async def test_a_file_of_millions_of_tiny_values_is_refused_before_they_are_built(client, base):
    text = "rules:\n" + "- 1\n" * 2_000_000  # 8 MB: before, validation built an error object per item (GBs)
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: text})
    await refused(client, before, sent, 413, f"at most {100_000:,} YAML values", f"{HOSTILE} goes past it at line",
                  max_bytes=120 * MiB)


async def test_tens_of_thousands_of_problems_are_counted_and_the_first_thousand_listed(client, base):
    text = "rules:\n" + "- 1\n" * 20_000
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: text})
    await refused(client, before, sent, 422, "20000 problem(s); the first 1000 are listed")
    assert len(sent.problem["errors"]) == 1000


async def test_more_rules_than_a_rule_set_holds_is_413(client, base):
    import yaml

    rule = yaml.safe_load(base["test.yaml"])["rules"][0]
    rules = [{**rule, "id": f"t.r{i}"} for i in range(1001)]
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: json.dumps({"rules": rules})})  # JSON is YAML
    await refused(client, before, sent, 413, "at most 1000 rules", "1002 rules")

    examples = {f"e{i}": {} for i in range(2001)}
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: json.dumps({"examples": examples})})
    await refused(client, before, sent, 413, "2000 example profiles", "2003 examples")  # with empty and cdn


# --- the body ------------------------------------------------------------------------------------
async def test_a_hundred_megabytes_is_refused_while_it_streams(client, base):
    pulled = 0

    async def stream():
        nonlocal pulled
        chunk = b"x" * MiB
        for _ in range(100):
            pulled += 1
            yield chunk

    before = await state(client)
    sent = await send(client, content=stream(), content_type="application/zip")  # no Content-Length: counted
    await refused(client, before, sent, 413, "larger than 10485760 bytes", audited=False, max_bytes=20 * MiB)
    assert pulled <= 12, "the rest of the body is never read"

    big = b'{"files": {"x.yaml": "' + b"x" * (100 * MiB) + b'"}}'
    before = await state(client)
    sent = await send(client, content=big, content_type="application/json")  # a declared length: refused unread
    await refused(client, before, sent, 413, "larger than 10485760 bytes", audited=False, max_bytes=5 * MiB)


@pytest.mark.parametrize("content_type", ["application/zip", "application/json", None])
async def test_an_empty_upload_says_what_is_expected(client, content_type):
    before = await state(client)
    sent = await send(client, content=b"", content_type=content_type)
    await refused(client, before, sent, 422, "the upload is empty", "path=body", "zip or tar.gz")


async def test_an_unsupported_content_type_names_the_header(client, base):
    before = await state(client)
    sent = await send(client, content=base["test.yaml"].encode(), content_type="application/yaml")
    await refused(client, before, sent, 422, "path=headers.content-type", "application/zip")


@pytest.mark.parametrize("body, named", [
    (b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests arrays or objects too deeply"),
    (b'{"files": ' + b"9" * 5000 + b"}", "longer than 4300 digits"),
    (b"{not json", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
    ('{"files": {"x.yaml": "caf\xe9"}}'.encode("latin-1"), "not UTF-8"),
    (b'{"files": {"x.yaml": "a: 1", "x.yaml": "a: 2"}}', "'x.yaml' comes twice"),
    (b'{"files": {"x.yaml": "a: \\ud800"}}', "lone surrogate"),
    (b'{"files": {"\\udfff.yaml": "a: 1"}}', "lone surrogate"),
])
async def test_a_json_body_that_cannot_be_read_is_422_not_500(client, body, named):
    before = await state(client)
    sent = await send(client, content=body, content_type="application/json")
    await refused(client, before, sent, 422, named)


# --- archives ------------------------------------------------------------------------------------
def lying_zip(inflated: int, declared: int) -> bytes:
    """One deflated member whose headers declare `declared` bytes while it inflates to `inflated`."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(b"\0" * inflated) + packer.flush()
    name = b"bomb.yaml"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, len(data), declared, len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, 0, len(data), declared, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    return local + data + central + end


async def test_a_zip_bomb_is_refused_while_inflating(client, base):
    honest = io.BytesIO()
    with zipfile.ZipFile(honest, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("bomb.yaml", "w", force_zip64=True) as member:
            for _ in range(50):
                member.write(b"\0" * MiB)
    assert len(honest.getvalue()) < MiB
    before = await state(client)
    sent = await send(client, content=honest.getvalue(), content_type="application/zip")
    await refused(client, before, sent, 413, "at most 10 MiB (reached at bomb.yaml)", max_bytes=30 * MiB)

    liar = lying_zip(inflated=50 * MiB, declared=100)  # zipfile stops at the declared size; the CRC fails
    before = await state(client)
    sent = await send(client, content=liar, content_type="application/zip")
    await refused(client, before, sent, 422, "the archive is damaged", max_bytes=50 * MiB)


async def test_a_tar_gz_bomb_is_refused_while_inflating(client):
    member = tarfile.TarInfo("bomb.yaml")
    member.size = 100 * MiB
    gnu_name = tarfile.TarInfo("././@LongLink")  # an extended name tarfile would read whole (and copy, 6 times)
    gnu_name.type, gnu_name.size = tarfile.GNUTYPE_LONGNAME, 150 * MiB
    for header in (member, gnu_name):
        packed = io.BytesIO()
        with gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=9) as g:
            g.write(header.tobuf(format=tarfile.GNU_FORMAT))
            for _ in range(header.size // MiB):
                g.write(b"a" * MiB)
        assert len(packed.getvalue()) < MiB
        before = await state(client)
        sent = await send(client, content=packed.getvalue(), content_type="application/gzip")
        await refused(client, before, sent, 413, "MiB", max_bytes=80 * MiB)
        assert "inflates to more than" in sent.said or "at most 10 MiB (reached at bomb.yaml)" in sent.said


async def test_a_zip_whose_directory_holds_a_hundred_thousand_entries_is_refused_before_parsing_it(client):
    out, directory, offset = io.BytesIO(), [], 0
    for i in range(120_000):
        name = b"%x" % i
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        directory.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name),
                                     0, 0, 0, 0, 0, offset) + name)
        out.write(local)
        offset += len(local)
    central = b"".join(directory)
    out.write(central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(central), offset, 0))
    body = out.getvalue()
    assert len(body) < 10 * MiB
    before = await state(client)
    sent = await send(client, content=body, content_type="application/zip")
    # opening the zip builds an object per entry (~60 MB for these); counting signatures first does not
    await refused(client, before, sent, 413, "at most 5000 files", max_bytes=40 * MiB)


@pytest.mark.parametrize("name", ["../escape.yaml", "rules/../../escape.yaml", "/etc/escape.yaml"])
async def test_archive_paths_that_climb_or_are_absolute_are_refused(client, base, name):
    for content, content_type in ((zipped({**base, name: "rules: []\n"}), "application/zip"),
                                  (tarred({**base, name: "rules: []\n"}), "application/gzip")):
        before = await state(client)
        sent = await send(client, content=content, content_type=content_type)
        shown = name.removeprefix("rules/")
        await refused(client, before, sent, 422, f"file={shown}", "paths must be relative, without ..")


async def test_links_are_refused_in_zip_and_tar(client, base):
    symlink = zipped({**base, "link.yaml": "/etc/passwd"}, modes={"link.yaml": 0o120777})
    before = await state(client)
    sent = await send(client, content=symlink, content_type="application/zip")
    await refused(client, before, sent, 422, "file=link.yaml", "is a link", "links are not allowed")
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        link = tarfile.TarInfo("link.yaml")
        link.type, link.linkname = kind, ("/etc/passwd" if kind == tarfile.SYMTYPE else "instruments.yaml")
        before = await state(client)
        sent = await send(client, content=tarred(base, [link]), content_type="application/gzip")
        await refused(client, before, sent, 422, "file=link.yaml", "is a link")
    fifo = tarfile.TarInfo("fifo.yaml")
    fifo.type = tarfile.FIFOTYPE
    before = await state(client)
    sent = await send(client, content=tarred(base, [fifo]), content_type="application/gzip")
    await refused(client, before, sent, 422, "file=fifo.yaml", "is not a regular file")


async def test_an_archive_holding_a_path_twice_is_refused(client, base):
    # `rules/test.yaml` and `test.yaml` are the same file once the leading folder is dropped: the later one won
    twice = zipped({**base, "rules/test.yaml": "rules: []\n"})
    before = await state(client)
    sent = await send(client, content=twice, content_type="application/zip")
    await refused(client, before, sent, 422, "file=test.yaml", "holds this path twice")


async def test_a_path_of_megabytes_is_refused_without_echoing_it(client, base):
    long = "a" * (2 * MiB) + ".yaml"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT) as t:  # a GNU long name: any length
        info = tarfile.TarInfo(long)
        info.size = 3
        t.addfile(info, io.BytesIO(b"a: 1"))
    sends = [(zipped({**base, long[-60_000:]: "rules: []\n"}), "application/zip", 60_000),  # a zip name: < 64 KiB
             (out.getvalue(), "application/gzip", len(long)),
             (json.dumps({"files": {**base, long: "rules: []\n"}}).encode(), "application/json", len(long))]
    for content, content_type, length in sends:
        before = await state(client)
        sent = await send(client, content=content, content_type=content_type)
        await refused(client, before, sent, 422, "at most 255 characters", f"({length} characters)")
        assert len(sent.response.content) < 4096


async def test_files_that_are_not_utf8_or_of_an_unknown_type_are_named(client, base):
    before = await state(client)
    sent = await send(client, content=zipped({**base, HOSTILE: "title: caf\xe9\n".encode("latin-1")}),
                      content_type="application/zip")
    await refused(client, before, sent, 422, f"file={HOSTILE}", "is not UTF-8 text")
    before = await state(client)
    sent = await send(client, content=zipped({**base, "run.sh": "#!/bin/sh\n"}), content_type="application/zip")
    await refused(client, before, sent, 422, "file=run.sh", "unexpected file type: expected .yaml, .yml, .txt, .md")


async def test_a_byte_order_mark_is_read_as_the_same_text(client, base):
    """Accepted, not refused: a BOM is how some editors save UTF-8; the text (and so the digest) is the same."""
    first = await send(client, files=base)
    assert first.response.status_code == 201, first.response.text[:500]
    with_bom = {name: ("\ufeff" + text if name.endswith(".yaml") else text) for name, text in base.items()}
    before = await state(client)
    again = await send(client, content=zipped({n: t.encode("utf-8") for n, t in with_bom.items()}),
                       content_type="application/zip")
    assert again.response.status_code == 200, again.response.text[:500]
    assert again.response.json()["digest"] == first.response.json()["digest"]
    assert (await state(client)).versions == before.versions


# --- what the rules say ----------------------------------------------------------------------------
async def test_duplicate_rule_ids_within_and_across_files_are_refused(client, base):
    import yaml

    rule = yaml.safe_load(base["test.yaml"])["rules"][0]  # t.cdn, as test.yaml holds it
    before = await state(client)
    sent = await send(client, files={**base, "other.yaml": json.dumps({"rules": [rule]})})
    await refused(client, before, sent, 422, "duplicate rule id")
    assert sent.problem["errors"] == [{"path": "id", "message": "duplicate rule id (also in other.yaml)",
                                       "file": "test.yaml", "rule": "t.cdn"}]  # files are read in name order
    before = await state(client)
    sent = await send(client, files={**base, HOSTILE: json.dumps({"rules": [{**rule, "id": "t.twice"}] * 2})})
    await refused(client, before, sent, 422, "duplicate rule id")
    assert sent.problem["errors"] == [{"path": "id", "message": f"duplicate rule id (also in {HOSTILE})",
                                       "file": HOSTILE, "rule": "t.twice"}]


async def test_a_chain_through_absence_that_never_settles_is_refused(client, tmp_path):
    flip_flop = [
        {"id": "t.flip", "derive": {"on": {}}, "when": [{"service": {"type": "cdn"}}, {"absent": {"off": {}}}]},
        {"id": "t.flop", "derive": {"off": {}}, "when": [{"service": {"type": "cdn"}}, {"absent": {"on": {}}}]},
    ]
    before = await state(client)
    sent = await send(client, files=folder(write_rules(tmp_path, [OK_RULE, *flip_flop], CDN)))
    await refused(client, before, sent, 422, "rule=t.flip", "rule=t.flop", "path=when", "never settles",
                  "depends on its own absence")


async def test_a_chain_of_rules_deriving_each_other_settles(client, tmp_path):
    """x from y, y from x (and x from x): derived facts are asserted once each, so the chain reaches a fixed
    point; the examples (evaluated while validating) prove it ends, and the version is stored, not active."""
    chain = [
        {"id": "t.seed", "derive": {"x": {"region": "$r"}}, "when": [{"service": {"region": "$r"}}]},
        {"id": "t.x-to-y", "derive": {"y": {"region": "$r"}}, "when": [{"x": {"region": "$r"}}]},
        {"id": "t.y-to-x", "derive": {"x": {"region": "$r"}}, "when": [{"y": {"region": "$r"}}]},
        {"id": "t.x-to-x", "derive": {"x": {"region": "$r"}}, "when": [{"x": {"region": "$r"}}]},
        {"id": "t.both", "when": [{"x": {"region": "$r"}}, {"y": {"region": "$r"}}]},
    ]
    for rule in chain:
        rule["examples"] = {"fires": ["cdn"], "quiet": ["empty"]}
    before = await state(client)
    sent = await send(client, files=folder(write_rules(tmp_path, chain, CDN)))
    assert sent.response.status_code == 201, sent.response.text[:500]
    assert sent.seconds < SECONDS
    assert sent.response.json()["report"]["checks"] == 10
    assert (await state(client)).active == before.active
