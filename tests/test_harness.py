"""Tests of the test harness itself.

A checker that cannot fail proves nothing, so every validator is shown failing on a
broken WARC and passing on a good one, and the pywb replay is shown returning exactly
the bytes that were archived (and a 404 for what was not).  The WARCs are built here
with warcio, then damaged at the byte level the way a crash or bad disk would.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import zlib
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.harness import (
    PywbReplay,
    ValidatorResult,
    assert_warcs_valid,
    validate_warc,
    validators,
)

HTML_URL = "http://example.test/"
CSS_URL = "http://example.test/style.css"
COPY_URL = "http://example.test/copy.html"

HTML_DATE, HTML_TS = "2024-01-02T03:04:05Z", "20240102030405"
CSS_DATE, CSS_TS = "2024-01-02T03:04:06Z", "20240102030406"
COPY_DATE, COPY_TS = "2024-01-03T00:00:00Z", "20240103000000"

HTML_BODY = b"<!doctype html><html><head><title>Home</title></head><body>hello</body></html>\n"
CSS_CONTENT = b"".join(b"p.c%d { color: #%06x }\n" % (i, i * 997) for i in range(80))
# Fixed mtime so the stored bytes are reproducible.
CSS_GZIP = gzip.compress(CSS_CONTENT, mtime=0)

ALL_TOOLS = ("gzip -t", "warcio check", "fastwarc check -p", "warcat verify")


@dataclass
class BuiltWarc:
    path: Path
    html_id: str
    css_id: str
    revisit_id: str


def _http_response(headers: list[tuple[str, str]]) -> StatusAndHeaders:
    return StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")


def build_warc(path: Path) -> BuiltWarc:
    """warcinfo, html response + request, gzip css response + request, then a revisit."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "harness-test"}))

        def exchange(url: str, date: str, headers: list[tuple[str, str]], body: bytes) -> str:
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=_http_response(headers),
                warc_headers_dict={"WARC-Date": date},
            )
            response_id = response.rec_headers.get_header("WARC-Record-ID")
            path_part = url.split("example.test", 1)[1]
            request = writer.create_warc_record(
                url,
                "request",
                http_headers=StatusAndHeaders(
                    f"GET {path_part} HTTP/1.1",
                    [("Host", "example.test"), ("Accept-Encoding", "gzip")],
                    is_http_request=True,
                ),
                # Written after the response and pointing back at it: warcat rejects a
                # WARC-Concurrent-To naming a record it has not seen yet.
                warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
            )
            writer.write_record(response)
            writer.write_record(request)
            return response_id

        html_id = exchange(
            HTML_URL,
            HTML_DATE,
            [("Content-Type", "text/html"), ("Content-Length", str(len(HTML_BODY)))],
            HTML_BODY,
        )
        css_id = exchange(
            CSS_URL,
            CSS_DATE,
            [
                ("Content-Type", "text/css"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(CSS_GZIP))),
            ],
            CSS_GZIP,
        )
        revisit = writer.create_revisit_record(
            COPY_URL,
            digest=_sha1_b32(HTML_BODY),
            refers_to_uri=HTML_URL,
            refers_to_date=HTML_DATE,
            http_headers=_http_response(
                [("Content-Type", "text/html"), ("Content-Length", str(len(HTML_BODY)))]
            ),
            warc_headers_dict={"WARC-Date": COPY_DATE},
        )
        writer.write_record(revisit)
    return BuiltWarc(path, html_id, css_id, revisit.rec_headers.get_header("WARC-Record-ID"))


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


# -- byte-level damage --------------------------------------------------------------------


def _members(data: bytes) -> list[bytes]:
    """Decompressed content of each gzip member (one WARC record each)."""
    out = []
    while data:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out.append(inflater.decompress(data))
        if not inflater.eof:
            raise ValueError("incomplete gzip member in a WARC that should be intact")
        data = inflater.unused_data
    return out


