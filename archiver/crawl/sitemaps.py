"""Sitemaps: those robots.txt names (and sitemap indexes name), fetched on the same host
only and at most MAX_SITEMAPS per crawl; the pages they list are followed as links."""

from __future__ import annotations

from archiver.collection.frontier import Entry, Frontier, Role
from archiver.crawl.admission import Admission, Count
from archiver.model.links import LinkKind
from archiver.web.decoding import decode_content
from archiver.web.sitemaps import parse_sitemap
from archiver.web.urls import hostname, origin, seen_key

MAX_SITEMAPS = 100  # sitemap files per crawl: an index pointing at indexes stops here


class Sitemaps:
    def __init__(
        self, frontier: Frontier, admission: Admission, *, max_text_bytes: int, count: Count
    ) -> None:
        self.frontier = frontier
        self.admission = admission
        self.max_text_bytes = max_text_bytes
        self.count = count
        self.fetched = 0  # scheduled this run (a resume counts the frontier's)

    def schedule(self, url: str, for_origin: str) -> None:
        """Fetch a sitemap robots.txt (or a sitemap index) names, on the same host only."""
        key = seen_key(url)
        if key in self.frontier or hostname(url) != hostname(for_origin):
            return
        if self.fetched >= MAX_SITEMAPS:
            self.count("archiver/sitemaps/too_many")
            return
        self.admission.queue(Entry(key, url, Role.SITEMAP, LinkKind.REQUISITE, 0))
        self.fetched += 1

    def read(self, url: str, body: bytes) -> None:
        """Follow what a sitemap lists: its pages as links one hop from a seed, its sitemaps
        as sitemaps. ``body`` has its Content-Encoding undone already."""
        if url.endswith(".gz") and body[:2] == b"\x1f\x8b":  # sitemap.xml.gz
            body = decode_content(body, "gzip", self.max_text_bytes).content
        found = parse_sitemap(body)
        self.count("archiver/sitemaps/read")
        for page in found.pages:
            self.admission.follow(page, LinkKind.NAVIGATION, depth=1, referer=url)
        for sitemap in found.sitemaps:
            self.schedule(sitemap, origin(url))
