"""The item that carries one capture from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from archiver.dedup import StoredPayload, UrlCapture
from archiver.exchange import Exchange
from archiver.manifest import Document
from archiver.warc import Revisit, WrittenExchange


@dataclass(slots=True, repr=False)
class Capture:
    exchange: Exchange
    document: Document | None = None  # set for HTML and plain-text documents
    kind: str = "L"  # link kind: "L" page, "E" requisite (what a re-check schedules it as)
    depth: int = 0
    previous: UrlCapture | None = None  # this URL's last capture in an earlier run
    # A 304 answered a conditional request: the stored payload it confirmed.
    not_modified: StoredPayload | None = None
    # Set by the dedup pipeline.
    payload_digest: str = ""
    revisit: Revisit | None = None
    change: str = ""
    # Set by the WARC pipeline.
    written: WrittenExchange | None = None

    def __repr__(self) -> str:
        # Scrapy logs items; the bodies and heads would drown the log.
        return f"<Capture {self.exchange.status} {self.exchange.url}>"
