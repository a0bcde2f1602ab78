"""The archivist (archiver/archive/archivist.py) on its own: captures in; records, lines and
rows out. No crawler and no HTTP: each test opens a real collection in tmp_path, hands the
archivist Captures as the crawl process would, and reads what was written back with the
independent reader in tests/warcread.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
import tracemalloc
from contextlib import closing
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from archiver.archive.archivist import Archivist
from archiver.archive.protocol import ArchiveConfig, Capture
from archiver.collection.frontier import Frontier
from archiver.collection.layout import Collection
from archiver.collection.warc import PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED, read_payload
from archiver.model.changes import Change
from archiver.model.defaults import DEDUP_INDEX, MAX_TEXT_BYTES
from archiver.model.exchange import Body, Exchange
from archiver.model.links import LinkKind
from archiver.tools.verify import render_text, verify_collection
from archiver.web.heads import header_value, request_start
from tests.warcread import Record, iter_records, sha1_b32

SITE = "http://site.test"
RUN_1 = "20261125000000"
RUN_2 = "20261126000000"
HTML = "text/html; charset=utf-8"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"

# -- captures as the crawl process makes them ---------------------------------------------


def page(title: str, *hrefs: str, text: str = "") -> bytes:
    """An HTML page whose links are ``hrefs``; an href ending in .gif is an image."""
    links = "".join(
        f'<img src="{href}">' if href.endswith(".gif") else f'<a href="{href}">{href}</a>'
        for href in hrefs
    )
    body = f"<p>{text or title}</p>{links}"
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def exchange(
    path: str,
    body: bytes = b"",
    *,
    status: int = 200,
    content_type: str | None = HTML,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    truncated: str | None = None,
    chunked: bool = False,
) -> Exchange:
    """An exchange as the crawl process records it: the body as transferred (``chunked``:
    in chunk framing, under Transfer-Encoding: chunked), with its digests."""
    url = SITE + path
    response_headers = [(b"Content-Type", content_type.encode())] if content_type else []
    if chunked:
        response_headers.append((b"Transfer-Encoding", b"chunked"))
    else:
        response_headers.append((b"Content-Length", str(len(body)).encode()))
    response_headers += headers
    request_headers = [(b"User-Agent", b"archiver-tests"), (b"Accept-Encoding", b"gzip")]
    head = response_head(status, response_headers)
    transferred = chunk(body) if chunked else body
    return Exchange(
        url=url,
        date=datetime.now(UTC),
        request_head=request_head(url, request_headers),
        request_body=b"",
        response_head=head,
        response_body=Body.of(transferred),
        status=status,
        ip_address="127.0.0.1",
        content_type=content_type,
        payload_digest=sha1_b32(body),
        payload_length=len(body),
        block_digest=sha1_b32(head + transferred),
        chunked=chunked,
        truncated=truncated,
    )


def request_head(url: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A GET as the download handler writes it: request line, Host, then the headers."""
    lines = request_start("GET", urlsplit(url))
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def response_head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A head as a server sends it, framing headers included."""
    status_line = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()
    lines = [status_line, *(name + b": " + value for name, value in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def chunk(entity: bytes, size: int = 1000) -> bytes:
    """``entity`` in chunk framing, in chunks of ``size`` bytes, with a chunk extension."""
    pieces = [entity[i : i + size] for i in range(0, len(entity), size)]
    framed = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return framed + b"0\r\n\r\n"


def capture(path: str, body: bytes = b"", **kwargs: Any) -> Capture:
    """A capture the archive worker reads: its body, and its links wanted if it is a page."""
    item = exchange(path, body, **kwargs)
    links_base = item.url if item.mime == "text/html" else None
    return Capture(item, body, item.content_type, links_base=links_base)


def config(root: Path, run_id: str = RUN_1, **changes: Any) -> ArchiveConfig:
    values: dict[str, Any] = {
        "root": root,
        "run_id": run_id,
        "index_class": DEDUP_INDEX,
        "warc_prefix": "test",
        "warc_size": 10**9,
        "warcinfo": {"software": "archiver tests", "archiver-run-id": run_id},
        "dedup_max_age": 0.0,
        "checkpoint_captures": 1000,
        "checkpoint_seconds": 3600.0,
    }
    values.update(changes)
    return ArchiveConfig(**values)


def make_collection(root: Path) -> Path:
    """The collection folder and frontier the crawl process makes before the worker opens."""
    Collection(root).create()
    frontier = root / "frontier.sqlite3"
    Frontier(frontier).close()
    return frontier


def open_archivist(root: Path, run_id: str = RUN_1, **changes: Any) -> Archivist:
    return Archivist.open(config(root, run_id, **changes), make_collection(root))


# -- reading back what was written --------------------------------------------------------


def records(root: Path, warc_type: str | None = None) -> list[Record]:
    """Every record of every WARC file, finished or still open, in the order written."""
    paths = sorted((root / "warcs").iterdir())
    found = [record for path in paths for record in iter_records(path)]
    return [r for r in found if warc_type is None or r.type == warc_type]


def manifest(root: Path) -> list[dict[str, Any]]:
    text = (root / "manifest.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def index_lines(root: Path, run_id: str = RUN_1, *, open_: bool = False) -> list[str]:
    path = root / "indexes" / (f"{run_id}.cdxj" + (".open" if open_ else ""))
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def index_fields(line: str) -> dict[str, str]:
    return json.loads(line.split(" ", 2)[2])


def dedup_rows(root: Path, table: str) -> list[tuple[Any, ...]]:
    """Rows committed to the dedup index's file, read by a connection of the test's own."""
    with closing(sqlite3.connect(root / "dedup.sqlite3")) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def assert_verifies(root: Path) -> None:
    report = verify_collection(root)
    assert report.ok, render_text(report)


# -- records ------------------------------------------------------------------------------


def test_a_page_is_written_as_a_response_with_its_request_and_read_once(tmp_path: Path):
    archivist = open_archivist(tmp_path)
    body = page("Home", "/about.html", "/logo.gif", text="Three main points")
    item = capture("/", body)
    archivist.archive(item)
    archivist.close()

    warcinfo, response, request = records(tmp_path)
    assert warcinfo.type == "warcinfo" and b"archiver-run-id: " + RUN_1.encode() in warcinfo.block
    assert (response.type, request.type) == ("response", "request")
    assert response.get("WARC-Target-URI") == request.get("WARC-Target-URI") == SITE + "/"
    assert response.get("WARC-Date") == request.get("WARC-Date")
    assert request.get("WARC-Concurrent-To") == response.get("WARC-Record-ID")
    assert response.get("WARC-Warcinfo-ID") == warcinfo.get("WARC-Record-ID")
    assert response.http_head == item.exchange.response_head and response.payload == body
    assert request.block == item.exchange.request_head
    assert response.get("WARC-Payload-Digest") == sha1_b32(body) == item.payload_digest
    assert response.get("WARC-IP-Address") == "127.0.0.1"
    assert item.revisit is None and item.change is Change.NEW
    written = item.written
    assert written is not None and written.response.filename == response.path.name
    assert (written.response.offset, written.response.length) == (response.offset, response.length)
    assert (written.request.offset, written.request.length) == (request.offset, request.length)

    # Read once, here: the text for the manifest and the links for the crawl process.
    assert item.document is not None and item.document.title == "Home"
    assert [(link.url, link.kind) for link in item.links] == [
        (SITE + "/about.html", LinkKind.NAVIGATION),
        (SITE + "/logo.gif", LinkKind.REQUISITE),
    ]
    (line,) = manifest(tmp_path)
    assert line["url"] == SITE + "/" and line["title"] == "Home" and line["status"] == 200
    assert "Three main points" in line["text"] and line["change"] == "new"
    assert line["record_id"] == response.get("WARC-Record-ID")
    assert (line["warc_filename"], line["warc_offset"], line["warc_length"]) == (
        response.path.name,
        response.offset,
        response.length,
    )
    (cdxj,) = index_lines(tmp_path)
    assert index_fields(cdxj) == {
        "url": SITE + "/",
        "mime": "text/html",
        "status": "200",
        "digest": sha1_b32(body),
        "length": str(response.length),
        "offset": str(response.offset),
        "filename": response.path.name,
    }
    assert archivist.stats["archiver/records/response"] == 1
    assert archivist.stats["archiver/manifest_lines"] == 1
    assert_verifies(tmp_path)


@pytest.mark.parametrize("when", ["same run", "next run"])
def test_an_identical_payload_under_another_url_is_a_revisit_of_the_first(
    tmp_path: Path, when: str
):
    archivist = open_archivist(tmp_path)
    first = capture("/images/logo.gif", GIF, content_type="image/gif")
    archivist.archive(first)
    if when == "next run":  # found in the committed rows, not among those held back
        archivist.close()
        archivist = open_archivist(tmp_path, RUN_2)
    again = capture("/old/logo.gif", GIF, content_type="image/gif")
    archivist.archive(again)
    archivist.close()

    stored, revisit = records(tmp_path, "response") + records(tmp_path, "revisit")
    assert revisit.get("WARC-Target-URI") == SITE + "/old/logo.gif"
    assert revisit.get("WARC-Profile") == PROFILE_IDENTICAL
    assert revisit.get("WARC-Payload-Digest") == stored.get("WARC-Payload-Digest") == sha1_b32(GIF)
    assert revisit.get("WARC-Refers-To") == stored.get("WARC-Record-ID")
    assert revisit.get("WARC-Refers-To-Target-URI") == SITE + "/images/logo.gif"
    assert revisit.get("WARC-Refers-To-Date") == stored.get("WARC-Date")
    assert revisit.http_head == again.exchange.response_head and revisit.payload == b""
    assert len(records(tmp_path, "request")) == 2, "a revisit has its request too"
    assert archivist.stats["archiver/dedup/identical"] == 1
    assert archivist.stats["archiver/records/revisit"] == 1
    run = RUN_1 if when == "same run" else RUN_2
    revisit_line = [index_fields(line) for line in index_lines(tmp_path, run)][-1]
    assert revisit_line["url"] == SITE + "/old/logo.gif"
    assert revisit_line["mime"] == "warc/revisit" and revisit_line["status"] == "200"
    assert_verifies(tmp_path)


def test_a_304_is_a_server_not_modified_revisit_of_the_stored_payload(tmp_path: Path):
    body = page("Quotes", text="Unchanged since 1998")
    etag = (b"ETag", b'"v1"')
    first = open_archivist(tmp_path)
    first.archive(capture("/quotes.html", body, headers=(etag,)))
    first.close()

    archivist = open_archivist(tmp_path, RUN_2)
    # What the crawl process does with the answer to its conditional request: the stored
    # payload it confirms, and that payload read back for text and links.
    previous = archivist.index.capture(SITE + "/quotes.html")
    assert previous is not None and previous.etag == '"v1"'
    stored = archivist.index.payload(previous.digest)
    assert stored is not None
    content = read_payload(tmp_path / "warcs" / stored.filename, stored.offset, MAX_TEXT_BYTES)
    date = (b"Date", b"Thu, 26 Nov 2026 00:00:00 GMT")
    answer = exchange("/quotes.html", status=304, content_type=None, headers=(etag, date))
    item = Capture(
        answer,
        content,
        header_value(previous.response_head, b"content-type"),
        links_base=answer.url,
        previous=previous,
        not_modified=stored,
    )
    archivist.archive(item)
    archivist.close()

    (response,) = records(tmp_path, "response")
    (revisit,) = records(tmp_path, "revisit")
    assert revisit.get("WARC-Profile") == PROFILE_NOT_MODIFIED
    assert revisit.get("WARC-Refers-To") == response.get("WARC-Record-ID")
    assert revisit.get("WARC-Refers-To-Target-URI") == SITE + "/quotes.html"
    assert revisit.get("WARC-Refers-To-Date") == response.get("WARC-Date")
    assert revisit.get("WARC-Payload-Digest") == sha1_b32(body), "the digest it confirms"
    # The stored response as a cache serves it after the 304: its status and type, the
    # 304's fresh headers.
    assert revisit.http_first_line == b"HTTP/1.1 200 OK"
    assert (b"Content-Type", HTML.encode()) in revisit.http_headers()
    assert date in revisit.http_headers()
    requests = records(tmp_path, "request")
    assert requests[-1].block == answer.request_head
    assert item.change is Change.UNCHANGED
    (line,) = [line for line in manifest(tmp_path) if line["run"] == RUN_2]
    assert (line["status"], line["mime"], line["change"]) == (200, "text/html", "unchanged")
    assert line["text"] == "Unchanged since 1998"
    assert line["record_id"] == revisit.get("WARC-Record-ID")
    (cdxj,) = index_lines(tmp_path, RUN_2)
    assert index_fields(cdxj)["mime"] == "warc/revisit" and index_fields(cdxj)["status"] == "200"
    stats = archivist.stats
    assert stats["archiver/dedup/not_modified"] == 1 and stats["archiver/status/304"] == 1
    assert stats["archiver/mime/text/html"] == 1
    assert_verifies(tmp_path)


def answer_not_modified(archivist: Archivist, path: str, head: bytes) -> Capture:
    """What the crawl process hands over for a 304 to its conditional request: the 304 as
    received, and the stored payload it confirms, read back for text and links."""
    previous = archivist.index.capture(SITE + path)
    assert previous is not None
    stored = archivist.index.payload(previous.digest)
    assert stored is not None
    content = read_payload(archivist.config.root / "warcs" / stored.filename, stored.offset, 1000)
    answer = exchange(path, status=304, content_type=None)
    answer.response_head, answer.block_digest = head, sha1_b32(head)
    answer.payload_digest, answer.payload_length = sha1_b32(b""), 0
    content_type = header_value(previous.response_head, b"content-type")
    return Capture(
        answer, content, content_type, links_base=answer.url, previous=previous, not_modified=stored
    )


# The 304 exactly as a server sent it: odd case, a reason phrase of its own, keep-alive.
RAW_304 = (
    b"HTTP/1.1 304 Not Modified Here\r\ndate: Thu, 26 Nov 2026 00:00:00 GMT\r\n"
    b'etag: "v1"\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\n\r\n'
)


def test_a_304_is_kept_as_received_in_a_metadata_record_after_its_request(tmp_path: Path):
    first = open_archivist(tmp_path)
    first.archive(capture("/quotes.html", page("Quotes"), headers=((b"ETag", b'"v1"'),)))
    first.close()
    archivist = open_archivist(tmp_path, RUN_2)
    item = answer_not_modified(archivist, "/quotes.html", RAW_304)
    archivist.archive(item)
    archivist.close()

    second = sorted((tmp_path / "warcs").iterdir())[-1]
    warcinfo, revisit, request, metadata = iter_records(second)
    assert (revisit.type, request.type, metadata.type) == ("revisit", "request", "metadata")
    # The revisit replays the page at the new date; the metadata record says what came.
    assert revisit.http_first_line == b"HTTP/1.1 200 OK"
    assert metadata.block == RAW_304 == item.exchange.response_head
    assert metadata.get("Content-Type") == "application/http; msgtype=response"
    assert metadata.get("WARC-Target-URI") == "metadata://site.test/quotes.html"
    revisit_id = revisit.get("WARC-Record-ID")
    assert metadata.get("WARC-Concurrent-To") == metadata.get("WARC-Refers-To") == revisit_id
    assert request.get("WARC-Concurrent-To") == revisit_id
    assert metadata.get("WARC-Refers-To-Target-URI") == SITE + "/quotes.html"
    assert metadata.get("WARC-Date") == revisit.get("WARC-Date") == request.get("WARC-Date")
    assert metadata.get("WARC-Warcinfo-ID") == warcinfo.get("WARC-Record-ID")
    assert metadata.get("WARC-Block-Digest") == sha1_b32(RAW_304)
    assert metadata.get("WARC-Payload-Digest") is None
    # The index and the manifest know the revisit only.
    written = item.written
    assert written is not None and written.metadata is not None
    assert (written.response.offset, written.metadata.offset) == (revisit.offset, metadata.offset)
    assert written.end == second.stat().st_size
    (cdxj,) = index_lines(tmp_path, RUN_2)
    assert index_fields(cdxj)["offset"] == str(revisit.offset)
    (line,) = [line for line in manifest(tmp_path) if line["run"] == RUN_2]
    assert line["record_id"] == revisit_id and line["warc_offset"] == revisit.offset
    assert_verifies(tmp_path)


def test_a_chunked_response_keeps_its_framing_and_the_entitys_digest(tmp_path: Path):
    body = page("Chunked", text="sent in pieces " * 200)
    item = capture("/chunked.html", body, chunked=True)
    archivist = open_archivist(tmp_path)
    archivist.archive(item)
    archivist.close()
    (response,) = records(tmp_path, "response")
    assert response.payload == chunk(body) and response.entity == body
    assert b"Transfer-Encoding: chunked" in response.http_head
    assert response.get("WARC-Payload-Digest") == sha1_b32(body) == item.payload_digest
    assert response.get("WARC-Block-Digest") == sha1_b32(response.block)
    assert index_fields(index_lines(tmp_path)[0])["digest"] == sha1_b32(body)
    assert "sent in pieces" in manifest(tmp_path)[0]["text"]
    assert archivist.stats["archiver/payload_bytes/text/html"] == len(body)
    assert_verifies(tmp_path)


def test_a_large_spooled_body_is_archived_and_verified_in_bounded_memory(tmp_path: Path):
    """A body on disk is streamed into its record, never held whole: by the writer, by
    verify, by read_payload. Its spool file is gone once its records are written."""
    size = 24 << 20
    spool = tmp_path / "spool"
    spool.mkdir()
    body_file = spool / "body-1.spool"
    digest = hashlib.sha1()
    with open(body_file, "wb") as out:  # incompressible: the member grows as big as the body
        for _ in range(size >> 20):
            piece = os.urandom(1 << 20)
            out.write(piece)
            digest.update(piece)
    item = capture("/video.bin", b"", content_type="application/octet-stream")
    item.exchange = spooled_exchange(item.exchange, body_file, digest)
    archivist = open_archivist(tmp_path)

    tracemalloc.start()
    try:
        archivist.archive(item)
        archivist.close()
        written_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        report = verify_collection(tmp_path)
        verify_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        stored = item.written
        assert stored is not None
        start = read_payload(
            tmp_path / "warcs" / stored.response.filename, stored.response.offset, 100
        )
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok, render_text(report)
    assert not body_file.exists(), "the spool file is removed once its records are written"
    assert max(written_peak, verify_peak, read_peak) < 8 << 20, (written_peak, verify_peak)
    (response,) = records(tmp_path, "response")
    assert len(response.payload) == size and start == response.payload[:100]
    assert response.get("WARC-Payload-Digest") == sha1_b32(digest.digest(), raw=True)
    assert archivist.stats["archiver/payload_bytes/application/octet-stream"] == size


def spooled_exchange(item: Exchange, path: Path, digest: Any) -> Exchange:
    """``item`` with the body in ``path``, as the crawl hands over a body it spooled."""
    size = path.stat().st_size
    head = item.response_head.replace(b"Content-Length: 0", b"Content-Length: %d" % size)
    block = hashlib.sha1(head)
    with open(path, "rb") as body:
        while piece := body.read(1 << 20):
            block.update(piece)
    return dataclasses.replace(
        item,
        response_head=head,
        response_body=Body(b"", path, size),
        payload_digest=sha1_b32(digest.digest(), raw=True),
        payload_length=size,
        block_digest=sha1_b32(block.digest(), raw=True),
    )


def test_a_truncated_body_is_never_stored_as_a_dedup_payload(tmp_path: Path):
    cut = b"\x00" * 5000
    archivist = open_archivist(tmp_path)
    binary = {"content_type": "application/octet-stream"}
    archivist.archive(capture("/endless", cut, truncated="length", **binary))
    # The same bytes, whole this time: stored in full, as nothing may refer to a cut body.
    archivist.archive(capture("/whole", cut, **binary))
    # Cut again, though a whole payload with its digest is stored now: still not a revisit,
    # for the record must say it is cut.
    archivist.archive(capture("/endless-again", cut, truncated="disconnect", **binary))
    archivist.archive(capture("/copy", cut, **binary))  # whole: a revisit of /whole
    archivist.close()

    responses = records(tmp_path, "response")
    assert [r.get("WARC-Target-URI") for r in responses] == [
        SITE + "/endless",
        SITE + "/whole",
        SITE + "/endless-again",
    ]
    assert [r.get("WARC-Truncated") for r in responses] == ["length", None, "disconnect"]
    (revisit,) = records(tmp_path, "revisit")
    assert revisit.get("WARC-Target-URI") == SITE + "/copy"
    assert revisit.get("WARC-Refers-To") == responses[1].get("WARC-Record-ID")
    ((digest, url, *_),) = dedup_rows(tmp_path, "payloads")
    assert (digest, url) == (sha1_b32(cut), SITE + "/whole")
    assert_verifies(tmp_path)


def test_a_payload_older_than_the_max_age_is_stored_again(tmp_path: Path):
    archivist = open_archivist(tmp_path, dedup_max_age=1e-9)  # days: under a millisecond
    archivist.archive(capture("/a.gif", GIF, content_type="image/gif"))
    time.sleep(0.01)
    archivist.archive(capture("/b.gif", GIF, content_type="image/gif"))
    archivist.close()
    assert len(records(tmp_path, "response")) == 2 and records(tmp_path, "revisit") == []
    assert archivist.stats["archiver/dedup/expired"] == 1


# -- commits ------------------------------------------------------------------------------


def test_lines_and_rows_appear_only_after_a_checkpoint(tmp_path: Path):
    archivist = open_archivist(tmp_path, checkpoint_captures=2)
    archivist.archive(capture("/a.html", page("A")))
    assert not archivist.checkpoint_due
    archivist.archive(capture("/b.html", page("B")))
    assert archivist.checkpoint_due

    # The records are in the file at once; nothing points at them yet.
    assert [r.type for r in records(tmp_path)] == ["warcinfo", *["response", "request"] * 2]
    assert manifest(tmp_path) == []
    assert index_lines(tmp_path, open_=True) == [] and index_lines(tmp_path) == []
    assert dedup_rows(tmp_path, "payloads") == [] and dedup_rows(tmp_path, "captures") == []

    archivist.checkpoint()
    assert not archivist.checkpoint_due
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/a.html", SITE + "/b.html"]
    assert len(index_lines(tmp_path, open_=True)) == 2 and index_lines(tmp_path) == []
    assert len(dedup_rows(tmp_path, "payloads")) == 2
    assert len(dedup_rows(tmp_path, "captures")) == 2
    ((filename, run_id, end),) = dedup_rows(tmp_path, "commit_marks")
    (path,) = (tmp_path / "warcs").iterdir()
    assert (filename + ".open", run_id, end) == (path.name, RUN_1, path.stat().st_size)

    archivist.close()  # the last checkpoint; the index sorted and sealed
    assert index_lines(tmp_path, open_=True) == [] and len(index_lines(tmp_path)) == 2
    assert archivist.totals()["archiver/checkpoints"] == 2
    assert archivist.totals()["archiver/index_lines"] == 2
    assert_verifies(tmp_path)


def test_each_page_is_marked_new_changed_unchanged_or_gone_and_counted(tmp_path: Path):
    first = open_archivist(tmp_path)
    for path in ("/a.html", "/b.html", "/c.html"):
        first.archive(capture(path, page(path)))
    first.archive(capture("/logo.gif", GIF, content_type="image/gif"))
    first.close()
    assert first.page_counts == {"new": 3, "changed": 0, "unchanged": 0, "gone": 0}

    archivist = open_archivist(tmp_path, RUN_2)
    second = [
        capture("/a.html", page("/a.html")),
        capture("/b.html", page("/b.html", text="edited")),
        capture("/c.html", page("Not Found"), status=404),
        capture("/d.html", page("/d.html")),
        capture("/logo.gif", GIF, content_type="image/gif"),
    ]
    for item in second:
        item.previous = archivist.index.capture(item.exchange.url)
        archivist.archive(item)
    archivist.close()

    assert [item.change for item in second] == [
        Change.UNCHANGED,
        Change.CHANGED,
        Change.GONE,  # answered, but with an error where a page was
        Change.NEW,
        Change.UNCHANGED,
    ]
    expected = {"new": 1, "changed": 1, "unchanged": 1, "gone": 1}  # pages only: no image
    assert archivist.page_counts == expected
    assert archivist.pages == {
        "new": [SITE + "/d.html"],
        "changed": [SITE + "/b.html"],
        "unchanged": [SITE + "/a.html"],
        "gone": [SITE + "/c.html"],
    }
    totals = archivist.totals()
    assert totals["archiver/page_counts"] == expected
    assert totals["archiver/pages_by_change"] == archivist.pages
    marks = {line["url"]: line["change"] for line in manifest(tmp_path) if line["run"] == RUN_2}
    assert marks == {item.exchange.url: item.change for item in second[:4]}
    stats = archivist.stats
    assert (stats["archiver/captures"], stats["archiver/manifest_lines"]) == (5, 4)
    assert stats["archiver/records/revisit"] == 2  # /a.html and the image, unchanged
    assert (stats["archiver/status/200"], stats["archiver/status/404"]) == (4, 1)
    assert stats["archiver/mime/image/gif"] == 1
    assert stats["archiver/payload_bytes/image/gif"] == len(GIF)
    assert_verifies(tmp_path)
