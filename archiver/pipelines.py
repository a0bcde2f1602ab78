"""Item pipelines: decide dedup, write each capture's records, queue its index and manifest
lines, and commit at checkpoints.

Records are written at once; their lines and dedup rows reach the disk at the next checkpoint,
after the records are fsynced (journal.py), so no line ever points at a record that is not
durable. The last pipeline takes the checkpoints, once every earlier one is done with an item.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import platform
import socket
import sqlite3
import time
from base64 import b32encode
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

import archiver
from archiver.cdxj import CdxjIndex, cdxj_line, cdxj_mime
from archiver.changes import Change, PageState, classify
from archiver.dedup import DedupIndex, StoredPayload, UrlCapture, is_fresh
from archiver.exchange import header_value, merge_not_modified, mime_type
from archiver.items import Capture
from archiver.journal import Journal
from archiver.manifest import ManifestWriter
from archiver.run import Run, crawl_settings
from archiver.warc import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    Revisit,
    WarcFileWriter,
    WrittenExchange,
)

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


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
LISTED_PAGES = 10_000  # URLs per change named in the run summary
logger = logging.getLogger(__name__)


def stop_on_write_error(crawler: Crawler, exc: OSError | sqlite3.Error) -> None:
    """A collection that cannot be written ends the run: crawling on would lose every capture.

    The WARC files stay whole (the writer cuts a failed record off again); the next run of
    the same command repairs what was left half-written and resumes the run.
    """
    reason = write_error_reason(exc)
    assert crawler.stats is not None and crawler.engine is not None
    crawler.stats.inc_value("archiver/not_archived")
    if crawler.stats.get_value("archiver/stop_reason") is None:
        logger.critical("cannot write to the collection (%s); stopping the crawl", exc)
        crawler.stats.set_value("archiver/stop_reason", reason)
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


def _unless_no_warc(crawler: Crawler) -> None:
    """--no-warc (for measurement only) turns every pipeline off: nothing is archived."""
    if crawler.settings.getbool("ARCHIVER_NO_WARC"):
        raise NotConfigured("--no-warc: nothing is archived")


def write_error_reason(exc: OSError | sqlite3.Error) -> str:
    full = isinstance(exc, OSError) and exc.errno in _DISK_FULL
    full = full or "full" in str(exc)  # sqlite3 says "database or disk is full"
    return "disk_full" if full else "write_error"


def payload_digest(body: bytes) -> str:
    """sha1, base32: the WARC-Payload-Digest form CDX tools and pywb expect."""
    return "sha1:" + b32encode(hashlib.sha1(body).digest()).decode("ascii")


class DedupPipeline:
    """Decide, before anything is written, whether a capture is stored or revisits a payload."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.max_age = crawler.settings.getfloat("ARCHIVER_DEDUP_MAX_AGE")
        self.index: DedupIndex | None = None
        # Pages (manifest documents) by their change, for the run summary: every one counted,
        # the first LISTED_PAGES of each named (memory must not grow with the crawl; the
        # manifest's change field and `archiver changes` have them all).
        self.page_counts: dict[str, int] = {change.value: 0 for change in Change}
        self.pages: dict[str, list[str]] = {change.value: [] for change in Change}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        _unless_no_warc(crawler)
        return cls(crawler)

    def open_spider(self) -> None:
        self.index = Run.of(self.crawler).index

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture):
            return item
        assert self.index is not None
        exchange = item.exchange
        if item.not_modified is not None and item.previous is not None:
            stored = item.not_modified
            item.payload_digest = stored.digest
            item.revisit = _revisit(
                PROFILE_NOT_MODIFIED,
                stored,
                merge_not_modified(item.previous.response_head, exchange.response_head),
            )
            self.stats.inc_value("archiver/dedup/not_modified")
        else:
            item.payload_digest = payload_digest(exchange.response_body)
            stored = self.index.payload(item.payload_digest)
            if stored is not None and is_fresh(stored, self.max_age) and not exchange.truncated:
                item.revisit = _revisit(PROFILE_IDENTICAL, stored, exchange.response_head)
                self.stats.inc_value("archiver/dedup/identical")
            elif stored is not None:
                self.stats.inc_value("archiver/dedup/expired")
        status = _effective_status(item)
        current = PageState(status, item.payload_digest)
        previous = PageState(item.previous.status, item.previous.digest) if item.previous else None
        item.change = classify(previous, current).value
        if item.document is not None:
            self.page_counts[item.change] += 1
            if len(self.pages[item.change]) < LISTED_PAGES:
                self.pages[item.change].append(exchange.url)
        return item

    def close_spider(self) -> None:
        self.stats.set_value("archiver/pages_by_change", self.pages)
        self.stats.set_value("archiver/page_counts", self.page_counts)


def _revisit(profile: str, stored: StoredPayload, head: bytes) -> Revisit:
    return Revisit(
        profile=profile,
        digest=stored.digest,
        refers_to=stored.record_id,
        refers_to_uri=stored.url,
        refers_to_date=stored.warc_date,
        head=head,
    )


def _effective_status(item: Capture) -> int:
    """A 304 confirms the stored response: its status is the one that counts."""
    if item.not_modified is not None and item.previous is not None:
        return item.previous.status
    return item.exchange.status


def _effective_mime(item: Capture) -> str:
    """A 304 has no Content-Type of its own; the stored response's applies."""
    if item.not_modified is not None and item.previous is not None:
        return mime_type(header_value(item.previous.response_head, b"content-type"))
    return item.exchange.mime


class WarcPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.journal: Journal | None = None
        self.run: Run | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcPipeline:
        _unless_no_warc(crawler)
        return cls(crawler)

    def open_spider(self) -> None:
        run = self.run = Run.of(self.crawler)
        settings = self.crawler.settings
        writer = WarcFileWriter(
            run.collection.warcs,
            prefix=settings.get("ARCHIVER_WARC_PREFIX"),
            max_size=settings.getint("ARCHIVER_WARC_SIZE"),
            warcinfo=warcinfo_fields(self.crawler, run),
        )
        self.journal = run.journal = Journal(
            run_id=run.run_id,
            writer=writer,
            cdxj=CdxjIndex(run.collection.index_for(run.run_id)),
            manifest=ManifestWriter(run.collection.manifest),
            index=run.index,
            frontier=run.frontier,
            every_captures=settings.getint("ARCHIVER_CHECKPOINT_CAPTURES"),
            every_seconds=settings.getfloat("ARCHIVER_CHECKPOINT_SECONDS"),
        )

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture):
            return item
        assert self.journal is not None and self.run is not None
        exchange = item.exchange
        try:
            written = self.journal.write(
                exchange, payload_digest=item.payload_digest or None, revisit=item.revisit
            )
            item.written = written
            self.journal.add_index_line(
                cdxj_line(
                    url=exchange.url,
                    timestamp=written.warc_date_14,
                    mime="warc/revisit" if item.revisit else cdxj_mime(exchange.content_type),
                    status=_effective_status(item),
                    digest=written.payload_digest,
                    length=written.response.length,
                    offset=written.response.offset,
                    filename=written.response.filename,
                )
            )
            self._remember(item, written)
        except (OSError, sqlite3.Error) as exc:
            stop_on_write_error(self.crawler, exc)
            raise DropItem(f"not archived: {exchange.url}", log_level="INFO") from exc
        self.stats.inc_value("archiver/captures")
        self.stats.inc_value(
            "archiver/records/revisit" if item.revisit else "archiver/records/response"
        )
        self.stats.inc_value(f"archiver/status/{exchange.status}")
        mime = _effective_mime(item)
        self.stats.inc_value(f"archiver/mime/{mime}")
        self.stats.inc_value(f"archiver/payload_bytes/{mime}", len(exchange.response_body))
        self.stats.set_value("archiver/warc_bytes", self.journal.writer.bytes_written)
        return item

    def _remember(self, item: Capture, written: WrittenExchange) -> None:
        """Tell the dedup index what is now in the archive; only after the record is written."""
        dedup = self.run.index  # type: ignore[union-attr]
        exchange = item.exchange
        if item.revisit is None and not exchange.truncated:
            dedup.add_payload(
                StoredPayload(
                    digest=written.payload_digest,
                    url=exchange.url,
                    warc_date=written.warc_date,
                    record_id=written.response.record_id,
                    filename=written.response.filename,
                    offset=written.response.offset,
                    stored_at=time.time(),
                )
            )
        head = item.revisit.head if item.revisit else exchange.response_head
        dedup.record_capture(
            UrlCapture(
                url=exchange.url,
                run_id=self.run.run_id,  # type: ignore[union-attr]
                status=_effective_status(item),
                digest=written.payload_digest,
                kind=item.kind,
                depth=item.depth,
                etag=header_value(head, b"etag"),
                last_modified=header_value(head, b"last-modified"),
                response_head=head,
                document=item.document is not None,
            )
        )

    def close_spider(self) -> None:
        journal = self.journal
        if journal is None:
            return
        try:
            journal.close()
        except (OSError, sqlite3.Error) as exc:
            # What the last checkpoint did not commit is cut by the next run's repair, and
            # fetched again when it resumes.
            logger.warning("the last checkpoint failed (%s); the next run repairs and resumes", exc)
            if self.stats.get_value("archiver/stop_reason") is None:
                self.stats.set_value("archiver/stop_reason", write_error_reason(exc))
        writer = journal.writer
        self.stats.set_value("archiver/warc_bytes", writer.bytes_written)
        self.stats.set_value("archiver/warc_files", [p.name for p in writer.files_written])
        self.stats.set_value("archiver/index_lines", journal.cdxj.lines)
        self.stats.set_value("archiver/checkpoints", journal.checkpoints)


class ManifestPipeline:
    """Queues each document's manifest line; the checkpoint writes it (journal.py)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.journal: Journal | None = None
        self.run_id = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        _unless_no_warc(crawler)
        return cls(crawler)

    def open_spider(self) -> None:
        run = Run.of(self.crawler)
        self.run_id = run.run_id
        self.journal = run.journal  # made by WarcPipeline, which opens first

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture) or item.document is None or item.written is None:
            return item
        assert self.journal is not None
        doc, written, exchange = item.document, item.written, item.exchange
        self.journal.add_manifest_line(
            {
                "url": exchange.url,
                "timestamp": written.warc_date_14,
                "status": _effective_status(item),
                "mime": _effective_mime(item),
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
                "change": item.change,
            }
        )
        self.stats.inc_value("archiver/manifest_lines")
        return item


class CheckpointPipeline:
    """Last: commits what the pipelines before it wrote, when a checkpoint is due.

    Also on a timer, so a slow crawl does not hold captures uncommitted for long.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.journal: Journal | None = None
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CheckpointPipeline:
        _unless_no_warc(crawler)
        return cls(crawler)

    def open_spider(self) -> None:
        self.journal = Run.of(self.crawler).journal
        assert self.journal is not None
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(self.journal.every_seconds, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Capture) and item.written is not None:
            self._tick()
        return item

    def _tick(self) -> None:
        journal = self.journal
        if journal is None or not journal.due:
            return
        try:
            journal.checkpoint()
        except (OSError, sqlite3.Error) as exc:
            stop_on_write_error(self.crawler, exc)

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
