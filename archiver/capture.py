"""CaptureMiddleware: snapshot each HTTP exchange next to the wire.

At priority 950 it is the last downloader middleware a request passes and the first a
response meets, so it sees the request headers as sent (User-Agent, Accept-Encoding and
Cookie are set by earlier middlewares) and the body before HttpCompressionMiddleware (590)
decodes it. The snapshot travels in ``request.meta`` to the spider callback, which turns it
into an item for the pipelines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http import Response

from archiver.exchange import Exchange, build_request_head, build_response_head

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Headers

EXCHANGE_KEY = "archiver_exchange"
_SENT_AT_KEY = "archiver_sent_at"


def header_pairs(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Every (name, value) pair, repeated headers included (``headers[k]`` keeps only the last)."""
    return [(name, value) for name, values in headers.items() for value in values]


class CaptureMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        request.meta[_SENT_AT_KEY] = datetime.now(UTC)

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta[EXCHANGE_KEY] = snapshot(request, response)
        self.stats.inc_value("archiver/exchanges_captured")
        return response


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
