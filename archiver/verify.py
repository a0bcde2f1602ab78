"""``archiver verify DIR``: check a collection file by file, record by record, and in replay.

The checks read the bytes themselves (zlib over each gzip member, WARC and HTTP heads split
by hand) rather than through warcio, which wrote the files: a reader that shares the
writer's assumptions would share its mistakes. Each WARC is read once, one record in memory
at a time; what the cross-record checks need (pairing, revisits, manifest, index, replay) is
kept in a small map per record.

Checks, by the name a Problem carries:

- ``gzip``: every member decompresses and ends where the next begins; no trailing bytes.
- ``record``: every member holds exactly one WARC record with the mandatory fields.
- ``digest``: WARC-Block-Digest over the block; WARC-Payload-Digest over the HTTP payload.
- ``pairing``: every response and revisit has its request (WARC-Concurrent-To, same URI, date).
- ``encoding``: Content-Encoding and Transfer-Encoding describe the payload as stored.
- ``revisit``: every revisit's WARC-Refers-To names a response with its payload digest.
- ``open-file``: no ``*.open`` file is left in warcs/ or indexes/.
- ``manifest``: every manifest line points at the start of the record it names.
- ``index``: the CDXJ indexes list every response and revisit, and nothing else.
- ``replay`` (``--replay``): pywb serves every capture's stored payload.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import http.client
import json
import socket
import subprocess
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin

from archiver.cdxj import url_key
from archiver.collection import Collection
from archiver.errors import ArchiverError, CollectionError
from archiver.manifest import FIELDS
from archiver.replay import prepare_workdir, wayback_program
from archiver.warc import OPEN_SUFFIX, PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED

GZIP = "gzip"
RECORD = "record"
DIGEST = "digest"
PAIRING = "pairing"
ENCODING = "encoding"
REVISIT = "revisit"
OPEN_FILE = "open-file"
MANIFEST = "manifest"
INDEX = "index"
REPLAY = "replay"

_READ_SIZE = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_START = _GZIP_MAGIC + b"\x08"  # deflate, the only method gzip defines
_INFLATE_STEP = 1 << 20  # bound what one decode step of a content-encoded body may produce
_CAPTURES = ("response", "revisit")
_MANDATORY = ("warc-record-id", "warc-type", "warc-date", "content-length")
_TEXT_LIMIT = 50  # problems listed per section in the text report; --json lists all
# Revisit profiles whose meaning this check knows: the payload is the referred record's.
# WARC/1.0 files spell them with 1.0, and are just as valid.
_PROFILES = {
    profile.replace("/warc/1.1/", version)
    for profile in (PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED)
    for version in ("/warc/1.1/", "/warc/1.0/")
}


@dataclass
class Problem:
    check: str  # one of the names above
    path: str  # relative to the collection folder
    offset: int | None  # byte offset of the gzip member (WARC files)
    message: str
    line: int | None = None  # 1-based line number (manifest and index files)


@dataclass
class FileReport:
    path: str  # warcs/NAME.warc.gz
    records: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerifyReport:
    files: list[FileReport]
    collection_problems: list[Problem]
    manifest_lines: int = 0
    index_files: int = 0
    index_lines: int = 0
    open_files: int = 0
    replayed: int | None = None  # captures fetched from pywb; None without --replay

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems] + self.collection_problems

    @property
    def problem_count(self) -> int:
        return len(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": {
                "files": len(self.files),
                "records": self.records,
                "problems": self.problem_count,
                "manifest_lines": self.manifest_lines,
                "index_files": self.index_files,
                "index_lines": self.index_lines,
                "replayed": self.replayed,
            },
            "files": [{**asdict(f), "ok": f.ok} for f in self.files],
            "collection_problems": [asdict(p) for p in self.collection_problems],
        }


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


def _skipped(exc: MemberError, size: int) -> str:
    if exc.resume is None:
        return f"{exc}; nothing in the last {size - exc.offset} bytes of the file can be read"
    return f"{exc}; {exc.resume - exc.offset} bytes skipped to the next member at {exc.resume}"


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
class _Http:
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


def parse_http(block: bytes) -> _Http | None:
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
    return _Http(status, headers, payload)


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


def encoding_problems(http: _Http) -> list[str]:
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


def replay_body(http: _Http) -> bytes:
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


def _http_of(rec: _Rec, headers: dict[str, str], block: bytes, seen: _Seen) -> _Http | None:
    is_http = headers.get("content-type", "").lower().startswith("application/http")
    if not is_http or rec.type not in ("response", "request", "revisit") or not block:
        return None
    http = parse_http(block)
    if http is None:
        seen.problem(rec, RECORD, f"{_name(rec)}: the HTTP head never ends (no blank line)")
    return http


def _check_digests(
    rec: _Rec, headers: dict[str, str], block: bytes, http: _Http | None, seen: _Seen
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


def _note_links(rec: _Rec, headers: dict[str, str], http: _Http | None) -> None:
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


# -- across records: pairing and revisits ------------------------------------------------


def check_pairing(seen: _Seen) -> None:
    requests: dict[str, list[_Rec]] = defaultdict(list)
    for rec in seen.by_id.values():
        if rec.type == "request" and rec.link:
            requests[rec.link].append(rec)
    for rec_id, rec in seen.captures():
        found = requests.get(rec_id, [])
        if not found:
            seen.problem(rec, PAIRING, f"{_name(rec)}: no request record is concurrent to it")
        elif not any(r.uri == rec.uri and r.date == rec.date for r in found):
            other = found[0]
            seen.problem(
                rec,
                PAIRING,
                f"{_name(rec)}: its request at {other.where()} has WARC-Target-URI "
                f"{other.uri} and WARC-Date {other.date}, not {rec.date}",
            )
    for target, found in requests.items():
        if target not in seen.by_id:
            for rec in found:
                seen.problem(
                    rec, PAIRING, f"{_name(rec)}: WARC-Concurrent-To {target} names no record"
                )


def check_revisits(seen: _Seen) -> None:
    for _rec_id, rec in seen.captures():
        if rec.type == "revisit":
            why = _revisit_problem(rec, seen)
            if why:
                seen.problem(rec, REVISIT, f"{_name(rec)}: {why}")


def _revisit_problem(rec: _Rec, seen: _Seen) -> str | None:
    if rec.profile not in _PROFILES:
        return f"WARC-Profile {rec.profile} is not identical-payload-digest or server-not-modified"
    if not rec.link:
        return "no WARC-Refers-To"
    if not rec.digest:
        return "no WARC-Payload-Digest, so replay cannot find the stored payload"
    target = seen.by_id.get(rec.link)
    if target is None:
        return f"orphan revisit: WARC-Refers-To {rec.link} names no record in the collection"
    if target.type != "response":
        return f"WARC-Refers-To {rec.link} is a {target.type} record, not a response"
    if target.digest != rec.digest:
        return (
            f"WARC-Payload-Digest {rec.digest} differs from the referred response's "
            f"{target.digest} ({target.where()})"
        )
    if rec.link_uri != target.uri:
        return f"WARC-Refers-To-Target-URI {rec.link_uri} is not the referred {target.uri}"
    return None


# -- collection files: .open, manifest, index --------------------------------------------


def check_open_files(collection: Collection) -> list[Problem]:
    problems = []
    for folder in (collection.warcs, collection.indexes):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{OPEN_SUFFIX}")):
            rel = _rel(collection, path)
            message = "left open by a run that did not finish (or a run is writing it now)"
            problems.append(Problem(OPEN_FILE, rel, None, message))
    return problems


def check_manifest(collection: Collection, seen: _Seen) -> tuple[int, list[Problem]]:
    path = collection.manifest
    rel = _rel(collection, path)
    if not path.exists():
        return 0, [Problem(MANIFEST, rel, None, "the collection has no manifest.jsonl")]
    problems = []
    count = 0
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, 1):
            count += 1
            why = _manifest_line_problem(raw, seen)
            if why:
                problems.append(Problem(MANIFEST, rel, None, why, line=number))
    return count, problems


def _manifest_line_problem(raw: bytes, seen: _Seen) -> str | None:
    try:
        entry = json.loads(raw)
    except ValueError as exc:
        return f"corrupt line: not JSON ({exc})"
    if not isinstance(entry, dict):
        return "corrupt line: not a JSON object"
    missing = [name for name in FIELDS if name not in entry]
    if missing:
        return f"corrupt line: lacks {', '.join(missing)}"
    name, offset, length = entry["warc_filename"], entry["warc_offset"], entry["warc_length"]
    if not isinstance(offset, int) or not isinstance(length, int) or not isinstance(name, str):
        return "corrupt line: warc_filename, warc_offset or warc_length has the wrong type"
    rec_id = seen.at.get((name, offset))
    if rec_id is None:
        known = seen.by_id.get(entry["record_id"])
        hint = f"; record {entry['record_id']} is at {known.where()}" if known else ""
        return seen.missing(name, offset) + hint
    rec = seen.by_id[rec_id]
    if rec_id != entry["record_id"]:
        return f"{name} offset {offset} holds {rec_id}, not {entry['record_id']}"
    if rec.length != length:
        return f"warc_length {length}, but the member at {rec.where()} is {rec.length} bytes"
    if rec.uri != entry["url"]:
        return f"url {entry['url']}, but the record's WARC-Target-URI is {rec.uri}"
    return None


@dataclass
class _IndexEntry:
    key: str
    ts: str
    url: str
    filename: str
    offset: int
    length: int
    digest: str | None


def check_indexes(collection: Collection, seen: _Seen) -> tuple[int, int, list[Problem]]:
    """Every index line against its record, then every capture against the index lines."""
    problems: list[Problem] = []
    indexed: set[tuple[str, int]] = set()
    paths = sorted(collection.indexes.glob("*.cdxj")) if collection.indexes.is_dir() else []
    count = 0
    for path in paths:
        count += _check_index_file(path, _rel(collection, path), seen, indexed, problems)
    for _rec_id, rec in seen.captures():
        if (rec.file, rec.offset) not in indexed:
            problems.append(
                Problem(
                    INDEX,
                    f"warcs/{rec.file}",
                    rec.offset,
                    f"{_name(rec)} at {rec.where()} is in no index under indexes/",
                )
            )
    return len(paths), count, problems


def _check_index_file(
    path: Path, rel: str, seen: _Seen, indexed: set[tuple[str, int]], problems: list[Problem]
) -> int:
    previous = ""
    count = 0
    with open(path, encoding="utf-8", errors="surrogateescape") as lines:
        for number, line in enumerate(lines, 1):
            count += 1
            line = line.rstrip("\n")
            entry = _parse_index_line(line)
            if isinstance(entry, str):
                problems.append(Problem(INDEX, rel, None, entry, number))
                continue
            if line < previous:
                # pywb finds lines by binary search: an unsorted file hides captures.
                problems.append(Problem(INDEX, rel, None, "line out of sorted order", number))
            previous = line
            why = _index_entry_problem(entry, seen, indexed)
            if why:
                problems.append(Problem(INDEX, rel, None, why, number))
    return count


def _index_entry_problem(
    entry: _IndexEntry, seen: _Seen, indexed: set[tuple[str, int]]
) -> str | None:
    rec_id = seen.at.get((entry.filename, entry.offset))
    rec = seen.by_id.get(rec_id) if rec_id else None
    if rec is None:
        return f"{entry.url}: {seen.missing(entry.filename, entry.offset)}"
    if rec.type not in _CAPTURES:
        return f"{entry.url}: {rec.where()} is a {rec.type} record, not a capture"
    indexed.add((entry.filename, entry.offset))
    mismatches = [
        f"{label} {ours} but the record has {theirs}"
        for label, ours, theirs in (
            ("length", entry.length, rec.length),
            ("url", entry.url, rec.uri),
            ("timestamp", entry.ts, rec.ts),
            ("key", entry.key, url_key(rec.uri)),
            ("digest", entry.digest or rec.digest, rec.digest),
        )
        if ours != theirs
    ]
    return f"{rec.where()}: " + "; ".join(mismatches) if mismatches else None


def _parse_index_line(line: str) -> _IndexEntry | str:
    key, _, rest = line.partition(" ")
    ts, _, blob = rest.partition(" ")
    try:
        fields = json.loads(blob)
        return _IndexEntry(
            key=key,
            ts=ts,
            url=str(fields["url"]),
            filename=str(fields["filename"]),
            offset=int(fields["offset"]),
            length=int(fields["length"]),
            digest=fields.get("digest"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        return (
            f"corrupt line: not 'KEY TIMESTAMP {{json}}' with url, filename, offset, length ({exc})"
        )


def _rel(collection: Collection, path: Path) -> str:
    return path.relative_to(collection.root).as_posix()


# -- replay in pywb ----------------------------------------------------------------------

_REPLAY_COLLECTION = "verify"
_ACCEPT_ENCODING = "gzip, deflate, br"  # pywb then serves every stored coding as stored
_URL_SAFE = ":/?&=;,+$!*'()@[]~%"  # URL syntax and existing escapes pass; the rest is escaped
_STARTUP_SECONDS = 60.0
_HTTP_SECONDS = 30.0
_EMPTY_SHA = hashlib.sha256(b"").digest()


class Wayback:
    """A pywb ``wayback`` serving the collection's own warcs/ and indexes/, nothing copied,
    from a temporary working folder (see replay.prepare_workdir)."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Wayback:
        program = wayback_program()
        self._tmp = tempfile.TemporaryDirectory(prefix="archiver-verify-")
        work = Path(self._tmp.name)
        prepare_workdir(self.collection, work, _REPLAY_COLLECTION, framed=False)
        try:
            self._start(program, work)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _start(self, program: str, work: Path) -> None:
        # A free port is found by binding to 0 and released before wayback binds it; another
        # process may take it in between, so a failed start is retried on a new port.
        for _attempt in range(3):
            self.port = _free_port()
            with open(work / "wayback.log", "ab") as log:
                self._proc = subprocess.Popen(
                    [program, "-b", "127.0.0.1", "-p", str(self.port)],
                    cwd=work,
                    stdin=subprocess.DEVNULL,
                    stdout=log,  # a file, not a pipe nobody drains
                    stderr=subprocess.STDOUT,
                )
            if self._ready(work):
                return
            self._stop()
        raise ArchiverError(
            "pywb's wayback did not start on 127.0.0.1; its log ends:\n"
            + _tail(work / "wayback.log")
        )

    def _ready(self, work: Path) -> bool:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            try:
                status, _, _ = self.get(f"/{_REPLAY_COLLECTION}/", timeout=2.0)
            except OSError:
                time.sleep(0.1)
                continue
            if status != 200:
                # Up, but the collection did not load: no point in waiting or retrying.
                raise ArchiverError(
                    f"pywb does not serve the collection (HTTP {status}); its log ends:\n"
                    + _tail(work / "wayback.log")
                )
            return True
        return False

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()

    def fetch(self, url: str, ts: str) -> tuple[int, dict[str, str], bytes]:
        path = f"/{_REPLAY_COLLECTION}/{ts}id_/{quote(url, safe=_URL_SAFE)}"
        return self.get(path, {"Accept-Encoding": _ACCEPT_ENCODING})

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = _HTTP_SECONDS
    ) -> tuple[int, dict[str, str], bytes]:
        # http.client has no proxy support, so *_proxy variables cannot divert loopback.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()  # undoes pywb's own chunking, nothing else
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_replay(collection: Collection, seen: _Seen) -> tuple[int, list[Problem]]:
    """Fetch every capture from a real pywb and compare status and body with the record."""
    captures = sorted(
        (r for _i, r in seen.captures() if r.status is not None and r.uri.startswith("http")),
        key=lambda r: (r.file, r.offset),
    )
    if not captures:
        return 0, []
    if not collection.indexes.is_dir():
        message = "no indexes/ folder: pywb has no index to replay from"
        return 0, [Problem(REPLAY, "indexes", None, message)]
    groups = _replay_groups(seen)
    problems = []
    with Wayback(collection) as pywb:
        for rec in captures:
            why = _replay_problem(pywb, rec, groups[(url_key(rec.uri), rec.ts)], seen)
            if why:
                problems.append(Problem(REPLAY, f"warcs/{rec.file}", rec.offset, why))
    return len(captures), problems


