"""RunLimits: --max-duration and --max-bytes end a run cleanly, and resumably.

A limit reached stops the crawl the way a low disk or SIGTERM does (stopping.stop_crawl): no
new request is scheduled, the requests already handed to the downloader finish, the archive
worker's last checkpoint commits every capture and closes every file, and the frontier is
kept, so the next run of the same command carries on where this one stopped. The stop reason
(max_duration, max_bytes) becomes the summary's finish_reason.

Both limits count this process only, from the moment the run was taken up (run.Run.start):
a scheduled run given a time slot or a share of the disk gets that much each time, however
often the run was resumed before. --max-bytes counts the WARC bytes written (what fills the
collection's disk), as the archive worker reports them, at most a second late.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.crawl.stopping import stop_crawl
from archiver.model.stops import StopReason
from archiver.tools.charts import human_bytes
from archiver.tools.endings import human_duration

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

# How often the limits are looked at: small beside any limit worth setting, and beside the
# archive worker's own reporting interval, which bounds how late --max-bytes is seen anyway.
CHECK_SECONDS = 0.25


class RunLimits:
    def __init__(
        self,
        *,
        max_seconds: float,
        max_bytes: int,
        started: float,
        stats: StatsCollector,
        stop: Callable[[StopReason, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_seconds = max_seconds  # 0: no limit
        self.max_bytes = max_bytes  # 0: no limit
        self.started = started  # on *clock*
        self.stats = stats
        self._stop = stop
        self._clock = clock
        self.stopped = False
        self._loop = task.LoopingCall(self.check)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunLimits:
        options = CrawlOptions.of(crawler)
        if not options.max_duration and not options.max_bytes:
            raise NotConfigured  # with no message: Scrapy would warn of it
        run = Run.of(crawler)
        # The run's start, on the monotonic clock: the time Scrapy took to start counts.
        since_start = (datetime.now(UTC) - run.started).total_seconds()
        assert crawler.stats is not None
        limits = cls(
            max_seconds=options.max_duration,
            max_bytes=options.max_bytes,
            started=time.monotonic() - max(0.0, since_start),
            stats=crawler.stats,
            stop=lambda reason, message: stop_crawl(crawler, reason, message),
        )
        crawler.signals.connect(limits.engine_started, signal=signals.engine_started)
        crawler.signals.connect(limits.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(limits.spider_closed, signal=signals.spider_closed)
        return limits

    def engine_started(self) -> None:
        self._loop.start(CHECK_SECONDS, now=True)

    def spider_closed(self) -> None:
        self._end_loop()  # the closing takes its time; no limit can stop it again

    def engine_stopped(self) -> None:
        self._end_loop()

    def _end_loop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def check(self) -> None:
        """Stop the run once a limit is reached (the first one reached names the stop)."""
        if self.stopped:
            return
        elapsed = self._clock() - self.started
        if self.max_seconds and elapsed >= self.max_seconds:
            self._reached(
                StopReason.MAX_DURATION,
                "the run reached its time limit "
                f"(--max-duration {human_duration(self.max_seconds)})",
            )
            return
        written = int(self.stats.get_value("archiver/warc_bytes", 0) or 0)
        if self.max_bytes and written >= self.max_bytes:
            self._reached(
                StopReason.MAX_BYTES,
                f"the run wrote {human_bytes(written)} of WARC, its size limit "
                f"(--max-bytes {human_bytes(self.max_bytes)})",
            )

    def _reached(self, reason: StopReason, message: str) -> None:
        self.stopped = True
        self._end_loop()
        self._stop(reason, f"{message}; the same command resumes the run")
