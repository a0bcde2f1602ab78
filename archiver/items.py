"""The item that carries one capture from the spider to the archive worker."""

from __future__ import annotations

from dataclasses import dataclass

from archiver.dedup import StoredPayload, UrlCapture
from archiver.exchange import Exchange
from archiver.manifest import Document
from archiver.warc import Revisit, WrittenExchange


@dataclass(slots=True, repr=False)
class Capture:
    exchange: Exchange
    # The body to read for text (Content-Encoding undone; for a 304, the stored payload it
    # confirms) and its Content-Type; None: no text wanted (a sitemap). The archive worker
    # reads it into ``document``.
    content: bytes | None = None
    content_type: str | None = None
    # The charset the crawl process detected for ``content`` (an undeclared page), so the
    # worker does not detect it again: detection is the costly part of decoding.
    charset_detected: str | None = None
    kind: str = "L"  # link kind: "L" page, "E" requisite (what a re-check schedules it as)
    depth: int = 0
    previous: UrlCapture | None = None  # this URL's last capture in an earlier run
    # A 304 answered a conditional request: the stored payload it confirmed.
    not_modified: StoredPayload | None = None
    # Set by the archive worker (archivist.py).
    payload_digest: str = ""
    revisit: Revisit | None = None
    change: str = ""
    document: Document | None = None  # set for HTML and plain-text documents
    written: WrittenExchange | None = None

    def __repr__(self) -> str:
        # Scrapy logs items; the bodies and heads would drown the log.
        return f"<Capture {self.exchange.status} {self.exchange.url}>"
