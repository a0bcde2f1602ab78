"""A raw-socket HTTP server that writes exactly the bytes it chooses and logs every byte of every
exchange: the test server behind "the WARC holds the exchange as it went over the wire".

http.server cannot be used for this: it writes its own status line, Date and Server, and owns
the framing. Here each resource under /wire/ is a function that returns the head as bytes and
the body as pieces, each piece the bytes written and the entity bytes they carry (chunk
framing is written, not carried), so the log knows both what went over the wire and what the
entity was, without any parser. Per exchange the log holds the bytes read as the request
(request line to blank line, plus the body Content-Length announced) and the bytes written as
the response, with the connection's id, so keep-alive reuse shows as one id on several
exchanges. Large bodies (/wire/big/N.bin, /wire/big-chunked/N.bin) are generated as they are
written and logged by their head, length and nothing else, so neither this server nor its log
holds them.

Every page of HTML links every resource, so a crawl from /wire/ reaches them all; the large
bodies are linked from nowhere (a crawl seeds them on purpose).

``python -m samplesite.wire --port P [--log FILE]`` serves in the foreground; ``--log`` appends
one JSON line per exchange (bytes as latin-1 strings, so every byte round-trips).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import gzip
import hashlib
import html
import itertools
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

PREFIX = "/wire/"
CRLF = b"\r\n"
SERVER = b"Server: archiver-wire"
IDLE_SECONDS = 30.0  # a kept connection with no request this long is closed
LINGER_SECONDS = 5.0  # after a closing answer, how long the client may take to hang up
MAX_REQUEST_HEAD = 64 << 10
MAX_REQUEST_BODY = 1 << 20
NOT_MODIFIED_ETAG = b'"not-modified-1"'

# Large bodies: pseudo-random bytes, the same for a size every time, never all in memory.
BIG_BLOCK = 1 << 20
BIG_MAX = 1 << 40
_BIG_SPREAD = 1 << 16
_BIG_STEP = 40_503  # odd and far from a power of two: consecutive blocks start far apart
_BIG_SEED = 15

# The bytes one write puts on the wire, and the entity bytes among them (b"" for framing).
Piece = tuple[bytes | memoryview, bytes | memoryview]


# --- requests, answers, the log ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[bytes, bytes]]
    raw: bytes  # request line to blank line, and the body

    @property
    def path(self) -> str:
        target = self.target
        if "://" in target.split("?", 1)[0]:  # absolute-form
            return urlsplit(target).path or "/"
        return target.split("?", 1)[0]

    def header(self, name: bytes) -> bytes | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def wants_close(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header(b"connection") or b"").split(b",")}
        if self.version == "HTTP/1.0":
            return b"keep-alive" not in tokens
        return b"close" in tokens


@dataclass
class Answer:
    status: int  # what the log records; the status line in ``head`` is what is sent
    # status line to blank line, exactly as written (after any interim 1xx heads)
    head: bytes
    body: Iterable[Piece] = ()
    close: bool = False  # the server closes the connection after the answer
    # False for large bodies: the log keeps the head and the length only, and no digest is
    # computed (big_sha1 gives it to whoever wants it, off the server's time).
    keep: bool = True


@dataclass
class WireExchange:
    """One exchange as this server saw it: the bytes read and the bytes written."""

    connection: int  # 1, 2, ... in order of accept: one id on several exchanges is reuse
    sequence: int  # 0 for the first exchange on its connection
    client: str  # "ip:port"
    method: str
    target: str
    status: int
    received: bytes  # the request: request line to blank line, and its body
    sent: bytes  # every byte written; only the head when ``whole`` is False
    sent_length: int  # bytes written
    whole: bool  # ``sent`` holds every byte written
    entity_length: int  # the entity bytes among them (chunk framing removed)
    entity_sha1: str  # hex sha1 of those ("" when not computed: large bodies)
    closed: bool  # the server closed the connection after this answer
    error: str = ""  # the client went away before the answer was written whole
    started: float = 0.0  # time.time() when the request was read
    finished: float = 0.0  # and when the last byte was written

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def head(self) -> bytes:
        """The final response head, status line to blank line (after any interim 1xx)."""
        start = 0
        while (end := self.sent.find(b"\r\n\r\n", start)) >= 0:
            head = self.sent[start : end + 4]
            if not re.match(rb"HTTP/\d\.\d 1\d\d", head):
                return head
            start = end + 4
        return self.sent[start:]

    def to_json(self) -> str:
        data = asdict(self)
        for name in _BYTE_FIELDS:
            data[name] = data[name].decode("latin-1")
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> WireExchange:
        data = json.loads(line)
        for name in _BYTE_FIELDS:
            data[name] = data[name].encode("latin-1")
        return cls(**data)


_BYTE_FIELDS = [f.name for f in fields(WireExchange) if f.type == "bytes"]


def read_log(path: Path) -> list[WireExchange]:
    with open(path, encoding="ascii") as lines:
        return [WireExchange.from_json(line) for line in lines if line.strip()]


# --- building answers ----------------------------------------------------------------------------


def http_date() -> bytes:
    return email.utils.formatdate(usegmt=True).encode("ascii")


def head(status_line: bytes, *lines: bytes) -> bytes:
    return CRLF.join((status_line, *lines)) + CRLF + CRLF


def plain(status: int, reason: bytes, content_type: bytes, body: bytes, *extra: bytes) -> Answer:
    """A well-formed HTTP/1.1 answer with Content-Length; ``extra`` header lines at the end."""
    lines = [
        b"Date: " + http_date(),
        SERVER,
        b"Content-Type: " + content_type,
        b"Content-Length: %d" % len(body),
        *extra,
    ]
    return Answer(status, head(b"HTTP/1.1 %d %s" % (status, reason), *lines), [(body, body)])


def chunk(data: bytes, extension: bytes = b"", size: bytes | None = None) -> Piece:
    """One chunk; ``size`` overrides how its size is written (upper case, leading zeros)."""
    return (b"%s%s\r\n%s\r\n" % (size or b"%x" % len(data), extension, data), data)


def last_chunk(extension: bytes = b"", trailers: Iterable[bytes] = ()) -> Piece:
    return (b"0" + extension + CRLF + b"".join(t + CRLF for t in trailers) + CRLF, b"")


def page(title: str, text: str, extra_head: str = "", extra_body: str = "") -> bytes:
    """A page of HTML that links every resource."""
    nav = "\n".join(
        f'<li><a href="{html.escape(r.path)}">{html.escape(r.path)}</a></li>' for r in RESOURCES
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{extra_head}</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n"
        f"<ul>\n{nav}\n</ul>\n{extra_body}</body></html>\n"
    ).encode()


def filler(size: int) -> bytes:
    line = b"<p>More of this page, so that what is cut is well inside it.</p>\n"
    return (line * (size // len(line) + 1))[:size]


# --- the resources -------------------------------------------------------------------------------


def index(request: Request) -> Answer:
    items = "".join(
        f'<li><a href="{html.escape(r.path)}">{html.escape(r.path)}</a> '
        f"{html.escape(r.description)}</li>\n"
        for r in RESOURCES
    )
    body = (
        "<!DOCTYPE html>\n<html><head><title>Wire resources</title></head>\n<body>\n"
        f"<h1>Wire resources</h1>\n<ul>\n{items}</ul>\n</body></html>\n"
    ).encode()
    return plain(200, b"OK", b"text/html; charset=utf-8", body)


def odd_headers(request: Request) -> Answer:
    body = page("Odd header case and order", "Names as this server spells them, in its order.")
    lines = [
        b"X-Odd: before Date",
        b"content-TYPE: text/html; charset=utf-8",
        b'eTaG: "odd-headers-1"',
        b"Date: " + http_date(),
        b"SERVER: archiver-wire",
        b"x-ALL-lower-AND-upper: yes",
        b"content-length: %d" % len(body),
        b"X-Odd: again, after the length",
    ]
    return Answer(200, head(b"HTTP/1.1 200 OK", *lines), [(body, body)])


def reason(request: Request) -> Answer:
    body = page("An unusual reason phrase", "The status line says: 200 Fine Thanks.")
    answer = plain(200, b"Fine Thanks", b"text/html; charset=utf-8", body)
    return answer


def empty_reason(request: Request) -> Answer:
    body = page("A status with an empty reason", "The status line is '404 ' and nothing else.")
    return plain(404, b"", b"text/html; charset=utf-8", body)


def cookies(request: Request) -> Answer:
    body = page("Several Set-Cookie", "Four cookies, in four header lines.")
    return plain(
        200,
        b"OK",
        b"text/html; charset=utf-8",
        body,
        b"Set-Cookie: first=1; Path=/wire/",
        b"Set-Cookie: second=2; Path=/wire/; HttpOnly",
        b"X-Between: a header between the cookies",
        b"Set-Cookie: third=3; Path=/wire/; Max-Age=3600",
        b"set-cookie: fourth=4; Path=/wire/",
    )


def non_utf8(request: Request) -> Answer:
    body = page("Non-UTF-8 header bytes", "Header names and values with raw latin-1 bytes.")
    return plain(
        200,
        b"OK",
        b"text/html; charset=utf-8",
        body,
        b"X-Latin-1: caf\xe9 cr\xe8me br\xfbl\xe9e",
        b"X-Bytes: \xff\xfe\x80\x81 not text at all",
        b"X-Caf\xe9: the name has a raw 0xE9",
    )


def folded(request: Request) -> Answer:
    body = page("Obsolete line folding", "X-Folded goes on over three lines.")
    return plain(
        200,
        b"OK",
        b"text/html; charset=utf-8",
        body,
        b"X-Folded: first part,\r\n   second part,\r\n\tthird part",
        b"X-After: the line after the folded one",
    )


def chunked_head(*extra: bytes) -> bytes:
    lines = [b"Date: " + http_date(), SERVER, b"Content-Type: text/html; charset=utf-8"]
    return head(b"HTTP/1.1 200 OK", *lines, b"Transfer-Encoding: chunked", *extra)


def extension_chunks(body: bytes) -> list[Piece]:
    """The body in chunks whose size lines carry extensions and are written unusually."""
    first, second, rest = body[:5], body[5 : 5 + 0x1A], body[5 + 0x1A :]
    pieces = [
        chunk(first, b";name=value"),
        chunk(second, b';ext="quoted";flag', size=b"1A"),
    ]
    for start in range(0, len(rest), 0x200):
        part = rest[start : start + 0x200]
        pieces.append(chunk(part, size=b"%06x" % len(part)))
    return pieces


def chunked(request: Request) -> Answer:
    body = page("Chunked, with chunk extensions", "Sizes like 5;name=value, 1A and 000200.")
    pieces = [*extension_chunks(body), last_chunk()]
    return Answer(200, chunked_head(), pieces)


def chunked_trailers(request: Request) -> Answer:
    body = page("Chunked, with extensions and trailers", "Two trailer fields after the last chunk.")
    trailers = [b"X-Trailer-One: done", b"x-trailer-two: 42"]
    pieces = [*extension_chunks(body), last_chunk(b";last=yes", trailers)]
    return Answer(200, chunked_head(b"Trailer: X-Trailer-One, x-trailer-two"), pieces)


def gzip_chunked(request: Request) -> Answer:
    text = page("Gzip over chunked", "This page is gzip-compressed, then sent in chunks.")
    body = gzip.compress(text + filler(3000), mtime=0)
    lines = [b"Date: " + http_date(), SERVER, b"Content-Type: text/html; charset=utf-8"]
    answer_head = head(
        b"HTTP/1.1 200 OK",
        *lines,
        b"Content-Encoding: gzip",
        b"Vary: Accept-Encoding",
        b"Transfer-Encoding: chunked",
    )
    pieces = [chunk(body[start : start + 300]) for start in range(0, len(body), 300)]
    return Answer(200, answer_head, [*pieces, last_chunk()])


KEEP_ALIVE = (b"Connection: keep-alive", b"Keep-Alive: timeout=30, max=100")
REQUISITES = {
    "/wire/keep-alive/style.css": (b"text/css", b"body { font-family: serif; }\n"),
    "/wire/keep-alive/script.js": (b"application/javascript", b"document.title += ' (js)';\n"),
    # A 1x1 transparent GIF.
    "/wire/keep-alive/pixel.gif": (
        b"image/gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
        b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    ),
}


def keep_alive(request: Request) -> Answer:
    requisites = (
        '<link rel="stylesheet" href="/wire/keep-alive/style.css">'
        '<script src="/wire/keep-alive/script.js"></script>'
    )
    body = page(
        "Connection: keep-alive",
        "This page and its requisites share a connection.",
        extra_head=requisites,
        extra_body='<img src="/wire/keep-alive/pixel.gif" alt="pixel">\n',
    )
    return plain(200, b"OK", b"text/html; charset=utf-8", body, *KEEP_ALIVE)


def requisite(request: Request) -> Answer:
    content_type, body = REQUISITES[request.path]
    return plain(200, b"OK", content_type, body, *KEEP_ALIVE)


def http10(request: Request) -> Answer:
    body = page("HTTP/1.0, ended by closing", "No Content-Length: the close ends the body.")
    lines = [b"Date: " + http_date(), SERVER, b"Content-Type: text/html; charset=utf-8"]
    return Answer(200, head(b"HTTP/1.0 200 OK", *lines), [(body, body)], close=True)


CUT_AT = 1200


def cut_length(request: Request) -> Answer:
    body = page("Cut: Content-Length promises more", "Only the first 1200 bytes come.")
    body += filler(4000)
    lines = [
        b"Date: " + http_date(),
        SERVER,
        b"Content-Type: text/html; charset=utf-8",
        b"Content-Length: %d" % len(body),
    ]
    sent = body[:CUT_AT]
    return Answer(200, head(b"HTTP/1.1 200 OK", *lines), [(sent, sent)], close=True)


def cut_chunked(request: Request) -> Answer:
    body = page("Cut: a chunk ends early", "A chunk of 0x400 announced, 100 bytes of it sent.")
    body += filler(2000)
    first, partial = body[:600], body[600:700]
    pieces = [chunk(first), (b"400\r\n" + partial, partial)]
    return Answer(200, chunked_head(), pieces, close=True)


def not_modified(request: Request) -> Answer:
    condition = request.header(b"if-none-match")
    if condition is not None and _etag_matches(condition, NOT_MODIFIED_ETAG):
        lines = [b"Date: " + http_date(), SERVER, b"ETag: " + NOT_MODIFIED_ETAG]
        return Answer(304, head(b"HTTP/1.1 304 Not Modified", *lines))
    body = page("Not modified", "Asked again with If-None-Match, this answers 304.")
    return plain(
        200,
        b"OK",
        b"text/html; charset=utf-8",
        body,
        b"ETag: " + NOT_MODIFIED_ETAG,
        b"Last-Modified: Sat, 01 Jan 2000 00:00:00 GMT",
        b"Cache-Control: max-age=0",
    )


def _etag_matches(condition: bytes, etag: bytes) -> bool:
    tags = [t.strip().removeprefix(b"W/") for t in condition.split(b",")]
    return b"*" in tags or etag in tags


def robots(request: Request) -> Answer:
    text = b"User-agent: *\nDisallow: /wire/private/\n"
    return plain(200, b"OK", b"text/plain", text)


def not_found(request: Request) -> Answer:
    body = page("Not found", f"Nothing at {request.path}.")
    return plain(404, b"Not Found", b"text/html; charset=utf-8", body)


# --- large bodies --------------------------------------------------------------------------------

_big_base: bytes | None = None
_big_lock = threading.Lock()


def _big_source() -> memoryview:
    global _big_base
    with _big_lock:
        if _big_base is None:
            _big_base = random.Random(_BIG_SEED).randbytes(BIG_BLOCK + _BIG_SPREAD)
    return memoryview(_big_base)


def big_body(size: int) -> Iterator[memoryview]:
    """The ``size`` bytes of /wire/big/SIZE.bin, a block at a time.

    Each block is a window into one random buffer at a different offset: cheap to make, the
    same every time, and no repetition within gzip's 32 KiB window, so it does not compress.
    """
    source = _big_source()
    for block in itertools.count():
        left = size - block * BIG_BLOCK
        if left <= 0:
            return
        offset = block * _BIG_STEP % _BIG_SPREAD
        yield source[offset : offset + min(BIG_BLOCK, left)]


def big_sha1(size: int) -> str:
    """Hex sha1 of /wire/big/SIZE.bin's entity (the same for /wire/big-chunked/SIZE.bin)."""
    digest = hashlib.sha1()
    for block in big_body(size):
        digest.update(block)
    return digest.hexdigest()


