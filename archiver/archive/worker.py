"""The crawl process's handle on the archive worker: starts the process, feeds it captures, and
collects what it says (archiver.archive.protocol describes the conversation).

One Scrapy process saturates one core with fetching alone; reading pages (their text and their
links, in one parse), hashing, gzip and the writes of the WARC, manifest, index and dedup rows
run in the worker instead, on the other core (archiver.archive.process).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from archiver.archive.channel import Inbox
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

# Captures are sent from the crawl's own thread: a sender thread was slower (make bench), as
# the two threads contend for the GIL. A pipe this large (Linux's default limit for one that is
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

    # The worker's command line: a main module of its own, so that it imports nothing of the
    # crawl process's (multiprocessing's spawn would run the parent's main script again in the
    # child: `archiver`'s argparse, `scrapy`'s Scrapy and Twisted). Tests may point it at a
    # module that installs a fault first (tests/crashpoint.py).
    command: tuple[str, ...] = (sys.executable, "-m", "archiver.archive")

    def __init__(self, *, lock_fd: int) -> None:
        items_in, items_out = os.pipe()  # captures, framed by multiprocessing's Connection
        results_in, results_out = os.pipe()  # framed by channel.py: see there why
        for fd in (items_out, results_out):
            with contextlib.suppress(OSError):  # fewer stalls when one side is briefly busy
                fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
        # A new interpreter, not a fork: the crawl process has SQLite connections and
        # threads open, which a forked child must not use. It inherits only its two pipe
        # ends and a copy of the collection lock's descriptor, which keeps the lock held
        # while it lives.
        inherited = (items_in, results_out, lock_fd)
        self.process = WorkerProcess(
            subprocess.Popen(
                [*self.command, *map(str, inherited), str(os.getpid())],
                pass_fds=inherited,
                stdin=subprocess.DEVNULL,
            )
        )
        os.close(items_in)
        os.close(results_out)
        self._items = Connection(items_out, readable=False)
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


class WorkerProcess:
    """The worker's process, as the crawl process waits for it and reports how it ended."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def exitcode(self) -> int | None:
        """None while it runs; negative: the signal that ended it."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self) -> None:
        self._popen.wait()

    def kill(self) -> None:
        self._popen.kill()
