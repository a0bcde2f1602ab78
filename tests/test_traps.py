"""Every trap ends: the pattern budget's rule (archiver/web/traps.py), and a crawl of the
all-traps site (samplesite/traps.py) with the default trap rules, which must end on its own,
cheaply, with every page of the normal 15-level tree beside the traps captured."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from archiver.tools.verify import verify_collection
from archiver.web.traps import (
    PATTERNS_REMEMBERED,
    Parked,
    PatternBudget,
    TrapGuard,
    TrapRules,
    budget_key,
    page_shape,
    url_pattern,
)
from bench.procfs import PeakRss
from samplesite import traps
from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, CrawlResult

SITE = "http://site.test"

# -- the rule -------------------------------------------------------------------------------------


def test_a_pattern_is_the_host_and_the_path_with_numbers_generalized_and_no_query():
    assert url_pattern(SITE + "/calendar/2026/11/") == url_pattern(SITE + "/calendar/1999/01/")
    assert url_pattern(SITE + "/list?page=3") == "site.test/list"
    assert url_pattern(SITE + "/item/a9f3c2e1.html") == url_pattern(SITE + "/item/77b.html")
    assert url_pattern(SITE + "/page-2.html") == "site.test/page-0.html"
    # Words are the site's own names, not counters: two pages, two patterns.
    assert url_pattern(SITE + "/about.html") != url_pattern(SITE + "/contact.html")
    # One more folder is another shape (a path that grows is the hop limit's).
    assert url_pattern(SITE + "/a/1/") != url_pattern(SITE + "/a/1/2/")
    assert url_pattern(SITE + "/x") != url_pattern("http://other.test/x")


def test_whose_budget_a_link_spends():
    month = SITE + "/calendar/2026/11/"
    assert budget_key(SITE + "/calendar/2026/12/", month) == "site.test/calendar/0/0/"
    # A path's query variants whose keys overlap spend one budget: paginations, calendars,
    # facets added and removed.
    space = "site.test/shop?*"
    assert budget_key(SITE + "/shop?color=red&size=m", SITE + "/shop?color=red") == space
    assert budget_key(SITE + "/shop?color=red", SITE + "/shop?color=red&size=m") == space
    assert budget_key(SITE + "/shop?page=3", SITE + "/shop?page=2&sort=price") == space
    # Free: another pattern, the path's own page listing its variants, unrelated keys (a
    # blog's list page linking its posts).
    assert budget_key(SITE + "/gallery/12.html", SITE + "/gallery/") is None
    assert budget_key(SITE + "/shop?color=red", SITE + "/shop") is None
    assert budget_key(SITE + "/?p=12", SITE + "/?paged=2") is None


def test_only_links_a_pattern_makes_to_itself_count_and_past_the_budget_they_are_refused():
    budget = PatternBudget(3)
    index = SITE + "/gallery/"
    # An index of another shape links any number of same-shaped pages: free.
    assert all(budget.take(f"{SITE}/gallery/{n}.html", index) is None for n in range(100))
    assert len(budget) == 0
    month = SITE + "/calendar/2026/11/"
    taken = [budget.take(f"{SITE}/calendar/2026/{m:02d}/", month) for m in range(1, 6)]
    assert taken[:3] == [None] * 3
    assert taken[3:] == ["site.test/calendar/0/0/"] * 2
    assert PatternBudget(0).take(SITE + "/list?page=2", SITE + "/list?page=1") is None


def test_a_page_shape_ignores_numbers_and_tokens_but_not_words():
    assert page_shape(b"<h1>Calendar 2026-11</h1><a href=/c/2026/12/>") == page_shape(
        b"<h1>Calendar 1999-01</h1><a href=/c/1999/02/>"
    )
    assert page_shape(b"/missing/a9f3c2e1.html not found") == page_shape(
        b"/missing/77bq0.html not found"
    )
    assert page_shape(b"<p>Item one two</p>") != page_shape(b"<p>Item one three</p>")


def _looked_at(budget: PatternBudget, url: str, body: bytes) -> bool:
    key = budget.sampling(url)
    return key is not None and budget.shape(key, page_shape(body))


def test_a_pattern_whose_pages_differ_is_trusted_and_its_parked_links_released():
    budget = PatternBudget(3)
    item = SITE + "/item/1.html"
    assert budget.sampling(item) is None  # not budgeted: nothing linked it to itself
    assert [budget.take(f"{SITE}/item/{n}.html", item) for n in (2, 3, 4)] == [None] * 3
    assert budget.take(SITE + "/item/5.html", item) == "site.test/item/0.html"
    assert budget.park("site.test/item/0.html", Parked(SITE + "/item/5.html", 2, item))
    assert not budget.park("site.test/item/0.html", Parked(SITE + "/item/5.html", 2, item))
    budget.park("site.test/item/0.html", Parked(SITE + "/item/6.html", 2, item))
    budget.park("site.test/item/0.html", Parked(SITE + "/item/7.html", 2, item))
    key = "site.test/item/0.html"

    def follow_released() -> list[str]:  # as Admission does: each followed spends the budget
        return [p.url for p in budget.release(key) if budget.take(p.url, p.referer) is None]

    # Each page of a new shape allows one more link: the oldest parked goes.
    assert not _looked_at(budget, item, b"one")
    assert follow_released() == [SITE + "/item/5.html"]
    assert not _looked_at(budget, SITE + "/item/2.html", b"one")  # a look-alike: nothing
    assert follow_released() == []
    assert not _looked_at(budget, SITE + "/item/3.html", b"two")
    assert follow_released() == [SITE + "/item/6.html"]
    assert budget.take(SITE + "/item/8.html", item) == key  # spent again: it would park
    assert _looked_at(budget, SITE + "/item/4.html", b"three")  # trusted at 3 shapes
    assert follow_released() == [SITE + "/item/7.html"]
    assert budget.parked_for(key) == 0
    assert budget.sampling(SITE + "/item/5.html") is None  # nothing more is hashed
    assert budget.take(SITE + "/item/99.html", item) is None  # free from now on


def test_a_pattern_whose_pages_look_alike_stays_bounded_and_stops_being_hashed():
    budget = PatternBudget(3)
    page = SITE + "/missing/a1.html"
    taken = [budget.take(f"{SITE}/missing/b{n}.html", page) for n in range(20)]
    assert taken.count(None) == 3
    for n in range(10):
        _looked_at(budget, f"{SITE}/missing/b{n}.html", b"not found")
    # One shape earned one link; three look-alikes ended the sampling.
    assert [budget.take(f"{SITE}/missing/c{n}.html", page) for n in range(5)].count(None) == 1
    assert budget.sampling(page) is None
    # A query space keeps the plain budget: its pages are never hashed.
    assert budget.sampling(SITE + "/shop?color=red") is None


def test_the_budget_remembers_a_bounded_number_of_patterns_the_busy_ones_kept():
    budget = PatternBudget(2)
    trap = SITE + "/shop"
    budget.take(trap + "?color=blue", trap + "?color=red")
    budget.take(trap + "?color=black", trap + "?color=red")
    for n in range(PATTERNS_REMEMBERED + 50):
        # A site making a new pattern a page (a new word a folder) cannot grow the table...
        word = "".join(chr(ord("a") + int(d)) for d in str(n))
        budget.take(f"{SITE}/{word}/x/", f"{SITE}/{word}/y/")
        if n % 100 == 0:  # ...while a trap in use keeps its count
            assert budget.take(trap + f"?color={n}", trap + "?color=red") == "site.test/shop?*"
    assert len(budget) <= PATTERNS_REMEMBERED


def test_the_trap_guard_has_a_budget_of_its_rules():
    assert TrapGuard(TrapRules(pattern_budget=7)).patterns.budget == 7
    assert TrapGuard(TrapRules()).patterns.budget == 25


# -- the all-traps site ---------------------------------------------------------------------------

# Defaults, but for what only makes it faster (or keeps it as fast whatever politeness
# defaults become): no delay, 8 requests in flight.
SPEED = ("--delay", "0", "--concurrency", "8", "--progress", "off")


@pytest.fixture(scope="module")
def all_traps(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlResult, float]:
    """The all-traps site crawled once with the defaults; the result and the largest peak
    RSS of any process of the crawl, in MB (sampled from /proc while it ran)."""
    output = tmp_path_factory.mktemp("traps") / "coll"
    with SampleSiteServer() as server:
        base = f"http://{SAMPLE_HOST}:{server.port}"
        command = [
            sys.executable, "-m", "archiver", "crawl", base + traps.PREFIX,
            "--output", str(output), "--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1",
            "--scope", base + "/hostile/", *SPEED,
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        sampler = PeakRss(process.pid)
        try:
            stdout, stderr = process.communicate(timeout=240)
        finally:
            process.kill()
            sampler.stop()
        result = CrawlResult(output, process.returncode, stdout, stderr, server.requests, base)
    return result, sampler.largest_kib / 1024


@pytest.mark.e2e
def test_the_all_traps_crawl_ends_by_itself_whole_and_cheap(all_traps: tuple[CrawlResult, float]):
    result, peak_mb = all_traps
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.summary()["finish_reason"] == "finished"
    kinds = Counter(traps.kind_of(r.target) for r in result.requests)
    trap_requests = sum(kinds[k.name] for k in traps.KINDS)
    assert trap_requests < 300, kinds
    assert 0 < peak_mb < 300, peak_mb
    report = verify_collection(result.output)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]
    assert not list(result.output.rglob("*.open"))


@pytest.mark.e2e
def test_the_normal_tree_beside_the_traps_is_captured_completely(
    all_traps: tuple[CrawlResult, float],
):
    result, _ = all_traps
    # The images are one pixel each: all but the first are stored as revisits of it.
    records = result.of_type("response") + result.of_type("revisit")
    captured = {r.get("WARC-Target-URI") for r in records if r.get("WARC-Target-URI")}
    wanted = [result.base_url + path for path in traps.tree_pages()]
    assert len(wanted) == (traps.TREE_LEVELS + 1) * (traps.TREE_PAGES + 1) * 2
    assert [url for url in wanted if url not in captured] == []


@pytest.mark.e2e
def test_numbered_pages_found_only_through_each_other_are_captured_completely(
    all_traps: tuple[CrawlResult, float],
):
    # Past the budget their links wait, and are followed once the pages have shown that
    # they differ; the soft 404s beside them look alike and stay bounded (next test).
    result, _ = all_traps
    captured = {r.get("WARC-Target-URI") for r in result.of_type("response")}
    wanted = [result.base_url + path for path in traps.item_pages()]
    assert len(wanted) > 100
    assert [url for url in wanted if url not in captured] == []
    log = "".join(p.read_text(errors="replace") for p in (result.output / "logs").glob("*.log"))
    host = result.base_url.split("://")[1]
    assert f"pattern {host}/hostile/traps/items/0.html: its pages differ" in log


@pytest.mark.e2e
def test_each_trap_kind_is_bounded_and_ended_by_a_counted_rule(
    all_traps: tuple[CrawlResult, float],
):
    result, _ = all_traps
    kinds = Counter(traps.kind_of(r.target) for r in result.requests)
    assert all(kinds[k.name] >= 1 for k in traps.KINDS), kinds
    budget = 25  # the default pattern budget, plus the entries the index and a hop give
    bounds = {
        "redirect_chain": 21,  # the link, then 20 redirects
        # A look-alike page earns nothing, the first of its shape one more link.
        "path_calendar": budget + 2,
        "query_calendar": budget + 1,
        "pagination": 20,  # the hop limit comes first
        # /shop links every value and sort order for free (a path's own page listing its
        # variants), then its query space has one budget.
        "facets": 1 + sum(map(len, traps.FACETS.values())) + len(traps.SORTS) + budget,
        "grow": 20,
        "repeat": 70,  # the paths of a/ and b/ with neither more than 3 times
        "session": 2,  # a session id does not make a URL new
        "soft_404": budget + 2 + traps.SOFT_404_LINKS,
        "wide": budget + 2,
    }
    assert {name: kinds[name] for name in bounds} == {
        name: min(kinds[name], bound) for name, bound in bounds.items()
    }
    counts = result.summary()["counts"]
    assert counts["traps"]["redirect_chain"] == 1
    assert counts["traps"]["path_repeats"] >= 1
    # Every wide page's 10,000 links are counted refusals, and the first of each pattern
    # is logged, the rest not.
    assert counts["traps"]["pattern_budget"] >= budget * traps.WIDE_LINKS
    assert counts["links"]["max_depth"] >= 2  # the pagination and the growing path
    log = "".join(p.read_text(errors="replace") for p in (result.output / "logs").glob("*.log"))
    logged = [line for line in log.splitlines() if "(pattern_budget:" in line]
    patterns = {line.split(" of the pattern ")[1].split(" ")[0] for line in logged}
    host = result.base_url.split("://")[1]
    assert patterns == {
        host + "/hostile/traps/calendar/0/0/",
        host + "/hostile/calendar?*",
        host + "/hostile/traps/shop?*",
        host + "/hostile/traps/missing/0.html",
        host + "/hostile/traps/wide/0.html",
        host + "/hostile/traps/items/0.html",  # parked until its pages showed they differ
    }
    assert len(logged) == len(patterns)


def test_kind_of_names_every_part_of_the_site():
    assert traps.kind_of("/hostile/traps/calendar/2026/11/") == "path_calendar"
    assert traps.kind_of("/hostile/calendar?year=2024&month=1") == "query_calendar"
    assert traps.kind_of("/hostile/traps/no/such/page") == "soft_404"
    assert traps.kind_of("/hostile/traps/tree/level-1/page-2.gif") == "tree"
    assert traps.kind_of("/hostile/traps/") == "other"
    assert traps.kind_of("/robots.txt") == "other"
