"""``archiver verify DIR``: check a collection file by file, record by record, and in replay.

The checks read the bytes themselves (zlib over each gzip member, WARC and HTTP heads split
by hand) rather than through warcio: a reader that shares the writer's assumptions would
share its mistakes. Each WARC is read once, a record's block in bounded pieces (a record may
hold a body of any size); what the cross-record checks need (pairing, revisits, manifest,
index, replay) is kept in a small map per record.

Checks, by the name a Problem carries:

- ``gzip``: every member decompresses and ends where the next begins; no trailing bytes.
- ``record``: every member holds exactly one WARC record with the mandatory fields, and a
  WARC-Truncated reason the standard names (length, time, disconnect, unspecified).
- ``digest``: WARC-Block-Digest over the block; WARC-Payload-Digest over the HTTP payload,
  which for a response kept chunked is the entity: the stored body de-chunked.
- ``pairing``: every response and revisit has its request (WARC-Concurrent-To, same URI, date),
  and every HTTP metadata record (a 304 kept as received, interim 1xx answers) refers to its
  capture in the same file.
- ``encoding``: Content-Encoding and Transfer-Encoding describe the payload as stored: a
  chunked body de-chunks, and its entity decodes as its Content-Encoding says.
- ``revisit``: every revisit's WARC-Refers-To names a response with its payload digest.
- ``open-file``: no ``*.open`` file is left in warcs/ or indexes/.
- ``manifest``: every manifest line points at the start of the record it names.
- ``index``: the CDXJ indexes list every response and revisit, and nothing else.
- ``replay`` (``--replay``): pywb serves every capture's stored payload (a chunked one
  de-chunked).
"""

from __future__ import annotations

from pathlib import Path

from archiver.collection.layout import Collection
from archiver.model.errors import CollectionError
from archiver.tools.verify.checks import (
    _rel,
    check_indexes,
    check_manifest,
    check_not_modified,
    check_open_files,
    check_pairing,
    check_revisits,
)
from archiver.tools.verify.records import _Seen, digest_problem, verify_warc
from archiver.tools.verify.replaycheck import Wayback, check_replay
from archiver.tools.verify.report import (
    DIGEST,
    ENCODING,
    GZIP,
    INDEX,
    MANIFEST,
    OPEN_FILE,
    PAIRING,
    RECORD,
    REPLAY,
    REVISIT,
    FileReport,
    Problem,
    VerifyReport,
    render_text,
)

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
    check_not_modified(seen)
    report = VerifyReport(files, check_open_files(collection))
    report.open_files = len(report.collection_problems)
    report.manifest_lines, manifest_problems = check_manifest(collection, seen)
    report.index_files, report.index_lines, index_problems = check_indexes(collection, seen)
    report.collection_problems += manifest_problems + index_problems
    if replay:
        report.replayed, replay_problems = check_replay(collection, seen)
        report.collection_problems += replay_problems
    return report


__all__ = [
    "DIGEST",
    "ENCODING",
    "GZIP",
    "INDEX",
    "MANIFEST",
    "OPEN_FILE",
    "PAIRING",
    "RECORD",
    "REPLAY",
    "REVISIT",
    "FileReport",
    "Problem",
    "VerifyReport",
    "Wayback",
    "check_indexes",
    "check_manifest",
    "check_not_modified",
    "check_open_files",
    "check_pairing",
    "check_replay",
    "check_revisits",
    "digest_problem",
    "render_text",
    "verify_collection",
    "verify_warc",
]
