"""What changed between two runs of a collection, read from its manifest and run summaries.

The rule itself, ``classify``, is in archiver.model.changes: the archive worker applies it to each
capture and ``compare_runs`` to whole runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.collection.layout import Collection
from archiver.collection.manifest import ManifestError, read_object
from archiver.collection.runs import list_runs
from archiver.model.changes import Change, PageState, classify
from archiver.model.errors import CollectionError

# Reports list pages in the order the kinds are declared, which reads as a story: what appeared,
# what changed, what stayed, what went.
_ORDER = {change: position for position, change in enumerate(Change)}


@dataclass(slots=True)
class PageChange:
    url: str
    change: Change
    before_status: int | None
    after_status: int | None
    title: str | None
    diff: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChangeReport:
    from_run: str
    to_run: str
    pages: list[PageChange]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Capture:
    """The part of a manifest line a comparison needs; the rest is dropped to save memory."""

    state: PageState
    title: str | None
    text: str


# --- comparing ----------------------------------------------------------------------------------


def compare_runs(
    collection: Collection, from_run: str, to_run: str, *, diff_lines: int = 20
) -> ChangeReport:
    """Classify every URL either run captured; changed pages get a short diff of their text.

    Run ids are not checked against the summaries, so this also works for a run still in
    progress (whose summary is not written yet); a run with no manifest lines reads as empty.
    """
    captures = _read_runs(collection.manifest, {from_run, to_run})
    before, after = captures[from_run], captures[to_run]
    pages = [
        _page_change(url, before.get(url), after.get(url), diff_lines)
        for url in before.keys() | after.keys()
    ]
    pages.sort(key=lambda page: (_ORDER[page.change], page.url))
    counts = {change.value: 0 for change in Change}
    for page in pages:
        counts[page.change.value] += 1
    return ChangeReport(from_run, to_run, pages, counts)


def _page_change(
    url: str, before: _Capture | None, after: _Capture | None, diff_lines: int
) -> PageChange:
    change = classify(before.state if before else None, after.state if after else None)
    latest = after or before
    assert latest is not None  # the URL came from one of the two runs
    diff = []
    if change is Change.CHANGED:
        assert before is not None and after is not None
        diff = text_diff(before.text, after.text, diff_lines)
    return PageChange(
        url,
        change,
        before.state.status if before else None,
        after.state.status if after else None,
        latest.title,
        diff,
    )


def _read_runs(path: Path, run_ids: set[str]) -> dict[str, dict[str, _Capture]]:
    """URL -> capture for each of *run_ids*, reading the manifest once, line by line."""
    captures: dict[str, dict[str, _Capture]] = {run_id: {} for run_id in run_ids}
    if not path.exists():
        return captures
    # Binary lines, decoded one at a time, so bad UTF-8 is reported with its line number too.
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record = _parse_line(path, number, line)
            run = record.get("run")
            # Other runs' lines are only parsed (to catch corruption), never kept.
            wanted = captures.get(run) if isinstance(run, str) else None
            if wanted is not None:
                url, capture = _capture(path, number, record)
                # One line per URL per run is the rule; should it break, the later line wins,
                # being what the run last saw.
                wanted[url] = capture
    return captures


def _parse_line(path: Path, number: int, line: bytes) -> dict[str, Any]:
    # Only the first step of ManifestLine.parse: a comparison reads url, status, digest,
    # title and text, of lines any archiver version wrote, and holds the rest to no schema.
    try:
        return read_object(line)
    except ManifestError as exc:
        raise _corrupt(path, number, str(exc)) from exc


def _capture(path: Path, number: int, record: dict[str, Any]) -> tuple[str, _Capture]:
    url, status, digest = record.get("url"), record.get("status"), record.get("digest")
    if not isinstance(url, str) or type(status) is not int or not isinstance(digest, str):
        raise _corrupt(path, number, "url, status or digest missing or of the wrong type")
    title, text = record.get("title"), record.get("text")
    return url, _Capture(
        PageState(status, digest),
        title if isinstance(title, str) else None,
        text if isinstance(text, str) else "",
    )


def _corrupt(path: Path, number: int, reason: str) -> CollectionError:
    return CollectionError(
        f"{path} line {number} is corrupt ({reason}); repair or remove that line"
    )


def text_diff(before: str, after: str, limit: int) -> list[str]:
    """Unified diff of two texts' lines, no context, at most *limit* lines plus a marker."""
    diff = difflib.unified_diff(_lines(before), _lines(after), n=0, lineterm="")
    # Drop the two "---"/"+++" file headers by position: a removed line that starts with "--"
    # also begins with "---", so filtering by prefix would eat real content.
    body = list(diff)[2:]
    if len(body) <= limit:
        return body
    rest = len(body) - limit
    return [*body[:limit], f"… {rest} more {'line' if rest == 1 else 'lines'}"]


def _lines(text: str) -> list[str]:
    # The manifest's text is one block per "\n"-separated line. str.splitlines would also split
    # on characters such as U+2028 or U+0085 that can occur inside a block.
    return text.split("\n") if text else []


# --- rendering ----------------------------------------------------------------------------------


def render_text(report: ChangeReport) -> str:
    """The report for a person: a header line, then new, changed and gone pages."""
    counts = report.counts
    lines = [
        f"changes from {report.from_run} to {report.to_run}: "
        + ", ".join(f"{counts[change.value]} {change.value}" for change in Change)
    ]
    for change in (Change.NEW, Change.CHANGED, Change.GONE):
        pages = [page for page in report.pages if page.change is change]
        if pages:
            lines.append(f"{change.value} ({len(pages)}):")
            lines.extend(_render_page(page) for page in pages)
    return "\n".join(lines) + "\n"


def _render_page(page: PageChange) -> str:
    line = f"  {page.url}  {_status(page.before_status)} -> {_status(page.after_status)}"
    if page.title:
        line += f"  {page.title}"
    return "\n".join([line, *(f"      {diff}" for diff in page.diff)])


def _status(status: int | None) -> str:
    return "missing" if status is None else str(status)


def report_json(report: ChangeReport) -> dict[str, Any]:
    """The report as JSON-ready data, with a fixed key order (for --json and run summaries)."""
    return {
        "from_run": report.from_run,
        "to_run": report.to_run,
        "counts": dict(report.counts),
        "pages": [
            {
                "url": page.url,
                "change": page.change.value,
                "before_status": page.before_status,
                "after_status": page.after_status,
                "title": page.title,
                "diff": list(page.diff),
            }
            for page in report.pages
        ],
    }


def pick_runs(collection: Collection, from_run: str | None, to_run: str | None) -> tuple[str, str]:
    """The two runs to compare: those given, else the last run and the one before it."""
    runs = list_runs(collection)
    if len(runs) < 2:
        raise CollectionError(f"{collection.root} has only {len(runs)} run(s); changes need two")
    for run_id in (from_run, to_run):
        if run_id is not None and run_id not in runs:
            raise CollectionError(
                f"{collection.root} has no run {run_id!r}; its runs are {', '.join(runs)}"
            )
    to_run = to_run or runs[-1]
    if from_run is None:
        position = runs.index(to_run)
        if position == 0:
            raise CollectionError(
                f"run {to_run} is the first run of {collection.root}; give --from too"
            )
        from_run = runs[position - 1]
    return from_run, to_run
