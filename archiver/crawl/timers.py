"""TimerSweep: keeps Twisted's list of timed calls from filling with cancelled ones.

Scrapy arms a download timeout for every request (``reactor.callLater``) and cancels it when
the answer comes; Twisted leaves a cancelled call in its heap and drops such calls only in
``runUntilCurrent``. The select and epoll reactors run that on every loop turn, but the asyncio
reactor, which Scrapy uses, runs it only when a timed call falls due. With nothing due sooner
than DOWNLOAD_TIMEOUT, a crawl kept that many seconds of cancelled calls, and memory that grew
with the crawl's length (bench/README.md). A call due every second makes Twisted drop them as
it goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

SWEEP_SECONDS = 1.0


def _nothing() -> None:
    """Its being due is the point: runUntilCurrent drops the cancelled calls after it runs."""


class TimerSweep:
    def __init__(self) -> None:
        self._loop = task.LoopingCall(_nothing)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TimerSweep:
        sweep = cls()
        crawler.signals.connect(sweep.engine_started, signal=signals.engine_started)
        crawler.signals.connect(sweep.engine_stopped, signal=signals.engine_stopped)
        return sweep

    def engine_started(self) -> None:
        self._loop.start(SWEEP_SECONDS, now=False)

    def engine_stopped(self) -> None:
        if self._loop.running:
            self._loop.stop()
