"""The crawl process's handle on the archive worker: starts the process, feeds it captures, and
collects what it says (archiver.archive.protocol describes the conversation).

One Scrapy process saturates one core with fetching alone; reading pages (their text and their
links, in one parse), hashing, gzip and the writes of the WARC, manifest, index and dedup rows
run in the worker instead, on the other core (archiver.archive.process).
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.reduction import DupFd
from pathlib import Path
from typing import Any

from archiver.archive.channel import Inbox
from archiver.archive.process import serve
from archiver.archive.protocol import (
    ArchiveConfig,
    Capture,
    Close,
    Closed,
    Died,
    Drain,
    FromWorker,
    Open,
    Ready,
    Synced,
    ToWorker,
)

# Captures are sent from the crawl's own thread: a sender thread measured 6% slower, as the
# two threads contend for the GIL. A pipe this large (Linux's default limit for one that is
# not privileged) holds about 40 pages, so the crawl waits only while the worker is that far
# behind, e.g. in a checkpoint's fsync; that wait is also what bounds the memory.
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031


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
        self._early: list[FromWorker] = []  # what came with READY, or instead of it
        self._opened = False  # the run was sent: the worker reports until it ends
        self._ready = False
        self._closed = False  # CLOSED came, or DIED was made: nothing more to report
        self._broken = False  # the worker is gone: nothing more is sent

    def open(self, config: ArchiveConfig, frontier_path: Path) -> None:
        """Hand the worker its run and wait until the archive is open: if it cannot be,
        nothing is fetched for nothing, and what the crawl commits is checkpointed from the
        start."""
        self._opened = True
        self._send(Open(config, frontier_path))
        self._early = self._results.receive(wait=True)
        if self._early and isinstance(self._early[0], Ready):
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
        """Answer Sync: every link the worker sent before it is committed."""
        self._send(Synced())

    def drain(self) -> None:
        """Ask for Drained, which comes after the links of every capture sent so far."""
        self._send(Drain())

    def receive(self, *, wait: bool = False) -> list[FromWorker]:
        """What the worker said since the last call, in order; with ``wait``, at least one
        message unless it has ended. Its end without Closed is reported as Died."""
        taken, self._early = self._early, []
        taken += self._results.receive(wait=wait and not taken)
        if any(isinstance(message, Closed) for message in taken):
            self._closed = True
        if self._results.ended and not self._closed and self._opened:
            self._closed = True  # reported once
            self.process.join()
            taken.append(Died(self.process.exitcode))
        return taken

    def finish(
        self,
        handle: Callable[[list[FromWorker]], None],
        *,
        links_committed: bool = True,
    ) -> None:
        """Send the end: the worker finishes its files, says Closed and exits. What it says
        until then goes to ``handle``, Died included if it never said Closed.
        ``links_committed``: every Links received was committed to the frontier; if not,
        the worker commits nothing more."""
        self._send(Close(links_committed))
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

    def _send(self, message: ToWorker) -> None:
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