def _replay_groups(seen: _Seen) -> dict[tuple[str, str], list[_Rec]]:
    # pywb addresses captures by SURT key and second: captures sharing both are one address,
    # and it may serve any of them.
    groups: dict[tuple[str, str], list[_Rec]] = defaultdict(list)
    for _rec_id, rec in seen.captures():
        groups[(url_key(rec.uri), rec.ts)].append(rec)
    return groups


def _replay_problem(pywb: Wayback, rec: _Rec, group: list[_Rec], seen: _Seen) -> str | None:
    try:
        status, headers, body = pywb.fetch(rec.uri, rec.ts)
    except (OSError, http.client.HTTPException) as exc:
        return f"{_name(rec)}: pywb did not answer ({exc})"
    served = _served_timestamp(headers)
    if served and served != rec.ts:
        # pywb falls back to the next closest capture when one does not load (an unresolved
        # revisit, say): the body may even match, but this capture did not replay.
        return f"{_name(rec)} at {rec.ts}: pywb served the capture of {served} instead"
    got = (status, hashlib.sha256(body).digest())
    wanted = [w for other in group for w in _acceptable(other, seen, other.uri == rec.uri)]
    if any(w_status == got[0] and w_sha in (None, got[1]) for w_status, w_sha in wanted):
        return None
    expected = ", ".join(sorted({str(s) for s, _ in wanted})) or "nothing"
    return (
        f"{_name(rec)} at {rec.ts}: pywb answered HTTP {status} with {len(body)} bytes that are "
        f"not the stored payload (expected HTTP {expected} with it)"
    )


