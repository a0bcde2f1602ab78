"""The archive worker process (archiver/worker.py) on its own: started, opened, closed.

Crawls through it are tested everywhere else; these pin what a crawl seldom shows: a worker
that is never opened, an archive that cannot be opened, and the lock a worker holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.archive.protocol import ArchiveConfig, Closed, Failed, FromWorker
from archiver.archive.worker import ArchiveWorker
from archiver.collection.layout import Collection
from archiver.collection.lock import CollectionBusy, CollectionLock
from archiver.crawl.run import Run
from archiver.model.defaults import DEDUP_INDEX as DEFAULT_INDEX
from archiver.model.stops import StopReason


def _config(root: Path) -> ArchiveConfig:
    return ArchiveConfig(
        root=root, run_id="20261125000000", index_class=DEFAULT_INDEX, warc_prefix="test",
        warc_size=10**9, warcinfo={}, dedup_max_age=0, checkpoint_captures=500,
        checkpoint_seconds=10.0,
    )  # fmt: skip


def _locked(root: Path) -> CollectionLock:
    Collection(root).create()
    lock = CollectionLock(root)
    lock.acquire("20261125000000")
    return lock


def _said(worker: ArchiveWorker) -> list[FromWorker]:
    """Finish the worker: everything it says until it ends."""
    said: list[FromWorker] = []
    worker.finish(said.extend)
    return said


def test_a_worker_closed_before_it_was_opened_ends_at_once(tmp_path: Path):
    lock = _locked(tmp_path)
    worker = ArchiveWorker(lock_fd=lock.fileno())
    assert _said(worker) == []
    assert worker.process.exitcode == 0
    assert not list((tmp_path / "warcs").iterdir()), "nothing was written"


def test_an_archive_that_cannot_be_opened_is_reported_and_takes_nothing(tmp_path: Path):
    lock = _locked(tmp_path)
    (tmp_path / "manifest.jsonl").mkdir()  # the manifest cannot be opened for appending
    worker = ArchiveWorker(lock_fd=lock.fileno())
    worker.open(_config(tmp_path), tmp_path / "frontier.sqlite3")
    assert not worker.ready
    (failed, closed) = _said(worker)
    assert isinstance(failed, Failed) and failed.reason is StopReason.WRITE_ERROR
    assert "cannot open the archive" in failed.text and "manifest.jsonl" in failed.text
    assert closed == Closed(StopReason.WRITE_ERROR)
    assert worker.process.exitcode == 0


def test_the_worker_keeps_the_collection_locked_while_it_lives(tmp_path: Path):
    lock = _locked(tmp_path)
    worker = ArchiveWorker(lock_fd=lock.fileno())
    # The crawl process lets go (as when it dies): the worker's copy still holds the lock,
    # so no other run can start writing beside it.
    lock.release()
    with pytest.raises(CollectionBusy):
        CollectionLock(tmp_path).acquire("another run")
    assert _said(worker) == []
    after = CollectionLock(tmp_path)
    after.acquire("another run")  # the worker is gone, and the lock with it
    after.release()


def test_a_worker_started_for_a_run_that_never_crawls_ends_with_the_run(tmp_path: Path):
    # `archiver crawl` starts the worker before Scrapy; if the crawl fails before its
    # pipeline takes the worker, closing the run ends it and frees the collection.
    run = Run.start(tmp_path)
    run.worker = worker = ArchiveWorker(lock_fd=run.lock.fileno())
    run.close()
    assert worker.ended and worker.process.exitcode == 0
    after = CollectionLock(tmp_path)
    after.acquire("another run")
    after.release()
