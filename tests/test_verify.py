"""archiver verify: a real two-run collection passes, and each kind of damage is named.

One collection is crawled per module (two runs, so it holds responses and revisits of both
profiles); every damage test works on its own copy. Records are read back with the
independent reader in tests/warcread.py, and the hand-made extras are written with warcio.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import itertools
import json
import shutil
import zlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import archiver.collection.warc
from archiver.archive.protocol import Capture
from archiver.cli.verify import add_parser
from archiver.collection.cdxj import CdxjLine
from archiver.collection.warc import PROFILE_IDENTICAL
from archiver.model.errors import CollectionError
from archiver.model.exchange import Body
from archiver.tools.verify import render_text, verify_collection
from samplesite.server import SampleSiteServer
from tests.conftest import crawl_site
from tests.test_archivist import (
    RAW_304,
    RUN_2,
    SITE,
    answer_not_modified,
    capture,
    open_archivist,
    page,
)
from tests.warcread import Record, iter_records, read_member


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    output = tmp_path_factory.mktemp("verify") / "coll"
    with SampleSiteServer() as server:
        for _run in range(2):
            result = crawl_site(server, output)
            assert result.returncode == 0, result.stderr
    yield output


@pytest.fixture
def coll(clean: Path, tmp_path: Path) -> Path:
    """A private copy of the clean collection, to damage."""
    return Path(shutil.copytree(clean, tmp_path / "coll"))


def warcs(root: Path) -> list[Path]:
    return sorted((root / "warcs").glob("*.warc.gz"))


def found(root: Path) -> set[tuple[str, str | None, int | None]]:
    """(check, path, offset) of every problem verify reports."""
    report = verify_collection(root)
    assert not report.ok
    return {(p.check, p.path, p.offset) for p in report.problems}


def rel(path: Path) -> str:
    return f"warcs/{path.name}"


def gzip_member(data: bytes, level: int = 9) -> bytes:
    deflater = zlib.compressobj(level, zlib.DEFLATED, 31)
    return deflater.compress(data) + deflater.flush()


# -- a clean collection ----------------------------------------------------------------


@pytest.mark.e2e
def test_a_clean_two_run_collection_passes(clean: Path):
    report = verify_collection(clean)
    assert report.ok, render_text(report)
    records = [r for path in warcs(clean) for r in iter_records(path)]
    assert report.records == len(records)
    profiles = {r.get("WARC-Profile") for r in records if r.type == "revisit"}
    assert len(profiles) == 2, "both revisit profiles are exercised"
    text = render_text(report)
    assert text.splitlines()[0].startswith(f"ok  {rel(warcs(clean)[0])}  ")
    assert text.endswith(f"verified 2 files, {len(records)} records: OK\n")


@pytest.mark.e2e
def test_a_clean_collection_replays_in_pywb(clean: Path):
    report = verify_collection(clean, replay=True)
    assert report.ok, render_text(report)
    captures = [
        r for path in warcs(clean) for r in iter_records(path) if r.type in ("response", "revisit")
    ]
    assert report.replayed == len(captures)
    assert f"ok  replay  {len(captures)} captures replayed in pywb" in render_text(report)
    assert not list(clean.rglob("*.open")) and not (clean / "collections").exists()


# -- damage inside a WARC file ---------------------------------------------------------


@pytest.mark.e2e
def test_a_flipped_payload_byte_fails_both_digests(coll: Path):
    path = warcs(coll)[0]
    record = next(r for r in iter_records(path) if _plain_html(r))
    _flip_payload_byte_in_place(path, record)
    problems = verify_collection(coll).problems
    assert {(p.check, p.offset) for p in problems} == {("digest", record.offset)}
    messages = sorted(p.message for p in problems)
    assert len(messages) == 2
    assert "WARC-Block-Digest" in messages[0] and "WARC-Payload-Digest" in messages[1]


def _plain_html(record: Record) -> bool:
    if record.type != "response":
        return False
    head = record.http_head.lower()
    return b"text/html" in head and b"content-encoding" not in head


def _flip_payload_byte_in_place(path: Path, record: Record) -> None:
    """Change one payload byte and recompress to the member's exact size: no offset moves.

    archiver's members come from ISA-L at GZIP_LEVEL: the same compressor most often gives
    the same size; any stdlib zlib level that happens to will do as well."""
    raw, length = read_member(path, record.offset)
    start = len(raw) - 4 - len(record.payload)
    compressors = [archiver.collection.warc.gzip_member] + [
        functools.partial(gzip_member, level=level) for level in (6, 5, 4, 3, 7, 8, 9)
    ]
    for compress, pos, byte in itertools.product(
        compressors, range(start, len(raw) - 4), b"etaoinsr"
    ):
        if raw[pos] != byte:
            member = compress(raw[:pos] + bytes([byte]) + raw[pos + 1 :])
            if len(member) == length:
                with open(path, "r+b") as f:
                    f.seek(record.offset)
                    f.write(member)
                return
    raise AssertionError("no one-byte change recompresses to the same size")


@pytest.mark.e2e
def test_a_truncated_file_is_caught_at_its_last_member(coll: Path):
    path = warcs(coll)[0]
    last = list(iter_records(path))[-1]
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 100)
    report = verify_collection(coll)
    gzip_problems = [p for p in report.problems if p.check == "gzip"]
    assert [(p.path, p.offset) for p in gzip_problems] == [(rel(path), last.offset)]
    assert "cut short" in gzip_problems[0].message
    # The lost request leaves its response unpaired; nothing else is wrong.
    assert {p.check for p in report.problems} == {"gzip", "pairing"}


@pytest.mark.e2e
def test_a_corrupt_member_is_caught_and_the_rest_of_the_file_still_read(coll: Path):
    path = warcs(coll)[0]
    records = list(iter_records(path))
    victim = next(r for r in records if r.type == "response" and r.length > 400)
    with open(path, "r+b") as f:
        f.seek(victim.offset + victim.length // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x55]))
    report = verify_collection(coll)
    (gzip_problem,) = [p for p in report.problems if p.check == "gzip"]
    assert (gzip_problem.path, gzip_problem.offset) == (rel(path), victim.offset)
    assert f"to the next member at {victim.offset + victim.length}" in gzip_problem.message
    assert report.files[0].records == len(records) - 1
    # What pointed at the lost record says so; its request and the second run's revisit of
    # it have lost their response.
    others = {(p.check, "damaged stretch" in p.message) for p in report.problems} - {
        ("gzip", False)
    }
    assert others <= {("index", True), ("manifest", True), ("pairing", False), ("revisit", False)}


@pytest.mark.e2e
def test_trailing_garbage_is_caught_where_it_starts(coll: Path):
    path = warcs(coll)[1]
    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"not gzip at all\n")
    assert found(coll) == {("gzip", rel(path), size)}


@pytest.mark.e2e
def test_a_missing_request_record_is_caught(coll: Path):
    path = warcs(coll)[0]
    *_, response, request = iter_records(path)
    assert request.type == "request" and response.type in ("response", "revisit")
    with open(path, "r+b") as f:
        f.truncate(request.offset)  # the last member: no offset after it moves
    assert found(coll) == {("pairing", rel(path), response.offset)}


# -- hand-made records: only the check under test may fail -----------------------------

DATE = "2026-01-02T03:04:05.000006Z"
URL = "http://sample.archiver.test:8000/extra.html"


def write_exchange(root: Path, response_type: str, head: StatusAndHeaders, body: bytes, **warc):
    """Write a response (or revisit) and its request into a new WARC, and index the response.

    warcio computes the digests, so only what the test puts wrong is wrong.
    """
    path = root / "warcs" / "extra-20260102030405-00000-test.warc.gz"
    writer = WARCWriter(BytesIO(), gzip=True, warc_version="1.1")
    response = writer.create_warc_record(
        URL,
        response_type,
        payload=BytesIO(body),
        length=len(body),
        http_headers=head,
        warc_headers_dict={"WARC-Date": DATE, **warc},
    )
    request = writer.create_warc_record(
        URL,
        "request",
        payload=BytesIO(b""),
        length=0,
        http_headers=StatusAndHeaders(
            "GET /extra.html HTTP/1.1",
            [("Host", "sample.archiver.test:8000")],
            is_http_request=True,
        ),
        warc_headers_dict={
            "WARC-Date": DATE,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    with open(path, "wb") as f:
        out = WARCWriter(f, gzip=True, warc_version="1.1")
        out.write_record(response)
        length = f.tell()
        out.write_record(request)
    line = CdxjLine.of(
        url=URL,
        timestamp="20260102030405",
        mime="text/html",
        status=200,
        digest=response.rec_headers.get_header("WARC-Payload-Digest"),
        length=length,
        offset=0,
        filename=path.name,
    ).format()
    (root / "indexes" / "extra.cdxj").write_text(line, encoding="utf-8")
    return path


def http_head(*headers: tuple[str, str]) -> StatusAndHeaders:
    return StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], "HTTP/1.1")


@pytest.mark.e2e
def test_an_orphan_revisit_is_caught(coll: Path):
    stored = next(r for r in iter_records(warcs(coll)[0]) if r.type == "response")
    path = write_exchange(
        coll,
        "revisit",
        http_head(),
        b"",
        **{
            "WARC-Profile": PROFILE_IDENTICAL,
            "WARC-Refers-To": "<urn:uuid:00000000-0000-4000-8000-000000000000>",
            "WARC-Refers-To-Target-URI": stored.get("WARC-Target-URI"),
            "WARC-Refers-To-Date": stored.get("WARC-Date"),
            "WARC-Payload-Digest": stored.get("WARC-Payload-Digest"),
            "WARC-Truncated": "length",
        },
    )
    report = verify_collection(coll)
    assert {(p.check, p.path, p.offset) for p in report.problems} == {("revisit", rel(path), 0)}
    assert "orphan revisit" in report.problems[0].message


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("header", "body"),
    [
        (("Content-Encoding", "gzip"), b"<html><body>plain, not gzip</body></html>"),
        (("Transfer-Encoding", "chunked"), b"<html><body>de-chunked already</body></html>"),
    ],
    ids=["gzip-over-plain", "chunked-over-dechunked"],
)
def test_headers_that_do_not_describe_the_body_are_caught(
    coll: Path, header: tuple[str, str], body: bytes
):
    path = write_exchange(coll, "response", http_head(header), body)
    report = verify_collection(coll)
    assert {(p.check, p.path, p.offset) for p in report.problems} == {("encoding", rel(path), 0)}
    assert header[0] in report.problems[0].message


@pytest.mark.e2e
def test_the_same_headers_over_a_matching_body_pass(coll: Path):
    compressed = gzip_member(b"<html><body>gzip indeed</body></html>")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(compressed), compressed)
    head = http_head(("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip"))
    # The payload of a body kept chunked is its entity (warcio would digest the framing).
    write_exchange(coll, "response", head, chunked, **{"WARC-Payload-Digest": sha1(compressed)})
    report = verify_collection(coll)
    assert report.ok, render_text(report)


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


@pytest.mark.e2e
def test_a_chunked_payload_digest_over_the_framing_is_caught(coll: Path):
    entity = b"<html><body>kept as transferred</body></html>"
    chunked = b"%x;name=value\r\n%s\r\n0\r\nExpires: never\r\n\r\n" % (len(entity), entity)
    head = http_head(("Transfer-Encoding", "chunked"))
    path = write_exchange(coll, "response", head, chunked)  # warcio digests the framing
    report = verify_collection(coll)
    assert {(p.check, p.path, p.offset) for p in report.problems} == {("digest", rel(path), 0)}
    (problem,) = report.problems
    assert "chunk framing included" in problem.message and sha1(entity) in problem.message


# -- captures the archivist writes: no crawl ------------------------------------------


def archived(root: Path, *items: Capture) -> None:
    archivist = open_archivist(root)
    for item in items:
        archivist.archive(item)
    archivist.close()


@pytest.mark.parametrize("reason", ["length", "disconnect", "time"])
def test_a_chunked_body_cut_mid_chunk_verifies_with_the_entity_received(
    tmp_path: Path, reason: str
):
    entity = page("Cut", text="the server went quiet " * 300)
    item = capture("/cut.html", entity, chunked=True, truncated=reason)
    framed = item.exchange.response_body.data
    kept = framed[: len(framed) // 2]  # inside a chunk: what came before the cut
    received = dechunk_what_came(kept)
    exchange = item.exchange
    exchange.response_body = Body.of(kept)
    exchange.payload_digest, exchange.payload_length = sha1(received), len(received)
    exchange.block_digest = sha1(exchange.response_head + kept)
    archived(tmp_path, item)
    report = verify_collection(tmp_path)
    assert report.ok, render_text(report)


def dechunk_what_came(framed: bytes) -> bytes:
    """The data of the chunks in ``framed``, the last one as far as it came."""
    entity, pos = b"", 0
    while pos < len(framed):
        eol = framed.index(b"\r\n", pos)
        size = int(framed[pos:eol].split(b";")[0], 16)
        entity += framed[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2
    return entity


def test_a_truncation_reason_warc_does_not_name_is_caught(tmp_path: Path):
    archived(tmp_path, capture("/cut.html", page("Cut"), truncated="bored"))
    report = verify_collection(tmp_path)
    (problem,) = report.problems
    assert problem.check == "record" and "WARC-Truncated 'bored'" in problem.message


def extra_metadata(root: Path, refers_to: str, target: str) -> Path:
    """A WARC file holding one 304 metadata record that refers to ``refers_to``."""
    path = root / "warcs" / "extra-20260102030405-00000-test.warc.gz"
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True, warc_version="1.1")
        record = writer.create_warc_record(
            "metadata://site.test/a.html",
            "metadata",
            payload=BytesIO(RAW_304),
            length=len(RAW_304),
            warc_content_type="application/http; msgtype=response",
            warc_headers_dict={
                "WARC-Date": DATE,
                "WARC-Refers-To": refers_to,
                "WARC-Concurrent-To": refers_to,
                "WARC-Refers-To-Target-URI": target,
            },
        )
        writer.write_record(record)
    return path


def test_a_304s_metadata_record_must_refer_to_its_revisit_in_the_same_file(tmp_path: Path):
    first = open_archivist(tmp_path)
    first.archive(capture("/a.html", page("A"), headers=((b"ETag", b'"v1"'),)))
    first.close()
    second = open_archivist(tmp_path, RUN_2)
    item = answer_not_modified(second, "/a.html", RAW_304)
    second.archive(item)
    second.close()
    assert verify_collection(tmp_path).ok
    assert item.written is not None and item.written.metadata is not None
    revisit = item.written.response
    cases = {
        "<urn:uuid:00000000-0000-4000-8000-000000000000>": "names no record",
        revisit.record_id: "not in the same file",
    }
    for refers_to, why in cases.items():
        path = extra_metadata(tmp_path, refers_to, SITE + "/a.html")
        report = verify_collection(tmp_path)
        assert [(p.check, p.path, p.offset) for p in report.problems] == [("pairing", rel(path), 0)]
        assert why in report.problems[0].message


# -- the files around the WARCs --------------------------------------------------------


@pytest.mark.e2e
def test_a_manifest_line_at_the_wrong_offset_is_caught_by_line_number(coll: Path):
    manifest = coll / "manifest.jsonl"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = json.loads(lines[4])
    entry["warc_offset"] += 1
    lines[4] = json.dumps(entry) + "\n"
    lines.append('{"url": "cut short\n')
    manifest.write_text("".join(lines), encoding="utf-8")
    problems = verify_collection(coll).problems
    assert [(p.check, p.path, p.line) for p in problems] == [
        ("manifest", "manifest.jsonl", 5),
        ("manifest", "manifest.jsonl", len(lines)),
    ]
    assert "not the start of a record" in problems[0].message
    assert "corrupt line" in problems[1].message


@pytest.mark.e2e
def test_a_leftover_open_file_is_caught(coll: Path):
    leftover = coll / "warcs" / "archiver-20260102030405-00001-vm.warc.gz.open"
    leftover.write_bytes(gzip_member(b"WARC/1.1\r\n"))
    assert found(coll) == {("open-file", "warcs/" + leftover.name, None)}


@pytest.mark.e2e
def test_an_index_missing_a_line_is_caught(coll: Path):
    index = sorted((coll / "indexes").glob("*.cdxj"))[0]
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = json.loads(lines.pop(7).split(" ", 2)[2])
    index.write_text("".join(lines), encoding="utf-8")
    problem = ("index", "warcs/" + dropped["filename"], int(dropped["offset"]))
    assert found(coll) == {problem}


@pytest.mark.e2e
def test_replay_catches_a_revisit_pywb_cannot_resolve(coll: Path):
    """An index digest pywb cannot match leaves the revisits of that payload unreplayable."""
    first, second = sorted((coll / "indexes").glob("*.cdxj"))
    revisit = next(r for r in iter_records(warcs(coll)[1]) if _plain_revisit(r))
    digest = revisit.get("WARC-Payload-Digest")
    text = first.read_text(encoding="utf-8")
    assert text.count(digest) == 1
    first.write_text(text.replace(digest, "sha1:" + "A" * 32), encoding="utf-8")
    report = verify_collection(coll, replay=True)
    replay = [(p.path, p.offset) for p in report.problems if p.check == "replay"]
    assert (rel(warcs(coll)[1]), revisit.offset) in replay
    assert {p.check for p in report.problems} == {"index", "replay"}
    assert second.exists()


def _plain_revisit(record: Record) -> bool:
    return record.type == "revisit" and record.http_first_line.endswith(b"200 OK")


# -- the command -----------------------------------------------------------------------


def run_verify(*args: str) -> int:
    parser = argparse.ArgumentParser(prog="archiver")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["verify", *args])
    return parsed.func(parsed)


@pytest.mark.e2e
def test_the_command_exits_0_when_sound_and_1_when_not(
    clean: Path, coll: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_verify(str(clean)) == 0
    assert capsys.readouterr().out.endswith(": OK\n")
    (coll / "indexes" / "stray.cdxj.open").write_text("", encoding="utf-8")
    assert run_verify(str(coll), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["counts"]["problems"] == 1
    assert report["collection_problems"][0]["check"] == "open-file"
    assert run_verify(str(coll)) == 1
    out = capsys.readouterr().out
    assert "FAIL  collection" in out and out.endswith(": 1 problem\n")


def test_the_command_refuses_a_folder_that_is_not_a_collection(tmp_path: Path):
    with pytest.raises(CollectionError, match="not an archiver collection"):
        run_verify(str(tmp_path))
