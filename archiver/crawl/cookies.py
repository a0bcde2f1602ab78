"""Scrapy's cookie handling, without its cost on the many sites that set no cookies.

Scrapy's CookiesMiddleware runs http.cookiejar for every request and response, cookies or
none: a real share of a static crawl's CPU. This subclass skips that work exactly where it cannot
change anything: a request with no cookies of its own while its jar is empty gets no Cookie
header either way, and a response without Set-Cookie adds nothing to the jar. Every other case
is Scrapy's own code, so old sites that keep sessions in cookies are captured as before.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.http import Response


class LeanCookiesMiddleware(CookiesMiddleware):
    # Without Scrapy's deprecated ``spider`` argument: Scrapy 2.19 passes it only to methods
    # that still take it (and warns), so these override the base signatures on purpose.

    def process_request(self, request: Request) -> Request | Response | None:  # type: ignore[override]
        if request.cookies or request.meta.get("dont_merge_cookies", False):
            return super().process_request(request)
        if not len(self.jars[request.meta.get("cookiejar")]):
            request.headers.pop("Cookie", None)  # as Scrapy does before adding the jar's
            return None
        return super().process_request(request)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if b"Set-Cookie" not in response.headers:
            return response
        return super().process_response(request, response)
