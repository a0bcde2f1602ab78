"""The archiving of one capture: its text read, dedup decided, records written, lines queued.

This is what runs in the archive worker (worker.py), apart from Scrapy: it is handed Capture
items in the order the crawl made them and owns the WARC writer, the journal and the dedup
index's writes for the whole run. What it decides and writes it counts in ``stats``, a plain
dict of Scrapy stats keys the worker forwards to the crawl process.

Records are written at once; their lines and dedup rows reach the disk at the next checkpoint,
after the records are fsynced (journal.py), so no line ever points at a record that is not
durable.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.archive.journal import Journal
from archiver.archive.protocol import ArchiveConfig, Capture
from archiver.collection.cdxj import CdxjIndex, CdxjLine, cdxj_mime
from archiver.collection.dedup import open_index
from archiver.collection.frontier import FrontierFiles
from archiver.collection.layout import Collection
from archiver.collection.manifest import ManifestLine, ManifestWriter
from archiver.collection.warc import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    Revisit,
    WarcFileWriter,
    WrittenExchange,
)
from archiver.model.changes import Change, PageState, classify
from archiver.model.dedup import DedupIndex, StoredPayload, UrlCapture, is_fresh
from archiver.model.exchange import mime_type
from archiver.web.documents import read_body
from archiver.web.heads import header_value, merge_not_modified

LISTED_PAGES = 10_000  # URLs per change named in the run summary

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Archivist:
    config: ArchiveConfig
    index: DedupIndex
    journal: Journal
    frontier: FrontierFiles
    stats: Counter[str] = field(default_factory=Counter)
    # Pages (manifest documents) by their change, for the run summary: every one counted,
    # the first LISTED_PAGES of each named (memory must not grow with the crawl; the
    # manifest's change field and `archiver changes` have them all).
    page_counts: dict[str, int] = field(
        default_factory=lambda: {change.value: 0 for change in Change}
    )
    pages: dict[str, list[str]] = field(
        default_factory=lambda: {change.value: [] for change in Change}
    )

    @classmethod
    def open(cls, config: ArchiveConfig, frontier_path: Path) -> Archivist:
        collection = Collection(config.root)
        index = open_index(config.index_class, config.root)
        writer = WarcFileWriter(
            collection.warcs,
            prefix=config.warc_prefix,
            max_size=config.warc_size,
            warcinfo=config.warcinfo,
        )
        frontier = FrontierFiles(frontier_path)
        journal = Journal(
            run_id=config.run_id,
            writer=writer,
            cdxj=CdxjIndex(collection.index_for(config.run_id)),
            manifest=ManifestWriter(collection.manifest),
            index=index,
            frontier=frontier,
            every_captures=config.checkpoint_captures,
            every_seconds=config.checkpoint_seconds,
        )
        return cls(config, index, journal, frontier)

    def archive(self, item: Capture) -> None:
        """Read, decide, write: the capture is committed at a later checkpoint.

        OSError and sqlite3.Error (a full disk) go to the caller, which stops the crawl. The
        body's spool file, if any, is removed once its records are written, or when they
        could not be: either way nothing will read it again.
        """
        try:
            if item.content is not None:
                reading = read_body(item.content, item.content_type, links_base=item.links_base)
                item.document, item.links = reading.document, reading.links
                if reading.pdf_outcome is not None:
                    self._count_pdf(item, reading.pdf_outcome)
            self._decide(item)
            self._write(item)
        finally:
            item.exchange.response_body.discard()
        if item.document is not None:
            self._queue_manifest_line(item)

    def _count_pdf(self, item: Capture, outcome: str) -> None:
        self.stats[f"archiver/pdf/{outcome}"] += 1
        if outcome != "ok":
            # Which PDF lacks text, and why: its manifest line cannot say (its text is empty
            # or partial, like a PDF of scanned pages that has none).
            logger.info("%s: PDF text not read in full: %s", item.exchange.url, outcome)

    # -- dedup -------------------------------------------------------------------------------

    def _decide(self, item: Capture) -> None:
        """Whether the capture is stored or revisits a payload, and how its page changed."""
        exchange = item.exchange
        if item.not_modified is not None and item.previous is not None:
            stored = item.not_modified
            item.payload_digest = stored.digest
            item.revisit = _revisit(
                PROFILE_NOT_MODIFIED,
                stored,
                merge_not_modified(item.previous.response_head, exchange.response_head),
            )
            self.stats["archiver/dedup/not_modified"] += 1
        else:
            # Digested by the crawl while the body came: the body is not read here.
            item.payload_digest = exchange.payload_digest
            found = self.index.payload(item.payload_digest)
            fresh = found is not None and is_fresh(found, self.config.dedup_max_age)
            if found is not None and fresh and not exchange.truncated:
                item.revisit = _revisit(PROFILE_IDENTICAL, found, exchange.response_head)
                self.stats["archiver/dedup/identical"] += 1
            elif found is not None:
                self.stats["archiver/dedup/expired"] += 1
        previous = PageState(item.previous.status, item.previous.digest) if item.previous else None
        current = PageState(_effective_status(item), item.payload_digest)
        item.change = classify(previous, current)
        if item.document is not None:
            self.page_counts[item.change] += 1
            if len(self.pages[item.change]) < LISTED_PAGES:
                self.pages[item.change].append(exchange.url)

    # -- records -----------------------------------------------------------------------------

    def _write(self, item: Capture) -> None:
        exchange = item.exchange
        # A 304 is written as a revisit of the payload it confirmed (what replay serves at
        # the new date), followed by the 304 itself as it came (what the server said).
        revisit = item.revisit
        not_modified = revisit is not None and revisit.profile == PROFILE_NOT_MODIFIED
        written = self.journal.write(exchange, revisit=revisit, not_modified_raw=not_modified)
        item.written = written
        self.journal.add_index_line(
            CdxjLine.of(
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
        stats = self.stats
        stats["archiver/captures"] += 1
        stats["archiver/records/revisit" if item.revisit else "archiver/records/response"] += 1
        stats[f"archiver/status/{exchange.status}"] += 1
        mime = _effective_mime(item)
        stats[f"archiver/mime/{mime}"] += 1
        stats[f"archiver/payload_bytes/{mime}"] += exchange.payload_length

    def _remember(self, item: Capture, written: WrittenExchange) -> None:
        """Tell the dedup index what is now in the archive; only after the record is written."""
        exchange = item.exchange
        if item.revisit is None and not exchange.truncated:
            self.index.add_payload(
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
        self.index.record_capture(
            UrlCapture(
                url=exchange.url,
                run_id=self.config.run_id,
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

    def _queue_manifest_line(self, item: Capture) -> None:
        doc, written, exchange = item.document, item.written, item.exchange
        assert doc is not None and written is not None and item.change is not None
        self.journal.add_manifest_line(
            ManifestLine(
                url=exchange.url,
                timestamp=written.warc_date_14,
                status=_effective_status(item),
                mime=_effective_mime(item),
                charset=doc.charset,
                charset_source=doc.charset_source,
                charset_declared=doc.charset_declared,
                title=doc.title,
                text=doc.text,
                digest=written.payload_digest,
                record_id=written.response.record_id,
                warc_filename=written.response.filename,
                warc_offset=written.response.offset,
                warc_length=written.response.length,
                run=self.config.run_id,
                change=item.change,
            )
        )
        self.stats["archiver/manifest_lines"] += 1

    # -- commits -----------------------------------------------------------------------------

    @property
    def checkpoint_due(self) -> bool:
        return self.journal.due

    def checkpoint(self) -> None:
        self.journal.checkpoint()

    def close(self) -> None:
        """The last checkpoint and every file finished; raises if the checkpoint failed
        (the files then stay as they are, for the next run's repair)."""
        self._end(self.journal.close)

    def abandon(self) -> None:
        """Every file closed without a last checkpoint: what the last one did not commit is
        cut by the next run's repair, and fetched again when it resumes."""
        self._end(self.journal.abandon)

    def _end(self, journal_end: Callable[[], None]) -> None:
        try:
            journal_end()
        finally:
            self.index.close()
            self.frontier.close()

    def totals(self) -> dict[str, Any]:
        """The stats that are set, not counted: what the run summary reports at the end."""
        writer = self.journal.writer
        return {
            "archiver/warc_bytes": writer.bytes_written,
            "archiver/warc_files": [p.name for p in writer.files_written],
            "archiver/index_lines": self.journal.cdxj.lines,
            "archiver/checkpoints": self.journal.checkpoints,
            "archiver/pages_by_change": self.pages,
            "archiver/page_counts": self.page_counts,
            # How the work splits between the processes (make bench reports the sum).
            "archiver/worker_cpu_seconds": round(_cpu_seconds(), 3),
        }


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


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