def _served_timestamp(headers: dict[str, str]) -> str | None:
    """The capture pywb actually served, from its Content-Location (``.../<ts>id_/<url>``)."""
    location = headers.get("content-location", "")
    marker = location.find("id_/")
    if marker < 0:
        return None
    return location[:marker].rsplit("/", 1)[-1] or None


def _acceptable(rec: _Rec, seen: _Seen, asked: bool) -> list[tuple[int, bytes | None]]:
    """(status, sha256 of body, or None for any body) pywb may answer when serving ``rec``.

    ``asked`` says whether ``rec``'s own URL was requested, rather than another URL pywb
    files under the same SURT key and second.
    """
    if _redirects_to_itself(rec):
        # One SURT key for /faq and /faq/: pywb answers with its own redirect to the target,
        # and serves the target's capture, not this one, when the target is asked for.
        return [(307, None)] if asked else []
    referred = seen.by_id.get(rec.link or "") if rec.type == "revisit" else rec
    status = rec.status
    if status is not None and 300 <= status < 400 and rec.type == "revisit":
        return [(status, _EMPTY_SHA)]  # pywb does not look a 3xx revisit's payload up
    if referred is None or referred.body_sha is None or status is None:
        return []
    return [(status, referred.body_sha)]


def _redirects_to_itself(rec: _Rec) -> bool:
    if rec.status is None or not 300 <= rec.status < 400 or not rec.location:
        return False
    target = urljoin(rec.uri, rec.location)
    return target != rec.uri and url_key(target) == url_key(rec.uri)


