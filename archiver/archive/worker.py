"""The archive worker: a second process that archives what the crawl process captures.

One Scrapy process saturates one core with fetching alone; reading pages (their text and
their links, in one parse), hashing, gzip and the writes of the WARC, manifest, index and
dedup rows (archivist.py) run here instead, on the other core. The crawl process sends each
Capture down a pipe in the order its callbacks made them, and gets back each page's links
(LINKS), and what the worker counted, logged or failed at.

What keeps an archive whole across the two processes:

- A capture is committed only once its page's links are in the frontier. The crawl process
  commits the frontier before a capture leaves it, and commits the links the worker sends
  back as they come. Before each checkpoint (journal.py) the worker asks (SYNC) and waits for
  the crawl process to confirm (SYNCED) that every link it sent is committed; the checkpoint
  then fsyncs the frontier files. At the end the crawl process asks for DRAINED, which comes
  after the links of every capture it sent, commits those, and sends CLOSE: it says the same
  of all of them, or that the frontier could not be written, and then nothing more is
  committed.
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
import select
import signal
import sqlite3
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import DupFd
from pathlib import Path
from typing import Any

from archiver.archive.archivist import ArchiveConfig, Archivist
from archiver.archive.channel import Inbox, Outbox
from archiver.archive.protocol import Capture
from archiver.model.errors import write_error_reason

# Captures are sent from the crawl's own thread: a sender thread measured 6% slower, as the
# two threads contend for the GIL. A pipe this large (Linux's default limit for one that is
# not privileged) holds about 40 pages, so the crawl waits only while the worker is that far
# behind, e.g. in a checkpoint's fsync; that wait is also what bounds the memory.
PIPE_BYTES = 1 << 20
REPORT_SECONDS = 1.0  # how often the worker sends its counts, for live progress
_PR_SET_PDEATHSIG = 1
_F_SETPIPE_SZ = 1031

# What the crawl process sends besides the run and Capture items.
SYNCED = "synced"  # (SYNCED,): every link sent before the SYNC it answers is committed
DRAIN = "drain"  # (DRAIN,): answer DRAINED once every capture sent before it is archived
CLOSE = "close"  # (CLOSE, links committed): the last message; False: the frontier failed

# What the worker sends back, as tuples whose first element is one of these.
READY = "ready"  # (READY,): the archive is open; the crawl may begin
LINKS = "links"  # (LINKS, links_base, depth, [(url, kind), ...]): a page's links, read here
SYNC = "sync"  # (SYNC,): a checkpoint is due; answer SYNCED once the links sent are committed
DRAINED = "drained"  # (DRAINED,): the answer to DRAIN; every LINKS owed came before it
STATS = "stats"  # (STATS, counts to add, values to set)
LOG = "log"  # (LOG, level, logger name, message)
FAILED = "failed"  # (FAILED, reason, message): a write failed; nothing more is archived
CLOSED = "closed"  # (CLOSED, failure reason or None): every file finished or left for repair
DIED = "died"  # (DIED, exit code): made by the crawl process when the pipe ends early

logger = logging.getLogger(__name__)


class ArchiveWorker:
    """The crawl process's side: starts the worker, feeds it, collects what it says.

    The process is started first (``ArchiveWorker(...)``), so that its start-up overlaps the
    crawl's; ``open`` then hands it the run and waits until the archive is open. The owner
    watches ``fileno()`` for messages and takes them with ``receive`` on its own thread (the
    reactor's: no reader thread competes with the crawl for the GIL).
    """

    def __init__(self, *, lock_fd: int) -> None:
        # spawn, not fork: the crawl process has SQLite connections and threads open, and a
        # forked child must use neither.
        context = multiprocessing.get_context("spawn")
        items_out, self._items = context.Pipe(duplex=False)
        results_in, results_out = os.pipe()  # framed by channel.py: see there why
        for fd in (self._items.fileno(), results_out):
            with contextlib.suppress(OSError):  # fewer stalls when one side is briefly busy
                fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
        self.process = context.Process(
            target=serve,
            args=(items_out, _Inherited(results_out), _Inherited(lock_fd), os.getpid()),
            name="archiver-worker",
            daemon=True,
        )
        self.process.start()
        items_out.close()
        os.close(results_out)
        self._results = Inbox(results_in)
        self._early: list[tuple[Any, ...]] = []  # what came with READY, or instead of it
        self._opened = False  # the run was sent: the worker reports until it ends
        self._ready = False
        self._closed = False  # CLOSED came, or DIED was made: nothing more to report
        self._broken = False  # the worker is gone: nothing more is sent

    def open(self, config: ArchiveConfig, frontier_path: Path) -> None:
        """Hand the worker its run and wait until the archive is open: if it cannot be,
        nothing is fetched for nothing, and what the crawl commits is checkpointed from the
        start."""
        self._opened = True
        self._send((config, frontier_path))
        self._early = self._results.receive(wait=True)
        if self._early and self._early[0][0] == READY:
            self._ready = True
            del self._early[0]

    @property
    def ready(self) -> bool:
        """The worker opened the archive and is taking captures."""
        return self._ready

    @property
    def ended(self) -> bool:
        """The worker has said all it will say."""
        return self._results.ended

    def fileno(self) -> int:
        """Readable when the worker has said something (or ended): call ``receive``."""
        return self._results.fd

    def submit(self, item: Capture) -> None:
        """Send a capture; waits only while the pipe is full (see PIPE_BYTES)."""
        self._send(item)

    def synced(self) -> None:
        """Answer SYNC: every link the worker sent before it is committed."""
        self._send((SYNCED,))

    def drain(self) -> None:
        """Ask for DRAINED, which comes after the links of every capture sent so far."""
        self._send((DRAIN,))

    def receive(self, *, wait: bool = False) -> list[tuple[Any, ...]]:
        """What the worker said since the last call, in order; with ``wait``, at least one
        message unless it has ended. Its end without CLOSED is reported as DIED."""
        taken, self._early = self._early, []
        taken += self._results.receive(wait=wait and not taken)
        if any(message[0] == CLOSED for message in taken):
            self._closed = True
        if self._results.ended and not self._closed and self._opened:
            self._closed = True  # reported once
            self.process.join()
            taken.append((DIED, self.process.exitcode))
        return taken

    def finish(
        self,
        handle: Callable[[list[tuple[Any, ...]]], None],
        *,
        links_committed: bool = True,
    ) -> None:
        """Send the end: the worker finishes its files, says CLOSED and exits. What it says
        until then goes to ``handle``, DIED included if it never said CLOSED.
        ``links_committed``: every LINKS received was committed to the frontier; if not,
        the worker commits nothing more."""
        self._send((CLOSE, links_committed))
        self._items.close()
        while True:  # at least once: what came with READY, or instead of it, is handed on
            handle(self.receive(wait=True))
            if self.ended:
                break
        self.process.join()
        self._results.close()

    def stop(self) -> None:
        """Finish a worker that was never opened."""
        self.finish(lambda _: None)

    def _send(self, message: Any) -> None:
        if self._broken:
            return
        try:
            self._items.send(message)
        except OSError:
            self._broken = True  # receive() reports how the worker ended


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

    def __init__(self, results: Outbox) -> None:
        super().__init__(logging.INFO)
        self.results = results

    def emit(self, record: logging.LogRecord) -> None:
        self.results.send((LOG, record.levelno, record.name, self.format(record)))


def serve(items: Connection, results_fd: int, lock_fd: int, parent: int) -> None:
    """The worker's main: archive every capture that comes until the crawl says it is done."""
    _die_with(parent)
    results = Outbox(results_fd)
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
    if run[0] == CLOSE:  # the crawl closed without opening the archive
        return
    config, frontier_path = run
    try:
        archivist = Archivist.open(config, frontier_path)
    except (OSError, sqlite3.Error) as exc:
        results.send((FAILED, write_error_reason(exc), f"cannot open the archive: {exc}"))
        results.send((CLOSED, write_error_reason(exc)))
    else:
        results.send((READY,))
        _Loop(archivist, items, results).run()
    results.close()  # waits until the crawl process has read it all


class _Loop:
    def __init__(self, archivist: Archivist, items: Connection, results: Outbox) -> None:
        self.archivist = archivist
        self.items = items
        self.results = results
        self.failed = False
        self.reported: Counter[str] = Counter()
        self.last_report = time.monotonic()
        self.backlog: deque[Any] = deque()  # came while a SYNC was being answered
        self.unsynced = 0  # LINKS sent since the crawl last confirmed them
        self.closing: bool | None = None  # CLOSE came: whether every link was committed

    def run(self) -> None:
        while self.closing is None or self.backlog:
            if self.backlog:
                self._take(self.backlog.popleft())
            elif self._poll(self._wait()):
                self._take(self._receive())
            else:
                self._checkpoint_if_due()
            if time.monotonic() - self.last_report >= REPORT_SECONDS:
                self._report()
        self._close()

    def _poll(self, timeout: float | None) -> bool:
        """Whether a message from the crawl process waits, within ``timeout`` seconds (None:
        until one does); meanwhile what the outbox holds goes out as the pipe takes it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            writing = [self.results.fd] if self.results.pending else []
            readable, writable, _ = select.select([self.items], writing, [], left)
            if writable:
                self.results.flush()
            if readable:
                return True
            if not writable:
                return False

    def _take(self, message: Any) -> None:
        if isinstance(message, Capture):
            self._archive(message)
        elif message[0] == DRAIN:
            self.results.send((DRAINED,))
        elif message[0] == CLOSE:
            self.closing = message[1]

    def _receive(self) -> Any:
        self._poll(None)  # the crawl process may be waiting for what is still in the outbox
        try:
            return self.items.recv()
        except (EOFError, OSError):
            # The crawl process died: commit nothing more, as if this one died too.
            os._exit(3)

    def _wait(self) -> float:
        """Until the next report: time-based checkpoints and counts need no capture to come."""
        return max(0.0, REPORT_SECONDS - (time.monotonic() - self.last_report))

    def _archive(self, item: Capture) -> None:
        stats = self.archivist.stats
        try:
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
                # A bug on one capture must not lose the rest: Scrapy treats a failing
                # pipeline the same way. The writer has cut any partial record off again.
                logger.exception("%s: not archived", item.exchange.url)
                stats["archiver/archive_errors"] += 1
                return
        finally:
            if item.links_base is not None:  # the crawl waits for every page's links
                self._send_links(item)
        self._checkpoint_if_due()

    def _send_links(self, item: Capture) -> None:
        links = [(link.url, link.kind.value) for link in item.links]
        self.results.send((LINKS, item.links_base, item.depth, links))
        self.unsynced += 1

    def _checkpoint_if_due(self) -> None:
        if self.failed or not self.archivist.checkpoint_due or not self._links_committed():
            return
        try:
            self.archivist.checkpoint()
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)

    def _links_committed(self) -> bool:
        """Whether the crawl process has committed every link sent so far: asked (SYNC) if
        any were sent since it last said so. Captures that come meanwhile wait their turn."""
        if self.unsynced == 0:
            return True
        if self.closing is None:
            self.results.send((SYNC,))
            while self.closing is None:
                message = self._receive()
                if isinstance(message, Capture) or message[0] == DRAIN:
                    self.backlog.append(message)
                elif message[0] == SYNCED:
                    self.unsynced = 0
                    return True
                elif message[0] == CLOSE:
                    self.closing = message[1]
        # CLOSE answers for every link sent: the crawl process sends it last.
        if self.closing:
            self.unsynced = 0
        return bool(self.closing)

    def _fail(self, exc: OSError | sqlite3.Error) -> None:
        self.failed = True
        self.results.send((FAILED, write_error_reason(exc), str(exc)))

    def _report(self) -> None:
        stats = self.archivist.stats
        added = stats - self.reported
        self.reported = stats.copy()
        writer = self.archivist.journal.writer
        values = {
            "archiver/warc_bytes": writer.bytes_written,
            "archiver/warc_current": writer.open_name,
        }
        self.results.send((STATS, dict(added), values))
        self.last_report = time.monotonic()

    def _close(self) -> None:
        failure: str | None = None
        try:
            if self.closing:
                self.archivist.close()
            else:
                # The crawl process could not commit some page's links: no capture may be
                # committed without them, so nothing more is; resume fetches them again.
                self.archivist.abandon()
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
