"""ReplayWeb.page replays what archiver captured at the wire (issue 15), with the origin gone.

The wire server (samplesite.wire) is crawled as tests/test_wire.py crawls it: twice into one
collection, the second run getting its 304 for /wire/not-modified; then once more for
/wire/big-chunked/N.bin, a chunked body without chunk extensions, linked from nowhere. The
server is stopped, ``archiver wacz`` packages the collection and ReplayWeb.page opens it in
Chromium (tests/browser/rwp.py). Its service worker is asked, from inside the replay, for the
archived responses unrewritten (``.../TIMESTAMPid_/URL``), which are compared with what the
server logged sending.

What ReplayWeb.page 2.5.3's service worker (wabac.js 2.27) does with these records, read in its
source (src/rewrite/decoder.ts, src/archivedb.ts, src/remotearchivedb.ts) and pinned here:

* ``id_`` is not rewritten but is decoded: a body with Transfer-Encoding or Content-Encoding
  is de-chunked, then gunzipped (the Content-Encoding header stays; a browser does not decode
  a service worker's answer). So a chunked body comes back as its entity, and gzip over
  chunked as the entity's content.
* Its de-chunker (dechunkArrayBuffer) takes a chunk-size line to be hex digits then CRLF. At a
  chunk extension (RFC 9112 7.1.1, ``5;name=value``) it gives up and serves the body as
  stored, chunk framing and all, in every mode: the replayed /wire/chunked page shows
  "5;name=value" as text (tests/artifacts/rwp-wire-chunked.png). Trailers after a last chunk
  ``0`` it drops, as it should, but /wire/chunked-trailers has extensions too and never gets
  that far.
* A revisit is resolved on its first lookup: the revisit's own HTTP head (archiver's head
  updated by the 304), the original's payload, the revisit's date. Resolving it also writes
  the original's URL and date into the revisit's index entry, and from then on
  ArchiveDB.getResource takes the entry for an alias (as it does a fuzzy match) and answers
  with the original capture: its head, its date. ReplayWeb.page looks a page up twice
  (.../TIMESTAMPmp_/URL, then the same under the WACZ's hash), so it shows the 304 page at the
  second run's URL with the stored payload, but says it is the first run's capture.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from samplesite.wire import WireExchange, WireServer, big_body
from tests.browser.chromium import CHROMIUM, offsite_traffic
from tests.browser.rangeserver import Served
from tests.browser.rwp import WACZ_PATH, Fetched, make_wacz, replaywebpage
from tests.conftest import ARTIFACTS
from tests.test_wire import WireRun, crawl, timestamp
from tests.warcread import dechunk

pytestmark = [
    pytest.mark.e2e,  # crawls of the wire server, replayed in Chromium
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed (tests/browser/setup.sh installs it)",
    ),
]

NOT_MODIFIED = "/wire/not-modified"
BIG_SIZE = 1_500_000  # two chunks: 1 MiB and the rest
BIG_CHUNKED = f"/wire/big-chunked/{BIG_SIZE}.bin"
CHUNKED = ("/wire/chunked", "/wire/chunked-trailers", "/wire/gzip-chunked", BIG_CHUNKED)
# Their chunk-size lines carry extensions (samplesite.wire.extension_chunks).
WITH_EXTENSIONS = ("/wire/chunked", "/wire/chunked-trailers")

_WABAC_EXTENSIONS = pytest.mark.xfail(
    strict=True,
    reason="wabac.js 2.27 dechunkArrayBuffer gives up at a chunk extension (5;name=value) "
    "and replays the body with its chunk framing",
)
_WABAC_REVISIT_DATE = pytest.mark.xfail(
    strict=True,
    reason="wabac.js 2.27 keeps a resolved revisit as an alias of the original capture and "
    "from its second lookup on (ReplayWeb.page always makes two) replays it at the "
    "original's date",
)


# --- the archive -------------------------------------------------------------------------------


@dataclass
class WireArchive:
    first: WireRun
    second: WireRun  # got the 304 for /wire/not-modified
    plain: WireRun  # fetched BIG_CHUNKED alone
    wacz: Path

    @property
    def not_modified_url(self) -> str:
        return self.first.base + NOT_MODIFIED

    def run_of(self, path: str) -> WireRun:
        return self.plain if path == BIG_CHUNKED else self.first


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> WireArchive:
    collection = tmp_path_factory.mktemp("rwp-wire") / "coll"
    with WireServer() as server:
        first = crawl(server, collection)
        second = crawl(server, collection)
        plain = crawl(server, collection, BIG_CHUNKED)
    for run in (first, second, plain):
        assert run.proc.returncode == 0, run.proc.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 2):
        pass  # the origin is gone: whatever replays now comes from the archive
    archive = WireArchive(first, second, plain, make_wacz(collection, collection.parent / "w.wacz"))
    original, revisit = (run.pair(NOT_MODIFIED) for run in (first, second))
    assert revisit.exchange.status == 304 and revisit.response.type == "revisit"
    assert timestamp(original.response) != timestamp(revisit.response)
    return archive


def expected_content(exchange: WireExchange, path: str) -> bytes:
    """What a replay that de-chunks and decodes gives: the entity the server logged sending,
    gunzipped when it was sent with Content-Encoding: gzip."""
    if path == BIG_CHUNKED:  # logged by its head and length only; the body is generated
        entity = b"".join(bytes(block) for block in big_body(BIG_SIZE))
        assert len(entity) == exchange.entity_length
        return entity
    entity = dechunk(exchange.sent[len(exchange.head) :])
    assert hashlib.sha1(entity).hexdigest() == exchange.entity_sha1  # as logged
    if b"\r\nContent-Encoding: gzip\r\n" in exchange.head:
        return gzip.decompress(entity)
    return entity


# --- two ReplayWeb.page sessions ---------------------------------------------------------------


@dataclass
class Visit:
    """What one ReplayWeb.page session showed and served, and where its requests went."""

    frame_timestamp: str  # in the replay frame's URL
    page_timestamp: str  # wbinfo.timestamp: the capture date the replayed page is told
    shown: dict  # ReplayWeb.page's own word on what it shows (url, ts, title)
    title: str
    fetched: dict[str, Fetched] = field(default_factory=dict)  # by path
    offsite: list[str] = field(default_factory=list)  # requests Playwright saw leave
    netlog: list[str] = field(default_factory=list)  # traffic Chromium's NetLog saw leave
    wacz_reads: list[Served] = field(default_factory=list)


def visit(archive: WireArchive, workdir: Path, path: str, ts: str, screenshot: str) -> Visit:
    """Open ReplayWeb.page on ``path`` at ``ts``; then, the first lookup of the 304 page in this
    session, its raw replay at the second run's date; then every chunked body at its run's."""
    url = archive.first.base + path
    with replaywebpage(archive.wacz, workdir, url, ts) as replay:
        frame = replay.frame
        frame.wait_for_function("() => document.readyState === 'complete'")
        result = Visit(
            replay.timestamp,
            frame.evaluate("() => wbinfo.timestamp"),
            replay.shown(),
            frame.title(),
        )
        second = timestamp(archive.second.pair(NOT_MODIFIED).response)
        result.fetched[NOT_MODIFIED] = replay.fetch(second, archive.not_modified_url)
        for chunked in CHUNKED:
            run = archive.run_of(chunked)
            ts_chunked = timestamp(run.pair(chunked).response)
            result.fetched[chunked] = replay.fetch(ts_chunked, run.base + chunked)
        ARTIFACTS.mkdir(exist_ok=True)
        replay.page.screenshot(path=ARTIFACTS / screenshot)
        result.offsite = replay.browser.requests_not_to(replay.server.base_url)
    result.netlog = offsite_traffic(replay.browser.netlog, replay.server.base_url)
    result.wacz_reads = [s for s in replay.server.log if s.path == WACZ_PATH]
    return result


@pytest.fixture(scope="module")
def chunked_visit(archive: WireArchive, tmp_path_factory: pytest.TempPathFactory) -> Visit:
    """ReplayWeb.page opened on /wire/chunked as the first run captured it."""
    ts = timestamp(archive.first.pair("/wire/chunked").response)
    workdir = tmp_path_factory.mktemp("rwp-chunked")
    return visit(archive, workdir, "/wire/chunked", ts, "rwp-wire-chunked.png")


@pytest.fixture(scope="module")
def not_modified_visit(archive: WireArchive, tmp_path_factory: pytest.TempPathFactory) -> Visit:
    """ReplayWeb.page opened on /wire/not-modified at the second run's date, when it was a 304."""
    ts = timestamp(archive.second.pair(NOT_MODIFIED).response)
    workdir = tmp_path_factory.mktemp("rwp-not-modified")
    return visit(archive, workdir, NOT_MODIFIED, ts, "rwp-wire-not-modified.png")


