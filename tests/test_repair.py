"""Repair: what a killed run leaves is made consistent, losing only what was incomplete.

Collections are made by the real crawler (one run, then a second run into a copy, so the last
file holds responses in one and revisits in the other), rotated small so a run leaves several
files. Each test puts a copy into the state a killed run leaves: the run's last WARC back to
``.open`` and cut, its sorted index back to an unsorted ``.cdxj.open`` with a cut last line, a
cut line at the end of the manifest, no run summary. The expected outcome is worked out from
the original file with the independent reader in tests/warcread.py. One test kills a real
crawl with SIGKILL instead.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

import archiver.collection.repair
from archiver.collection.dedup import SqliteDedupIndex
from archiver.collection.repair import RepairReport
from archiver.collection.warc import WrittenExchange
from archiver.model.errors import CollectionError
from archiver.tools.verify import render_text, verify_collection
from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, crawl_site
from tests.test_archivist import (
    RAW_304,
    RUN_2,
    answer_not_modified,
    capture,
    open_archivist,
    page,
)
from tests.warcread import Record, iter_records

WARC_SIZE = "30000"  # the sample site then fills four files per run


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """``one``: a collection after one run; ``two``: the same after a second run."""
    base = tmp_path_factory.mktemp("repair")
    with SampleSiteServer() as server:
        first = crawl_site(server, base / "one", "/archive/etext/", "--warc-size", WARC_SIZE)
        assert first.returncode == 0, first.stderr
        shutil.copytree(base / "one", base / "two")
        second = crawl_site(server, base / "two", "/archive/etext/", "--warc-size", WARC_SIZE)
        assert second.returncode == 0, second.stderr
    yield {"one": base / "one", "two": base / "two"}


class _NoIndex:
    """A folder without a dedup index has no commit marks and no payload rows."""

    def committed_end(self, filename: str) -> int | None:
        return None

    def forget_payloads_from(self, filename: str, offset: int) -> int:
        return 0


def repair_collection(root: Path) -> RepairReport:
    """Repair as a run starting on the collection does: with its dedup index's marks."""
    if not (root / SqliteDedupIndex.FILENAME).exists():
        return archiver.collection.repair.repair_collection(root, _NoIndex())
    index = SqliteDedupIndex.for_collection(root)
    try:
        return archiver.collection.repair.repair_collection(root, index)
    finally:
        index.close()


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".archiver.lock"
    }


def open_files(root: Path) -> list[Path]:
    return sorted(root.glob("warcs/*.open")) + sorted(root.glob("indexes/*.open"))


def end(record: Record) -> int:
    return record.offset + record.length


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


# -- a crash, simulated on a copy ----------------------------------------------------------


@dataclass
class Crash:
    root: Path
    run: str
    name: str  # final name of the WARC the run was writing
    original: bytes  # that file as the run finished it
    records: list[Record]  # its records, read from the finished file
    index: list[bytes]  # the run's sorted index lines before the crash
    manifest: list[bytes]  # manifest lines before the crash

    @property
    def warc(self) -> Path:
        return self.root / "warcs" / self.name


