"""The collection lock, with real files and real processes: one run at a time, dead runs cleared."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.collection.lock import LOCK_NAME, CollectionBusy, CollectionLock

REPO = Path(__file__).resolve().parents[1]

# A holder in its own process: takes the lock, says so, then sleeps until killed.
HOLDER = """
import sys, time
from pathlib import Path
from archiver.collection.lock import CollectionLock
lock = CollectionLock(Path(sys.argv[1]))
lock.acquire(sys.argv[2])
print("held", flush=True)
time.sleep(600)
"""

# A second comer in its own process: tries once and reports how it went and how long it took.
CONTENDER = """
import json, sys, time
from pathlib import Path
from archiver.collection.lock import CollectionBusy, CollectionLock
start = time.monotonic()
try:
    CollectionLock(Path(sys.argv[1])).acquire(sys.argv[2])
    outcome = "acquired"
except CollectionBusy as exc:
    outcome = str(exc)
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - start}))
"""


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A process holding the lock of tmp_path for run "held-elsewhere"."""
    proc = subprocess.Popen(
        python(HOLDER, str(tmp_path), "held-elsewhere"), cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def timed_busy(lock: CollectionLock, run_id: str) -> tuple[str, float]:
    start = time.monotonic()
    with pytest.raises(CollectionBusy) as raised:
        lock.acquire(run_id)
    return str(raised.value), time.monotonic() - start


def test_a_second_lock_in_the_same_process_is_refused_at_once(tmp_path: Path):
    first = CollectionLock(tmp_path)
    first.acquire("run-1")
    try:
        message, seconds = timed_busy(CollectionLock(tmp_path), "run-2")
    finally:
        first.release()
    assert seconds < 1
    assert "\n" not in message
    for part in ("run run-1", f"pid {os.getpid()}", socket.gethostname(), "since 20", "wait"):
        assert part in message


def test_release_lets_the_next_run_in(tmp_path: Path):
    first, second = CollectionLock(tmp_path), CollectionLock(tmp_path)
    first.acquire("run-1")
    first.release()
    second.acquire("run-2")
    assert second.stale is None  # a clean release leaves nothing to report
    info = json.loads((tmp_path / LOCK_NAME).read_text())
    assert info["run_id"] == "run-2" and info["pid"] == os.getpid()
    second.release()


def test_release_is_idempotent_and_leaves_an_empty_file(tmp_path: Path):
    lock = CollectionLock(tmp_path)
    lock.release()  # never acquired: nothing to do
    lock.acquire("run-1")
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held
    assert (tmp_path / LOCK_NAME).read_bytes() == b""


def test_acquiring_twice_with_one_object_is_a_programming_error(tmp_path: Path):
    lock = CollectionLock(tmp_path)
    lock.acquire("run-1")
    with pytest.raises(RuntimeError):
        lock.acquire("run-1")
    lock.release()


def test_a_failed_attempt_leaves_the_holders_record_untouched(tmp_path: Path):
    first = CollectionLock(tmp_path)
    first.acquire("run-1")
    path = tmp_path / LOCK_NAME
    before = path.read_bytes(), path.stat().st_mtime_ns
    for _ in range(3):
        with pytest.raises(CollectionBusy):
            CollectionLock(tmp_path).acquire("run-2")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    first.release()


def test_a_lock_held_by_another_process_is_refused_at_once(tmp_path: Path, holder):
    message, seconds = timed_busy(CollectionLock(tmp_path), "run-2")
    assert seconds < 1
    assert "run held-elsewhere" in message and f"pid {holder.pid}" in message


def test_a_subprocess_is_refused_while_this_process_holds_the_lock(tmp_path: Path):
    lock = CollectionLock(tmp_path)
    lock.acquire("run-1")
    try:
        done = subprocess.run(
            python(CONTENDER, str(tmp_path), "run-2"),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        lock.release()
    result = json.loads(done.stdout)
    assert result["seconds"] < 1
    assert "run run-1" in result["outcome"] and f"pid {os.getpid()}" in result["outcome"]
    # And once released, the same attempt gets through.
    again = subprocess.run(
        python(CONTENDER, str(tmp_path), "run-2"), cwd=REPO, capture_output=True, text=True
    )
    assert json.loads(again.stdout)["outcome"] == "acquired"


def test_a_holder_killed_by_sigkill_leaves_a_stale_lock_that_is_reported_and_cleared(
    tmp_path: Path, holder
):
    dead_pid = holder.pid
    os.kill(dead_pid, signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    path = tmp_path / LOCK_NAME
    assert json.loads(path.read_text())["run_id"] == "held-elsewhere"  # the record outlives it

    lock = CollectionLock(tmp_path)
    start = time.monotonic()
    lock.acquire("run-2")
    assert time.monotonic() - start < 1
    assert lock.stale is not None
    assert lock.stale["run_id"] == "held-elsewhere"
    assert lock.stale["pid"] == dead_pid
    assert lock.stale["host"] == socket.gethostname()
    assert lock.stale["started"].startswith("20")
    # The dead run's record is replaced by this run's.
    assert json.loads(path.read_text())["run_id"] == "run-2"
    lock.release()
    # Once cleared, the next run sees nothing stale.
    after = CollectionLock(tmp_path)
    after.acquire("run-3")
    assert after.stale is None
    after.release()


def test_garbage_in_an_unlocked_file_counts_as_stale(tmp_path: Path):
    (tmp_path / LOCK_NAME).write_text("not json")
    lock = CollectionLock(tmp_path)
    lock.acquire("run-1")
    assert lock.stale == {"unreadable": "not json"}
    lock.release()


def test_a_missing_collection_folder_is_a_collection_error(tmp_path: Path):
    from archiver.model.errors import CollectionError

    with pytest.raises(CollectionError, match="cannot open the lock file"):
        CollectionLock(tmp_path / "nowhere").acquire("run-1")
