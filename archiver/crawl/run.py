"""One crawl run: its id, its collection, the collection's lock, dedup index and frontier.

Every component of a crawl shares one Run. ``archiver crawl`` makes it before Scrapy starts
(so a busy collection is refused at once) and attaches it to the crawler; under
``scrapy crawl`` the first component that asks makes it.

A run that did not finish (killed, stopped, out of disk) left its frontier; the next run of
the collection with the same seeds and scope resumes it under the same run id.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.collection.dedup import open_index
from archiver.collection.frontier import Frontier
from archiver.collection.layout import Collection
from archiver.collection.lock import CollectionLock
from archiver.collection.repair import repair_collection
from archiver.collection.runs import previous_run, read_summary
from archiver.collection.summary import RunSettings, SummaryError
from archiver.crawl.notable import Notable
from archiver.crawl.options import CrawlOptions
from archiver.crawl.timeline import Timeline
from archiver.model import defaults
from archiver.model.dedup import DedupIndex
from archiver.model.errors import CollectionError, CollectionUnwritable
from archiver.model.fingerprint import Fingerprint
from archiver.model.stops import StopReason

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from archiver.archive.worker import ArchiveWorker
    from archiver.crawl.reading import PageReading

logger = logging.getLogger(__name__)
_ATTR = "_archiver_run"


@dataclass(slots=True)
class Run:
    run_id: str
    started: datetime
    collection: Collection
    lock: CollectionLock
    index: DedupIndex
    frontier: Frontier
    previous_run: str | None  # the collection's last run before this one
    resumes: int = 0  # how often this run was resumed (0: a new run)
    closed: bool = False
    # Started by `archiver crawl` before Scrapy is, for the archive pipeline to take.
    worker: ArchiveWorker | None = None
    notable: Notable = field(default_factory=Notable)  # slowest, largest, failed URLs
    timeline: Timeline = field(default_factory=Timeline)  # pages over time
    # Set by the spider: who reads pages (the pipeline hands it the worker's links), and what
    # decides what the run captures, as the spider resolved it (warcinfo, summary).
    reading: PageReading | None = None
    describe: Callable[[], RunSettings] | None = None

    @classmethod
    def of(cls, crawler: Crawler) -> Run:
        """The run of *crawler*, made on first use so every component sees the same one."""
        run = getattr(crawler, _ATTR, None)
        if run is None:
            options = CrawlOptions.of(crawler)
            run = cls.start(
                options.output,
                options.run_id,
                index_class=options.dedup_index,
                fingerprint=options.fingerprint(crawler.spidercls.name),
                restart=options.restart,
            )
            cls.attach(crawler, run)
        return run

    @staticmethod
    def attach(crawler: Crawler, run: Run) -> None:
        setattr(crawler, _ATTR, run)

    @classmethod
    def start(
        cls,
        output: str | Path,
        run_id: str | None = None,
        *,
        index_class: str = defaults.DEDUP_INDEX,
        fingerprint: Fingerprint | None = None,
        restart: bool = False,
    ) -> Run:
        """Create the collection if needed, take its lock, repair it, resume or begin a run.

        ``fingerprint``: what decides what the run captures (seeds, scope); an unfinished run
        is resumed only by a run with the same one.
        """
        started = datetime.now(UTC)
        collection = Collection(Path(output))
        collection.create()
        lock = CollectionLock(collection.root)
        lock.acquire(run_id or "starting")  # raises CollectionBusy while another run holds it
        if lock.stale:
            logger.warning(
                "cleared the lock of a run that stopped without releasing it: %s", lock.stale
            )
        index: DedupIndex | None = None
        frontier: Frontier | None = None
        try:
            index = open_index(index_class, collection.root)
            # What a killed run or a full disk left half-written is made whole before anything
            # new is written (the lock guarantees no other run is writing it).
            repaired = repair_collection(collection.root, index)
            if repaired.changed:
                logger.warning("repaired what an earlier run left: %s", repaired.summary())
            # Bodies a dead run spooled for records it never wrote: those are fetched again.
            if collection.clear_spool():
                logger.info("removed the bodies an earlier run left in %s", collection.spool)
            frontier = Frontier.for_collection(collection.root)
            wanted = fingerprint or Fingerprint()
            resumes = _resume(collection, frontier, wanted, restart)
            if resumes:
                run_id = frontier.run_id
                assert run_id is not None
                logger.warning("resuming run %s where it stopped (resume %d)", run_id, resumes)
            else:
                run_id = run_id or collection.new_run_id(started)
                frontier.begin(run_id, wanted)
            lock.relabel(run_id)
        except BaseException as exc:
            for opened in (frontier, index):
                if opened is not None:
                    with contextlib.suppress(sqlite3.Error):
                        opened.close()
            lock.release()
            if isinstance(exc, sqlite3.Error | OSError) and not isinstance(exc, CollectionError):
                raise CollectionUnwritable(
                    f"cannot prepare the collection {collection.root} ({exc}); "
                    "if the disk is full, free some space and run the same command again"
                ) from exc
            raise
        previous = previous_run(collection, before=run_id)
        return cls(run_id, started, collection, lock, index, frontier, previous, resumes)

    def close(self, *, finished: bool = False) -> None:
        """Release everything; ``finished``: the run is complete, its frontier goes."""
        if self.closed:
            return
        self.closed = True
        if self.worker is not None:  # the crawl ended before its pipeline took the worker
            self.worker.stop()
        try:
            self.index.close()
            if finished:
                self.frontier.finish()
            else:
                self.frontier.close()
        except sqlite3.Error as exc:
            logger.warning("the dedup index or frontier could not be closed (%s)", exc)
        finally:
            self.lock.release()


def _resume(collection: Collection, frontier: Frontier, wanted: Fingerprint, restart: bool) -> int:
    """Whether to resume the run the frontier belongs to: how many resumes then, or 0."""
    run_id = frontier.run_id
    if run_id is None or _finished(collection, run_id):
        return 0  # no frontier, or one a finished run did not get to delete
    if restart:
        logger.warning("abandoned the unfinished run %s (--restart)", run_id)
        return 0
    had = frontier.fingerprint or Fingerprint()
    if had != wanted:
        differ = ", ".join(had.differences(wanted))
        raise CollectionError(
            f"{collection.root} has an unfinished run {run_id} with other {differ}: "
            f"{had.to_json()}; run that command again to resume it, "
            "or add --restart to abandon it"
        )
    return frontier.resumed()


def _finished(collection: Collection, run_id: str) -> bool:
    try:
        summary = read_summary(collection, run_id)
    except SummaryError:
        return False  # none (a stop that wrote none), or one that cannot be read
    return summary.finish_reason is StopReason.FINISHED
