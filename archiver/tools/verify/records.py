"""Checking records: digests, pairing, and bodies against their headers.

Records are read by archiver.collection.records one piece of a block at a time, and every
check here takes the pieces as they come (digests, de-chunking, content decoding), so a
record of any size is checked in bounded memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.collection.records import (
    HttpHead,
    HttpSplitter,
    Member,
    MemberError,
    MemberReader,
    RecordError,
    RecordReader,
    iter_members,
)
from archiver.tools.verify.report import DIGEST, ENCODING, GZIP, RECORD, FileReport, Problem
from archiver.web.framing import ChunkDecoder, ChunkError

_INFLATE_STEP = 1 << 20  # bound what one decode step of a content-encoded body may produce
_CAPTURES = ("response", "revisit")
_MANDATORY = ("warc-record-id", "warc-type", "warc-date", "content-length")
_TRUNCATED_REASONS = ("length", "time", "disconnect", "unspecified")  # WARC/1.1 5.13


@dataclass(slots=True)
class _Rec:
    """What later checks need of one record; the record itself is gone by then."""

    type: str
    uri: str
    date: str
    file: str  # name in warcs/
    offset: int
    length: int
    digest: str | None = None  # WARC-Payload-Digest as written
    # request: WARC-Concurrent-To; revisit and metadata: WARC-Refers-To
    link: str | None = None
    link_uri: str | None = None  # revisit and metadata: WARC-Refers-To-Target-URI
    profile: str | None = None  # revisit: WARC-Profile
    status: int | None = None  # HTTP status from the record's own head
    location: str | None = None  # Location of a 3xx
    body_sha: bytes | None = None  # sha256 of the body replay must serve (responses)
    http: bool = False  # the block is an HTTP message (Content-Type application/http)

    @property
    def ts(self) -> str:
        return "".join(c for c in self.date if c.isdigit())[:14]

    def where(self) -> str:
        return f"{self.file} offset {self.offset}"


@dataclass
class _Seen:
    """The records of every WARC, by id and by place, and the per-file reports."""

    by_id: dict[str, _Rec] = field(default_factory=dict)
    at: dict[tuple[str, int], str] = field(default_factory=dict)
    reports: dict[str, FileReport] = field(default_factory=dict)
    # Stretches of each file that could not be read: [start, end) offsets.
    damaged: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))

    def missing(self, name: str, offset: int) -> str:
        """Why no record starts at ``offset`` of warcs/``name``."""
        if name not in self.reports:
            return f"{name} is not a WARC file in warcs/"
        for start, end in self.damaged.get(name, []):
            if start <= offset < end:
                return (
                    f"{name} offset {offset} is in a damaged stretch of the file "
                    f"({start} to {end}; see its gzip problem)"
                )
        return f"{name} offset {offset} is not the start of a record"

    def add(self, rec: _Rec, rec_id: str) -> None:
        self.at[(rec.file, rec.offset)] = rec_id
        self.by_id[rec_id] = rec

    def problem(self, rec: _Rec, check: str, message: str) -> None:
        report = self.reports[rec.file]
        report.problems.append(Problem(check, report.path, rec.offset, message))

    def captures(self) -> Iterator[tuple[str, _Rec]]:
        return ((i, r) for i, r in self.by_id.items() if r.type in _CAPTURES)


def _skipped(exc: MemberError, size: int) -> str:
    if exc.resume is None:
        return f"{exc}; nothing in the last {size - exc.offset} bytes of the file can be read"
    return f"{exc}; {exc.resume - exc.offset} bytes skipped to the next member at {exc.resume}"


# -- digests -----------------------------------------------------------------------------

_ALGORITHMS = {
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
    "md5": "md5",
}


class _Digest:
    """A digest field (``algo:value``) checked against bytes that come in pieces."""

    def __init__(self, label: str, value: str) -> None:
        self.label = label
        self.value = value
        algo, colon, encoded = value.partition(":")
        self._algo = algo
        self._encoded = encoded.strip()
        name = _ALGORITHMS.get(algo.strip().lower())
        self._hash = hashlib.new(name) if colon and name is not None else None

    def update(self, data: bytes | memoryview) -> None:
        if self._hash is not None:
            self._hash.update(data)

    def problem(self) -> str | None:
        """Why the value is not the digest of the bytes fed, or None when it is."""
        label, value = self.label, self.value
        if self._hash is None:
            return f"{label} {value!r}: unknown algorithm (sha1, sha256 and md5 are checked)"
        actual = self._hash.digest()
        candidates = _decodings(self._encoded, len(actual))
        if not candidates:
            return (
                f"{label} {value!r}: the value is not base32, hex or base64 of a "
                f"{self._hash.name} digest"
            )
        if actual in candidates:
            return None
        got = base64.b32encode(actual).decode("ascii")
        return f"{label} {value} does not match the stored bytes ({self._algo}:{got})"

    def actual(self) -> str:
        assert self._hash is not None
        return f"{self._algo}:{base64.b32encode(self._hash.digest()).decode('ascii')}"


def digest_problem(label: str, value: str, data: bytes) -> str | None:
    """Why ``algo:value`` is not the digest of ``data``, or None when it is."""
    digest = _Digest(label, value)
    digest.update(data)
    return digest.problem()


def _decodings(text: str, size: int) -> set[bytes]:
    """Every reading of ``text`` as a digest of ``size`` bytes: base32 first, hex, base64."""
    readers = (
        lambda t: base64.b32decode(t.upper() + "=" * (-len(t) % 8)),
        bytes.fromhex,
        lambda t: base64.b64decode(t + "=" * (-len(t) % 4), validate=True),
    )
    found = set()
    for read in readers:
        try:
            raw = read(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == size:
            found.add(raw)
    return found


# -- bodies against their headers --------------------------------------------------------


class _Decoder:
    """One content coding undone in bounded steps: what it gives is handed on, and what went
    wrong (it is not that coding, it is cut short, bytes follow its end) is kept."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.fed = 0
        self.problem: str | None = None
        self._inflater: Any = None
        self._brotli: Any = None
        self._start = b""  # deflate: the first bytes, until they tell zlib from raw deflate
        self._extra = 0  # bytes after the end of the stream
        if coding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(wbits=31)
        elif coding == "br":
            try:
                import brotli  # an optional dependency (pywb's); without it br is not checked
            except ImportError:
                pass
            else:
                self._brotli = brotli.Decompressor()
        self.checked = coding in ("gzip", "x-gzip", "deflate") or self._brotli is not None

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.fed += len(data)
        if not self.checked or self.problem:
            if not self.checked:
                yield data  # identity, or a coding nobody can check here
            return
        if self.coding == "deflate" and self._inflater is None:
            self._start += data
            if len(self._start) < 2:
                return
            data, self._start = self._start, b""
            # RFC 9110 deflate is zlib-wrapped; raw deflate is common enough to accept.
            zlib_wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflater = zlib.decompressobj() if zlib_wrapped else zlib.decompressobj(-15)
        try:
            if self._brotli is not None:
                yield self._brotli.decompress(data)
            else:
                yield from self._inflate(data)
        except (zlib.error, _brotli_error()) as exc:
            self.problem = f"the payload is not {self.coding} data ({exc})"

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        if inflater.eof:
            self._extra += len(data)
            return
        while True:
            out = inflater.decompress(data, _INFLATE_STEP)
            if inflater.eof:
                self._extra += len(inflater.unused_data)
                yield out
                return
            data = inflater.unconsumed_tail
            yield out
            if not data and len(out) < _INFLATE_STEP:
                return

    def finish(self) -> str | None:
        if not self.checked or self.problem:
            return self.problem
        if self.coding == "deflate" and self._inflater is None:
            if not self.fed:
                return None
            return f"the payload is not {self.coding} data ({self.fed} bytes)"
        if self._brotli is not None:
            try:
                self._brotli.finish()
            except _brotli_error() as exc:
                return f"the payload is not br data ({exc})"
            return None
        if not self._inflater.eof:
            return f"the {self.coding} stream is cut short (all {self.fed} bytes read)"
        if self._extra:
            return f"{self._extra} bytes follow the end of the {self.coding} stream"
        return None


