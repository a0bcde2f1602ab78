"""Run ``archiver`` and SIGKILL it from inside, at one exact point: ``rotation:N`` dies when
the Nth full WARC file is about to be closed (after its checkpoint, before its rename).

    python -m tests.crashpoint rotation:3 crawl URL --output DIR ...

An outside ``kill -9`` cannot hit a moment that short; this is the same signal, sent from
inside, so nothing is cleaned up, flushed or closed. The WARC writer lives in the archive
worker (archiver/worker.py), which is spawned with this module as its main module: the crash
point travels to it in the environment, and it kills the crawl process and then itself.
"""

from __future__ import annotations

import os
import signal
import sys

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


if __name__ == "__main__":
    point, *args = sys.argv[1:]
    os.environ[ENV] = point  # for the archive worker, which imports this module on its own
    sys.exit(main(args))
elif os.environ.get(ENV) and __name__ == "__mp_main__":  # the archive worker
    install(os.environ[ENV])
