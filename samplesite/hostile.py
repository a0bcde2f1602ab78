"""Hostile resources under /hostile/: what a crawler meets on the real web and must survive.

Each resource is one small function with a line in `RESOURCES`; the index page /hostile/ links
to all of them, so a crawl seeded there (or at any one of them) reaches them. /robots.txt is
the server's `robots` variant, except under a host name crawl-delay-N.* (mapped here with
--resolve), where it asks for a Crawl-delay of N seconds and nothing else. Everything is
deterministic and bounded on the server side as well (bytes and seconds), so a client that
misbehaves cannot turn the test server itself into the problem.

Replies that http.server cannot produce (a header line without a colon, a length that lies, an
endless body, no answer at all) set `Reply.stream`: the server logs the request as usual, then
hands the socket to the stream, which writes every byte itself; the connection is closed after.

`resources` and this module import each other (it registers our routes, we build on its Request
and Reply), so this module touches `resources` only inside functions and imports it last.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
import select
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from types import ModuleType
from urllib.parse import parse_qs, quote

brotli: ModuleType | None
try:
    import brotli
except ImportError:  # optional: without it there is simply no /hostile/bomb.br
    brotli = None

PREFIX = "/hostile/"
HTML = "text/html"

BOMB_SIZE = 2 << 30  # what every bomb inflates to: 2 GiB of zero bytes
BOMB_SEGMENT = 4 << 20
ENDLESS_CAP = 64 << 20  # the endless body stops here even if the client keeps reading
HUGE_SIZE = 50 << 20
SLOW_SECONDS = 60  # slow and hang give up after this long, whatever the client does
HANG_SECONDS = 60
LINGER_SECONDS = 5

ROBOTS_VARIANTS = ("normal", "500", "404", "huge", "html", "sitemaps")

Stream = Callable[[socket.socket], None]


# --- helpers -------------------------------------------------------------------------------------


def page(title: str, body: str) -> resources.Reply:
    text = f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head>\n<body>\n"
    text += f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    return resources.Reply(200, [("Content-Type", HTML)], text.encode("utf-8"))


def links(hrefs: list[str]) -> str:
    # Attribute-escaped but otherwise verbatim: the odd characters are the point.
    return "\n".join(f'<p><a href="{html.escape(h)}">{html.escape(h)}</a></p>' for h in hrefs)


def filler(size: int) -> bytes:
    line = b"<p>hostile filler: a careful crawler stops reading long before the end.</p>\n"
    return (line * (size // len(line) + 1))[:size]


def head(status_line: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join((status_line, b"Server: archiver-samplesite", *headers)) + b"\r\n\r\n"


def send(sock: socket.socket, data: bytes) -> bool:
    """Write all of `data`; False once the client is gone or stopped reading (socket timeout)."""
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def wait_for_hangup(sock: socket.socket, seconds: float) -> bool:
    """Wait up to `seconds` for the client to close; True if it did. Discards what it sends."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            readable, _, _ = select.select([sock], [], [], left)
            if readable and not sock.recv(65536):
                return True
        except ssl.SSLWantReadError:
            continue  # a TLS record that carried no application data
        except (OSError, ValueError):  # reset, or shut down under us when the server stops
            return True
    return False


def raw(status: int, response: bytes, *, linger: float = 0) -> resources.Handler:
    """Send fixed bytes as they are; `status` is only what the request log records.

    `linger`: keep the connection open that long after writing (or until the client closes) for
    a client that means to reuse it, so it reads what was sent instead of a reset.
    """

    def handler(request: resources.Request) -> resources.Reply:
        reuse = (request.headers.get("Connection") or "").lower() != "close"

        def stream(sock: socket.socket) -> None:
            if send(sock, response) and linger and reuse:
                wait_for_hangup(sock, linger)

        return resources.Reply(status, stream=stream)

    return handler


