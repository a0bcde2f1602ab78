"""Summaries of the measured crawls: one row per mode, the ratios, and the printed table.

Rates and CPU are medians over the runs (one slow run, a cron job or a page-cache miss, should
not move the result); peak RSS is the maximum, since memory is a limit rather than a rate:
summed over a crawler's processes, and of its largest single process.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.crawl import PAGES_FROM_WARC, Measurement


@dataclass(frozen=True)
class Summary:
    """One mode over all its runs. ``note`` replaces the numbers when none could be taken."""

    mode: str
    runs: int
    measured: int  # runs that completed; the numbers are over these
    pages_per_second: float = 0.0
    warc_mb_per_second: float = 0.0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_ms_per_page: float = 0.0
    peak_rss_mb: float = 0.0  # summed over the crawler's processes
    largest_rss_mb: float = 0.0  # of its largest process
    warc_mb: float = 0.0
    pages_min: int = 0
    pages_max: int = 0
    server_cpu_seconds: float = 0.0
    other_cpu_seconds: float = 0.0  # the rest of the machine's, during the crawls (maximum)
    pages_source: str = PAGES_FROM_WARC
    note: str | None = None


def summarize(mode: str, results: Sequence[Measurement]) -> Summary:
    ran = [result for result in results if result.mode == mode]
    skipped = next((result.skipped for result in ran if result.skipped), None)
    if skipped is not None:
        return Summary(mode, len(ran), 0, note=skipped)
    good = [result for result in ran if result.ok]
    failed = len(ran) - len(good)
    if not good:
        statuses = ", ".join(str(result.exit_status) for result in ran)
        return Summary(mode, len(ran), 0, note=f"failed (exit {statuses})")
    return Summary(
        mode=mode,
        runs=len(ran),
        measured=len(good),
        pages_per_second=statistics.median(r.pages_per_second for r in good),
        warc_mb_per_second=statistics.median(r.warc_mb_per_second for r in good),
        wall_seconds=statistics.median(r.wall_seconds for r in good),
        cpu_seconds=statistics.median(r.cpu_seconds for r in good),
        cpu_ms_per_page=statistics.median(r.cpu_ms_per_page for r in good),
        peak_rss_mb=max(r.peak_rss_mb for r in good),
        largest_rss_mb=max(r.largest_rss_mb for r in good),
        warc_mb=statistics.median(r.warc_bytes for r in good) / 1e6,
        pages_min=min(r.pages for r in good),
        pages_max=max(r.pages for r in good),
        server_cpu_seconds=statistics.median(r.server_cpu_seconds for r in good),
        other_cpu_seconds=max(r.other_cpu_seconds for r in good),
        pages_source=good[-1].pages_source,
        note=f"{failed} of {len(ran)} runs failed" if failed else None,
    )


def _ratio(numerator: Summary | None, denominator: Summary | None, field: str) -> float | None:
    if numerator is None or denominator is None or numerator.note or denominator.note:
        return None
    bottom = getattr(denominator, field)
    return getattr(numerator, field) / bottom if bottom else None


def ratios(summaries: dict[str, Summary]) -> dict[str, float | None]:
    """archiver/wget for speed, WARC size and CPU (in all, and per page: the one to compare,
    should the page counts differ); archiver/archiver-no-warc for speed; with --against, this
    checkout against the other."""
    archiver, wget = summaries.get("archiver"), summaries.get("wget")
    no_warc = summaries.get("archiver-no-warc")
    before = summaries.get("archiver-before")  # --against
    values = {
        "archiver/wget pages/s": _ratio(archiver, wget, "pages_per_second"),
        "archiver/wget WARC bytes": _ratio(archiver, wget, "warc_mb"),
        "archiver/wget CPU s": _ratio(archiver, wget, "cpu_seconds"),
        "archiver/wget CPU per page": _ratio(archiver, wget, "cpu_ms_per_page"),
        "archiver/archiver-no-warc pages/s": _ratio(archiver, no_warc, "pages_per_second"),
    }
    if before is not None:
        values |= {
            "archiver/archiver-before pages/s": _ratio(archiver, before, "pages_per_second"),
            "archiver/archiver-before CPU per page": _ratio(archiver, before, "cpu_ms_per_page"),
            "archiver/archiver-before peak RSS": _ratio(archiver, before, "peak_rss_mb"),
            "archiver/archiver-before largest proc": _ratio(archiver, before, "largest_rss_mb"),
            "archiver-before/wget pages/s": _ratio(before, wget, "pages_per_second"),
            "archiver-before/wget CPU per page": _ratio(before, wget, "cpu_ms_per_page"),
        }
    return values


COLUMNS = (
    ("mode", 17),
    ("pages/s", 9),
    ("WARC MB/s", 11),
    ("wall s", 9),
    ("CPU s", 9),
    ("CPU ms/page", 13),
    ("RSS sum MB", 12),
    ("RSS proc MB", 13),
    ("WARC MB", 10),
    ("pages", 12),
)


def _pages(summary: Summary, expected: int) -> str:
    low, high = summary.pages_min, summary.pages_max
    counted = str(low) if low == high else f"{low}-{high}"
    if summary.pages_source != PAGES_FROM_WARC:
        return counted + "*"  # not comparable with the expected count: see the footnote
    # A crawl that missed pages is faster for the wrong reason: say so in the same cell.
    return counted if low == high == expected else f"{counted}/{expected}"


def _row(summary: Summary, expected: int) -> str:
    name = summary.mode.ljust(COLUMNS[0][1])
    if not summary.measured:
        return f"{name}  {summary.note}"
    cells = (
        f"{summary.pages_per_second:.1f}",
        f"{summary.warc_mb_per_second:.2f}" if summary.warc_mb else "-",
        f"{summary.wall_seconds:.1f}",
        f"{summary.cpu_seconds:.1f}",
        f"{summary.cpu_ms_per_page:.2f}",
        f"{summary.peak_rss_mb:.0f}",
        f"{summary.largest_rss_mb:.0f}",
        f"{summary.warc_mb:.1f}" if summary.warc_mb else "-",
        _pages(summary, expected),
    )
    widths = [width for _, width in COLUMNS[1:]]
    row = name + "".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
    return f"{row}  ({summary.note})" if summary.note else row


def table(summaries: dict[str, Summary], expected: int) -> str:
    header = COLUMNS[0][0].ljust(COLUMNS[0][1]) + "".join(
        title.rjust(width) for title, width in COLUMNS[1:]
    )
    lines = [header, "-" * len(header)]
    lines += [_row(summary, expected) for summary in summaries.values()]
    lines += [
        f"* {summary.mode} pages: {summary.pages_source}"
        for summary in summaries.values()
        if summary.measured and summary.pages_source != PAGES_FROM_WARC
    ]
    return "\n".join(lines)


def ratio_lines(values: dict[str, float | None]) -> str:
    return "\n".join(
        f"{name:<40}{'n/a' if value is None else f'{value:.2f}x'}" for name, value in values.items()
    )
