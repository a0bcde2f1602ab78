"""The sample site's /hostile/ resources put the hostile bytes on the wire, and stay bounded.

Everything is checked with raw sockets (or http.client where its own parsing is the point) against
a real SampleSiteServer on 127.0.0.1. The 60-second caps are checked with the caps shortened.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import re
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from samplesite import SITE_ROOT, SampleSiteServer, hostile

MiB = 1 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[SampleSiteServer]:
    with SampleSiteServer() as running:
        yield running


def connect(server: SampleSiteServer, target: str, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: hostile.test\r\nConnection: close\r\n\r\n".encode(
            "latin-1"
        )
    )
    return sock


def read_all(sock: socket.socket, limit: int = 128 * MiB) -> bytes:
    received = bytearray()
    while len(received) < limit and (chunk := sock.recv(1 << 20)):
        received += chunk
    return bytes(received)


def get(server: SampleSiteServer, target: str) -> tuple[bytes, bytes]:
    """Head and body bytes of a response read until the server closes."""
    with connect(server, target) as sock:
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    return head, body


def header(head: bytes, name: bytes) -> bytes | None:
    match = re.search(rb"\r\n" + re.escape(name) + rb": ([^\r\n]*)", head, re.IGNORECASE)
    return match.group(1) if match else None


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def hrefs(body: bytes) -> list[str]:
    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(v or "" for k, v in attrs if tag == "a" and k == "href")

    Links().feed(body.decode("utf-8"))
    return found


def handlers_finish(within: float) -> bool:
    """True once no request-handling thread is left, i.e. the server let go of every client."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any("process_request_thread" in t.name for t in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


def logged(server: SampleSiteServer, target: str) -> list[int]:
    return [entry.status for entry in server.requests if entry.target == target]


# --- index ---------------------------------------------------------------------------------------


NAMED = [
    "bomb.gzip",
    "bomb.deflate",
    "endless",
    "huge",
    "slow",
    "hang",
    "no-colon",
    "non-ascii-header",
    "broken-chunked",
    "drop",
    "lying-length",
    "short-length",
    "charset-bogus",
    "utf8-over-1252",
    "utf16-nobom",
    "redirect-loop/a",
    "self-redirect",
    "calendar",
    "repeat/",
    "session",
    "grow/",
    "sitemap.xml",
    "sitemap-xxe.xml",
    "sitemap-bomb.xml",
    "links",
    "offsite-redirect",
    "names",
]


