"""Reading a WARC file record by record, without warcio: each gzip member on its own, its WARC
head and block, and the HTTP head in the block.

``archiver verify`` checks what it reads here, and repair finds here where a dead run's file
stops being whole; both must see a damaged member exactly where it is, which readers that
treat the file as one multi-member stream cannot (warcio check passes a cut last member).

A record's block may hold a body of any size (a spooled 2 GiB download is one record), so
nothing here holds a member whole: a member is inflated in bounded pieces as its reader asks
for them (MemberReader), and a record's block is handed on in pieces (RecordReader.blocks).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

_READ_SIZE = 1 << 16  # compressed bytes read from the file at a time
PIECE_BYTES = 1 << 20  # decompressed bytes handed on at a time, at most
MAX_WARC_HEAD = 1 << 20  # WARC headers longer than this are not a record's
MAX_HTTP_HEAD = 256 * 1024  # an HTTP head longer than this is not a web server's
_GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_START = _GZIP_MAGIC + b"\x08"  # deflate, the only method gzip defines
_RECORD_END = b"\r\n\r\n"
# Where an HTTP head ends: a blank line, read as leniently as the crawl reads it (bare LF
# line ends included), so a head is split here where it was split when it came.
_HTTP_HEAD_END = re.compile(rb"\r?\n\r?\n")

T = TypeVar("T")


# -- gzip members ------------------------------------------------------------------------


class MemberError(Exception):
    """A stretch of the file that is not a sound gzip member: from ``offset`` to ``resume``."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.resume: int | None = None  # where the next sound member starts; None: nowhere


@dataclass(frozen=True, slots=True)
class Member:
    offset: int
    length: int  # compressed: the bytes the member takes in the file


class MemberReader:
    """The decompressed bytes of the one gzip member at ``offset``, in bounded pieces.

    One zlib object per member (wbits=31: exactly one gzip member), so its compressed length
    is known exactly and a bad member cannot hide behind the next one, as it can with readers
    that treat the file as one multi-member stream. A member that is corrupt or cut short
    raises MemberError when the reading gets there; past its end, ``read`` gives b"".
    """

    def __init__(self, stream: BinaryIO, offset: int, pending: bytes = b"") -> None:
        self._stream = stream
        self.offset = offset
        self._inflater = zlib.decompressobj(wbits=31)
        self._input = pending  # compressed bytes read from the file, not yet inflated
        self._used = 0  # compressed bytes of this member inflated so far
        self.rest = b""  # compressed bytes read past the member's end (the next member's)

    def read(self, size: int = PIECE_BYTES) -> bytes:
        """Up to ``size`` decompressed bytes; b"" at the member's end."""
        inflater = self._inflater
        while not self.at_end():
            try:
                out = inflater.decompress(self._input, size)
            except zlib.error as exc:
                raise MemberError(self.offset, f"gzip member is corrupt: {exc}") from None
            if self.at_end():
                self.rest = inflater.unused_data
                self._used += len(self._input) - len(self.rest)
                self._input = b""
            else:
                tail = inflater.unconsumed_tail
                self._used += len(self._input) - len(tail)
                self._input = tail
            if out:
                return out
            if not self._input and not self.at_end():
                self._input = self._stream.read(_READ_SIZE)
                if not self._input:
                    raise MemberError(
                        self.offset,
                        f"gzip member cut short: the file ends {self._used} bytes into it "
                        "(truncated)",
                    )
        return b""

    def at_end(self) -> bool:
        """The member's end is read (a call, not a property: each inflate may change it)."""
        return self._inflater.eof

    def read_exactly(self, size: int) -> bytes:
        """``size`` bytes, or fewer only where the member ends."""
        parts = []
        wanted = size
        while wanted > 0:
            piece = self.read(min(wanted, PIECE_BYTES))
            if not piece:
                break
            parts.append(piece)
            wanted -= len(piece)
        return b"".join(parts)

    def finish(self) -> int:
        """Inflate to the member's end (its CRC and length checked); the bytes it takes."""
        while self.read():
            pass
        return self._used