_BIG_PATH = re.compile(r"/wire/(big|big-chunked)/(\d{1,15})\.bin")


def big(request: Request) -> Answer:
    match = _BIG_PATH.fullmatch(request.path)
    if match is None or int(match.group(2)) > BIG_MAX:
        return not_found(request)
    size = int(match.group(2))
    lines = [b"Date: " + http_date(), SERVER, b"Content-Type: application/octet-stream"]
    if match.group(1) == "big":
        answer_head = head(b"HTTP/1.1 200 OK", *lines, b"Content-Length: %d" % size)
        return Answer(200, answer_head, ((b, b) for b in big_body(size)), keep=False)
    answer_head = head(b"HTTP/1.1 200 OK", *lines, b"Transfer-Encoding: chunked")
    return Answer(200, answer_head, _big_chunks(size), keep=False)


def _big_chunks(size: int) -> Iterator[Piece]:
    # The framing and the data go out as separate writes: no copy of a block to frame it.
    for block in big_body(size):
        yield b"%x\r\n" % len(block), b""
        yield block, block
        yield CRLF, b""
    yield last_chunk()


# --- the table -----------------------------------------------------------------------------------

Handler = Callable[[Request], Answer]


def interim(request: Request) -> Answer:
    """Two interim answers before the final one: 100 Continue (RFC 9110 15.2.1: a client must
    take it even unasked) and 103 Early Hints naming a requisite (RFC 8297)."""
    body = page("Interim answers", "100 Continue and 103 Early Hints came before this page.")
    final = plain(200, b"OK", b"text/html; charset=utf-8", body)
    hints = head(
        b"HTTP/1.1 103 Early Hints", b"Link: </wire/keep-alive/style.css>; rel=preload; as=style"
    )
    final.head = head(b"HTTP/1.1 100 Continue") + hints + final.head
    return final