# --- chunked bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=[_WABAC_EXTENSIONS] if path in WITH_EXTENSIONS else [])
        for path in CHUNKED
    ],
)
def test_rwp_id_replay_returns_the_chunked_entity_byte_exact(
    archive: WireArchive, chunked_visit: Visit, path: str
):
    pair = archive.run_of(path).pair(path)
    assert b"\r\nTransfer-Encoding: chunked\r\n" in pair.response.http_head  # stored chunked
    expected = expected_content(pair.exchange, path)
    fetched = chunked_visit.fetched[path]
    assert fetched.status == 200
    assert hashlib.sha1(fetched.body).hexdigest() == hashlib.sha1(expected).hexdigest(), (
        fetched.body[-120:]
    )
    assert len(fetched.body) == len(expected)


# --- the 304 of the second run -----------------------------------------------------------------


def test_rwp_replays_the_304_page_with_the_stored_payload(
    archive: WireArchive, not_modified_visit: Visit
):
    original = archive.first.pair(NOT_MODIFIED)
    second = timestamp(archive.second.pair(NOT_MODIFIED).response)
    # Asked for at the second run's date, the replay frame stays there (no redirect to the
    # first run's capture) and shows the page the first run stored.
    assert not_modified_visit.frame_timestamp == second
    assert not_modified_visit.shown["url"] == archive.not_modified_url
    assert not_modified_visit.title == "Not modified"
    fetched = not_modified_visit.fetched[NOT_MODIFIED]
    assert fetched.status == 200
    assert hashlib.sha1(fetched.body).hexdigest() == original.exchange.entity_sha1
    assert len(fetched.body) == original.exchange.entity_length