def iter_members(
    stream: BinaryIO, size: int, read: Callable[[MemberReader], T]
) -> Iterator[tuple[Member, T] | MemberError]:
    """Each gzip member of the file with what ``read`` made of it, and a MemberError for each
    stretch that is not a sound member (``read``'s result for it is dropped).

    ``read`` is handed each member's reader in turn and may read as much of it as it likes;
    the rest is inflated here, so a member counts as sound only once it is read to its end.
    After a bad stretch, reading resumes at the next member that inflates to a WARC record,
    so one damaged record does not hide the rest of the file.
    """
    offset = 0
    pending = b""
    while True:
        pending = _refill(stream, pending, 2)
        if not pending:
            return
        try:
            if pending[:2] != _GZIP_MAGIC:
                raise MemberError(offset, "these bytes are not a gzip member")
            member = MemberReader(stream, offset, pending)
            result = read(member)
            length = member.finish()
        except MemberError as exc:
            exc.resume = _next_member(stream, offset + 1)
            yield exc
            if exc.resume is None:
                return
            offset, pending = exc.resume, b""
            stream.seek(offset)
            continue
        yield Member(offset, length), result
        offset += length
        pending = member.rest


def _refill(stream: BinaryIO, pending: bytes, wanted: int) -> bytes:
    while len(pending) < wanted:
        more = stream.read(_READ_SIZE)
        if not more:
            break
        pending += more
    return pending


def _next_member(stream: BinaryIO, start: int) -> int | None:
    """The first offset from ``start`` where a sound gzip member holding a WARC record begins."""
    position = start
    while True:
        stream.seek(position)
        chunk = stream.read(_READ_SIZE)
        if len(chunk) < len(_MEMBER_START):
            return None
        found = chunk.find(_MEMBER_START)
        if found < 0:
            # The magic may straddle two chunks: step back by its length minus one.
            position += len(chunk) - len(_MEMBER_START) + 1
            continue
        candidate = position + found
        stream.seek(candidate)
        member = MemberReader(stream, candidate)
        try:
            sound = member.read_exactly(5) == b"WARC/"
            member.finish()
        except MemberError:
            sound = False
        if sound:
            return candidate
        position = candidate + 1


# -- one WARC record ---------------------------------------------------------------------


class RecordError(Exception):
    pass


class RecordReader:
    """The one WARC record of a member: its headers read at once, its block in pieces.

    ``headers`` has the names lower-cased, the first value of each. Reading the block to its
    end (``blocks``, then ``close``) checks that it is exactly Content-Length bytes, followed
    by CRLFCRLF and nothing more; RecordError says what is wrong.
    """

    def __init__(self, member: MemberReader) -> None:
        self._member = member
        data = member.read_exactly(len(b"WARC/"))
        if data != b"WARC/":
            raise RecordError("member does not start with a WARC record (no 'WARC/' version line)")
        searched = 0
        while (end := data.find(_RECORD_END, max(0, searched - 3))) < 0:
            searched = len(data)
            more = member.read()
            if not more or len(data) > MAX_WARC_HEAD:
                raise RecordError("WARC headers never end (no blank line)")
            data += more
        self.headers = _parse_fields(data[:end].split(b"\r\n")[1:])
        try:
            self.length = int(self.headers.get("content-length", ""))
        except ValueError:
            raise RecordError("WARC record has no valid Content-Length") from None
        self._pending = data[end + 4 :]  # the first bytes of the block, already read
        self._left = self.length  # block bytes not handed on yet
        self._read = 0  # bytes read after the headers: block, CRLFCRLF and any more

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "")

    def blocks(self) -> Iterator[bytes]:
        """The block, in pieces of at most PIECE_BYTES; RecordError if the member ends early."""
        while self._left > 0:
            if self._pending:
                piece, self._pending = self._pending, b""
            else:
                piece = self._member.read(min(self._left, PIECE_BYTES))
                if not piece:
                    raise self._short()
            self._read += len(piece)
            if len(piece) > self._left:
                self._pending = piece[self._left :]
                piece = piece[: self._left]
                self._read -= len(self._pending)
            self._left -= len(piece)
            yield piece

    def close(self) -> None:
        """Read the rest: the block (if not read yet), CRLFCRLF, and nothing after it."""
        for _ in self.blocks():
            pass
        end = self._pending[:4]
        self._pending = self._pending[4:]
        if len(end) < 4:
            end += self._member.read_exactly(4 - len(end))
        self._read += len(end)
        if len(end) < 4:
            raise self._short()
        if end != _RECORD_END:
            raise RecordError("record block is not followed by CRLFCRLF: Content-Length is wrong")
        extra = len(self._pending)
        while piece := self._member.read():
            extra += len(piece)
        if extra:
            raise RecordError(
                f"member holds {extra} bytes after its record (more than one record per member)"
            )

    def _short(self) -> RecordError:
        return RecordError(
            f"record block is {self.length + 4 - self._read} bytes short of Content-Length "
            f"{self.length} plus the closing CRLFCRLF"
        )