def _brotli_error() -> type[Exception]:
    try:
        import brotli
    except ImportError:
        return zlib.error  # never raised by brotli then; any exception type will do
    error: type[Exception] = brotli.error
    return error


class _Decoding:
    """Content-Encoding undone, last coding first, to learn whether the payload decodes as
    its header says; nothing decoded is kept."""

    def __init__(self, codings: list[str]) -> None:
        self.decoders = [_Decoder(coding) for coding in reversed(codings)]

    def feed(self, data: bytes) -> None:
        self._feed(0, data)

    def _feed(self, stage: int, data: bytes) -> None:
        if stage == len(self.decoders) or not data:
            return
        for out in self.decoders[stage].feed(data):
            self._feed(stage + 1, out)

    def problem(self) -> str | None:
        for decoder in self.decoders:
            why = decoder.finish()
            if why:
                return f"Content-Encoding: {decoder.coding}, but {why}"
        return None


class _Payload:
    """The payload of one HTTP record as its pieces come: its digest, and for a response
    the body replay serves and whether Transfer- and Content-Encoding describe it.

    A response kept chunked (its last transfer coding chunked) stores the body as it was
    transferred, while its payload is the entity: the chunks' data joined (WARC 1.1 6.3.3).
    Its payload digest is checked against that entity, and replay must serve the entity.
    """

    def __init__(self, rec: _Rec, headers: dict[str, str], http: HttpHead | None) -> None:
        value = rec.digest if rec.type != "revisit" else None
        self.stored_digest = _Digest("WARC-Payload-Digest", value) if value else None
        self.response = rec.type == "response" and http is not None
        self.truncated = "warc-truncated" in headers
        self.chunks = ChunkDecoder() if self.response and http and http.chunked else None
        self.chunk_error: str | None = None
        self.entity_digest = _Digest("WARC-Payload-Digest", value) if value else None
        self.stored_sha = hashlib.sha256()
        self.entity_sha = hashlib.sha256()
        self.length = 0
        status = http.status if http else None
        coded = status is None or not (status < 200 or status in (204, 304))
        self.decoding = (
            _Decoding(http.values("content-encoding"))
            if self.response and http and not self.truncated and coded
            else None
        )

    def feed(self, piece: bytes) -> None:
        self.length += len(piece)
        if self.stored_digest is not None:
            self.stored_digest.update(piece)
        if not self.response:
            return
        self.stored_sha.update(piece)
        if self.chunks is None:
            if self.decoding is not None:
                self.decoding.feed(piece)
            return
        if self.chunk_error is not None:
            return
        try:
            entity = self.chunks.feed(piece)
        except ChunkError as exc:
            self.chunk_error = str(exc)
            return
        for part in entity:
            if self.entity_digest is not None:
                self.entity_digest.update(part)
            self.entity_sha.update(part)
            if self.decoding is not None:
                self.decoding.feed(bytes(part))

    @property
    def dechunked(self) -> bool:
        """The stored body is whole chunk framing (or, if cut, framing up to the cut)."""
        if self.chunks is None or self.chunk_error is not None:
            return False
        whole = self.chunks.after_last_chunk and not self.chunks.extra
        return whole or self.truncated

    def digest_problem(self) -> str | None:
        if self.stored_digest is None:
            return None
        if not self.dechunked:
            return self.stored_digest.problem()
        assert self.entity_digest is not None
        why = self.entity_digest.problem()
        if why and self.stored_digest.problem() is None:
            return (
                f"WARC-Payload-Digest {self.entity_digest.value} is the digest of the body as "
                "stored, chunk framing included; the payload is the de-chunked entity "
                f"({self.entity_digest.actual()})"
            )
        return why

    def encoding_problem(self) -> str | None:
        if self.decoding is None or not self.length:
            return None
        if self.chunks is not None and not self.dechunked:
            return (
                "Transfer-Encoding: chunked, but the payload is not chunked framing "
                "(a de-chunked body stored under a chunked header)"
            )
        return self.decoding.problem()

    def replay_sha(self) -> bytes:
        """sha256 of what replay serves: the payload with chunk framing undone, content
        coding kept."""
        return (self.entity_sha if self.dechunked else self.stored_sha).digest()


