"""Framing HTTP/1.x responses byte for byte: where a response's head ends, how its body is
delimited (RFC 9112 6.3), and where the message ends, with every byte accounted for.

The archive keeps the bytes as they came, so the parser never rewrites them: it only says how
many of the bytes read belong to this response, which of them are the head, and what the
entity is (the body with chunk framing removed, still content-encoded) for the payload digest
and for reading. It is sans-IO: the download handler (archiver.crawl.wire) feeds it what the
connection gives, in any pieces.

Old and hostile servers are read leniently, as browsers read them: bare LF line ends, obsolete
folded header lines, a missing reason phrase, spaces around chunk sizes. What cannot be framed
at all (no status line, a head that never ends, a chunk size that is not a number) is a
FramingError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from archiver.web.heads import split_head

MAX_HEAD_BYTES = 256 * 1024  # a head longer than this is not a web server's
MAX_LINE_BYTES = 16 * 1024  # a chunk-size or trailer line longer than this is not one
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d)[ \t]+(\d{3})(?:[ \t]+(.*?))?[ \t]*\Z", re.DOTALL)
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;.*)?\r?\Z", re.DOTALL)


class FramingError(ValueError):
    """These bytes are not an HTTP/1.x response that can be framed; ``str()`` says why."""


class Delimiting(Enum):
    """How the body's end is known (RFC 9112 6.3)."""

    NONE = "none"  # no body: 1xx, 204, 304, or an answer to HEAD
    LENGTH = "length"  # Content-Length bytes
    CHUNKED = "chunked"  # Transfer-Encoding: chunked, up to the last chunk and its trailers
    CLOSE = "close"  # until the server closes the connection


@dataclass(frozen=True, slots=True)
class ResponseHead:
    raw: bytes  # the status line and header lines as read, the blank line included
    version: tuple[int, int]
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # in order, as sent (folded lines joined by a space)
    delimiting: Delimiting
    length: int | None  # Content-Length, when that delimits the body
    keep_alive: bool  # the connection may carry another exchange after this one

    def values(self, name: bytes) -> list[bytes]:
        """Every value of the header ``name`` (lower case), in order."""
        return [value for key, value in self.headers if key.lower() == name]


@dataclass(slots=True)
class Piece:
    """What one ``feed`` found of this response in the bytes given it."""

    head: ResponseHead | None = None  # set once, by the feed that completes the head
    raw_body: bytes = b""  # body bytes as transferred (chunk framing included)
    entity: list[bytes] = field(default_factory=list)  # the same, chunk framing removed
    done: bool = False  # the message is complete
    cut: bool = False  # the body reached the framer's max_body before its end
    rest: bytes = b""  # bytes after the end of the message (or the cut): not kept


def parse_head(raw: bytes, *, method: bytes = b"GET") -> ResponseHead:
    """Parse a complete head (status line to blank line)."""
    first, headers = split_head(raw)
    match = _STATUS_LINE.fullmatch(first)
    if match is None:
        raise FramingError(f"not an HTTP/1.x status line: {first[:80]!r}")
    major, minor, code, reason = match.groups()
    version = (int(major), int(minor))
    status = int(code)
    delimiting, length = _delimiting(status, headers, method)
    return ResponseHead(
        raw=raw,
        version=version,
        status=status,
        reason=reason or b"",
        headers=headers,
        delimiting=delimiting,
        length=length,
        keep_alive=_keep_alive(version, headers, delimiting),
    )


def _delimiting(
    status: int, headers: list[tuple[bytes, bytes]], method: bytes
) -> tuple[Delimiting, int | None]:
    if method == b"HEAD" or 100 <= status < 200 or status in (204, 304):
        return Delimiting.NONE, None
    codings = [
        token.strip().lower()
        for key, value in headers
        if key.lower() == b"transfer-encoding"
        for token in value.split(b",")
        if token.strip()
    ]
    if codings:
        # Chunked last: chunked. Any other transfer coding: the body runs to the close.
        return (Delimiting.CHUNKED if codings[-1] == b"chunked" else Delimiting.CLOSE), None
    lengths = {value.strip() for key, value in headers if key.lower() == b"content-length"}
    if not lengths:
        return Delimiting.CLOSE, None
    if len(lengths) > 1 or not next(iter(lengths)).isdigit():
        raise FramingError(f"Content-Length is not one number: {sorted(lengths)!r}")
    return Delimiting.LENGTH, int(next(iter(lengths)))


def _keep_alive(
    version: tuple[int, int], headers: list[tuple[bytes, bytes]], delimiting: Delimiting
) -> bool:
    if delimiting is Delimiting.CLOSE:
        return False
    tokens = {
        token.strip().lower()
        for key, value in headers
        if key.lower() == b"connection"
        for token in value.split(b",")
    }
    if version >= (1, 1):
        return b"close" not in tokens
    return b"keep-alive" in tokens  # HTTP/1.0 keeps a connection only when it says so


