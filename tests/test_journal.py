"""The journal (archiver/archive/journal.py): when a capture's record, lines and rows reach the
disk. Real files in tmp_path throughout; the frontier is a stand-in that notes what was on
disk when the journal made it durable (step 3), and the dedup index a real SQLite index that
notes the same when it commits (step 4).
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from archiver.archive.journal import Journal
from archiver.archive.protocol import Capture
from archiver.collection.cdxj import CdxjIndex, CdxjLine
from archiver.collection.dedup import SqliteDedupIndex
from archiver.collection.layout import Collection
from archiver.collection.manifest import ManifestLine, ManifestWriter
from archiver.collection.repair import repair_collection
from archiver.collection.warc import (
    PROFILE_NOT_MODIFIED,
    Revisit,
    WarcFileWriter,
    WrittenExchange,
)
from archiver.model.changes import Change
from archiver.model.dedup import CommitMark, StoredPayload
from archiver.model.exchange import Body, Exchange
from archiver.tools.verify import render_text, verify_collection
from tests.test_archivist import (
    RUN_1,
    SITE,
    exchange,
    index_lines,
    manifest,
    open_archivist,
    page,
    records,
)

RUN = RUN_1
BINARY = "application/octet-stream"


def on_disk(root: Path) -> tuple[int, int, int]:
    """(manifest lines, index lines, payload rows committed) as a reader of the files sees them."""
    with closing(sqlite3.connect(root / "dedup.sqlite3")) as db:
        (rows,) = db.execute("SELECT count(*) FROM payloads").fetchone()
    return len(manifest(root)), len(index_lines(root, RUN, open_=True)), rows


class Frontier:
    """Step 3's frontier: notes what was on disk each time it is made durable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.synced: list[tuple[int, int, int]] = []

    def sync(self) -> None:
        self.synced.append(on_disk(self.root))


class Index(SqliteDedupIndex):
    """The real index, noting what was on disk when it commits (step 4) and what it commits."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / self.FILENAME)
        self.root = root
        self.commits: list[tuple[CommitMark | None, tuple[int, int, int]]] = []

    def commit(self, mark: CommitMark | None) -> None:
        self.commits.append((mark, on_disk(self.root)))
        super().commit(mark)


def make_journal(root: Path, *, warc_size: int = 10**9, **limits: Any) -> Journal:
    collection = Collection(root)
    collection.create()
    writer = WarcFileWriter(
        collection.warcs,
        prefix="test",
        max_size=warc_size,
        warcinfo={"software": "archiver tests", "archiver-run-id": RUN},
    )
    return Journal(
        run_id=RUN,
        writer=writer,
        cdxj=CdxjIndex(collection.index_for(RUN)),
        manifest=ManifestWriter(collection.manifest),
        index=Index(root),
        frontier=Frontier(root),
        **{"every_captures": 1000, "every_seconds": 3600.0, **limits},
    )


def write(journal: Journal, path: str, body: bytes = b"", **kwargs: Any) -> WrittenExchange:
    """Write a capture and queue its index line, manifest line and dedup row, as the
    archivist does."""
    item = exchange(path, body or page(path), **kwargs)
    written = journal.write(item, revisit=None)
    where = written.response
    journal.add_index_line(
        CdxjLine.of(
            url=item.url,
            timestamp=written.warc_date_14,
            mime=item.mime,
            status=item.status,
            digest=written.payload_digest,
            length=where.length,
            offset=where.offset,
            filename=where.filename,
        )
    )
    journal.add_manifest_line(
        ManifestLine(
            url=item.url,
            timestamp=written.warc_date_14,
            status=item.status,
            mime=item.mime,
            charset="utf-8",
            charset_source="header",
            charset_declared="utf-8",
            title=path,
            text=path,
            digest=written.payload_digest,
            record_id=where.record_id,
            warc_filename=where.filename,
            warc_offset=where.offset,
            warc_length=where.length,
            run=RUN,
            change=Change.NEW,
        )
    )
    journal.index.add_payload(
        StoredPayload(
            written.payload_digest,
            item.url,
            written.warc_date,
            where.record_id,
            where.filename,
            where.offset,
            0.0,
        )
    )
    return written


def end_of(written: WrittenExchange) -> int:
    """Where a capture's records end: its request is written right after its response."""
    return written.request.offset + written.request.length


def committed_end(root: Path, filename: str) -> int | None:
    with closing(SqliteDedupIndex.for_collection(root)) as index:
        return index.committed_end(filename)


def warc_files(root: Path) -> list[str]:
    return sorted(path.name for path in (root / "warcs").iterdir())


def assert_verifies(root: Path) -> None:
    report = verify_collection(root)
    assert report.ok, render_text(report)


# -- a checkpoint -------------------------------------------------------------------------


