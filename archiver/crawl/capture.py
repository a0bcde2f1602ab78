"""CaptureMiddleware: each exchange the download handler recorded is counted and noted on its
way to the spider.

The recording itself is the download handler's (wire.py): it writes the request and reads the
response byte for byte, and leaves the Exchange in ``request.meta``. At priority 950 this
middleware is the first a response meets, so every answer is counted here once, whatever
later middlewares do: a cut body is logged and counted by why it was cut, and the run's
notable URLs (slowest, largest, failed) hear of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http import Response

from archiver.crawl.notable import Notable
from archiver.crawl.run import Run
from archiver.crawl.wire import EXCHANGE_KEY, FETCH_SECONDS_KEY
from archiver.model.exchange import Exchange

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

__all__ = ["EXCHANGE_KEY", "CaptureMiddleware"]


class CaptureMiddleware:
    def __init__(self, stats: StatsCollector, notable: Notable) -> None:
        self.stats = stats
        self.notable = notable  # the run's slowest and largest answers, and failures

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        assert crawler.stats is not None
        return cls(crawler.stats, Run.of(crawler).notable)

    def process_response(self, request: Request, response: Response) -> Response:
        exchange: Exchange | None = request.meta.get(EXCHANGE_KEY)
        if exchange is None:
            return response  # not downloaded by the wire handler: the spider says so
        if exchange.truncated:
            self.stats.inc_value(f"archiver/truncated/{exchange.truncated}")
            logger.warning(
                "%s: body cut (%s) after %d bytes; recorded with WARC-Truncated",
                request.url,
                exchange.truncated,
                exchange.response_body.length,
            )
        self.stats.inc_value("archiver/exchanges_captured")
        self.notable.answered(
            request.url,
            request.meta.get(FETCH_SECONDS_KEY, 0.0),
            exchange.status,
            exchange.payload_length,
            exchange.mime,
        )
        return response
