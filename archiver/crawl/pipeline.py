"""The item pipeline: hands each capture to the archive worker, and stops the crawl when the
collection cannot be written.

The archiving itself (text and links, dedup, records, manifest and index lines, checkpoints)
runs in the worker process (archiver.archive), on the core the crawl leaves free. The links it
reads go back to the crawl (reading.PageReading); what it counts comes back into the crawl's
stats, so the run summary and the log read as from one process.
"""

from __future__ import annotations

import functools
import json
import logging
import platform
import socket
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from twisted.internet.interfaces import IReadDescriptor
from zope.interface import implementer

import archiver
from archiver.archive.protocol import (
    ArchiveConfig,
    Capture,
    Closed,
    Died,
    Drained,
    Failed,
    FromWorker,
    Links,
    Log,
    Ready,
    Stats,
    Sync,
)
from archiver.archive.worker import ArchiveWorker
from archiver.collection.summary import RunSettings
from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.crawl.stopping import stop_crawl
from archiver.model.stops import StopReason

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from archiver.crawl.reading import PageReading

logger = logging.getLogger(__name__)


def software() -> str:
    parts = "; ".join(f"{name} {version(name)}" for name in ("Scrapy", "warcio", "Twisted", "lxml"))
    return f"archiver/{archiver.__version__} ({parts}; Python {platform.python_version()})"


def warcinfo_fields(options: CrawlOptions, run: Run) -> dict[str, str]:
    """What every WARC file says about how it was made (WARC 1.1 annex C fields first)."""
    recorded = run.describe() if run.describe is not None else RunSettings()
    return {
        "software": software(),
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "hostname": socket.gethostname(),
        "operator": options.operator,
        "robots": str(options.robots),
        "http-header-user-agent": options.user_agent,
        "isPartOf": run.collection.root.resolve().name,
        "description": f"archiver run {run.run_id}",
        "archiver-run-id": run.run_id,
        "archiver-settings": json.dumps(recorded.to_json(), sort_keys=True),
    }


def archive_config(options: CrawlOptions, run: Run) -> ArchiveConfig:
    return ArchiveConfig(
        root=run.collection.root,
        run_id=run.run_id,
        index_class=options.dedup_index,
        warc_prefix=options.warc_prefix,
        warc_size=options.warc_size,
        warcinfo=warcinfo_fields(options, run),
        dedup_max_age=options.dedup_max_age,
        checkpoint_captures=options.checkpoint_captures,
        checkpoint_seconds=options.checkpoint_seconds,
    )


