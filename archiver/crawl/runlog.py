"""RunExtension: the run's log file and, when the run ends, its summary ``runs/<run-id>.json``
and report ``runs/<run-id>/report.html``.

The summary is built from the crawl stats, which every component fills as it decides; so the
summary can say nothing the stats do not back.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from archiver.archive.archivist import LISTED_PAGES
from archiver.collection.durable import write_atomically
from archiver.collection.layout import count_lines
from archiver.collection.summary import (
    FailedUrl,
    GivenUpHost,
    LargeUrl,
    PageChanges,
    RunBytes,
    RunCounts,
    RunFiles,
    RunSettings,
    RunSummary,
    SlowUrl,
    TimelinePoint,
)
from archiver.crawl import logsafe
from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.crawl.throttle import CRAWL_DELAY_STAT
from archiver.model.stops import StopReason
from archiver.tools import report

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in sorted(stats.items()) if k.startswith(prefix)}


def page_changes(stats: dict[str, Any], run: Run) -> PageChanges:
    """Every page of this run by its change; pages of the previous run not captured now are gone.

    Counts are exact; at most LISTED_PAGES URLs per change are named (the manifest's change
    field, and `archiver changes`, have every one).
    """
    pages = {k: sorted(v) for k, v in stats.get("archiver/pages_by_change", {}).items()}
    counts = dict(stats.get("archiver/page_counts", {}))
    if run.previous_run:
        # A page captured this run had its row moved to this run; rows left are not captured.
        missing = [c.url for c in run.index.documents_last_seen_in(run.previous_run)]
        counts["gone"] = counts.get("gone", 0) + len(missing)
        pages["gone"] = sorted({*pages.get("gone", []), *missing})[:LISTED_PAGES]
    listed = sum(len(urls) for urls in pages.values())
    return PageChanges(
        compared_with=run.previous_run,
        counts=counts,
        pages={kind: tuple(urls) for kind, urls in pages.items()},
        all_pages_listed=listed == sum(counts.values()),
    )


def build_summary(stats: dict[str, Any], run: Run, reason: str, ended: datetime) -> RunSummary:
    """The run's summary, from the crawl's stats and the run's own records."""
    collection = run.collection
    notable = run.notable.summary()
    return RunSummary(
        run_id=run.run_id,
        collection=str(collection.root),
        started=run.started.isoformat(),
        ended=ended.isoformat(),
        elapsed_seconds=round((ended - run.started).total_seconds(), 3),
        finish_reason=StopReason(reason),
        resumes=run.resumes,
        stale_lock_cleared=run.lock.stale,
        settings=run.describe() if run.describe is not None else RunSettings(),
        crawl_delays=_prefixed(stats, CRAWL_DELAY_STAT),
        counts=RunCounts(
            captures=stats.get("archiver/captures", 0),
            captures_in_run=_lines(collection.index_for(run.run_id)),
            captured_before_resume=stats.get("archiver/resume/captured_before", 0),
            exchanges_captured=stats.get("archiver/exchanges_captured", 0),
            documents=stats.get("archiver/manifest_lines", 0),
            pages_read_in_crawl=stats.get("archiver/pages_read_in_crawl", 0),
            # PDFs by how their text was read: ok, or why not in full (pdftext.Outcome).
            pdf_text=_prefixed(stats, "archiver/pdf/"),
            by_status=_prefixed(stats, "archiver/status/"),
            by_mime=_prefixed(stats, "archiver/mime/"),
            fetch_errors=_prefixed(stats, "archiver/fetch_errors/"),
            robots_disallowed=stats.get("archiver/robots/disallowed", 0),
            links=_prefixed(stats, "archiver/links/"),
            # Links parked by the pattern budget and followed later are taken off its count:
            # a kind left at 0 refused nothing.
            traps={k: v for k, v in _prefixed(stats, "archiver/traps/").items() if v},
            redirects_followed=stats.get("archiver/redirects_followed", 0),
            retries=_prefixed(stats, "archiver/retries/"),
            records=_prefixed(stats, "archiver/records/"),
            dedup=_prefixed(stats, "archiver/dedup/"),
            conditional_requests=stats.get("archiver/conditional_requests", 0),
            rechecked=stats.get("archiver/rechecked", 0),
        ),
        changes=page_changes(stats, run),
        slowest=tuple(SlowUrl(**row) for row in notable["slowest"]),
        largest=tuple(LargeUrl(**row) for row in notable["largest"]),
        errors=tuple(FailedUrl(**row) for row in notable["errors"]),
        errors_listed_all=notable["errors_listed_all"],
        hosts_given_up=tuple(
            GivenUpHost(host, given_up["reason"], given_up["skipped"])
            for host, given_up in sorted(stats.get("archiver/hosts_given_up", {}).items())
        ),
        timeline=tuple(TimelinePoint(**point) for point in run.timeline.points),
        bytes=RunBytes(
            warc=stats.get("archiver/warc_bytes", 0),
            payload_by_mime=_prefixed(stats, "archiver/payload_bytes/"),
        ),
        files=RunFiles(
            warcs=tuple(f"warcs/{name}" for name in stats.get("archiver/warc_files", [])),
            index=str(collection.index_for(run.run_id).relative_to(collection.root)),
            manifest=str(collection.manifest.relative_to(collection.root)),
            log=str(collection.log_for(run.run_id).relative_to(collection.root)),
        ),
    )


