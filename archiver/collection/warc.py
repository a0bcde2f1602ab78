"""WARC/1.1 files: warcinfo first, then each capture's records, one gzip member per record.

Files are written as ``NAME.warc.gz.open``, fsynced and renamed when complete, and rotated
once they pass the size limit, so a finished file name always means a complete file. The
writer only writes; when to fsync (checkpoints) and rotate is the journal's call (journal.py).

A capture is its response (or revisit) record, its request record, for a 304 a metadata
record holding the 304 as received, and after interim answers (1xx) a metadata record
holding their heads (see ``WarcFileWriter.write_exchange``). A response body
may be any size and spooled on disk (archiver.model.exchange.Body): each record is
compressed into its gzip member as its bytes are read and written out as the member grows,
so no body is ever held whole; the digests come with the exchange, computed by the crawl
while the body arrived.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib
from warcio.statusandheaders import StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date

from archiver.collection.durable import fsync_dir
from archiver.collection.layout import OPEN_SUFFIX
from archiver.collection.records import HttpSplitter, MemberReader, RecordReader
from archiver.model.digests import EMPTY_DIGEST, digest_text, new_hash, sha1_digest
from archiver.model.exchange import Body, Exchange
from archiver.web.framing import ChunkDecoder, ChunkError

WARC_VERSION = "1.1"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
HTTP_RESPONSE = "application/http; msgtype=response"
HTTP_REQUEST = "application/http; msgtype=request"
# pywb's own convention for a record about a URL rather than of it: its index key can never
# be the page's, so no replay serves it in the page's place.
METADATA_SCHEME = "metadata://"


@dataclass(frozen=True, slots=True)
class Revisit:
    """Write this capture as a revisit of a stored payload instead of storing it again."""

    profile: str
    digest: str  # the stored payload's digest
    refers_to: str  # WARC-Record-ID of the stored response
    refers_to_uri: str
    refers_to_date: str
    # The HTTP head the revisit record holds: the response's own for identical payloads. For a
    # 304, the stored response with the 304's headers merged in (RFC 9111 4.3.4): what replay
    # must serve for the new date (pywb replays a revisit with its own head). The profile
    # records that the server answered 304; the metadata record after the request holds the
    # 304 as it came (write_exchange's ``not_modified_raw``).
    head: bytes


@dataclass(frozen=True, slots=True)
class RecordLocation:
    """Where one record landed: what the manifest and the CDXJ index point at."""

    record_id: str
    filename: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class WrittenExchange:
    response: RecordLocation  # the response or revisit: what the index and manifest name
    request: RecordLocation
    payload_digest: str
    warc_date: str  # WARC-Date as written, with microseconds (WARC/1.1)
    warc_date_14: str  # the same instant as the 14-digit timestamp CDX and replay URLs use
    metadata: RecordLocation | None = None  # a 304's raw answer, after the request
    interim: RecordLocation | None = None  # the 1xx heads read before the response

    @property
    def end(self) -> int:
        """Where the capture's last record ends in its file."""
        return max(r.end for r in (self.request, self.metadata, self.interim) if r is not None)


# warcio compresses with zlib at level 9, which was the archive worker's largest cost. ISA-L
# (Intel's storage library, through python-isal) writes the same format, standard deflate in
# gzip members that every gzip reader reads, several times faster at its highest level, for
# about as many bytes as wget's zlib at level 9 (bench/README.md has the comparison).
GZIP_LEVEL = 3
# Compressed bytes gathered before they go to the file: a small record is still one write,
# a large one goes out as it is compressed.
_WRITE_BYTES = 1 << 20
_READ_BYTES = 1 << 20  # of a spooled body, at a time


def _compressor() -> isal_zlib.Compress:
    return isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)


def gzip_member(data: bytes | memoryview) -> bytes:
    """One whole gzip member: what each record of a .warc.gz must be (WARC 1.1 annex D.2)."""
    compressor = _compressor()
    return compressor.compress(data) + compressor.flush()


class _MemberWriter:
    """One gzip member, compressed as the record's bytes come and written out as it grows."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._compressor = _compressor()
        self._buffer = bytearray()
        self.length = 0  # compressed bytes written to the file so far

    def write(self, data: bytes | memoryview) -> None:
        self._buffer += self._compressor.compress(data)
        if len(self._buffer) >= _WRITE_BYTES:
            self._drain()

    def finish(self) -> int:
        """The member's end written; its length in the file."""
        self._buffer += self._compressor.flush()
        self._drain()
        return self.length

    def _drain(self) -> None:
        with memoryview(self._buffer) as data:
            written = 0
            while written < len(data):
                written += self._out.write(data[written:])
        self.length += len(self._buffer)
        self._buffer.clear()