@dataclass(frozen=True)
class Resource:
    path: str
    handler: Handler
    description: str


RESOURCES: list[Resource] = [
    Resource(PREFIX, index, "this list"),
    Resource("/wire/odd-headers", odd_headers, "eTaG, content-TYPE, X-Odd before Date"),
    Resource("/wire/reason", reason, "HTTP/1.1 200 Fine Thanks"),
    Resource("/wire/empty-reason", empty_reason, "HTTP/1.1 404 and an empty reason"),
    Resource("/wire/cookies", cookies, "four Set-Cookie lines, one in lower case"),
    Resource("/wire/non-utf8", non_utf8, "raw 0xE9, 0xFF bytes in header names and values"),
    Resource("/wire/folded", folded, "an obsolete folded header line"),
    Resource("/wire/chunked", chunked, "chunked, with chunk extensions (5;name=value)"),
    Resource("/wire/chunked-trailers", chunked_trailers, "chunked, extensions and trailers"),
    Resource("/wire/gzip-chunked", gzip_chunked, "Content-Encoding: gzip over chunked"),
    Resource("/wire/keep-alive", keep_alive, "Connection: keep-alive, with requisites"),
    Resource("/wire/http10", http10, "HTTP/1.0, no Content-Length, ended by closing"),
    Resource("/wire/cut-length", cut_length, f"Content-Length more than the {CUT_AT} sent"),
    Resource("/wire/cut-chunked", cut_chunked, "chunked, cut in the middle of a chunk"),
    Resource("/wire/not-modified", not_modified, "304 Not Modified to If-None-Match"),
    Resource("/wire/interim", interim, "100 Continue and 103 Early Hints, then 200"),
]

