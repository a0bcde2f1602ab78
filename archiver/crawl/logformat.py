"""Scrapy's per-page log lines, made only when some log shows them.

Scrapy logs two DEBUG lines for every page ("Crawled (200) ...", "Scraped from ..."). Its root
logger lets every level through to the handlers, which then drop them: each page still cost
two log records, a visible part of a crawl's profile, for lines that no log kept.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.logformatter import LogFormatter, LogFormatterResult

from archiver.crawl.options import CrawlOptions


def _level(value: Any) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    return level if isinstance(level, int) else logging.INFO


class PageLogFormatter(LogFormatter):
    """Scrapy's own formatter; its per-page lines are skipped unless a log is at DEBUG."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageLogFormatter:
        options = CrawlOptions.of(crawler)
        levels = (options.console_log_level, options.log_level)
        return cls(debug=any(_level(level) <= logging.DEBUG for level in levels))

    def crawled(self, *args: Any, **kwargs: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().crawled(*args, **kwargs) if self.debug else None

    def scraped(self, *args: Any, **kwargs: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().scraped(*args, **kwargs) if self.debug else None
