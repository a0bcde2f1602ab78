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
from dataclasses import dataclass
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


def machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent busy since boot, from /proc/stat.

    The difference across a crawl, less the crawler's and the server's own CPU, is what
    everything else on the machine used meanwhile: a benchmark on a shared machine says so.
    Steal (time a virtual machine waited for its host) is left out: no process here used it.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    # cpu user nice system idle iowait irq softirq steal ...; guest time is inside user.
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    """VmHWM of one process in KiB; 0 for a process that is gone or a zombie."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces; "" for a process that is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")


@dataclass(frozen=True)
class ProcessUsage:
    """One process of a sampled tree: what it ran, its own peak RSS and its CPU time so far."""

    pid: int
    command: str
    peak_rss_kib: int
    cpu_seconds: float  # as last sampled: up to one interval short for a process that ended

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kib / 1024


class PeakRss:
    """Samples the peak RSS and CPU time of each process of a tree on a thread, until ``stop()``.

    archiver runs as two processes (the crawl and its archive worker): ``peak_kib`` sums each
    process's own peak, an upper bound of the tree's true peak (peaks reached at different
    moments add up), and ``largest_kib`` is the one process with the highest peak, the figure
    a limit per process is checked against. A thread (rather than sampling between
    non-blocking waits) lets the caller block in ``wait4`` and see the exit at once, so wall
    times are not rounded up to a sampling interval.

    A child between fork and exec still shows its parent's memory (the pages are shared until
    it execs, and VmHWM starts again at exec): a process whose command line changes is taken
    as the new program it became, its earlier samples dropped, so the parent's memory is not
    counted twice.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._seen: dict[int, ProcessUsage] = {}  # by pid, kept after a process is gone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            for pid in (self.pid, *descendants(self.pid)):
                self._sample_one(pid)
            if self._stop.wait(SAMPLE_INTERVAL):
                return

    def _sample_one(self, pid: int) -> None:
        command = command_line(pid)
        peak, cpu = peak_rss_kib(pid), cpu_seconds(pid)
        # An exec between the two reads of the command line would pair one program's name
        # with the other's memory: such a sample is skipped, the next one is consistent.
        if not command or not peak or command != command_line(pid):
            return
        earlier = self._seen.get(pid)
        if earlier is not None and earlier.command == command:
            peak = max(peak, earlier.peak_rss_kib)
        self._seen[pid] = ProcessUsage(pid, command, peak, cpu)

    def stop(self) -> float:
        """Stop sampling; the summed peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024

    @property
    def processes(self) -> list[ProcessUsage]:
        """Every process seen, the root first, then in the order they were first seen."""
        return list(self._seen.values())

    @property
    def peak_kib(self) -> int:
        return sum(usage.peak_rss_kib for usage in self._seen.values())

    @property
    def largest_kib(self) -> int:
        return max((usage.peak_rss_kib for usage in self._seen.values()), default=0)
