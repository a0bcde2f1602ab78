"""A stored chunked body read back as its entity: ``Transfer-Encoding: chunked`` undone as the
bytes come, in bounded pieces (RFC 9112 7.1).

A response record keeps its body as transferred, chunk framing included, while its payload
digest is over the entity (the chunks' data joined). Reading the payload back for text
(warc.read_payload) and checking that digest (archiver verify) both de-chunk what is stored,
a spooled body of any size included, so neither may hold the body whole.

It reads as leniently as the crawl framed the body when it came (archiver.web.framing, which
this room may not import): bare LF line ends, spaces around a chunk size, chunk extensions,
trailers. So the entity read here is the one the crawl digested.
"""

from __future__ import annotations

import re
from enum import Enum

MAX_LINE_BYTES = 16 * 1024  # a chunk-size or trailer line longer than this is not one
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;.*)?\r?\Z", re.DOTALL)


class ChunkError(ValueError):
    """These bytes are not chunk framing; ``str()`` says why."""


class _State(Enum):
    SIZE = 1  # reading a chunk-size line
    DATA = 2  # reading chunk data
    DATA_END = 3  # reading the line end after chunk data
    TRAILER = 4  # after the last chunk: trailer lines, up to the blank one
    DONE = 5  # the blank line after the trailers is read


class ChunkDecoder:
    """Feed it the stored body in any pieces; it returns the entity's bytes as they come."""

    def __init__(self) -> None:
        self._state = _State.SIZE
        self._line = bytearray()  # a size or trailer line being read
        self._left = 0  # data bytes of the current chunk still to come
        self.extra = 0  # bytes after the end of the chunked body

    @property
    def done(self) -> bool:
        """The last chunk and the trailer section's blank line are read."""
        return self._state is _State.DONE

    @property
    def after_last_chunk(self) -> bool:
        """The last chunk is read and nothing is left half-read: the body is whole, or ends
        where the blank line after the trailers should be (as some servers send it)."""
        return self.done or (self._state is _State.TRAILER and not self._line)

    def feed(self, data: bytes | memoryview) -> list[memoryview]:
        """The entity bytes in ``data`` (views into it); ChunkError if it is not framing."""
        raw = data if isinstance(data, bytes) else bytes(data)
        view = memoryview(raw)
        entity: list[memoryview] = []
        position, size = 0, len(view)
        while position < size:
            if self._state is _State.DONE:
                self.extra += size - position
                break
            if self._state is _State.DATA:
                take = min(self._left, size - position)
                entity.append(view[position : position + take])
                position += take
                self._left -= take
                if self._left == 0:
                    self._state = _State.DATA_END
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
        if self._state is _State.SIZE:
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise ChunkError(f"not a chunk size: {line[:40]!r}")
            self._left = int(match.group(1), 16)
            self._state = _State.DATA if self._left else _State.TRAILER
        elif self._state is _State.DATA_END:
            if line.strip():
                raise ChunkError("chunk data is not followed by a line end")
            self._state = _State.SIZE
        elif not line.removesuffix(b"\r"):  # the blank line after the trailers
            self._state = _State.DONE


def dechunk(body: bytes) -> bytes | None:
    """The entity of a whole chunked body; None if ``body`` is not one."""
    decoder = ChunkDecoder()
    try:
        entity = b"".join(decoder.feed(body))
    except ChunkError:
        return None
    return entity if decoder.after_last_chunk and not decoder.extra else None
