"""Run ``archiver`` and SIGKILL it from inside, at one exact point: ``rotation:N`` dies when
the Nth full WARC file is about to be closed (after its checkpoint, before its rename).

    python -m tests.crashpoint rotation:3 crawl URL --output DIR ...

An outside ``kill -9`` cannot hit a moment that short; this is the same signal, sent by the
process to itself, so nothing is cleaned up, flushed or closed.
"""

from __future__ import annotations

import os
import signal
import sys

from archiver.cli import main
from archiver.warc import WarcFileWriter


def kill_at_rotation(n: int) -> None:
    close = WarcFileWriter.close
    rotations = 0

    def close_or_die(self: WarcFileWriter) -> None:
        nonlocal rotations
        if self.full:  # a rotation; the last close of a run is not one
            rotations += 1
            if rotations == n:
                os.kill(os.getpid(), signal.SIGKILL)
        close(self)

    WarcFileWriter.close = close_or_die  # type: ignore[method-assign]


if __name__ == "__main__":
    point, *args = sys.argv[1:]
    where, _, count = point.partition(":")
    if where != "rotation":
        sys.exit(f"unknown crash point {point!r}")
    kill_at_rotation(int(count))
    sys.exit(main(args))
