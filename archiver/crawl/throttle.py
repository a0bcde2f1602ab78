"""Polite pacing per host: Scrapy's AutoThrottle, and robots.txt Crawl-delay as its floor.

Scrapy's downloader keeps one slot per host name (every port and scheme of the host share it),
each with its own concurrency and delay. AutoThrottle moves a slot's delay toward the host's
response time divided by the per-host concurrency, floored only at DOWNLOAD_DELAY; a host's
Crawl-delay goes into the downloader's per-slot settings (what DOWNLOAD_SLOTS fills), which
also give its delay to a slot Scrapy makes again after dropping an idle one, and
ArchiveThrottle puts a slot's delay back up to that floor after each adjustment.

Neither applies when ``--delay`` fixes the pause (ARCHIVER_DELAY set): the spider then makes
no CrawlDelays, and ArchiveThrottle is not configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.extensions.throttle import AutoThrottle

from archiver.crawl.options import CrawlOptions
from archiver.web.urls import hostname

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.downloader import Downloader
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# Stats key prefix of each host's Crawl-delay in use, in seconds (the run summary lists them).
CRAWL_DELAY_STAT = "archiver/crawl_delay/"


class CrawlDelays:
    """The robots.txt Crawl-delays in use, one per host, set on the downloader's slots."""

    def __init__(
        self,
        downloader: Callable[[], Downloader],
        *,
        cap: float,
        record: Callable[[str, float], None],
    ) -> None:
        self.downloader = downloader  # called when needed: the engine comes after the spider
        self.cap = cap
        self.record = record
        self.by_host: dict[str, float] = {}

    def apply(self, origin: str, seconds: float) -> None:
        """robots.txt of *origin* asks for *seconds* between requests: its host's slot waits
        that long (capped), whatever AutoThrottle makes of the host's response times."""
        host = hostname(origin)
        used = min(seconds, self.cap)
        if self.by_host.get(host, 0.0) >= used:
            return  # another origin of the host (scheme, port) asked as much already
        self.by_host[host] = used
        capped = f" (capped at {self.cap:g} s)" if seconds > self.cap else ""
        logger.info("robots.txt of %s asks for a crawl delay of %g s%s", host, seconds, capped)
        self.record(host, used)
        downloader = self.downloader()
        # Exactly the delay asked for, not Scrapy's default jitter of +-50% around it.
        downloader.per_slot_settings.setdefault(host, {}).update(delay=used, jitter=0.0)
        slot = downloader.slots.get(host)
        if slot is not None:
            slot.delay = max(slot.delay, used)
            slot.jitter = 0.0


class ArchiveThrottle(AutoThrottle):
    """AutoThrottle, which never takes a host below its Crawl-delay."""

    def __init__(self, crawler: Crawler) -> None:
        if CrawlOptions.of(crawler).fixed_delay is not None:
            raise NotConfigured("--delay fixes the pause between requests")
        super().__init__(crawler)

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None:
            return
        assert self.crawler.engine is not None
        floor = self.crawler.engine.downloader.per_slot_settings.get(key, {}).get("delay")
        if floor is not None and slot.delay < floor:
            slot.delay = floor
