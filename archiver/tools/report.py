"""The run report ``runs/<run-id>/report.html``: one self-contained page of a run's figures.

It is read from the run summary plus the run's CDXJ index (hosts, and capture times when the
summary has no timeline), so it says nothing those files do not. The page opens with no
network: styles are inline, charts are inline SVG, there is no script, and a Content Security
Policy forbids loading anything. URLs, MIME types, hosts and reasons come from the web, so
the page is rendered by Jinja2 with autoescaping, and URLs are text, never links (a
``javascript:`` URL in an href would survive escaping).
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.collection.cdxj import index_lines
from archiver.collection.durable import write_atomically
from archiver.collection.layout import Collection, timestamp_time
from archiver.collection.summary import FailedUrl, PageChanges, RunCounts, RunSummary
from archiver.model.changes import Change
from archiver.tools.charts import (
    BarChart,
    LineChart,
    bar_chart,
    human_bytes,
    line_chart,
    status_colour,
)
from archiver.tools.endings import ending_sentence
from archiver.web.urls import hostname

if TYPE_CHECKING:
    from jinja2 import Template

TOP_HOSTS = 15
LISTED_CHANGES = 1_000  # URLs per change kind on the page; `archiver changes` has them all
TIMELINE_POINTS = 300  # a longer timeline is thinned to this many points

Sample = tuple[float, float, float]  # seconds since the start, captures so far, bytes so far


def write_report(collection: Collection, summary: RunSummary) -> Path:
    """Write the report of the run *summary* describes; return its path."""
    path = collection.report_for(_run_id(summary))
    page = render_report(collection, summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, [page.encode("utf-8")])
    return path


def render_report(collection: Collection, summary: RunSummary) -> str:
    run_id = _run_id(summary)
    index = read_index(collection.index_for(run_id))
    counts = summary.counts
    folder = summary.collection if summary.collection is not None else str(collection.root)
    return _template().render(
        s=summary,
        run_id=run_id,
        name=Path(folder).name,
        generated=datetime.now(UTC).isoformat(),
        human_bytes=human_bytes,
        when=_shown_time,
        status=bar_chart(
            "status",
            sorted((str(k), v) for k, v in counts.by_status.items()),
            colour=status_colour,
            sort=False,  # in code order: 2xx, 3xx, 4xx, 5xx read as a story
        ),
        mime=bar_chart("mime", list(counts.by_mime.items())),
        mime_bytes=bar_chart(
            "mime-bytes", list(summary.bytes.payload_by_mime.items()), shown=human_bytes
        ),
        timeline=_timeline(summary, index),
        hosts=_hosts(index),
        dedup=_dedup(counts),
        slowest=summary.slowest,
        largest=summary.largest,
        errors=_errors(summary),
        given_up=summary.hosts_given_up,
        retries=(
            bar_chart("retries", sorted(counts.retries.items()), sort=False)
            if counts.retries is not None
            else None
        ),
        changes=_changes(summary.changes),
        files=_files(summary),
        ending=_ending(summary, folder),
    )


def _ending(summary: RunSummary, folder: str) -> str:
    """Why the run ended, as a sentence: "Stopped after 30 min at its time limit (...)"."""
    said = ending_sentence(
        summary.finish_reason,
        elapsed_seconds=summary.elapsed_seconds,
        warc_bytes=summary.bytes.warc,
        # The exact command depends on how the crawl was given (status reads it from the
        # frontier); a page rebuilt later may be of a run that was resumed since.
        resume="resume it with the same archiver crawl command "
        f"(archiver status {shlex.quote(folder)} prints it)",
    )
    return said[:1].upper() + said[1:] + "."


def _run_id(summary: RunSummary) -> str:
    if summary.run_id is None:
        raise ValueError("the run summary names no run: there is no report to make of it")
    return summary.run_id


@cache
def _template() -> Template:
    # Imported on first use: the crawl process loads this module at start-up, and needs
    # Jinja2 (a noticeable import) only when the run ends.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("archiver.tools", "templates"),
        autoescape=True,  # always, whatever the template's name: every page here is HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html")


def _shown_time(iso: object) -> str:
    """An ISO time of the summary to the second, in UTC, as a person reads it."""
    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if when.tzinfo else "")


# --- the index ----------------------------------------------------------------------------------


@dataclass(slots=True)
class IndexFigures:
    found: bool
    hosts: Counter[str] = field(default_factory=Counter)
    per_second: Counter[str] = field(default_factory=Counter)  # 14-digit timestamp -> captures


def read_index(path: Path) -> IndexFigures:
    """Hosts and capture times of a run's CDXJ index, read line by line (it can be millions)."""
    figures = IndexFigures(found=path.is_file())
    if not figures.found:
        return figures  # no capture, or the index was left .open (repair seals it)
    # A malformed line is passed over: `archiver verify` is where damage is reported.
    for line in index_lines(path):
        figures.per_second[line.timestamp] += 1
        figures.hosts[_host(line.url)] += 1
    return figures


