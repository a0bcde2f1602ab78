"""Make a collection consistent again after a run died (kill -9, power loss, full disk).

A dead run leaves ``warcs/*.warc.gz.open`` whose last gzip member may be cut,
``indexes/RUN.cdxj.open`` with unsorted (maybe cut, maybe dangling, maybe missing) lines, and
manifest lines that may point at records that were never committed. Repair keeps everything
that was committed and complete, and drops only what was not:

1. each open WARC is truncated to its longest sound prefix of whole records that is also
   committed (its commit mark in the dedup index, see journal.py: what lies past the mark
   was never committed, has no rows and maybe half its lines, and the resumed run fetches it
   again), and that ends on a whole capture. The writer puts a capture's records one after
   the other: the response or revisit, its request, and for a 304 a metadata record with
   the 304 as received; a capture that lost its request is half an exchange, and a 304's
   revisit whose metadata record was damaged lost the answer it stands for, so either is
   cut from its first record on. A file left with no capture is removed;
2. each open index keeps the lines that point at records still there, gains a line for each
   kept capture that had none (the run died after the commit, before the checkpoint appended
   the lines, or a power loss took them), and is sorted into ``indexes/RUN.cdxj``;
3. the manifest loses its cut last line and the lines pointing at records that were cut;
4. the dedup index forgets payloads stored in cut records, or the next run would write
   revisits that refer to nothing (possible only after a power loss took fsynced-looking
   bytes: rows are committed after their records are fsynced).

The work is ordered so that repair itself may die at any point and simply be run again: the
WARCs keep their ``.open`` name until the index, manifest and dedup index agree with them,
so a second repair re-reads the same truncated files and reaches the same decisions.

The caller must hold the collection lock: repair never checks whether a run is still going.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from archiver.collection.cdxj import CdxjError, CdxjLine, cdxj_mime
from archiver.collection.durable import fsync_dir, write_atomically
from archiver.collection.layout import OPEN_SUFFIX, RUN_ID, Collection
from archiver.collection.manifest import ManifestError, ManifestLine
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
from archiver.collection.warc import PROFILE_NOT_MODIFIED
from archiver.model.errors import CollectionError

logger = logging.getLogger(__name__)

_CAPTURES = ("response", "revisit")
_RUN_ID_FIELD = b"archiver-run-id"  # in every warcinfo (pipelines.warcinfo_fields)
_WARCINFO_BYTES = 1 << 20  # of a warcinfo's fields, read for the run id at most

# (filename, offset, length) of the record an index line points at.
_Target = tuple[str, int, int]


class CommitMarks(Protocol):
    """What repair needs of the dedup index (dedup.DedupIndex has it)."""

    def committed_end(self, filename: str) -> int | None: ...
    def forget_payloads_from(self, filename: str, offset: int) -> int: ...


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarcRepair:
    """One ``.open`` WARC: how much of it was kept, under its final name."""

    name: str  # the final name in warcs/ (without .open)
    size_before: int
    size_after: int  # 0 when nothing was complete and the file was removed
    records_kept: int
    records_cut: int  # whole records cut for pairing, and each incomplete stretch

    @property
    def bytes_cut(self) -> int:
        return self.size_before - self.size_after

    @property
    def removed(self) -> bool:
        return self.records_kept == 0


@dataclass(frozen=True, slots=True)
class IndexRepair:
    """One run's index, sealed into a sorted ``indexes/RUN.cdxj``."""

    run_id: str
    lines_kept: int  # lines in the sealed file, added ones included
    lines_dropped: int  # cut, malformed, or pointing at records that are not there
    lines_added: int  # for kept captures that had no line