def redirect(status: int, target: str) -> resources.Handler:
    """Redirect to a path on this server, or to `target` as it is when it is a whole URL."""

    # resources.redirect cannot be called while resources is still importing this module.
    def handler(request: resources.Request) -> resources.Reply:
        url = target if "://" in target else resources.absolute(request, target)
        return resources.moved(request, status, url)

    return handler


# --- compression bombs ---------------------------------------------------------------------------

_bombs: dict[str, bytes] = {}
_bombs_lock = threading.Lock()


def deflate_segments() -> bytes:
    # Full flushes make each segment independent of what came before, so one segment compressed
    # once stands for all of them: milliseconds instead of compressing 2 GiB.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(bytes(BOMB_SEGMENT)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return segment * (BOMB_SIZE // BOMB_SEGMENT) + compressor.flush()


def checksum(function: Callable[[bytes, int], int], start: int) -> int:
    zeros, value = bytes(BOMB_SEGMENT), start
    for _ in range(BOMB_SIZE // BOMB_SEGMENT):
        value = function(zeros, value)
    return value


def build_bomb(coding: str) -> bytes:
    if coding == "gzip":
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, mtime 0: stable bytes
        trailer = struct.pack("<II", checksum(zlib.crc32, 0), BOMB_SIZE & 0xFFFFFFFF)
        return header + deflate_segments() + trailer
    if coding == "deflate":
        # HTTP's "deflate" is the zlib format (RFC 9110), not raw deflate.
        return b"\x78\xda" + deflate_segments() + struct.pack(">I", checksum(zlib.adler32, 1))
    assert brotli is not None
    compressor = brotli.Compressor(quality=11, lgwin=24)
    # Google's brotli calls it process(), brotlipy (which shadows it when both are installed)
    # compress().
    feed = getattr(compressor, "process", None) or compressor.compress
    # Brotli keeps state across flushes, but once the window holds only zeros the encoder
    # settles and every further segment compresses to the same bytes; repeat that one.
    segments: list[bytes] = []
    while len(segments) < 2 or segments[-1] != segments[-2]:
        if len(segments) == 8:
            raise RuntimeError("brotli output did not settle into a repeating segment")
        segments.append(feed(bytes(BOMB_SEGMENT)) + compressor.flush())
    repeats = BOMB_SIZE // BOMB_SEGMENT - len(segments)
    return b"".join(segments) + segments[-1] * repeats + compressor.finish()


def bomb_bytes(coding: str) -> bytes:
    # Built on first use, once per process: the lock keeps concurrent first requests from
    # building it twice.
    with _bombs_lock:
        if coding not in _bombs:
            _bombs[coding] = build_bomb(coding)
        return _bombs[coding]


def bomb(coding: str) -> resources.Handler:
    def handler(request: resources.Request) -> resources.Reply:
        # Sent whatever Accept-Encoding says, as some servers do.
        headers = [("Content-Type", HTML), ("Content-Encoding", coding)]
        return resources.Reply(200, headers, bomb_bytes(coding))

    return handler


# --- size and time -------------------------------------------------------------------------------


def endless(request: resources.Request) -> resources.Reply:
    piece = filler(64 << 10)
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)

    def stream(sock: socket.socket) -> None:
        chunked = b"Transfer-Encoding: chunked"
        if not send(sock, head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", chunked)):
            return
        for _ in range(ENDLESS_CAP // len(piece)):
            if not send(sock, chunk):
                return
        # At the cap the stream just stops, with no last chunk: there is no end to reach.

    return resources.Reply(200, stream=stream)


def huge(request: resources.Request) -> resources.Reply:
    piece = filler(64 << 10)

    def stream(sock: socket.socket) -> None:
        length = b"Content-Length: %d" % HUGE_SIZE
        if send(sock, head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", length)):
            for _ in range(HUGE_SIZE // len(piece)):
                if not send(sock, piece):
                    return

    return resources.Reply(200, stream=stream)


def drip(before: bytes, dripped: bytes) -> Stream:
    """Send `before` at once, then one byte of `dripped` per second for at most 60 s."""

    def stream(sock: socket.socket) -> None:
        if not send(sock, before):
            return
        for index in range(min(len(dripped), SLOW_SECONDS)):
            if not send(sock, dripped[index : index + 1]) or wait_for_hangup(sock, 1):
                return

    return stream


def slow(request: resources.Request) -> resources.Reply:
    body = filler(SLOW_SECONDS)
    response_head = head(
        b"HTTP/1.1 200 OK", b"Content-Type: text/html", b"Content-Length: %d" % len(body)
    )
    return resources.Reply(200, stream=drip(response_head, body))


def slow_headers(request: resources.Request) -> resources.Reply:
    # Even the status line trickles; the header block never completes within the 60 s.
    response_head = head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", b"Content-Length: 0")
    return resources.Reply(200, stream=drip(b"", response_head + filler(SLOW_SECONDS)))


def hang(request: resources.Request) -> resources.Reply:
    def stream(sock: socket.socket) -> None:
        wait_for_hangup(sock, HANG_SECONDS)  # then the server closes, having written nothing

    # Status 0 in the request log: no response was ever sent.
    return resources.Reply(0, stream=stream)


# --- malformed framing and headers ---------------------------------------------------------------


def framed(*headers: bytes, body: bytes, length: int | None = None) -> bytes:
    declared = len(body) if length is None else length
    length_header = b"Content-Length: %d" % declared
    return head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", *headers, length_header) + body


SMUGGLED_BODY = b"<p>smuggled: this is not the response to the request you sent</p>\n"
SMUGGLED = (
    head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", b"Content-Length: %d" % len(SMUGGLED_BODY))
    + SMUGGLED_BODY
)
# 100 bytes that match the declared length, then 4900 more that start with a whole response, so
# a client that reuses the connection reads it as the answer to its next request.
LYING_BODY = (filler(100) + SMUGGLED + filler(5000))[:5000]

no_colon = raw(200, framed(b"This header line has no colon", body=filler(200)))
non_ascii_header = raw(
    200,
    framed(b"X-Caf\xe9-Name: the name has a raw 0xE9", b"X-Raw: caf\xe9 \xff", body=filler(200)),
)
broken_chunked = raw(
    200,
    head(b"HTTP/1.1 200 OK", b"Content-Type: text/html", b"Transfer-Encoding: chunked")
    + b"100\r\n"
    + filler(10),
)
drop = raw(200, framed(body=filler(3000), length=10000))
lying_length = raw(200, framed(body=LYING_BODY, length=100), linger=LINGER_SECONDS)
short_length = raw(200, framed(body=filler(100), length=5000))


# --- charsets ------------------------------------------------------------------------------------


def charset_reply(content_type: str, body: bytes) -> resources.Handler:
    return lambda request: resources.Reply(200, [("Content-Type", content_type)], body)


CAFE_TEXT = "<html><body><p>\u201ccaf\u00e9\u201d, na\u00efve, \u00e9t\u00e9</p></body></html>\n"
charset_bogus = charset_reply("text/html; charset=x-bogus", CAFE_TEXT.encode("utf-8"))
utf8_over_1252 = charset_reply("text/html; charset=utf-8", CAFE_TEXT.encode("windows-1252"))
utf16_nobom = charset_reply(HTML, CAFE_TEXT.encode("utf-16-le"))


# --- crawler traps -------------------------------------------------------------------------------


def query_int(request: resources.Request, name: str, default: int) -> int:
    try:
        return int(parse_qs(request.query).get(name, [str(default)])[0])
    except ValueError:  # garbage, or more digits than int() accepts
        return default


def calendar(request: resources.Request) -> resources.Reply:
    year = query_int(request, "year", 2024)
    month = min(max(query_int(request, "month", 1), 1), 12)
    back = (year - 1, 12) if month == 1 else (year, month - 1)
    ahead = (year + 1, 1) if month == 12 else (year, month + 1)
    hrefs = [f"calendar?year={y}&month={m}" for y, m in (back, ahead)]
    return page(f"Calendar {year}-{month:02d}", links(hrefs))


def repeat(request: resources.Request) -> resources.Reply:
    return page(f"Repeat {request.path}", links(["a/", "b/"]))


def grow(request: resources.Request) -> resources.Reply:
    here = request.path.rstrip("/")
    depth = len([s for s in here[len("/hostile/grow") :].split("/") if s])
    return page(f"Grow {depth}", links([f"{quote(here)}/{depth + 1}/"]))


# A 1x1 transparent GIF: each deep page's image, a requisite.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
DEEP_LEVELS = 30


def deep(request: resources.Request) -> resources.Reply:
    """A chain of pages, each a hop deeper than the last: /hostile/deep/N.html links N+1 and
    shows N.gif, up to DEEP_LEVELS. A site this deep is rare, but real; a crawl stops at its
    hop limit from the seed, and still takes the last page's image."""
    name = request.path[len("/hostile/deep/") :]
    number, _, suffix = name.partition(".")
    if not number.isdigit() or len(number) > 3:
        return resources.Reply(404, [("Content-Type", "text/plain")], b"no such page\n")
    n = int(number)
    if suffix == "gif":
        return resources.Reply(200, [("Content-Type", "image/gif")], PIXEL)
    more = links([f"{n + 1}.html"]) if n < DEEP_LEVELS else ""
    return page(f"Level {n}", f'<img src="{n}.gif" alt="level {n}">\n{more}')


def redirect_chain(request: resources.Request) -> resources.Reply:
    """302 to the next number, forever: each hop a URL not seen before, so no loop check
    ends it; only a limit on the chain's length does."""
    tail = request.path[len("/hostile/redirect-chain/") :]
    number = int(tail) if tail.isdigit() and len(tail) < 12 else 0
    target = resources.absolute(request, f"/hostile/redirect-chain/{number + 1}")
    return resources.moved(request, 302, target)


_sessions = itertools.count(1)  # next() on it is atomic under the GIL


def session(request: resources.Request) -> resources.Reply:
    number = next(_sessions)
    token = hashlib.sha1(b"session %d" % number).hexdigest()[:32].upper()
    hrefs = [
        f"/hostile/session;jsessionid={token}?sid={number}",
        f"/hostile/session/inbox;jsessionid={token}?sid={number}",
    ]
    reply = page(f"Session {number}", links(hrefs))
    reply.headers.append(("Set-Cookie", f"JSESSIONID={token}; Path=/hostile/session"))
    return reply


# --- robots.txt and sitemaps ---------------------------------------------------------------------


def comment_lines(size: int) -> bytes:
    # Exactly `size` bytes of comments and never a blank line, which some parsers take as the
    # end of a group.
    count, rest = divmod(size, 64)
    sizes = [64] * count + ([rest] if rest else [])
    if sizes[-1] == 1:
        sizes[-2:] = [65]
    return b"".join(b"#" + b"." * (n - 2) + b"\n" for n in sizes)


def huge_robots() -> bytes:
    top = b"User-agent: *\nDisallow: /hostile/early/\n"
    text = top + comment_lines((600 << 10) - len(top)) + b"Disallow: /hostile/private/\n"
    return text + comment_lines((700 << 10) - len(text))


HTML_ROBOTS = """<p>This is not a robots.txt file.</p>
<pre>
User-agent: *
Disallow: /hostile/private/
</pre>"""

SITEMAPS = ("sitemap.xml", "sitemap-xxe.xml", "sitemap-bomb.xml")


def robots(request: resources.Request) -> resources.Reply:
    """/robots.txt, as the server's `robots` option chose; a crawl-delay-N host name asks for
    a Crawl-delay of N seconds instead (see /hostile/polite/)."""
    text_plain = [("Content-Type", "text/plain")]
    delay = crawl_delay_of(request.host)
    if delay is not None:
        return resources.Reply(200, text_plain, b"User-agent: *\nCrawl-delay: %d\n" % delay)
    match request.robots:
        case "500":
            return resources.error_reply(500, "Internal Server Error", "robots.txt failed.")
        case "404":
            return resources.not_found(request)
        case "huge":
            return resources.Reply(200, text_plain, huge_robots())
        case "html":
            return page("Welcome", HTML_ROBOTS)
        case "sitemaps":
            site_file = request.root / "robots.txt"
            text = site_file.read_bytes() if site_file.is_file() else b""
            lines = [f"Sitemap: {resources.absolute(request, PREFIX + n)}\n" for n in SITEMAPS]
            return resources.Reply(200, text_plain, text + "".join(lines).encode())
    return resources.static(request)


def xml(body: str) -> resources.Reply:
    return resources.Reply(200, [("Content-Type", "application/xml")], body.encode("utf-8"))


def urlset(locs: list[str], doctype: str = "") -> str:
    entries = "".join(f"  <url><loc>{loc}</loc></url>\n" for loc in locs)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n'
    )


def sitemap(request: resources.Request) -> resources.Reply:
    pages = ("sitemap-only/1.html", "sitemap-only/2.html")
    return xml(urlset([resources.absolute(request, PREFIX + p) for p in pages]))


def sitemap_xxe(request: resources.Request) -> resources.Reply:
    # A parser that resolves external entities reads /etc/passwd into a URL it then requests
    # (the request log shows it), and connects to port 1.
    doctype = (
        "<!DOCTYPE urlset [\n"
        '  <!ENTITY passwd SYSTEM "file:///etc/passwd">\n'
        '  <!ENTITY remote SYSTEM "http://127.0.0.1:1/xxe">\n'
        "]>\n"
    )
    leak = resources.absolute(request, PREFIX + "sitemap-only/1.html?leak=&passwd;")
    return xml(urlset([leak, "&remote;"], doctype))


def sitemap_bomb(request: resources.Request) -> resources.Reply:
    # Billion laughs: ten levels of ten references, 10^9 "lol"s (3 GB) if expanded.
    levels = ['  <!ENTITY lol0 "lol">\n']
    levels += [f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10)]
    doctype = "<!DOCTYPE urlset [\n" + "".join(levels) + "]>\n"
    return xml(urlset([resources.absolute(request, PREFIX + "sitemap-only/&lol9;")], doctype))


def sitemap_only(request: resources.Request) -> resources.Reply:
    # Linked from nowhere but /hostile/sitemap.xml, so fetching it proves the sitemap was read.
    return page("Listed only in a sitemap", "<p>Found through /hostile/sitemap.xml.</p>")


def robots_target(request: resources.Request) -> resources.Reply:
    return page("Robots should not be here", f"<p>{html.escape(request.path)}</p>")


# --- out-of-scope bait and nasty names -----------------------------------------------------------

BAIT = [
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,x",
    "mailto:someone@outside.invalid",
    "ftp://127.0.0.1/",
    "http://127.0.0.1:1/",
    "http://outside.invalid/",
]

NAMES = [
    "../../../../etc/passwd",
    "/hostile/../../etc/passwd",
    "/hostile/..%2f..%2fetc%2fpasswd",
    "/hostile/nul%00.html",
    "/hostile/crlf%0d%0aSet-Cookie:%20injected=1",
    "/hostile/ansi%1b[31mred%1b[0m",
    "/hostile/raw-escape\x1b[31mred",
]


def bait(request: resources.Request) -> resources.Reply:
    return page("Out-of-scope bait", links(BAIT))


def names(request: resources.Request) -> resources.Reply:
    reply = page("Nasty names", links(NAMES))
    # http.server writes header values as latin-1 without checks: these go out as raw ESC bytes.
    reply.headers.append(("Set-Cookie", "ansi=\x1b[31mred\x1b[0m; Path=/hostile/"))
    reply.headers.append(("X-Terminal-Title", "\x1b]0;owned\x07"))
    return reply


# --- politeness ----------------------------------------------------------------------------------

# Host names crawl-delay-N.<anything> (mapped to this server, as curl --resolve does) get a
# robots.txt asking for a Crawl-delay of N seconds; every other name gets the server's usual
# robots.txt, so a slow test of Crawl-delay slows no other test of this server.
CRAWL_DELAY_HOST = re.compile(r"crawl-delay-(\d{1,9})\.", re.IGNORECASE)
POLITE_PAGES = 6
POLITE_SECONDS = 0.3  # each polite page takes this long, so overlapping requests show


def crawl_delay_of(host: str) -> int | None:
    """The Crawl-delay a Host header (name, maybe :port) asks for robots.txt to say."""
    match = CRAWL_DELAY_HOST.match(host)
    return int(match.group(1)) if match else None


def polite(request: resources.Request) -> resources.Reply:
    """/hostile/polite/ links N.html for N from 1 to POLITE_PAGES, each answered after
    POLITE_SECONDS: how many requests a crawler keeps in flight to one host, and how far apart
    it sends them, show in the request log (served under a crawl-delay-N host name too)."""
    name = request.path[len("/hostile/polite/") :]
    if not name:
        hrefs = [f"{n}.html" for n in range(1, POLITE_PAGES + 1)]
        return page("Polite", links(hrefs))
    number = name.removesuffix(".html")
    if not number.isdigit() or not 1 <= int(number) <= POLITE_PAGES or not name.endswith(".html"):
        return resources.Reply(404, [("Content-Type", "text/plain")], b"no such page\n")
    time.sleep(POLITE_SECONDS)
    return page(f"Polite {number}", "<p>Answered after a pause.</p>")


# --- servers that push back ------------------------------------------------------------------
# Linked from /hostile/pushback/ only, not the index: their waits would slow every crawl of it.


class Asked:
    """How many times each resource was asked, per server (SampleSiteServer.asked): the
    server's own state, so that two servers, or two tests, never share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        """Count one more request for ``key``; which one this is (1: the first)."""
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


BUSY_RETRY_AFTER = 3  # seconds, as the figure asks
BUSY_TIMES = 1  # 429s before the 200
UNAVAILABLE_TIMES = 2  # 503s before the 200: two backoffs, the second twice the first
ALWAYS_RETRY_AFTER = 1


def refusal(status: int, reason: str, retry_after: str | None) -> resources.Reply:
    reply = resources.error_reply(status, reason, "Come back later.")
    if retry_after is not None:
        reply.headers.append(("Retry-After", retry_after))
    return reply


def busy_429(request: resources.Request) -> resources.Reply:
    if request.asked(request.path) <= BUSY_TIMES:
        return refusal(429, "Too Many Requests", str(BUSY_RETRY_AFTER))
    return page("Busy, then not", "<p>Asked again after Retry-After: served.</p>")


def busy_429_date(request: resources.Request) -> resources.Reply:
    if request.asked(request.path) <= BUSY_TIMES:
        # An HTTP date has whole seconds: one more than the wait meant, so it is never shorter.
        return refusal(429, "Too Many Requests", formatdate(time.time() + 4, usegmt=True))
    return page("Busy until a date", "<p>Asked again after the Retry-After date.</p>")


def unavailable_503(request: resources.Request) -> resources.Reply:
    if request.asked(request.path) <= UNAVAILABLE_TIMES:
        return refusal(503, "Service Unavailable", None)
    return page("Unavailable, then not", "<p>Asked again after a backoff: served.</p>")


def always_429(request: resources.Request) -> resources.Reply:
    request.asked(request.path)
    return refusal(429, "Too Many Requests", str(ALWAYS_RETRY_AFTER))


FAILING_HOST = "down.archiver.test"  # map it with --resolve to a port nothing listens on
FAILING_PAGES = 8


def failing_host(request: resources.Request) -> resources.Reply:
    """Links to pages of a host that never answers: ?port=N, the port the crawl maps it to."""
    port = query_int(request, "port", 1)
    base = f"http://{FAILING_HOST}:{port}/"
    return page(
        "A host that keeps failing", links([f"{base}{n}.html" for n in range(FAILING_PAGES)])
    )


PUSHBACK: list[tuple[str, resources.Handler, str]] = [
    ("/hostile/pushback/busy-429", busy_429, f"429 Retry-After: {BUSY_RETRY_AFTER} once, then 200"),
    (
        "/hostile/pushback/busy-429-date",
        busy_429_date,
        "429 with Retry-After as an HTTP date, then 200",
    ),
    (
        "/hostile/pushback/unavailable-503",
        unavailable_503,
        f"503 {UNAVAILABLE_TIMES}x, no Retry-After",
    ),
    ("/hostile/pushback/always-429", always_429, f"429 Retry-After: {ALWAYS_RETRY_AFTER}, always"),
    (
        "/hostile/pushback/failing-host",
        failing_host,
        f"links to {FAILING_HOST}, a host that never answers",
    ),
]


def pushback(request: resources.Request) -> resources.Reply:
    """The index of these resources; ?port=N is passed on to failing-host."""
    port = f"?port={query_int(request, 'port', 1)}"
    items = [
        f'<li><a href="{html.escape(path + (port if handler is failing_host else ""))}">'
        f"{html.escape(path)}</a> {html.escape(what)}</li>"
        for path, handler, what in PUSHBACK
    ]
    return page("Servers that push back", "<ul>\n" + "\n".join(items) + "\n</ul>")


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    path: str  # the route; with prefix=True it owns every path that starts with it
    handler: resources.Handler
    description: str
    link: str = ""  # what /hostile/ links to, when that is not `path`
    prefix: bool = False


def index(request: resources.Request) -> resources.Reply:
    items = [
        f'<li><a href="{html.escape(r.link or r.path)}">{html.escape(r.link or r.path)}</a>'
        f" {html.escape(r.description)}</li>"
        for r in RESOURCES
    ]
    items.append(f'<li><a href="/robots.txt">/robots.txt</a> variant "{request.robots}"</li>')
    return page("Hostile resources", "<ul>\n" + "\n".join(items) + "\n</ul>")


CALENDAR_START = "/hostile/calendar?year=2024&month=1"
BOMB_NOTE = f"text/html that inflates to {BOMB_SIZE >> 30} GiB of zero bytes"
RESOURCES: list[Resource] = [
    Resource("/hostile/bomb.gzip", bomb("gzip"), f"Content-Encoding: gzip, {BOMB_NOTE}"),
    Resource("/hostile/bomb.deflate", bomb("deflate"), f"Content-Encoding: deflate, {BOMB_NOTE}"),
    *(
        [Resource("/hostile/bomb.br", bomb("br"), f"Content-Encoding: br, {BOMB_NOTE}")]
        if brotli is not None
        else []
    ),
    Resource("/hostile/endless", endless, "chunked text/html that never ends (64 MiB cap)"),
    Resource("/hostile/huge", huge, "a 50 MiB page with a correct Content-Length"),
    Resource("/hostile/slow", slow, "a 60-byte body sent one byte per second"),
    Resource("/hostile/slow-headers", slow_headers, "even the status line, one byte per second"),
    Resource("/hostile/hang", hang, "reads the request, never answers (60 s cap)"),
    Resource("/hostile/no-colon", no_colon, "a header line without a colon"),
    Resource(
        "/hostile/non-ascii-header", non_ascii_header, "raw 0xE9/0xFF in header name and value"
    ),
    Resource(
        "/hostile/broken-chunked", broken_chunked, "chunk of 0x100 announced, 10 bytes, close"
    ),
    Resource("/hostile/drop", drop, "Content-Length 10000, 3000 bytes, close"),
    Resource(
        "/hostile/lying-length", lying_length, "Content-Length 100, 5000 bytes (a smuggled reply)"
    ),
    Resource("/hostile/short-length", short_length, "Content-Length 5000, 100 bytes, close"),
    Resource("/hostile/charset-bogus", charset_bogus, "charset=x-bogus over UTF-8 bytes"),
    Resource("/hostile/utf8-over-1252", utf8_over_1252, "declares utf-8, sends windows-1252"),
    Resource("/hostile/utf16-nobom", utf16_nobom, "UTF-16LE, no BOM, no declaration"),
    Resource("/hostile/redirect-loop/a", redirect(302, "/hostile/redirect-loop/b"), "302 to b"),
    Resource("/hostile/redirect-loop/b", redirect(302, "/hostile/redirect-loop/a"), "302 to a"),
    Resource("/hostile/self-redirect", redirect(301, "/hostile/self-redirect"), "301 to itself"),
    Resource(
        "/hostile/deep/",
        deep,
        f"pages {DEEP_LEVELS} hops deep, each with an image",
        prefix=True,
        link="/hostile/deep/0.html",
    ),
    Resource(
        "/hostile/redirect-chain/",
        redirect_chain,
        "302 from N to N+1, a new URL every hop, forever",
        prefix=True,
        link="/hostile/redirect-chain/0",
    ),
    Resource("/hostile/calendar", calendar, "previous/next month forever", link=CALENDAR_START),
    Resource("/hostile/repeat/", repeat, "links a/ and b/ from every page below", prefix=True),
    Resource(
        "/hostile/session",
        session,
        "new ;jsessionid= and ?sid= links on every request",
        prefix=True,
    ),
    Resource("/hostile/grow/", grow, "each page links to itself plus one segment", prefix=True),
    Resource("/hostile/sitemap.xml", sitemap, "a sitemap listing two pages linked nowhere else"),
    Resource("/hostile/sitemap-xxe.xml", sitemap_xxe, "external entities: /etc/passwd, port 1"),
    Resource("/hostile/sitemap-bomb.xml", sitemap_bomb, "billion-laughs entity expansion"),
    Resource("/hostile/early/", robots_target, "disallowed in the first line of huge robots.txt"),
    Resource("/hostile/private/", robots_target, "disallowed only after 600 KiB of huge robots"),
    Resource("/hostile/links", bait, "links to file:, javascript:, data:, mailto:, ftp:, off-site"),
    Resource(
        "/hostile/offsite-redirect",
        redirect(302, "http://outside.invalid/x"),
        "302 to http://outside.invalid/x",
    ),
    Resource("/hostile/names", names, "../, %2f, %00, %0d%0a, ESC in links; ESC in Set-Cookie"),
    Resource(
        "/hostile/polite/",
        polite,
        f"{POLITE_PAGES} pages, each answered after {POLITE_SECONDS:g} s; as host "
        "crawl-delay-N.*, robots.txt asks for Crawl-delay: N",
        prefix=True,
    ),
]

ROUTES: dict[str, resources.Handler] = {
    PREFIX: index,
    "/robots.txt": robots,
    "/hostile/sitemap-only/1.html": sitemap_only,
    "/hostile/sitemap-only/2.html": sitemap_only,
    **{r.path: r.handler for r in RESOURCES if not r.prefix},
    "/hostile/pushback/": pushback,
    **{path: handler for path, handler, _ in PUSHBACK},
}
PREFIX_ROUTES: dict[str, resources.Handler] = {r.path: r.handler for r in RESOURCES if r.prefix}

# Last, so that whichever of the two modules is imported first, `resources` finds ROUTES here
# already defined when it merges them.
from samplesite import resources  # noqa: E402
