"""What /proc says about a running process tree: its CPU time and its peak resident set.

Peak RSS is sampled from ``VmHWM`` (the high-water mark of the process's own memory since its
exec) while the process runs, rather than taken from the rusage ``wait4`` returns: Linux folds
into that ``ru_maxrss`` the memory of the process the child was forked from, so every crawler
the Python harness starts would seem to use at least as much memory as the harness itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

SAMPLE_INTERVAL = 0.02  # seconds; the peak of a crawler's last 20 ms of life may be missed


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children of any of its threads, recursively)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                kids = [int(child) for child in children.read_text().split()]
                found += kids
                pending += kids
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process from /proc/PID/stat, in seconds (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name in parentheses may hold spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    """VmHWM of one process in KiB; 0 for a process that is gone or a zombie."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class PeakRss:
    """Samples the peak RSS of a process tree on a thread, until ``stop()``.

    The peak is the sum of every process's own peak: archiver runs as two processes (the crawl
    and its archive worker), and their memory counts together. Peaks reached at different
    moments add up to an upper bound, never less than the true peak of the tree. A thread
    (rather than sampling between non-blocking waits) lets the caller block in ``wait4`` and
    see the exit at once, so wall times are not rounded up to a sampling interval.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._peaks: dict[int, int] = {}  # KiB by pid, kept after a process is gone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            for pid in (self.pid, *descendants(self.pid)):
                self._peaks[pid] = max(self._peaks.get(pid, 0), peak_rss_kib(pid))
            if self._stop.wait(SAMPLE_INTERVAL):
                return

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024

    @property
    def peak_kib(self) -> int:
        return sum(self._peaks.values())
