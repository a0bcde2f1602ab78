"""A collection's runs, as their summaries in ``runs/`` tell them: the one listing every reader
uses, in run id order (ids begin with the start time in UTC) unless a reader asks for start
order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archiver.collection.layout import Collection
from archiver.collection.summary import NotASummary, RunSummary, SummaryError
from archiver.model.errors import CollectionError


@dataclass(frozen=True, slots=True)
class SummaryFile:
    """``runs/<run-id>.json``: a run that wrote a summary (it ended, or stopped)."""

    run_id: str  # from the file's name
    path: Path

    def read(self) -> RunSummary:
        """The summary; SummaryError if the file cannot be read or is not a summary."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SummaryError(str(exc)) from exc
        return RunSummary.parse(data)


def summary_files(collection: Collection) -> list[SummaryFile]:
    """Every run summary of the collection, in run id order."""
    return [SummaryFile(path.stem, path) for path in collection.summary_files()]


def read_summary(collection: Collection, run_id: str) -> RunSummary:
    """The summary of run *run_id*; SummaryError if it has none or it is unreadable."""
    return SummaryFile(run_id, collection.summary_for(run_id)).read()


def latest_summary(collection: Collection) -> RunSummary | None:
    """The summary of the collection's last run (by id); None if no run wrote one."""
    found = summary_files(collection)
    return found[-1].read() if found else None


def previous_run(collection: Collection, before: str | None = None) -> str | None:
    """The last run by id that wrote a summary: the run before a new one.

    ``before``: a resumed run may have a summary of its own (a clean stop); it is not its own
    previous run.
    """
    ids = [found.run_id for found in summary_files(collection) if found.run_id != before]
    return ids[-1] if ids else None


def list_runs(collection: Collection) -> list[str]:
    """The ids of the runs that wrote a summary, oldest first by the start time each summary
    records (JSON in runs/ that is not an object naming a run and its start is no summary,
    and is left out).

    A run that is still going, or died before its end, has no summary yet and is not listed.
    Summaries are written atomically, so one that cannot be read is damage worth reporting
    (CollectionError): skipping it would silently shift which runs count as "the last two".
    """
    found: list[tuple[datetime, str]] = []
    for summary_file in summary_files(collection):
        try:
            summary = summary_file.read()
        except NotASummary:
            continue
        except SummaryError as exc:
            raise CollectionError(
                f"cannot read the run summary {summary_file.path}: {exc}"
            ) from exc
        if summary.run_id is None or summary.started is None:
            continue
        started = summary.started_at
        if started is None:
            raise CollectionError(
                f"the run summary {summary_file.path} has a bad start time {summary.started!r}"
            )
        found.append((started, summary.run_id))
    return [run_id for _, run_id in sorted(found)]
