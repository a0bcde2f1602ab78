"""Admission (archiver/crawl/admission.py) and the crawl's other parts, each built from plain
values with a real frontier on disk and no Scrapy crawler: which links enter the frontier,
why the others do not, and in which order the admitted ones wait."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from archiver.collection.frontier import Frontier, Role
from archiver.crawl.admission import Admission
from archiver.crawl.capture import CaptureMiddleware
from archiver.crawl.logformat import PageLogFormatter
from archiver.crawl.notable import Notable
from archiver.crawl.reading import PageReading
from archiver.crawl.timers import TimerSweep
from archiver.crawl.window import RequestWindow
from archiver.model.fingerprint import Fingerprint
from archiver.model.links import LinkKind
from archiver.web.scope import Scope
from archiver.web.traps import TrapGuard, TrapRules

SITE = "http://site.test"
PAGE, REQ = LinkKind.NAVIGATION, LinkKind.REQUISITE


class Counts(Counter[str]):
    def inc_value(self, key: str, count: int = 1) -> None:
        self[key] += count


@pytest.fixture
def frontier(tmp_path: Path) -> Frontier:
    frontier = Frontier(tmp_path / "frontier.sqlite3")
    frontier.begin("20260101000000", Fingerprint(seeds=(SITE + "/a/",)))
    return frontier


def admission(frontier: Frontier, counts: Counts, **limits: int) -> Admission:
    scope = Scope.build([SITE + "/a/"], [], [], [r"/a/private/"])
    rules = TrapRules(max_url_length=120, max_path_repeats=2, max_query_variants=3)
    return Admission(
        frontier,
        scope,
        TrapGuard(rules),
        max_pages=limits.get("max_pages", 0),
        max_depth=limits.get("max_depth", 0),
        count=counts.inc_value,
    )


def queued(frontier: Frontier) -> list[str]:
    return [entry.url for entry in frontier.take(1000)]


def test_pages_in_scope_are_queued_and_the_rest_refused_and_counted(frontier: Frontier):
    counts = Counts()
    admit = admission(frontier, counts)
    assert admit.follow(SITE + "/a/page.html", PAGE, depth=1, referer=SITE + "/a/")
    assert not admit.follow(SITE + "/b/page.html", PAGE, depth=1, referer=SITE + "/a/")
    assert not admit.follow(SITE + "/a/private/x.html", PAGE, depth=1, referer=SITE + "/a/")
    assert not admit.follow("mailto:someone@site.test", PAGE, depth=1, referer=SITE + "/a/")
    assert not admit.follow("http://other.test/a/", PAGE, depth=1, referer=SITE + "/a/")
    assert queued(frontier) == [SITE + "/a/page.html"]
    assert counts == {"archiver/links/out_of_scope": 3, "archiver/links/not_http": 1}


def test_a_pages_requisites_come_from_its_own_host_even_outside_the_prefix(frontier: Frontier):
    counts = Counts()
    admit = admission(frontier, counts)
    page = SITE + "/a/page.html"
    assert admit.follow(SITE + "/images/logo.gif", REQ, depth=1, referer=page)
    assert not admit.follow("http://cdn.test/logo.gif", REQ, depth=1, referer=page)
    assert counts == {"archiver/links/out_of_scope": 1}
    (entry,) = frontier.take(10)
    assert (entry.role, entry.kind, entry.referer) == (Role.PAGE, REQ, page)


def test_a_url_is_admitted_once(frontier: Frontier):
    admit = admission(frontier, Counts())
    assert admit.follow(SITE + "/a/x.html", PAGE, depth=1, referer=None)
    assert not admit.follow(SITE + "/a/x.html", PAGE, depth=2, referer=None)
    # Even once the in-memory cache has forgotten it (a failed commit clears it).
    admit.forget()
    assert not admit.follow(SITE + "/a/x.html", PAGE, depth=2, referer=None)
    assert queued(frontier) == [SITE + "/a/x.html"]


@pytest.mark.parametrize(
    ("url", "trap"),
    [
        (SITE + "/a/" + "x" * 200, "url_too_long"),
        (SITE + "/a/b/a/b/a/", "path_repeats"),
    ],
)
def test_trap_shapes_are_refused_and_counted_by_rule(frontier: Frontier, url: str, trap: str):
    counts = Counts()
    assert not admission(frontier, counts).follow(url, PAGE, depth=1, referer=None)
    assert counts == {f"archiver/traps/{trap}": 1}


def test_query_variants_of_one_path_stop_at_the_limit(frontier: Frontier):
    counts = Counts()
    admit = admission(frontier, counts)
    taken = [admit.follow(f"{SITE}/a/cal?d={day}", PAGE, depth=1, referer=None) for day in range(6)]
    assert taken == [True, True, True, False, False, False]
    assert counts == {"archiver/traps/query_variants": 3}


def test_depth_and_page_limits_count_pages_not_requisites(frontier: Frontier):
    counts = Counts()
    admit = admission(frontier, counts, max_depth=2, max_pages=2)
    assert not admit.follow(SITE + "/a/deep.html", PAGE, depth=3, referer=None)
    assert admit.follow(SITE + "/a/1.html", PAGE, depth=1, referer=None)
    assert admit.follow(SITE + "/a/2.html", PAGE, depth=2, referer=None)
    assert not admit.follow(SITE + "/a/3.html", PAGE, depth=1, referer=None)
    # Requisites of pages already taken are not pages: neither limit applies to them.
    assert admit.follow(SITE + "/a/style.css", REQ, depth=5, referer=SITE + "/a/1.html")
    assert counts == {"archiver/links/max_depth": 1, "archiver/links/max_pages": 1}
    assert admit.pages_scheduled == 2


def test_follow_links_adds_a_hop_for_pages_only(frontier: Frontier):
    admit = admission(frontier, Counts())
    page = SITE + "/a/index.html"
    admit.follow_links([(SITE + "/a/next.html", PAGE), (SITE + "/a/pic.gif", REQ)], 4, page)
    depths = {entry.url: entry.depth for entry in frontier.take(10)}
    assert depths == {SITE + "/a/next.html": 5, SITE + "/a/pic.gif": 4}


def test_where_a_seed_redirects_joins_the_scope_and_the_frontier_keeps_it(frontier: Frontier):
    counts = Counts()
    admit = admission(frontier, counts)
    target = "https://www.site.test/a/"
    assert not admit.follow(target + "x.html", PAGE, depth=1, referer=None)
    assert admit.follow(target, PAGE, depth=0, referer=SITE + "/a/", seed=True)
    assert admit.follow(target + "x.html", PAGE, depth=1, referer=None)
    assert frontier.scope_prefixes() == [target]
    assert counts["archiver/seeds/scope_added"] == 1


def test_requisites_wait_before_pages_and_robots_txt_is_sent_not_queued(frontier: Frontier):
    admit = admission(frontier, Counts())
    admit.follow(SITE + "/a/1.html", PAGE, depth=1, referer=None)
    admit.follow(SITE + "/a/1.css", REQ, depth=1, referer=SITE + "/a/1.html")
    admit.follow(SITE + "/a/2.html", PAGE, depth=1, referer=None)
    assert admit.admit_robots(SITE + "/robots.txt", SITE, 0)
    assert not admit.admit_robots(SITE + "/robots.txt", SITE, 0)
    assert queued(frontier) == [SITE + "/a/1.css", SITE + "/a/1.html", SITE + "/a/2.html"]


def test_the_request_window_sends_no_more_than_its_size(frontier: Frontier):
    admit = admission(frontier, Counts())
    for n in range(10):
        admit.follow(f"{SITE}/a/{n}.html", PAGE, depth=1, referer=None)
    window: RequestWindow[str] = RequestWindow(frontier, 4)
    sent = window.refill(lambda entry: [window.sent(entry.url)])
    assert len(sent) == 4 and window.outstanding == 4 and window.waiting() == 6
    window.answered()
    assert window.refill(lambda entry: [window.sent(entry.url)]) == [f"{SITE}/a/4.html"]
    assert not window.drained


def test_pages_go_to_the_worker_until_its_backlog_then_are_read_here():
    admitted: list[tuple[str, int]] = []
    reading = PageReading(2, lambda base, depth, links: admitted.append((base, depth)) or True)
    assert not reading.worker_reads("text/html")  # no worker opened yet
    reading.worker_opened()
    reading.sent()
    reading.sent()
    assert not reading.worker_reads("text/html")
    assert reading.worker_reads("application/pdf")  # never read in the crawl process
    assert reading.links_read(SITE + "/a/", 1, [])
    assert reading.pending == 1 and admitted == [(SITE + "/a/", 1)]
    assert reading.worker_reads("text/html")


def test_components_are_built_from_plain_values_without_a_crawler():
    stats = Counts()
    capture = CaptureMiddleware(stats, Notable())  # type: ignore[arg-type]
    assert capture.notable.errors_seen == 0
    assert PageLogFormatter(debug=False).crawled() is None  # type: ignore[call-arg]
    TimerSweep()