ROUTES: dict[str, Handler] = {
    "/robots.txt": robots,
    **{r.path: r.handler for r in RESOURCES},
    **dict.fromkeys(REQUISITES, requisite),
}


def answer(request: Request) -> Answer:
    path = request.path
    handler = ROUTES.get(path) or (big if path.startswith(("/wire/big/", "/wire/big-")) else None)
    reply = (handler or not_found)(request)
    if request.method == "HEAD":
        reply.body = ()
    return reply


# --- the server ----------------------------------------------------------------------------------


class _Closed(Exception):
    """The connection ended (or sent something that is not a request) between requests."""


def _read_request(sock: socket.socket, buffer: bytearray) -> Request:
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_REQUEST_HEAD:
            raise _Closed("the request head does not end")
        data = sock.recv(65536)
        if not data:
            raise _Closed("closed")
        buffer += data
    raw_head = bytes(buffer[: end + 4])
    del buffer[: end + 4]
    lines = raw_head[:-4].split(CRLF)
    words = lines[0].split(b" ")
    if len(words) != 3:
        raise _Closed(f"not a request line: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    length = int(lengths[-1]) if lengths and lengths[-1].isdigit() else 0
    if length > MAX_REQUEST_BODY:
        raise _Closed("the request body is too large")
    while len(buffer) < length:
        data = sock.recv(65536)
        if not data:
            raise _Closed("closed in the request body")
        buffer += data
    body = bytes(buffer[:length])
    del buffer[:length]
    method, target, version = (w.decode("latin-1") for w in words)
    return Request(method, target, version, headers, raw_head + body)


class WireServer:
    """Serves /wire/ on 127.0.0.1 from background threads, one per connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_path = log
        self.exchanges: list[WireExchange] = []
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)
        self._busy = 0  # requests read whose exchange is not logged yet
        self._log_file: IO[str] | None = None
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._acceptor: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._connections = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = PREFIX) -> str:
        return self.base_url + path

    def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError("the wire server is already running")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        listener.settimeout(0.1)  # the accept loop looks at the stop flag this often
        self.port = listener.getsockname()[1]
        if self.log_path is not None:
            self._log_file = self.log_path.open("a", encoding="ascii")
        self._listener = listener
        self._stopping.clear()
        self._acceptor = threading.Thread(
            target=self._accept, name=f"wire:{self.port}", daemon=True
        )
        self._acceptor.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join()  # no connection is added after this
            self._acceptor = None
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        listener.close()
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> WireServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def settle(self, timeout: float = 10.0) -> list[WireExchange]:
        """Every exchange, once none is between its request and its log entry.

        An exchange is logged after its last byte is written, so a client that has read a
        response whole may look at the log a moment before it is there.
        """
        with self._quiet:
            if not self._quiet.wait_for(lambda: self._busy == 0, timeout):
                raise TimeoutError(f"{self._busy} exchanges still under way after {timeout} s")
            return list(self.exchanges)

    def _record(self, exchange: WireExchange) -> None:
        with self._quiet:
            self.exchanges.append(exchange)
            if self._log_file is not None:
                self._log_file.write(exchange.to_json() + "\n")
                self._log_file.flush()
            self._busy -= 1
            self._quiet.notify_all()

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(IDLE_SECONDS)
            with self._lock:
                self._open.add(sock)
                self._threads[:] = [t for t in self._threads if t.is_alive()]
                number = next(self._connections)
                thread = threading.Thread(
                    target=self._serve,
                    args=(sock, number, f"{address[0]}:{address[1]}"),
                    name=f"wire:{self.port}:{number}",
                    daemon=True,
                )
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int, client: str) -> None:
        buffer = bytearray()
        try:
            for sequence in itertools.count():
                try:
                    request = _read_request(sock, buffer)
                except (_Closed, OSError, ValueError):
                    return
                with self._lock:
                    self._busy += 1
                try:
                    reply = answer(request)
                except Exception as exc:  # a broken resource must not end the server quietly
                    print(f"wire: error answering {request.target!r}: {exc!r}", file=sys.stderr)
                    reply = plain(500, b"Internal Server Error", b"text/plain", b"failed\n")
                    reply.close = True
                close = reply.close or request.wants_close
                exchange = self._write(sock, request, reply, number, sequence, client, close)
                self._record(exchange)
                if close or exchange.error:
                    if not exchange.error:
                        _hang_up(sock)
                    return
        finally:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    @staticmethod
    def _write(
        sock: socket.socket,
        request: Request,
        reply: Answer,
        number: int,
        sequence: int,
        client: str,
        close: bool,
    ) -> WireExchange:
        started = time.time()
        kept = bytearray()
        entity = hashlib.sha1() if reply.keep else None
        sent_length = entity_length = 0
        error = ""
        try:
            sock.sendall(reply.head)
            kept += reply.head
            sent_length = len(reply.head)
            # Each piece its own write, so chunks leave as separate pieces of the stream.
            for raw, carried in reply.body:
                sock.sendall(raw)
                sent_length += len(raw)
                entity_length += len(carried)
                if entity is not None:
                    kept += raw
                    entity.update(carried)
        except Exception as exc:  # the client went away, mostly; logged all the same
            error = f"{type(exc).__name__}: {exc}"
        return WireExchange(
            connection=number,
            sequence=sequence,
            client=client,
            method=request.method,
            target=request.target,
            status=reply.status,
            received=request.raw,
            sent=bytes(kept),
            sent_length=sent_length,
            whole=reply.keep,
            entity_length=entity_length,
            entity_sha1=entity.hexdigest() if entity is not None else "",
            closed=close or bool(error),
            error=error,
            started=started,
            finished=time.time(),
        )


def _hang_up(sock: socket.socket) -> None:
    """Close after a closing answer without losing its end: half-close, let the client read
    to the end and hang up, then close (closing with unread input would send a reset)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER_SECONDS)
        deadline = time.monotonic() + LINGER_SECONDS
        while time.monotonic() < deadline and sock.recv(65536):
            pass


# --- python -m samplesite.wire -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samplesite.wire",
        description="Serve the /wire/ resources, logging every byte of every exchange.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8015, help="0 picks a free port")
    parser.add_argument("--log", type=Path, help="append one JSON line per exchange to this file")
    args = parser.parse_args(argv)
    server = WireServer(args.host, args.port, args.log)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    print(f"serving wire resources at {server.url()}", flush=True)
    try:
        while not stopping.wait(0.5):  # a timed wait lets signal handlers run
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