# -- one WARC file -----------------------------------------------------------------------


@dataclass(slots=True)
class _Checked:
    """What reading one record found; kept only if its member turns out sound."""

    rec: _Rec | None = None
    record_id: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (check, message)
    error: str | None = None  # the member holds no whole record: why


def verify_warc(path: Path, rel: str, seen: _Seen) -> FileReport:
    report = FileReport(rel, 0)
    seen.reports[path.name] = report
    size = path.stat().st_size
    with open(path, "rb") as stream:
        for item in iter_members(stream, size, _check_record):
            if isinstance(item, MemberError):
                report.problems.append(Problem(GZIP, rel, item.offset, _skipped(item, size)))
                end = size if item.resume is None else item.resume
                seen.damaged[path.name].append((item.offset, end))
            else:
                _note(*item, path.name, seen)
    if report.records == 0 and not report.problems:
        report.problems.append(Problem(RECORD, rel, None, "the file holds no records"))
    return report


def _note(member: Member, checked: _Checked, name: str, seen: _Seen) -> None:
    report = seen.reports[name]
    if checked.error is not None or checked.rec is None:
        report.problems.append(Problem(RECORD, report.path, member.offset, str(checked.error)))
        return
    report.records += 1
    rec = checked.rec
    rec.file, rec.offset, rec.length = name, member.offset, member.length
    for check, message in checked.problems:
        seen.problem(rec, check, message)
    _remember(rec, checked.record_id, seen)