def test_nothing_is_committed_before_a_checkpoint_and_its_steps_come_in_order(tmp_path: Path):
    journal = make_journal(tmp_path)
    first = write(journal, "/a.html")
    second = write(journal, "/b.html")
    assert on_disk(tmp_path) == (0, 0, 0), "no line and no row before a checkpoint"
    index, frontier = journal.index, journal.frontier
    assert isinstance(index, Index) and isinstance(frontier, Frontier)
    opened = index.commits[:]  # the new file's first mark, made when it was opened

    journal.checkpoint()
    # 2: manifest lines, before 3: the frontier, before 4: the rows with the mark, before
    # 5: the index lines.
    assert frontier.synced == [(2, 0, 0)]
    ((mark, seen),) = index.commits[len(opened) :]
    assert seen == (2, 0, 0)
    assert on_disk(tmp_path) == (2, 2, 2)
    # 1: the mark is the end of the fsynced WARC file, past the last capture's request.
    (name,) = warc_files(tmp_path)
    size = (tmp_path / "warcs" / name).stat().st_size
    assert mark == CommitMark(RUN, second.response.filename, end_of(second))
    assert end_of(second) == size and name == mark.filename + ".open"
    assert committed_end(tmp_path, mark.filename) == size
    assert [line["warc_offset"] for line in manifest(tmp_path)] == [
        first.response.offset,
        second.response.offset,
    ]
    journal.close()


def test_a_file_gets_a_mark_as_soon_as_it_is_opened(tmp_path: Path):
    """Repair must tell a file with nothing committed from one written before marks existed."""
    journal = make_journal(tmp_path)
    written = write(journal, "/a.html")
    assert isinstance(journal.index, Index)
    ((mark, _),) = journal.index.commits
    assert mark == CommitMark(RUN, written.response.filename, written.response.offset)
    journal.close()


def test_a_checkpoint_is_due_after_enough_captures_or_enough_lines_held_back(tmp_path: Path):
    journal = make_journal(tmp_path, every_captures=3, max_pending_bytes=10**6)
    assert not journal.due, "nothing to commit"
    write(journal, "/a.html")
    write(journal, "/b.html")
    assert not journal.due
    write(journal, "/c.html")
    assert journal.due
    journal.checkpoint()
    assert not journal.due and journal.checkpoints == 1
    journal.max_pending_bytes = 100  # a manifest line holds a page's whole text
    write(journal, "/d.html")
    assert journal.due
    journal.close()


# -- files ending -------------------------------------------------------------------------


def test_a_full_file_is_checkpointed_before_it_is_closed(tmp_path: Path):
    journal = make_journal(tmp_path, warc_size=1)  # full after its first capture
    first = write(journal, "/a.html")
    assert journal.checkpoints == 0
    second = write(journal, "/b.html")

    assert journal.checkpoints == 1, "the rotation's checkpoint"
    finished, still_open = warc_files(tmp_path)
    assert finished == first.response.filename
    assert still_open == second.response.filename + ".open"
    size = (tmp_path / "warcs" / finished).stat().st_size
    assert committed_end(tmp_path, finished) == size == end_of(first)
    # The first capture is committed with the file it is in; the second waits for the next.
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/a.html"]
    assert [line.split(" ")[0] for line in index_lines(tmp_path, RUN, open_=True)] == [
        "test,site)/a.html"
    ]
    assert committed_end(tmp_path, second.response.filename) == second.response.offset
    journal.close()
    assert [line["url"] for line in manifest(tmp_path)] == [
        SITE + "/a.html",
        SITE + "/b.html",
    ]
    assert_verifies(tmp_path)


def test_close_leaves_finished_warc_files_and_a_sorted_index(tmp_path: Path):
    journal = make_journal(tmp_path)
    paths = ["/zebra.html", "/apple.html", "/mango.html"]  # not written in index order
    written = [write(journal, path) for path in paths]
    journal.close()

    (name,) = warc_files(tmp_path)
    assert name == written[0].response.filename and not name.endswith(".open")
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [
        SITE + path for path in paths
    ]
    assert committed_end(tmp_path, name) == (tmp_path / "warcs" / name).stat().st_size
    lines = index_lines(tmp_path, RUN)
    assert len(lines) == 3 and lines == sorted(lines)
    assert sorted(os.listdir(tmp_path / "indexes")) == [f"{RUN}.cdxj"]
    assert len(manifest(tmp_path)) == 3
    assert_verifies(tmp_path)


