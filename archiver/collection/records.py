"""Reading a WARC file record by record, without warcio: each gzip member on its own, its WARC
head and block, and the HTTP message in the block.

``archiver verify`` checks what it reads here, and repair finds here where a dead run's file
stops being whole; both must see a damaged member exactly where it is, which readers that
treat the file as one multi-member stream cannot (warcio check passes a cut last member).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_READ_SIZE = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_START = _GZIP_MAGIC + b"\x08"  # deflate, the only method gzip defines


# -- gzip members ------------------------------------------------------------------------


class MemberError(Exception):
    """A stretch of the file that is not a sound gzip member: from ``offset`` to ``resume``."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.resume: int | None = None  # where the next sound member starts; None: nowhere


@dataclass(slots=True)
class Member:
    offset: int
    length: int  # compressed: the bytes the member takes in the file
    data: bytes  # decompressed: one WARC record, if the file is sound


def iter_members(stream: BinaryIO, size: int) -> Iterator[Member | MemberError]:
    """Each gzip member of the file, and a MemberError for each stretch that is not one.

    One member is inflated at a time with its own zlib object (wbits=31: exactly one gzip
    member), so its compressed length is known exactly and a bad member cannot hide behind
    the next one, as it can with readers that treat the file as one multi-member stream.
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
            data, used, pending = _inflate_member(stream, pending, offset)
        except MemberError as exc:
            exc.resume = _next_member(stream, offset + 1)
            yield exc
            if exc.resume is None:
                return
            offset, pending = exc.resume, b""
            stream.seek(offset)
            continue
        yield Member(offset, used, data)
        offset += used


def _refill(stream: BinaryIO, pending: bytes, wanted: int) -> bytes:
    while len(pending) < wanted:
        more = stream.read(_READ_SIZE)
        if not more:
            break
        pending += more
    return pending


def _inflate_member(stream: BinaryIO, pending: bytes, offset: int) -> tuple[bytes, int, bytes]:
    inflater = zlib.decompressobj(wbits=31)
    parts: list[bytes] = []
    used = 0
    while True:
        try:
            parts.append(inflater.decompress(pending))
        except zlib.error as exc:
            raise MemberError(offset, f"gzip member is corrupt: {exc}") from None
        if inflater.eof:
            rest = inflater.unused_data
            return b"".join(parts), used + len(pending) - len(rest), rest
        used += len(pending)
        pending = stream.read(_READ_SIZE)
        if not pending:
            raise MemberError(
                offset, f"gzip member cut short: the file ends {used} bytes into it (truncated)"
            )


def _next_member(stream: BinaryIO, start: int) -> int | None:
    """The first offset from ``start`` where a gzip member holding a WARC record begins."""
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
        try:
            data, _, _ = _inflate_member(stream, b"", candidate)
        except MemberError:
            data = b""
        if data.startswith(b"WARC/"):
            return candidate
        position = candidate + 1


# -- one WARC record ---------------------------------------------------------------------


class RecordError(Exception):
    pass


def parse_record(data: bytes) -> tuple[dict[str, str], bytes]:
    """WARC headers (names lower-cased, first value wins) and the block of one member's record."""
    if not data.startswith(b"WARC/"):
        raise RecordError("member does not start with a WARC record (no 'WARC/' version line)")
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise RecordError("WARC headers never end (no blank line)")
    headers = _parse_fields(head.split(b"\r\n")[1:])
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        raise RecordError("WARC record has no valid Content-Length") from None
    if len(rest) < length + 4:
        raise RecordError(
            f"record block is {length + 4 - len(rest)} bytes short of Content-Length "
            f"{length} plus the closing CRLFCRLF"
        )
    if rest[length : length + 4] != b"\r\n\r\n":
        raise RecordError("record block is not followed by CRLFCRLF: Content-Length is wrong")
    if len(rest) > length + 4:
        raise RecordError(
            f"member holds {len(rest) - length - 4} bytes after its record "
            "(more than one record per member)"
        )
    return headers, rest[:length]


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


@dataclass(slots=True)
class HttpMessage:
    status: int | None
    headers: list[tuple[str, str]]  # names lower-cased, values latin-1
    payload: bytes

    def values(self, name: str) -> list[str]:
        """Comma-separated tokens of every ``name`` header, lower-cased, in order."""
        found = []
        for key, value in self.headers:
            if key == name:
                found += [t.strip().lower() for t in value.split(",") if t.strip()]
        return found

    def first(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


def parse_http(block: bytes) -> HttpMessage | None:
    """The HTTP message of an application/http block; None when it has no complete head."""
    head, sep, payload = block.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    status = None
    parts = lines[0].split(b" ", 2)
    if lines[0].startswith(b"HTTP/") and len(parts) > 1 and parts[1].isdigit():
        status = int(parts[1])
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            headers.append(
                (name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))
            )
    return HttpMessage(status, headers, payload)
