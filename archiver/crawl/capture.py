"""CaptureMiddleware: snapshot each HTTP exchange next to the wire.

At priority 950 it is the last downloader middleware a request passes and the first a
response meets, so it sees the request headers as sent (User-Agent, Accept-Encoding and
Cookie are set by earlier middlewares) and the body before HttpCompressionMiddleware (590)
decodes it. The snapshot travels in ``request.meta`` to the spider callback, which turns it
into an item for the archive worker (worker.py).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import Request, signals
from scrapy.exceptions import StopDownload
from scrapy.http import Response

from archiver.crawl.notable import Notable
from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.model.exchange import Exchange, mime_type
from archiver.web.heads import build_request_head, build_response_head

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Headers
    from scrapy.statscollectors import StatsCollector

EXCHANGE_KEY = "archiver_exchange"
_SENT_AT_KEY = "archiver_sent_at"
_BODY_AT_KEY = "archiver_body_at"  # monotonic: when the answer's first body bytes came
_RECEIVED_KEY = "archiver_bytes_received"
logger = logging.getLogger(__name__)


def header_pairs(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Every (name, value) pair, repeated headers included (``headers[k]`` keeps only the last)."""
    return [(name, value) for name, values in headers.items() for value in values]


class CaptureMiddleware:
    def __init__(self, stats: StatsCollector, notable: Notable, max_size: int) -> None:
        self.stats = stats
        self.notable = notable  # the run's slowest and largest answers, and failures
        self.max_size = max_size  # 0: no limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        assert crawler.stats is not None
        options = CrawlOptions.of(crawler)
        middleware = cls(crawler.stats, Run.of(crawler).notable, options.max_response_size)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def process_request(self, request: Request) -> None:
        request.meta[_SENT_AT_KEY] = datetime.now(UTC)

    def bytes_received(self, data: bytes, request: Request, spider: object) -> None:
        """Cut an endless or oversized body at the limit, keeping what came (StopDownload
        without failure hands the partial response on, flagged)."""
        received = request.meta.get(_RECEIVED_KEY)
        if received is None:
            request.meta[_BODY_AT_KEY] = time.monotonic()
            received = 0
        received += len(data)
        request.meta[_RECEIVED_KEY] = received
        if self.max_size and received > self.max_size:
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        exchange = snapshot(request, response)
        if "download_stopped" in response.flags:
            exchange.truncated = "length"
            exchange.response_body = exchange.response_body[: self.max_size]
        elif "dataloss" in response.flags:
            exchange.truncated = "disconnect"
        if exchange.truncated:
            self.stats.inc_value(f"archiver/truncated/{exchange.truncated}")
            logger.warning(
                "%s: body cut (%s) after %d bytes; recorded with WARC-Truncated",
                request.url,
                exchange.truncated,
                len(exchange.response_body),
            )
        request.meta[EXCHANGE_KEY] = exchange
        self.stats.inc_value("archiver/exchanges_captured")
        self.notable.answered(
            request.url,
            _fetch_seconds(request),
            exchange.status,
            len(exchange.response_body),
            mime_type(exchange.content_type),
        )
        return response


def _fetch_seconds(request: Request) -> float:
    """From the request going out to the last byte of the answer. Scrapy's download_latency
    stops at the headers; the time since the body's first bytes is added (the two are one
    packet apart). A wait in the downloader's queue (--delay, concurrency) is in neither."""
    seconds = request.meta.get("download_latency", 0.0)
    body_at = request.meta.get(_BODY_AT_KEY)
    if body_at is not None:
        seconds += time.monotonic() - body_at
    return seconds


def snapshot(request: Request, response: Response) -> Exchange:
    content_type = response.headers.get(b"Content-Type")
    ip = response.ip_address
    return Exchange(
        url=request.url,
        date=request.meta.get(_SENT_AT_KEY) or datetime.now(UTC),
        request_head=build_request_head(request.method, request.url, header_pairs(request.headers)),
        request_body=request.body,
        response_head=build_response_head(
            response.protocol, response.status, header_pairs(response.headers)
        ),
        response_body=response.body,
        status=response.status,
        ip_address=str(ip) if ip is not None else None,
        content_type=content_type.decode("latin-1") if content_type else None,
    )