def test_abandon_leaves_open_files_that_repair_cuts_to_the_last_checkpoint(tmp_path: Path):
    journal = make_journal(tmp_path)
    kept = write(journal, "/kept.html")
    journal.checkpoint()
    lost = write(journal, "/lost.html")
    journal.abandon()
    journal.index.close()

    name = kept.response.filename
    assert warc_files(tmp_path) == [name + ".open"]
    path = tmp_path / "warcs" / (name + ".open")
    assert path.stat().st_size == end_of(lost) > end_of(kept) == committed_end(tmp_path, name)
    assert os.listdir(tmp_path / "indexes") == [f"{RUN}.cdxj.open"], "left unsorted"
    assert len(index_lines(tmp_path, RUN, open_=True)) == 1
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/kept.html"]

    with closing(SqliteDedupIndex.for_collection(tmp_path)) as marks:
        report = repair_collection(tmp_path, marks)
    assert report.bytes_cut == end_of(lost) - end_of(kept)
    assert warc_files(tmp_path) == [name]
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [
        SITE + "/kept.html"
    ]
    assert len(index_lines(tmp_path, RUN)) == 1
    assert_verifies(tmp_path)


# -- a write that fails -------------------------------------------------------------------


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail as on a full disk: the kernel writes what fits, then
    answers EFBIG (RLIMIT_FSIZE; SIGXFSZ ignored, so the write fails instead of the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


BIG = 20_000
SPOOLED = 6 << 20
WHERE = ["in the response", "in the request", "in a large spooled body", "in a 304's record"]


def failing_write(journal: Journal, where: str, spool: Path | None = None) -> Exchange:
    """Write a capture whose records do not fit: the write fails 4 KB into a record of
    20 KB of random bytes (gzip cannot shrink them), either the response record or, after a
    response of a few hundred bytes, the request record or a 304's metadata record; or 2 MB
    into a 6 MB body spooled on disk, once its member's first megabytes are in the file."""
    revisit = None
    limit = 4096
    if where == "in the response":
        item = exchange("/failed", os.urandom(BIG), content_type=BINARY)
    elif where == "in a large spooled body":
        assert spool is not None
        item = exchange("/failed", b"", content_type=BINARY)
        spool.mkdir(exist_ok=True)
        path = spool / "body-1.spool"
        path.write_bytes(os.urandom(SPOOLED))
        item.response_body = Body(b"", path, SPOOLED)
        item.payload_digest = item.block_digest = ""  # computed by the writer, then
        limit = 2 << 20
    else:
        item = exchange("/failed", b"small", content_type=BINARY)
        if where == "in the request":
            item.request_body = os.urandom(BIG)
        else:  # a 304 whose metadata record holds a body no 304 has, to fail there
            item.status, item.response_body = 304, Body.of(os.urandom(BIG))
            item.block_digest = ""
            revisit = Revisit(PROFILE_NOT_MODIFIED, "sha1:X", "<urn:x>", item.url, "", b"")
    end = journal.writer.sync()
    with file_size_limit(end + limit), pytest.raises(OSError) as failed:
        journal.write(item, revisit=revisit, not_modified_raw=revisit is not None)
    assert failed.value.errno == errno.EFBIG  # what a full disk's ENOSPC is to the writer
    return item


@pytest.mark.parametrize("where", WHERE)
def test_a_write_failing_midway_leaves_whole_records_only(tmp_path: Path, where: str):
    journal = make_journal(tmp_path)
    kept = write(journal, "/kept.html")
    journal.checkpoint()

    failing_write(journal, where, tmp_path / "spool")

    (name,) = warc_files(tmp_path)
    assert (tmp_path / "warcs" / name).stat().st_size == end_of(kept)
    assert [r.type for r in records(tmp_path)] == ["warcinfo", "response", "request"]
    journal.close()  # as the worker does after a failure: nothing more is archived
    assert committed_end(tmp_path, kept.response.filename) == end_of(kept)
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/kept.html"]
    assert_verifies(tmp_path)


@pytest.mark.parametrize("where", WHERE)
def test_after_a_failed_write_the_next_record_follows_the_last_whole_one(
    tmp_path: Path, where: str
):
    journal = make_journal(tmp_path)
    write(journal, "/kept.html")
    failing_write(journal, where, tmp_path / "spool")
    after = write(journal, "/after.html")
    (name,) = warc_files(tmp_path)
    assert (tmp_path / "warcs" / name).stat().st_size == end_of(after)
    journal.close()
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [
        SITE + "/kept.html",
        SITE + "/after.html",
    ]


def test_a_spool_file_is_removed_whether_or_not_its_records_could_be_written(tmp_path: Path):
    archivist = open_archivist(tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    bodies = []
    for name, limit in (("kept", None), ("failed", 4096)):
        path = spool / f"body-{name}.spool"
        path.write_bytes(os.urandom(BIG))
        item = exchange(f"/{name}", b"", content_type=BINARY)
        item.response_body = Body(b"", path, BIG)
        item.payload_digest = item.block_digest = ""
        bodies.append(path)
        if limit is None:
            archivist.archive(Capture(item))
            continue
        end = archivist.journal.writer.sync()
        with file_size_limit(end + limit), pytest.raises(OSError):
            archivist.archive(Capture(item))
    assert not any(path.exists() for path in bodies)
    archivist.close()
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [SITE + "/kept"]