def _index_of(members: list[bytes], record_id: str) -> int:
    needle = f"WARC-Record-ID: {record_id}\r\n".encode()
    (index,) = [i for i, m in enumerate(members) if needle in m]
    return index


def _block_start(record: bytes) -> int:
    return record.index(b"\r\n\r\n") + 4


def _payload_start(record: bytes) -> int:
    block = _block_start(record)
    return record.index(b"\r\n\r\n", block) + 4


def _rewrite(path: Path, out: Path, record_id: str, change: Callable[[bytes], bytes]) -> Path:
    members = _members(path.read_bytes())
    i = _index_of(members, record_id)
    members[i] = change(members[i])
    out.write_bytes(b"".join(gzip.compress(m, mtime=0) for m in members))
    return out


def _flip(record: bytes, pos: int) -> bytes:
    damaged = bytearray(record)
    damaged[pos] ^= 0x01
    return bytes(damaged)


def _cut_inside(path: Path, out: Path, record_id: str, keep: Callable[[bytes], int]) -> Path:
    """Keep the records before ``record_id`` and only ``keep(record)`` bytes of it, as a
    gzip member that stops mid-stream (flushed, but no final block and no trailer):
    what a writer killed in the middle of a record leaves behind."""
    members = _members(path.read_bytes())
    i = _index_of(members, record_id)
    intact = b"".join(gzip.compress(m, mtime=0) for m in members[:i])
    deflater = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    partial = members[i][: keep(members[i])]
    out.write_bytes(intact + deflater.compress(partial) + deflater.flush(zlib.Z_SYNC_FLUSH))
    return out


def _damage(kind: str, good: BuiltWarc, out: Path) -> Path:
    if kind == "html payload byte flipped":
        return _rewrite(good.path, out, good.html_id, lambda r: _flip(r, _payload_start(r) + 20))
    if kind == "gzip payload byte flipped":
        # Inside the stored gzip bytes: the entity still decompresses to garbage or not at
        # all, but the validators only see that the digests no longer match.
        return _rewrite(good.path, out, good.css_id, lambda r: _flip(r, _payload_start(r) + 30))
    if kind == "response payload digest wrong":
        # Block digest still right, only WARC-Payload-Digest wrong: shows that the revisit
        # exception does not spread to other record types.
        def wrong_digest(record: bytes) -> bytes:
            return record.replace(
                f"WARC-Payload-Digest: {_sha1_b32(HTML_BODY)}".encode(),
                f"WARC-Payload-Digest: {_sha1_b32(b'something else')}".encode(),
            )

        return _rewrite(good.path, out, good.html_id, wrong_digest)
    if kind == "revisit block byte flipped":
        return _rewrite(good.path, out, good.revisit_id, lambda r: _flip(r, _block_start(r) + 5))
    if kind == "gzip trailer lost":
        return _write(out, good.path.read_bytes()[:-8])
    if kind == "last member cut in revisit block":
        return _cut_inside(good.path, out, good.revisit_id, lambda r: _block_start(r) + 20)
    if kind == "cut in response body":
        return _cut_inside(good.path, out, good.css_id, lambda r: _payload_start(r) + 10)
    if kind == "empty file":
        return _write(out, b"")
    raise AssertionError(kind)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _verdicts(results: list[ValidatorResult]) -> dict[str, bool]:
    return {r.tool: r.ok for r in results}


@pytest.fixture
def good_warc(tmp_path: Path) -> BuiltWarc:
    return build_warc(tmp_path / "good.warc.gz")


# -- validators -----------------------------------------------------------------------------


def test_good_warc_passes_all_validators(good_warc: BuiltWarc) -> None:
    results = validate_warc(good_warc.path)

    assert [r.tool for r in results] == list(ALL_TOOLS)
    assert all(r.ok for r in results), "\n\n".join(r.output for r in results)
    # The only waived findings are the known revisit payload-digest false positives.
    excepted = {r.tool: r.excepted for r in results}
    assert excepted == {
        "gzip -t": [],
        "warcio check": [],
        "fastwarc check -p": [f"{good_warc.revisit_id} (revisit): OK, PAYLOAD_FAIL"],
        "warcat verify": [f"{good_warc.revisit_id} (revisit): Bad payload digest."],
    }
    assert_warcs_valid([good_warc.path])