@dataclass
class RepairReport:
    warcs: list[WarcRepair] = field(default_factory=list)
    indexes: list[IndexRepair] = field(default_factory=list)
    manifest_lines_dropped: int = 0
    manifest_rewritten: bool = False
    dedup_entries_dropped: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.warcs or self.indexes or self.manifest_rewritten)

    @property
    def bytes_cut(self) -> int:
        return sum(w.bytes_cut for w in self.warcs)

    @property
    def records_kept(self) -> int:
        return sum(w.records_kept for w in self.warcs)

    @property
    def records_cut(self) -> int:
        return sum(w.records_cut for w in self.warcs)

    @property
    def index_lines_dropped(self) -> int:
        return sum(i.lines_dropped for i in self.indexes)

    @property
    def index_lines_added(self) -> int:
        return sum(i.lines_added for i in self.indexes)

    def summary(self) -> str:
        """One line: what was closed, sealed and dropped, or that there was nothing to do."""
        if not self.changed:
            return "nothing to repair"
        parts = []
        if self.warcs:
            removed = sum(w.removed for w in self.warcs)
            parts.append(
                f"{_count(len(self.warcs), 'open WARC')} closed: "
                f"{_count(self.records_kept, 'record')} kept, {self.records_cut} cut "
                f"({self.bytes_cut} bytes)"
                + (f", {_count(removed, 'empty file')} removed" if removed else "")
            )
        if self.indexes:
            added = f", {self.index_lines_added} added" if self.index_lines_added else ""
            parts.append(
                f"{_count(len(self.indexes), 'index', 'indexes')} sealed: "
                f"{_count(self.index_lines_dropped, 'line')} dropped{added}"
            )
        if self.manifest_rewritten:
            parts.append(f"manifest: {_count(self.manifest_lines_dropped, 'line')} dropped")
        if self.dedup_entries_dropped:
            parts.append(f"dedup: {_count(self.dedup_entries_dropped, 'payload')} forgotten")
        return "; ".join(parts)


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


# -- the whole collection ------------------------------------------------------------------


def repair_collection(root: Path, marks: CommitMarks) -> RepairReport:
    """Repair what a dead run left in the collection at ``root``; see the module docstring.

    Idempotent, and a no-op (after a glob and a one-byte read) when no run died.
    """
    collection = Collection(Path(root))
    open_warcs = collection.open_warc_files()
    open_indexes = collection.open_index_runs()
    report = RepairReport()
    if not open_warcs and not open_indexes and not _manifest_is_cut(collection.manifest):
        return report
    index_lines = {run_id: _read_index(collection, run_id) for run_id in open_indexes}
    # Read first, so that only captures no line names need a line made while scanning.
    indexed = {t for lines in index_lines.values() for t in map(_index_target, lines) if t}
    plans = [_plan_warc(path, indexed, marks) for path in open_warcs]
    for plan in plans:
        _truncate(plan)
    kept = {plan.name: plan.kept for plan in plans}
    report.indexes = _seal_indexes(collection, index_lines, plans, kept)
    report.manifest_lines_dropped, report.manifest_rewritten = _repair_manifest(
        collection.manifest, kept
    )
    report.dedup_entries_dropped = sum(
        marks.forget_payloads_from(plan.name, plan.end) for plan in plans
    )
    # Last: while a WARC still ends in .open, a repair that died midway is redone in full.
    for plan in plans:
        report.warcs.append(_close_warc(plan))
    if plans:
        fsync_dir(collection.warcs)
    return report


# -- 1. open WARC files --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Record:
    offset: int
    length: int
    type: str
    record_id: str
    concurrent_to: str = ""  # a request's or metadata record's capture
    not_modified: bool = False  # a 304's revisit: its metadata record follows its request

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(slots=True)
class _WarcPlan:
    path: Path  # the .open file
    name: str  # its final name
    size: int
    end: int  # where the sound, whole-capture prefix ends: the size to truncate to
    kept: dict[int, _Record]  # by offset
    cut: int  # records (or incomplete stretches) beyond ``end``
    run_id: str | None  # from the warcinfo record
    unindexed: dict[tuple[str, int], bytes]  # lines for kept captures no index line names


@dataclass(slots=True)
class _Scan:
    """What one pass over an open WARC learns, up to its first damage."""

    name: str
    indexed: set[_Target]  # what the run's index lines point at
    records: list[_Record] = field(default_factory=list)
    beyond: int = 0  # items after the first damage
    damaged_at: int | None = None  # where the first damage (or unsound record) starts
    run_id: str | None = None
    lines: dict[int, bytes] = field(default_factory=dict)  # for captures not indexed


