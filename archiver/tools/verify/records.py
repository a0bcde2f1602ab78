"""Checking records: digests, pairing, and bodies against their headers (read by
archiver.collection.records)."""

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
    HttpMessage,
    MemberError,
    RecordError,
    iter_members,
    parse_http,
    parse_record,
)
from archiver.tools.verify.report import DIGEST, ENCODING, GZIP, RECORD, FileReport, Problem

_INFLATE_STEP = 1 << 20  # bound what one decode step of a content-encoded body may produce
_CAPTURES = ("response", "revisit")
_MANDATORY = ("warc-record-id", "warc-type", "warc-date", "content-length")


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
    link: str | None = None  # request: WARC-Concurrent-To; revisit: WARC-Refers-To
    link_uri: str | None = None  # revisit: WARC-Refers-To-Target-URI
    profile: str | None = None  # revisit: WARC-Profile
    status: int | None = None  # HTTP status from the record's own head
    location: str | None = None  # Location of a 3xx
    body_sha: bytes | None = None  # sha256 of the body replay must serve (responses)

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


def digest_problem(label: str, value: str, data: bytes) -> str | None:
    """Why ``algo:value`` is not the digest of ``data``, or None when it is."""
    algo, colon, encoded = value.partition(":")
    name = _ALGORITHMS.get(algo.strip().lower())
    if not colon or name is None:
        return f"{label} {value!r}: unknown algorithm (sha1, sha256 and md5 are checked)"
    actual = hashlib.new(name, data).digest()
    candidates = _decodings(encoded.strip(), len(actual))
    if not candidates:
        return f"{label} {value!r}: the value is not base32, hex or base64 of a {name} digest"
    if actual in candidates:
        return None
    got = base64.b32encode(actual).decode("ascii")
    return f"{label} {value} does not match the stored bytes ({algo}:{got})"


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


