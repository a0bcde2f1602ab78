"""WARC/1.1 files: warcinfo first, request/response pairs, one gzip member per record.

Files are written as ``NAME.warc.gz.open``, fsynced and renamed when complete, and rotated
once they pass the size limit, so a finished file name always means a complete file. The
writer only writes; when to fsync (checkpoints) and rotate is the journal's call (journal.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from base64 import b32encode
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archiver.collection.durable import fsync_dir
from archiver.collection.layout import OPEN_SUFFIX
from archiver.model.exchange import Exchange

WARC_VERSION = "1.1"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


class RawHead(StatusAndHeaders):
    """An HTTP head that warcio writes byte for byte.

    warcio re-serializes HTTP headers and percent-encodes any non-ASCII value; an archive must
    keep the bytes the server sent, so the captured block is kept and re-serializing is a no-op.
    """

    def __init__(self, head: bytes) -> None:
        # Only the first line: warcio's writer reads nothing of the parsed headers, so parsing
        # them for every record would be work thrown away.
        protocol, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        super().__init__(rest, [], protocol, len(head))
        self.headers_buff = head

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        pass


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
    # records that the server answered 304; the request record holds the conditional request.
    head: bytes


@dataclass(frozen=True, slots=True)
class RecordLocation:
    """Where one record landed: what the manifest and the CDXJ index point at."""

    record_id: str
    filename: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class WrittenExchange:
    response: RecordLocation
    request: RecordLocation
    payload_digest: str
    warc_date: str  # WARC-Date as written, with microseconds (WARC/1.1)
    warc_date_14: str  # the same instant as the 14-digit timestamp CDX and replay URLs use


# warcio compresses with zlib at level 9, which was the archive worker's largest cost. ISA-L
# (Intel's storage library, through python-isal) writes the same format, standard deflate in
# gzip members that every gzip reader reads, several times faster at its highest level, for
# about as many bytes as wget's zlib at level 9 (bench/README.md has the comparison).
GZIP_LEVEL = 3


def gzip_member(data: bytes | memoryview) -> bytes:
    """One whole gzip member: what each record of a .warc.gz must be (WARC 1.1 annex D.2)."""
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


def sha1_digest(*parts: bytes) -> str:
    """sha1 of the parts, in base32: the WARC digest form CDX tools and pywb expect."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + b32encode(digest.digest()).decode("ascii")


_EMPTY_DIGEST = sha1_digest(b"")  # a request's payload, mostly; base32 is slow in Python


def file_name(prefix: str, created: datetime, serial: int, host: str) -> str:
    """``PREFIX-YYYYMMDDhhmmss-SERIAL-HOST.warc.gz``, safe as a file name whatever the inputs."""
    stamp = created.strftime("%Y%m%d%H%M%S")
    return f"{_safe(prefix)}-{stamp}-{serial:05d}-{_safe(host)}.warc.gz"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "_", text).strip("._") or "x"


