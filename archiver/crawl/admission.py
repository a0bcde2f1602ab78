"""Admission: which URLs the crawl takes into its frontier, and in which order they wait.

A link is admitted unless it is not http(s), was admitted before, looks like a crawler trap,
or is outside the scope and limits: a page link must be in scope, within --max-depth and
--max-pages; a requisite may come from the page's own host too (so a page replays as it
looked). Seeds widen the scope to where they redirect (http to https, bare host to www.).
Every refusal is a counted decision (``archiver/links/...``, ``archiver/traps/...``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from archiver.collection.frontier import Entry, Frontier, Role
from archiver.model import defaults
from archiver.model.links import LinkKind
from archiver.web.scope import Scope, default_prefix
from archiver.web.traps import Parked, TrapGuard, page_shape
from archiver.web.urls import is_http, seen_key

logger = logging.getLogger(__name__)

# Frontier queue order (higher first): robots.txt, then requisites, then pages.
PRIORITY_ROBOTS = 2
_PRIORITIES = {(Role.PAGE, LinkKind.NAVIGATION): 0, (Role.PAGE, LinkKind.REQUISITE): 1}
# URLs known to be in the frontier, skipped by follow_links without computing their key:
# pages repeat their site's navigation. Bounded (the cache is cleared when full) so that
# memory grows little past a few thousand pages.
ADMITTED_URLS = 8_192


class Count(Protocol):
    def __call__(self, key: str, count: int = 1, /) -> object:
        """Adds ``count`` (one unless told) to a crawl stats counter."""


class Admission:
    def __init__(
        self,
        frontier: Frontier,
        scope: Scope,
        traps: TrapGuard,
        *,
        max_pages: int,
        max_depth: int,
        max_redirects: int = defaults.MAX_REDIRECTS,
        count: Count,
    ) -> None:
        self.frontier = frontier
        self.scope = scope
        self.traps = traps
        self.max_pages = max_pages  # 0: no limit
        self.max_depth = max_depth  # 0: no limit
        self.max_redirects = max_redirects
        self.count = count
        self.pages_scheduled = 0  # page links admitted: what --max-pages counts
        self._admitted_urls: set[str] = set()
        self._budget_logged: set[str] = set()  # patterns whose budget ran out, logged once

    def follow(
        self,
        url: str,
        kind: LinkKind,
        *,
        depth: int,
        referer: str | None,
        seed: bool = False,
        hops: int = 0,
    ) -> bool:
        """Admit a link into the frontier's queue, unless seen, out of scope or a trap.
        ``hops``: for a redirect's target, the redirects followed in its chain so far, this
        one included. True: it is queued now."""
        if not is_http(url):
            self.count("archiver/links/not_http")
            return False
        if hops > self.max_redirects:
            # Each hop a new URL (a loop ends at the first URL seen again): counted per chain,
            # however many hosts and paths it goes through.
            self.count("archiver/traps/redirect_chain")
            logger.info(
                "not following the redirect to %s: looks like a crawler trap "
                "(%d redirects in a row from %s)", url, hops - 1, referer,
            )  # fmt: skip
            return False
        key = seen_key(url)
        if key in self.frontier:
            self._remember(url)
            return False
        trap = self.traps.reason(url)
        if trap:
            self.count(f"archiver/traps/{trap}")
            logger.info("not following %s: looks like a crawler trap (%s)", url, trap)
            return False
        if seed and not self.scope.allows_page(url) and not self.scope.excluded(url):
            # Seeds are in scope by definition, and so is where a seed redirects to (http to
            # https, bare host to www.): otherwise the crawl would stop at the redirect.
            self.widen(default_prefix(url))
            self.count("archiver/seeds/scope_added")
            logger.info("seed %s: added %s to the scope", url, default_prefix(url))
        if kind is LinkKind.NAVIGATION:
            if not self.scope.allows_page(url):
                self.count("archiver/links/out_of_scope")
                return False
            if self.max_depth and depth > self.max_depth:
                self.count("archiver/links/max_depth")
                return False
            if not seed and not hops and referer and not self._within_budget(url, referer, depth):
                return False
            if self.max_pages and self.pages_scheduled >= self.max_pages:
                self.count("archiver/links/max_pages")
                return False
            self.pages_scheduled += 1
        elif not self.scope.allows_requisite(url, referer or url):
            self.count("archiver/links/out_of_scope")
            return False
        self.queue(Entry(key, url, Role.PAGE, kind, depth, seed=seed, referer=referer, hops=hops))
        self._remember(url)
        return True

    def _within_budget(self, url: str, referer: str, depth: int) -> bool:
        """The pattern budget, for a page link (a redirect's target is the redirect rule's, a
        requisite comes with its page). Past a path pattern's budget the link is parked, and
        followed if the pattern's pages turn out to differ (see page_read); past a query
        space's it is refused. The first of a pattern is logged, the rest only counted: a wide
        trap page makes thousands.

        archiver/traps/pattern_budget counts links not followed: each link parked (one
        released later is taken off again) or refused, parked or not."""
        patterns = self.traps.patterns
        pattern = patterns.take(url, referer)
        if pattern is None:
            return True
        if pattern.endswith("?*") or patterns.park(pattern, Parked(url, depth, referer)):
            self.count("archiver/traps/pattern_budget")  # else parked already: counted once
        if pattern not in self._budget_logged:
            if len(self._budget_logged) >= ADMITTED_URLS:
                self._budget_logged.clear()
            self._budget_logged.add(pattern)
            logger.info(
                "not following %s: looks like a crawler trap (pattern_budget: pages of the "
                "pattern %s have made %d links to it%s; more are counted, not logged)",
                url, pattern, patterns.budget,
                "" if pattern.endswith("?*") else ", and look alike so far",
            )  # fmt: skip
        return False

    def page_read(self, url: str, body: bytes) -> None:
        """A page was fetched and its links are about to be followed: if its pattern's budget
        is being spent, the page's shape is recorded, and links parked for the pattern are
        followed as far as it now allows (all of them once it is trusted)."""
        patterns = self.traps.patterns
        pattern = patterns.sampling(url)
        if pattern is None:
            return
        if patterns.shape(pattern, page_shape(body)):
            logger.info(
                "pattern %s: its pages differ (%d shapes), links to it are followed from now "
                "on, the %d parked included",
                pattern, patterns.budget, patterns.parked_for(pattern),
            )  # fmt: skip
        for link in patterns.release(pattern):
            self.count("archiver/traps/pattern_budget", -1)
            self.follow(link.url, LinkKind.NAVIGATION, depth=link.depth, referer=link.referer)

    def follow_links(self, links: Iterable[tuple[str, LinkKind]], depth: int, referer: str) -> None:
        """Follow the links found on a page ``depth`` hops from a seed."""
        known = self._admitted_urls
        for url, kind in links:
            if url in known:  # most links are to pages admitted already: the site's navigation
                continue
            link_depth = depth + 1 if kind is LinkKind.NAVIGATION else depth
            self.follow(url, kind, depth=link_depth, referer=referer)

    def queue(self, entry: Entry) -> None:
        """Into the frontier's queue; requisites complete a page already taken, so they go
        before the next page."""
        self.frontier.add(entry, priority=_PRIORITIES.get((entry.role, entry.kind), 1))

    def admit_robots(self, url: str, for_origin: str, hops: int) -> bool:
        """Record a robots.txt fetch (or a redirect of one) in the frontier; False if known.

        Not queued: it is sent at once, since the origin's other URLs wait for it; its
        priority puts it first if a resume queues it again."""
        entry = Entry(
            seen_key(url), url, Role.ROBOTS, LinkKind.REQUISITE, 0,
            for_origin=for_origin, hops=hops,
        )  # fmt: skip
        return self.frontier.add(entry, queued=False, priority=PRIORITY_ROBOTS)

    def widen(self, prefix: str) -> None:
        """Add a scope prefix, kept in the frontier so that a resumed run has it too."""
        self.scope = self.scope.with_prefix(prefix)
        self.frontier.add_scope_prefix(prefix)

    def forget(self) -> None:
        """A frontier commit failed: the URLs admitted in the transaction it lost are no
        longer known to be admitted."""
        self._admitted_urls.clear()

    def _remember(self, url: str) -> None:
        if len(self._admitted_urls) >= ADMITTED_URLS:
            self._admitted_urls.clear()  # crude, but bounded; the URLs in use come back at once
        self._admitted_urls.add(url)
