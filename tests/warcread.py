"""A WARC reader for tests, independent of warcio and of archiver's own readers: zlib over
each gzip member, split by hand.

The tests check files archiver wrote, so they read them with code that shares nothing with
the writer or with the readers it is checked against.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from base64 import b32encode
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# An HTTP head ends at its first blank line; servers may end lines with a bare LF.
_HEAD_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Record:
    path: Path
    offset: int
    length: int  # of the gzip member
    version: str
    headers: list[tuple[str, str]]
    block: bytes

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def type(self) -> str:
        return self.get("WARC-Type") or ""

    @property
    def http_head(self) -> bytes:
        end = _HEAD_END.search(self.block)
        assert end, f"no end of HTTP head in {self.type} record at {self.offset}"
        return self.block[: end.end()]

    @property
    def payload(self) -> bytes:
        """The HTTP body as stored: chunk framing included when it was transferred chunked."""
        return self.block[len(self.http_head) :]

    @property
    def entity(self) -> bytes:
        """The payload with chunk framing removed: what WARC-Payload-Digest covers, and what
        replay serves. The payload itself when the body is not stored chunked."""
        return dechunk(self.payload) if self.chunked else self.payload

    @property
    def chunked(self) -> bool:
        """The stored body keeps chunk framing: chunked is its last transfer coding."""
        codings = [
            token.strip().lower()
            for name, value in self.http_headers()
            if name.strip().lower() == b"transfer-encoding"
            for token in value.split(b",")
            if token.strip()
        ]
        return bool(codings) and codings[-1] == b"chunked"

    def http_headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.http_head.rstrip(b"\r\n").split(b"\n")[1:]
        pairs = []
        for line in lines:
            name, _, value = line.removesuffix(b"\r").partition(b":")
            pairs.append((name, value.strip()))
        return pairs

    @property
    def http_first_line(self) -> bytes:
        return self.http_head.split(b"\n", 1)[0].removesuffix(b"\r")


def dechunk(body: bytes) -> bytes:
    """The data of a chunked body: chunk extensions and trailers dropped, bare LF line ends
    read; a body cut inside a chunk gives the data up to the cut."""
    entity = bytearray()
    pos = 0
    while pos < len(body):
        eol = body.find(b"\n", pos)
        assert eol >= 0, f"chunk size line never ends at {pos}"
        size = int(body[pos:eol].split(b";", 1)[0].strip(), 16)
        pos = eol + 1
        if size == 0:
            break  # the trailer section follows: not data
        entity += body[pos : pos + size]
        pos += size
        if pos < len(body):
            end = b"\r\n" if body.startswith(b"\r\n", pos) else b"\n"
            assert body.startswith(end, pos), f"chunk data is not followed by a line end at {pos}"
            pos += len(end)
    return bytes(entity)


def read_member(path: Path, offset: int) -> tuple[bytes, int]:
    """Decompress the one gzip member at *offset*; return its bytes and its compressed length."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(data)
    assert inflater.eof, f"gzip member at {offset} in {path.name} is incomplete"
    return out, len(data) - len(inflater.unused_data)


def parse_record(path: Path, offset: int, raw: bytes, length: int) -> Record:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of WARC headers at {offset}"
    lines = head.decode("utf-8").split("\r\n")
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
    record = Record(path, offset, length, lines[0], headers, b"")  # type: ignore[arg-type]
    size = int(record.get("Content-Length") or -1)
    assert rest[size:] == b"\r\n\r\n", f"record at {offset}: no CRLFCRLF after its block"
    record.block = rest[:size]
    return record


def iter_records(path: Path) -> Iterator[Record]:
    total = path.stat().st_size
    offset = 0
    while offset < total:
        raw, length = read_member(path, offset)
        yield parse_record(path, offset, raw, length)
        offset += length


def captures_by_url(collection: Path) -> Counter[str]:
    """Response and revisit records per URL, over every finished WARC file of a collection."""
    return Counter(
        record.get("WARC-Target-URI")
        for path in sorted((collection / "warcs").glob("*.warc.gz"))
        for record in iter_records(path)
        if record.type in ("response", "revisit")
    )


def record_at(path: Path, offset: int) -> Record:
    raw, length = read_member(path, offset)
    return parse_record(path, offset, raw, length)


def sha1_b32(data: bytes, *, raw: bool = False) -> str:
    """``sha1:BASE32`` of *data*, or of a sha1 digest already made (``raw``)."""
    digest = data if raw else hashlib.sha1(data).digest()
    return "sha1:" + b32encode(digest).decode("ascii")
