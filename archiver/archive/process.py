"""The archive worker process: archives every capture the crawl process sends, until it is
told the crawl is over (archiver.archive.protocol describes the conversation).

It never imports Scrapy, Twisted or argparse: what it needs of a capture comes in the
protocol's dataclasses, and what it does with each is archiver.archive.archivist's.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import sqlite3
import sys
import time
from collections import Counter, deque
from multiprocessing.connection import Connection

from archiver.archive.archivist import Archivist
from archiver.archive.channel import Outbox
from archiver.archive.protocol import (
    Capture,
    Close,
    Closed,
    Drain,
    Drained,
    Failed,
    Links,
    Log,
    Open,
    Ready,
    Stats,
    Sync,
    Synced,
    ToWorker,
)
from archiver.model.errors import write_error_reason
from archiver.model.stops import StopReason

REPORT_SECONDS = 1.0  # how often the worker sends its counts, for live progress
_PR_SET_PDEATHSIG = 1

logger = logging.getLogger(__name__)


class _Forward(logging.Handler):
    """The worker's log records go to the crawl process, which logs them as its own."""

    def __init__(self, results: Outbox) -> None:
        super().__init__(logging.INFO)
        self.results = results

    def emit(self, record: logging.LogRecord) -> None:
        self.results.send(Log(record.levelno, record.name, self.format(record)))


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
    if not isinstance(run, Open):  # Close: the crawl ended without opening the archive
        return
    try:
        archivist = Archivist.open(run.config, run.frontier_path)
    except (OSError, sqlite3.Error) as exc:
        results.send(Failed(write_error_reason(exc), f"cannot open the archive: {exc}"))
        results.send(Closed(write_error_reason(exc)))
    else:
        results.send(Ready())
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
        self.backlog: deque[ToWorker] = deque()  # came while a Sync was being answered
        self.unsynced = 0  # Links sent since the crawl last confirmed them
        self.closing: bool | None = None  # Close came: whether every link was committed

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

    def _take(self, message: ToWorker) -> None:
        match message:
            case Capture():
                self._archive(message)
            case Drain():
                self.results.send(Drained())
            case Close(links_committed):
                self.closing = links_committed
            case _:  # Open twice, or Synced unasked: a bug of the crawl process's
                logger.error("unexpected message from the crawl process: %r", message)

    def _receive(self) -> ToWorker:
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
            # Archived or not, no one reads the body again: its spool file goes (the
            # archivist removes it too, but a capture may never reach the archivist).
            item.exchange.response_body.discard()
            if item.links_base is not None:  # the crawl waits for every page's links
                self._send_links(item)
        self._checkpoint_if_due()

    def _send_links(self, item: Capture) -> None:
        assert item.links_base is not None
        links = [(link.url, link.kind) for link in item.links]
        self.results.send(Links(item.links_base, item.depth, links))
        self.unsynced += 1

    def _checkpoint_if_due(self) -> None:
        if self.failed or not self.archivist.checkpoint_due or not self._links_committed():
            return
        try:
            self.archivist.checkpoint()
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc)

    def _links_committed(self) -> bool:
        """Whether the crawl process has committed every link sent so far: asked (Sync) if
        any were sent since it last said so. Captures that come meanwhile wait their turn."""
        if self.unsynced == 0:
            return True
        if self.closing is None:
            self.results.send(Sync())
            while self.closing is None:
                message = self._receive()
                match message:
                    case Synced():
                        self.unsynced = 0
                        return True
                    case Close(links_committed):
                        self.closing = links_committed
                    case _:
                        self.backlog.append(message)
        # Close answers for every link sent: the crawl process sends it last.
        if self.closing:
            self.unsynced = 0
        return bool(self.closing)

    def _fail(self, exc: OSError | sqlite3.Error) -> None:
        self.failed = True
        self.results.send(Failed(write_error_reason(exc), str(exc)))

    def _report(self) -> None:
        stats = self.archivist.stats
        added = stats - self.reported
        self.reported = stats.copy()
        writer = self.archivist.journal.writer
        values = {
            "archiver/warc_bytes": writer.bytes_written,
            "archiver/warc_current": writer.open_name,
        }
        self.results.send(Stats(dict(added), values))
        self.last_report = time.monotonic()

    def _close(self) -> None:
        failure: StopReason | None = None
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
        self.results.send(Stats({}, self.archivist.totals()))
        self.results.send(Closed(failure))


def _die_with(parent: int) -> None:
    """Be killed when the crawl process dies, however it dies (Linux; elsewhere the end of
    the pipe tells, at the next capture)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(3)


def main(argv: list[str]) -> None:
    """``python -m archiver.archive ITEMS RESULTS LOCK PARENT``: the descriptors it inherited
    from the crawl process (archiver.archive.worker), and that process's id."""
    items_fd, results_fd, lock_fd, parent = (int(value) for value in argv)
    serve(Connection(items_fd, writable=False), results_fd, lock_fd, parent)
