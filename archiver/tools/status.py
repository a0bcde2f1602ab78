"""``archiver status DIR``: a collection on one screen. Its runs, files, sizes and pages,
whether a crawl holds it now or a run can be resumed, and how the last run ended.

Everything comes from what the crawls left (run summaries, indexes, manifest, dedup index,
frontier, lock file), and nothing in the collection is written, not even SQLite's side files:
a status check from cron must never be what changes an archive.
"""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.collection.dedup import SqliteDedupIndex
from archiver.collection.frontier import read_frontier_run
from archiver.collection.layout import Collection, count_lines, run_id_time
from archiver.collection.lock import LockState, read_lock
from archiver.collection.runs import SummaryFile, summary_files
from archiver.collection.summary import SummaryError
from archiver.model import defaults
from archiver.model.dedup import DedupCounts
from archiver.model.errors import CollectionError
from archiver.model.fingerprint import Fingerprint
from archiver.model.stops import StopReason
from archiver.tools.charts import human_bytes
from archiver.tools.endings import ending

# Rows of the run table. With every other line the report has, the worst case (a crawl
# running, WARCs left open, a resume command) stays within a 24-line terminal.
DEFAULT_RUNS = 5


@dataclass(slots=True)
class RunInfo:
    """One run, as its summary (or, without one, its index) tells it."""

    run_id: str
    # The summary's finish reason ("finished", "shutdown", "disk_full", ...); "running" for the
    # run holding the lock; "died" (killed) or "unfinished" for a run to resume that wrote no
    # summary; "summary unreadable" when its summary is not JSON.
    outcome: str
    started: datetime | None = None
    elapsed_seconds: float | None = None
    captures: int | None = None  # the whole run's, across resumes
    pages: int | None = None  # the run's manifest lines (HTML and text documents)
    changes: dict[str, int] | None = None  # new, changed, unchanged, gone: vs the run before
    resumes: int = 0
    summary: str | None = None  # relative to the collection; None: the run wrote none
    log: str | None = None
    report: str | None = None  # runs/<run-id>/report.html, when it was written
    problem: str | None = None  # why the summary could not be read
    ending: str | None = None  # why it ended, in words (tools.endings); None: no summary


@dataclass(slots=True)
class Files:
    count: int = 0
    bytes: int = 0
    lines: int | None = None  # newline-terminated lines, for line-per-entry files


@dataclass(slots=True)
class CollectionStatus:
    root: Path
    runs: list[RunInfo]  # oldest first
    lock: LockState
    unfinished: str | None  # the run a frontier is left for, which the next crawl resumes
    resume_command: str | None
    files: dict[str, Files] = field(default_factory=dict)
    total_bytes: int = 0
    # From the dedup index: URLs the collection holds, those that are pages, payloads stored.
    known: DedupCounts | None = None

    @property
    def running(self) -> str | None:
        holder = self.lock.holder or {}
        return str(holder.get("run_id", "?")) if self.lock.held else None

    @property
    def captures(self) -> int:
        """Every capture in the collection: one index line each, sealed or still open."""
        return sum(self.files[name].lines or 0 for name in ("indexes", "open_indexes"))


# --- reading the collection ---------------------------------------------------------------------


def collection_status(root: Path) -> CollectionStatus:
    collection = Collection(root)
    if not root.is_dir():
        raise CollectionError(f"{root} does not exist or is not a folder; give a collection folder")
    if not collection.is_collection():
        raise CollectionError(
            f"{root} is not an archiver collection (no warcs/, runs/ or manifest.jsonl); "
            "give the folder a crawl wrote with --output"
        )
    lock = read_lock(root)
    runs = {found.run_id: _from_summary(collection, found) for found in summary_files(collection)}
    # A running crawl has a frontier too: it is unfinished, but not for anyone to resume.
    frontier = None if lock.held else read_frontier_run(root)
    unfinished = resume = None
    if frontier is not None:
        left = frontier.run_id
        # A finished run that died before deleting its frontier left nothing to resume.
        if left not in runs or runs[left].outcome != StopReason.FINISHED:
            unfinished, resume = left, resume_command(root, frontier.fingerprint)
    # Without a summary an unfinished run died, if the lock still names it (lock.py); else it
    # ended without writing one (a full disk).
    stale = None if lock.held else (lock.holder or {}).get("run_id")
    ended = "died" if stale is not None and stale == unfinished else "unfinished"
    for run_id, outcome in ((unfinished, ended), (_holder_run(lock), "running")):
        if run_id is None:
            continue
        if run_id not in runs:
            runs[run_id] = _without_summary(collection, run_id, outcome)
        elif outcome == "running":  # resumed after a stop: the summary is the stopped process's
            runs[run_id].outcome = outcome
    status = CollectionStatus(
        root, [runs[run_id] for run_id in sorted(runs)], lock, unfinished, resume
    )
    _count_files(collection, status)
    status.known = _dedup_counts(root)
    return status