class ArchivePipeline:
    """Sends captures to the archive worker; applies what it says on the reactor thread."""

    def __init__(
        self,
        worker: ArchiveWorker,
        config: ArchiveConfig,
        frontier_path: Path,
        reading: PageReading | None,
        stats: StatsCollector,
        stop: Callable[[StopReason, str], None],
    ) -> None:
        self.worker = worker
        self.config = config
        self.frontier_path = frontier_path
        self.reading = reading  # None: a spider that sends no page to the worker to read
        self.stats = stats
        self._stop_crawl = stop
        self.closing = False
        # False once the frontier failed to take a page's links: no capture may be committed
        # from then on, as its links might be missing (archiver.archive.protocol).
        self.links_committed = True
        self._watch = _Readable(self.worker.fileno, self._take_messages)
        self._watching = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        options = CrawlOptions.of(crawler)
        # --no-warc (for measurement only) turns archiving off: the crawl fetches and follows
        # links, nothing is read for text or written.
        if options.no_warc:
            raise NotConfigured("--no-warc: nothing is archived")
        run = Run.of(crawler)
        # Started by `archiver crawl` already, or now, so that its start-up overlaps the
        # crawl's; opened in open_spider.
        worker = run.worker or ArchiveWorker(lock_fd=run.lock.fileno())
        run.worker = None  # this pipeline closes it
        assert crawler.stats is not None
        return cls(
            worker,
            archive_config(options, run),
            run.frontier.path,
            run.reading,
            crawler.stats,
            functools.partial(stop_crawl, crawler),
        )

    def open_spider(self) -> None:
        from twisted.internet import reactor  # the one Scrapy installed; not at import time

        self.worker.open(self.config, self.frontier_path)
        reactor.addReader(self._watch)
        self._watching = True
        if self.worker.ready:
            if self.reading is not None:
                self.reading.worker_opened()  # pages are read in the worker from now on
        else:  # it says why, and the crawl stops before it fetches much
            reactor.callLater(0, self._take_messages)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Capture):
            if self.worker.ready:
                self.worker.submit(item)
            else:
                self.stats.inc_value("archiver/not_archived")
        return item

    def close_spider(self) -> None:
        self.closing = True
        self._unwatch()
        # The worker's last checkpoint commits every capture it holds: the links of each
        # must be in the frontier first, so they are taken until DRAINED, which comes after
        # them (what a stopped crawl had in the pipe takes a fraction of a second). Once the
        # frontier has failed, nothing more can be committed and nothing is waited for: the
        # worker, which then waits for an answer to its SYNC, would send no more links.
        if self.worker.ready and self.links_committed:
            self.worker.drain()
            drained = False
            while not drained and self.links_committed and not self.worker.ended:
                messages = self.worker.receive(wait=True)
                self._handle(messages)
                drained = any(isinstance(message, Drained) for message in messages)
        self.worker.finish(self._handle, links_committed=self.links_committed)

    def _take_messages(self) -> None:
        self._handle(self.worker.receive())
        if self.worker.ended:
            self._unwatch()

    def _unwatch(self) -> None:
        from twisted.internet import reactor

        if self._watching:
            self._watching = False
            reactor.removeReader(self._watch)

    def _handle(self, messages: list[FromWorker]) -> None:
        for message in messages:
            match message:
                case Links(base, depth, links):
                    assert self.reading is not None  # only pages sent for reading have links
                    admitted = self.reading.links_read(base, depth, links)
                    self.links_committed = self.links_committed and admitted
                case Sync():
                    if self.links_committed:  # otherwise the worker commits nothing more
                        self.worker.synced()
                case Stats(added, values):
                    for key, count in added.items():
                        self.stats.inc_value(key, count)
                    for key, value in values.items():
                        self.stats.set_value(key, value)
                case Log(level, name, text):
                    logging.getLogger(name).log(level, "%s", text)
                case Failed(reason, text):
                    self._stop(reason, f"cannot write to the collection ({text})")
                case Closed(failure) if failure is not None:
                    if self.stats.get_value("archiver/stop_reason") is None:
                        self.stats.set_value("archiver/stop_reason", failure)
                case Died(exit_code):
                    self._stop(
                        StopReason.WORKER_DIED,
                        f"the archive worker stopped unexpectedly (exit code {exit_code}); "
                        "the next run of the same command repairs and resumes",
                    )
                case Ready() | Drained() | Closed():
                    pass  # Ready and Drained are waited for where they are due

    def _stop(self, reason: StopReason, text: str) -> None:
        if self.closing:  # the engine is closing already; the reason still counts
            if self.stats.get_value("archiver/stop_reason") is None:
                logger.critical("%s", text)
                self.stats.set_value("archiver/stop_reason", reason)
            return
        self._stop_crawl(reason, text)


@implementer(IReadDescriptor)
class _Readable:
    """The worker's end of the results pipe, watched by the reactor: its messages are read
    on the reactor's thread when they come, with no thread of their own."""

    def __init__(self, fileno: Callable[[], int], on_read: Callable[[], None]) -> None:
        self.fileno = fileno
        self._on_read = on_read

    def doRead(self) -> None:
        self._on_read()

    def connectionLost(self, reason: object) -> None:
        pass

    def logPrefix(self) -> str:
        return "archiver-worker"
