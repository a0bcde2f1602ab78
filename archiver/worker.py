"""The archive worker: a second process that archives what the crawl process captures.

One Scrapy process saturates one core with fetching and link extraction alone; reading text,
hashing, gzip and the writes of the WARC, manifest, index and dedup rows (archivist.py) run
here instead, on the other core. The crawl process sends each Capture down a pipe in the order
its callbacks made them, and gets back what the worker counted, logged or failed at.

What keeps an archive whole across the two processes:

- The crawl process commits the frontier before a capture leaves it, so the worker's
  checkpoint (journal.py), which fsyncs the frontier files, covers every link of every page
  it commits.
- The worker holds a copy of the collection lock's descriptor: while it lives, no other run
  can take the collection, even if the crawl process died first.
- If the crawl process dies, the worker dies with it (Linux's parent-death signal, and the
  end of its pipe otherwise) without a further checkpoint: what it had not committed is cut by
  the next run's repair and fetched again on resume, exactly as if one process had died.
- A write error (a full disk) is reported once; the worker then archives nothing more and the
  crawl process stops the crawl.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import DupFd
from pathlib import Path
from typing import Any

from archiver.archivist import ArchiveConfig, Archivist
from archiver.errors import write_error_reason
from archiver.items import Capture

# Captures are sent from the crawl's own thread: a sender thread measured 6% slower, as the
# two threads contend for the GIL. A pipe this large (Linux's default limit for one that is
# not privileged) holds about 40 pages, so the crawl waits only while the worker is that far
# behind, e.g. in a checkpoint's fsync; that wait is also what bounds the memory.
PIPE_BYTES = 1 << 20
REPORT_SECONDS = 1.0  # how often the worker sends its counts, for live progress
_PR_SET_PDEATHSIG = 1
_F_SETPIPE_SZ = 1031
_CLOSE = None  # the last message the crawl process sends

# What the worker sends back, as tuples whose first element is one of these.
READY = "ready"  # (READY,): the archive is open; the crawl may begin
STATS = "stats"  # (STATS, counts to add, values to set)
LOG = "log"  # (LOG, level, logger name, message)
FAILED = "failed"  # (FAILED, reason, message): a write failed; nothing more is archived
CLOSED = "closed"  # (CLOSED, failure reason or None): every file finished or left for repair
DIED = "died"  # (DIED, exit code): made by the crawl process when the pipe ends early

logger = logging.getLogger(__name__)


class ArchiveWorker:
    """The crawl process's side: starts the worker, feeds it, collects what it says.

    The process is started first (``ArchiveWorker(...)``), so that its start-up overlaps the
    crawl's; ``open`` then hands it the run and waits until the archive is open. ``wake`` is
    called from a reader thread whenever messages are waiting; the owner then takes them with
    ``messages`` on its own thread (Scrapy's stats are not thread-safe).
    """

    def __init__(self, *, lock_fd: int, wake: Callable[[], None]) -> None:
        # spawn, not fork: the crawl process has SQLite connections and threads open, and a
        # forked child must use neither.
        context = multiprocessing.get_context("spawn")
        items_out, self._items = context.Pipe(duplex=False)
        self._results, results_in = context.Pipe(duplex=False)
        with contextlib.suppress(OSError):  # fewer stalls when the worker is briefly busy
            fcntl.fcntl(self._items.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
        self.process = context.Process(
            target=serve,
            args=(items_out, results_in, _Inherited(lock_fd), os.getpid()),
            name="archiver-worker",
            daemon=True,
        )
        self.process.start()
        items_out.close()
        results_in.close()
        self._wake = wake
        self._inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._ready = False
        self._broken = False  # the worker is gone: captures are no longer sent
        self._reader = threading.Thread(target=self._read_all, name="archiver-read", daemon=True)

    def open(self, config: ArchiveConfig, frontier_path: Path) -> None:
        """Hand the worker its run and wait until the archive is open: if it cannot be,
        nothing is fetched for nothing, and what the crawl commits is checkpointed from the
        start."""
        with contextlib.suppress(OSError):  # a worker that died already says so below
            self._items.send((config, frontier_path))
        self._ready = self._first_message()
        self._reader.start()

    @property
    def ready(self) -> bool:
        """The worker opened the archive and is taking captures."""
        return self._ready

    def _first_message(self) -> bool:
        try:
            message = self._results.recv()
        except (EOFError, OSError):
            self.process.join()
            message = (DIED, self.process.exitcode)
        if message[0] != READY:
            self._inbox.put(message)
        return message[0] == READY

    def submit(self, item: Capture) -> None:
        """Send a capture; waits only while the pipe is full (see PIPE_BYTES)."""
        if self._broken:
            return
        try:
            self._items.send(item)
        except OSError:
            self._broken = True  # the reader thread reports how the worker ended

    def messages(self) -> list[tuple[Any, ...]]:
        """What the worker said since the last call, in order."""
        taken: list[tuple[Any, ...]] = []
        with contextlib.suppress(queue.Empty):
            while True:
                taken.append(self._inbox.get_nowait())
        return taken

    def close(self) -> None:
        """Send the end, and wait for the worker to finish its files and exit."""
        with contextlib.suppress(OSError):
            self._items.send(_CLOSE)
        self._items.close()
        if self._reader.ident is not None:  # opened: the worker reports until it exits
            self._reader.join()
        self.process.join()

    def _read_all(self) -> None:
        closed = False
        while True:
            try:
                message = self._results.recv()
            except (EOFError, OSError):
                break
            closed = closed or message[0] == CLOSED
            self._inbox.put(message)
            self._wake()
        self._results.close()
        if not closed:
            self.process.join()
            self._inbox.put((DIED, self.process.exitcode))
            self._wake()


class _Inherited:
    """A descriptor the worker gets a copy of when it is spawned (the collection lock's)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled while the worker is being spawned, so DupFd passes the descriptor itself.
        return (_inherited, (DupFd(self.fd),))


def _inherited(dup: Any) -> int:
    return dup.detach()


# -- the worker process -------------------------------------------------------------------


class _Forward(logging.Handler):
    """The worker's log records go to the crawl process, which logs them as its own."""

    def __init__(self, results: Connection) -> None:
        super().__init__(logging.INFO)
        self.results = results

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            self.results.send((LOG, record.levelno, record.name, self.format(record)))


def serve(items: Connection, results: Connection, lock_fd: int, parent: int) -> None:
    """The worker's main: archive every capture that comes until the crawl says it is done."""
    _die_with(parent)
    # Ctrl-C reaches the whole process group; stopping is the crawl process's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root = logging.getLogger()
    root.handlers[:] = [_Forward(results)]
    root.setLevel(logging.INFO)
    del lock_fd  # held open, not used: the lock stays taken while this process lives
    try:
        run = items.recv()
    except (EOFError, OSError):
        os._exit(3)  # the crawl process died before it began: nothing to archive
    if run is _CLOSE:  # the crawl closed without opening the archive
        return
    config, frontier_path = run
    try:
        archivist = Archivist.open(config, frontier_path)
    except (OSError, sqlite3.Error) as exc:
        results.send((FAILED, write_error_reason(exc), f"cannot open the archive: {exc}"))
        results.send((CLOSED, write_error_reason(exc)))
        return
    results.send((READY,))
    _Loop(archivist, items, results).run()


class _Loop:
    def __init__(self, archivist: Archivist, items: Connection, results: Connection) -> None:
        self.archivist = archivist
        self.items = items
        self.results = results
        self.failed = False
        self.reported: Counter[str] = Counter()
        self.last_report = time.monotonic()

    def run(self) -> None:
        while True:
            if self.items.poll(self._wait()):
                try:
                    item = self.items.recv()
                except (EOFError, OSError):
                    # The crawl process died: commit nothing more, as if this one died too.
                    os._exit(3)
                if item is _CLOSE:
                    break
                self._archive(item)
            else:
                self._checkpoint_if_due()
            if time.monotonic() - self.last_report >= REPORT_SECONDS:
                self._report()
        self._close()

    def _wait(self) -> float:
        """Until the next report: time-based checkpoints and counts need no capture to come."""
        return max(0.0, REPORT_SECONDS - (time.monotonic() - self.last_report))

    def _archive(self, item: Capture) -> None:
        stats = self.archivist.stats
        if self.failed:
            stats["archiver/not_archived"] += 1
            return
        try:
            self.archivist.archive(item)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)
            stats["archiver/not_archived"] += 1
            return
        except Exception:
            # A bug on one capture must not lose the rest: Scrapy treats a failing pipeline
            # the same way. The writer has cut any partial record off again.
            logger.exception("%s: not archived", item.exchange.url)
            stats["archiver/archive_errors"] += 1
            return
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        if self.failed or not self.archivist.checkpoint_due:
            return
        try:
            self.archivist.checkpoint()
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)

    def _fail(self, exc: OSError | sqlite3.Error) -> None:
        self.failed = True
        self.results.send((FAILED, write_error_reason(exc), str(exc)))

    def _report(self) -> None:
        stats = self.archivist.stats
        added = stats - self.reported
        self.reported = stats.copy()
        writer = self.archivist.journal.writer
        self.results.send((STATS, dict(added), {"archiver/warc_bytes": writer.bytes_written}))
        self.last_report = time.monotonic()

    def _close(self) -> None:
        failure: str | None = None
        try:
            self.archivist.close()
        except (OSError, sqlite3.Error) as exc:
            # What the last checkpoint did not commit is cut by the next run's repair, and
            # fetched again when it resumes.
            logger.warning("the last checkpoint failed (%s); the next run repairs and resumes", exc)
            failure = write_error_reason(exc)
        self._report()
        self.results.send((STATS, {}, self.archivist.totals()))
        self.results.send((CLOSED, failure))


def _die_with(parent: int) -> None:
    """Be killed when the crawl process dies, however it dies (Linux; elsewhere the end of
    the pipe tells, at the next capture)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(3)