@dataclass(frozen=True, slots=True)
class _Record:
    """A record to write: its WARC fields in order (Content-Type and -Length follow them, as
    warcio writes them) and its block, which may come in pieces."""

    record_id: str
    fields: list[tuple[str, str]]
    content_type: str
    block: Iterable[bytes | memoryview]
    length: int  # of the block

    def head(self) -> bytes:
        lines = [f"WARC/{WARC_VERSION}"]
        lines += [f"{name}: {value}" for name, value in self.fields]
        lines += [f"Content-Type: {self.content_type}", f"Content-Length: {self.length}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _record_id() -> str:
    return str(StatusAndHeadersParser.make_warc_id())


def file_name(prefix: str, created: datetime, serial: int, host: str) -> str:
    """``PREFIX-YYYYMMDDhhmmss-SERIAL-HOST.warc.gz``, safe as a file name whatever the inputs."""
    stamp = created.strftime("%Y%m%d%H%M%S")
    return f"{_safe(prefix)}-{stamp}-{serial:05d}-{_safe(host)}.warc.gz"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "_", text).strip("._") or "x"


class WarcFileWriter:
    """Writes captures into rotating WARC files in one folder."""

    def __init__(
        self,
        folder: Path,
        *,
        prefix: str,
        max_size: int,
        warcinfo: Mapping[str, str],
        host: str | None = None,
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = dict(warcinfo)
        self.host = host or socket.gethostname()
        self._end = 0  # where the last whole record ends in the open file
        self.files_written: list[Path] = []
        self.bytes_written = 0
        self._serial = 0
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._warcinfo_id = ""

    def write_exchange(
        self,
        exchange: Exchange,
        *,
        revisit: Revisit | None = None,
        not_modified_raw: bool = False,
    ) -> WrittenExchange:
        """Write a capture's records, in one file, one after the other: the response (or the
        revisit), its request, with ``not_modified_raw`` (a 304 written as a revisit) a
        metadata record holding the 304 as received, and when the exchange had interim
        answers (1xx) a metadata record holding their heads: the response record is the
        final answer, which replay serves, and the two together are what the server sent.

        The response block is the head and body as transferred, its WARC-Payload-Digest the
        entity's (the body with chunk framing removed): both digests come with the exchange,
        and are computed here, reading the body once more, only when it has none. If any
        write fails, the file is cut back to where the capture began, so it holds whole
        captures only and the next one goes where this one would have.
        """
        out = self._ensure_open()
        when = exchange.date.astimezone(UTC).replace(tzinfo=None)
        date = datetime_to_iso_date(when, use_micros=True)
        common = [
            ("WARC-Target-URI", exchange.url),
            ("WARC-Date", date),
            ("WARC-Warcinfo-ID", self._warcinfo_id),
        ]
        address = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
        if revisit is not None:
            response = self._revisit_record(revisit, [*common, *address])
            payload_digest = revisit.digest
        else:
            response, payload_digest = self._response_record(exchange, [*common, *address])
        records = [response, self._request_record(exchange, common, response.record_id)]
        if not_modified_raw:
            head, body = exchange.response_head, exchange.response_body
            digest = exchange.block_digest or _block_digest(head, body)
            fields = self._metadata_fields(exchange, date, address, response.record_id)
            if exchange.truncated:
                fields.append(("WARC-Truncated", exchange.truncated))
            records.append(_metadata_record(fields, head, body, digest))
        if exchange.interim_heads:
            interim = exchange.interim_heads
            fields = self._metadata_fields(exchange, date, address, response.record_id)
            records.append(_metadata_record(fields, interim, Body(), sha1_digest(interim)))
        start = self._end
        try:
            locations = [self._write(out, record) for record in records]
        except BaseException:
            # Whatever failed (a full disk, a spool file gone, a bug), no part of the capture
            # stays: a revisit without its request, or a 304 without its record, is not kept.
            out.truncate(start)  # shrinking needs no space
            out.seek(start)  # the next record goes where this capture began, not past a gap
            self._end = start
            raise
        self.bytes_written += self._end - start
        return WrittenExchange(
            response=locations[0],
            request=locations[1],
            payload_digest=payload_digest,
            warc_date=date,
            warc_date_14=when.strftime("%Y%m%d%H%M%S"),
            metadata=locations[2] if not_modified_raw else None,
            interim=locations[-1] if exchange.interim_heads else None,
        )

    @property
    def is_open(self) -> bool:
        return self._file is not None

    @property
    def full(self) -> bool:
        """Past the size limit: the journal closes the file before the next write."""
        return self._file is not None and self._end >= self.max_size

    @property
    def open_name(self) -> str | None:
        """The final name (without .open) of the file being written, if any."""
        return self._path.name.removesuffix(OPEN_SUFFIX) if self._path is not None else None

    def sync(self) -> int:
        """fsync the open file; the offset up to which it is now durable."""
        assert self._file is not None
        os.fsync(self._file.fileno())
        return self._end

    def open(self) -> None:
        """Start the next file (its warcinfo record first) if none is open."""
        self._ensure_open()

    # -- the records -------------------------------------------------------------------------

    def _response_record(
        self, exchange: Exchange, fields: list[tuple[str, str]]
    ) -> tuple[_Record, str]:
        head, body = exchange.response_head, exchange.response_body
        payload_digest, block_digest = exchange.payload_digest, exchange.block_digest
        if not payload_digest:
            payload_digest = _entity_digest(body, exchange.chunked)
        if not block_digest:
            block_digest = _block_digest(head, body)
        if exchange.truncated:
            fields.append(("WARC-Truncated", exchange.truncated))
        fields += [
            ("WARC-Payload-Digest", payload_digest),
            ("WARC-Block-Digest", block_digest),
            ("WARC-Type", "response"),
        ]
        return _http_record(fields, HTTP_RESPONSE, head, body), payload_digest

    def _request_record(
        self, exchange: Exchange, common: list[tuple[str, str]], response_id: str
    ) -> _Record:
        head, body = exchange.request_head, exchange.request_body
        fields = [
            *common,
            ("WARC-Concurrent-To", response_id),
            ("WARC-Payload-Digest", sha1_digest(body) if body else EMPTY_DIGEST),
            ("WARC-Block-Digest", sha1_digest(head, body)),
            ("WARC-Type", "request"),
        ]
        return _http_record(fields, HTTP_REQUEST, head, Body.of(body))

    def _revisit_record(self, revisit: Revisit, fields: list[tuple[str, str]]) -> _Record:
        fields += [
            ("WARC-Profile", revisit.profile),
            ("WARC-Refers-To", revisit.refers_to),
            ("WARC-Refers-To-Target-URI", revisit.refers_to_uri),
            ("WARC-Refers-To-Date", revisit.refers_to_date),
            ("WARC-Payload-Digest", revisit.digest),
            # The block holds the HTTP head only; the payload is the referred record's.
            ("WARC-Truncated", "length"),
            ("WARC-Block-Digest", sha1_digest(revisit.head)),
            ("WARC-Type", "revisit"),
        ]
        return _http_record(fields, HTTP_RESPONSE, revisit.head, Body())

    def _metadata_fields(
        self, exchange: Exchange, date: str, address: list[tuple[str, str]], about_id: str
    ) -> list[tuple[str, str]]:
        """The fields of a metadata record about the capture ``about_id``."""
        _scheme, sep, rest = exchange.url.partition("://")
        return [
            ("WARC-Target-URI", METADATA_SCHEME + (rest if sep else exchange.url)),
            ("WARC-Date", date),
            ("WARC-Warcinfo-ID", self._warcinfo_id),
            *address,
            ("WARC-Concurrent-To", about_id),
            ("WARC-Refers-To", about_id),
            ("WARC-Refers-To-Target-URI", exchange.url),
        ]

    # -- the file ----------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the current file: flush, fsync, rename away ``.open``, fsync the folder."""
        if self._file is None or self._path is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self._path.with_name(self._path.name.removesuffix(OPEN_SUFFIX))
        os.replace(self._path, final)
        fsync_dir(self.folder)
        self.files_written.append(final)
        self._file = None
        self._path = None

    def abandon(self) -> None:
        """Stop writing without finishing: the file keeps its .open name for repair."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._path = None

    def _write(self, out: BinaryIO, record: _Record) -> RecordLocation:
        """Write one record as one gzip member, compressed piece by piece as it is written.

        The caller cuts the file back if this fails: a failed write (a full disk) must not
        leave a partial member behind.
        """
        offset = self._end
        member = _MemberWriter(out)
        member.write(record.head())
        for piece in record.block:
            member.write(piece)
        member.write(b"\r\n\r\n")
        length = member.finish()
        self._end = offset + length
        assert self._path is not None
        return RecordLocation(
            record_id=record.record_id,
            filename=self._path.name.removesuffix(OPEN_SUFFIX),
            offset=offset,
            length=length,
        )

    def _ensure_open(self) -> BinaryIO:
        if self._file is not None:
            return self._file
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            name = file_name(self.prefix, datetime.now(UTC), self._serial, self.host)
            self._serial += 1
            path = self.folder / (name + OPEN_SUFFIX)
            if not path.exists() and not (self.folder / name).exists():
                break
        # Unbuffered: the writer gathers each member's bytes itself (_MemberWriter).
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - lives until close()
        self._path = path
        self._end = 0
        info = _warcinfo_record(name, self.warcinfo)
        self._warcinfo_id = info.record_id
        try:
            self._write(self._file, info)
        except BaseException:
            self._file.truncate(0)
            self._file.seek(0)
            raise
        self.bytes_written += self._end
        return self._file


def _http_record(
    fields: list[tuple[str, str]], content_type: str, head: bytes, body: Body
) -> _Record:
    block = _block(head, body)
    return _Record(_record_id_of(fields), fields, content_type, block, len(head) + body.length)


def _block(head: bytes, body: Body) -> Iterator[bytes | memoryview]:
    yield head
    yield from body.chunks(_READ_BYTES)


def _metadata_record(
    fields: list[tuple[str, str]], head: bytes, body: Body, block_digest: str
) -> _Record:
    """Bytes the server sent that replay must not serve: a 304 exactly as received (the
    revisit written for it is what replay serves), or the interim answers (1xx) read before
    the response. ``fields`` (_metadata_fields) name the capture they are about."""
    fields += [("WARC-Block-Digest", block_digest), ("WARC-Type", "metadata")]
    return _http_record(fields, HTTP_RESPONSE, head, body)


def _warcinfo_record(filename: str, info: Mapping[str, str]) -> _Record:
    """What warcio's create_warcinfo_record makes: one ``name: value`` line per set field."""
    block = "".join(f"{name}: {value}\r\n" for name, value in info.items() if value)
    data = block.encode("utf-8")
    now = datetime.now(UTC).replace(tzinfo=None)
    fields = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Filename", filename),
        ("WARC-Date", datetime_to_iso_date(now, use_micros=True)),
        ("WARC-Block-Digest", sha1_digest(data)),
    ]
    return _Record(_record_id_of(fields), fields, "application/warc-fields", [data], len(data))


