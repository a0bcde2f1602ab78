"""Ending a crawl early, once, for a reason that becomes the run's stop reason."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_from_coro

from archiver.model.errors import write_error_reason
from archiver.model.stops import StopReason

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class NotSent(IgnoreRequest):
    """The crawl is stopping: a request still waiting in the downloader (for its host's delay
    or a free connection) is not sent. Nothing was fetched, so nothing is counted; the URL
    stays in the frontier and the next run of the same command fetches it."""


def stopping(crawler: Crawler) -> bool:
    """Whether the crawl is ending: a stop of archiver's own, or Scrapy's (SIGINT, SIGTERM)."""
    assert crawler.stats is not None
    if crawler.stats.get_value("archiver/stop_reason") is not None:
        return True
    return crawler.engine is not None and not crawler.engine.running


def hold_back(crawler: Crawler) -> bool:
    """Whether a request about to go out is held back (NotSent), as the crawl is ending.

    If so, every downloader slot loses its delay: the requests still waiting behind this one
    reach the download handler at once, to be held back too, instead of one host delay apart
    (with a robots.txt Crawl-delay, minutes of waiting for nothing). The engine waits for
    every one of them before it closes the spider.
    """
    if not stopping(crawler):
        return False
    if crawler.engine is not None:
        for slot in crawler.engine.downloader.slots.values():
            slot.delay = 0.0  # as AutoThrottle sets it
    return True


def stop_on_write_error(crawler: Crawler, exc: OSError | sqlite3.Error) -> None:
    """A collection that cannot be written ends the run: crawling on would lose every capture.

    The WARC files stay whole (the writer cuts a failed record off again); the next run of
    the same command repairs what was left half-written and resumes the run.
    """
    assert crawler.stats is not None
    crawler.stats.inc_value("archiver/not_archived")
    stop_crawl(crawler, write_error_reason(exc), f"cannot write to the collection ({exc})")


def stop_crawl(crawler: Crawler, reason: StopReason, message: str) -> None:
    """End the crawl once, for the first *reason* given: it becomes the run's stop reason."""
    assert crawler.stats is not None and crawler.engine is not None
    if crawler.stats.get_value("archiver/stop_reason") is None:
        logger.critical("%s; stopping the crawl", message)
        crawler.stats.set_value("archiver/stop_reason", reason)
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
