"""Faults: a full disk, kill -9 and SIGTERM leave a collection that verifies, and the next run
of the same command continues."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.tools.verify import verify_collection
from samplesite.server import SampleSiteServer
from tests.conftest import FAST, SAMPLE_HOST, run_archiver
from tests.warcread import captures_by_url

# Every test here crawls the sample site and breaks the run: end to end.
pytestmark = pytest.mark.e2e

PREFIX = "/archive/etext/"


def _crawl_args(server: SampleSiteServer, output: Path, *extra: str) -> list[str]:
    return [
        "crawl", f"http://{SAMPLE_HOST}:{server.port}{PREFIX}", "--output", str(output),
        "--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1", *FAST, *extra,
    ]  # fmt: skip


def _can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


def _assert_verifies(root: Path) -> None:
    report = verify_collection(root)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]


def _assert_resumed_whole(root: Path, stderr: str, reference: set[str]) -> None:
    """The run was resumed, and across its processes each URL was captured exactly once."""
    assert "resuming run" in stderr, stderr
    captured = captures_by_url(root)
    assert not [url for url, n in captured.items() if n > 1], "captured twice"
    assert set(captured) == reference, sorted(set(captured) ^ reference)[:5]
    assert not (root / "frontier.sqlite3").exists(), "a finished run leaves no frontier"


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root to mount a small tmpfs")
def test_a_full_disk_stops_the_run_cleanly_and_the_next_run_continues(tmp_path: Path):
    mount, saved = tmp_path / "small-disk", tmp_path / "saved"
    mount.mkdir()
    with SampleSiteServer() as server:
        # Checkpoints often, so some captures are committed before the disk fills; no
        # free-space guard, so that the disk does fill (the guard has its own test below).
        args = " ".join(
            _crawl_args(
                server, mount / "coll", "--checkpoint-interval", "0.05", "--min-free-space", "0"
            )
        )
        # A 384 KiB disk of its own (a private mount namespace): the crawl fills it. What was
        # on it is copied out before the namespace, and the disk, go away.
        script = (
            f"mount -t tmpfs -o size=384k tmpfs {mount} && "
            f"{sys.executable} -m archiver {args} 2>{tmp_path}/stderr; "
            f"echo $? > {tmp_path}/rc; cp -a {mount}/coll {saved}"
        )
        subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, timeout=300)
        stderr = (tmp_path / "stderr").read_text()
        assert (tmp_path / "rc").read_text().strip() == "1", stderr
        assert stderr.splitlines()[-1].startswith("archiver: error: the disk is full"), stderr
        assert "Traceback" not in stderr and "Logging error" not in stderr, stderr
        # The WARCs written so far are whole; a cut record is never left behind.
        warcs = sorted((saved / "warcs").glob("*.warc.gz*"))
        assert warcs
        # The next run, with space, repairs what was left half-written and resumes.
        proc = run_archiver(*_crawl_args(server, saved))
        assert proc.returncode == 0, proc.stderr
        reference = run_archiver(*_crawl_args(server, tmp_path / "reference"))
        assert reference.returncode == 0, reference.stderr
    assert not list(saved.rglob("*.open"))
    _assert_verifies(saved)
    _assert_resumed_whole(saved, proc.stderr, set(captures_by_url(tmp_path / "reference")))
    (summary,) = (saved / "runs").glob("*.json")
    counts = json.loads(summary.read_text())["counts"]
    assert 0 < counts["captured_before_resume"] < counts["captures_in_run"], counts


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root to mount a small tmpfs")
def test_below_min_free_space_the_run_stops_before_the_disk_is_full_and_continues_later(
    tmp_path: Path,
):
    mount, saved = tmp_path / "small-disk", tmp_path / "saved"
    mount.mkdir()
    with SampleSiteServer() as server:
        args = " ".join(
            _crawl_args(
                server, mount / "coll", "--checkpoint-interval", "0.05",
                "--min-free-space", "256k", "--delay", "0.01",
            )
        )  # fmt: skip
        script = (
            f"mount -t tmpfs -o size=512k tmpfs {mount} && "
            f"{sys.executable} -m archiver {args} 2>{tmp_path}/stderr; "
            f"echo $? > {tmp_path}/rc; df -k {mount} > {tmp_path}/df; cp -a {mount}/coll {saved}"
        )
        subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, timeout=300)
        stderr = (tmp_path / "stderr").read_text()
        assert (tmp_path / "rc").read_text().strip() == "1", stderr
        assert "the collection's disk is nearly full" in stderr.splitlines()[-1], stderr
        assert "Traceback" not in stderr, stderr
        # Stopped before the disk filled: every file was closed, none cut by a failed write.
        free_kib = int((tmp_path / "df").read_text().split("\n")[1].split()[3])
        assert free_kib > 0, "the guard must stop the run while there is room left"
        assert not list(saved.rglob("*.open"))
        (summary,) = (saved / "runs").glob("*.json")
        assert json.loads(summary.read_text())["finish_reason"] == "disk_low"
        proc = run_archiver(*_crawl_args(server, saved))
        assert proc.returncode == 0, proc.stderr
        assert "resuming run" in proc.stderr
    _assert_verifies(saved)


def _start_crawl(server: SampleSiteServer, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archiver", *_crawl_args(server, output, *extra)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_records(output: Path, minimum: int = 20_000, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sizes = (
            [p.stat().st_size for p in (output / "warcs").glob("*.open")] if output.exists() else []
        )
        if sizes and max(sizes) >= minimum:
            return
        time.sleep(0.05)
    raise AssertionError("the crawl wrote nothing to watch")


def test_kill_9_mid_crawl_then_the_same_command_repairs_and_continues(tmp_path: Path):
    output = tmp_path / "coll"
    with SampleSiteServer() as server:
        crawl = _start_crawl(server, output, "--delay", "0.05")
        _wait_for_records(output)
        crawl.kill()  # SIGKILL: no cleanup of any kind
        crawl.wait()
        assert list((output / "warcs").glob("*.open")), "the killed run left its file open"
        proc = run_archiver(*_crawl_args(server, output))
        assert proc.returncode == 0, proc.stderr
        assert "repaired" in proc.stderr and "cleared the lock" in proc.stderr
        reference = run_archiver(*_crawl_args(server, tmp_path / "reference"))
        assert reference.returncode == 0, reference.stderr
    assert not list(output.rglob("*.open"))
    _assert_verifies(output)
    _assert_resumed_whole(output, proc.stderr, set(captures_by_url(tmp_path / "reference")))


def test_sigterm_stops_cleanly_and_leaves_nothing_open(tmp_path: Path):
    output = tmp_path / "coll"
    with SampleSiteServer() as server:
        crawl = _start_crawl(server, output, "--delay", "0.05")
        _wait_for_records(output)
        crawl.send_signal(signal.SIGTERM)
        _, stderr = crawl.communicate(timeout=60)
        assert crawl.returncode == 1 and "stopped early (shutdown)" in stderr, stderr
        assert not list(output.rglob("*.open")), "a clean stop closes every file"
        assert "run the same command again to resume it" in stderr
        _assert_verifies(output)
        proc = run_archiver(*_crawl_args(server, output))
        assert proc.returncode == 0, proc.stderr
        reference = run_archiver(*_crawl_args(server, tmp_path / "reference"))
        assert reference.returncode == 0, reference.stderr
    _assert_verifies(output)
    _assert_resumed_whole(output, proc.stderr, set(captures_by_url(tmp_path / "reference")))
    (summary,) = (output / "runs").glob("*.json")
    assert json.loads(summary.read_text())["resumes"] == 1