def _plan_warc(path: Path, indexed: set[_Target], marks: CommitMarks) -> _WarcPlan:
    name = path.name.removesuffix(OPEN_SUFFIX)
    if (path.parent / name).exists():
        # Not a state the writer can leave (it picks names free under both spellings);
        # overwriting either file could lose records, so a person has to look.
        raise CollectionError(
            f"both {path} and {name} exist; move one of them out of warcs/ and repair again"
        )
    size = path.stat().st_size
    scan = _scan(path, size, _Scan(name, indexed))
    records = scan.records
    committed = marks.committed_end(name)
    # No mark at all: a file from before marks existed, whose sound records all count.
    while committed is not None and records and records[-1].end > committed:
        records.pop()
        scan.beyond += 1
    # Bytes that were there once are gone right after the last record kept: damage starts
    # there, or the mark says more was committed (a power loss took fsynced-looking bytes).
    last_end = records[-1].end if records else 0
    lost_after = last_end == scan.damaged_at or (committed is not None and last_end < committed)
    whole = _whole_captures(records, lost_after)
    scan.beyond += len(records) - whole
    del records[whole:]
    if not any(r.type in _CAPTURES for r in records):
        scan.beyond += len(records)
        records = []  # a warcinfo alone archives nothing
    kept = {r.offset: r for r in records}
    unindexed = {(name, offset): line for offset, line in scan.lines.items() if offset in kept}
    end = records[-1].end if records else 0
    return _WarcPlan(path, name, size, end, kept, scan.beyond, scan.run_id, unindexed)


def _whole_captures(records: list[_Record], lost_after: bool) -> int:
    """How many of ``records`` to keep so that they end on a whole capture: its response or
    revisit, then its request, then for a 304 its metadata record. A 304's revisit and
    request with nothing lost after them are kept as a whole capture: the file ends where
    the mark says (the writer commits whole captures only, so this one was written before
    304s had a metadata record), or it has no mark at all."""
    count = len(records)
    while count:
        start = next((i for i in range(count - 1, -1, -1) if records[i].type in _CAPTURES), None)
        if start is None:
            return count
        capture = records[start]
        parts = {r.type for r in records[start + 1 : count] if r.concurrent_to == capture.record_id}
        lost_304 = lost_after and capture.not_modified and "metadata" not in parts
        if "request" in parts and not lost_304:
            return count
        count = start
        lost_after = False  # the capture before it is followed by a sound record
    return count


def _scan(path: Path, size: int, scan: _Scan) -> _Scan:
    """The whole records from the start up to the first damage, and how many items follow.

    Everything after the first damage is cut, even sound members past a damaged stretch:
    a file can only be truncated, and offsets of later records must not move.
    """
    with open(path, "rb") as stream:
        for item in iter_members(stream, size, _read):
            if scan.beyond or not _take(item, scan):
                if not scan.beyond:  # the first damage
                    scan.damaged_at = (item if isinstance(item, MemberError) else item[0]).offset
                scan.beyond += 1
    return scan


@dataclass(frozen=True, slots=True)
class _Read:
    """What repair needs of one record: its WARC headers, a warcinfo's fields, a capture's
    HTTP head (for its index line)."""

    headers: dict[str, str]
    warcinfo: bytes = b""
    http: HttpHead | None = None


def _read(member: MemberReader) -> _Read | None:
    """The record of a member, read to its end; None if it is not one whole record."""
    try:
        record = RecordReader(member)
        kind = record.type
        warcinfo, http = b"", None
        if kind == "warcinfo":
            warcinfo = _first_bytes(record, _WARCINFO_BYTES)
        elif kind in _CAPTURES:
            splitter = HttpSplitter()
            for piece in record.blocks():
                splitter.feed(piece)
                if splitter.head is not None:
                    break
            http = splitter.head
        record.close()
    except RecordError:
        return None
    return _Read(record.headers, warcinfo, http)


def _first_bytes(record: RecordReader, limit: int) -> bytes:
    parts, have = [], 0
    for piece in record.blocks():
        parts.append(piece[: limit - have])
        have += len(parts[-1])
        if have >= limit:
            break
    return b"".join(parts)


def _take(item: tuple[Member, _Read | None] | MemberError, scan: _Scan) -> bool:
    """Add the record a sound member holds (it inflated, its CRC held, its block is whole)."""
    if isinstance(item, MemberError):
        return False
    member, read = item
    if read is None:
        return False
    headers = read.headers
    kind = headers.get("warc-type", "")
    scan.records.append(
        _Record(
            member.offset,
            member.length,
            kind,
            headers.get("warc-record-id", ""),
            concurrent_to=headers.get("warc-concurrent-to", ""),
            not_modified=kind == "revisit" and headers.get("warc-profile") == PROFILE_NOT_MODIFIED,
        )
    )
    if kind == "warcinfo" and scan.run_id is None:
        scan.run_id = _run_id(read.warcinfo)
    elif kind in _CAPTURES and (scan.name, member.offset, member.length) not in scan.indexed:
        scan.lines[member.offset] = _index_line(headers, read.http, scan.name, member)
    return True