def _record_id_of(fields: list[tuple[str, str]]) -> str:
    """Each record gets its id here, placed after WARC-Type as warcio places it."""
    for position, (name, _) in enumerate(fields):
        if name == "WARC-Type":
            record_id = _record_id()
            fields.insert(position + 1, ("WARC-Record-ID", record_id))
            return record_id
    raise ValueError("a record needs a WARC-Type")


def _block_digest(head: bytes, body: Body) -> str:
    hash_ = new_hash()
    hash_.update(head)
    for piece in body.chunks(_READ_BYTES):
        hash_.update(piece)
    return digest_text(hash_)


def _entity_digest(body: Body, chunked: bool) -> str:
    """The payload digest of a body as transferred: over its entity, chunk framing removed.
    A body that is not the chunk framing it claims is digested as it is."""
    if body.length == 0:
        return EMPTY_DIGEST
    hash_ = new_hash()
    if chunked:
        decoder = ChunkDecoder()
        try:
            for piece in body.chunks(_READ_BYTES):
                for part in decoder.feed(piece):
                    hash_.update(part)
            return digest_text(hash_)
        except ChunkError:
            hash_ = new_hash()
    for piece in body.chunks(_READ_BYTES):
        hash_.update(piece)
    return digest_text(hash_)


__all__ = [
    "PROFILE_IDENTICAL",
    "PROFILE_NOT_MODIFIED",
    "RecordLocation",
    "Revisit",
    "WarcFileWriter",
    "WrittenExchange",
    "file_name",
    "gzip_member",
    "read_payload",
]


def read_payload(path: Path, offset: int, limit: int) -> bytes:
    """The start of the entity of the response record at ``offset``: at most ``limit`` bytes
    of its payload, chunk framing removed, still content-encoded.

    A 304 confirms a payload stored by an earlier run; its links and text come from here,
    with the same cap as any body, so a stored body of any size is never read whole.
    Raises MemberError or RecordError (archiver.collection.records) if the record is damaged.
    """
    parts: list[bytes] = []
    wanted = limit
    with open(path, "rb") as stream:
        stream.seek(offset)
        record = RecordReader(MemberReader(stream, offset))
        http = HttpSplitter()
        decoder: ChunkDecoder | None = None
        for piece in record.blocks():
            for payload in http.feed(piece):
                if decoder is None and http.head is not None and http.head.chunked:
                    decoder = ChunkDecoder()
                try:
                    entity = decoder.feed(payload) if decoder is not None else [payload]
                except ChunkError:
                    return b"".join(parts)  # what de-chunked before the framing broke
                for part in entity:
                    parts.append(bytes(part[:wanted]))
                    wanted -= len(parts[-1])
                    if wanted <= 0:
                        return b"".join(parts)
    return b"".join(parts)
