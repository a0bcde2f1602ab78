"""The layout of a collection folder: one place that knows where every file goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archiver.model.errors import CollectionError


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

    def index_for(self, run_id: str) -> Path:
        return self.indexes / f"{run_id}.cdxj"

    def log_for(self, run_id: str) -> Path:
        return self.logs / f"{run_id}.log"

    def summary_for(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.json"

    def report_for(self, run_id: str) -> Path:
        # In a folder of its own, beside the summary: later runs may add files to it.
        return self.runs / run_id / "report.html"

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


_BLOCK = 1 << 20


def count_lines(path: Path) -> int:
    """Newline-terminated lines of a line-per-entry file (an index, the manifest), read in 1 MB
    blocks: a cut last line (a crash) is not counted."""
    lines = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            lines += block.count(b"\n")
    return lines
