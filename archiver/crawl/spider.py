"""ArchiveSpider: the generic archiving crawl; site spiders subclass it and set their seeds.

Every response reaches a callback whatever its status (redirect, retry and robots middlewares
are off), becomes a Capture for the archive worker, and has its links followed: redirects
become new captures, page links obey the scope, requisites may come from the page's host.

The spider only puts its parts together; each is a module of its own:

- admission.py: which URLs enter the frontier, and in which order they wait;
- window.py: the few requests ahead of the downloader, built from the frontier's queue;
- robotsgate.py: every origin's robots.txt first, and its rules (Crawl-delay: throttle.py);
- pushback.py: 429/503 answers retried, paused and failing hosts (hosthealth.py);
- sitemaps.py, revalidation.py (conditional requests and the 304 read-back), reading.py
  (who reads a page's text and links: the worker or this process), resume.py.

Every callback's links are committed to the frontier before its capture is handed on
(``_committed``); links the worker reads come back and are committed as they come. So a
resumed run misses no link of a page it does not fetch again (archiver.archive.protocol).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Headers, Request, Response
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

from archiver.archive.protocol import Capture
from archiver.collection.frontier import Entry, Role
from archiver.crawl.admission import Admission, Count
from archiver.crawl.options import CrawlOptions
from archiver.crawl.pushback import (
    ATTEMPT_KEY,
    RETRY_KEY,
    HostGivenUp,
    Parked,
    Pushback,
    host_of,
)
from archiver.crawl.reading import PageReading
from archiver.crawl.resume import restore
from archiver.crawl.revalidation import Revalidation
from archiver.crawl.robotsgate import Pace, RobotsGate
from archiver.crawl.run import Run
from archiver.crawl.sitemaps import Sitemaps
from archiver.crawl.stopping import NotSent, stop_on_write_error
from archiver.crawl.throttle import CRAWL_DELAY_STAT, CrawlDelays
from archiver.crawl.window import RequestWindow
from archiver.crawl.wire import EXCHANGE_KEY
from archiver.model.dedup import UrlCapture
from archiver.model.exchange import Exchange
from archiver.model.links import LinkKind
from archiver.model.modes import RobotsPolicy
from archiver.web.decoding import decode_content
from archiver.web.documents import CSS_TYPES, HTML_TYPES, content_mime, looks_like_html, read_body
from archiver.web.heads import header_value
from archiver.web.robots import RobotsRules
from archiver.web.scope import Scope
from archiver.web.traps import TrapGuard
from archiver.web.urls import is_http, seen_key

if TYPE_CHECKING:
    from scrapy.core.downloader import Downloader

# Scheduler priorities: robots.txt gates its origin, requisites complete a page already taken.
PRIORITY_ROBOTS = 100
PRIORITY_RETRY = 50  # a 429/503 retry is due at the time the server named: first in line
PRIORITY_REQUISITE = 10
PRIORITY_PAGE = 0

_KIND = "archiver_kind"
_DEPTH = "archiver_depth"
_ROBOTS_FOR = "archiver_robots_for"
_HOPS = "archiver_redirect_hops"
_SEED = "archiver_seed"  # a seed, or a redirect target of one
_PREVIOUS = "archiver_previous"  # the URL's last capture in an earlier run


def _committed(
    callback: Callable[[ArchiveSpider, Any], Iterator[Capture | Request]],
) -> Callable[[ArchiveSpider, Any], list[Capture | Request]]:
    """Run a callback to the end, commit the frontier, and only then hand its output on,
    with the requests that refill the window its answer freed."""

    @functools.wraps(callback)
    def run(spider: ArchiveSpider, arg: Any) -> list[Capture | Request]:
        spider.window.answered()
        output: list[Capture | Request] = []
        try:
            output.extend(callback(spider, arg))
            spider.frontier.commit()
            output.extend(spider.window.refill(spider.requests_for))
        except sqlite3.Error as exc:  # a full disk: the page is fetched again on resume
            spider.frontier_failed(exc)
            # No links will come back for the pages that were to be read in the worker.
            spider.reading.lost(
                sum(isinstance(o, Capture) and o.links_base is not None for o in output)
            )
            return []
        return output

    return run


class ArchiveSpider(scrapy.Spider):
    name = "archive"
    # Site spiders set these; ``archiver crawl`` and ``-s ARCHIVER_SEEDS=`` override them.
    start_urls = []  # noqa: RUF012 - Scrapy's own instance attribute, a list
    scope_prefixes: ClassVar[list[str]] = []
    allowed_hosts: ClassVar[list[str]] = []

    def __init__(self, *args: Any, seeds: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seed_argument = [s for s in (seeds or "").split(",") if s]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.assemble(CrawlOptions.of(crawler), Run.of(crawler), spider.count)
        return spider

    @property
    def stats(self) -> StatsCollector:
        # Scrapy sets the crawler's stats only when the crawl starts, after the spider exists.
        stats = self.crawler.stats
        assert stats is not None
        return stats

    def count(self, key: str, count: int = 1, /) -> None:
        self.stats.inc_value(key, count)

    def assemble(self, options: CrawlOptions, run: Run, count: Count) -> None:
        """Build the crawl's parts from the options, around the run's frontier."""
        self.run = run
        self.seeds, scope = self.resolve_scope(options)
        self.recheck = options.recheck
        self.max_text = options.max_text_bytes
        # What every request carries, as Scrapy's DefaultHeaders and UserAgent middlewares
        # would add them (they are off: a layer per request for two dict lookups).
        self.request_headers = Headers(
            {
                **dict(options.request_headers),
                **({"User-Agent": options.user_agent} if options.user_agent else {}),
            }
        )
        self.frontier = run.frontier
        self.admission = Admission(
            run.frontier,
            scope,
            TrapGuard(options.traps),
            max_pages=options.max_pages,
            max_depth=options.max_depth,
            max_redirects=options.max_redirects,
            count=count,
        )
        self.window: RequestWindow[Request] = RequestWindow(
            run.frontier, 4 * max(1, options.concurrency)
        )
        self.robots = RobotsGate(
            RobotsRules(obey=options.robots is RobotsPolicy.OBEY, user_agent=options.user_agent),
            run.frontier,
            self.admission,
            self.window,
            self._robots_request,
            count=count,
            pace=self._crawl_delays(options),
        )
        self.sitemaps = Sitemaps(
            run.frontier, self.admission, max_text_bytes=options.max_text_bytes, count=count
        )
        self.revalidation = Revalidation(
            run.index,
            run.collection.warcs,
            dedup_max_age=options.dedup_max_age,
            max_text_bytes=options.max_text_bytes,
            count=count,
        )
        self.reading = PageReading(options.worker_backlog, self._links_read)
        run.reading = self.reading
        run.describe = lambda: options.recorded(
            seeds=list(self.seeds),
            scope=list(self.admission.scope.prefixes),
            allow_hosts=sorted(self.admission.scope.allow_hosts),
            exclude=[p.pattern for p in self.admission.scope.exclude],
        )

    def _crawl_delays(self, options: CrawlOptions) -> Pace | None:
        """What applies robots.txt Crawl-delay to a host; None when --delay fixes the pause."""
        if options.fixed_delay is not None:
            return None

        def downloader() -> Downloader:
            assert self.crawler.engine is not None
            return self.crawler.engine.downloader

        def record(host: str, seconds: float) -> None:
            self.stats.set_value(CRAWL_DELAY_STAT + host, seconds)

        return CrawlDelays(downloader, cap=options.max_crawl_delay, record=record).apply

    def resolve_scope(self, options: CrawlOptions) -> tuple[list[str], Scope]:
        """The seeds and scope of the crawl: the options', else the site spider's own."""
        seeds = list(options.seeds) or self._seed_argument or list(self.start_urls)
        if not seeds:
            raise ValueError("no seed URL: pass one to `archiver crawl` or -a seeds=URL")
        scope = Scope.build(
            seeds,
            list(options.scope) or self.scope_prefixes,
            [*options.allow_hosts, *self.allowed_hosts],
            list(options.exclude),
        )
        return seeds, scope

    async def start(self) -> AsyncIterator[Request]:
        """Admit the seeds (and on a resume, restore the run) and send the first requests.

        Each answer's callback then sends the requests that refill the window (_committed):
        in one batch with its own output, not one at a time through this generator, which
        costs Scrapy a loop turn per request. This generator only lives on until nothing is
        queued, in flight or waiting for robots.txt, so that Scrapy does not stop first.
        """
        self.pushback = Pushback.of(self.crawler)
        self.pushback.wake = self.window.wake
        try:
            self._admit_start()
            self.frontier.commit()
            while True:
                # Requests held while their host was paused: still counted in the window.
                for request in self.pushback.released():
                    yield request
                for request in self.window.refill(self.requests_for):
                    yield request
                if self.window.drained and self.reading.pending == 0:
                    # Nothing queued, in flight or being read: nothing can add to the frontier.
                    if self.robots.rules.waiting():  # a robots.txt fetch was lost: a bug
                        self.logger.error("URLs still wait for a robots.txt that never came")
                    return
                await self.window.next_answer()
        except sqlite3.Error as exc:  # the frontier cannot be written: a full disk
            self.frontier_failed(exc)
        finally:
            self.pushback.close()

    def waiting(self) -> int:
        """URLs admitted and not yet requested (for the progress display)."""
        return self.window.waiting()

    def _admit_start(self) -> None:
        if self.run.resumes:
            restore(self.run, self.admission, self.robots, self.sitemaps, self.stats)
            self.pushback.attempts = self.frontier.retries_owed()
        for seed in self.seeds:
            # Seeds and Location values come as typed; extracted links are already encoded.
            url = safe_url_string(seed)
            self.admission.follow(url, LinkKind.NAVIGATION, depth=0, referer=None, seed=True)
        if self.recheck:
            # URLs earlier runs captured are checked again even when nothing links to them
            # any more, so removals show up. robots.txt is fetched per origin anyway.
            for known in self.run.index.known_captures():
                if urlsplit(known.url).path == "/robots.txt":
                    continue
                if seen_key(known.url) in self.frontier:
                    continue  # reached by a link already
                if self.admission.follow(known.url, known.kind, depth=known.depth, referer=None):
                    self.stats.inc_value("archiver/rechecked")

    def requests_for(self, entry: Entry) -> Iterator[Request]:
        """The request a queued frontier entry stands for, through the robots.txt gate."""
        if self.pushback.hosts.troubled:
            host = host_of(entry.url)
            if self.pushback.hosts.given_up(host) is not None:
                self.pushback.skipped(host)  # not built, not sent: the host is given up
                return
        if entry.role is Role.ROBOTS:
            assert entry.for_origin is not None
            yield self.window.sent(self._robots_request(entry.url, entry.for_origin, entry.hops))
        elif entry.role is Role.SITEMAP:
            yield from self.robots.gate(self._sitemap_request(entry.url))
        else:
            yield from self.robots.gate(self._page_request(entry))

    # -- callbacks ---------------------------------------------------------------------------

    @_committed
    def parse(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        if exchange is None:
            return
        kind: LinkKind = response.meta[_KIND]
        depth: int = response.meta[_DEPTH]
        previous: UrlCapture | None = response.meta.get(_PREVIOUS)
        stored = self.revalidation.confirmed(exchange, previous)
        if stored is not None:
            assert previous is not None  # confirmed() found it through previous
            # 304: the page is the one stored before; read it back for its text and links.
            head = previous.response_head
            content_type = header_value(head, b"content-type")
            encoding = header_value(head, b"content-encoding")
            body = self._decoded(response.url, self.revalidation.stored_body(stored), encoding)
            status = previous.status
        else:
            body = self._content(response)
            content_type = exchange.content_type
            status = exchange.status
        capture = Capture(
            exchange, body, content_type, kind=kind, depth=depth, previous=previous,
            not_modified=stored,
        )  # fmt: skip
        location = redirect_target(response)
        if location:
            self.stats.inc_value("archiver/redirects_followed")
            seed = response.meta.get(_SEED, False)
            hops = response.meta.get(_HOPS, 0) + 1
            self.admission.follow(
                location, kind, depth=depth, referer=response.url, seed=seed, hops=hops
            )
        mime = content_mime(body, content_type)
        links_base = response.url if _has_links(status, mime) else None
        if links_base is not None:
            # Here, not where the links are followed: the worker may send them back later.
            self.admission.page_read(response.url, body)
        if self.reading.worker_reads(mime):
            capture.links_base = links_base  # the worker reads text and links
            if links_base is not None:
                self.reading.sent()
        else:
            # No worker (--no-warc), or it is behind: this process reads the page, text too
            # for the worker, so that neither process waits for the other.
            text = self.reading.by_worker
            reading = read_body(body, content_type, text=text, links_base=links_base)
            if text:
                capture.content, capture.document = None, reading.document
                if links_base is not None or reading.document is not None:
                    self.stats.inc_value("archiver/pages_read_in_crawl")
            links = [(link.url, link.kind) for link in reading.links]
            self.admission.follow_links(links, depth, response.url)
        yield capture
        yield from self._retry(response)

    def _retry(self, response: Response) -> Iterator[Request]:
        """Ask the URL again if its 429/503 answer is to be retried (the middleware decided
        and paused the host): a new request, held by the middleware until the pause ends."""
        attempt: int = response.meta.get(ATTEMPT_KEY, 0)
        decision = response.meta.get(RETRY_KEY)
        key = seen_key(response.url)
        if decision is None or not decision.retry:
            if attempt:
                self.frontier.settle_retry(key)
            return
        referer = response.request.headers.get(b"Referer") if response.request else None
        entry = Entry(
            key, response.url, Role.PAGE, response.meta[_KIND], response.meta[_DEPTH],
            seed=response.meta.get(_SEED, False),
            referer=referer.decode("latin-1") if referer else None,
            hops=response.meta.get(_HOPS, 0),
        )  # fmt: skip
        self.frontier.hold_retry(key, attempt + 1)  # committed before the capture goes on
        self.stats.inc_value("archiver/retries_sent")
        request = self._page_request(entry, attempt + 1)
        request.priority = PRIORITY_RETRY
        yield self.window.sent(request)

    def _links_read(self, base: str, depth: int, links: list[tuple[str, LinkKind]]) -> bool:
        """Follow the links the archive worker read from the page at ``base`` (its capture's
        links_base and depth), and commit them. False: the frontier could not be written (a
        full disk; the crawl stops), so they are not on disk.

        The requests they make room for are sent by ``start``, which this wakes: the
        callbacks keep the window full while anything is queued.
        """
        try:
            self.admission.follow_links(links, depth, base)
            self.frontier.commit()
        except sqlite3.Error as exc:
            self.frontier_failed(exc)
            return False
        finally:
            self.window.wake()
        return True

    def frontier_failed(self, exc: sqlite3.Error) -> None:
        """A frontier commit failed (a full disk): the crawl stops."""
        self.admission.forget()
        stop_on_write_error(self.crawler, exc)

    @_committed
    def parse_robots(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        body = response.body
        if exchange is not None:
            body = self._content(response)
            yield Capture(
                exchange,
                body,
                exchange.content_type,
                kind=LinkKind.REQUISITE,
                previous=self.run.index.capture(exchange.url),
            )
        for_origin: str = response.meta[_ROBOTS_FOR]
        location = redirect_target(response)
        if location is None:
            is_html = exchange is not None and _is_html(exchange, body)
            yield from self.robots.answered(
                for_origin, response.url, response.status, body, is_html=is_html
            )
            for sitemap in self.robots.rules.sitemaps(for_origin):
                self.sitemaps.schedule(sitemap, for_origin)
            return
        yield from self.robots.redirected(for_origin, location, response.meta.get(_HOPS, 0) + 1)

    @_committed
    def parse_sitemap(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        if exchange is None:
            return
        yield Capture(exchange, None, kind=LinkKind.REQUISITE)  # a sitemap has no text
        if not 200 <= exchange.status < 300:
            return
        body = self._content(response)
        self.sitemaps.read(response.url, body)

    @_committed
    def on_error(self, failure: Failure) -> Iterator[Request]:
        """No response at all (DNS, refused, timeout, TLS): nothing to archive, say why."""
        if failure.check(NotSent):
            return  # never sent, as the crawl is stopping: the next run fetches it
        request: Request = failure.request  # type: ignore[attr-defined]
        if failure.check(Parked):
            self.window.sent(request)  # held until its host's pause ends: still in flight
            return
        if request.meta.get(ATTEMPT_KEY):
            self.frontier.settle_retry(seen_key(request.url))
        if failure.check(HostGivenUp):  # counted by the middleware; said once, for the host
            self.logger.debug("not fetched, its host was given up: %s", request.url)
            for_origin = request.meta.get(_ROBOTS_FOR)
            if for_origin:
                yield from self.robots.release(for_origin, None)
            return
        name = type(failure.value).__name__
        self.stats.inc_value(f"archiver/fetch_errors/{name}")
        self.run.notable.failed(request.url, f"{name}: {failure.getErrorMessage()}")
        self.logger.warning(
            "fetch failed: %s (%s: %s)", request.url, name, failure.getErrorMessage()
        )
        for_origin = request.meta.get(_ROBOTS_FOR)
        if for_origin:
            yield from self.robots.release(for_origin, None)

    # -- requests ----------------------------------------------------------------------------

    def _page_request(self, entry: Entry, attempt: int = 0) -> Request:
        url, referer = entry.url, entry.referer
        if not attempt and self.pushback.attempts:  # a resumed run: retries it had before
            attempt = self.pushback.attempts.pop(entry.key, 0)
        headers = {"Referer": referer} if referer and not _downgrade(referer, url) else {}
        previous = self.run.index.capture(url)
        headers.update(self.revalidation.headers(previous))
        request = Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            priority=PRIORITY_PAGE if entry.kind is LinkKind.NAVIGATION else PRIORITY_REQUISITE,
            dont_filter=True,  # the frontier already decided; skip Scrapy's dupefilter
            meta={
                _KIND: entry.kind,
                _DEPTH: entry.depth,
                _SEED: entry.seed,
                _PREVIOUS: previous,
                _HOPS: entry.hops,  # redirects in the chain that led here
                **({ATTEMPT_KEY: attempt} if attempt else {}),
            },
        )
        return self._with_headers(request, headers)

    def _with_headers(self, request: Request, own: dict[str, str] | None = None) -> Request:
        """The request with its own headers, then those every request carries. The shared
        ones are normalized once, not per request (Request(headers=...) would re-encode and
        re-case each name and value); their value lists are copied, as a middleware may
        append to one."""
        headers = Headers(own)
        shared = self.request_headers
        dict.update(headers, {name: list(values) for name, values in dict.items(shared)})
        request.headers = headers
        return request

    def _robots_request(self, url: str, for_origin: str, hops: int) -> Request:
        return self._with_headers(
            Request(
                url,
                callback=self.parse_robots,
                errback=self.on_error,
                priority=PRIORITY_ROBOTS,
                dont_filter=True,
                meta={_ROBOTS_FOR: for_origin, _HOPS: hops, _KIND: LinkKind.REQUISITE, _DEPTH: 0},
            )
        )

    def _sitemap_request(self, url: str) -> Request:
        return self._with_headers(
            Request(
                url,
                callback=self.parse_sitemap,
                errback=self.on_error,
                priority=PRIORITY_REQUISITE,
                dont_filter=True,
                meta={_KIND: LinkKind.REQUISITE, _DEPTH: 0},
            )
        )

    # -- reading responses -------------------------------------------------------------------

    def _exchange(self, response: Response) -> Exchange | None:
        exchange: Exchange | None = response.meta.pop(EXCHANGE_KEY, None)
        if exchange is None:
            # Only a response that bypassed the capture middleware could get here: a bug.
            self.stats.inc_value("archiver/exchanges_missing")
            self.logger.error("no captured exchange for %s; it is not in the WARC", response.url)
        return exchange

    def _content(self, response: Response) -> bytes:
        """The answer's content, Content-Encoding read from its headers as Scrapy holds them
        (already parsed; the last value, as header_value reads a head)."""
        coding = response.headers.get(b"Content-Encoding")
        encoding = coding.decode("latin-1") if coding is not None else None
        return self._decoded(response.url, response.body, encoding)

    def _decoded(self, url: str, payload: bytes, encoding: str | None) -> bytes:
        """The content for links and text: Content-Encoding undone, at most max_text bytes."""
        decoded = decode_content(payload, encoding, self.max_text)
        if decoded.capped:
            self.stats.inc_value("archiver/decode/capped")
            self.logger.warning("%s: content past %d bytes not read for text", url, self.max_text)
        if decoded.error:
            self.stats.inc_value("archiver/decode/errors")
            self.logger.warning("%s: content not decoded: %s", url, decoded.error)
        return decoded.content


def redirect_target(response: Response) -> str | None:
    if not 300 <= response.status < 400:
        return None
    location = response.headers.get(b"Location")
    if not location:
        return None
    # Location bytes are usually ASCII; latin-1 keeps any other byte instead of failing.
    target = safe_url_string(response.urljoin(location.decode("latin-1").strip()))
    return target if is_http(target) else None


def _has_links(status: int, mime: str) -> bool:
    """Links are read from HTML pages and style sheets (``mime`` as documents.content_mime
    says); a redirect's body is archived, but its Location is what is followed."""
    return mime in CSS_TYPES or (mime in HTML_TYPES and not 300 <= status < 400)


def _is_html(exchange: Exchange, body: bytes) -> bool:
    return exchange.mime in HTML_TYPES or looks_like_html(body)


def _downgrade(referer: str, url: str) -> bool:
    """Browsers send no Referer from an https page to an http URL; neither do we."""
    return referer.startswith("https:") and url.startswith("http:")
