"""Asking instead of fetching: a URL whose 200 is stored is requested with If-None-Match /
If-Modified-Since, and a 304 answer is read back from the payload it confirms, so the crawl
still follows the page's links (and the archive worker still reads its text)."""

from __future__ import annotations

from pathlib import Path

from archiver.collection.warc import read_payload
from archiver.crawl.admission import Count
from archiver.model.dedup import DedupIndex, StoredPayload, UrlCapture, is_fresh
from archiver.model.exchange import Exchange


class Revalidation:
    def __init__(
        self,
        index: DedupIndex,
        warcs: Path,
        *,
        dedup_max_age: float,
        max_text_bytes: int,
        count: Count,
    ) -> None:
        self.index = index
        self.warcs = warcs
        self.max_text_bytes = max_text_bytes  # of a stored payload, at most this is read back
        self.dedup_max_age = dedup_max_age  # days; 0: a stored copy never expires
        self.count = count

    def headers(self, previous: UrlCapture | None) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a URL whose 200 is stored and fresh."""
        if previous is None or previous.status != 200:
            return {}
        if not (previous.etag or previous.last_modified):
            return {}
        stored = self.index.payload(previous.digest)
        if stored is None or not is_fresh(stored, self.dedup_max_age):
            return {}  # nothing to confirm, or time for a fresh full copy
        headers = {}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        self.count("archiver/conditional_requests")
        return headers

    def confirmed(self, exchange: Exchange, previous: UrlCapture | None) -> StoredPayload | None:
        """The stored payload a 304 confirms, if this was our conditional request's answer."""
        if exchange.status != 304 or previous is None:
            return None
        return self.index.payload(previous.digest)

    def stored_body(self, stored: StoredPayload) -> bytes:
        """The start of the payload a 304 confirmed (still content-encoded), up to the text cap:
        a stored body of any size is never read whole."""
        return read_payload(self.warcs / stored.filename, stored.offset, self.max_text_bytes)
