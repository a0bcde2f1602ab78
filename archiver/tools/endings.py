"""Why a run ended, in the words an archivist reads: one sentence per StopReason.

The crawl command's closing lines, ``archiver status`` and the run report all say it with
these, so a stop reads the same wherever it is seen. The run summary keeps the reason's
token (``finish_reason``); this is only how it is told.
"""

from __future__ import annotations

from archiver.model.stops import StopReason
from archiver.tools.charts import human_bytes

# Said of a run that can be resumed, where no exact command is at hand (the run report);
# `archiver status` prints the command itself.
RESUME_HINT = "resume it with the same archiver crawl command (archiver status prints it)"


def human_duration(seconds: float) -> str:
    """A span as a person reads it: 45 s, 30 min, 6 h, 6 h 30 min, 1 d 2 h."""
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ending(
    reason: StopReason | None,
    *,
    elapsed_seconds: float | None = None,
    warc_bytes: int | None = None,
) -> str:
    """Why the run ended, as one clause: "stopped after 30 min (--max-duration)".

    ``elapsed_seconds`` and ``warc_bytes`` are the summary's (this process's, for a resumed
    run: the limits count the same way).
    """
    if reason is None:
        return "how it ended was not recorded"
    took = f" after {human_duration(elapsed_seconds)}" if elapsed_seconds is not None else ""
    if reason is StopReason.MAX_DURATION:
        return f"stopped{took} at its time limit (--max-duration)"
    if reason is StopReason.MAX_BYTES:
        written = f" after writing {human_bytes(warc_bytes)}" if warc_bytes is not None else ""
        return f"stopped{written} of WARC at its size limit (--max-bytes)"
    if reason is StopReason.SHUTDOWN:
        return f"interrupted{took} (Ctrl-C, SIGINT or SIGTERM)"
    if reason is StopReason.CANCELLED:
        return f"cancelled{took}: the crawl was stopped from outside"
    # Another version's reason, or a Scrapy extension's ("closespider_timeout"): as said.
    return _SAID.get(reason, f"stopped{took}: {reason}")


_SAID = {
    StopReason.FINISHED: "finished: nothing left to fetch",
    StopReason.DISK_FULL: "stopped: disk full; free some space before resuming",
    StopReason.DISK_LOW: (
        "stopped: the disk was nearly full (below --min-free-space); "
        "free some space before resuming"
    ),
    StopReason.WRITE_ERROR: "stopped: the collection could not be written (see the log)",
    StopReason.WORKER_DIED: "stopped: the archive worker process died (see the log)",
}


def ending_sentence(
    reason: StopReason | None,
    *,
    elapsed_seconds: float | None = None,
    warc_bytes: int | None = None,
    resume: str = RESUME_HINT,
) -> str:
    """The ending, and for a run that can go on, how: "...; resume it with ..."."""
    said = ending(reason, elapsed_seconds=elapsed_seconds, warc_bytes=warc_bytes)
    if reason is None or not reason.resumable:
        return said
    return f"{said}; {resume}"