# Expected verdict of each tool (True = passes) on each kind of damage.  The True
# entries are real blind spots of that tool, asserted so that a change is noticed.
DAMAGE_CASES = {
    "html payload byte flipped": (True, False, False, False),
    "gzip payload byte flipped": (True, False, False, False),
    "response payload digest wrong": (True, False, False, False),
    # warcio never checks revisit records at all.
    "revisit block byte flipped": (True, True, False, False),
    # All records complete; only the last member's CRC/size trailer is missing.  The
    # digest checkers cannot see that; gzip and warcat (Python's gzip module) do.
    "gzip trailer lost": (False, True, True, False),
    # warcio reads a truncated revisit without complaint; fastwarc's block digest fails.
    "last member cut in revisit block": (False, True, False, False),
    # warcio exits 0 here; the helper fails it on "digest present but not checked".
    "cut in response body": (False, False, False, False),
    "empty file": (False, False, False, False),
}


@pytest.mark.parametrize("kind", list(DAMAGE_CASES))
def test_damaged_warc_fails(tmp_path: Path, good_warc: BuiltWarc, kind: str) -> None:
    bad = _damage(kind, good_warc, tmp_path / "bad.warc.gz")
    results = validate_warc(bad)

    expected = dict(zip(ALL_TOOLS, DAMAGE_CASES[kind], strict=True))
    assert _verdicts(results) == expected, "\n\n".join(r.output for r in results)
    with pytest.raises(AssertionError) as excinfo:
        assert_warcs_valid([good_warc.path, bad])
    message = str(excinfo.value)
    for result in results:
        assert (f"=== {result.tool} FAILED on {bad}" in message) is not result.ok
    assert f"FAILED on {good_warc.path}" not in message, "only the damaged file fails"


def test_gzip_warc_without_gz_suffix(tmp_path: Path, good_warc: BuiltWarc) -> None:
    # warcat decides on decompression by file name; the helper must cope either way.
    renamed = tmp_path / "good.warc.bin"
    renamed.write_bytes(good_warc.path.read_bytes())
    assert all(r.ok for r in validate_warc(renamed))

    bad = _damage("html payload byte flipped", good_warc, tmp_path / "bad.warc.bin")
    assert _verdicts(validate_warc(bad)) == dict(
        zip(ALL_TOOLS, (True, False, False, False), strict=True)
    )


@pytest.mark.parametrize(
    ("kind", "record"),
    [("html payload byte flipped", "html_id"), ("gzip payload byte flipped", "css_id")],
)
def test_flipped_payload_names_the_record(
    tmp_path: Path, good_warc: BuiltWarc, kind: str, record: str
) -> None:
    bad = _damage(kind, good_warc, tmp_path / "bad.warc.gz")
    record_id = getattr(good_warc, record)
    by_tool = {r.tool: r for r in validate_warc(bad)}

    for tool in ("warcio check", "fastwarc check -p", "warcat verify"):
        problems = by_tool[tool].output.split("[problems]", 1)[1]
        assert record_id in problems, by_tool[tool].output
        assert good_warc.revisit_id not in problems, by_tool[tool].output
    # warcio states which digests failed.
    assert "payload digest failed" in by_tool["warcio check"].output


CHUNKED_ENTITY = b"<html><body>sent in two chunks</body></html>"
CHUNKED_BODY = (
    b"10;note=first\r\n" + CHUNKED_ENTITY[:16] + b"\r\n"
    b"%x\r\n" % (len(CHUNKED_ENTITY) - 16) + CHUNKED_ENTITY[16:] + b"\r\n"
    b"0\r\nX-Trailer: yes\r\n\r\n"
)


