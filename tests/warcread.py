"""A WARC reader for tests, independent of warcio: zlib over each gzip member, split by hand.

The tests check files warcio wrote, so they read them with code that shares nothing with it.
"""

from __future__ import annotations

import hashlib
import zlib
from base64 import b32encode
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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
        head, sep, _ = self.block.partition(b"\r\n\r\n")
        assert sep, f"no end of HTTP head in {self.type} record at {self.offset}"
        return head + sep

    @property
    def payload(self) -> bytes:
        return self.block[len(self.http_head) :]

    def http_headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.http_head[:-4].split(b"\r\n")[1:]
        pairs = []
        for line in lines:
            name, _, value = line.partition(b":")
            pairs.append((name, value.strip()))
        return pairs

    @property
    def http_first_line(self) -> bytes:
        return self.http_head.split(b"\r\n", 1)[0]


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
