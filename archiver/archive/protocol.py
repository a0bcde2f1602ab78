"""The item that carries one capture from the spider to the archive worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from archiver.collection.warc import Revisit, WrittenExchange
from archiver.model.dedup import StoredPayload, UrlCapture
from archiver.model.document import Document
from archiver.model.exchange import Exchange
from archiver.model.links import Link


@dataclass(slots=True, repr=False)
class Capture:
    exchange: Exchange
    # The body to read for text (Content-Encoding undone; for a 304, the stored payload it
    # confirms) and its Content-Type; None: no text wanted (a sitemap), or the crawl process
    # read it already (``document`` is set). Otherwise the archive worker reads it.
    content: bytes | None = None
    content_type: str | None = None
    # Set when the crawl process wants the links of ``content`` back from the worker (an
    # HTML page or style sheet): the URL they resolve against, and the Referer they are
    # followed with. The worker reads text and links in one parse and sends them back
    # (worker.LINKS) before the capture can be committed.
    links_base: str | None = None
    kind: str = "L"  # link kind: "L" page, "E" requisite (what a re-check schedules it as)
    depth: int = 0  # link hops from a seed
    previous: UrlCapture | None = None  # this URL's last capture in an earlier run
    # A 304 answered a conditional request: the stored payload it confirmed.
    not_modified: StoredPayload | None = None
    # Set by the archive worker (archivist.py).
    payload_digest: str = ""
    revisit: Revisit | None = None
    change: str = ""
    document: Document | None = None  # set for HTML, plain-text and PDF documents
    links: list[Link] = field(default_factory=list)  # read when links_base is set
    written: WrittenExchange | None = None

    def __repr__(self) -> str:
        # Scrapy logs items; the bodies and heads would drown the log.
        return f"<Capture {self.exchange.status} {self.exchange.url}>"
