"""The WARC writer and the stored-body readers (archiver/collection/warc.py, chunked.py): a
record's block is the exchange's bytes as they went over the wire, its digests the ones the
crawl computed (or computed here when it has none), and a stored entity is read back with
a cap, de-chunked. No crawler: exchanges are built as the crawl process builds them, and
the files read back with the independent reader in tests/warcread.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from archiver.collection.chunked import ChunkDecoder, ChunkError, dechunk
from archiver.collection.warc import WarcFileWriter, read_payload
from archiver.model.exchange import Body, Exchange
from tests.test_archivist import chunk, exchange, page
from tests.warcread import iter_records, sha1_b32


def writer(folder: Path) -> WarcFileWriter:
    return WarcFileWriter(folder, prefix="test", max_size=10**9, warcinfo={"software": "tests"})


def written(folder: Path, item: Exchange) -> list:
    warcs = writer(folder)
    warcs.write_exchange(item)
    warcs.close()
    (path,) = warcs.files_written
    return list(iter_records(path))


# -- blocks and digests ------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_the_response_block_is_the_head_and_body_as_transferred(tmp_path: Path, chunked: bool):
    body = page("Kept as sent", text="x" * 5000)
    item = exchange("/page.html", body, chunked=chunked)
    _, response, request = written(tmp_path, item)
    assert response.block == item.response_head + item.response_body.data
    assert response.payload == (chunk(body) if chunked else body)
    assert response.entity == body
    assert response.get("WARC-Payload-Digest") == item.payload_digest == sha1_b32(body)
    assert response.get("WARC-Block-Digest") == item.block_digest == sha1_b32(response.block)
    assert request.block == item.request_head + item.request_body


def test_the_digests_the_crawl_made_are_written_as_they_are(tmp_path: Path):
    """The body is not digested again: what the crawl computed while it came is written."""
    item = exchange("/page.html", page("Digested on the way"))
    item.payload_digest, item.block_digest = "sha1:" + "A" * 32, "sha1:" + "B" * 32
    _, response, _ = written(tmp_path, item)
    assert response.get("WARC-Payload-Digest") == "sha1:" + "A" * 32
    assert response.get("WARC-Block-Digest") == "sha1:" + "B" * 32


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_digests_an_exchange_lacks_are_computed_from_its_body(tmp_path: Path, chunked: bool):
    body = page("No digests given", text="y" * 3000)
    item = dataclasses.replace(
        exchange("/page.html", body, chunked=chunked), payload_digest="", block_digest=""
    )
    _, response, _ = written(tmp_path, item)
    assert response.get("WARC-Payload-Digest") == sha1_b32(body), "the entity's, de-chunked"
    assert response.get("WARC-Block-Digest") == sha1_b32(response.block)


def test_a_truncated_response_says_why(tmp_path: Path):
    item = exchange("/stalled", b"the start of it", truncated="time")
    _, response, _ = written(tmp_path, item)
    assert response.get("WARC-Truncated") == "time"


# -- reading a stored entity back ------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("limit", [1, 999, 1000, 1001, 4321, 10**6])
def test_read_payload_gives_at_most_its_limit_of_the_entity(
    tmp_path: Path, chunked: bool, limit: int
):
    body = bytes(range(256)) * 17  # 4352 bytes, in chunks of 1000
    warcs = writer(tmp_path)
    where = warcs.write_exchange(exchange("/data.bin", body, chunked=chunked)).response
    warcs.close()
    assert read_payload(tmp_path / where.filename, where.offset, limit) == body[:limit]


# -- chunk framing -----------------------------------------------------------------------------

ENTITY = b"Hello, chunked world: " + bytes(range(256))
LENIENT_FRAMINGS = {
    "plain": chunk(ENTITY, 7),
    "extensions and trailers": (
        b"5;a=b;c\r\n" + ENTITY[:5] + b"\r\n"
        b"%X\r\n" % (len(ENTITY) - 5) + ENTITY[5:] + b"\r\n"
        b"0\r\nExpires: never\r\nX-Checksum: 1\r\n\r\n"
    ),
    "bare LF line ends": b"%x\n%s\n0\n\n" % (len(ENTITY), ENTITY),
    "spaces around the size": b" %x \r\n%s\r\n0\r\n\r\n" % (len(ENTITY), ENTITY),
    # what many servers send: no blank line after the last chunk
    "no final blank line": b"%x\r\n%s\r\n0\r\n" % (len(ENTITY), ENTITY),
}


@pytest.mark.parametrize("framing", list(LENIENT_FRAMINGS))
def test_chunk_framing_is_read_as_leniently_as_the_crawl_reads_it(framing: str):
    body = LENIENT_FRAMINGS[framing]
    assert dechunk(body) == ENTITY
    # Whatever the pieces it comes in, the same entity.
    for size in (1, 2, 3, 64):
        decoder = ChunkDecoder()
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        entity = b"".join(bytes(part) for piece in pieces for part in decoder.feed(piece))
        assert entity == ENTITY and decoder.after_last_chunk


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not chunked at all</html>",
        b"5\r\nhello\r\n",  # never ends
        b"5\r\nhelloX\r\n0\r\n\r\n",  # data longer than its size
        b"0\r\n\r\ntrailing",  # bytes after the end
    ],
)
def test_what_is_not_whole_chunk_framing_does_not_dechunk(body: bytes):
    assert dechunk(body) is None


def test_a_body_cut_inside_a_chunk_gives_the_data_up_to_the_cut():
    body = chunk(ENTITY, 100)
    for cut in itertools.chain(range(1, 12), (len(body) - 10,)):
        decoder = ChunkDecoder()
        got = b"".join(bytes(part) for part in decoder.feed(body[:cut]))
        assert ENTITY.startswith(got) and not decoder.after_last_chunk


def test_a_size_that_is_not_hex_is_a_chunk_error():
    with pytest.raises(ChunkError, match="not a chunk size"):
        ChunkDecoder().feed(b"zz\r\n")


# -- bodies spooled to disk ------------------------------------------------------------------


def spooled(folder: Path, data: bytes) -> Body:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "body-1.spool"
    path.write_bytes(data)
    return Body(b"", path, len(data))


def test_a_spooled_body_is_streamed_from_its_file(tmp_path: Path):
    data = page("Spooled", text="z" * 300_000)
    item = exchange("/big.html", data)
    item.response_body = spooled(tmp_path / "spool", data)
    _, response, _ = written(tmp_path / "warcs", item)
    assert response.payload == data
    assert response.get("WARC-Block-Digest") == sha1_b32(response.block)