def _run_id(warcinfo: bytes) -> str | None:
    for line in warcinfo.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == _RUN_ID_FIELD:
            run_id = value.strip().decode("ascii", errors="replace")
            return run_id if RUN_ID.fullmatch(run_id) else None
    return None


def _index_line(headers: dict[str, str], http: HttpHead | None, name: str, member: Member) -> bytes:
    """The line the crawl writes for this capture (see archivist.Archivist._write)."""
    content_types = [v for k, v in http.headers if k == "content-type"] if http else []
    revisit = headers.get("warc-type") == "revisit"
    line = CdxjLine.of(
        url=headers.get("warc-target-uri", ""),
        timestamp="".join(c for c in headers.get("warc-date", "") if c.isdigit())[:14],
        # The crawl's Content-Type is the head's last one.
        mime="warc/revisit" if revisit else cdxj_mime(content_types[-1] if content_types else None),
        # A revisit's head keeps the stored status line: the status the crawl indexed.
        status=http.status if http else None,
        digest=headers.get("warc-payload-digest", ""),
        length=member.length,
        offset=member.offset,
        filename=name,
    )
    return line.format().encode("utf-8")


def _truncate(plan: _WarcPlan) -> None:
    if not plan.kept:
        return  # removed at the end; its bytes do not matter meanwhile
    with open(plan.path, "r+b") as f:
        if plan.size != plan.end:
            f.truncate(plan.end)
        # Even when nothing is cut: the dead writer never fsynced what it wrote.
        os.fsync(f.fileno())


def _close_warc(plan: _WarcPlan) -> WarcRepair:
    if plan.kept:
        os.rename(plan.path, plan.path.with_name(plan.name))
        logger.info(
            "closed warcs/%s: kept %d records, cut %d (%d bytes)",
            plan.name,
            len(plan.kept),
            plan.cut,
            plan.size - plan.end,
        )
    else:
        plan.path.unlink()
        logger.info("removed warcs/%s: not even its warcinfo was complete", plan.path.name)
    return WarcRepair(plan.name, plan.size, plan.end, len(plan.kept), plan.cut)


# -- 2. indexes ----------------------------------------------------------------------------


class _Targets:
    """Answers whether a (filename, offset, length) an index line names is a capture now.

    Files repaired here are known record by record. Any other file was finished by its run
    (fsynced before its rename), so it is trusted up to its size without being read.
    """

    def __init__(self, warcs: Path, kept: dict[str, dict[int, _Record]]) -> None:
        self.warcs = warcs
        self.kept = kept
        self._sizes: dict[str, int | None] = {}

    def exists(self, filename: str, offset: int, length: int) -> bool:
        if filename in self.kept:
            record = self.kept[filename].get(offset)
            return record is not None and record.length == length and record.type in _CAPTURES
        size = self._size(filename)
        return size is not None and offset + length <= size

    def _size(self, filename: str) -> int | None:
        if filename not in self._sizes:
            path = self.warcs / filename
            ok = "/" not in filename and path.is_file()
            self._sizes[filename] = path.stat().st_size if ok else None
        return self._sizes[filename]


def _read_index(collection: Collection, run_id: str) -> set[bytes]:
    """The run's lines from ``RUN.cdxj.open`` and, if there, ``RUN.cdxj``.

    Both exist when the run died inside CdxjIndex.close, between writing the sorted file
    and removing the unsorted one (they then hold the same lines), or when a repair died
    after sealing the index but before closing the WARC files.
    """
    lines: set[bytes] = set()
    for path in (collection.open_index_for(run_id), collection.index_for(run_id)):
        if path.exists():
            with open(path, "rb") as f:
                lines.update(line if line.endswith(b"\n") else line + b"\n" for line in f)
    return lines


def _seal_indexes(
    collection: Collection,
    index_lines: dict[str, set[bytes]],
    plans: list[_WarcPlan],
    kept: dict[str, dict[int, _Record]],
) -> list[IndexRepair]:
    """Seal every open index, and the index of each run whose kept captures lack lines."""
    runs = index_lines.keys() | {p.run_id for p in plans if p.unindexed and p.run_id}
    sealed = []
    for run_id in sorted(runs):
        lines = index_lines.get(run_id)
        if lines is None:  # the run died before writing its first index line
            lines = _read_index(collection, run_id)
        unindexed = {k: v for p in plans if p.run_id == run_id for k, v in p.unindexed.items()}
        sealed.append(_seal_index(collection, run_id, lines, unindexed, kept))
    return sealed


