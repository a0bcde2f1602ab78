"""Run ``archiver`` and SIGKILL it from inside, at one exact point: ``rotation:N`` dies when
the Nth full WARC file is about to be closed (after its checkpoint, before its rename).

    python -m tests.crashpoint rotation:3 crawl URL --output DIR ...

An outside ``kill -9`` cannot hit a moment that short; this is the same signal, sent from
inside, so nothing is cleaned up, flushed or closed. The WARC writer lives in the archive
worker (archiver/archive/process.py), which this module starts as itself (``--worker``, by
ArchiveWorker.command): it installs the crash point there, and the worker kills the crawl
process and then itself.
"""

from __future__ import annotations

import os
import signal
import sys

from archiver.archive import process
from archiver.archive.worker import ArchiveWorker
from archiver.cli.main import main
from archiver.collection.warc import WarcFileWriter

ENV = "ARCHIVER_TEST_CRASHPOINT"


def kill_at_rotation(n: int) -> None:
    close = WarcFileWriter.close
    rotations = 0

    def close_or_die(self: WarcFileWriter) -> None:
        nonlocal rotations
        if self.full:  # a rotation; the last close of a run is not one
            rotations += 1
            if rotations == n:
                os.kill(os.getppid(), signal.SIGKILL)  # the crawl process
                os.kill(os.getpid(), signal.SIGKILL)
        close(self)

    WarcFileWriter.close = close_or_die  # type: ignore[method-assign]


def install(point: str) -> None:
    where, _, count = point.partition(":")
    if where != "rotation":
        sys.exit(f"unknown crash point {point!r}")
    kill_at_rotation(int(count))


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:  # the archive worker
    install(os.environ[ENV])
    process.main(sys.argv[2:])
elif __name__ == "__main__":
    point, *args = sys.argv[1:]
    os.environ[ENV] = point  # for the archive worker
    ArchiveWorker.command = (sys.executable, "-m", "tests.crashpoint", "--worker")
    sys.exit(main(args))
