"""What a crawl shows while it runs (archiver/progress.py), and what the run keeps of it.

The sample site is crawled with a delay between requests, so the crawl lasts about 5 s: long
enough for the live display to be redrawn many times on a terminal (a real pseudo-terminal,
read byte by byte), and for the plain progress line to come several times when standard
error is a pipe.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.crawl.notable import ERRORS_KEPT, KEPT, Notable
from archiver.crawl.progress import Snapshot, progress_line
from archiver.crawl.timeline import TIMELINE_POINTS, Timeline
from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, crawl_site, run_archiver

SLOW = ("--delay", "0.05")  # 84 requests to one host: about 5 s
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LINE = re.compile(
    r"archiver: (\d+):(\d\d):(\d\d) elapsed: (\d+) fetched, (\d+) archived, (\d+) queued, "
    # No WARC before the worker has opened the first file (a first line on a busy machine).
    r"([\d.]+) MB written, (\d+) revisits, (\d+) errors, ([\d.]+) pages/s(?:, WARC (\S+))?"
)


def _summary(output: Path) -> dict:
    (path,) = (output / "runs").glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.e2e
def test_without_a_terminal_a_plain_line_comes_every_interval(tmp_path: Path):
    with SampleSiteServer() as server:
        result = crawl_site(server, tmp_path / "c", "/", *SLOW, "--progress-interval", "1")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stderr  # no terminal, no escape codes
    lines = [_LINE.fullmatch(line) for line in result.stderr.splitlines()]
    lines = [m for m in lines if m]
    summary = _summary(tmp_path / "c")
    assert len(lines) >= int(summary["elapsed_seconds"]) - 1 >= 3
    fetched = [int(m[4]) for m in lines]
    assert fetched == sorted(fetched) and 0 < fetched[-1] <= summary["counts"]["exchanges_captured"]
    named = [m[11] for m in lines if m[11]]
    assert lines[-1][11]
    assert all(w.startswith("archiver-") and w.endswith(".warc.gz") for w in named)
    # The collection's log has the same lines, for whoever reads it instead of the console.
    log = (tmp_path / "c" / summary["files"]["log"]).read_text(encoding="utf-8")
    assert log.count("[archiver.crawl.progress] INFO: progress: ") == len(lines)


@pytest.mark.e2e
def test_the_run_summary_keeps_the_timeline_and_the_notable_urls(tmp_path: Path):
    with SampleSiteServer() as server:
        result = crawl_site(server, tmp_path / "c", "/", *SLOW, "--progress", "off")
    assert result.returncode == 0, result.stderr
    assert "elapsed" not in result.stderr
    summary = _summary(tmp_path / "c")
    timeline = summary["timeline"]
    assert len(timeline) >= 4
    assert [p["t"] for p in timeline] == sorted(p["t"] for p in timeline)
    assert [p["captures"] for p in timeline] == sorted(p["captures"] for p in timeline)
    assert timeline[-1]["captures"] == summary["counts"]["captures"]
    assert timeline[-1]["bytes"] == summary["bytes"]["warc"]
    # The sample site's failures: two 404s and a 500, each with its URL.
    errors = sorted((e["reason"], e["url"].rsplit("/", 1)[-1]) for e in summary["errors"])
    assert errors == [
        ("HTTP 404", "file.php?railfile=letter4.html"),
        ("HTTP 404", "missing.html"),
        ("HTTP 500", "broken.html"),
    ]
    assert summary["errors_listed_all"]
    largest = summary["largest"]
    assert len(largest) == KEPT
    assert [e["bytes"] for e in largest] == sorted((e["bytes"] for e in largest), reverse=True)
    slowest = summary["slowest"]
    assert len(slowest) == KEPT
    assert [e["seconds"] for e in slowest] == sorted((e["seconds"] for e in slowest), reverse=True)
    # Loopback answers take milliseconds; the 0.05 s --delay between requests is not counted.
    assert 0 < slowest[-1]["seconds"] <= slowest[0]["seconds"] < 0.05 * 84


@pytest.mark.e2e
def test_on_a_terminal_the_live_display_is_redrawn_at_least_every_second(tmp_path: Path):
    with SampleSiteServer() as server:
        output, elapsed = _crawl_on_a_terminal(server, tmp_path / "c")
    screen = _ANSI.sub("", output).replace("\r", "\n")
    frames = re.findall(r"elapsed (\d+):(\d\d):(\d\d) +fetched (\d+)", screen)
    assert len(frames) >= elapsed  # twice a second, give or take the first and the last
    assert [int(f[3]) for f in frames] == sorted(int(f[3]) for f in frames)
    summary = _summary(tmp_path / "c")
    # The last frame is drawn after the crawl, with its final counts.
    last = screen[screen.rindex("elapsed ") :]
    assert f"fetched {summary['counts']['exchanges_captured']} " in last
    assert f"archived {summary['counts']['captures']} " in last
    assert "revisits 4 " in last and "errors 3 " in last
    for label in ("queued", "rate", "written", "WARC archiver-"):
        assert label in last
    assert "archiver: run " in screen and " finished in " in screen  # the report follows


def _crawl_on_a_terminal(server: SampleSiteServer, output: Path) -> tuple[str, float]:
    parent, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100", "LINES": "30"}
    env.pop("NO_COLOR", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "archiver", "crawl", f"http://{SAMPLE_HOST}:{server.port}/",
            "--output", str(output), "--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1",
            *SLOW,
        ],
        stdin=child, stdout=child, stderr=child, env=env, close_fds=True,
    )  # fmt: skip
    os.close(child)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([parent], [], [], 60)
        if not ready:
            proc.kill()
            pytest.fail("the crawl wrote nothing for 60 s")
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(parent)
    return b"".join(chunks).decode("utf-8", "replace"), time.monotonic() - started


def test_an_unknown_progress_mode_is_refused():
    result = run_archiver("crawl", "http://example.test/", "--output", "x", "--progress", "loud")
    assert result.returncode == 2
    assert "progress 'loud' is not one of auto, live, log, off" in result.stderr


def test_the_progress_line_says_what_it_cannot_read():
    snapshot = Snapshot(3725.0, 10, 9, None, 1_500_000, 2, 1, 3.25, None)
    assert progress_line(snapshot) == (
        "1:02:05 elapsed: 10 fetched, 9 archived, ? queued, 1.5 MB written, 2 revisits, "
        "1 errors, 3.2 pages/s"
    )


def test_a_long_timeline_is_thinned_to_a_bounded_number_of_points():
    timeline = Timeline()
    ticks = 100_000
    for tick in range(1, ticks + 1):
        timeline.add(float(tick), tick, tick * 10, last=tick == ticks)
    points = timeline.points
    assert TIMELINE_POINTS // 2 <= len(points) <= TIMELINE_POINTS + 1
    assert points[0]["t"] == 1.0 and points[-1]["t"] == float(ticks)  # the whole run spanned
    gaps = {b["t"] - a["t"] for a, b in itertools.pairwise(points[:-1])}
    assert len(gaps) == 1  # evenly spaced, but for the last point


def test_notable_keeps_the_slowest_and_largest_and_the_first_errors():
    notable = Notable()
    for n in range(1000):
        notable.answered(f"http://x/{n}", seconds=n % 97, status=200, size=n, mime="text/html")
    for n in range(ERRORS_KEPT + 50):
        notable.failed(f"http://x/fail/{n}", "TimeoutError: took too long")
    summary = notable.summary()
    assert [e["bytes"] for e in summary["largest"]] == list(range(999, 999 - KEPT, -1))
    assert [e["seconds"] for e in summary["slowest"]][:3] == [96, 96, 96]
    assert len(summary["slowest"]) == KEPT
    assert len(summary["errors"]) == ERRORS_KEPT and not summary["errors_listed_all"]
    assert summary["errors"][0]["url"] == "http://x/fail/0"


def test_empty_bodies_are_not_among_the_largest():
    notable = Notable()
    notable.answered("http://x/page", seconds=0.1, status=200, size=10, mime="text/html")
    for n in range(KEPT):  # a second run: 304s and redirects, with no body
        notable.answered(f"http://x/{n}", seconds=0.1, status=304, size=0, mime="unk")
    assert notable.summary()["largest"] == [
        {"url": "http://x/page", "bytes": 10, "mime": "text/html"}
    ]