def _holder_run(lock: LockState) -> str | None:
    run_id = (lock.holder or {}).get("run_id")
    # "starting": the lock is taken but the run's id not yet chosen (run.Run.start).
    return run_id if lock.held and isinstance(run_id, str) and run_id != "starting" else None


def _from_summary(collection: Collection, found: SummaryFile) -> RunInfo:
    run_id = found.run_id
    run = RunInfo(
        run_id,
        "finished",
        started=run_id_time(run_id),
        summary=_relative(collection, found.path),
        log=_relative(collection, collection.log_for(run_id)),
    )
    report = collection.report_for(run_id)
    run.report = _relative(collection, report) if report.exists() else None
    try:
        summary = found.read()
    except SummaryError as exc:
        run.outcome, run.problem = "summary unreadable", str(exc)
        return run
    # Older archivers wrote fewer fields: one not recorded keeps what the id and files say.
    run.outcome = str(summary.finish_reason) if summary.finish_reason else "unknown"
    run.started = summary.started_at or run.started
    elapsed = summary.elapsed_seconds
    run.elapsed_seconds = float(elapsed) if elapsed is not None else None
    run.resumes = summary.resumes
    counts = summary.counts
    run.captures = counts.captures_in_run if counts.captures_in_run is not None else counts.captures
    run.pages = counts.documents
    run.changes = dict(summary.changes.counts if summary.changes else {}) or None
    run.log = summary.files.log if summary.files.log is not None else run.log
    run.ending = ending(
        summary.finish_reason,
        elapsed_seconds=summary.elapsed_seconds,
        warc_bytes=summary.bytes.warc,
    )
    return run


def _without_summary(collection: Collection, run_id: str, outcome: str) -> RunInfo:
    """A running or killed run: its captures so far are its index's lines (at checkpoints)."""
    index = collection.index_for(run_id)
    opened = collection.open_index_for(run_id)
    captures = count_lines(opened) if opened.exists() else None
    if captures is None and index.exists():
        captures = count_lines(index)
    return RunInfo(
        run_id,
        outcome,
        started=run_id_time(run_id),
        captures=captures,
        log=_relative(collection, collection.log_for(run_id)),
    )


def _count_files(collection: Collection, status: CollectionStatus) -> None:
    files = status.files
    files["warcs"] = _files(collection.warc_files())
    files["open_warcs"] = _files(collection.open_warc_files())
    files["indexes"] = _files(collection.index_files(), lines=True)
    files["open_indexes"] = _files(collection.open_index_files(), lines=True)
    files["manifest"] = _files([collection.manifest], lines=True)
    dedup = collection.root / SqliteDedupIndex.FILENAME
    files["dedup"] = _files([dedup, dedup.with_name(dedup.name + "-wal")])
    files["logs"] = _files(collection.logs.glob("*.log"))
    status.total_bytes = _files(p for p in collection.root.rglob("*") if p.is_file()).bytes


def _files(paths: Iterable[Path], *, lines: bool = False) -> Files:
    found = Files(lines=0 if lines else None)
    for path in paths:
        try:
            size = path.stat().st_size
            counted = count_lines(path) if lines else 0
        except OSError:
            continue  # absent, or gone since the listing (a rename at the end of a run)
        found.count += 1
        found.bytes += size
        if found.lines is not None:
            found.lines += counted
    return found


def _dedup_counts(root: Path) -> DedupCounts | None:
    try:
        index = SqliteDedupIndex.read_only(root)
        if index is None:
            return None
        try:
            return index.counts()
        finally:
            index.close()
    except sqlite3.Error:
        return None  # another index class's file, or one being created right now


def resume_command(root: Path, fingerprint: Fingerprint) -> str:
    """The crawl command that resumes a run: its fingerprint is what a resume must match."""
    words = ["archiver", "crawl", *fingerprint.seeds, "--output", str(root)]
    for option, values in (
        ("--scope", fingerprint.scope),
        ("--allow-host", fingerprint.allow_hosts),
        ("--exclude", fingerprint.exclude),
    ):
        for value in values:
            words += [option, value]
    if fingerprint.robots != defaults.ROBOTS:
        words += ["--robots", fingerprint.robots]
    return shlex.join(words)


def _relative(collection: Collection, path: Path) -> str:
    return str(path.relative_to(collection.root))


# --- rendering ----------------------------------------------------------------------------------


