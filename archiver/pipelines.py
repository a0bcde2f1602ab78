"""Item pipelines: write each capture to the WARC and the index, then its manifest line.

The manifest line is written only after its record is in the WARC file, so a manifest line
never points at a record that is not there.
"""

from __future__ import annotations

import json
import platform
import socket
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import archiver
from archiver.cdxj import CdxjIndex, cdxj_line, cdxj_mime
from archiver.items import Capture
from archiver.manifest import ManifestWriter
from archiver.run import Run, crawl_settings
from archiver.warc import WarcFileWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def software() -> str:
    parts = "; ".join(f"{name} {version(name)}" for name in ("Scrapy", "warcio", "Twisted", "lxml"))
    return f"archiver/{archiver.__version__} ({parts}; Python {platform.python_version()})"


def warcinfo_fields(crawler: Crawler, run: Run) -> dict[str, str]:
    """What every WARC file says about how it was made (WARC 1.1 annex C fields first)."""
    settings = crawler.settings
    return {
        "software": software(),
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "hostname": socket.gethostname(),
        "operator": settings.get("ARCHIVER_OPERATOR") or "",
        "robots": settings.get("ARCHIVER_ROBOTS"),
        "http-header-user-agent": settings.get("USER_AGENT"),
        "isPartOf": run.collection.root.resolve().name,
        "description": f"archiver run {run.run_id}",
        "archiver-run-id": run.run_id,
        "archiver-settings": json.dumps(crawl_settings(crawler), sort_keys=True),
    }


class WarcPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.writer: WarcFileWriter | None = None
        self.index: CdxjIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        run = Run.of(self.crawler)
        settings = self.crawler.settings
        self.writer = WarcFileWriter(
            run.collection.warcs,
            prefix=settings.get("ARCHIVER_WARC_PREFIX"),
            max_size=settings.getint("ARCHIVER_WARC_SIZE"),
            warcinfo=warcinfo_fields(self.crawler, run),
        )
        self.index = CdxjIndex(run.collection.index_for(run.run_id))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture):
            return item
        assert self.writer is not None and self.index is not None
        exchange = item.exchange
        written = self.writer.write_exchange(exchange)
        item.written = written
        self.index.add(
            cdxj_line(
                url=exchange.url,
                timestamp=written.warc_date_14,
                mime=cdxj_mime(exchange.content_type),
                status=exchange.status,
                digest=written.payload_digest,
                length=written.response.length,
                offset=written.response.offset,
                filename=written.response.filename,
            )
        )
        self.stats.inc_value("archiver/captures")
        self.stats.inc_value(f"archiver/status/{exchange.status}")
        self.stats.inc_value(f"archiver/mime/{exchange.mime}")
        self.stats.inc_value(f"archiver/payload_bytes/{exchange.mime}", len(exchange.response_body))
        self.stats.set_value("archiver/warc_bytes", self.writer.bytes_written)
        return item

    def close_spider(self) -> None:
        if self.writer is None or self.index is None:
            return
        self.writer.close()
        self.index.close()
        self.stats.set_value("archiver/warc_bytes", self.writer.bytes_written)
        self.stats.set_value("archiver/warc_files", [p.name for p in self.writer.files_written])
        self.stats.set_value("archiver/index_lines", self.index.lines)


class ManifestPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.manifest: ManifestWriter | None = None
        self.run_id = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        run = Run.of(self.crawler)
        self.run_id = run.run_id
        self.manifest = ManifestWriter(run.collection.manifest)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture) or item.document is None or item.written is None:
            return item
        assert self.manifest is not None
        doc, written, exchange = item.document, item.written, item.exchange
        self.manifest.add(
            {
                "url": exchange.url,
                "timestamp": written.warc_date_14,
                "status": exchange.status,
                "mime": exchange.mime,
                "charset": doc.charset,
                "charset_source": doc.charset_source,
                "charset_declared": doc.charset_declared,
                "title": doc.title,
                "text": doc.text,
                "digest": written.payload_digest,
                "record_id": written.response.record_id,
                "warc_filename": written.response.filename,
                "warc_offset": written.response.offset,
                "warc_length": written.response.length,
                "run": self.run_id,
            }
        )
        self.stats.inc_value("archiver/manifest_lines")
        return item

    def close_spider(self) -> None:
        if self.manifest is not None:
            self.manifest.close()
