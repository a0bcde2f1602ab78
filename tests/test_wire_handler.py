"""The download handler on its own (archiver.crawl.wire), against a real HTTP server on
loopback: how much of an answer's start it hands Scrapy, the rest of the body spooled whole.

Text and links are read from the start Scrapy gets (at most ARCHIVER_MAX_TEXT_BYTES). A body
nothing will read (an image, or an application/octet-stream file whose first bytes are not a
page, a PDF or a sitemap) keeps only those first bytes in memory, so that large files in flight
do not each hold the text cap.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy.http import Request, Response

from archiver.crawl.wire import EXCHANGE_KEY, WireDownloadHandler
from archiver.model.exchange import Exchange
from archiver.web.documents import SNIFF_BYTES, may_be_read
from tests.warcread import sha1_b32

MAX_TEXT = 64 << 10
SIZE = 300_000  # past the text cap, and past the memory limit below: spooled
_NOISE = random.Random(5).randbytes(SIZE)

BODIES: dict[str, tuple[str, bytes]] = {
    "/disc.iso": ("application/octet-stream", _NOISE),
    "/untyped.pdf": ("application/octet-stream", b"%PDF-1.4\n" + _NOISE),
    "/untyped.html": ("application/octet-stream", b"<html><body>" + _NOISE),
    "/sitemap.xml.gz": ("application/octet-stream", gzip.compress(b"<?xml " + _NOISE)),
    "/photo.jpg": ("image/jpeg", b"\xff\xd8\xff" + _NOISE),
    "/page.html": ("text/html", b"<html><body>" + _NOISE),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        content_type, body = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, spool: Path) -> tuple[Response, Exchange]:
    request = Request(url)

    async def run() -> Response:
        handler = WireDownloadHandler(
            spool=spool,
            resolve={},
            block_private=False,
            timeout=10,
            max_response_size=0,
            max_text_bytes=MAX_TEXT,
            memory_bytes=64 << 10,
            min_free_bytes=0,
        )
        try:
            return await handler.download_request(request)
        finally:
            await handler.close()

    response = asyncio.run(run())
    return response, request.meta[EXCHANGE_KEY]


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/disc.iso", SNIFF_BYTES),
        ("/photo.jpg", SNIFF_BYTES),
        ("/untyped.pdf", MAX_TEXT),
        ("/untyped.html", MAX_TEXT),
        ("/sitemap.xml.gz", MAX_TEXT),
        ("/page.html", MAX_TEXT),
    ],
)
def test_scrapy_gets_the_start_that_is_read_and_the_body_is_spooled_whole(
    server: str, tmp_path: Path, path: str, kept: int
):
    body = BODIES[path][1]
    response, exchange = fetch(server + path, tmp_path)
    assert response.body == body[:kept]
    stored = exchange.response_body
    assert stored.path is not None and stored.length == len(body)  # spooled, not in memory
    assert hashlib.sha1(stored.read()).digest() == hashlib.sha1(body).digest()
    assert exchange.payload_digest == sha1_b32(body)
    stored.discard()


def test_what_may_be_read_by_type_and_first_bytes():
    octets = "application/octet-stream"
    assert may_be_read("text/html", b"")
    assert may_be_read("application/pdf", b"")
    assert may_be_read("application/xml", b"")
    assert not may_be_read("image/gif", b"<html>")  # a declared type is believed
    assert not may_be_read("video/mp4", b"")
    assert may_be_read(octets, b"  <!DOCTYPE html><title>x</title>")
    assert may_be_read(octets, b"%PDF-1.3\n")
    assert may_be_read(octets, b"\x1f\x8b\x08\x00")
    assert may_be_read("unk", b'<?xml version="1.0"?><urlset>')
    assert not may_be_read(octets, b"CD001\x01\x00" + bytes(100))
    assert not may_be_read("unk", b"PK\x03\x04")
