"""Servers that push back (429, 503, Retry-After) and a host that keeps failing: measured from
the server's own request log, and read back from the WARC, the run summary and the report."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from archiver.collection.summary import GivenUpHost, RunCounts, RunSummary
from archiver.crawl.hosthealth import Hosts, PushbackRules, RetryReason
from archiver.tools.verify import verify_collection
from archiver.web.retryafter import retry_after_seconds
from samplesite import hostile
from samplesite.requestlog import LoggedRequest
from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, CrawlResult, crawl_site

PUSHBACK = "/hostile/pushback/"
BACKOFF = 0.5  # --retry-backoff: the 503 gaps are 0.5 s then 1 s, the failing host's pauses too
MAX_RETRIES = 3
MAX_HOST_FAILURES = 5
TOLERANCE = 0.1  # the server's clock and the crawler's timer: granularity, not lateness


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pushback_crawl(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    out = tmp_path_factory.mktemp("pushback") / "coll"
    port = _closed_port()
    with SampleSiteServer() as server:
        result = crawl_site(
            server, out, f"{PUSHBACK}?port={port}",
            "--concurrency", "1",  # so that any request to a paused host would show in the log
            "--retry-backoff", str(BACKOFF),
            "--max-retries", str(MAX_RETRIES),
            "--max-host-failures", str(MAX_HOST_FAILURES),
            "--allow-host", hostile.FAILING_HOST,
            "--resolve", f"{hostile.FAILING_HOST}:{port}:127.0.0.1",
            # robots.txt of a host that does not answer forbids it all (RFC 9309): its pages
            # would not be asked, and the host would fail once only.
            "--robots", "ignore",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def _asked(result: CrawlResult, name: str) -> list[LoggedRequest]:
    return [r for r in result.requests if r.target == PUSHBACK + name]


def test_a_429_retry_after_3_is_asked_again_3_s_later_and_nothing_else_meanwhile(
    pushback_crawl: CrawlResult,
):
    first, retry = _asked(pushback_crawl, "busy-429")
    assert (first.status, retry.status) == (429, 200)
    gap = retry.timestamp - first.timestamp
    print(f"429 Retry-After: {hostile.BUSY_RETRY_AFTER} -> retry after {gap:.3f} s")
    assert hostile.BUSY_RETRY_AFTER - TOLERANCE <= gap < hostile.BUSY_RETRY_AFTER + 10
    between = [
        r for r in pushback_crawl.requests if first.timestamp < r.timestamp < retry.timestamp
    ]
    assert between == [], [r.target for r in between]


def test_a_retry_after_date_is_honoured(pushback_crawl: CrawlResult):
    first, retry = _asked(pushback_crawl, "busy-429-date")
    assert (first.status, retry.status) == (429, 200)
    # The date is 4 s ahead in whole seconds: at least 3 s once truncated.
    assert retry.timestamp - first.timestamp >= 3 - TOLERANCE
    between = [
        r for r in pushback_crawl.requests if first.timestamp < r.timestamp < retry.timestamp
    ]
    assert between == []


def test_503_without_retry_after_backs_off_exponentially(pushback_crawl: CrawlResult):
    asked = _asked(pushback_crawl, "unavailable-503")
    assert [r.status for r in asked] == [503] * hostile.UNAVAILABLE_TIMES + [200]
    gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(asked)]
    print("503 backoff gaps:", [f"{g:.3f}" for g in gaps])
    assert gaps[0] >= BACKOFF - TOLERANCE
    assert gaps[1] >= 2 * BACKOFF - TOLERANCE
    assert gaps[1] > gaps[0]


def test_a_url_that_always_says_429_is_asked_1_plus_max_retries_times(
    pushback_crawl: CrawlResult,
):
    asked = _asked(pushback_crawl, "always-429")
    assert [r.status for r in asked] == [429] * (1 + MAX_RETRIES)
    for a, b in itertools.pairwise(asked):
        assert b.timestamp - a.timestamp >= hostile.ALWAYS_RETRY_AFTER - TOLERANCE


def test_every_answer_is_in_the_warc(pushback_crawl: CrawlResult):
    by_url: dict[str | None, list[int]] = {}
    # A 429 page the same as one stored before is a revisit record (dedup): an answer all the same.
    for record in pushback_crawl.of_type("response") + pushback_crawl.of_type("revisit"):
        status = int(record.http_first_line.split()[1])
        by_url.setdefault(record.get("WARC-Target-URI"), []).append(status)
    base = pushback_crawl.base_url + PUSHBACK
    for name in ("busy-429", "busy-429-date", "unavailable-503", "always-429"):
        served = [r.status for r in _asked(pushback_crawl, name)]
        assert sorted(by_url[base + name]) == sorted(served), name
    assert by_url[base + "busy-429"] == [429, 200]
    requests = [
        r for r in pushback_crawl.of_type("request")
        if r.get("WARC-Target-URI") == base + "always-429"
    ]  # fmt: skip
    assert len(requests) == 1 + MAX_RETRIES


def test_the_summary_counts_retries(pushback_crawl: CrawlResult):
    retries = pushback_crawl.summary()["counts"]["retries"]
    assert retries == {
        "429/retry_after": 2 + MAX_RETRIES,  # busy-429, busy-429-date, always-429 x3
        "429/exhausted": 1,
        "503/backoff": hostile.UNAVAILABLE_TIMES,
    }


def test_a_host_that_keeps_failing_is_given_up_with_its_reason(pushback_crawl: CrawlResult):
    summary = pushback_crawl.summary()
    (given_up,) = summary["hosts_given_up"]
    assert given_up["host"] == hostile.FAILING_HOST
    assert given_up["reason"] == f"connection refused x{MAX_HOST_FAILURES}"
    # Its robots.txt and FAILING_PAGES pages were queued; MAX_HOST_FAILURES were asked.
    assert given_up["skipped"] == 1 + hostile.FAILING_PAGES - MAX_HOST_FAILURES
    assert summary["counts"]["fetch_errors"] == {"ConnectionRefusedError": MAX_HOST_FAILURES}
    assert f"gave up   {hostile.FAILING_HOST}: connection refused x5" in pushback_crawl.stdout
    (report,) = (pushback_crawl.output / "runs").glob("*/report.html")
    page = report.read_text(encoding="utf-8")
    assert 'data-table="hosts-given-up"' in page
    assert "connection refused x5" in page
    log = "".join(p.read_text() for p in (pushback_crawl.output / "logs").glob("*.log"))
    assert f"giving up on {hostile.FAILING_HOST} for this run: connection refused x5" in log
    assert "paused for" in log  # the growing pauses before


def test_the_collection_verifies_and_nothing_is_left_open(pushback_crawl: CrawlResult):
    report = verify_collection(pushback_crawl.output)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]
    assert not list(pushback_crawl.output.rglob("*.open"))


def test_a_run_stopped_while_a_retry_waits_asks_for_it_when_resumed(tmp_path: Path):
    out = tmp_path / "coll"
    with SampleSiteServer() as server:
        base = f"http://{SAMPLE_HOST}:{server.port}"
        args = [
            sys.executable, "-m", "archiver", "crawl", base + PUSHBACK + "busy-429",
            "--output", str(out), "--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1",
            "--progress", "off",
        ]  # fmt: skip
        crawl = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not any(r.status == 429 for r in server.requests):
            assert crawl.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        crawl.send_signal(signal.SIGINT)  # within the 3 s wait
        assert crawl.wait(timeout=60) == 1  # stopped early: resumable
        assert (out / "frontier.sqlite3").exists()
        # The 429 is captured: the index alone would call the URL done.
        index = "".join(p.read_text() for p in (out / "indexes").glob("*.cdxj"))
        assert '"status": "429"' in index or '"status":"429"' in index, index
        stopped = len(server.requests)
        assert [r.status for r in server.requests if r.target.endswith("busy-429")] == [429]
        resumed = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        again = [r for r in server.requests[stopped:] if r.target.endswith("busy-429")]
        assert [r.status for r in again] == [200]
    assert verify_collection(out).ok
    assert not (out / "frontier.sqlite3").exists()


# --- the rules, without a crawl -------------------------------------------------------------


def test_retry_after_reads_seconds_and_dates():
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3
    assert retry_after_seconds(b" 120 ", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds("Sunday, 06-Dec-26 12:00:10 GMT", now) == 10  # RFC 850
    assert retry_after_seconds("Sun Dec  6 12:00:10 2026", now) == 10  # asctime
    for useless in ("", "-1", "1.5", "soon", "Sun, 06 Dec 2026 11:00:00 GMT", None):
        assert retry_after_seconds(useless, now) is None, useless


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failures_pause_a_host_longer_each_time_then_give_it_up():
    clock = Clock()
    hosts = Hosts(PushbackRules(max_retries=3, backoff=5, max_wait=300, max_host_failures=5), clock)
    pauses = []
    for _ in range(4):
        assert hosts.failed("h", "HTTP 503", sent_at=clock.now)
        pauses.append(hosts.paused_for("h"))
        clock.now += 0.001 + pauses[-1]
    assert pauses == [0, 5, 10, 20]
    assert hosts.given_up("h") is None
    # A request sent before the last failure fails too: the same outage, not one more.
    assert not hosts.failed("h", "timeout", sent_at=clock.now - 60)
    assert hosts.failed("h", "timeout", sent_at=clock.now)
    assert hosts.given_up("h") == "HTTP 503 x4, timeout x1"


def test_a_success_clears_the_failures():
    clock = Clock()
    hosts = Hosts(PushbackRules(max_host_failures=2), clock)
    hosts.failed("h", "timeout", sent_at=clock.now)
    hosts.succeeded("h")
    clock.now += 1
    hosts.failed("h", "timeout", sent_at=clock.now)
    assert hosts.given_up("h") is None


def test_429_decisions():
    clock = Clock()
    hosts = Hosts(PushbackRules(max_retries=2, backoff=5, max_wait=300), clock)
    first = hosts.pushed_back("h", 429, 3.0, attempt=0)
    assert (first.retry, first.wait, first.reason) == (True, 3.0, RetryReason.RETRY_AFTER)
    assert hosts.paused_for("h") == 3.0
    second = hosts.pushed_back("h", 503, None, attempt=1)
    assert (second.retry, second.wait, second.reason) == (True, 10.0, RetryReason.BACKOFF)
    last = hosts.pushed_back("h", 429, None, attempt=2)
    assert (last.retry, last.reason) == (False, RetryReason.EXHAUSTED)
    too_long = hosts.pushed_back("g", 429, 3600.0, attempt=0)
    assert (too_long.retry, too_long.reason) == (False, RetryReason.TOO_LONG)
    assert hosts.given_up("g") == "HTTP 429 Retry-After 3600 s, past the 300 s cap"


def test_an_older_summary_has_no_retries_and_no_hosts_given_up():
    summary = RunSummary.parse('{"run_id": "x", "counts": {"captures": 1}}')
    assert summary.counts.retries is None
    assert summary.hosts_given_up is None
    assert "retries" not in summary.counts.to_json()
    assert "hosts_given_up" not in summary.to_json()
    newer = RunSummary(
        "x",
        counts=RunCounts(retries={"429/retry_after": 1}),
        hosts_given_up=(GivenUpHost("h", "timeout x5", 3),),
    )
    assert RunSummary.parse(newer.format()) == newer