def build_chunked_warc(path: Path, payload_digest: str) -> str:
    """One response kept as transferred, chunk framing included, with ``payload_digest``."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        response = writer.create_warc_record(
            HTML_URL,
            "response",
            payload=io.BytesIO(CHUNKED_BODY),
            length=len(CHUNKED_BODY),
            http_headers=_http_response(
                [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]
            ),
            warc_headers_dict={"WARC-Date": HTML_DATE, "WARC-Payload-Digest": payload_digest},
        )
        writer.write_record(response)
    return response.rec_headers.get_header("WARC-Record-ID")


def test_the_payload_complaint_on_a_chunked_record_is_excepted(tmp_path: Path) -> None:
    """The entity's digest over a body kept chunked is right, and all three digest checkers
    say otherwise: that complaint alone is waived, for that record alone."""
    path = tmp_path / "chunked.warc.gz"
    record_id = build_chunked_warc(path, _sha1_b32(CHUNKED_ENTITY))
    results = validate_warc(path)
    assert all(r.ok for r in results), "\n\n".join(r.output for r in results)
    excepted = {r.tool: [line.split("): ", 1)[0] + ")" for line in r.excepted] for r in results}
    assert excepted == {
        "gzip -t": [],
        "warcio check": [f"{record_id} (chunked)"],
        "fastwarc check -p": [f"{record_id} (chunked)"],
        "warcat verify": [f"{record_id} (chunked)"],
    }


def test_a_chunked_record_whose_entity_digest_is_wrong_still_fails(tmp_path: Path) -> None:
    path = tmp_path / "chunked.warc.gz"
    build_chunked_warc(path, _sha1_b32(CHUNKED_ENTITY + b"!"))
    assert _verdicts(validate_warc(path)) == dict(
        zip(ALL_TOOLS, (True, False, False, False), strict=True)
    )


def test_missing_file_fails(tmp_path: Path) -> None:
    results = validate_warc(tmp_path / "nope.warc.gz")
    assert [r.ok for r in results] == [False] * 4


def test_subprocess_timeout_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validators, "_TIMEOUT", 0.2)
    run = validators._run(["sleep", "5"])
    assert run.returncode is None
    assert "timed out" in run.note


# -- pywb -----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_pywb_replays_the_archived_bytes(tmp_path: Path, good_warc: BuiltWarc) -> None:
    with PywbReplay(tmp_path / "pywb", [good_warc.path]) as replay:
        port = replay.port
        proc = replay._proc
        assert replay.base_url == f"http://127.0.0.1:{port}"

        listed = {(row["url"], row["timestamp"]) for row in replay.cdx("http://example.test/*")}
        assert listed == {(HTML_URL, HTML_TS), (CSS_URL, CSS_TS), (COPY_URL, COPY_TS)}
        (css_row,) = replay.cdx(CSS_URL)
        assert css_row["mime"] == "text/css"
        assert css_row["status"] == "200"
        assert replay.cdx("http://example.test/never-archived") == []

        status, headers, body = replay.fetch_id(HTML_URL, HTML_TS, decode=True)
        assert (status, headers["content-type"], body) == (200, "text/html", HTML_BODY)
        assert replay.fetch_id(HTML_URL, HTML_TS, decode=False)[2] == HTML_BODY

        status, headers, body = replay.fetch_id(CSS_URL, CSS_TS, decode=True)
        assert status == 200
        assert body == CSS_CONTENT
        status, headers, raw = replay.fetch_id(CSS_URL, CSS_TS, decode=False)
        assert headers["content-encoding"] == "gzip"
        assert raw == CSS_GZIP
        assert raw != CSS_CONTENT

        # The revisit has no payload of its own; pywb must fetch the original's.
        status, headers, body = replay.fetch_id(COPY_URL, COPY_TS, decode=True)
        assert (status, body) == (200, HTML_BODY)
        assert headers["content-location"].endswith(f"/{COPY_TS}id_/{COPY_URL}")

        status, _, _ = replay.fetch_id("http://example.test/never-archived", HTML_TS, decode=True)
        assert status == 404

    assert proc is not None
    assert proc.returncode is not None  # exited and reaped
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