# -- the whole collection ----------------------------------------------------------------


def verify_collection(root: Path, *, replay: bool = False) -> VerifyReport:
    collection = Collection(Path(root))
    if not collection.warcs.is_dir():
        raise CollectionError(
            f"{collection.root} is not an archiver collection (no warcs/ folder); "
            "give the folder a crawl wrote with --output"
        )
    seen = _Seen()
    files = [
        verify_warc(path, _rel(collection, path), seen)
        for path in sorted(collection.warcs.glob("*.warc.gz"))
    ]
    check_pairing(seen)
    check_revisits(seen)
    report = VerifyReport(files, check_open_files(collection))
    report.open_files = len(report.collection_problems)
    report.manifest_lines, manifest_problems = check_manifest(collection, seen)
    report.index_files, report.index_lines, index_problems = check_indexes(collection, seen)
    report.collection_problems += manifest_problems + index_problems
    if replay:
        report.replayed, replay_problems = check_replay(collection, seen)
        report.collection_problems += replay_problems
    return report


# -- output and the command --------------------------------------------------------------


def render_text(report: VerifyReport) -> str:
    lines = []
    for f in report.files:
        lines.append(_status_line(f.ok, f.path, _count(f.records, "record"), f.problems))
        lines += _problem_lines(f.problems)
    for label, checks, summary in _sections(report):
        problems = [p for p in report.collection_problems if p.check in checks]
        lines.append(_status_line(not problems, label, summary, problems))
        lines += _problem_lines(problems)
    verdict = "OK" if report.ok else _count(report.problem_count, "problem")
    files, records = _count(len(report.files), "file"), _count(report.records, "record")
    lines.append(f"verified {files}, {records}: {verdict}")
    return "\n".join(lines) + "\n"