def _host(url: str) -> str:
    try:
        return hostname(url) or "(no host)"
    except ValueError:
        return "(unparsable URL)"


def _hosts(index: IndexFigures) -> BarChart | None:
    if not index.found:
        return None
    return bar_chart("hosts", index.hosts.most_common(), limit=TOP_HOSTS)


# --- over time ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeline:
    chart: LineChart | None
    source: str  # where the samples came from, said under the chart


def _timeline(summary: RunSummary, index: IndexFigures) -> Timeline:
    recorded = summary.timeline
    if recorded:
        # Samples are running totals at time t (captures and bytes so far).
        samples = sorted((float(p.t), float(p.captures), float(p.bytes)) for p in recorded)
        source = "sampled during the run (captures and bytes so far)"
    elif index.per_second:
        samples = _from_timestamps(index.per_second)
        source = "from the index's capture times (one-second resolution)"
    else:
        return Timeline(None, "no captures" if index.found else "not recorded")
    return Timeline(line_chart("timeline", _thin(samples, TIMELINE_POINTS)), source)


def _from_timestamps(per_second: Counter[str]) -> list[Sample]:
    """Captures so far at each second that had one, from the first capture's second."""
    seconds = sorted(per_second)
    start = timestamp_time(seconds[0])
    samples, total = [], 0
    for stamp in seconds:
        total += per_second[stamp]
        samples.append(((timestamp_time(stamp) - start).total_seconds(), float(total), 0.0))
    return samples


def _thin(samples: list[Sample], limit: int) -> list[Sample]:
    """At most *limit* samples, evenly spaced, always keeping the last (the run's totals)."""
    if len(samples) <= limit:
        return samples
    step = (len(samples) - 1) / (limit - 1)
    return [samples[round(i * step)] for i in range(limit)]


# --- dedup, errors, changes, files --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dedup:
    responses: int
    revisits: int
    ratio: float | None  # revisits / (responses + revisits); None with no records
    records: BarChart
    decisions: dict[str, int]


def _dedup(counts: RunCounts) -> Dedup:
    records = counts.records
    responses, revisits = records.get("response", 0), records.get("revisit", 0)
    stored = responses + revisits
    return Dedup(
        responses,
        revisits,
        revisits / stored if stored else None,
        bar_chart("records", list(records.items())),
        dict(counts.dedup),
    )


@dataclass(frozen=True, slots=True)
class Errors:
    by_reason: BarChart  # fetch errors: no HTTP response at all
    by_status: BarChart  # HTTP responses >= 400
    listed: tuple[FailedUrl, ...] | None  # None: the summary does not record them


def _errors(summary: RunSummary) -> Errors:
    counts = summary.counts
    failing = [(str(k), v) for k, v in counts.by_status.items() if _at_least_400(k)]
    return Errors(
        bar_chart("fetch-errors", list(counts.fetch_errors.items())),
        bar_chart("error-status", sorted(failing), colour=status_colour, sort=False),
        summary.errors,
    )


def _at_least_400(status: object) -> bool:
    return str(status).isdigit() and int(str(status)) >= 400


@dataclass(frozen=True, slots=True)
class ChangeList:
    kind: str
    count: int
    urls: list[str]  # at most LISTED_CHANGES


@dataclass(frozen=True, slots=True)
class Changes:
    compared_with: str | None
    kinds: list[ChangeList]
    all_listed: bool


def _changes(changes: PageChanges | None) -> Changes | None:
    if changes is None:
        return None
    kinds = [
        ChangeList(
            kind.value,
            changes.counts.get(kind.value, 0),
            list(changes.pages.get(kind.value, ()))[:LISTED_CHANGES],
        )
        for kind in Change
    ]
    all_listed = changes.all_pages_listed and all(len(k.urls) == k.count for k in kinds)
    return Changes(changes.compared_with, kinds, all_listed)


def _files(summary: RunSummary) -> list[tuple[str, str]]:
    """(what, path relative to the report) of the run's files: the report is one folder down."""
    files = summary.files
    named = [("summary", f"../{_run_id(summary)}.json")]
    named += [("WARC", f"../../{name}") for name in files.warcs]
    named += [
        (what, f"../../{path}")
        for what, path in (("index", files.index), ("manifest", files.manifest), ("log", files.log))
        if path is not None
    ]
    return named
