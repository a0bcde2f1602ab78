"""The layout of a collection folder: one place that knows where every file goes, how a run is
named, and how a file being written is told from a finished one."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from archiver.model.errors import CollectionError

# A WARC file or a run's index is written under this suffix and renamed away once complete,
# so a name without it always means a whole file; a name with it, one being written or one
# a dead run left for repair.
OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
INDEX_SUFFIX = ".cdxj"
SUMMARY_SUFFIX = ".json"

# 14 digits, UTC: how a time is written in CDXJ and manifest lines, and how a run id begins.
TIMESTAMP = "%Y%m%d%H%M%S"
# What a run id may be (ARCHIVER_RUN_ID can name one): it becomes a file name in indexes/,
# logs/ and runs/, so no path separator and no leading dot.
RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def open_path(path: Path) -> Path:
    """Where the file that becomes *path* is written until it is complete."""
    return path.with_name(path.name + OPEN_SUFFIX)


def timestamp_time(timestamp: str) -> datetime:
    """The UTC time of a 14-digit timestamp (its first 14 characters); ValueError if none."""
    return datetime.strptime(timestamp[:14], TIMESTAMP).replace(tzinfo=UTC)


def run_id_time(run_id: str) -> datetime | None:
    """When a run started, as its id says (ids begin with the start time in UTC); None for an
    id that does not begin with one (one given by ARCHIVER_RUN_ID)."""
    try:
        return timestamp_time(run_id)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Collection:
    """``DIR/warcs``, ``DIR/indexes``, ``DIR/logs``, ``DIR/runs`` and ``DIR/manifest.jsonl``."""

    root: Path

    @property
    def warcs(self) -> Path:
        return self.root / "warcs"

    @property
    def indexes(self) -> Path:
        return self.root / "indexes"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.jsonl"

    @property
    def spool(self) -> Path:
        """Bodies too large to hold in memory, from the download to the WARC: each file is
        removed once its record is written; what a dead run left is removed at the next start."""
        return self.root / "spool"

    def clear_spool(self) -> int:
        """Remove every spooled body (no run is using them); how many there were."""
        removed = 0
        for path in _glob(self.spool, "*"):
            path.unlink(missing_ok=True)
            removed += 1
        with contextlib.suppress(FileNotFoundError):
            self.spool.rmdir()  # made by each run that needs it; a finished run leaves none
        return removed

    def index_for(self, run_id: str) -> Path:
        return self.indexes / f"{run_id}{INDEX_SUFFIX}"

    def open_index_for(self, run_id: str) -> Path:
        return open_path(self.index_for(run_id))

    def log_for(self, run_id: str) -> Path:
        return self.logs / f"{run_id}.log"

    def summary_for(self, run_id: str) -> Path:
        return self.runs / f"{run_id}{SUMMARY_SUFFIX}"

    def report_for(self, run_id: str) -> Path:
        # In a folder of its own, beside the summary: later runs may add files to it.
        return self.runs / run_id / "report.html"

    # -- what is there -------------------------------------------------------------------

    def warc_files(self) -> list[Path]:
        """The finished WARC files, by name."""
        return _glob(self.warcs, f"*{WARC_SUFFIX}")

    def open_warc_files(self) -> list[Path]:
        """The WARC files being written, or left ``.open`` by a run that died."""
        return _glob(self.warcs, f"*{WARC_SUFFIX}{OPEN_SUFFIX}")

    def index_files(self) -> list[Path]:
        """The sealed (sorted) run indexes, by name."""
        return _glob(self.indexes, f"*{INDEX_SUFFIX}")

    def open_index_files(self) -> list[Path]:
        """The run indexes still being appended to, or left ``.open`` by a run that died."""
        return _glob(self.indexes, f"*{INDEX_SUFFIX}{OPEN_SUFFIX}")

    def open_index_runs(self) -> list[str]:
        """The run ids of ``open_index_files``."""
        return [p.name.removesuffix(INDEX_SUFFIX + OPEN_SUFFIX) for p in self.open_index_files()]

    def summary_files(self) -> list[Path]:
        """``runs/<run-id>.json`` of every run that wrote a summary, in run id order."""
        return sorted(_glob(self.runs, f"*{SUMMARY_SUFFIX}"), key=lambda p: p.stem)

    # -- naming a run --------------------------------------------------------------------

    def new_run_id(self, started: datetime) -> str:
        """A run id no run of this collection has: its start time (*started*, in UTC) in 14
        digits, then ``-2``, ``-3``... should another run have started in the same second."""
        base = started.strftime(TIMESTAMP)
        run_id, serial = base, 1
        # Two runs started in one second would share files; the second gets a suffix.
        while self.summary_for(run_id).exists() or self.index_for(run_id).exists():
            serial += 1
            run_id = f"{base}-{serial}"
        return run_id

    def is_collection(self) -> bool:
        """What a crawl leaves: a folder that has none of these is not a collection."""
        return self.warcs.is_dir() or self.runs.is_dir() or self.manifest.is_file()

    def create(self) -> None:
        try:
            for folder in (self.warcs, self.indexes, self.logs, self.runs):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CollectionError(
                f"cannot create the collection folder {self.root}: {exc.strerror}; "
                "choose a writable --output"
            ) from exc


def _glob(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


_BLOCK = 1 << 20


def count_lines(path: Path) -> int:
    """Newline-terminated lines of a line-per-entry file (an index, the manifest), read in 1 MB
    blocks: a cut last line (a crash) is not counted."""
    lines = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            lines += block.count(b"\n")
    return lines
