"""One crawl run: its id, its collection, the collection's lock and its dedup index.

Every component of a crawl shares one Run. ``archiver crawl`` makes it before Scrapy starts
(so a busy collection is refused at once) and attaches it to the crawler; under
``scrapy crawl`` the first component that asks makes it.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

from archiver.collection import Collection
from archiver.dedup import DedupIndex
from archiver.lock import CollectionLock
from archiver.repair import repair_collection

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
_ATTR = "_archiver_run"
DEFAULT_INDEX = "archiver.dedup.SqliteDedupIndex"


@dataclass(slots=True)
class Run:
    run_id: str
    started: datetime
    collection: Collection
    lock: CollectionLock
    index: DedupIndex
    previous_run: str | None  # the collection's last run before this one
    closed: bool = False

    @classmethod
    def of(cls, crawler: Crawler) -> Run:
        """The run of *crawler*, made on first use so every component sees the same one."""
        run = getattr(crawler, _ATTR, None)
        if run is None:
            settings = crawler.settings
            run = cls.start(
                settings.get("ARCHIVER_OUTPUT"),
                settings.get("ARCHIVER_RUN_ID") or None,
                index_class=settings.get("ARCHIVER_DEDUP_INDEX") or DEFAULT_INDEX,
            )
            cls.attach(crawler, run)
        return run

    @staticmethod
    def attach(crawler: Crawler, run: Run) -> None:
        setattr(crawler, _ATTR, run)

    @classmethod
    def start(
        cls, output: str | Path, run_id: str | None = None, *, index_class: str = DEFAULT_INDEX
    ) -> Run:
        """Create the collection if needed, take its lock, open its index."""
        started = datetime.now(UTC)
        collection = Collection(Path(output))
        collection.create()
        previous = previous_run(collection)
        run_id = run_id or unique_run_id(collection, started)
        lock = CollectionLock(collection.root)
        lock.acquire(run_id)  # raises CollectionBusy while another run holds it
        if lock.stale:
            logger.warning(
                "cleared the lock of a run that stopped without releasing it: %s", lock.stale
            )
        try:
            # What a killed run or a full disk left half-written is made whole before anything
            # new is written (the lock guarantees no other run is writing it).
            repaired = repair_collection(collection.root)
            if repaired.changed:
                logger.warning("repaired what an earlier run left: %s", repaired.summary())
            index = load_object(index_class).for_collection(collection.root)
        except BaseException:
            lock.release()
            raise
        return cls(run_id, started, collection, lock, index, previous)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.index.close()
        except sqlite3.Error as exc:
            # Rows not committed only mean those payloads are stored in full again next time.
            logger.warning("the dedup index could not be saved (%s); the next run re-learns", exc)
        finally:
            self.lock.release()


def unique_run_id(collection: Collection, started: datetime) -> str:
    base = started.strftime("%Y%m%d%H%M%S")
    run_id, serial = base, 1
    # Two runs started in one second would share files; the second gets a suffix.
    while collection.summary_for(run_id).exists() or collection.index_for(run_id).exists():
        serial += 1
        run_id = f"{base}-{serial}"
    return run_id


def previous_run(collection: Collection) -> str | None:
    """Run ids sort by start time (they are UTC timestamps), so the last summary is the last run."""
    ids = sorted(p.stem for p in collection.runs.glob("*.json"))
    return ids[-1] if ids else None


def crawl_settings(crawler: Crawler) -> dict[str, Any]:
    """The settings that decide what a run captures: recorded in warcinfo and the run summary."""
    settings = crawler.settings
    spider = crawler.spider
    scope = getattr(spider, "scope", None)
    return {
        "seeds": list(getattr(spider, "seeds", [])),
        "scope": list(scope.prefixes) if scope else [],
        "allow_hosts": sorted(scope.allow_hosts) if scope else [],
        "exclude": [p.pattern for p in scope.exclude] if scope else [],
        "max_pages": settings.getint("ARCHIVER_MAX_PAGES"),
        "max_depth": settings.getint("ARCHIVER_MAX_DEPTH"),
        "robots": settings.get("ARCHIVER_ROBOTS"),
        "user_agent": settings.get("USER_AGENT"),
        "concurrency": settings.getint("CONCURRENT_REQUESTS"),
        "delay": settings.getfloat("DOWNLOAD_DELAY"),
        "warc_size": settings.getint("ARCHIVER_WARC_SIZE"),
        "warc_prefix": settings.get("ARCHIVER_WARC_PREFIX"),
        "resolve": settings.getlist("ARCHIVER_RESOLVE"),
        "recheck": settings.getbool("ARCHIVER_RECHECK"),
        "dedup_max_age_days": settings.getfloat("ARCHIVER_DEDUP_MAX_AGE"),
    }
