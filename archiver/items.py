"""The item that carries one capture from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from archiver.exchange import Exchange
from archiver.manifest import Document
from archiver.warc import WrittenExchange


@dataclass(slots=True)
class Capture:
    exchange: Exchange
    document: Document | None = None  # set for HTML and plain-text documents
    written: WrittenExchange | None = None  # set by the WARC pipeline
