"""kill -9 midway through a crawl of a 2,000-page site, then the same command again: the run
resumes from its frontier, and across both processes every URL is captured exactly once.

Three kill points: early (before the first checkpoint: nothing committed), mid-file (after
a checkpoint, with uncommitted captures after it in the same file) and during rotation (a
full file checkpointed but not yet renamed, killed from inside by tests/crashpoint.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from samplesite.server import SampleSiteServer
from tests import bigsite
from tests.conftest import FAST, run_archiver
from tests.warcread import captures_by_url

# Every test here crawls a generated site (or checks the site it crawls): end to end.
pytestmark = pytest.mark.e2e

HOST = "big.archiver.test"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> bigsite.BigSite:
    return bigsite.generate(tmp_path_factory.mktemp("bigsite"))


@pytest.fixture
def server(site: bigsite.BigSite) -> Iterator[SampleSiteServer]:
    with SampleSiteServer(site.root) as running:
        yield running


def _args(server: SampleSiteServer, output: Path, *extra: str) -> list[str]:
    return [
        "crawl", f"http://{HOST}:{server.port}/", "--output", str(output),
        "--resolve", f"{HOST}:{server.port}:127.0.0.1", *FAST, *extra,
    ]  # fmt: skip


def _start(server: SampleSiteServer, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archiver", *_args(server, output, *extra)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _kill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the crawl ended (exit {process.returncode}) before the kill")
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.01)
    process.kill()
    raise AssertionError("the moment to kill never came")


def _open_index_lines(output: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in output.glob("indexes/*.cdxj.open"))


def _resume_and_check(
    site: bigsite.BigSite, server: SampleSiteServer, output: Path, *extra: str
) -> tuple[dict, str]:
    """Run the same command again and check the whole run; its summary and stderr."""
    assert (
        list((output / "warcs").glob("*.open"))
        or list(output.glob("indexes/*.open"))
        or (output / "frontier.sqlite3").exists()
    ), "the killed run left nothing to resume"
    proc = run_archiver(*_args(server, output, *extra), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming run" in proc.stderr, proc.stderr[-3000:]
    base = f"http://{HOST}:{server.port}"
    expected = site.urls(base)
    captures = captures_by_url(output)
    twice = {url: n for url, n in captures.items() if n > 1}
    assert not twice, f"{len(twice)} URLs captured more than once, e.g. {list(twice)[:5]}"
    missing = expected - captures.keys()
    assert not missing, f"{len(missing)} URLs never captured, e.g. {sorted(missing)[:5]}"
    assert captures.keys() == expected, sorted(captures.keys() - expected)[:5]
    # One manifest line per page, each pointing at its record (verify checks the pointing).
    with open(output / "manifest.jsonl", encoding="utf-8") as f:
        pages = Counter(json.loads(line)["url"] for line in f)
    documents = {url for url in expected if url.endswith(("/", ".html", ".txt"))}
    assert pages == Counter(documents), "a manifest line lost or written twice"
    assert not list(output.rglob("*.open")) and not (output / "frontier.sqlite3").exists()
    check = run_archiver("verify", str(output))
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    (summary_path,) = (output / "runs").glob("*.json")
    summary = json.loads(summary_path.read_text())
    assert summary["resumes"] == 1 and summary["counts"]["captures_in_run"] == len(expected)
    # One run: every WARC file says so in its warcinfo.
    index_files = list((output / "indexes").glob("*.cdxj"))
    assert [p.stem for p in index_files] == [summary["run_id"]]
    return summary, proc.stderr


def test_the_site_is_big_enough(site: bigsite.BigSite):
    pages = [p for p in site.paths if p.endswith(("/", ".html"))]
    assert len(pages) >= 2000 and len(set(site.paths)) == len(site.paths)


def test_kill_9_early_then_resume_captures_every_url_once(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    crawl = _start(server, output)
    _kill_when(crawl, lambda: len(server.requests) >= 40)
    assert crawl.returncode == -signal.SIGKILL
    assert _open_index_lines(output) == 0, "killed before the first checkpoint"
    summary, _ = _resume_and_check(site, server, output)
    # Nothing was committed: repair removed the file, and the resumed process fetched all.
    assert summary["counts"]["captured_before_resume"] == 0


def test_kill_9_mid_file_then_resume_captures_every_url_once(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    crawl = _start(server, output, "--warc-size", "50M")
    # After the first checkpoint (500 captures), with a few hundred uncommitted after it.
    _kill_when(crawl, lambda: _open_index_lines(output) > 0 and len(server.requests) >= 800)
    assert crawl.returncode == -signal.SIGKILL
    (open_warc,) = (output / "warcs").glob("*.open")
    committed = _open_index_lines(output)
    summary, stderr = _resume_and_check(site, server, output, "--warc-size", "50M")
    before = summary["counts"]["captured_before_resume"]
    assert committed <= before < len(site.paths), (committed, before)
    # Repair kept the committed records and cut the uncommitted ones after them.
    repaired = re.search(r"1 open WARC closed: (\d+) records kept, (\d+) cut", stderr)
    assert repaired and int(repaired[1]) > 2 * committed and int(repaired[2]) > 0, stderr
    assert (output / "warcs" / open_warc.name.removesuffix(".open")).exists()


def test_kill_9_during_rotation_then_resume_captures_every_url_once(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    args = _args(server, output, "--warc-size", "300K")
    crawl = subprocess.run(
        [sys.executable, "-m", "tests.crashpoint", "rotation:3", *args],
        capture_output=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert crawl.returncode == -signal.SIGKILL, crawl.stderr[-2000:]
    closed = sorted((output / "warcs").glob("*.warc.gz"))
    (full,) = (output / "warcs").glob("*.open")
    assert len(closed) == 2, "killed while closing the third file"
    summary, _ = _resume_and_check(site, server, output, "--warc-size", "300K")
    # The full file was committed whole before the kill: repair kept every record of it.
    assert (output / "warcs" / full.name.removesuffix(".open")).stat().st_size >= 300_000
    assert summary["counts"]["captured_before_resume"] > 0


def _archive_worker(crawl: subprocess.Popen, timeout: float = 30) -> int:
    """The pid of the crawl's archive worker (archiver/archive/process.py), once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{crawl.pid}/task/{crawl.pid}/children").read_text().split()
        for pid in map(int, children):
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if command[1:3] == [b"-m", b"archiver.archive"]:  # ArchiveWorker.command
                    return pid
        time.sleep(0.01)
    raise AssertionError("no archive worker process")


