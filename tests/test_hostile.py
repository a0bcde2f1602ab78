"""The crawl against hostile servers: bombs, endless and slow bodies, malformed responses, bad
charsets, traps, robots.txt edge cases, hostile sitemaps and names. Each leaves a counter, the
crawl goes on, and the collection verifies."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from archiver.tools.verify import verify_collection
from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, CrawlResult, crawl_site, run_archiver

# Every test here crawls the hostile server: end to end.
pytestmark = pytest.mark.e2e

HOSTILE = "/hostile/"
LIMITS = (
    "--timeout", "4", "--max-response-size", "3M", "--max-url-length", "300",
    "--max-query-variants", "12", "--concurrency", "16",
)  # fmt: skip


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    out = tmp_path_factory.mktemp("hostile") / "coll"
    with SampleSiteServer(robots="sitemaps") as server:
        # lying-length poisons its connection for whichever request comes next, which would
        # make the other checks depend on timing; it has a test of its own below.
        result = crawl_site(server, out, HOSTILE, *LIMITS, "--exclude", "lying-length")
    assert result.returncode == 0, result.stderr
    return result


def _summary(result: CrawlResult) -> dict:
    return result.summary()


def _stats(result: CrawlResult) -> dict:
    log = (result.output / "logs").glob("*.log")
    return {"log": "".join(p.read_text(errors="replace") for p in log)}


def test_the_collection_verifies_and_nothing_is_left_open(hostile_crawl: CrawlResult):
    report = verify_collection(hostile_crawl.output)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]
    assert not list(hostile_crawl.output.rglob("*.open"))


def test_bombs_are_archived_as_received_and_text_stops_at_the_cap(hostile_crawl: CrawlResult):
    sent = {r.target: r.body_sha1 for r in hostile_crawl.requests}
    for name in ("bomb.gzip", "bomb.deflate", "bomb.br"):
        record = hostile_crawl.response_for(HOSTILE + name)
        assert len(record.payload) < 2_200_000, "stored compressed, as it came"
        assert record.get("WARC-Truncated") is None
        import hashlib

        assert hashlib.sha1(record.payload).hexdigest() == sent[HOSTILE + name]
    counts = _summary(hostile_crawl)
    log = _stats(hostile_crawl)["log"]
    assert "content past" in log and "not read for text" in log
    # The crawl ran in a subprocess: its peak memory stayed far below the 2 GiB inside a bomb.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 600, peak_mb
    assert counts["finish_reason"] == "finished"


def test_endless_and_huge_bodies_are_cut_and_marked(hostile_crawl: CrawlResult):
    for name in ("endless", "huge"):
        record = hostile_crawl.response_for(HOSTILE + name)
        assert record.get("WARC-Truncated") == "length"
        assert len(record.payload) == 3_000_000


def test_slow_and_silent_servers_time_out_and_the_crawl_goes_on(hostile_crawl: CrawlResult):
    errors = _summary(hostile_crawl)["counts"]["fetch_errors"]
    assert sum(errors.values()) >= 2, errors
    log = _stats(hostile_crawl)["log"]
    assert "fetch failed" in log and "/hostile/hang" in log


def test_malformed_responses_are_whole_records_or_none(hostile_crawl: CrawlResult):
    by_url = {r.get("WARC-Target-URI"): r for r in hostile_crawl.of_type("response")}
    base = hostile_crawl.base_url + HOSTILE
    for name in ("broken-chunked", "drop", "short-length"):
        record = by_url.get(base + name)
        if record is not None:  # recorded: then marked as cut short
            assert record.get("WARC-Truncated") in ("disconnect", "length"), name
    record = by_url.get(base + "non-ascii-header")
    if record is not None:
        assert b"\xe9" in record.http_head, "header bytes are kept as sent"
    # Every request the server answered is a WARC record or a counted fetch error.
    errors = _summary(hostile_crawl)["counts"]["fetch_errors"]
    recorded = len(hostile_crawl.of_type("request"))
    assert recorded + sum(errors.values()) == len(hostile_crawl.requests), errors


def test_a_lying_content_length_leaves_whole_records(tmp_path: Path):
    """100 bytes declared, 5,000 sent, a forged response smuggled in the rest: the declared
    body is archived, and whatever the connection carries next is archived as received."""
    with SampleSiteServer() as server:
        result = crawl_site(server, tmp_path / "coll", HOSTILE + "lying-length", *LIMITS)
    assert result.returncode == 0, result.stderr
    record = result.response_for(HOSTILE + "lying-length")
    assert len(record.payload) == 100
    report = verify_collection(result.output)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]


def test_bad_charsets_fall_back_without_raising(hostile_crawl: CrawlResult):
    lines = {line["url"].rsplit("/", 1)[1]: line for line in hostile_crawl.manifest}
    assert lines["charset-bogus"]["charset_declared"] == "x-bogus"
    assert "\u201c" in lines["utf8-over-1252"]["text"]  # windows-1252 curly quote found
    assert lines["utf16-nobom"]["charset"].startswith("utf-16")


def test_traps_are_bounded_and_counted(hostile_crawl: CrawlResult):
    fetched = [r.target for r in hostile_crawl.requests]
    traps = _summary(hostile_crawl)["counts"]
    calendar = [t for t in fetched if t.startswith(HOSTILE + "calendar")]
    assert 1 <= len(calendar) <= 13
    # Finite: the paths whose segments repeat at most 3 times (a/b/a/b/a/b and the like).
    assert len([t for t in fetched if t.startswith(HOSTILE + "repeat/")]) < 100
    assert all(len(t) < 300 for t in fetched)
    assert len([t for t in fetched if t.startswith(HOSTILE + "session")]) <= 2
    loop = [t for t in fetched if t.startswith(HOSTILE + "redirect-loop")]
    assert sorted(loop) == sorted(set(loop)), "each URL of a redirect loop is fetched once"
    log = _stats(hostile_crawl)["log"]
    assert "looks like a crawler trap" in log
    stats_file = json.dumps(traps)
    assert stats_file  # the summary is written


def test_a_redirect_chain_of_new_urls_ends_after_20_hops_counted_and_logged(
    hostile_crawl: CrawlResult,
):
    chain = [r.target for r in hostile_crawl.requests if r.target.startswith(HOSTILE + "redirect-")]
    chain = [t for t in chain if "redirect-chain/" in t]
    # The link to /0, then the 20 redirects a browser follows: /1 to /20; /21 is not asked for.
    assert sorted(chain, key=lambda t: int(t.rsplit("/", 1)[1])) == [
        f"{HOSTILE}redirect-chain/{n}" for n in range(21)
    ]
    assert _summary(hostile_crawl)["counts"]["traps"]["redirect_chain"] == 1
    log = _stats(hostile_crawl)["log"]
    assert "not following the redirect to" in log and "(20 redirects in a row from" in log


def test_links_are_followed_20_hops_from_the_seed_and_the_last_pages_requisites_too(
    hostile_crawl: CrawlResult,
):
    fetched = {r.target for r in hostile_crawl.requests}
    # /hostile/ is the seed (hop 0), deep/0.html hop 1, ..., deep/19.html hop 20.
    pages = {t for t in fetched if t.startswith(HOSTILE + "deep/") and t.endswith(".html")}
    assert pages == {f"{HOSTILE}deep/{n}.html" for n in range(20)}
    images = {t for t in fetched if t.startswith(HOSTILE + "deep/") and t.endswith(".gif")}
    assert images == {f"{HOSTILE}deep/{n}.gif" for n in range(20)}  # deep/19's included
    assert _summary(hostile_crawl)["counts"]["links"].get("max_depth", 0) >= 1


def test_nothing_out_of_scope_is_requested(hostile_crawl: CrawlResult):
    assert {r.host.split(":")[0] for r in hostile_crawl.requests} == {SAMPLE_HOST}
    # Every request went to this server as a path: no file:, ftp:, other host or port.
    assert all(r.target.startswith("/") for r in hostile_crawl.requests)


def test_sitemaps_are_read_without_resolving_entities(hostile_crawl: CrawlResult):
    fetched = {r.target for r in hostile_crawl.requests}
    assert {HOSTILE + "sitemap-only/1.html", HOSTILE + "sitemap-only/2.html"} <= fetched
    assert not [t for t in fetched if "root:" in t], "no file content leaked into a URL"
    for name in ("sitemap-xxe.xml", "sitemap-bomb.xml"):
        assert HOSTILE + name in fetched


def test_names_from_the_web_never_become_paths_or_log_lines(hostile_crawl: CrawlResult):
    root = hostile_crawl.output
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [".archiver.lock", "dedup.sqlite3", "indexes", "logs", "manifest.jsonl", "runs", "warcs"]
        + [p.name for p in root.glob("dedup.sqlite3-*")]
    )
    log = _stats(hostile_crawl)["log"]
    assert "\x1b" not in log and "\r" not in log
    for line in hostile_crawl.manifest:  # every line parsed as JSON: no broken lines
        assert "\n" not in line["url"]


@pytest.mark.parametrize(
    ("robots", "early", "private"),
    [("500", False, False), ("404", True, True), ("huge", False, True), ("html", True, True)],
)
def test_robots_txt_edge_cases(robots: str, early: bool, private: bool, tmp_path: Path):
    with SampleSiteServer(robots=robots) as server:
        # lying-length poisons a connection (see above): not what these cases are about.
        result = crawl_site(
            server, tmp_path / "coll", HOSTILE, *LIMITS, "--max-depth", "1",
            "--exclude", "lying-length",
        )  # fmt: skip
    # What the crawler asked for, from its request records (the server's log can miss one:
    # /hostile/lying-length's smuggled response answers whichever request comes next).
    fetched = {r.http_first_line.split(b" ")[1].decode("ascii") for r in result.of_type("request")}
    assert "/robots.txt" in fetched
    assert (HOSTILE + "early/" in fetched) is early
    assert (HOSTILE + "private/" in fetched) is private
    if robots == "500":
        assert fetched == {"/robots.txt"}, "5xx robots.txt means: disallow the whole host"


def test_block_private_ips_refuses_unmapped_private_addresses(tmp_path: Path):
    with SampleSiteServer() as server:
        refused = run_archiver(
            "crawl", f"http://127.0.0.1:{server.port}/archive/etext/",
            "--output", str(tmp_path / "a"), "--block-private-ips",
        )  # fmt: skip
        assert refused.returncode == 1
        assert not server.requests, "no connection was made"
        allowed = crawl_site(server, tmp_path / "b", "/archive/etext/", "--block-private-ips")
    assert allowed.returncode == 0 and allowed.requests, "a --resolve mapping is the operator's"
