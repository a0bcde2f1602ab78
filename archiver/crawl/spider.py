"""ArchiveSpider: the generic archiving crawl; site spiders subclass it and set their seeds.

Every response reaches ``parse`` whatever its status (redirect, retry and robots middlewares
are off), becomes a Capture item, and has its links followed here: redirects become new
captures, page links obey the scope prefixes, requisites may come from the page's host.

Every URL admitted goes into the run's frontier (frontier.py), which is also the seen-set and
the queue: ``start`` feeds Scrapy from it a few requests ahead of the downloader, so requests
are built only when they are about to be sent and memory does not grow with the crawl.

A page's links are read by the archive worker (worker.py), in the parse that reads its text,
and come back to ``admit_links``; a crawl with no worker (--no-warc) reads them here. Either
way they are committed to the frontier before the capture can be: each callback commits the
frontier before it hands anything on, and the worker asks the crawl process to confirm the
links it sent before each checkpoint. So a resumed run misses no link of a page it does not
fetch again.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

from archiver.archive.protocol import Capture
from archiver.collection.cdxj import captured_urls
from archiver.collection.frontier import ROLE_PAGE, ROLE_ROBOTS, ROLE_SITEMAP, Entry, Frontier
from archiver.collection.warc import read_payload
from archiver.crawl.capture import EXCHANGE_KEY
from archiver.crawl.pipeline import stop_on_write_error
from archiver.crawl.run import Run
from archiver.model.dedup import StoredPayload, UrlCapture, is_fresh
from archiver.model.exchange import Exchange
from archiver.model.links import LinkKind
from archiver.web.decoding import decode_content
from archiver.web.documents import (
    CSS_TYPES,
    HTML_TYPES,
    WORKER_ONLY_TYPES,
    content_mime,
    looks_like_html,
    read_body,
)
from archiver.web.heads import header_value
from archiver.web.robots import MAX_ROBOTS_BYTES, RobotsRules
from archiver.web.scope import Scope, default_prefix
from archiver.web.sitemaps import parse_sitemap
from archiver.web.traps import TrapGuard, TrapRules
from archiver.web.urls import hostname, is_http, origin, seen_key

# Scheduler priorities: robots.txt gates its origin, requisites complete a page already taken.
PRIORITY_ROBOTS = 100
PRIORITY_REQUISITE = 10
PRIORITY_PAGE = 0
MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 2.3.1.2
MAX_SITEMAPS = 100  # sitemap files per crawl: an index pointing at indexes stops here

_KIND = "archiver_kind"
_DEPTH = "archiver_depth"
_ROBOTS_FOR = "archiver_robots_for"
_HOPS = "archiver_redirect_hops"
_SEED = "archiver_seed"  # a seed, or a redirect target of one
_PREVIOUS = "archiver_previous"  # the URL's last capture in an earlier run


_NAVIGATION = LinkKind.NAVIGATION.value
# Frontier queue order (higher first): robots.txt, then requisites, then pages.
_PRIORITIES = {(ROLE_PAGE, _NAVIGATION): 0, (ROLE_PAGE, LinkKind.REQUISITE.value): 1}
_PRIORITY_ROBOTS = 2
_TAKE_BATCH = 256
# URLs known to be in the frontier, skipped by _follow_links without computing their key:
# pages repeat their site's navigation. Bounded, about 1 MB: every process-wide cache is kept
# small enough that memory grows little past a few thousand pages.
_ADMITTED_URLS = 8_192


def _committed(
    callback: Callable[[ArchiveSpider, Any], Iterator[Capture | Request]],
) -> Callable[[ArchiveSpider, Any], list[Capture | Request]]:
    """Run a callback to the end, commit the frontier, and only then hand its output on,
    with the requests that refill the window its answer freed."""

    @functools.wraps(callback)
    def run(spider: ArchiveSpider, arg: Any) -> list[Capture | Request]:
        spider._answered()
        output: list[Capture | Request] = []
        try:
            output.extend(callback(spider, arg))
            spider.frontier.commit()
            output.extend(spider._refill())
        except sqlite3.Error as exc:  # a full disk: the page is fetched again on resume
            spider.frontier_failed(exc)
            for dropped in output:  # no links will come back for these
                if isinstance(dropped, Capture) and dropped.links_base is not None:
                    spider.links_pending -= 1
            return []
        return output

    return run


class ArchiveSpider(scrapy.Spider):
    name = "archive"
    # Site spiders set these; ``archiver crawl`` and ``-s ARCHIVER_SEEDS=`` override them.
    start_urls: ClassVar[list[str]] = []
    scope_prefixes: ClassVar[list[str]] = []
    allowed_hosts: ClassVar[list[str]] = []

    def __init__(self, *args: Any, seeds: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seed_argument = [s for s in (seeds or "").split(",") if s]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        self.seeds: list[str] = (
            settings.getlist("ARCHIVER_SEEDS") or self._seed_argument or list(self.start_urls)
        )
        if not self.seeds:
            raise ValueError("no seed URL: pass one to `archiver crawl` or -a seeds=URL")
        self.scope = Scope.build(
            self.seeds,
            settings.getlist("ARCHIVER_SCOPE") or self.scope_prefixes,
            [*settings.getlist("ARCHIVER_ALLOW_HOSTS"), *self.allowed_hosts],
            settings.getlist("ARCHIVER_EXCLUDE"),
        )
        self.max_pages = settings.getint("ARCHIVER_MAX_PAGES")
        self.max_depth = settings.getint("ARCHIVER_MAX_DEPTH")
        self.robots = RobotsRules(
            obey=settings.get("ARCHIVER_ROBOTS") == "obey", user_agent=settings.get("USER_AGENT")
        )
        self.recheck = settings.getbool("ARCHIVER_RECHECK")
        self.max_text = settings.getint("ARCHIVER_MAX_TEXT_BYTES")
        self.max_age = settings.getfloat("ARCHIVER_DEDUP_MAX_AGE")
        self.pages_scheduled = 0
        self.traps = TrapGuard(
            TrapRules(
                max_url_length=settings.getint("ARCHIVER_MAX_URL_LENGTH"),
                max_path_repeats=settings.getint("ARCHIVER_MAX_PATH_REPEATS"),
                max_query_variants=settings.getint("ARCHIVER_MAX_QUERY_VARIANTS"),
                max_path_segments=settings.getint("ARCHIVER_MAX_PATH_SEGMENTS"),
            )
        )
        self.sitemaps_fetched = 0
        # Requests handed to Scrapy and not answered yet; the feeder keeps this below the
        # window, so Scrapy's scheduler never holds more than a few requests.
        self._outstanding = 0
        self._window = 4 * max(1, settings.getint("CONCURRENT_REQUESTS"))
        self._wake: asyncio.Event | None = None
        self._taken: deque[Entry] = deque()  # taken from the frontier, not yet sent
        self._admitted_urls: set[str] = set()
        # The archive pipeline sets this once its worker is open: pages' links are then read
        # there and come back to admit_links; until they have, the crawl is not over.
        self.links_from_worker = False
        self.links_pending = 0
        # Past this many pending, the page is read here: enough to keep the worker busy,
        # few enough that the busier process gets help.
        self.worker_backlog = settings.getint("ARCHIVER_WORKER_BACKLOG")

    @property
    def frontier(self) -> Frontier:
        return self._run.frontier

    async def start(self) -> AsyncIterator[Request]:
        """Admit the seeds (and on a resume, restore the run) and send the first requests.

        Each answer's callback then sends the requests that refill the window (_committed):
        in one batch with its own output, not one at a time through this generator, which
        costs Scrapy a loop turn per request. This generator only lives on until nothing is
        queued, in flight or waiting for robots.txt, so that Scrapy does not stop first.
        """
        self._wake = asyncio.Event()
        try:
            self._admit_start()
            self.frontier.commit()
            while True:
                for request in self._refill():
                    yield request
                if (
                    self._outstanding == 0
                    and self.links_pending == 0
                    and not self._taken
                    and not self.frontier.has_queued()
                ):
                    # Nothing queued, in flight or being read: nothing can add to the frontier.
                    if self.robots.waiting():  # a robots.txt fetch was lost: a bug
                        self.logger.error("URLs still wait for a robots.txt that never came")
                    return
                await self._next_answer()
        except sqlite3.Error as exc:  # the frontier cannot be written: a full disk
            self.frontier_failed(exc)

    def _refill(self) -> list[Request]:
        """Requests for queued entries, until the window is full again."""
        requests: list[Request] = []
        while self._outstanding < self._window:
            if not self._taken:
                # Taken in batches: a query per request would cost more than the request.
                # Taken but not sent when the run dies is fine: a resume queues it again.
                self._taken.extend(self.frontier.take(_TAKE_BATCH))
                if not self._taken:
                    break
            requests.extend(self._requests_for(self._taken.popleft()))
        return requests

    def waiting(self) -> int:
        """URLs admitted and not yet requested: queued in the frontier, or taken from it."""
        return self.frontier.queued() + len(self._taken)

    def _admit_start(self) -> None:
        if self._run.resumes:
            self._resume()
        for seed in self.seeds:
            # Seeds and Location values come as typed; extracted links are already encoded.
            url = safe_url_string(seed)
            self._follow(url, LinkKind.NAVIGATION, depth=0, referer=None, seed=True)
        if self.recheck:
            # URLs earlier runs captured are checked again even when nothing links to them
            # any more, so removals show up. robots.txt is fetched per origin anyway.
            for known in self._run.index.known_captures():
                if urlsplit(known.url).path == "/robots.txt":
                    continue
                if seen_key(known.url) in self.frontier:
                    continue  # reached by a link already
                kind = LinkKind(known.kind)
                self._follow(known.url, kind, depth=known.depth, referer=None)
                if seen_key(known.url) in self.frontier:
                    self.stats_inc("archiver/rechecked")

    def _requests_for(self, entry: Entry) -> Iterator[Request]:
        """The request a queued frontier entry stands for, through the robots.txt gate."""
        if entry.role == ROLE_ROBOTS:
            assert entry.for_origin is not None
            yield self._send(self._robots_request(entry.url, entry.for_origin, entry.hops))
        elif entry.role == ROLE_SITEMAP:
            yield from self._gate(self._sitemap_request(entry.url))
        else:
            yield from self._gate(self._page_request(entry))

    def _send(self, request: Request) -> Request:
        self._outstanding += 1
        return request

    def _answered(self) -> None:
        """A callback or errback runs: one request fewer in flight, and maybe new entries."""
        self._outstanding -= 1
        if self._wake is not None:
            self._wake.set()

    async def _next_answer(self) -> None:
        assert self._wake is not None
        # The timer only guards against an answer that never signals (none is known); it is
        # a plain callback, not asyncio.wait_for, which makes a task per wait.
        timer = asyncio.get_running_loop().call_later(1.0, self._wake.set)
        await self._wake.wait()
        timer.cancel()
        self._wake.clear()

    def _resume(self) -> None:
        """Queue again what the frontier holds and the run's index does not; restore the
        run's counters, scope and robots.txt rules first, as they were."""
        run = self._run
        done = {seen_key(url) for url in captured_urls(run.collection.index_for(run.run_id))}
        for prefix in self.frontier.scope_prefixes():
            self.scope = self.scope.with_prefix(prefix)
        for robots_origin, status, body in self.frontier.robots():
            self.robots.begin(robots_origin)
            self.robots.settle(robots_origin, status, body)
        self.pages_scheduled = self.frontier.count(ROLE_PAGE, _NAVIGATION)
        self.sitemaps_fetched = self.frontier.count(ROLE_SITEMAP)
        owed: set[str] = set()
        for entry in self.frontier.entries():
            self.traps.reason(entry.url)  # counts its query variant again
            if entry.role == ROLE_ROBOTS and entry.key not in done and entry.for_origin:
                owed.add(entry.for_origin)
        for robots_origin in owed:
            # An origin whose robots.txt is still owed waits for that fetch, not a new one.
            if not self.robots.known(robots_origin):
                self.robots.begin(robots_origin)
        requeued = self.frontier.requeue_except(done)
        self.stats_set("archiver/resume/captured_before", len(done))
        self.stats_set("archiver/resume/pending", requeued)
        self.logger.info("resuming: %d URLs captured before, %d to fetch", len(done), requeued)

    # -- callbacks ---------------------------------------------------------------------------

    @_committed
    def parse(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        if exchange is None:
            return
        kind = LinkKind(response.meta[_KIND])
        depth: int = response.meta[_DEPTH]
        previous: UrlCapture | None = response.meta.get(_PREVIOUS)
        stored = self._confirmed_payload(exchange, previous)
        if stored is not None:
            assert previous is not None  # _confirmed_payload found it through previous
            # 304: the page is the one stored before; read it back for its text and links.
            path = self._run.collection.warcs / stored.filename
            head = previous.response_head
            body = self._decoded(response.url, read_payload(path, stored.offset), head)
            content_type = header_value(head, b"content-type")
            status = previous.status
        else:
            body = self._decoded(response.url, exchange.response_body, exchange.response_head)
            content_type = exchange.content_type
            status = exchange.status
        capture = Capture(
            exchange, body, content_type, kind=kind, depth=depth, previous=previous,
            not_modified=stored,
        )  # fmt: skip
        location = redirect_target(response)
        if location:
            self.stats_inc("archiver/redirects_followed")
            seed = response.meta.get(_SEED, False)
            self._follow(location, kind, depth=depth, referer=response.url, seed=seed)
        mime = content_mime(body, content_type)
        links_base = response.url if _has_links(status, mime) else None
        # A PDF is never read here, whatever the worker's backlog: its text takes up to
        # seconds, in which this process would fetch nothing.
        worker_reads = self.links_pending < self.worker_backlog or mime in WORKER_ONLY_TYPES
        if self.links_from_worker and worker_reads:
            capture.links_base = links_base  # the worker reads text and links
            if links_base is not None:
                self.links_pending += 1
        else:
            # No worker (--no-warc), or it is behind: this process reads the page, text too
            # for the worker, so that neither process waits for the other.
            text = self.links_from_worker
            reading = read_body(body, content_type, text=text, links_base=links_base)
            if text:
                capture.content, capture.document = None, reading.document
                if links_base is not None or reading.document is not None:
                    self.stats_inc("archiver/pages_read_in_crawl")
            links = [(link.url, link.kind.value) for link in reading.links]
            self._follow_links(links, depth, response.url)
        yield capture

    def admit_links(self, base: str, depth: int, links: list[tuple[str, str]]) -> bool:
        """Follow the links the archive worker read from the page at ``base`` (its capture's
        links_base and depth), and commit them. False: the frontier could not be written (a
        full disk; the crawl stops), so they are not on disk.

        The requests they make room for are sent by ``start``, which this wakes: the
        callbacks keep the window full while anything is queued.
        """
        self.links_pending -= 1
        try:
            self._follow_links(links, depth, base)
            self.frontier.commit()
        except sqlite3.Error as exc:
            self.frontier_failed(exc)
            return False
        finally:
            if self._wake is not None:
                self._wake.set()
        return True

    def _follow_links(self, links: list[tuple[str, str]], depth: int, referer: str) -> None:
        """Follow the links found on a page ``depth`` hops from a seed."""
        known = self._admitted_urls
        for url, kind in links:
            if url in known:  # most links are to pages admitted already: the site's navigation
                continue
            link_kind = LinkKind(kind)
            link_depth = depth + 1 if link_kind is LinkKind.NAVIGATION else depth
            self._follow(url, link_kind, depth=link_depth, referer=referer)

    def frontier_failed(self, exc: sqlite3.Error) -> None:
        """A frontier commit failed (a full disk): the crawl stops, and the URLs admitted in
        the transaction it lost are no longer known to be admitted."""
        self._admitted_urls.clear()
        stop_on_write_error(self.crawler, exc)

    def _admitted(self, url: str) -> None:
        if len(self._admitted_urls) >= _ADMITTED_URLS:
            self._admitted_urls.clear()  # crude, but bounded; the URLs in use come back at once
        self._admitted_urls.add(url)

    def _confirmed_payload(
        self, exchange: Exchange, previous: UrlCapture | None
    ) -> StoredPayload | None:
        """The stored payload a 304 confirms, if this was our conditional request's answer."""
        if exchange.status != 304 or previous is None:
            return None
        return self._run.index.payload(previous.digest)

    @_committed
    def parse_robots(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        body = response.body
        if exchange is not None:
            body = self._decoded(response.url, exchange.response_body, exchange.response_head)
            yield Capture(
                exchange,
                body,
                exchange.content_type,
                kind=LinkKind.REQUISITE,
                previous=self._run.index.capture(exchange.url),
            )
        for_origin: str = response.meta[_ROBOTS_FOR]
        location = redirect_target(response)
        if location is None:
            status = response.status
            if exchange is not None and 200 <= status < 300 and _is_html(exchange, body):
                # A web page where robots.txt should be (a catch-all handler): not rules.
                self.stats_inc("archiver/robots/html_ignored")
                self.logger.info("%s is an HTML page, not robots.txt: ignored", response.url)
                status = 404
            yield from self._release(for_origin, status, body)
            for sitemap in self.robots.sitemaps(for_origin):
                self._sitemap(sitemap, for_origin)
            return
        hops = response.meta.get(_HOPS, 0) + 1
        # RFC 9309 2.3.1.2: follow at least five redirects. Only on the same host: a
        # redirect must not take the crawl to a host the operator did not put in scope.
        if (
            hops <= MAX_ROBOTS_REDIRECTS
            and hostname(location) == hostname(for_origin)
            and self._admit_robots(location, for_origin, hops)
        ):
            yield self._send(self._robots_request(location, for_origin, hops))
        else:  # treated as unavailable, which RFC 9309 reads as "no restrictions"
            yield from self._release(for_origin, 404)

    @_committed
    def parse_sitemap(self, response: Response) -> Iterator[Capture | Request]:
        exchange = self._exchange(response)
        if exchange is None:
            return
        yield Capture(exchange, None, kind=LinkKind.REQUISITE)  # a sitemap has no text
        if not 200 <= exchange.status < 300:
            return
        body = self._decoded(response.url, exchange.response_body, exchange.response_head)
        if response.url.endswith(".gz") and body[:2] == b"\x1f\x8b":  # sitemap.xml.gz
            body = decode_content(body, "gzip", self.max_text).content
        found = parse_sitemap(body)
        self.stats_inc("archiver/sitemaps/read")
        for url in found.pages:
            self._follow(url, LinkKind.NAVIGATION, depth=1, referer=response.url)
        for url in found.sitemaps:
            self._sitemap(url, origin(response.url))

    def _admit_robots(self, url: str, for_origin: str, hops: int) -> bool:
        """Record a robots.txt fetch (or a redirect of one) in the frontier; False if known.

        Not queued: it is sent at once, since the origin's other URLs wait for it; its
        priority puts it first if a resume queues it again."""
        entry = Entry(
            seen_key(url), url, ROLE_ROBOTS, LinkKind.REQUISITE.value, 0,
            for_origin=for_origin, hops=hops,
        )  # fmt: skip
        return self.frontier.add(entry, queued=False, priority=_PRIORITY_ROBOTS)

    def _sitemap(self, url: str, for_origin: str) -> None:
        """Fetch a sitemap robots.txt (or a sitemap index) names, on the same host only."""
        key = seen_key(url)
        if key in self.frontier or hostname(url) != hostname(for_origin):
            return
        if self.sitemaps_fetched >= MAX_SITEMAPS:
            self.stats_inc("archiver/sitemaps/too_many")
            return
        self._queue(Entry(key, url, ROLE_SITEMAP, LinkKind.REQUISITE.value, 0))
        self.sitemaps_fetched += 1

    def _sitemap_request(self, url: str) -> Request:
        return Request(
            url,
            callback=self.parse_sitemap,
            errback=self.on_error,
            priority=PRIORITY_REQUISITE,
            dont_filter=True,
            meta={_KIND: LinkKind.REQUISITE.value, _DEPTH: 0},
        )

    @_committed
    def on_error(self, failure: Failure) -> Iterator[Request]:
        """No response at all (DNS, refused, timeout, TLS): nothing to archive, say why."""
        request: Request = failure.request  # type: ignore[attr-defined]
        name = type(failure.value).__name__
        self.stats_inc(f"archiver/fetch_errors/{name}")
        self._run.notable.failed(request.url, f"{name}: {failure.getErrorMessage()}")
        self.logger.warning(
            "fetch failed: %s (%s: %s)", request.url, name, failure.getErrorMessage()
        )
        for_origin = request.meta.get(_ROBOTS_FOR)
        if for_origin:
            yield from self._release(for_origin, None)

    # -- following links ---------------------------------------------------------------------

    def _follow(
        self, url: str, kind: LinkKind, *, depth: int, referer: str | None, seed: bool = False
    ) -> None:
        """Admit a link into the frontier's queue, unless seen, out of scope or a trap."""
        if not is_http(url):
            self.stats_inc("archiver/links/not_http")
            return
        key = seen_key(url)
        if key in self.frontier:
            self._admitted(url)
            return
        trap = self.traps.reason(url)
        if trap:
            self.stats_inc(f"archiver/traps/{trap}")
            self.logger.info("not following %s: looks like a crawler trap (%s)", url, trap)
            return
        if seed and not self.scope.allows_page(url) and not self.scope.excluded(url):
            # Seeds are in scope by definition, and so is where a seed redirects to (http to
            # https, bare host to www.): otherwise the crawl would stop at the redirect.
            self.scope = self.scope.with_prefix(default_prefix(url))
            self.frontier.add_scope_prefix(default_prefix(url))
            self.stats_inc("archiver/seeds/scope_added")
            self.logger.info("seed %s: added %s to the scope", url, default_prefix(url))
        if kind is LinkKind.NAVIGATION:
            if not self.scope.allows_page(url):
                self.stats_inc("archiver/links/out_of_scope")
                return
            if self.max_depth and depth > self.max_depth:
                self.stats_inc("archiver/links/max_depth")
                return
            if self.max_pages and self.pages_scheduled >= self.max_pages:
                self.stats_inc("archiver/links/max_pages")
                return
            self.pages_scheduled += 1
        elif not self.scope.allows_requisite(url, referer or url):
            self.stats_inc("archiver/links/out_of_scope")
            return
        self._queue(Entry(key, url, ROLE_PAGE, kind.value, depth, seed=seed, referer=referer))
        self._admitted(url)

    def _queue(self, entry: Entry) -> None:
        # Requisites complete a page already taken: they go before the next page.
        self.frontier.add(entry, priority=_PRIORITIES.get((entry.role, entry.kind), 1))

    def _page_request(self, entry: Entry) -> Request:
        url, referer = entry.url, entry.referer
        headers = {"Referer": referer} if referer and not _downgrade(referer, url) else {}
        previous = self._run.index.capture(url)
        headers.update(self._conditional_headers(previous))
        return Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            headers=headers,
            priority=PRIORITY_PAGE if entry.kind == _NAVIGATION else PRIORITY_REQUISITE,
            dont_filter=True,  # the frontier already decided; skip Scrapy's dupefilter
            meta={_KIND: entry.kind, _DEPTH: entry.depth, _SEED: entry.seed, _PREVIOUS: previous},
        )

    def _conditional_headers(self, previous: UrlCapture | None) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a URL whose 200 is stored and fresh."""
        if previous is None or previous.status != 200:
            return {}
        if not (previous.etag or previous.last_modified):
            return {}
        stored = self._run.index.payload(previous.digest)
        if stored is None or not is_fresh(stored, self.max_age):
            return {}  # nothing to confirm, or time for a fresh full copy
        headers = {}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        self.stats_inc("archiver/conditional_requests")
        return headers

    def _gate(self, request: Request) -> Iterator[Request]:
        url_origin = origin(request.url)
        if not self.robots.known(url_origin):
            self.robots.begin(url_origin)
            self.robots.wait(url_origin, request)
            robots_url = url_origin + "/robots.txt"
            self._admit_robots(robots_url, url_origin, 0)
            yield self._send(self._robots_request(robots_url, url_origin, 0))
            return
        verdict = self.robots.verdict(url_origin, request.url)
        if verdict == "pending":
            self.robots.wait(url_origin, request)
        elif verdict == "allow":
            yield self._send(request)
        else:
            self.stats_inc("archiver/robots/disallowed")
            self.logger.info("robots.txt disallows %s", request.url)

    def _robots_request(self, url: str, for_origin: str, hops: int) -> Request:
        return Request(
            url,
            callback=self.parse_robots,
            errback=self.on_error,
            priority=PRIORITY_ROBOTS,
            dont_filter=True,
            meta={_ROBOTS_FOR: for_origin, _HOPS: hops, _KIND: LinkKind.REQUISITE.value, _DEPTH: 0},
        )

    def _release(self, for_origin: str, status: int | None, body: bytes = b"") -> Iterator[Request]:
        # Kept so a resumed run obeys the same rules without fetching robots.txt again.
        self.frontier.settle_robots(for_origin, status, body[:MAX_ROBOTS_BYTES])
        for request in self.robots.settle(for_origin, status, body):
            assert isinstance(request, Request)
            yield from self._gate(request)

    # -- reading responses -------------------------------------------------------------------

    def _exchange(self, response: Response) -> Exchange | None:
        exchange = response.meta.pop(EXCHANGE_KEY, None)
        if exchange is None:
            # Only a response that bypassed the capture middleware could get here: a bug.
            self.stats_inc("archiver/exchanges_missing")
            self.logger.error("no captured exchange for %s; it is not in the WARC", response.url)
        return exchange

    def _decoded(self, url: str, payload: bytes, head: bytes) -> bytes:
        """The content for links and text: Content-Encoding undone, at most max_text bytes."""
        decoded = decode_content(payload, header_value(head, b"content-encoding"), self.max_text)
        if decoded.capped:
            self.stats_inc("archiver/decode/capped")
            self.logger.warning("%s: content past %d bytes not read for text", url, self.max_text)
        if decoded.error:
            self.stats_inc("archiver/decode/errors")
            self.logger.warning("%s: content not decoded: %s", url, decoded.error)
        return decoded.content

    @property
    def _run(self) -> Run:
        return Run.of(self.crawler)

    def stats_inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    def stats_set(self, key: str, value: object) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(key, value)


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
