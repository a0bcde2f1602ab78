"""ProgressDisplay: what a crawl is doing while it runs, and its pages over time afterwards.

On a terminal, a live display redrawn twice a second with rich: pages fetched and archived,
queued, MB written, revisits, errors, rate, elapsed time and the WARC file being written. When
standard error is not a terminal (cron, a pipe), a plain line every 30 s instead, which the
collection's log also gets. Every tick also samples the run's timeline, which the run summary
keeps (summary.py) and the run report draws.

Everything is read from the crawl stats, which the archive worker's reports keep current once
a second (worker.py), and from the frontier; the display holds no counts of its own.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals
from twisted.internet import task

from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.crawl.spider import ArchiveSpider
from archiver.model.modes import ProgressMode

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

LIVE_TICK_SECONDS = 0.5  # the display is redrawn at least once a second
QUIET_TICK_SECONDS = 1.0  # the timeline's resolution when nothing is drawn
RATE_WINDOW_SECONDS = 10.0  # the rate shown is over this much of the recent past


@dataclass(frozen=True, slots=True)
class Snapshot:
    elapsed: float
    fetched: int  # answers received (exchanges captured)
    archived: int  # captures written to the WARC (the worker's count; 0 with --no-warc)
    queued: int | None  # None if the frontier could not be read (a full disk)
    warc_bytes: int
    revisits: int
    errors: int  # fetches with no answer, and answers with HTTP status >= 400
    rate: float  # pages fetched per second, over the last RATE_WINDOW_SECONDS
    warc_file: str | None


def progress_line(snapshot: Snapshot) -> str:
    """The plain progress line, for logs and for output that is not a terminal."""
    queued = "?" if snapshot.queued is None else f"{snapshot.queued:,}"
    return (
        f"{_duration(snapshot.elapsed)} elapsed: {snapshot.fetched:,} fetched, "
        f"{snapshot.archived:,} archived, {queued} queued, "
        f"{snapshot.warc_bytes / 1e6:,.1f} MB written, {snapshot.revisits:,} revisits, "
        f"{snapshot.errors:,} errors, {snapshot.rate:,.1f} pages/s"
        + (f", WARC {snapshot.warc_file}" if snapshot.warc_file else "")
    )


def progress_table(snapshot: Snapshot, title: str) -> RenderableType:
    """The live display: the same figures as progress_line, laid out to be read at a glance."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    queued = "?" if snapshot.queued is None else f"{snapshot.queued:,}"
    table = Table.grid(padding=(0, 1))
    for _ in range(4):
        table.add_column(style="dim", justify="right")
        table.add_column(style="bold", min_width=8)
    table.add_row(
        "elapsed", _duration(snapshot.elapsed),
        "fetched", f"{snapshot.fetched:,}",
        "archived", f"{snapshot.archived:,}",
        "queued", queued,
    )  # fmt: skip
    table.add_row(
        "rate", f"{snapshot.rate:,.1f}/s",
        "written", f"{snapshot.warc_bytes / 1e6:,.1f} MB",
        "revisits", f"{snapshot.revisits:,}",
        "errors", f"{snapshot.errors:,}",
    )  # fmt: skip
    warc = Text.assemble(("   WARC ", "dim"), (snapshot.warc_file or "-", "bold"))
    return Group(Text(title, style="italic", overflow="ellipsis", no_wrap=True), table, warc)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class ProgressDisplay:
    def __init__(
        self,
        run: Run,
        stats: StatsCollector,
        waiting: Callable[[], int],
        *,
        seeds: Sequence[str],
        mode: ProgressMode,
        log_every: float,
        console_log_level: str,
    ) -> None:
        self.run = run
        self.stats = stats
        self.waiting = waiting  # URLs admitted and not yet requested
        self.seeds = seeds
        if mode is ProgressMode.AUTO:
            mode = ProgressMode.LIVE if sys.stderr.isatty() else ProgressMode.LOG
        self.mode = mode
        self.log_every = log_every
        # When the console shows INFO (--verbose) the logged line reaches it already.
        console_level = logging.getLevelName(console_log_level)
        self.print_lines = mode is ProgressMode.LOG and console_level not in (
            logging.DEBUG,
            logging.INFO,
        )
        self.started = time.monotonic()
        self.last_line = self.started
        self.recent: deque[tuple[float, int]] = deque()
        self.live: Live | None = None
        self.last_warc: str | None = None
        self._streams: list[tuple[logging.StreamHandler[Any], IO[str]]] = []
        self._loop = task.LoopingCall(self.tick)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressDisplay:
        options = CrawlOptions.of(crawler)
        run = Run.of(crawler)
        assert crawler.stats is not None

        def waiting() -> int:
            spider = crawler.spider
            if isinstance(spider, ArchiveSpider):
                return spider.waiting()
            return run.frontier.queued()

        display = cls(
            run,
            crawler.stats,
            waiting,
            seeds=options.seeds,
            mode=options.progress,
            log_every=options.progress_log_seconds,
            console_log_level=options.console_log_level,
        )
        crawler.signals.connect(display.engine_started, signal=signals.engine_started)
        crawler.signals.connect(display.spider_closed, signal=signals.spider_closed)
        return display

    def engine_started(self) -> None:
        self.started = self.last_line = time.monotonic()
        self.recent.append((self.started, 0))  # the rate of a run younger than its window
        if self.mode is ProgressMode.LIVE:
            self._start_live()
        tick = LIVE_TICK_SECONDS if self.live is not None else QUIET_TICK_SECONDS
        self._loop.start(tick, now=False)

    def spider_closed(self) -> None:
        """The last sample, before the run summary (connected after this) reads the timeline."""
        if self._loop.running:
            self._loop.stop()
        self._sample(last=True)
        if self.live is not None:
            self._stop_live()

    def tick(self) -> None:
        snapshot = self._sample()
        now = time.monotonic()
        # A LoopingCall may run a few ms early: a line due within a tenth of a second is due.
        if self.mode is not ProgressMode.OFF and now - self.last_line >= self.log_every - 0.1:
            self.last_line = now
            line = progress_line(snapshot)
            logger.info("progress: %s", line)
            if self.print_lines:
                print(f"archiver: {line}", file=sys.stderr, flush=True)

    def _sample(self, *, last: bool = False) -> Snapshot:
        """Take a snapshot into the timeline and onto the live display, if there is one."""
        snapshot = self.snapshot()
        captures = snapshot.archived or snapshot.fetched  # --no-warc archives nothing
        self.run.timeline.add(snapshot.elapsed, captures, snapshot.warc_bytes, last=last)
        if self.live is not None:
            self.live.update(self._table(snapshot), refresh=True)
        return snapshot

    def snapshot(self) -> Snapshot:
        stats = self.stats
        now = time.monotonic()
        fetched = stats.get_value("archiver/exchanges_captured", 0)
        self.recent.append((now, fetched))
        while now - self.recent[0][0] > RATE_WINDOW_SECONDS:
            self.recent.popleft()
        then, fetched_then = self.recent[0]
        rate = (fetched - fetched_then) / (now - then) if now > then else 0.0
        return Snapshot(
            elapsed=now - self.started,
            fetched=fetched,
            archived=stats.get_value("archiver/captures", 0),
            queued=self._queued(),
            warc_bytes=stats.get_value("archiver/warc_bytes", 0),
            revisits=stats.get_value("archiver/records/revisit", 0),
            errors=self.run.notable.errors_seen,
            rate=rate,
            warc_file=self._warc_file(
                stats.get_value("archiver/warc_current")
                # Closed by the time of the last frame: the last file the worker finished.
                or (stats.get_value("archiver/warc_files") or [None])[-1]
            ),
        )

    def _warc_file(self, current: str | None) -> str | None:
        """The file being written, or the last one once the worker has closed it."""
        self.last_warc = current or self.last_warc
        return self.last_warc

    def _queued(self) -> int | None:
        try:
            return self.waiting()
        except sqlite3.Error:
            return None

    def _table(self, snapshot: Snapshot) -> RenderableType:
        seeds = self.seeds
        first = seeds[0] if seeds else "the spider's seeds"
        where = f"{first}{' and more' if len(seeds) > 1 else ''} into {self.run.collection.root}"
        return progress_table(snapshot, f"archiver: run {self.run.run_id}, {where}")

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(stderr=True)
        if not console.is_terminal:
            return  # --progress live into a file: nothing to redraw; lines are logged
        original = sys.stderr
        # Live keeps its display below whatever else is written to standard error, but only
        # through sys.stderr, which it replaces: the console's log handler holds the original.
        self.live = Live(console=console, auto_refresh=False, redirect_stderr=True)
        self.live.start()
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                self._streams.append((handler, original))
                handler.setStream(sys.stderr)

    def _stop_live(self) -> None:
        assert self.live is not None
        self.live.stop()
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams.clear()
        self.live = None