def render_text(status: CollectionStatus, max_runs: int = DEFAULT_RUNS) -> str:
    root, files = status.root, status.files
    lines = [f"collection  {root}", f"now         {_now(status)}"]
    if status.resume_command and not status.running:
        lines.append(f"resume      {status.resume_command}")
    runs = status.runs
    if runs:
        first, last = runs[0].started, runs[-1].started
        lines.append(f"runs        {len(runs)}, first {_date(first)}, last {_date(last)} (UTC)")
        shown = runs[-max_runs:] if max_runs else []
        if len(runs) > len(shown):
            earlier = len(runs) - len(shown)
            lines.append(f"  … and {earlier} earlier {'run' if earlier == 1 else 'runs'}")
        lines.extend(_table(shown))
    else:
        lines.append("runs        none yet")
    warcs = f"WARCs       {_n(files['warcs'].count, 'file')}, {human_bytes(files['warcs'].bytes)}"
    if files["open_warcs"].count:
        opened = files["open_warcs"]
        state = "being written" if status.running else "left by a crash: the next crawl repairs"
        warcs += f"; {opened.count} .open ({human_bytes(opened.bytes)}), {state}"
    lines.append(warcs)
    indexes = files["indexes"]
    line = (
        f"indexes     {_n(indexes.count, 'file')}, {human_bytes(indexes.bytes)}, "
        f"{indexes.lines} lines"
    )
    if files["open_indexes"].count:
        line += f"; {files['open_indexes'].count} .open ({files['open_indexes'].lines} lines)"
    lines.append(line)
    manifest = files["manifest"]
    lines.append(f"manifest    {human_bytes(manifest.bytes)}, {manifest.lines} lines")
    lines.append(f"dedup       {human_bytes(files['dedup'].bytes)}")
    logs = files["logs"]
    lines.append(f"logs        {_n(logs.count, 'file')}, {human_bytes(logs.bytes)}")
    lines.append(f"disk        {human_bytes(status.total_bytes)} in all")
    totals = f"totals      {_n(status.captures, 'capture')}"
    if status.known is not None:
        known = status.known
        totals += (
            f" of {_n(known.urls, 'URL')} ({known.pages} of them pages), "
            f"{_n(known.payloads, 'distinct payload')}"
        )
    lines.append(totals)
    if runs:
        lines.extend(_last_run(status, runs[-1]))
    return "\n".join(lines) + "\n"


def _now(status: CollectionStatus) -> str:
    holder = status.lock.holder or {}
    if status.running:
        return (
            f"crawling: run {status.running} (pid {holder.get('pid')} on {holder.get('host')}, "
            f"since {holder.get('started')})"
        )
    if status.unfinished:
        how = "stopped early"
        if holder:  # the lock names a holder but no one holds it: that run's process died
            how = f"its process died: pid {holder.get('pid')} on {holder.get('host')}"
        return f"run {status.unfinished} is unfinished ({how}); the same crawl resumes it:"
    return "idle: no crawl running, no run to resume"


_COLUMNS = ("run", "started", "took", "outcome", "captures", "pages", "new", "changed", "gone")
_RIGHT = {"captures", "pages", "new", "changed", "gone"}  # numbers align on the right


def _table(runs: list[RunInfo]) -> list[str]:
    rows = [list(_COLUMNS)]
    for run in runs:
        changes = run.changes or {}
        rows.append(
            [
                run.run_id,
                _date(run.started),
                _duration(run.elapsed_seconds),
                run.outcome,
                _cell(run.captures),
                _cell(run.pages),
                *(_cell(changes.get(kind)) for kind in ("new", "changed", "gone")),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return [
        "  "
        + "  ".join(
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(_COLUMNS, row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _last_run(status: CollectionStatus, run: RunInfo) -> list[str]:
    counts = f"{_cell(run.captures)} captures, {_cell(run.pages)} pages"
    if run.outcome == "running":
        outcome = f"running now, {_cell(run.captures)} captures committed so far"
    elif run.outcome == "died":
        outcome = (
            f"died without a summary (killed?), {_cell(run.captures)} captures committed; resumable"
        )
    elif run.outcome == "unfinished":
        outcome = f"wrote no summary, {_cell(run.captures)} captures committed; resumable"
    elif run.problem is not None:
        outcome = f"summary unreadable: {run.problem}"
    elif run.outcome == "finished":
        outcome = f"finished in {_duration(run.elapsed_seconds)}: {counts}"
    else:
        resumable = "; resumable" if run.run_id == status.unfinished else ""
        outcome = f"stopped: {run.outcome}, after {_duration(run.elapsed_seconds)}: {counts}"
        outcome += resumable
    lines = [f"last run    {run.run_id} {outcome}"]
    if run.ending is not None and run.outcome != "running":  # a resumed run runs on
        lines.append(f"  ended     {run.ending}")
    if run.summary is not None:
        lines.append(f"  summary   {status.root / run.summary}")
    if run.report is not None:
        lines.append(f"  report    {status.root / run.report}")
    if run.log is not None:
        lines.append(f"  log       {status.root / run.log}")
    return lines


def _date(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if when else "?"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


def status_json(status: CollectionStatus) -> dict[str, Any]:
    """The status as JSON-ready data: every run, not only the last few."""
    return {
        "collection": str(status.root),
        "running": status.running,
        "lock_holder": status.lock.holder,
        "unfinished_run": status.unfinished,
        "resume_command": status.resume_command,
        "runs": [
            {**asdict(run), "started": run.started.isoformat() if run.started else None}
            for run in status.runs
        ],
        "files": {name: asdict(found) for name, found in status.files.items()},
        "total_bytes": status.total_bytes,
        "captures": status.captures,
        "known": asdict(status.known) if status.known is not None else None,
        "last_run": status.runs[-1].run_id if status.runs else None,
    }
