"""One crawl in this process: Scrapy's CrawlerProcess over archiver's settings and ArchiveSpider.

Twisted's reactor runs once per process, so a process runs one crawl.
"""

from __future__ import annotations

import gc
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from archiver.collection.summary import RunSummary
from archiver.crawl.run import Run
from archiver.crawl.runlog import RunExtension
from archiver.crawl.spider import ArchiveSpider
from archiver.model.errors import ArchiverError


def run_crawl(overrides: dict[str, Any], run: Run) -> RunSummary:
    """Run one crawl in this process (Twisted's reactor runs once per process)."""
    process = CrawlerProcess(crawl_settings_for(overrides))
    crawler = process.create_crawler(ArchiveSpider)
    Run.attach(crawler, run)
    failures: list[Failure] = []
    process.crawl(crawler).addErrback(failures.append)
    _collect_less_often()
    process.start()
    if failures:  # the crawl never began (a spider or component that could not be built)
        raise ArchiverError(f"the crawl could not start: {failures[0].getErrorMessage()}")
    extension = next(
        (e for e in crawler.extensions.middlewares if isinstance(e, RunExtension)), None
    )
    if extension is None or extension.summary is None:
        raise ArchiverError("the crawl ended without a run summary; see the log in the collection")
    return extension.summary


def _collect_less_often() -> None:
    """Scrapy and Twisted allocate dozens of objects per request, and CPython looks for
    reference cycles every 700 allocations, a real share of a static crawl's CPU (make bench).
    What start-up made is frozen out of every collection, and the youngest generation is
    collected far less often, which holds a few MB of garbage at most.
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def crawl_settings_for(overrides: dict[str, Any]) -> Settings:
    """archiver's settings module, with the command line's values on top."""
    settings = Settings()
    settings.setmodule("archiver.crawl.settings", priority="project")
    settings.update(overrides, priority="cmdline")
    return settings
