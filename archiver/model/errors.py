"""The errors archiver raises on purpose, each with a message that says what to do."""

from __future__ import annotations

import errno
import sqlite3

from archiver.model.stops import StopReason


class ArchiverError(Exception):
    """Base class: the message is meant for the operator, one line."""


class ConfigError(ArchiverError):
    """A setting, option or config file is wrong; nothing was written."""


class CollectionError(ArchiverError):
    """The output folder cannot be used as a collection."""


class CollectionUnwritable(ArchiverError):
    """The collection's files cannot be written now (a full disk); the same command works later."""


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def write_error_reason(exc: OSError | sqlite3.Error) -> StopReason:
    """The run's stop reason for a failed write: DISK_FULL, or WRITE_ERROR for anything else."""
    full = isinstance(exc, OSError) and exc.errno in _DISK_FULL
    full = full or "full" in str(exc)  # sqlite3 says "database or disk is full"
    return StopReason.DISK_FULL if full else StopReason.WRITE_ERROR