class ResponseFramer:
    """One response read from a connection: ``feed`` it bytes until a Piece says ``done``
    (or the connection closes: ``close``)."""

    def __init__(self, *, method: bytes = b"GET", max_body: int = 0) -> None:
        self.method = method
        self.max_body = max_body  # raw body bytes taken at most; 0: no limit
        self.head: ResponseHead | None = None
        self.done = False
        self.body_bytes = 0  # raw body bytes so far
        self._head_buffer = bytearray()
        self.interim: list[bytes] = []  # 1xx heads read before the final one
        self._chunks = ChunkDecoder()  # a chunked body's framing

    def feed(self, data: bytes) -> Piece:
        piece = Piece()
        if self.done:
            piece.rest = data
            return piece
        if self.head is None:
            head, data = self._feed_head(data)
            if head is None:
                return piece
            self.head = piece.head = head
            if head.delimiting is Delimiting.NONE or head.length == 0:
                self.done = True
                piece.done, piece.rest = True, data
                return piece
        if data:
            self._feed_body(data, piece)
        return piece

    def close(self) -> bool:
        """The connection closed: True if that ends the message properly (a body delimited by
        the close), False if the message was cut."""
        if self.done:
            return True
        if self.head is not None and self.head.delimiting is Delimiting.CLOSE:
            self.done = True
            return True
        return False

    # -- the head ------------------------------------------------------------------------

    def _feed_head(self, data: bytes) -> tuple[ResponseHead | None, bytes]:
        """Take head bytes: the head, once it is whole, and the bytes after its end."""
        while True:
            start = max(0, len(self._head_buffer) - 3)  # the end may straddle two feeds
            self._head_buffer += data
            data = b""
            end = _HEAD_END.search(self._head_buffer, start)
            if end is None:
                if len(self._head_buffer) > MAX_HEAD_BYTES:
                    raise FramingError(f"the head did not end within {MAX_HEAD_BYTES} bytes")
                return None, b""
            raw = bytes(self._head_buffer[: end.end()])
            rest = bytes(self._head_buffer[end.end() :])
            self._head_buffer.clear()
            head = parse_head(raw, method=self.method)
            if 100 <= head.status < 200:
                # An interim answer (100 Continue, 103 Early Hints): the final one follows.
                self.interim.append(raw)
                data = rest
                continue
            return head, rest

    # -- the body ------------------------------------------------------------------------

    def _feed_body(self, data: bytes, piece: Piece) -> None:
        head = self.head
        assert head is not None
        over = b""
        if self.max_body:
            allowed = self.max_body - self.body_bytes
            data, over = data[:allowed], data[allowed:]
        if head.delimiting is Delimiting.LENGTH:
            assert head.length is not None
            take = head.length - self.body_bytes
            body, rest = data[:take], data[take:]
            self.body_bytes += len(body)
            piece.raw_body = body
            piece.entity.append(body)
            if self.body_bytes == head.length:
                self.done = piece.done = True
                piece.rest = rest
        elif head.delimiting is Delimiting.CLOSE:
            self.body_bytes += len(data)
            piece.raw_body = data
            piece.entity.append(data)
        else:
            piece.entity.extend(bytes(part) for part in self._chunks.feed(data))
            used = len(data) - self._chunks.extra
            piece.raw_body = data[:used]
            self.body_bytes += used
            if self._chunks.done:
                self.done = piece.done = True
                piece.rest = data[used:]
        if over and not piece.done:
            piece.cut = True  # the body goes on past max_body: what came up to it is kept
            piece.rest = over


class ChunkError(FramingError):
    """These bytes are not chunk framing; ``str()`` says why."""


class _Chunk(Enum):
    SIZE = 1  # reading a chunk-size line
    DATA = 2  # reading chunk data
    DATA_END = 3  # reading the line end after chunk data
    TRAILER = 4  # after the last chunk: trailer lines, up to the blank one
    DONE = 5  # the blank line after the trailers is read


class ChunkDecoder:
    """Feed it the stored body in any pieces; it returns the entity's bytes as they come."""

    def __init__(self) -> None:
        self._state = _Chunk.SIZE
        self._line = bytearray()  # a size or trailer line being read
        self._left = 0  # data bytes of the current chunk still to come
        self.extra = 0  # bytes after the end of the chunked body

    @property
    def done(self) -> bool:
        """The last chunk and the trailer section's blank line are read."""
        return self._state is _Chunk.DONE

    @property
    def after_last_chunk(self) -> bool:
        """The last chunk is read and nothing is left half-read: the body is whole, or ends
        where the blank line after the trailers should be (as some servers send it)."""
        return self.done or (self._state is _Chunk.TRAILER and not self._line)

    def feed(self, data: bytes | memoryview) -> list[memoryview]:
        """The entity bytes in ``data`` (views into it); ChunkError if it is not framing."""
        raw = data if isinstance(data, bytes) else bytes(data)
        view = memoryview(raw)
        entity: list[memoryview] = []
        position, size = 0, len(view)
        while position < size:
            if self._state is _Chunk.DONE:
                self.extra += size - position
                break
            if self._state is _Chunk.DATA:
                take = min(self._left, size - position)
                entity.append(view[position : position + take])
                position += take
                self._left -= take
                if self._left == 0:
                    self._state = _Chunk.DATA_END
                continue
            newline = raw.find(b"\n", position)
            if newline < 0:
                self._line += view[position:]
                if len(self._line) > MAX_LINE_BYTES:
                    raise ChunkError("a chunk-size or trailer line does not end")
                break
            self._line += view[position:newline]
            position = newline + 1
            line = bytes(self._line)
            self._line.clear()
            self._end_of_line(line)
        return entity

    def _end_of_line(self, line: bytes) -> None:
        if self._state is _Chunk.SIZE:
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise ChunkError(f"not a chunk size: {line[:40]!r}")
            self._left = int(match.group(1), 16)
            self._state = _Chunk.DATA if self._left else _Chunk.TRAILER
        elif self._state is _Chunk.DATA_END:
            if line.strip():
                raise ChunkError("chunk data is not followed by a line end")
            self._state = _Chunk.SIZE
        elif not line.removesuffix(b"\r"):  # the blank line after the trailers
            self._state = _Chunk.DONE


def dechunk(body: bytes) -> bytes | None:
    """The entity of a whole chunked body; None if ``body`` is not one."""
    decoder = ChunkDecoder()
    try:
        entity = b"".join(decoder.feed(body))
    except ChunkError:
        return None
    return entity if decoder.after_last_chunk and not decoder.extra else None