def _check_record(member: MemberReader) -> _Checked:
    """Read one record to its end, checking it as it comes."""
    try:
        record = RecordReader(member)
    except RecordError as exc:
        return _Checked(error=str(exc))
    headers = record.headers
    rec = _Rec(
        type=headers.get("warc-type", ""),
        uri=headers.get("warc-target-uri", ""),
        date=headers.get("warc-date", ""),
        file="",
        offset=0,
        length=0,
        digest=headers.get("warc-payload-digest"),
        http=headers.get("content-type", "").lower().startswith("application/http"),
    )
    checked = _Checked(rec, headers.get("warc-record-id"))
    missing = [h for h in _MANDATORY if h not in headers]
    if missing:
        checked.problems.append((RECORD, f"{rec.type or 'record'} lacks {', '.join(missing)}"))
    truncated = headers.get("warc-truncated")
    if truncated is not None and truncated.lower() not in _TRUNCATED_REASONS:
        checked.problems.append(
            (RECORD, f"{_name(rec)}: WARC-Truncated {truncated!r} is not a reason WARC names")
        )
    block_value = headers.get("warc-block-digest")
    block_digest = _Digest("WARC-Block-Digest", block_value) if block_value else None
    splitter = (
        HttpSplitter() if rec.http and rec.type in ("response", "request", "revisit") else None
    )
    payload = None if splitter is not None else _Payload(rec, headers, None)
    block_length = 0
    try:
        for piece in record.blocks():
            block_length += len(piece)
            if block_digest is not None:
                block_digest.update(piece)
            if splitter is None:
                assert payload is not None
                payload.feed(piece)
                continue
            for part in splitter.feed(piece):
                if payload is None:
                    payload = _Payload(rec, headers, splitter.head)
                payload.feed(part)
            if payload is None and splitter.head is not None:
                payload = _Payload(rec, headers, splitter.head)
        record.close()
    except RecordError as exc:
        return _Checked(error=str(exc))
    http = splitter.head if splitter is not None else None
    if splitter is not None and http is None and block_length:
        checked.problems.append((RECORD, f"{_name(rec)}: the HTTP head never ends (no blank line)"))
    if payload is None and splitter is not None and not block_length:
        payload = _Payload(rec, headers, None)  # an empty block: an empty payload
    _check_digests(rec, block_digest, payload, checked)
    _note_links(rec, headers, http, payload)
    if rec.type == "response" and payload is not None and truncated is None:
        why = payload.encoding_problem()
        if why:
            checked.problems.append((ENCODING, f"{_name(rec)}: {why}"))
    return checked


def _check_digests(
    rec: _Rec, block: _Digest | None, payload: _Payload | None, checked: _Checked
) -> None:
    # A revisit's payload digest names the referred record's payload; check 5 resolves it.
    # An HTTP block whose head never ends has no payload to check (reported already).
    for why in (
        block.problem() if block is not None else None,
        payload.digest_problem() if payload is not None else None,
    ):
        if why:
            checked.problems.append((DIGEST, f"{_name(rec)}: {why}"))


def _note_links(
    rec: _Rec, headers: dict[str, str], http: HttpHead | None, payload: _Payload | None
) -> None:
    if rec.type == "request":
        rec.link = headers.get("warc-concurrent-to")
    elif rec.type in ("revisit", "metadata"):
        rec.link = headers.get("warc-refers-to")
        rec.link_uri = headers.get("warc-refers-to-target-uri")
        rec.profile = headers.get("warc-profile")
    if http is not None and rec.type == "metadata":
        rec.status = http.status  # a 304's, or an interim answer's
    if http is not None and rec.type in _CAPTURES:
        rec.status = http.status
        rec.location = http.first("location")
        if rec.type == "response" and payload is not None:
            rec.body_sha = payload.replay_sha()
        elif rec.type == "response":
            rec.body_sha = hashlib.sha256(b"").digest()


def _remember(rec: _Rec, rec_id: str | None, seen: _Seen) -> None:
    if not rec_id:
        return
    earlier = seen.by_id.get(rec_id)
    if earlier is not None:
        seen.problem(rec, RECORD, f"WARC-Record-ID {rec_id} is also at {earlier.where()}")
        return
    seen.add(rec, rec_id)


def _name(rec: _Rec) -> str:
    return f"{rec.type} {rec.uri}" if rec.uri else rec.type or "record"