def test_rwp_first_lookup_of_the_304_serves_the_revisit_head(
    archive: WireArchive, chunked_visit: Visit
):
    # In the /wire/chunked session, nothing had looked /wire/not-modified up before this fetch:
    # wabac resolved the revisit, and served archiver's merged head (the 304's Date) over the
    # payload the first run stored.
    original, revisit = (run.pair(NOT_MODIFIED) for run in (archive.first, archive.second))
    fetched = chunked_visit.fetched[NOT_MODIFIED]
    assert fetched.status == 200
    assert hashlib.sha1(fetched.body).hexdigest() == original.exchange.entity_sha1
    assert fetched.headers["date"] == _header(revisit.exchange.head, b"Date")
    assert fetched.headers["date"] != _header(original.exchange.head, b"Date")


@_WABAC_REVISIT_DATE
def test_rwp_shows_the_304_page_at_the_second_run_date(
    archive: WireArchive, not_modified_visit: Visit
):
    second = timestamp(archive.second.pair(NOT_MODIFIED).response)
    assert (not_modified_visit.shown["ts"], not_modified_visit.page_timestamp) == (second, second)


def _header(head: bytes, name: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower():
            return value.strip().decode("latin-1")
    raise AssertionError(f"no {name!r} in {head!r}")


# --- the sessions stayed on loopback -----------------------------------------------------------


@pytest.mark.parametrize("which", ["chunked_visit", "not_modified_visit"])
def test_nothing_left_loopback_and_the_wacz_was_read_in_ranges(
    request: pytest.FixtureRequest, which: str
):
    session: Visit = request.getfixturevalue(which)
    assert session.offsite == []
    assert session.netlog == []
    assert session.wacz_reads and all(s.status == 206 for s in session.wacz_reads)
