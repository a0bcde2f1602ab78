"""The /wire/ test server writes the bytes it chooses and logs exactly what it read and wrote.

Checked with raw sockets against a real WireServer on 127.0.0.1: what the client sent is the
logged request, what the client read is the logged response, byte for byte, with keep-alive
reuse and close-delimited bodies as they happen on the wire.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from samplesite import wire
from samplesite.wire import WireExchange, WireServer

MiB = 1 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[WireServer]:
    with WireServer() as running:
        yield running


def request(target: str, *lines: str, method: str = "GET", body: bytes = b"") -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: wire.test", *lines]
    if body:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def read_to_close(sock: socket.socket) -> bytes:
    received = bytearray()
    while chunk := sock.recv(1 << 20):
        received += chunk
    return bytes(received)


def read_one(sock: socket.socket) -> bytes:
    """One response delimited by Content-Length (or bodiless), the connection left open."""
    received = bytearray()
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head_end = received.index(b"\r\n\r\n") + 4
    match = re.search(rb"\r\ncontent-length: *(\d+)", received[:head_end], re.IGNORECASE)
    length = int(match.group(1)) if match else 0
    while len(received) < head_end + length:
        received += sock.recv(65536)
    assert len(received) == head_end + length, "more bytes than this response"
    return bytes(received)


def fetch(server: WireServer, raw_request: bytes) -> tuple[bytes, WireExchange]:
    """Send one request on a new connection, read until the server closes; the log entry."""
    before = len(server.settle())
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(raw_request)
        received = read_to_close(sock)
    (logged,) = [e for e in server.settle()[before:] if e.received == raw_request]
    return received, logged


def get(server: WireServer, target: str, *lines: str) -> tuple[bytes, WireExchange]:
    return fetch(server, request(target, *lines, "Connection: close"))


def split(response: bytes) -> tuple[bytes, bytes]:
    head, sep, body = response.partition(b"\r\n\r\n")
    return head + sep, body


def dechunk(body: bytes) -> tuple[bytes, bytes, bool]:
    """The entity of a chunked body, what follows the last chunk, and whether it ended."""
    entity = bytearray()
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return bytes(entity), b"", False
        size = int(body[position:line_end].split(b";")[0], 16)
        position = line_end + 2
        if size == 0:
            return bytes(entity), body[position:], True
        entity += body[position : position + size]
        if position + size + 2 > len(body):
            return bytes(entity), b"", False
        position += size + 2


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_the_log_holds_the_bytes_read_and_written(server: WireServer):
    raw = request(
        "/wire/odd-headers", "user-AGENT: Odd/1", "X-Client-Order: 2", "Connection: close"
    )
    received, logged = fetch(server, raw)
    assert logged.received == raw
    assert logged.sent == received
    assert logged.whole and logged.sent_length == len(received)
    assert logged.closed and not logged.error
    assert (logged.method, logged.target, logged.status) == ("GET", "/wire/odd-headers", 200)
    head, body = split(received)
    assert logged.head == head
    assert logged.entity_length == len(body) and logged.entity_sha1 == sha1(body)


def test_odd_header_case_and_order_go_out_as_written(server: WireServer):
    head, _ = split(get(server, "/wire/odd-headers")[0])
    names = [line.split(b":")[0] for line in head.split(b"\r\n")[1:-2]]
    assert names[:4] == [b"X-Odd", b"content-TYPE", b"eTaG", b"Date"]
    assert names.count(b"X-Odd") == 2 and b"content-length" in names


def test_reason_phrases_unusual_and_empty(server: WireServer):
    assert get(server, "/wire/reason")[0].startswith(b"HTTP/1.1 200 Fine Thanks\r\n")
    received, logged = get(server, "/wire/empty-reason")
    assert received.startswith(b"HTTP/1.1 404 \r\n") and logged.status == 404


def test_repeated_raw_and_folded_header_lines(server: WireServer):
    cookies = get(server, "/wire/cookies")[0]
    assert len(re.findall(rb"\r\nset-cookie: ", cookies, re.IGNORECASE)) == 4
    raw = get(server, "/wire/non-utf8")[0]
    assert b"\r\nX-Latin-1: caf\xe9 " in raw and b"\r\nX-Caf\xe9: " in raw and b"\xff\xfe" in raw
    folded = get(server, "/wire/folded")[0]
    assert b"\r\nX-Folded: first part,\r\n   second part,\r\n\tthird part\r\n" in folded


def test_chunked_with_extensions_and_trailers(server: WireServer):
    received, logged = get(server, "/wire/chunked-trailers")
    head, body = split(received)
    assert b"\r\nTransfer-Encoding: chunked\r\n" in head and b"Content-Length" not in head
    assert body.startswith(b"5;name=value\r\n<!DOC\r\n1A;ext=")
    entity, trailers, ended = dechunk(body)
    assert ended and trailers == b"X-Trailer-One: done\r\nx-trailer-two: 42\r\n\r\n"
    assert b"\r\n0;last=yes\r\n" in body
    assert logged.entity_sha1 == sha1(entity) and logged.entity_length == len(entity)
    assert entity.startswith(b"<!DOCTYPE html>") and entity.endswith(b"</html>\n")

    plain_chunked = split(get(server, "/wire/chunked")[0])[1]
    entity, trailers, ended = dechunk(plain_chunked)
    assert ended and trailers == b"\r\n" and plain_chunked.endswith(b"\r\n0\r\n\r\n")


def test_gzip_over_chunked(server: WireServer):
    received, logged = get(server, "/wire/gzip-chunked")
    head, body = split(received)
    assert b"\r\nContent-Encoding: gzip\r\n" in head and b"Transfer-Encoding: chunked" in head
    entity, _, ended = dechunk(body)
    assert ended and logged.entity_sha1 == sha1(entity)
    assert gzip.decompress(entity).startswith(b"<!DOCTYPE html>")


def test_keep_alive_reuses_one_connection(server: WireServer):
    first = request("/wire/keep-alive")
    second = request("/wire/keep-alive/style.css", "Cookie: a=1")
    before = len(server.settle())
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(first)
        one = read_one(sock)
        sock.sendall(second)
        two = read_one(sock)
    logged = server.settle()[before:]
    (a,) = [e for e in logged if e.received == first]
    (b,) = [e for e in logged if e.received == second]
    assert (a.sent, b.sent) == (one, two)
    assert a.connection == b.connection and (a.sequence, b.sequence) == (0, 1)
    assert not a.closed and b"\r\nConnection: keep-alive\r\n" in one


def test_pipelined_requests_and_a_request_body_are_logged_each_as_read(server: WireServer):
    posted = request("/wire/reason", method="POST", body=b"name=value&x=\xff")
    following = request("/wire/cookies", "Connection: close")
    before = len(server.settle())
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(posted + following)  # both in one write: the server splits them
        received = read_to_close(sock)
    logged = server.settle()[before:]
    (a,) = [e for e in logged if e.received == posted]
    (b,) = [e for e in logged if e.received == following]
    assert a.sent + b.sent == received
    assert a.connection == b.connection and b.closed and not a.closed


def test_http10_answer_is_ended_by_closing(server: WireServer):
    received, logged = fetch(server, request("/wire/http10"))  # asks to keep the connection
    head, body = split(received)
    assert head.startswith(b"HTTP/1.0 200 OK\r\n") and b"Content-Length" not in head
    assert body.endswith(b"</html>\n") and logged.closed and logged.sent == received


def test_bodies_cut_by_the_server(server: WireServer):
    received, logged = fetch(server, request("/wire/cut-length"))
    head, body = split(received)
    promised = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert len(body) == wire.CUT_AT < promised
    assert logged.closed and logged.sent == received and logged.entity_sha1 == sha1(body)

    received, logged = fetch(server, request("/wire/cut-chunked"))
    entity, _, ended = dechunk(split(received)[1])
    assert not ended and b"\r\n400\r\n" in received
    assert logged.closed and logged.sent == received
    assert logged.entity_length == len(entity) == 700 and logged.entity_sha1 == sha1(entity)


def test_conditional_request_gets_304_with_etag_and_date(server: WireServer):
    full = get(server, "/wire/not-modified")[0]
    etag = re.search(rb"\r\nETag: (\S+)\r\n", full).group(1).decode()
    asking = request("/wire/not-modified", f"If-None-Match: {etag}")
    before = len(server.settle())
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(asking)
        answer = read_one(sock)
        sock.sendall(request("/wire/", "Connection: close"))  # the connection stays usable
        assert read_to_close(sock).startswith(b"HTTP/1.1 200 OK\r\n")
    (logged,) = [e for e in server.settle()[before:] if e.received == asking]
    assert answer.startswith(b"HTTP/1.1 304 Not Modified\r\nDate: ")
    assert f"\r\nETag: {etag}\r\n".encode() in answer and answer.endswith(b"\r\n\r\n")
    assert logged.sent == answer and logged.status == 304 and logged.entity_length == 0
    other = get(server, "/wire/not-modified", 'If-None-Match: "something-else"')[0]
    assert other.startswith(b"HTTP/1.1 200 OK\r\n")


def test_every_page_links_every_resource(server: WireServer):
    hrefs = {f'href="{r.path}"'.encode() for r in wire.RESOURCES}
    for resource in wire.RESOURCES:
        head, body = split(get(server, resource.path)[0])
        if b"Transfer-Encoding: chunked" in head:
            body = dechunk(body)[0]
        if b"Content-Encoding: gzip" in head:
            body = gzip.decompress(body)
        if "cut" not in resource.path:
            assert all(h in body for h in hrefs), resource.path
    keep_alive = get(server, "/wire/keep-alive")[0]
    for path in wire.REQUISITES:
        assert path.encode() in keep_alive
        assert get(server, path)[0].startswith(b"HTTP/1.1 200 OK\r\n")


def test_robots_and_unknown_paths(server: WireServer):
    assert b"Disallow: /wire/private/" in get(server, "/robots.txt")[0]
    received, logged = get(server, "/wire/nothing-here")
    assert received.startswith(b"HTTP/1.1 404 Not Found\r\n") and logged.status == 404


@pytest.mark.parametrize("kind", ["big", "big-chunked"])
def test_large_bodies_are_generated_and_logged_by_length(server: WireServer, kind: str):
    size = 3 * MiB + 5
    received, logged = get(server, f"/wire/{kind}/{size}.bin")
    head, body = split(received)
    expected = b"".join(wire.big_body(size))
    assert len(expected) == size and sha1(expected) == wire.big_sha1(size)
    if kind == "big":
        assert f"\r\nContent-Length: {size}\r\n".encode() in head and body == expected
    else:
        entity, _, ended = dechunk(body)
        assert ended and entity == expected
    # Only the head is kept in the log; the length is all of it.
    assert not logged.whole and logged.sent == head and logged.sent_length == len(received)
    assert logged.entity_length == size and logged.entity_sha1 == ""
    # Blocks differ from one another (not one block repeated) and do not compress.
    assert expected[:MiB] != expected[MiB : 2 * MiB]
    assert len(gzip.compress(expected[: 2 * MiB], compresslevel=1)) > 2 * MiB * 0.99


def test_large_body_head_only_for_head(server: WireServer):
    raw = request(f"/wire/big/{2 << 30}.bin", "Connection: close", method="HEAD")
    received, logged = fetch(server, raw)
    assert received.endswith(b"\r\n\r\n") and b"\r\nContent-Length: 2147483648\r\n" in received
    assert logged.sent == received


def test_json_lines_log_round_trips(tmp_path: Path):
    log = tmp_path / "wire.jsonl"
    with WireServer(log=log) as logging_server:
        get(logging_server, "/wire/non-utf8")
        get(logging_server, "/wire/chunked-trailers")
        get(logging_server, f"/wire/big/{MiB}.bin")
        in_memory = logging_server.settle()
    assert wire.read_log(log) == in_memory and len(in_memory) == 3


def test_command_line_entry_point(tmp_path: Path):
    log = tmp_path / "wire.jsonl"
    command = [sys.executable, "-m", "samplesite.wire", "--port", "0", "--log", str(log)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)/wire/", line).group(1))
            raw = request("/wire/reason", "Connection: close")
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(raw)
                received = read_to_close(sock)
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0
    (logged,) = wire.read_log(log)
    assert (logged.received, logged.sent) == (raw, received)
