"""Resuming a run that did not finish: what its index holds is done; everything else the
frontier admitted is queued again, with the run's counters, scope and robots.txt rules as
they were (the repair that runs first has made the index agree with the WARC files)."""

from __future__ import annotations

import logging
from typing import Any

from archiver.collection.cdxj import captured_urls
from archiver.collection.frontier import Role
from archiver.crawl.admission import Admission
from archiver.crawl.robotsgate import RobotsGate
from archiver.crawl.run import Run
from archiver.crawl.sitemaps import Sitemaps
from archiver.model.links import LinkKind
from archiver.web.urls import seen_key

logger = logging.getLogger(__name__)


def restore(
    run: Run, admission: Admission, robots: RobotsGate, sitemaps: Sitemaps, stats: Any
) -> None:
    """Queue again what the frontier holds and the run's index does not; restore the run's
    counters, scope and robots.txt rules first."""
    frontier = run.frontier
    done = {seen_key(url) for url in captured_urls(run.collection.index_for(run.run_id))}
    done -= frontier.retries_owed().keys()  # answered 429/503 and owed a retry: fetched again
    for prefix in frontier.scope_prefixes():
        admission.scope = admission.scope.with_prefix(prefix)
    admission.pages_scheduled = frontier.count(Role.PAGE, LinkKind.NAVIGATION)
    sitemaps.fetched = frontier.count(Role.SITEMAP)
    owed: set[str] = set()
    for entry in frontier.entries():
        admission.traps.reason(entry.url)  # counts its query variant again
        if entry.role is Role.ROBOTS and entry.key not in done and entry.for_origin:
            owed.add(entry.for_origin)
    robots.restore(owed)
    requeued = frontier.requeue_except(done)
    stats.set_value("archiver/resume/captured_before", len(done))
    stats.set_value("archiver/resume/pending", requeued)
    logger.info("resuming: %d URLs captured before, %d to fetch", len(done), requeued)
