"""One run at a time per collection: an flock on ``DIR/.archiver.lock``, held for the run.

The kernel holds the lock, not the file: it is dropped when the holder's file is closed, which
includes the holder dying (even by SIGKILL). So a lock file that names a holder but is not
locked was left by a run that died; the next run reports it and takes over. The file itself is
never deleted: unlinking a lock file lets a waiter lock the old inode while a newcomer locks a
new one, and both would think they hold the collection.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.model.errors import ArchiverError, CollectionError

LOCK_NAME = ".archiver.lock"
_MAX_INFO = 64 * 1024  # far more than a holder record takes; bounds what a stray file costs


class CollectionBusy(ArchiverError):
    """Another run holds the collection."""


class CollectionLock:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.stale: dict[str, Any] | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, run_id: str) -> None:
        """Take the lock for *run_id* or raise CollectionBusy at once; never waits."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this CollectionLock")
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_info(fd)
            os.close(fd)
            raise CollectionBusy(self._busy_message(holder)) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            # Only now, with the lock held, may the file be read as stale and then rewritten.
            self.stale = _read_info(fd)
            _write_info(fd, _holder(run_id))
        except BaseException:
            os.close(fd)  # closing drops the lock too
            raise
        self._fd = fd

    def fileno(self) -> int:
        """The locked descriptor. A helper process that holds a copy of it keeps the
        collection locked while it lives, even if this process dies first."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not held by this CollectionLock")
        return self._fd

    def relabel(self, run_id: str) -> None:
        """Name the run holding the lock, once it is known (a resumed run takes the old id)."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not held by this CollectionLock")
        _write_info(self._fd, _holder(run_id))

    def release(self) -> None:
        """Give the lock up, leaving the file empty so no one mistakes it for a dead run's."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # while still locked, so it cannot erase a successor's record
        finally:
            os.close(fd)

    def _open(self) -> int:
        try:
            # No O_TRUNC: the holder's record must survive a failed attempt to take its lock.
            # Python opens file descriptors non-inheritable, so child processes never keep the
            # lock alive after its holder died.
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CollectionError(
                f"cannot open the lock file {self.path}: {exc.strerror}; "
                "check that the collection folder exists and is writable"
            ) from exc

    def _busy_message(self, holder: dict[str, Any] | None) -> str:
        if holder and "run_id" in holder:
            who = (
                f"run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')}, "
                f"since {holder.get('started')})"
            )
        else:
            # The holder has the lock but has not written its record yet, or wrote garbage.
            who = "another run (not yet identified)"
        return (
            f"the collection {self.root} is busy: {who} is using it; wait for that run to "
            f"finish or stop it, then try again (the lock is {self.path})"
        )


def _holder(run_id: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _read_info(fd: int) -> dict[str, Any] | None:
    """The holder record in the lock file; None if empty, a marker dict if unreadable."""
    raw = os.pread(fd, _MAX_INFO, 0)
    if not raw.strip():
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        info = None
    if isinstance(info, dict):
        return info
    # Something is there but not a record: still a sign of a past holder, so keep a trace.
    return {"unreadable": raw[:200].decode("utf-8", "replace")}


def _write_info(fd: int, info: dict[str, Any]) -> None:
    data = (json.dumps(info) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    # Survives a machine crash, so the record of who held the lock is there to report.
    os.fsync(fd)


@dataclass(frozen=True, slots=True)
class LockState:
    """The lock as an onlooker sees it (``archiver status``), read without taking it."""

    held: bool  # a run holds the collection now
    # The record in the file: the holder's, or, when not held, that of a run that died holding it.
    holder: dict[str, Any] | None


def read_lock(root: Path) -> LockState:
    """Whether a run holds the collection at ``root``, and who holds or last held it."""
    try:
        fd = os.open(Path(root) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return LockState(False, None)  # no run ever started here (or an older collection)
    try:
        if _read_info(fd) is None:
            return LockState(False, None)  # released: release() leaves the file empty
        # Probed only when a record is there, so only right after a run died can this shared
        # lock, held for microseconds, make a run starting at that instant report "busy".
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return LockState(True, _read_info(fd))
        # Read again under the lock: a run that ended between the two reads emptied the file.
        return LockState(False, _read_info(fd))
    finally:
        os.close(fd)  # drops the probe's lock too
