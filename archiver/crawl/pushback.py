"""Servers that push back and hosts that fail: the downloader middleware that holds requests
to a paused host, decides on 429/503 retries and counts each host's failures
(hosthealth.py has the rules).

Waiting costs no loop turns and no downloader slot: a request to a paused host is *parked*
here (raised as ``Parked``, which the spider's errback counts as still in flight, so the
window does not refill past its size and the crawl does not end), and one timer, armed for the
earliest pause end, hands it back to the spider, which sends it again. A retry is a new request
for the same URL, sent at once and parked until its host's pause (its Retry-After or backoff)
ends. The frontier keeps every retry owed (Frontier.hold_retry), so that a run stopped while
one waits fetches the URL when it resumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from archiver.crawl.hosthealth import FAILURES, Hosts, PushbackRules, RetryDecision, RetryReason
from archiver.crawl.options import CrawlOptions
from archiver.web.retryafter import retry_after_seconds
from archiver.web.urls import hostname

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from twisted.internet.interfaces import IDelayedCall

logger = logging.getLogger(__name__)

ATTEMPT_KEY = "archiver_attempt"  # retries of this URL before this request (0: the first)
RETRY_KEY = "archiver_retry"  # the RetryDecision on a 429/503 answer
_SENT_KEY = "archiver_sent_at"  # the clock time the request passed the middleware
_ATTR = "_archiver_pushback"
GIVEN_UP_STAT = "archiver/hosts_given_up"  # host -> {"reason", "skipped"}


class Parked(IgnoreRequest):
    """Held while its host is paused; the spider gets it back when the pause ends."""


class HostGivenUp(IgnoreRequest):
    """Not sent: its host was given up for this run."""


class Pushback:
    """The crawl's one record of hosts and parked requests, shared by the spider and the
    middleware (``Pushback.of(crawler)``)."""

    def __init__(
        self,
        rules: PushbackRules,
        stats: StatsCollector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hosts = Hosts(rules, clock)
        self.stats = stats
        self.clock = clock
        self._parked: dict[str, list[Request]] = {}
        self._released: list[Request] = []
        self._timer: IDelayedCall | None = None
        self._timer_due = 0.0
        self.wake: Callable[[], None] = lambda: None  # the spider's: parked requests are back
        self.attempts: dict[str, int] = {}  # URL key -> retries before, of a resumed run
        stats.set_value(GIVEN_UP_STAT, {})

    @classmethod
    def of(cls, crawler: Crawler) -> Pushback:
        pushback = getattr(crawler, _ATTR, None)
        if pushback is None:
            assert crawler.stats is not None
            pushback = cls(CrawlOptions.of(crawler).pushback, crawler.stats)
            setattr(crawler, _ATTR, pushback)
        return pushback

    # -- parking -----------------------------------------------------------------------------

    def park(self, host: str, request: Request) -> None:
        self._parked.setdefault(host, []).append(request)
        self._arm()

    @property
    def parked(self) -> int:
        return sum(len(requests) for requests in self._parked.values())

    def released(self) -> list[Request]:
        """The parked requests whose host's pause is over, to be sent again (once)."""
        released, self._released = self._released, []
        # Highest priority first (a retry due now before the requests it held up): Scrapy
        # may send what comes first before it sorts the rest.
        released.sort(key=lambda request: -request.priority)
        return released

    def _arm(self) -> None:
        """One timer, due when the earliest pause of a host with parked requests ends."""
        if not self._parked:
            return
        due = min(self.clock() + self.hosts.paused_for(host) for host in self._parked)
        if self._timer is not None and self._timer.active():
            if self._timer_due <= due:
                return
            self._timer.cancel()
        self._timer_due = due
        # Imported here: importing the reactor installs one, and Scrapy installs its own first.
        from twisted.internet import reactor

        self._timer = reactor.callLater(max(0.0, due - self.clock()), self._release)

    def _release(self) -> None:
        self._timer = None
        for host in [h for h in self._parked if self.hosts.paused_for(h) <= 0]:
            self._released.extend(self._parked.pop(host))
        self._arm()
        if self._released:
            self.wake()

    def close(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- what the hosts said -----------------------------------------------------------------

    def failed(self, host: str, reason: str, sent_at: float) -> None:
        if not self.hosts.failed(host, reason, sent_at):
            return
        state = self.hosts.state(host)
        if state.given_up is not None:
            self._gave_up(host)
        elif state.failures >= 2:
            logger.warning(
                "%s failed %d times in a row (%s): paused for %.1f s",
                host, state.failures, reason, self.hosts.paused_for(host),
            )  # fmt: skip

    def _gave_up(self, host: str) -> None:
        state = self.hosts.state(host)
        self.stats.get_value(GIVEN_UP_STAT)[host] = {"reason": state.given_up, "skipped": 0}
        logger.warning(
            "giving up on %s for this run: %s; its queued URLs are not fetched",
            host, state.given_up,
        )  # fmt: skip
        # Parked requests go back to the spider, whose errback drops them (HostGivenUp).
        if host in self._parked:
            self._released.extend(self._parked.pop(host))
            self.wake()

    def skipped(self, host: str) -> None:
        self.hosts.state(host).skipped += 1
        self.stats.inc_value("archiver/hosts/skipped")
        given_up = self.stats.get_value(GIVEN_UP_STAT)
        if host in given_up:
            given_up[host]["skipped"] += 1

    def pushed_back(self, request: Request, response: Response) -> RetryDecision:
        host = host_of(request.url)
        status = response.status
        attempt = request.meta.get(ATTEMPT_KEY, 0)
        header = response.headers.get(b"Retry-After")
        retry_after = retry_after_seconds(header)
        was_given_up = self.hosts.given_up(host) is not None
        decision = self.hosts.pushed_back(host, status, retry_after, attempt)
        self.stats.inc_value(f"archiver/retries/{status}/{decision.reason}")
        if header is not None and retry_after is None and decision.reason is RetryReason.BACKOFF:
            logger.info("%s: Retry-After %r not usable: backoff instead", request.url, header)
        if decision.retry:
            logger.info(
                "%s answered %d (attempt %d): retry in %.1f s (%s); %s paused until then",
                request.url, status, attempt + 1, decision.wait, decision.reason, host,
            )  # fmt: skip
        elif decision.reason is RetryReason.TOO_LONG:
            if not was_given_up:
                self._gave_up(host)
        else:
            logger.warning(
                "%s answered %d (attempt %d): not retried (%s)",
                request.url, status, attempt + 1, decision.reason,
            )  # fmt: skip
        return decision


class PushbackMiddleware:
    """Parks requests to paused hosts, drops those to given-up hosts, and notes what each
    answer or failure says about its host."""

    def __init__(self, pushback: Pushback) -> None:
        self.pushback = pushback
        self.hosts = pushback.hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PushbackMiddleware:
        return cls(Pushback.of(crawler))

    def process_request(self, request: Request) -> None:
        if self.hosts.troubled:
            host = host_of(request.url)
            if self.hosts.given_up(host) is not None:
                self.pushback.skipped(host)
                raise HostGivenUp(host)
            if self.hosts.paused_for(host) > 0:
                self.pushback.park(host, request)
                raise Parked(host)
        request.meta[_SENT_KEY] = self.pushback.clock()

    def process_response(self, request: Request, response: Response) -> Response:
        status = response.status
        if status >= 500:
            self.pushback.failed(
                host_of(request.url), f"HTTP {status}", request.meta.get(_SENT_KEY, 0.0)
            )
        elif status != 429 and self.hosts.troubled:
            self.hosts.succeeded(host_of(request.url))
        if status in (429, 503):
            request.meta[RETRY_KEY] = self.pushback.pushed_back(request, response)
        return response

    def process_exception(self, request: Request, exception: Exception) -> Any:
        reason = FAILURES.get(type(exception).__name__)
        if reason is not None and not isinstance(exception, IgnoreRequest):
            self.pushback.failed(host_of(request.url), reason, request.meta.get(_SENT_KEY, 0.0))
        return None


def host_of(url: str) -> str:
    try:
        return hostname(url)
    except ValueError:  # a bracketed host that is no IPv6 address: Scrapy fails it anyway
        return ""
