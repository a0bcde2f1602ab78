"""When a capture is committed: the order in which its record, lines and rows reach the disk.

A capture's records go to the open WARC file at once (a write that fails midway is cut off
again by the writer), so they survive a crash of the process; the capture is committed at the
next checkpoint, which does, in this order:

1. fsync the WARC file: every record written so far is durable;
2. append the manifest lines of those captures, and fsync them;
3. fsync the frontier: the links of every page captured so far are durable;
4. commit the dedup index's rows together with a commit mark, (WARC file, offset): this one
   transaction is the commit point;
5. append the CDXJ lines.

After a crash, repair cuts each open WARC file back to its commit mark, drops the manifest
lines that point past it (written in 2, never committed in 4) and makes the CDXJ lines a
crash between 4 and 5 lost; the resumed run fetches again what was cut. So manifest and index
lines are written only for durable records, and a committed record always has its lines.

Checkpoints come every ``every_captures`` captures, every ``every_seconds``, when the lines
held back pass ``max_pending_bytes``, before a WARC file is closed (rotation), and at the end.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from archiver.collection.cdxj import CdxjIndex, CdxjLine
from archiver.collection.manifest import ManifestLine, ManifestWriter
from archiver.collection.warc import Revisit, WarcFileWriter, WrittenExchange
from archiver.model import defaults
from archiver.model.dedup import CommitMark, DedupIndex
from archiver.model.exchange import Exchange

logger = logging.getLogger(__name__)


class Durable(Protocol):
    """The frontier, for step 3: what makes every commit so far survive a power loss."""

    def sync(self) -> None: ...


class Journal:
    def __init__(
        self,
        *,
        run_id: str,
        writer: WarcFileWriter,
        cdxj: CdxjIndex,
        manifest: ManifestWriter,
        index: DedupIndex,
        frontier: Durable,
        every_captures: int = defaults.CHECKPOINT_CAPTURES,
        every_seconds: float = defaults.CHECKPOINT_SECONDS,
        max_pending_bytes: int = defaults.CHECKPOINT_PENDING_BYTES,
    ) -> None:
        self.run_id = run_id
        self.writer = writer
        self.cdxj = cdxj
        self.manifest = manifest
        self.index = index
        self.frontier = frontier
        self.every_captures = every_captures
        self.every_seconds = every_seconds
        self.max_pending_bytes = max_pending_bytes
        self._index_lines: list[str] = []
        self._manifest_lines: list[str] = []
        self._pending_bytes = 0
        self._captures = 0  # written since the last checkpoint
        self._last = time.monotonic()
        self.checkpoints = 0

    def write(
        self, exchange: Exchange, *, revisit: Revisit | None, not_modified_raw: bool = False
    ) -> WrittenExchange:
        """Write a capture's records (WarcFileWriter.write_exchange); it is committed at the
        next checkpoint."""
        if self.writer.full:
            self.checkpoint()
            self.writer.close()
        if not self.writer.is_open:
            self.writer.open()
            # A mark for the new file at once: without one, repair could not tell a file
            # with nothing committed from one written before marks existed.
            self.index.commit(self._mark())
        written = self.writer.write_exchange(
            exchange, revisit=revisit, not_modified_raw=not_modified_raw
        )
        self._captures += 1
        return written

    def add_index_line(self, entry: CdxjLine) -> None:
        line = entry.format()
        self._index_lines.append(line)
        self._pending_bytes += len(line)

    def add_manifest_line(self, entry: ManifestLine) -> None:
        line = entry.format()
        self._manifest_lines.append(line)
        self._pending_bytes += len(line)

    @property
    def due(self) -> bool:
        if not self._captures:
            return False
        return (
            self._captures >= self.every_captures
            or self._pending_bytes >= self.max_pending_bytes
            or time.monotonic() - self._last >= self.every_seconds
        )

    def checkpoint(self) -> None:
        """Commit every capture written so far (steps 1 to 5 above)."""
        mark = self._mark() if self.writer.is_open else None
        if self._manifest_lines:
            self.manifest.add_lines(self._manifest_lines)
            self.manifest.sync()
        self.frontier.sync()
        self.index.commit(mark)
        self.cdxj.add_lines(self._index_lines)
        self._index_lines.clear()
        self._manifest_lines.clear()
        self._pending_bytes = 0
        self._captures = 0
        self._last = time.monotonic()
        self.checkpoints += 1

    def _mark(self) -> CommitMark:
        """fsync the open WARC file: everything written to it so far is durable."""
        name = self.writer.open_name
        assert name is not None
        return CommitMark(self.run_id, name, self.writer.sync())

    def close(self) -> None:
        """The last checkpoint, then every file finished: WARC renamed, index sorted.

        If the checkpoint fails (a full disk), the WARC file keeps its .open name: what it
        holds past its mark is not committed, and the next run's repair cuts it.
        """
        try:
            self.checkpoint()
        except BaseException:
            self.abandon()
            raise
        self.writer.close()
        try:
            self.cdxj.close()
        except OSError as exc:  # a full disk: the unsorted .open index is repaired next run
            logger.warning("the index was left unsorted (%s); the next run repairs it", exc)
        self._close_manifest()

    def abandon(self) -> None:
        """Every file closed as it is, nothing more committed: the WARC file keeps its .open
        name, and the next run's repair cuts it back to its last mark."""
        self.writer.abandon()
        self.cdxj.abandon()
        self._close_manifest()

    def _close_manifest(self) -> None:
        try:
            self.manifest.close()
        except OSError as exc:
            logger.warning("the manifest could not be closed (%s)", exc)