def test_index_links_every_resource_and_each_is_its_own_url(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/")
    assert status_of(head) == 200
    linked = hrefs(body)
    expected = [r.link or r.path for r in hostile.RESOURCES]
    assert linked == [*expected, "/robots.txt"]
    assert all(link.startswith("/hostile/") for link in expected)
    for name in NAMED:
        assert any(link.startswith(f"/hostile/{name}") for link in linked), name
    assert logged(server, "/hostile/") == [200]


def test_unknown_hostile_path_is_a_plain_404(server: SampleSiteServer) -> None:
    head, _ = get(server, "/hostile/no-such-thing")
    assert status_of(head) == 404


# --- compression bombs ---------------------------------------------------------------------------

NO_BROTLI = pytest.mark.skipif(hostile.brotli is None, reason="brotli not importable: no bomb.br")
CODINGS = ["gzip", "deflate", pytest.param("br", marks=NO_BROTLI)]


def inflate_prefix(coding: str, data: bytes, size: int) -> bytes:
    """The first `size` bytes the compressed `data` inflates to, without inflating the rest."""
    if coding == "br":
        assert hostile.brotli is not None
        decompressor = hostile.brotli.Decompressor()
        feed = getattr(decompressor, "process", None) or decompressor.decompress
        out = bytearray()
        for start in range(0, len(data), 64):
            out += feed(data[start : start + 64])
            if len(out) >= size:
                break
        return bytes(out[:size])
    inflater = zlib.decompressobj(31 if coding == "gzip" else 15)
    return inflater.decompress(data, size)


@pytest.mark.parametrize("coding", CODINGS)
def test_bomb_is_small_on_the_wire_and_inflates_to_zeros(
    server: SampleSiteServer, coding: str
) -> None:
    head, body = get(server, f"/hostile/bomb.{coding}")
    assert status_of(head) == 200
    assert header(head, b"Content-Type") == b"text/html"
    assert header(head, b"Content-Encoding") == coding.encode()
    assert int(header(head, b"Content-Length") or -1) == len(body)
    # Deflate cannot beat about 1:1030, so gzip and deflate are ~2 MB; brotli a few tens of KB.
    assert len(body) < (64 << 10 if coding == "br" else 2200 << 10)
    assert inflate_prefix(coding, body, MiB) == bytes(MiB)
    if coding == "gzip":
        assert struct.unpack("<I", body[-4:])[0] == hostile.BOMB_SIZE  # ISIZE: 2 GiB
    _, again = get(server, f"/hostile/bomb.{coding}")
    assert again == body, "built once, the same bytes every time"


@pytest.mark.parametrize("coding", CODINGS)
def test_bomb_construction_inflates_to_exactly_its_size(
    monkeypatch: pytest.MonkeyPatch, coding: str
) -> None:
    # The repeated-segment construction, checked end to end (checksums included) at 1/32 scale.
    monkeypatch.setattr(hostile, "BOMB_SIZE", 64 * MiB)
    data = hostile.build_bomb(coding)
    if coding == "br":
        assert hostile.brotli is not None
        inflated = hostile.brotli.decompress(data)
    else:
        inflated = zlib.decompress(data, 31 if coding == "gzip" else 15)
    assert inflated == bytes(64 * MiB)


# --- size and time -------------------------------------------------------------------------------


def test_endless_is_chunked_until_the_cap_and_never_terminated(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/endless")
    assert header(head, b"Transfer-Encoding") == b"chunked"
    assert header(head, b"Content-Length") is None
    payload, rest = 0, memoryview(body)
    while rest:
        size_line, _, _ = bytes(rest[:16]).partition(b"\r\n")
        size = int(size_line, 16)
        assert size == 64 << 10
        rest = rest[len(size_line) + 2 + size + 2 :]
        payload += size
    assert payload == hostile.ENDLESS_CAP
    assert not body.endswith(b"0\r\n\r\n"), "no last chunk: the stream just stops"


def test_endless_stops_when_the_client_goes_away(server: SampleSiteServer) -> None:
    with connect(server, "/hostile/endless") as sock:
        assert len(sock.recv(1 << 16)) > 0
    assert handlers_finish(within=5)


def test_huge_has_a_true_content_length(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/huge")
    assert int(header(head, b"Content-Length") or -1) == hostile.HUGE_SIZE == 50 * MiB
    assert len(body) == hostile.HUGE_SIZE
    assert body.startswith(b"<p>")


def test_slow_drips_one_byte_per_second(server: SampleSiteServer) -> None:
    with connect(server, "/hostile/slow", timeout=1.5) as sock:
        started = time.monotonic()
        first = sock.recv(4096)
        head, _, body = first.partition(b"\r\n\r\n")
        assert time.monotonic() - started < 0.5, "the head comes at once"
        assert int(header(head, b"Content-Length") or -1) == 60
        arrivals = []
        while time.monotonic() - started < 2.5:
            piece = sock.recv(4096)
            arrivals.append((time.monotonic() - started, len(piece)))
            body += piece
        assert 2 <= len(body) <= 4
        assert all(size == 1 for _, size in arrivals)
        assert all(b - a > 0.7 for (a, _), (b, _) in itertools.pairwise(arrivals))
    assert handlers_finish(within=3), "a client that leaves frees the server at once"


def test_slow_gives_up_at_its_cap(
    server: SampleSiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hostile, "SLOW_SECONDS", 2)
    with connect(server, "/hostile/slow") as sock:
        started = time.monotonic()
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert 1.5 < time.monotonic() - started < 4
    assert header(head, b"Content-Length") == b"2"
    assert body == b"<p"


def test_slow_headers_drips_the_status_line(server: SampleSiteServer) -> None:
    with connect(server, "/hostile/slow-headers", timeout=3) as sock:
        started = time.monotonic()
        received = b""
        while time.monotonic() - started < 1.6:
            received += sock.recv(4096)
    assert received in (b"HT", b"HTT")


def test_hang_reads_the_request_and_never_answers(server: SampleSiteServer) -> None:
    with connect(server, "/hostile/hang", timeout=1) as sock, pytest.raises(TimeoutError):
        sock.recv(1)
    assert logged(server, "/hostile/hang")[-1] == 0, "logged, with status 0: no response"
    assert handlers_finish(within=3)


def test_hang_closes_without_a_byte_at_its_cap(
    server: SampleSiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hostile, "HANG_SECONDS", 1)
    with connect(server, "/hostile/hang", timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
    assert 0.8 < time.monotonic() - started < 3


# --- malformed framing and headers ---------------------------------------------------------------


def test_header_line_without_a_colon(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/no-colon")
    assert b"\r\nThis header line has no colon\r\n" in head + b"\r\n"
    assert len(body) == int(header(head, b"Content-Length") or -1)
    assert logged(server, "/hostile/no-colon") == [200]


def test_raw_non_ascii_bytes_in_header_name_and_value(server: SampleSiteServer) -> None:
    head, _ = get(server, "/hostile/non-ascii-header")
    assert b"\r\nX-Caf\xe9-Name: " in head
    assert b"\r\nX-Raw: caf\xe9 \xff" in head


def test_broken_chunked_announces_256_and_sends_10(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/broken-chunked")
    assert header(head, b"Transfer-Encoding") == b"chunked"
    assert body == b"100\r\n" + hostile.filler(10)


@pytest.mark.parametrize(
    ("name", "declared", "sent"),
    [("drop", 10000, 3000), ("lying-length", 100, 5000), ("short-length", 5000, 100)],
)
def test_content_length_lies(server: SampleSiteServer, name: str, declared: int, sent: int) -> None:
    head, body = get(server, f"/hostile/{name}")
    assert int(header(head, b"Content-Length") or -1) == declared
    assert len(body) == sent


def test_short_bodies_are_incomplete_reads_for_http_client(server: SampleSiteServer) -> None:
    for name in ("drop", "short-length"):
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", f"/hostile/{name}")
        with pytest.raises(http.client.IncompleteRead):
            conn.getresponse().read()
        conn.close()


def read_framed(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One response framed by its Content-Length, read as a keep-alive client reads it: whatever
    arrived past its end stays in `buffer` for the next response."""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536) or pytest.fail("closed before the head ended")
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(header(head, b"Content-Length") or -1)
    while len(rest) < length:
        rest += sock.recv(65536) or pytest.fail("closed before the body ended")
    buffer[:] = rest[length:]
    return head, rest[:length]


def test_lying_length_smuggles_a_response_into_a_reused_connection(
    server: SampleSiteServer,
) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: hostile.test\r\n\r\n"
    answered_before = len(logged(server, "/hostile/names"))
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request % b"/hostile/lying-length")
        buffer = bytearray()
        _, first = read_framed(sock, buffer)
        assert first == hostile.filler(100)
        sock.sendall(request % b"/hostile/names")  # reusing the connection, as crawlers do
        head, second = read_framed(sock, buffer)
    assert status_of(head) == 200
    assert second == hostile.SMUGGLED_BODY, "the excess bytes answered the second request"
    answered = len(logged(server, "/hostile/names")) - answered_before
    assert answered == 0, "the server swallowed that request unanswered"


# --- charsets ------------------------------------------------------------------------------------


def test_charset_resources_send_the_mislabelled_bytes(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/charset-bogus")
    assert header(head, b"Content-Type") == b"text/html; charset=x-bogus"
    assert "caf\u00e9" in body.decode("utf-8")

    head, body = get(server, "/hostile/utf8-over-1252")
    assert header(head, b"Content-Type") == b"text/html; charset=utf-8"
    assert b"\x93caf\xe9\x94" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")

    head, body = get(server, "/hostile/utf16-nobom")
    assert header(head, b"Content-Type") == b"text/html"
    assert body[:2] not in (b"\xff\xfe", b"\xfe\xff")
    assert body.startswith(b"<\x00h\x00")
    text = body.decode("utf-16-le")
    assert "caf\u00e9" in text and "charset" not in text


# --- traps ---------------------------------------------------------------------------------------


def test_redirect_traps(server: SampleSiteServer) -> None:
    head, _ = get(server, "/hostile/redirect-loop/a")
    assert (status_of(head), header(head, b"Location")) == (
        302,
        b"http://hostile.test/hostile/redirect-loop/b",
    )
    head, _ = get(server, "/hostile/redirect-loop/b")
    assert header(head, b"Location") == b"http://hostile.test/hostile/redirect-loop/a"
    head, _ = get(server, "/hostile/self-redirect")
    assert (status_of(head), header(head, b"Location")) == (
        301,
        b"http://hostile.test/hostile/self-redirect",
    )
    head, _ = get(server, "/hostile/offsite-redirect")
    assert (status_of(head), header(head, b"Location")) == (302, b"http://outside.invalid/x")


def test_calendar_links_to_neighbouring_months_forever(server: SampleSiteServer) -> None:
    assert hrefs(get(server, "/hostile/calendar?year=2024&month=12")[1]) == [
        "calendar?year=2024&month=11",
        "calendar?year=2025&month=1",
    ]
    assert hrefs(get(server, "/hostile/calendar?year=99999&month=1")[1]) == [
        "calendar?year=99998&month=12",
        "calendar?year=99999&month=2",
    ]
    assert len(hrefs(get(server, "/hostile/calendar?year=junk")[1])) == 2


def test_repeat_and_grow_make_ever_longer_urls(server: SampleSiteServer) -> None:
    deep = "/hostile/repeat/" + "a/b/" * 20
    head, body = get(server, deep)
    assert status_of(head) == 200
    assert hrefs(body) == ["a/", "b/"]
    assert hrefs(get(server, "/hostile/grow/")[1]) == ["/hostile/grow/1/"]
    assert hrefs(get(server, "/hostile/grow/1/2/3/")[1]) == ["/hostile/grow/1/2/3/4/"]


def test_session_ids_change_on_every_request(server: SampleSiteServer) -> None:
    pattern = re.compile(r";jsessionid=([0-9A-F]{32})\?sid=(\d+)$")
    seen = []
    for target in ("/hostile/session", "/hostile/session;jsessionid=ABC?sid=1"):
        head, body = get(server, target)
        assert status_of(head) == 200
        links = hrefs(body)
        match = pattern.search(links[0])
        assert match and all(link.endswith(match.group(0)) for link in links)
        token, number = match.group(1), int(match.group(2))
        assert token == hashlib.sha1(b"session %d" % number).hexdigest()[:32].upper()
        assert header(head, b"Set-Cookie") == f"JSESSIONID={token}; Path=/hostile/session".encode()
        seen.append(number)
    assert seen[1] == seen[0] + 1


# --- robots.txt ----------------------------------------------------------------------------------


def robots_of(variant: str) -> tuple[bytes, bytes]:
    with SampleSiteServer(robots=variant) as running:
        head, body = get(running, "/robots.txt")
        assert logged(running, "/robots.txt") == [status_of(head)]
        return head, body


def test_robots_normal_is_the_site_file() -> None:
    head, body = robots_of("normal")
    assert (status_of(head), body) == (200, (SITE_ROOT / "robots.txt").read_bytes())


@pytest.mark.parametrize(("variant", "status"), [("500", 500), ("404", 404)])
def test_robots_errors(variant: str, status: int) -> None:
    assert status_of(robots_of(variant)[0]) == status


def test_robots_huge_hides_a_rule_past_600_kib() -> None:
    head, body = robots_of("huge")
    assert status_of(head) == 200
    assert len(body) == 700 << 10
    assert body.index(b"Disallow: /hostile/early/\n") < 500 << 10
    assert body.index(b"\nDisallow: /hostile/private/\n") + 1 == 600 << 10
    lines = body.split(b"\n")[:-1]
    assert lines[0] == b"User-agent: *"
    assert all(line.startswith(b"#") for line in lines[2:] if not line.startswith(b"Disallow"))


def test_robots_html_is_a_web_page() -> None:
    head, body = robots_of("html")
    assert (status_of(head), header(head, b"Content-Type")) == (200, b"text/html")
    assert body.startswith(b"<!DOCTYPE html>")


def test_robots_sitemaps_lists_the_three_sitemaps() -> None:
    _, body = robots_of("sitemaps")
    assert body.startswith((SITE_ROOT / "robots.txt").read_bytes())
    assert re.findall(rb"Sitemap: (\S+)", body) == [
        b"http://hostile.test/hostile/sitemap.xml",
        b"http://hostile.test/hostile/sitemap-xxe.xml",
        b"http://hostile.test/hostile/sitemap-bomb.xml",
    ]


def test_unknown_robots_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="robots must be one of"):
        SampleSiteServer(robots="sometimes")


# --- sitemaps ------------------------------------------------------------------------------------


def test_plain_sitemap_lists_two_pages_that_exist(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/sitemap.xml")
    assert header(head, b"Content-Type") == b"application/xml"
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [loc.text or "" for loc in ET.fromstring(body).iter(f"{ns}loc")]
    assert len(locs) == 2
    for loc in locs:
        assert loc.startswith("http://hostile.test/hostile/")
        assert status_of(get(server, loc.removeprefix("http://hostile.test"))[0]) == 200


def test_xxe_and_bomb_sitemaps_carry_their_entities(server: SampleSiteServer) -> None:
    _, xxe = get(server, "/hostile/sitemap-xxe.xml")
    assert b'<!ENTITY passwd SYSTEM "file:///etc/passwd">' in xxe
    assert b'<!ENTITY remote SYSTEM "http://127.0.0.1:1/xxe">' in xxe
    assert b"?leak=&passwd;</loc>" in xxe and b"<loc>&remote;</loc>" in xxe

    _, bomb = get(server, "/hostile/sitemap-bomb.xml")
    assert b'<!ENTITY lol0 "lol">' in bomb
    for level in range(1, 10):
        assert b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) in bomb
    assert b"&lol9;</loc>" in bomb
    assert len(bomb) < 2048


# --- bait and names ------------------------------------------------------------------------------


def test_links_are_out_of_scope_bait(server: SampleSiteServer) -> None:
    assert hrefs(get(server, "/hostile/links")[1]) == [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,x",
        "mailto:someone@outside.invalid",
        "ftp://127.0.0.1/",
        "http://127.0.0.1:1/",
        "http://outside.invalid/",
    ]


def test_names_carry_traversal_encoded_controls_and_escape_bytes(server: SampleSiteServer) -> None:
    head, body = get(server, "/hostile/names")
    assert b"\r\nSet-Cookie: ansi=\x1b[31mred\x1b[0m; Path=/hostile/\r\n" in head
    assert b"\r\nX-Terminal-Title: \x1b]0;owned\x07\r\n" in head
    links = hrefs(body)
    for fragment in ("../", "%2f", "%00", "%0d%0a", "%1b[31m", "\x1b[31m"):
        assert any(fragment in link for link in links), fragment