def dechunk(data: bytes) -> bytes | None:
    """The body inside ``Transfer-Encoding: chunked`` framing; None if it is not such framing."""
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = data[pos:eol].split(b";", 1)[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            return None
        size = int(size_text, 16)
        pos = eol + 2
        if size == 0:
            break
        if data[pos + size : pos + size + 2] != b"\r\n":
            return None
        out += data[pos : pos + size]
        pos += size + 2
    return bytes(out) if _trailer_end(data, pos) == len(data) else None


def _trailer_end(data: bytes, pos: int) -> int:
    """Where the trailer section after the last chunk ends: its lines, then a blank line."""
    while pos < len(data):
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return -1
        if eol == pos:
            return pos + 2
        pos = eol + 2
    # Tolerated: a body that stops right after the last chunk, as many servers send it.
    return pos


def decode_problem(coding: str, body: bytes, *, keep: bool = True) -> tuple[str | None, bytes]:
    """Undo one content coding: (why it failed or None, the decoded body if ``keep``)."""
    try:
        if coding in ("gzip", "x-gzip"):
            return _inflate_all(zlib.decompressobj(wbits=31), body, coding, keep)
        if coding == "deflate":
            # RFC 9110 deflate is zlib-wrapped; raw deflate is common enough to accept.
            first = _inflate_all(zlib.decompressobj(), body, coding, keep)
            if first[0] is None:
                return first
            return _inflate_all(zlib.decompressobj(-15), body, coding, keep)
        if coding == "br":
            return _unbrotli(body)
    except zlib.error as exc:
        return f"the payload is not {coding} data ({exc})", b""
    return None, body  # identity, or a coding nobody can check here


def _inflate_all(inflater: Any, body: bytes, coding: str, keep: bool) -> tuple[str | None, bytes]:
    # Output comes in bounded steps and is dropped unless kept: a large or hostile body
    # never has to be held decoded just to learn that it decodes.
    parts = []
    data = body
    while not inflater.eof:
        out = inflater.decompress(data, _INFLATE_STEP)
        if keep:
            parts.append(out)
        data = inflater.unconsumed_tail
        if not data and not out:  # all input taken and nothing more comes out: cut short
            break
    if not inflater.eof:
        return f"the {coding} stream is cut short (all {len(body)} bytes read)", b""
    if inflater.unused_data:
        return f"{len(inflater.unused_data)} bytes follow the end of the {coding} stream", b""
    return None, b"".join(parts)


def _unbrotli(body: bytes) -> tuple[str | None, bytes]:
    try:
        import brotli  # an optional dependency (pywb's); without it br is not checked
    except ImportError:
        return None, body
    try:
        return None, brotli.decompress(body)
    except brotli.error as exc:
        return f"the payload is not br data ({exc})", b""


def encoding_problems(http: HttpMessage) -> list[str]:
    """Where Transfer-Encoding or Content-Encoding disagree with the stored payload."""
    body = http.payload
    if not body or (http.status is not None and (http.status < 200 or http.status in (204, 304))):
        return []
    if "chunked" in http.values("transfer-encoding"):
        dechunked = dechunk(body)
        if dechunked is None:
            return [
                "Transfer-Encoding: chunked, but the payload is not chunked framing "
                "(a de-chunked body stored under a chunked header)"
            ]
        body = dechunked
    codings = http.values("content-encoding")
    for left, coding in reversed(list(enumerate(codings))):
        why, body = decode_problem(coding, body, keep=left > 0)
        if why:
            return [f"Content-Encoding: {coding}, but {why}"]
    return []


def replay_body(http: HttpMessage) -> bytes:
    """What replay serves: the payload with chunk framing undone, content coding kept."""
    if "chunked" in http.values("transfer-encoding"):
        body = dechunk(http.payload)
        if body is not None:
            return body
    return http.payload


# -- one WARC file -----------------------------------------------------------------------


def verify_warc(path: Path, rel: str, seen: _Seen) -> FileReport:
    report = FileReport(rel, 0)
    seen.reports[path.name] = report
    size = path.stat().st_size
    with open(path, "rb") as stream:
        for item in iter_members(stream, size):
            if isinstance(item, MemberError):
                report.problems.append(Problem(GZIP, rel, item.offset, _skipped(item, size)))
                end = size if item.resume is None else item.resume
                seen.damaged[path.name].append((item.offset, end))
            else:
                _check_member(item.data, path.name, item.offset, item.length, seen)
    if report.records == 0 and not report.problems:
        report.problems.append(Problem(RECORD, rel, None, "the file holds no records"))
    return report


def _check_member(data: bytes, name: str, offset: int, length: int, seen: _Seen) -> None:
    report = seen.reports[name]
    try:
        headers, block = parse_record(data)
    except RecordError as exc:
        report.problems.append(Problem(RECORD, report.path, offset, str(exc)))
        return
    report.records += 1
    rec = _Rec(
        type=headers.get("warc-type", ""),
        uri=headers.get("warc-target-uri", ""),
        date=headers.get("warc-date", ""),
        file=name,
        offset=offset,
        length=length,
        digest=headers.get("warc-payload-digest"),
    )
    missing = [h for h in _MANDATORY if h not in headers]
    if missing:
        seen.problem(rec, RECORD, f"{rec.type or 'record'} lacks {', '.join(missing)}")
    http = _http_of(rec, headers, block, seen)
    _check_digests(rec, headers, block, http, seen)
    _note_links(rec, headers, http)
    if rec.type == "response" and http is not None and "warc-truncated" not in headers:
        for message in encoding_problems(http):
            seen.problem(rec, ENCODING, f"{_name(rec)}: {message}")
    _remember(rec, headers.get("warc-record-id"), seen)


def _http_of(rec: _Rec, headers: dict[str, str], block: bytes, seen: _Seen) -> HttpMessage | None:
    is_http = headers.get("content-type", "").lower().startswith("application/http")
    if not is_http or rec.type not in ("response", "request", "revisit") or not block:
        return None
    http = parse_http(block)
    if http is None:
        seen.problem(rec, RECORD, f"{_name(rec)}: the HTTP head never ends (no blank line)")
    return http


def _check_digests(
    rec: _Rec, headers: dict[str, str], block: bytes, http: HttpMessage | None, seen: _Seen
) -> None:
    checks = [("WARC-Block-Digest", headers.get("warc-block-digest"), block)]
    # A revisit's payload digest names the referred record's payload; check 5 resolves it.
    # An HTTP block whose head never ends has no payload to check (reported already).
    broken_http = http is None and headers.get("content-type", "").startswith("application/http")
    if rec.type != "revisit" and not (broken_http and block):
        payload = http.payload if http is not None else block
        checks.append(("WARC-Payload-Digest", rec.digest, payload))
    for label, value, data in checks:
        why = value and digest_problem(label, value, data)
        if why:
            seen.problem(rec, DIGEST, f"{_name(rec)}: {why}")


def _note_links(rec: _Rec, headers: dict[str, str], http: HttpMessage | None) -> None:
    if rec.type == "request":
        rec.link = headers.get("warc-concurrent-to")
    elif rec.type == "revisit":
        rec.link = headers.get("warc-refers-to")
        rec.link_uri = headers.get("warc-refers-to-target-uri")
        rec.profile = headers.get("warc-profile")
    if http is not None and rec.type in _CAPTURES:
        rec.status = http.status
        rec.location = http.first("location")
        if rec.type == "response":
            rec.body_sha = hashlib.sha256(replay_body(http)).digest()


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