def _lines(path: Path) -> int:
    try:
        return count_lines(path)
    except OSError:
        return 0  # no capture yet, or the index stayed .open (a full disk; repair seals it)


class _LogFile(logging.FileHandler):
    """The collection's log; when it cannot be written (a full disk) it falls silent instead
    of printing a traceback per line: the console still carries the warnings."""

    def handleError(self, record: logging.LogRecord) -> None:
        self.setLevel(logging.CRITICAL + 1)


class RunExtension:
    def __init__(
        self,
        run: Run,
        stats: StatsCollector,
        *,
        archiving: bool,
        log_level: str,
        log_format: str,
        log_date_format: str,
    ) -> None:
        self.run = run
        self.stats = stats
        self.archiving = archiving  # False with --no-warc: nothing reaches the WARC
        # The collection keeps the whole log at INFO whatever the console shows.
        self.handler = _LogFile(self.run.collection.log_for(self.run.run_id), encoding="utf-8")
        self.handler.setLevel(log_level)
        self.handler.setFormatter(logging.Formatter(log_format, log_date_format))
        logging.getLogger().addHandler(self.handler)
        # Every handler, the console's too, escapes control characters from the web.
        logsafe.install(logging.getLogger().handlers)
        self.summary: RunSummary | None = None

    def _write_summary(self, summary: RunSummary) -> None:
        text = summary.format()
        write_atomically(self.run.collection.summary_for(self.run.run_id), [text.encode()])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunExtension:
        options = CrawlOptions.of(crawler)
        assert crawler.stats is not None
        extension = cls(
            Run.of(crawler),
            crawler.stats,
            archiving=not options.no_warc,
            log_level=options.log_level,
            log_format=options.log_format,
            log_date_format=options.log_date_format,
        )
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stopped = self.stats.get_value("archiver/stop_reason")
        # A write error while closing (the last checkpoint) ends an otherwise finished run.
        reason = stopped or reason
        stats = self.stats.get_stats()
        self.summary = summary = build_summary(stats, self.run, reason, datetime.now(UTC))
        counts = summary.counts
        if self.archiving and counts.exchanges_captured != counts.captures:
            logger.error(
                "%d exchanges were captured but %d written to the WARC%s",
                counts.exchanges_captured,
                counts.captures,
                f" (the run stopped: {stopped})" if stopped else "",
            )
        try:
            self._write_summary(summary)
        except OSError as exc:  # a full disk; the console report still carries it
            logger.warning("the run summary could not be written (%s)", exc)
        try:
            report.write_report(self.run.collection, summary)
        except OSError as exc:  # a full disk: the summary, written first, has every figure
            logger.warning("the run report could not be written (%s)", exc)
        except Exception:
            # The report is a view of the summary; a summary shape it does not expect must
            # not skip what follows (closing the log, releasing the collection's lock).
            logger.exception("the run report could not be built; `archiver report` retries")
        # What never reached the worker (a stopped crawl's last answers) is fetched again.
        with contextlib.suppress(OSError):
            self.run.collection.clear_spool()
        logging.getLogger().removeHandler(self.handler)
        with contextlib.suppress(OSError):  # a full disk: what fitted is in the file
            self.handler.close()
        # The frontier goes only with a finished run; any other end can be resumed.
        self.run.close(finished=reason == "finished")  # the lock is released only now
