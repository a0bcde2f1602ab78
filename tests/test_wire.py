"""The WARC holds each exchange as it went over the wire (issue 15), proved against a server that
logs the exact bytes it read and wrote (samplesite.wire).

For every exchange the server logged, a request record's block is the bytes the server read and
its response record's block the bytes the server wrote: odd header case and order, unusual and
empty reason phrases, several Set-Cookie, non-UTF-8 header bytes, a folded header line,
chunked with chunk extensions and trailers, gzip over chunked, keep-alive reuse, an HTTP/1.0
answer ended by closing, bodies cut by the server. A second run into the same collection gets
a 304, which is kept byte for byte in a metadata record beside the revisit that replays.

The WARCs are read with tests/warcread.py, which shares no code with warcio or archiver.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from samplesite.wire import REQUISITES, WireExchange, WireServer
from tests.conftest import run_archiver
from tests.harness.pywb import PywbReplay
from tests.harness.validators import assert_warcs_valid
from tests.warcread import Record, iter_records, sha1_b32

pytestmark = pytest.mark.e2e

WIRE_HOST = "wire.archiver.test"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"

# Each case, and bytes that show the server really sent it that way.
CASES = {
    "/wire/odd-headers": (
        b"\r\nX-Odd: before Date\r\ncontent-TYPE: text/html; charset=utf-8\r\n"
        b'eTaG: "odd-headers-1"\r\nDate: '
    ),
    "/wire/reason": b"HTTP/1.1 200 Fine Thanks\r\n",
    "/wire/empty-reason": b"HTTP/1.1 404 \r\n",
    "/wire/cookies": b"\r\nSet-Cookie: third=3; Path=/wire/; Max-Age=3600\r\nset-cookie: fourth",
    "/wire/non-utf8": b"\r\nX-Bytes: \xff\xfe\x80\x81 ",
    "/wire/folded": b"\r\nX-Folded: first part,\r\n   second part,\r\n\tthird part\r\n",
    "/wire/chunked": b"\r\n\r\n5;name=value\r\n<!DOC\r\n1A;ext=",
    "/wire/chunked-trailers": b"\r\n0;last=yes\r\nX-Trailer-One: done\r\nx-trailer-two: 42\r\n\r\n",
    "/wire/gzip-chunked": b"\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\nTransfer-",
    "/wire/keep-alive": b"\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30, max=100\r\n",
    "/wire/http10": b"HTTP/1.0 200 OK\r\n",
    "/wire/cut-length": b"\r\nContent-Length: ",
    "/wire/cut-chunked": b"\r\n400\r\n",
    "/wire/not-modified": b'\r\nETag: "not-modified-1"\r\n',
    "/wire/interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: ",
    "/robots.txt": b"\r\n\r\nUser-agent: *\n",
}
CUT = ("/wire/cut-length", "/wire/cut-chunked")
CHUNKED = ("/wire/chunked", "/wire/chunked-trailers", "/wire/gzip-chunked")


# --- crawling the wire server and pairing what it logged with the WARC -------------------------


@dataclass
class Pair:
    exchange: WireExchange  # what the server read and wrote
    request: Record  # the request record whose block is what the server read
    response: Record  # the response or revisit record that request is concurrent to
    # The metadata record about the response: for a 304, the 304 as received; after interim
    # answers, their heads.
    metadata: Record | None

    @property
    def recorded(self) -> bytes:
        """What the records say the server sent: interim heads, then the response."""
        interim = self.metadata.block if self.metadata and self.exchange.status != 304 else b""
        return interim + self.response.block


@dataclass
class WireRun:
    proc: subprocess.CompletedProcess
    base: str  # http://wire.archiver.test:PORT
    exchanges: list[WireExchange]  # what the server logged during this run
    warcs: list[Path]  # the WARC files this run wrote
    records: list[Record]

    def pairs(self) -> list[Pair]:
        """Each logged exchange with its records; every request record used exactly once."""
        by_id = {r.get("WARC-Record-ID"): r for r in self.records}
        metadata = {
            r.get("WARC-Refers-To"): r
            for r in self.records
            if r.type == "metadata" and r.get("WARC-Refers-To")
        }
        unused = [r for r in self.records if r.type == "request"]
        pairs, unmatched = [], []
        for exchange in self.exchanges:
            request = next((r for r in unused if r.block == exchange.received), None)
            if request is None:
                unmatched.append(exchange)
                continue
            unused.remove(request)
            response = by_id[request.get("WARC-Concurrent-To")]
            refers = metadata.get(response.get("WARC-Record-ID"))
            pairs.append(Pair(exchange, request, response, refers))
        problems = []
        for exchange in unmatched:
            url = self.base + exchange.target
            same_url = [r for r in unused if r.get("WARC-Target-URI") == url]
            problems.append(f"no request record is the bytes read for {exchange.target}:")
            problems.extend(
                f"  server read: {exchange.received!r}\n  WARC block:  {r.block!r}"
                for r in same_url
            )
        problems += [f"request record not logged by the server: {r.block[:300]!r}" for r in unused]
        assert not problems, "\n".join(problems)
        return pairs

    def pair(self, path: str) -> Pair:
        found = [p for p in self.pairs() if p.exchange.target == path]
        assert len(found) == 1, f"{len(found)} exchanges for {path}"
        return found[0]


def crawl(server: WireServer, output: Path, seed: str = "/wire/", *extra: str) -> WireRun:
    base = f"http://{WIRE_HOST}:{server.port}"
    before = len(server.settle())
    earlier = set((output / "warcs").glob("*.warc.gz"))
    proc = run_archiver(
        "crawl",
        base + seed,
        "--output",
        str(output),
        "--resolve",
        f"{WIRE_HOST}:{server.port}:127.0.0.1",
        "--progress",
        "off",
        *extra,
    )
    warcs = sorted(set((output / "warcs").glob("*.warc.gz")) - earlier)
    records = [r for path in warcs for r in iter_records(path)]
    return WireRun(proc, base, server.settle()[before:], warcs, records)


@pytest.fixture(scope="module")
def wire_server() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wire") / "coll"


@pytest.fixture(scope="module")
def runs(wire_server: WireServer, collection: Path) -> tuple[WireRun, WireRun]:
    """Two runs from /wire/ into one collection: the second asks before it fetches."""
    first = crawl(wire_server, collection)
    assert first.proc.returncode == 0, first.proc.stderr
    second = crawl(wire_server, collection)
    assert second.proc.returncode == 0, second.proc.stderr
    return first, second


@pytest.fixture(scope="module")
def first(runs: tuple[WireRun, WireRun]) -> WireRun:
    return runs[0]


@pytest.fixture(scope="module")
def second(runs: tuple[WireRun, WireRun]) -> WireRun:
    return runs[1]


@pytest.fixture(scope="module")
def pywb(
    runs: tuple[WireRun, WireRun], collection: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PywbReplay]:
    warcs = sorted((collection / "warcs").glob("*.warc.gz"))
    with PywbReplay(tmp_path_factory.mktemp("pywb"), warcs) as replay:
        yield replay


def entity_digest(exchange: WireExchange) -> str:
    return sha1_b32(bytes.fromhex(exchange.entity_sha1), raw=True)


def timestamp(record: Record) -> str:
    return "".join(c for c in record.get("WARC-Date") or "" if c.isdigit())[:14]


def warc_date(record: Record) -> datetime:
    return datetime.fromisoformat((record.get("WARC-Date") or "").replace("Z", "+00:00"))


# --- the first run: every exchange byte for byte -------------------------------------------------


def test_every_request_record_is_the_bytes_the_server_read(first: WireRun):
    pairs = first.pairs()  # asserts the one-to-one match
    assert {p.exchange.target for p in pairs} >= {*CASES, *REQUISITES}


def test_every_response_record_is_the_bytes_the_server_wrote(first: WireRun):
    different = [
        f"{p.exchange.target}: {p.response.type} record\n  server wrote: {p.exchange.sent!r}\n"
        f"  WARC block:   {p.response.block!r}"
        for p in first.pairs()
        if p.response.type != "response" or p.recorded != p.exchange.sent
    ]
    assert not different, "\n".join(different)


@pytest.mark.parametrize("path", list(CASES))
def test_the_response_block_is_what_was_sent(first: WireRun, path: str):
    pair = first.pair(path)
    sent = pair.exchange.sent
    assert pair.exchange.whole and CASES[path] in sent, "the server did not send the case"
    assert pair.response.type == "response"
    assert pair.response.get("WARC-Target-URI") == first.base + path
    assert pair.recorded == sent
    assert pair.request.block == pair.exchange.received


def test_interim_answers_are_kept_in_a_metadata_record_and_the_response_is_the_final_one(
    first: WireRun, pywb: PywbReplay
):
    pair = first.pair("/wire/interim")
    sent = pair.exchange.sent
    final = sent.index(b"HTTP/1.1 200 OK\r\n")
    assert pair.response.type == "response" and pair.response.block == sent[final:]
    metadata = pair.metadata
    assert metadata is not None, "no metadata record holds the interim answers"
    assert metadata.block == sent[:final]
    url = first.base + "/wire/interim"
    assert metadata.get("Content-Type") == "application/http; msgtype=response"
    assert metadata.get("WARC-Target-URI") == "metadata://" + url.split("://", 1)[1]
    assert metadata.get("WARC-Refers-To") == pair.response.get("WARC-Record-ID")
    assert metadata.get("WARC-Block-Digest") == sha1_b32(metadata.block)
    # Replay serves the final answer.
    status, _, body = pywb.fetch_id(url, timestamp(pair.response), decode=False)
    assert status == 200
    assert hashlib.sha1(body).hexdigest() == pair.exchange.entity_sha1


@pytest.mark.parametrize("path", CUT)
def test_bodies_cut_by_the_server_are_recorded_as_sent_and_marked(first: WireRun, path: str):
    pair = first.pair(path)
    assert pair.exchange.closed
    assert pair.response.get("WARC-Truncated") == "disconnect"
    assert pair.response.block == pair.exchange.sent
    assert pair.response.get("WARC-Payload-Digest") == entity_digest(pair.exchange)


def test_only_the_cut_bodies_are_marked_truncated(first: WireRun):
    marked = {p.exchange.target for p in first.pairs() if p.response.get("WARC-Truncated")}
    assert marked == set(CUT)


def test_payload_digest_is_the_entity_and_block_digest_the_block(first: WireRun):
    wrong = []
    for pair in first.pairs():
        record, exchange = pair.response, pair.exchange
        if record.get("WARC-Payload-Digest") != entity_digest(exchange):
            wrong.append(f"{exchange.target}: payload {record.get('WARC-Payload-Digest')}")
        if record.get("WARC-Block-Digest") != sha1_b32(record.block):
            wrong.append(f"{exchange.target}: block {record.get('WARC-Block-Digest')}")
    assert not wrong, wrong


@pytest.mark.parametrize("path", CHUNKED)
def test_chunked_stays_chunked_with_the_entity_digest(first: WireRun, path: str):
    pair = first.pair(path)
    head = pair.response.http_head
    assert b"\r\nTransfer-Encoding: chunked\r\n" in head
    assert pair.response.payload == pair.exchange.sent[len(head) :]
    assert pair.response.get("WARC-Payload-Digest") == entity_digest(pair.exchange)
    assert pair.response.get("WARC-Payload-Digest") != sha1_b32(pair.response.payload)


def test_kept_connections_carry_several_exchanges_each_recorded_as_sent(first: WireRun):
    # At most 8 requests in flight and 3 answers that close: 20 exchanges cannot each have a
    # connection of their own unless kept connections go unused.
    per_connection = Counter(p.exchange.connection for p in first.pairs())
    reused = [p for p in first.pairs() if per_connection[p.exchange.connection] > 1]
    assert reused and any(p.exchange.sequence > 0 for p in reused)
    assert all(p.recorded == p.exchange.sent for p in reused)


def test_a_page_and_its_requisites_come_over_one_connection(
    wire_server: WireServer, tmp_path: Path
):
    run = crawl(
        wire_server, tmp_path / "coll", "/wire/keep-alive", "--concurrency", "1", "--max-pages", "1"
    )
    assert run.proc.returncode == 0, run.proc.stderr
    pairs = {p.exchange.target: p for p in run.pairs()}
    assert set(pairs) >= {"/wire/keep-alive", *REQUISITES}
    page = pairs["/wire/keep-alive"]
    connection = {pairs[path].exchange.connection for path in ("/wire/keep-alive", *REQUISITES)}
    assert connection == {page.exchange.connection}
    assert sorted(pairs[path].exchange.sequence for path in REQUISITES)[0] > page.exchange.sequence
    for pair in pairs.values():
        assert pair.response.block == pair.exchange.sent, pair.exchange.target
        assert pair.request.block == pair.exchange.received, pair.exchange.target


# --- the second run: the 304 as it happened, revisits by their heads -----------------------------


def test_second_run_requests_are_the_bytes_the_server_read(second: WireRun):
    conditional = [p for p in second.pairs() if b"\r\nIf-None-Match: " in p.request.block]
    assert any(p.exchange.target == "/wire/not-modified" for p in conditional)


def test_second_run_records_are_what_was_sent(second: WireRun):
    different = []
    for pair in second.pairs():
        exchange, record = pair.exchange, pair.response
        if exchange.status == 304:
            continue  # its own test below
        if record.type == "response":
            ok = pair.recorded == exchange.sent
        else:  # a revisit stores the head as received and names the entity it had
            ok = (
                record.get("WARC-Profile") == IDENTICAL_PAYLOAD
                and record.block == exchange.head
                and record.get("WARC-Payload-Digest") == entity_digest(exchange)
            )
        if not ok:
            different.append(
                f"{exchange.target}: {record.type} {record.get('WARC-Profile') or ''}\n"
                f"  server wrote: {exchange.sent!r}\n  WARC block:   {record.block!r}"
            )
    assert not different, "\n".join(different)


def test_the_304_is_kept_byte_for_byte_in_a_metadata_record(second: WireRun, collection: Path):
    pair = second.pair("/wire/not-modified")
    assert pair.exchange.status == 304
    assert pair.exchange.sent.startswith(b"HTTP/1.1 304 Not Modified\r\n")
    revisit = pair.response
    assert revisit.type == "revisit" and revisit.get("WARC-Profile") == SERVER_NOT_MODIFIED
    assert revisit.http_first_line == b"HTTP/1.1 200 OK"  # the merged head, for replay
    metadata = pair.metadata
    assert metadata is not None, "no metadata record refers to the 304's revisit"
    assert metadata.block == pair.exchange.sent
    url = second.base + "/wire/not-modified"
    assert metadata.get("Content-Type") == "application/http; msgtype=response"
    assert metadata.get("WARC-Target-URI") == "metadata://" + url.split("://", 1)[1]
    assert metadata.get("WARC-Concurrent-To") == revisit.get("WARC-Record-ID")
    assert metadata.get("WARC-Refers-To-Target-URI") == url
    assert metadata.get("WARC-Block-Digest") == sha1_b32(metadata.block)
    order = [r.get("WARC-Record-ID") for r in second.records]
    ids = [r.get("WARC-Record-ID") for r in (revisit, pair.request, metadata)]
    assert [order.index(i) for i in ids] == sorted(order.index(i) for i in ids)
    index = "".join(p.read_text() for p in (collection / "indexes").glob("*.cdxj"))
    assert "metadata://" not in index


def test_the_304_page_replays_at_the_second_run_date(
    first: WireRun, second: WireRun, pywb: PywbReplay
):
    original = first.pair("/wire/not-modified")
    revisit = second.pair("/wire/not-modified").response
    url = second.base + "/wire/not-modified"
    status, headers, body = pywb.fetch_id(url, timestamp(revisit), decode=False)
    assert status == 200
    assert hashlib.sha1(body).hexdigest() == original.exchange.entity_sha1
    assert parsedate_to_datetime(headers["memento-datetime"]) == warc_date(revisit).replace(
        microsecond=0
    )


# --- the independent checkers ------------------------------------------------------------------


def test_validators_pass_apart_from_the_chunked_payload_complaint(
    runs: tuple[WireRun, WireRun], collection: Path
):
    assert_warcs_valid(sorted((collection / "warcs").glob("*.warc.gz")))


# warcio's ChunkedDataReader (which pywb de-chunks with) expects CRLF right after the last
# chunk: before trailers it gives up de-chunking and passes the rest through, two bytes short.
# The record is byte-exact (above); the replay of a chunked body with trailers is pywb's bug.
_WARCIO_TRAILERS = pytest.mark.xfail(
    strict=True, reason="warcio 1.8 ChunkedDataReader cannot de-chunk a body with trailers"
)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=[_WARCIO_TRAILERS] if "trailers" in path else [])
        for path in CHUNKED
    ],
)
def test_pywb_id_replay_returns_the_entity_byte_exact(first: WireRun, pywb: PywbReplay, path: str):
    pair = first.pair(path)
    url = first.base + path
    status, _, body = pywb.fetch_id(url, timestamp(pair.response), decode=False)
    assert status == 200
    assert hashlib.sha1(body).hexdigest() == pair.exchange.entity_sha1, body[-200:]
    assert len(body) == pair.exchange.entity_length