class WarcFileWriter:
    """Writes exchanges into rotating WARC files in one folder."""

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
        # Builds records uncompressed; _write makes each its own gzip member, in memory, and
        # writes it in one piece.
        self.builder = WARCWriter(None, gzip=False, warc_version=WARC_VERSION)
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
        payload_digest: str | None = None,
        revisit: Revisit | None = None,
    ) -> WrittenExchange:
        """Write the response (or revisit) and its request; they always land in one file."""
        out = self._ensure_open()
        when = exchange.date.astimezone(UTC).replace(tzinfo=None)
        date = datetime_to_iso_date(when, use_micros=True)
        common = {
            "WARC-Target-URI": exchange.url,
            "WARC-Date": date,
            "WARC-Warcinfo-ID": self._warcinfo_id,
        }
        response_headers = dict(common)
        if exchange.ip_address:
            response_headers["WARC-IP-Address"] = exchange.ip_address
        if revisit is not None:
            response = self._revisit_record(exchange, revisit, response_headers)
        else:
            if exchange.truncated:
                response_headers["WARC-Truncated"] = exchange.truncated
            if payload_digest:
                response_headers["WARC-Payload-Digest"] = payload_digest
            response = self._http_record(
                exchange.url,
                "response",
                exchange.response_head,
                exchange.response_body.read(),
                response_headers,
            )
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        concurrent = {**common, "WARC-Concurrent-To": response_id}
        request = self._http_record(
            exchange.url, "request", exchange.request_head, exchange.request_body, concurrent
        )
        pair_start = self._end
        response_loc = self._write(out, response)
        try:
            request_loc = self._write(out, request)
        except OSError:
            out.truncate(pair_start)  # a response without its request is not kept either
            out.seek(pair_start)  # the next record goes where this pair began, not past a gap
            self._end = pair_start
            self.bytes_written -= response_loc.length
            raise
        written = WrittenExchange(
            response=response_loc,
            request=request_loc,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            warc_date=date,
            warc_date_14=when.strftime("%Y%m%d%H%M%S"),
        )
        return written

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

    def _http_record(
        self, url: str, kind: str, head: bytes, body: bytes, headers: dict[str, str]
    ) -> ArcWarcRecord:
        # Digests computed here from the bytes at hand: warcio would read them back out of
        # the record's stream to compute the same.
        if "WARC-Payload-Digest" not in headers:
            headers["WARC-Payload-Digest"] = sha1_digest(body) if body else _EMPTY_DIGEST
        headers["WARC-Block-Digest"] = sha1_digest(head, body)
        return self.builder.create_warc_record(
            url,
            kind,
            payload=BytesIO(body),
            length=len(body),
            http_headers=RawHead(head),
            warc_headers_dict=headers,
        )

    def _revisit_record(
        self, exchange: Exchange, revisit: Revisit, headers: dict[str, str]
    ) -> ArcWarcRecord:
        headers.update(
            {
                "WARC-Profile": revisit.profile,
                "WARC-Refers-To": revisit.refers_to,
                "WARC-Refers-To-Target-URI": revisit.refers_to_uri,
                "WARC-Refers-To-Date": revisit.refers_to_date,
                "WARC-Payload-Digest": revisit.digest,
                # The block holds the HTTP head only; the payload is the referred record's.
                "WARC-Truncated": "length",
                "WARC-Block-Digest": sha1_digest(revisit.head),
            }
        )
        return self.builder.create_warc_record(
            exchange.url, "revisit", http_headers=RawHead(revisit.head), warc_headers_dict=headers
        )

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

    def _write(self, out: BinaryIO, record: ArcWarcRecord) -> RecordLocation:
        """Compress the record into memory, then write it as one piece.

        A failed write (a full disk) can then leave at most one partial member, which is cut
        off again at once: the file stays a sequence of whole records.
        """
        buffer = BytesIO()
        self.builder.out = buffer  # one writer for every record; only its target changes
        self.builder.write_record(record)
        data = memoryview(gzip_member(buffer.getbuffer()))
        offset = self._end
        try:
            written = 0
            while written < len(data):
                written += out.write(data[written:])
        except OSError:
            out.truncate(offset)  # shrinking needs no space
            out.seek(offset)
            raise
        self._end = offset + len(data)
        length = len(data)
        self.bytes_written += length
        assert self._path is not None
        return RecordLocation(
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
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
        # Unbuffered: each record goes to the file in one write (see _write).
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - lives until close()
        self._path = path
        self._end = 0
        info = self.builder.create_warcinfo_record(name, self.warcinfo)
        self._warcinfo_id = info.rec_headers.get_header("WARC-Record-ID")
        self._write(self._file, info)
        return self._file


__all__ = ["RecordLocation", "WarcFileWriter", "WrittenExchange", "file_name"]


def read_payload(path: Path, offset: int, limit: int | None = None) -> bytes:
    """The payload of the response record at *offset*, as stored (still content-encoded).

    A 304 confirms a payload stored by an earlier run; its links and text come from here,
    decoded with the same cap as any body.
    """
    with open(path, "rb") as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f)))
        return record.raw_stream.read(limit)
