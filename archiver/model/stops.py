"""Why a run ended: the run summary's ``finish_reason``, the crawl's stop reason."""

from __future__ import annotations

from enum import StrEnum


class StopReason(StrEnum):
    FINISHED = "finished"  # Scrapy's: nothing left to fetch; the only complete end
    SHUTDOWN = "shutdown"  # Scrapy's: SIGINT or SIGTERM
    CANCELLED = "cancelled"  # Scrapy's: the engine was stopped from outside
    DISK_FULL = "disk_full"  # a write failed for want of space (or quota)
    DISK_LOW = "disk_low"  # free space fell below --min-free-space: stopped before it was full
    WRITE_ERROR = "write_error"  # a write failed otherwise
    WORKER_DIED = "worker_died"  # the archive worker process ended unexpectedly
    # Limits the operator set for one process of a run (--max-duration, --max-bytes): a
    # planned end, not a fault; the next run of the same command carries on where it stopped.
    MAX_DURATION = "max_duration"
    MAX_BYTES = "max_bytes"

    @classmethod
    def _missing_(cls, value: object) -> StopReason | None:
        # Scrapy's CloseSpider and other extensions end a crawl with reasons of their own
        # ("closespider_timeout"...), and a summary written by another version may name one
        # this one does not know: it is kept as said, not refused.
        if not isinstance(value, str) or not value:
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    @property
    def resumable(self) -> bool:
        """Every end but a finished run leaves a frontier that the next run resumes."""
        return self is not StopReason.FINISHED

    @property
    def by_limit(self) -> bool:
        """A limit the operator set ended the run as planned: not an error (exit status 0)."""
        return self in (StopReason.MAX_DURATION, StopReason.MAX_BYTES)