def crash(
    source: Path,
    dest: Path,
    cut: Callable[[list[Record]], int],
    tail: bytes = b"",
    lost_lines: int = 0,
) -> Crash:
    """Copy ``source``, then leave it as a run killed after ``cut(records)`` bytes of its last
    WARC had reached the disk, followed by ``tail`` (bytes a page-cache loss left behind), and
    before the index lines of its last ``lost_lines`` captures were written."""
    root = Path(shutil.copytree(source, dest))
    run = max(p.stem for p in (root / "runs").glob("*.json"))
    warc = max((root / "warcs").glob("*.warc.gz"))
    original = warc.read_bytes()
    records = list(iter_records(warc))
    index_path = root / "indexes" / f"{run}.cdxj"
    index, manifest = lines(index_path), lines(root / "manifest.jsonl")
    (root / "runs" / f"{run}.json").unlink()
    warc.rename(warc.with_name(warc.name + ".open"))
    warc.with_name(warc.name + ".open").write_bytes(original[: cut(records)] + tail)
    # In the order the run wrote them (by file and offset), less the lines it never wrote.
    unsorted = sorted(index, key=index_target)[: len(index) - lost_lines]
    random.Random(7).shuffle(unsorted)
    cut_line = index[-1][: len(index[-1]) // 2]  # a line being appended when the run died
    index_path.with_name(index_path.name + ".open").write_bytes(b"".join(unsorted) + cut_line)
    index_path.unlink()
    with open(root / "manifest.jsonl", "ab") as f:
        f.write(manifest[-1][: len(manifest[-1]) // 3])
    return Crash(root, run, warc.name, original, records, index, manifest)


def mid(record: Record) -> int:
    return record.offset + record.length // 2


def capture_start(records: list[Record], index: int) -> int:
    """Where the capture holding ``records[index]`` begins: the writer puts a capture's
    records together (response or revisit, request, and for a 304 a metadata record)."""
    while records[index].type not in ("response", "revisit", "warcinfo"):
        index -= 1
    return index


# Where the disk copy of the last WARC ends, and the records of the finished file that must
# survive: the file's whole records, less a last capture that lost any of its records.
CASES: dict[str, tuple[Callable[[list[Record]], int], Callable[[list[Record]], int]]] = {
    # cut inside the last record's member (a request or a 304's metadata): its capture goes
    "inside the last member": (lambda rs: mid(rs[-1]), lambda rs: capture_start(rs, len(rs) - 1)),
    "inside a member's gzip header": (
        lambda rs: rs[-1].offset + 5,
        lambda rs: capture_start(rs, len(rs) - 1),
    ),
    "inside a member's gzip trailer": (
        lambda rs: end(rs[-1]) - 3,
        lambda rs: capture_start(rs, len(rs) - 1),
    ),
    # exactly at a member boundary, the second record of the last capture: the capture goes
    "at a pair boundary": (lambda rs: rs[-2].offset, lambda rs: capture_start(rs, len(rs) - 2)),
    # exactly at the boundary before the last capture's last record: the capture goes
    "after a capture, before its request": (
        lambda rs: rs[-1].offset,
        lambda rs: capture_start(rs, len(rs) - 1),
    ),
    # inside a record in the middle of the file: the rest of the file is gone, and the
    # capture that record is part of
    "inside an earlier request": (lambda rs: mid(rs[6]), lambda rs: capture_start(rs, 6)),
    # the run died between fsync and rename: the whole file is kept
    "complete but still open": (lambda rs: end(rs[-1]), lambda rs: len(rs)),
    # nothing complete, not even the warcinfo: the file goes
    "inside the warcinfo": (lambda rs: mid(rs[0]), lambda rs: 0),
}


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["one", "two"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_killed_run_is_repaired_to_what_was_complete(
    crawled: dict[str, Path], tmp_path: Path, which: str, case: str
):
    cut_at, kept_count = CASES[case]
    state = crash(crawled[which], tmp_path / "coll", cut_at)
    # The second run's captures are all revisits; the first run's last one may be either (a
    # payload seen earlier in the run is a revisit too).
    last = state.records[capture_start(state.records, len(state.records) - 1)]
    assert last.type in (("response", "revisit") if which == "one" else ("revisit",))
    assert which == "two" or any(r.type == "response" for r in state.records[-8:])
    kept = state.records[: kept_count(state.records)]
    size = cut_at(state.records)
    assert not verify_collection(state.root).ok  # the crash state is one verify rejects
    rows_before = payload_rows(state.root, "filename, offset")

    report = repair_collection(state.root)

    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)
    assert not open_files(state.root)
    expected_end = end(kept[-1]) if kept else 0
    if kept:
        assert state.warc.read_bytes() == state.original[:expected_end]
        assert len(list(iter_records(state.warc))) == len(kept)
    else:
        assert not state.warc.exists()
    (repaired,) = report.warcs
    assert (repaired.name, repaired.records_kept) == (state.name, len(kept))
    assert repaired.bytes_cut == size - expected_end
    # Each whole record past the end is cut, and the incomplete one the file ends in, if any.
    whole = [r for r in state.records[len(kept) :] if end(r) <= size]
    incomplete = size not in {0, *(end(r) for r in state.records)}
    assert repaired.records_cut == len(whole) + incomplete
    assert_index_and_manifest(state, report, expected_end)
    assert report.dedup_entries_dropped == len(
        [row for row in rows_before if row[0] == state.name and row[1] >= expected_end]
    )
    assert_dedup_resolves(state.root)
    assert_repair_is_idempotent(state.root)


def assert_index_and_manifest(state: Crash, report: RepairReport, expected_end: int) -> None:
    """Exactly the lines of records past the cut are gone, and the cut lines."""

    def survives(name: str, offset: int) -> bool:
        return name != state.name or offset < expected_end

    index = [line for line in state.index if survives(*index_target(line))]
    assert lines(state.root / "indexes" / f"{state.run}.cdxj") == index
    (sealed,) = report.indexes
    assert (sealed.run_id, sealed.lines_kept) == (state.run, len(index))
    dropped = len(state.index) - len(index) - sealed.lines_added
    assert sealed.lines_dropped == dropped + 1  # + the cut line
    manifest = [
        line
        for line in state.manifest
        if survives(json.loads(line)["warc_filename"], json.loads(line)["warc_offset"])
    ]
    assert lines(state.root / "manifest.jsonl") == manifest
    assert report.manifest_rewritten
    assert report.manifest_lines_dropped == len(state.manifest) - len(manifest) + 1


def index_target(line: bytes) -> tuple[str, int]:
    fields = json.loads(line.split(b" ", 2)[2])
    return fields["filename"], int(fields["offset"])


def assert_dedup_resolves(root: Path) -> None:
    """No dedup payload row may point where no record starts: the next run would revisit it."""
    starts = {(p.name, r.offset) for p in root.glob("warcs/*.warc.gz") for r in iter_records(p)}
    rows = payload_rows(root, "filename, offset")
    assert not [row for row in rows if tuple(row) not in starts]


def assert_repair_is_idempotent(root: Path) -> None:
    before = snapshot(root)
    again = repair_collection(root)
    assert not again.changed
    assert again.summary() == "nothing to repair"
    assert snapshot(root) == before


# -- index lines the run never wrote -------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["one", "two"])
@pytest.mark.parametrize("lost", [1, 3])
def test_a_capture_whose_index_line_was_lost_is_indexed_again(
    crawled: dict[str, Path], tmp_path: Path, which: str, lost: int
):
    """Killed after writing a pair, before its index line: the pair is whole, and kept."""
    state = crash(crawled[which], tmp_path / "coll", lambda rs: end(rs[-1]), lost_lines=lost)
    report = repair_collection(state.root)
    assert lines(state.root / "indexes" / f"{state.run}.cdxj") == state.index
    assert [(i.lines_added, i.lines_dropped) for i in report.indexes] == [(lost, 1)]
    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)
    assert_repair_is_idempotent(state.root)


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["one", "two"])
def test_index_lines_made_from_records_are_the_lines_the_crawl_wrote(
    crawled: dict[str, Path], tmp_path: Path, which: str
):
    """Every capture of the last run (responses of every status, revisits of both profiles)
    indexed from its record alone: every WARC of the run open, and no index at all."""
    root = Path(shutil.copytree(crawled[which], tmp_path / "coll"))
    run = max(p.stem for p in (root / "runs").glob("*.json"))
    index = root / "indexes" / f"{run}.cdxj"
    original = index.read_bytes()
    names = {index_target(line)[0] for line in lines(index)}
    index.unlink()
    for name in names:
        (root / "warcs" / name).rename(root / "warcs" / (name + ".open"))
    report = repair_collection(root)
    assert index.read_bytes() == original
    assert [(i.run_id, i.lines_added) for i in report.indexes] == [(run, len(lines(index)))]
    assert (report.records_cut, report.bytes_cut, report.manifest_rewritten) == (0, 0, False)
    verified = verify_collection(root)
    assert verified.ok, render_text(verified)


# -- a real kill -9 ------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_crawl_killed_with_sigkill_is_repaired(tmp_path: Path):
    """Not a simulation: the crawler is killed while writing its second WARC file."""
    output = tmp_path / "coll"
    with SampleSiteServer() as server:
        base = f"http://{SAMPLE_HOST}:{server.port}"
        # --delay slows the crawl enough to kill it halfway (the whole run takes seconds).
        args = ["crawl", base + "/archive/etext/", "--output", str(output), "--delay", "0.05"]
        args += ["--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1", "--warc-size", "20000"]
        crawler = subprocess.Popen(
            [sys.executable, "-m", "archiver", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not list(output.glob("warcs/*-00001-*.open")):
                assert crawler.poll() is None, "the crawl ended before it could be killed"
                assert time.monotonic() < deadline, "the crawl never started a second file"
                time.sleep(0.02)
        finally:
            crawler.kill()
            crawler.wait()
    assert open_files(output) and not list(output.glob("runs/*.json"))
    report = repair_collection(output)
    assert report.changed and len(report.warcs) == 1 and len(report.indexes) == 1
    verified = verify_collection(output)
    assert verified.ok, render_text(verified)
    assert not open_files(output)
    assert_dedup_resolves(output)
    assert_repair_is_idempotent(output)


# -- the cut counts, one by one ------------------------------------------------------------


@pytest.mark.e2e
def test_records_cut_counts_whole_records_and_the_incomplete_one(
    crawled: dict[str, Path], tmp_path: Path
):
    state = crash(crawled["one"], tmp_path / "coll", lambda rs: mid(rs[-1]))
    (repaired,) = repair_collection(state.root).warcs
    assert repaired.records_cut == 2  # the response, whole, and its cut request
    assert repaired.bytes_cut == mid(state.records[-1]) - state.records[-2].offset


@pytest.mark.e2e
def test_zeros_a_power_loss_left_after_the_last_record_are_cut(
    crawled: dict[str, Path], tmp_path: Path
):
    state = crash(crawled["one"], tmp_path / "coll", lambda rs: end(rs[-1]), tail=bytes(4096))
    report = repair_collection(state.root)
    (repaired,) = report.warcs
    assert (repaired.records_kept, repaired.records_cut) == (len(state.records), 1)
    assert repaired.bytes_cut == 4096
    assert state.warc.read_bytes() == state.original
    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)
    assert_repair_is_idempotent(state.root)


@pytest.mark.e2e
def test_the_summary_is_one_line_that_says_what_was_done(crawled: dict[str, Path], tmp_path: Path):
    state = crash(crawled["two"], tmp_path / "coll", lambda rs: mid(rs[-1]))
    summary = repair_collection(state.root).summary()
    assert "\n" not in summary
    assert summary.startswith("1 open WARC closed: ")
    # the last capture: its whole records and the cut one (a pair, or a 304's three)
    cut = len(state.records) - capture_start(state.records, len(state.records) - 1)
    assert f"{cut} cut" in summary and "1 index sealed" in summary and "manifest: " in summary


# -- nothing to do -------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["one", "two"])
def test_a_clean_collection_is_left_as_it_is(crawled: dict[str, Path], tmp_path: Path, which: str):
    root = Path(shutil.copytree(crawled[which], tmp_path / "coll"))
    before = snapshot(root)
    report = repair_collection(root)
    assert not report.changed
    assert report.summary() == "nothing to repair"
    assert snapshot(root) == before


def test_an_empty_or_new_folder_is_nothing_to_do(tmp_path: Path):
    assert not repair_collection(tmp_path / "missing").changed
    (tmp_path / "coll" / "warcs").mkdir(parents=True)
    (tmp_path / "coll" / "manifest.jsonl").write_bytes(b"")
    assert not repair_collection(tmp_path / "coll").changed


# -- other states a crash leaves -----------------------------------------------------------


@pytest.mark.e2e
def test_a_cut_manifest_line_alone_is_dropped(crawled: dict[str, Path], tmp_path: Path):
    """Power loss after a run finished: its files were fsynced, the manifest was not."""
    root = Path(shutil.copytree(crawled["one"], tmp_path / "coll"))
    manifest = root / "manifest.jsonl"
    original = manifest.read_bytes()
    manifest.write_bytes(original + b'{"url": "http://sample.archiver.te')
    report = repair_collection(root)
    assert (report.manifest_lines_dropped, report.warcs, report.indexes) == (1, [], [])
    assert manifest.read_bytes() == original
    assert_repair_is_idempotent(root)


@pytest.mark.e2e
def test_a_whole_last_manifest_line_only_gets_its_newline(crawled: dict[str, Path], tmp_path: Path):
    root = Path(shutil.copytree(crawled["one"], tmp_path / "coll"))
    manifest = root / "manifest.jsonl"
    original = manifest.read_bytes()
    manifest.write_bytes(original[:-1])
    report = repair_collection(root)
    assert (report.manifest_rewritten, report.manifest_lines_dropped) == (True, 0)
    assert manifest.read_bytes() == original


@pytest.mark.e2e
def test_a_run_killed_while_sorting_its_index_leaves_one_sorted_index(
    crawled: dict[str, Path], tmp_path: Path
):
    """Died in CdxjIndex.close: the sorted file is written, the unsorted one not yet removed."""
    root = Path(shutil.copytree(crawled["one"], tmp_path / "coll"))
    (index,) = (root / "indexes").glob("*.cdxj")
    original = index.read_bytes()
    shuffled = lines(index)
    random.Random(3).shuffle(shuffled)
    index.with_name(index.name + ".open").write_bytes(b"".join(shuffled))
    report = repair_collection(root)
    assert [(i.lines_kept, i.lines_dropped, i.lines_added) for i in report.indexes] == [
        (len(shuffled), 0, 0)
    ]
    assert index.read_bytes() == original
    assert not open_files(root)
    assert_repair_is_idempotent(root)


@pytest.mark.e2e
def test_a_repair_that_died_midway_is_finished_by_the_next(
    crawled: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Repair dies after sealing the index and the manifest, before closing the WARC."""

    def cut(records: list[Record]) -> int:
        return mid(records[-1])

    whole = crash(crawled["one"], tmp_path / "whole", cut)
    repair_collection(whole.root)
    state = crash(crawled["one"], tmp_path / "coll", cut)

    def power_cut(plan: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(archiver.collection.repair, "_close_warc", power_cut)
        with pytest.raises(OSError, match="power cut"):
            repair_collection(state.root)
    assert (state.root / "warcs" / (state.name + ".open")).exists()
    report = repair_collection(state.root)
    assert [w.records_kept for w in report.warcs] == [len(state.records) - 2]
    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)
    assert without_dedup(snapshot(state.root)) == without_dedup(snapshot(whole.root))
    assert payload_rows(state.root) == payload_rows(whole.root)


def without_dedup(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in files.items() if not name.startswith("dedup.sqlite3")}


def payload_rows(root: Path, columns: str = "*") -> list[tuple]:
    with closing(sqlite3.connect(root / "dedup.sqlite3")) as db:
        return db.execute(f"SELECT {columns} FROM payloads ORDER BY digest").fetchall()


@pytest.mark.e2e
def test_an_open_file_beside_its_finished_name_is_left_for_a_person(
    crawled: dict[str, Path], tmp_path: Path
):
    root = Path(shutil.copytree(crawled["one"], tmp_path / "coll"))
    warc = max((root / "warcs").glob("*.warc.gz"))
    shutil.copy(warc, warc.with_name(warc.name + ".open"))
    before = snapshot(root)
    with pytest.raises(CollectionError, match="both"):
        repair_collection(root)
    assert snapshot(root) == before


# -- commit marks: what was written but never committed ------------------------------------


def set_mark(root: Path, name: str, end_offset: int) -> None:
    with closing(sqlite3.connect(root / "dedup.sqlite3")) as db, db:
        db.execute("UPDATE commit_marks SET end_offset = ? WHERE filename = ?", (end_offset, name))
        assert db.total_changes == 1, "the crawl left a mark for every file"


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["one", "two"])
def test_records_past_the_commit_mark_are_cut_with_their_lines(
    crawled: dict[str, Path], tmp_path: Path, which: str
):
    """Killed after writing records but before the checkpoint that would commit them: they
    are whole, but their rows were never committed, so they go (the resumed run refetches)."""
    state = crash(crawled[which], tmp_path / "coll", lambda rs: end(rs[-1]))
    ends = [  # a capture ends after its request, or after a 304's metadata record
        i
        for i, r in enumerate(state.records)
        if r.type in ("request", "metadata")
        and [n.type for n in state.records[i + 1 : i + 2]] != ["metadata"]
    ]
    last_kept = ends[len(ends) // 2]
    mark = end(state.records[last_kept])
    set_mark(state.root, state.name, mark)
    report = repair_collection(state.root)
    assert state.warc.read_bytes() == state.original[:mark]
    (repaired,) = report.warcs
    assert repaired.records_kept == last_kept + 1
    assert repaired.records_cut == len(state.records) - last_kept - 1
    assert_index_and_manifest(state, report, mark)
    assert_dedup_resolves(state.root)
    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)
    assert_repair_is_idempotent(state.root)


@pytest.mark.e2e
def test_an_open_file_with_nothing_committed_is_removed(crawled: dict[str, Path], tmp_path: Path):
    state = crash(crawled["one"], tmp_path / "coll", lambda rs: end(rs[-1]))
    set_mark(state.root, state.name, end(state.records[0]))  # its warcinfo only
    report = repair_collection(state.root)
    assert not state.warc.exists() and not (state.root / "warcs" / (state.name + ".open")).exists()
    (repaired,) = report.warcs
    assert repaired.removed and repaired.records_cut == len(state.records)
    assert_index_and_manifest(state, report, 0)
    verified = verify_collection(state.root)
    assert verified.ok, render_text(verified)


# -- a 304's records -----------------------------------------------------------------------


def written_304(root: Path) -> tuple[Path, WrittenExchange]:
    """Two runs by the archivist; the second, a page and then a 304 for the first run's page,
    left as a killed run leaves it (its WARC still .open), after a checkpoint."""
    first = open_archivist(root)
    first.archive(capture("/a.html", page("A"), headers=((b"ETag", b'"v1"'),)))
    first.close()
    second = open_archivist(root, RUN_2)
    second.archive(capture("/b.html", page("B")))
    item = answer_not_modified(second, "/a.html", RAW_304)
    second.archive(item)
    second.checkpoint()
    second.abandon()
    (path,) = (root / "warcs").glob("*.open")
    assert item.written is not None and item.written.metadata is not None
    assert item.written.end == path.stat().st_size
    return path, item.written


def test_a_file_may_end_on_a_304s_metadata_record(tmp_path: Path):
    path, written = written_304(tmp_path)
    report = repair_collection(tmp_path)
    final = path.with_name(path.name.removesuffix(".open"))
    assert final.stat().st_size == written.end
    assert [r.type for r in iter_records(final)][-3:] == ["revisit", "request", "metadata"]
    assert report.records_cut == 0
    verified = verify_collection(tmp_path)
    assert verified.ok, render_text(verified)


def test_a_304_whose_metadata_record_was_cut_is_cut_from_its_revisit(tmp_path: Path):
    """Power lost bytes the mark says were committed: the 304's metadata record is damaged,
    so its revisit and request go too (the rest of the capture cannot stand for the 304)."""
    path, written = written_304(tmp_path)
    assert written.metadata is not None
    with open(path, "r+b") as f:
        f.truncate(written.metadata.offset + written.metadata.length // 2)
    report = repair_collection(tmp_path)
    final = path.with_name(path.name.removesuffix(".open"))
    assert final.stat().st_size == written.response.offset
    assert [r.type for r in iter_records(final)][-2:] == ["response", "request"]
    (repaired,) = report.warcs
    assert repaired.records_cut == 3  # the revisit, the request, the cut metadata record
    assert report.manifest_lines_dropped == 1 and report.index_lines_dropped == 1
    verified = verify_collection(tmp_path)
    assert verified.ok, render_text(verified)
    assert_repair_is_idempotent(tmp_path)


def test_a_304_revisit_and_request_ending_a_file_without_marks_are_kept(tmp_path: Path):
    """Nothing lost after them and no mark to say otherwise: a 304 written before 304s had a
    metadata record (or one killed right before it), whole as a capture."""
    path, written = written_304(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(written.request.end)
    (tmp_path / SqliteDedupIndex.FILENAME).unlink()
    report = archiver.collection.repair.repair_collection(tmp_path, _NoIndex())
    final = path.with_name(path.name.removesuffix(".open"))
    assert final.stat().st_size == written.request.end
    assert report.records_cut == 0