def _sections(report: VerifyReport) -> list[tuple[str, tuple[str, ...], str]]:
    sections = [
        ("manifest.jsonl", (MANIFEST,), _count(report.manifest_lines, "line")),
        (
            "indexes/",
            (INDEX,),
            f"{_count(report.index_files, 'file')}, {_count(report.index_lines, 'line')}",
        ),
        ("collection", (OPEN_FILE,), _count(report.open_files, ".open file") + " left"),
    ]
    if report.replayed is not None:
        replayed = _count(report.replayed, "capture") + " replayed in pywb"
        sections.append(("replay", (REPLAY,), replayed))
    return sections


def _status_line(ok: bool, label: str, summary: str, problems: list[Problem]) -> str:
    if ok:
        return f"ok  {label}  {summary}"
    return f"FAIL  {label}  {summary}, {_count(len(problems), 'problem')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _problem_lines(problems: list[Problem]) -> list[str]:
    lines = [f"    {_describe(p)}" for p in problems[:_TEXT_LIMIT]]
    if len(problems) > _TEXT_LIMIT:
        lines.append(f"    ... and {len(problems) - _TEXT_LIMIT} more (--json lists all)")
    return lines


def _describe(problem: Problem) -> str:
    where = problem.path
    if problem.line is not None:
        where += f" line {problem.line}"
    if problem.offset is not None:
        where += f" offset {problem.offset}"
    return f"[{problem.check}] {where}: {problem.message}"


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver verify DIR [--replay] [--json]``."""
    verify = commands.add_parser(
        "verify",
        help="check that a collection's files are sound and its captures replay",
        description="Check every WARC record (gzip framing, digests, request pairing, "
        "encodings, revisits), the manifest and the CDXJ index; with --replay, also replay "
        "every capture in pywb. Exit 0 when all hold, 1 when something does not.",
    )
    verify.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    verify.add_argument(
        "--replay", action="store_true", help="also replay every capture in a real pywb"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=verify_command)


def verify_command(parsed: argparse.Namespace) -> int:
    report = verify_collection(Path(parsed.dir), replay=parsed.replay)
    if parsed.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_text(report), end="")
    return 0 if report.ok else 1


__all__ = [
    "FileReport",
    "Problem",
    "VerifyReport",
    "add_parser",
    "verify_collection",
    "verify_command",
]