def _gone(pid: int, timeout: float = 10) -> bool:
    """The process is gone (or a zombie: dead, waiting to be reaped by its new parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.01)
    return False


def test_a_killed_archive_worker_stops_the_run_and_the_same_command_resumes_it(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    crawl = subprocess.Popen(
        [sys.executable, "-m", "archiver", *_args(server, output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = _archive_worker(crawl)
    deadline = time.monotonic() + 120
    while len(server.requests) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(worker, signal.SIGKILL)
    _, stderr = crawl.communicate(timeout=120)
    # The crawl process notices at once and stops: it cannot archive without its worker.
    assert crawl.returncode == 1, stderr[-3000:]
    assert "the archive worker stopped unexpectedly" in stderr, stderr[-3000:]
    assert "the run stopped early (worker_died)" in stderr, stderr[-3000:]
    assert len(server.requests) < len(site.paths), "stopped before the end of the site"
    _resume_and_check(site, server, output)


def test_the_archive_worker_dies_with_the_crawl_process_and_frees_the_collection(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    crawl = _start(server, output)
    worker = _archive_worker(crawl)
    _kill_when(crawl, lambda: len(server.requests) >= 300)
    # No orphan writes on into the collection: the worker goes with the crawl process (and
    # it holds the collection lock while it lives, so no new run could start beside it).
    assert _gone(worker), "the archive worker outlived the crawl process"
    _resume_and_check(site, server, output)


def test_a_different_command_does_not_resume_someone_elses_run(
    site: bigsite.BigSite, server: SampleSiteServer, tmp_path: Path
):
    output = tmp_path / "coll"
    crawl = _start(server, output)
    _kill_when(crawl, lambda: len(server.requests) >= 40)
    other = run_archiver(*_args(server, output, "--exclude", "p00"))
    assert other.returncode == 2
    assert "has an unfinished run" in other.stderr and "--restart" in other.stderr
    assert other.stderr.splitlines()[-1].startswith("archiver: error: "), other.stderr
    fresh = run_archiver(*_args(server, output, "--exclude", "p00", "--restart"))
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert "abandoned the unfinished run" in fresh.stderr
    assert not (output / "frontier.sqlite3").exists()
