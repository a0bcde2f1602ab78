"""The robots.txt gate: every request to an origin waits for that origin's robots.txt, which
is fetched (and archived) first; then the rules decide (RFC 9309, archiver.web.robots).

robots.txt redirects are followed on the same host only, at most MAX_ROBOTS_REDIRECTS times;
what each origin's robots.txt said is kept in the frontier, so that a resumed run obeys the
same rules without fetching it again. An origin's Crawl-delay paces its host (throttle.py)
before any request that waited for its robots.txt is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from scrapy.http import Request

from archiver.collection.frontier import Frontier
from archiver.crawl.admission import Admission, Count
from archiver.crawl.window import RequestWindow
from archiver.web.robots import MAX_ROBOTS_BYTES, RobotsRules
from archiver.web.urls import hostname, origin

logger = logging.getLogger(__name__)

MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five

# Makes the request that fetches robots.txt: (URL, the origin it answers for, redirects so far).
RobotsRequest = Callable[[str, str, int], Request]
# Paces an origin's host as its robots.txt Crawl-delay asks: (origin, seconds).
Pace = Callable[[str, float], None]


class RobotsGate:
    def __init__(
        self,
        rules: RobotsRules,
        frontier: Frontier,
        admission: Admission,
        window: RequestWindow[Request],
        robots_request: RobotsRequest,
        *,
        count: Count,
        pace: Pace | None = None,
    ) -> None:
        self.rules = rules
        self.frontier = frontier
        self.admission = admission
        self.window = window
        self.robots_request = robots_request
        self.count = count
        self.pace = pace  # None: Crawl-delay is not applied (--delay fixes the pause)

    def gate(self, request: Request) -> Iterator[Request]:
        """The request if its origin's rules allow it; robots.txt first if they are not known
        yet (the request then waits for it)."""
        url_origin = origin(request.url)
        if not self.rules.known(url_origin):
            self.rules.begin(url_origin)
            self.rules.wait(url_origin, request)
            robots_url = url_origin + "/robots.txt"
            self.admission.admit_robots(robots_url, url_origin, 0)
            yield self.window.sent(self.robots_request(robots_url, url_origin, 0))
            return
        verdict = self.rules.verdict(url_origin, request.url)
        if verdict == "pending":
            self.rules.wait(url_origin, request)
        elif verdict == "allow":
            yield self.window.sent(request)
        else:
            self.count("archiver/robots/disallowed")
            logger.info("robots.txt disallows %s", request.url)

    def answered(
        self, for_origin: str, url: str, status: int, body: bytes, *, is_html: bool
    ) -> Iterator[Request]:
        """robots.txt came (not a redirect): its rules apply, and what waited goes on."""
        if 200 <= status < 300 and is_html:
            # A web page where robots.txt should be (a catch-all handler): not rules.
            self.count("archiver/robots/html_ignored")
            logger.info("%s is an HTML page, not robots.txt: ignored", url)
            status = 404
        yield from self.release(for_origin, status, body)

    def redirected(self, for_origin: str, location: str, hops: int) -> Iterator[Request]:
        """robots.txt redirected: follow on the same host only (a redirect must not take the
        crawl to a host the operator did not put in scope), a few times."""
        if (
            hops <= MAX_ROBOTS_REDIRECTS
            and hostname(location) == hostname(for_origin)
            and self.admission.admit_robots(location, for_origin, hops)
        ):
            yield self.window.sent(self.robots_request(location, for_origin, hops))
        else:  # treated as unavailable, which RFC 9309 reads as "no restrictions"
            yield from self.release(for_origin, 404)

    def release(self, for_origin: str, status: int | None, body: bytes = b"") -> Iterator[Request]:
        """Settle an origin's rules (``status`` None: no answer at all) and send on what
        waited for them, through the gate again."""
        # Kept so a resumed run obeys the same rules without fetching robots.txt again.
        self.frontier.settle_robots(for_origin, status, body[:MAX_ROBOTS_BYTES])
        waited = self.rules.settle(for_origin, status, body)
        self._crawl_delay(for_origin)  # before what waited is sent on
        for waiting in waited:
            assert isinstance(waiting, Request)
            yield from self.gate(waiting)

    def restore(self, owed: set[str]) -> None:
        """A resume: the rules the frontier kept apply again, and an origin whose robots.txt
        is still owed waits for that fetch, not a new one."""
        for robots_origin, status, body in self.frontier.robots():
            self.rules.begin(robots_origin)
            self.rules.settle(robots_origin, status, body)
            self._crawl_delay(robots_origin)
        for robots_origin in owed:
            if not self.rules.known(robots_origin):
                self.rules.begin(robots_origin)

    def _crawl_delay(self, for_origin: str) -> None:
        seconds = self.rules.crawl_delay(for_origin)
        if seconds is not None and self.pace is not None:
            self.pace(for_origin, seconds)