def _seal_index(
    collection: Collection,
    run_id: str,
    lines: set[bytes],
    unindexed: dict[tuple[str, int], bytes],
    kept: dict[str, dict[int, _Record]],
) -> IndexRepair:
    final = collection.index_for(run_id)
    targets = _Targets(collection.warcs, kept)
    good = {line for line in lines if _points_at_capture(line, targets)}
    covered = {t[:2] for t in map(_index_target, good) if t}
    added = {line for where, line in unindexed.items() if where not in covered}
    sealed = good | added
    final.parent.mkdir(exist_ok=True)  # a run that died before its first index line
    # Byte order, as CdxjIndex sorts (code points of UTF-8): pywb's binary search needs it.
    write_atomically(final, sorted(sealed))
    collection.open_index_for(run_id).unlink(missing_ok=True)
    fsync_dir(collection.indexes)
    dropped = len(lines) - len(good)
    logger.info(
        "sealed indexes/%s: %d lines, %d dropped, %d added",
        final.name,
        len(sealed),
        dropped,
        len(added),
    )
    return IndexRepair(run_id, len(sealed), dropped, len(added))


def _points_at_capture(line: bytes, targets: _Targets) -> bool:
    target = _index_target(line)
    return target is not None and targets.exists(*target)


def _index_target(line: bytes) -> _Target | None:
    """Where an index line points; None if malformed."""
    try:
        parsed = CdxjLine.parse(line)
    except CdxjError:
        return None  # a cut last line, or bytes that never were a line
    return parsed.filename, parsed.offset, parsed.length


# -- 3. the manifest -----------------------------------------------------------------------


def _manifest_is_cut(path: Path) -> bool:
    """Whether the manifest's last line lacks its newline: one byte read, not the file."""
    try:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False  # no manifest, or an empty one (seeking before the start fails)


def _repair_manifest(path: Path, kept: dict[str, dict[int, _Record]]) -> tuple[int, bool]:
    """Drop the cut last line and the lines whose record was cut: (lines dropped, rewritten).

    Two passes, the second only when something changes: the manifest holds the text of every
    page of every run, and is never held in memory or copied for nothing.
    """
    if not path.exists():
        return 0, False
    drop, cut_tail = _manifest_drops(path, kept)
    if not drop and not cut_tail:
        return 0, False
    with open(path, "rb") as f:
        write_atomically(path, (_ended(line) for n, line in enumerate(f) if n not in drop))
    fsync_dir(path.parent)
    logger.info("manifest.jsonl: %d lines dropped", len(drop))
    return len(drop), True


def _manifest_drops(path: Path, kept: dict[str, dict[int, _Record]]) -> tuple[set[int], bool]:
    """Numbers (0-based) of the lines to drop, and whether the last line lacks its newline."""
    drop: set[int] = set()
    last = b"\n"
    with open(path, "rb") as f:
        for number, line in enumerate(f):
            last = line
            entry = _manifest_entry(line)
            if entry is None:
                # Only a last line can be cut by a crash; a corrupt line elsewhere is not
                # repair's to judge, and verify reports it.
                if not line.endswith(b"\n"):
                    drop.add(number)
            elif not _resolves(entry, kept):
                drop.add(number)
    return drop, not last.endswith(b"\n")


def _manifest_entry(line: bytes) -> ManifestLine | None:
    try:
        return ManifestLine.parse(line)
    except ManifestError:
        return None


def _resolves(entry: ManifestLine, kept: dict[str, dict[int, _Record]]) -> bool:
    """Whether the line's record is still there; lines into files not repaired are trusted."""
    records = kept.get(entry.warc_filename)
    if records is None:
        return True
    record = records.get(entry.warc_offset)
    return (
        record is not None
        and record.record_id == entry.record_id
        and record.length == entry.warc_length
    )


def _ended(line: bytes) -> bytes:
    return line if line.endswith(b"\n") else line + b"\n"


__all__ = ["CommitMarks", "IndexRepair", "RepairReport", "WarcRepair", "repair_collection"]
