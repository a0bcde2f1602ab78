"""Polite by default: at most two requests in flight per host, AutoThrottle, and robots.txt
Crawl-delay honoured (capped) unless --delay or --robots ignore says otherwise.

Timings come from the server's own request log. The hostile server's /hostile/polite/ pages
each take POLITE_SECONDS to answer; a crawl-delay-N host name gets a robots.txt asking for
Crawl-delay: N, so these crawls slow no other test of the server.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.collection.summary import RunSummary
from archiver.crawl.throttle import CrawlDelays
from samplesite.hostile import POLITE_PAGES, POLITE_SECONDS
from samplesite.requestlog import LoggedRequest
from samplesite.server import SampleSiteServer
from tests.conftest import run_archiver

POLITE = "/hostile/polite/"


def crawl_as(
    server: SampleSiteServer, host: str, output: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, list[LoggedRequest]]:
    """Crawl /hostile/polite/ as http://HOST:port, HOST mapped to the server; the requests the
    server got, in the order it answered them."""
    before = len(server.requests)
    proc = run_archiver(
        "crawl", f"http://{host}:{server.port}{POLITE}", "--output", str(output),
        "--resolve", f"{host}:{server.port}:127.0.0.1", *extra, fast=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    requests = sorted(server.requests[before:], key=lambda r: r.timestamp)
    assert all(r.host.startswith(host) for r in requests)
    return proc, requests


def gaps(requests: list[LoggedRequest]) -> list[float]:
    times = [r.timestamp for r in requests]
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


def most_in_flight(requests: list[LoggedRequest]) -> int:
    """The most polite pages the server was answering at once: each was in the server's hands
    for at least POLITE_SECONDS before its logged time (a little less is counted, so that two
    requests that merely follow each other do not count as overlapping)."""
    pages = [r.timestamp for r in requests if r.target.startswith(POLITE) and r.target != POLITE]
    assert len(pages) == POLITE_PAGES
    spans = [(end - POLITE_SECONDS + 0.05, end) for end in pages]
    return max(sum(1 for s, e in spans if s < point <= e) for _, point in spans)


def summary(output: Path) -> dict:
    (path,) = (output / "runs").glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def collection_log(output: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (output / "logs").glob("*.log"))


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("extra", "most"),
    [((), 2), (("--delay", "0"), 2), (("--concurrency", "6", "--delay", "0"), POLITE_PAGES)],
    ids=["default", "delay-0", "concurrency-6"],
)
def test_at_most_two_requests_are_in_flight_to_a_host_unless_concurrency_says(
    tmp_path: Path, extra: tuple[str, ...], most: int
):
    with SampleSiteServer() as server:
        _, requests = crawl_as(server, "polite.archiver.test", tmp_path / "coll", *extra)
    in_flight = most_in_flight(requests)
    if most == 2:
        # Both connections used (AutoThrottle aims at two in flight), never a third.
        assert in_flight == 2, gaps(requests)
        assert len({r.client for r in requests}) <= 2, "one connection per request in flight"
    else:
        assert in_flight > 2, gaps(requests)


@pytest.mark.e2e
def test_robots_crawl_delay_spaces_the_requests_to_its_host(tmp_path: Path):
    host = "crawl-delay-2.archiver.test"
    with SampleSiteServer() as server:
        _, requests = crawl_as(server, host, tmp_path / "coll", "--max-pages", "3")
    # robots.txt, the index and two pages: each after the last, AutoThrottle's shorter
    # delay for these quick answers notwithstanding.
    assert [r.target for r in requests] == [
        "/robots.txt", POLITE, POLITE + "1.html", POLITE + "2.html",
    ]  # fmt: skip
    assert all(1.9 <= gap < 10 for gap in gaps(requests)), gaps(requests)
    line = f"robots.txt of {host} asks for a crawl delay of 2 s"
    assert collection_log(tmp_path / "coll").count(line) == 1
    assert summary(tmp_path / "coll")["crawl_delays"] == {host: 2.0}


@pytest.mark.e2e
@pytest.mark.parametrize("extra", [("--delay", "0"), ("--robots", "ignore")], ids=str)
def test_delay_or_robots_ignore_sets_crawl_delay_aside(tmp_path: Path, extra: tuple[str, ...]):
    host = "crawl-delay-2.archiver.test"
    with SampleSiteServer() as server:
        _, requests = crawl_as(server, host, tmp_path / "coll", "--max-pages", "3", *extra)
    assert len(requests) == 4
    # Four requests, three of them pages that take POLITE_SECONDS: far less than 3 x 2 s.
    assert requests[-1].timestamp - requests[0].timestamp < 3, gaps(requests)
    assert "crawl delay" not in collection_log(tmp_path / "coll")
    assert summary(tmp_path / "coll")["crawl_delays"] == {}


@pytest.mark.e2e
def test_a_crawl_delay_past_the_cap_is_cut_to_it(tmp_path: Path):
    host = "crawl-delay-100000.archiver.test"
    with SampleSiteServer() as server:
        _, requests = crawl_as(
            server, host, tmp_path / "coll", "--max-pages", "2", "--max-crawl-delay", "1"
        )
    assert all(0.9 <= gap < 10 for gap in gaps(requests)), gaps(requests)
    line = f"{host} asks for a crawl delay of 100000 s (capped at 1 s)"
    assert line in collection_log(tmp_path / "coll")
    assert summary(tmp_path / "coll")["crawl_delays"] == {host: 1.0}


@pytest.mark.e2e
def test_the_default_cap_is_heritrixs_300_seconds(tmp_path: Path):
    """Read from the log line, not by waiting 300 s: the crawl is killed once it is written."""
    host = "crawl-delay-100000.archiver.test"
    output = tmp_path / "coll"
    with SampleSiteServer() as server:
        crawl = subprocess.Popen(
            [
                sys.executable, "-m", "archiver", "crawl", f"http://{host}:{server.port}{POLITE}",
                "--output", str(output), "--resolve", f"{host}:{server.port}:127.0.0.1",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "crawl delay" not in collection_log(output) if output.exists() else True:
                assert crawl.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
            time.sleep(1)  # a request that did not wait would have been answered by now
            requested = [r.target for r in server.requests]
        finally:
            os.killpg(crawl.pid, signal.SIGKILL)
            crawl.wait()
    assert f"{host} asks for a crawl delay of 100000 s (capped at 300 s)" in collection_log(output)
    assert requested == ["/robots.txt"], "the seed waits its 300 s"


def test_crawl_delays_are_capped_kept_per_host_and_reach_the_slot():
    class Slot:
        delay, jitter = 0.1, 0.5

    class Downloader:
        per_slot_settings: dict[str, dict] = {"b.test": {"concurrency": 1}}  # noqa: RUF012
        slots = {"a.test": Slot()}  # noqa: RUF012

    recorded: dict[str, float] = {}
    delays = CrawlDelays(Downloader, cap=300.0, record=recorded.__setitem__)  # type: ignore[arg-type]
    delays.apply("http://a.test:8080", 2.0)
    delays.apply("https://a.test", 1.0)  # less than the host's other origin asked: no change
    delays.apply("http://B.test", 100000.0)
    assert recorded == {"a.test": 2.0, "b.test": 300.0}
    assert Downloader.per_slot_settings == {
        "a.test": {"delay": 2.0, "jitter": 0.0},
        "b.test": {"concurrency": 1, "delay": 300.0, "jitter": 0.0},
    }
    slot = Downloader.slots["a.test"]
    assert (slot.delay, slot.jitter) == (2.0, 0.0)


def test_crawl_delays_in_a_run_summary_read_back_and_an_older_summary_has_none():
    summary = RunSummary(run_id="a", crawl_delays={"a.test": 2.0, "b.test": 300})
    text = summary.format()
    assert json.loads(text)["crawl_delays"] == {"a.test": 2.0, "b.test": 300}
    again = RunSummary.parse(text)
    assert again == summary and again.format() == text
    older = RunSummary.parse('{"run_id": "a"}')
    assert older.crawl_delays is None and "crawl_delays" not in older.to_json()
