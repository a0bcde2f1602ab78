"""The identity of one crawl run, shared by every component of that crawl."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver.collection import Collection

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_ATTR = "_archiver_run"


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    started: datetime
    collection: Collection

    @classmethod
    def of(cls, crawler: Crawler) -> Run:
        """The run of *crawler*, made on first use so every component sees the same one.

        Components are built in an order Scrapy chooses, so whichever asks first creates it.
        """
        run = getattr(crawler, _ATTR, None)
        if run is None:
            run = cls.start(
                crawler.settings.get("ARCHIVER_OUTPUT"), crawler.settings.get("ARCHIVER_RUN_ID")
            )
            setattr(crawler, _ATTR, run)
        return run

    @classmethod
    def start(cls, output: str | Path, run_id: str | None = None) -> Run:
        started = datetime.now(UTC)
        collection = Collection(Path(output))
        collection.create()
        if not run_id:
            run_id = started.strftime("%Y%m%d%H%M%S")
            # Two runs started in one second would share files; the second gets a suffix.
            serial = 1
            base = run_id
            while collection.summary_for(run_id).exists() or collection.index_for(run_id).exists():
                serial += 1
                run_id = f"{base}-{serial}"
        return cls(run_id, started, collection)


def crawl_settings(crawler: Crawler) -> dict[str, Any]:
    """The settings that decide what a run captures: recorded in warcinfo and the run summary."""
    settings = crawler.settings
    spider = crawler.spider
    scope = getattr(spider, "scope", None)
    return {
        "seeds": list(getattr(spider, "seeds", [])),
        "scope": list(scope.prefixes) if scope else [],
        "allow_hosts": sorted(scope.allow_hosts) if scope else [],
        "exclude": [p.pattern for p in scope.exclude] if scope else [],
        "max_pages": settings.getint("ARCHIVER_MAX_PAGES"),
        "max_depth": settings.getint("ARCHIVER_MAX_DEPTH"),
        "robots": settings.get("ARCHIVER_ROBOTS"),
        "user_agent": settings.get("USER_AGENT"),
        "concurrency": settings.getint("CONCURRENT_REQUESTS"),
        "delay": settings.getfloat("DOWNLOAD_DELAY"),
        "warc_size": settings.getint("ARCHIVER_WARC_SIZE"),
        "warc_prefix": settings.get("ARCHIVER_WARC_PREFIX"),
        "resolve": settings.getlist("ARCHIVER_RESOLVE"),
    }