def _parse_fields(lines: list[bytes]) -> dict[str, str]:
    fields: dict[str, str] = {}
    last = ""
    for raw in lines:
        line = raw.decode("utf-8", errors="replace")
        if line[:1] in (" ", "\t") and last:  # an obsolete folded continuation line
            fields[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise RecordError(f"malformed WARC header line {line[:80]!r}")
        last = name.strip().lower()
        fields.setdefault(last, value.strip())
    return fields


# -- the HTTP message in a block ---------------------------------------------------------


@dataclass(slots=True)
class HttpHead:
    status: int | None  # None for a request, or a status line that is not one
    headers: list[tuple[str, str]]  # names lower-cased, values latin-1, folded lines joined
    length: int  # bytes of the head, its blank line included

    def values(self, name: str) -> list[str]:
        """Comma-separated tokens of every ``name`` header, lower-cased, in order."""
        found = []
        for key, value in self.headers:
            if key == name:
                found += [t.strip().lower() for t in value.split(",") if t.strip()]
        return found

    def first(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def chunked(self) -> bool:
        """The body is stored with chunk framing: chunked is the last transfer coding."""
        codings = self.values("transfer-encoding")
        return bool(codings) and codings[-1] == "chunked"


def parse_http_head(head: bytes) -> HttpHead:
    """A complete HTTP head (start line to blank line), read as leniently as the crawl reads
    it: bare LF line ends, obsolete folded lines, a status line without a reason."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n")]
    status = None
    parts = lines[0].split(None, 2)
    if lines[0].startswith(b"HTTP/") and len(parts) > 1 and parts[1].isdigit():
        status = int(parts[1])
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding (RFC 9112 5.2)
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        name_bytes, colon, value_bytes = line.partition(b":")
        if colon:
            name = name_bytes.strip().lower().decode("latin-1")
            headers.append((name, value_bytes.strip().decode("latin-1")))
    return HttpHead(status, headers, len(head))


class HttpSplitter:
    """Splits an application/http block, fed in pieces, into its head and its payload.

    ``head`` is set once the blank line has come (within MAX_HTTP_HEAD bytes); ``feed`` then
    returns the payload's pieces. A head that never ends leaves ``head`` None, and the block
    is then taken for no payload at all.
    """

    def __init__(self) -> None:
        self.head: HttpHead | None = None
        self._buffer = b""
        self._gave_up = False

    def feed(self, piece: bytes) -> list[bytes]:
        if self.head is not None:
            return [piece]
        if self._gave_up:
            return []
        start = max(0, len(self._buffer) - 3)  # the blank line may straddle two pieces
        self._buffer += piece
        match = _HTTP_HEAD_END.search(self._buffer, start)
        if match is None:
            if len(self._buffer) > MAX_HTTP_HEAD:
                self._buffer, self._gave_up = b"", True
            return []
        self.head = parse_http_head(self._buffer[: match.end()])
        payload = self._buffer[match.end() :]
        self._buffer = b""
        return [payload] if payload else []
