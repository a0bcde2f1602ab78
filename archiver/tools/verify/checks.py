"""Collection-level checks: pairing, revisits, open files, manifest lines and index lines."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from archiver.collection.cdxj import CdxjError, CdxjLine, url_key
from archiver.collection.layout import OPEN_SUFFIX, Collection
from archiver.collection.manifest import ManifestError, ManifestJsonError, ManifestLine
from archiver.collection.warc import PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED
from archiver.tools.verify.records import _CAPTURES, _name, _Rec, _Seen
from archiver.tools.verify.report import INDEX, MANIFEST, OPEN_FILE, PAIRING, REVISIT, Problem

# Revisit profiles whose meaning this check knows: the payload is the referred record's.
# WARC/1.0 files spell them with 1.0, and are just as valid.
_PROFILES = {
    profile.replace("/warc/1.1/", version)
    for profile in (PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED)
    for version in ("/warc/1.1/", "/warc/1.0/")
}


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


def check_not_modified(seen: _Seen) -> None:
    """An HTTP metadata record belongs to the capture written just before it in the same
    file: a 304 kept as it came to the revisit written for it, interim answers (1xx) to the
    response or revisit they came before."""
    for rec in seen.by_id.values():
        if rec.type == "metadata" and rec.http:
            why = _metadata_problem(rec, seen)
            if why:
                seen.problem(rec, PAIRING, f"{_name(rec)}: {why}")


def _metadata_problem(rec: _Rec, seen: _Seen) -> str | None:
    interim = rec.status is not None and 100 <= rec.status < 200
    if not rec.link:
        return "no WARC-Refers-To naming the capture it belongs to"
    target = seen.by_id.get(rec.link)
    if target is None:
        return f"WARC-Refers-To {rec.link} names no record in the collection"
    if target.file != rec.file:
        return f"WARC-Refers-To {rec.link} is in {target.file}, not in the same file"
    if interim and target.type not in ("response", "revisit"):
        return f"WARC-Refers-To {rec.link} is a {target.type} record, not a response or revisit"
    if not interim and target.type != "revisit":
        return f"WARC-Refers-To {rec.link} is a {target.type} record, not a revisit"
    if rec.link_uri != target.uri:
        return f"WARC-Refers-To-Target-URI {rec.link_uri} is not the capture's {target.uri}"
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
        entry = ManifestLine.parse(raw)
    except ManifestJsonError as exc:
        return f"corrupt line: not JSON ({exc})"
    except ManifestError as exc:
        return f"corrupt line: {exc}"
    name, offset = entry.warc_filename, entry.warc_offset
    rec_id = seen.at.get((name, offset))
    if rec_id is None:
        known = seen.by_id.get(entry.record_id)
        hint = f"; record {entry.record_id} is at {known.where()}" if known else ""
        return seen.missing(name, offset) + hint
    rec = seen.by_id[rec_id]
    if rec_id != entry.record_id:
        return f"{name} offset {offset} holds {rec_id}, not {entry.record_id}"
    if rec.length != entry.warc_length:
        return (
            f"warc_length {entry.warc_length}, but the member at {rec.where()} "
            f"is {rec.length} bytes"
        )
    if rec.uri != entry.url:
        return f"url {entry.url}, but the record's WARC-Target-URI is {rec.uri}"
    return None


def check_indexes(collection: Collection, seen: _Seen) -> tuple[int, int, list[Problem]]:
    """Every index line against its record, then every capture against the index lines."""
    problems: list[Problem] = []
    indexed: set[tuple[str, int]] = set()
    paths = collection.index_files()
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
            try:
                entry = CdxjLine.parse(line)
            except CdxjError as exc:
                problems.append(Problem(INDEX, rel, None, f"{_CORRUPT_INDEX_LINE} ({exc})", number))
                continue
            if line < previous:
                # pywb finds lines by binary search: an unsorted file hides captures.
                problems.append(Problem(INDEX, rel, None, "line out of sorted order", number))
            previous = line
            why = _index_entry_problem(entry, seen, indexed)
            if why:
                problems.append(Problem(INDEX, rel, None, why, number))
    return count


_CORRUPT_INDEX_LINE = "corrupt line: not 'KEY TIMESTAMP {json}' with url, filename, offset, length"


def _index_entry_problem(entry: CdxjLine, seen: _Seen, indexed: set[tuple[str, int]]) -> str | None:
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
            ("timestamp", entry.timestamp, rec.ts),
            ("key", entry.key, url_key(rec.uri)),
            ("digest", entry.digest or rec.digest, rec.digest),
        )
        if ours != theirs
    ]
    return f"{rec.where()}: " + "; ".join(mismatches) if mismatches else None


def _rel(collection: Collection, path: Path) -> str:
    return path.relative_to(collection.root).as_posix()
