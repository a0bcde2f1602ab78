"""One measured crawl: run a crawler as a child process, then measure what it took and wrote.

Wall time is ``time.perf_counter`` around the child. CPU time is user+sys from the rusage
``os.wait4`` returns when the child is reaped, which covers every descendant it waited for.
Peak RSS is sampled from /proc while it runs (``procfs.PeakRss`` says why not ru_maxrss), for
each process of the crawler's tree: archiver's archive worker counts too, in the sum and as
a process of its own. Pages are counted the same way for every crawler, from its WARC files:
response and revisit records of ``text/html`` pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from bench import procfs

REPO = Path(__file__).resolve().parent.parent
ARCHIVER = [str(REPO / ".venv" / "bin" / "python"), "-m", "archiver"]
EXIT_USAGE = 2  # archiver's exit status for bad input, an unknown option included
PAGES_FROM_WARC = "text/html response and revisit records in the WARC"


@dataclass
class Measurement:
    """What one crawl took and produced. ``skipped`` says why a mode could not run at all."""

    mode: str
    run: int
    exit_status: int | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0  # each process's own peak, summed over the crawler's processes
    largest_rss_mb: float = 0.0  # the peak of the one process that used the most
    processes: list[dict[str, object]] = field(default_factory=list)  # ProcessRow, as dicts
    server_cpu_seconds: float = 0.0  # nginx's CPU during the crawl, to show it is not the limit
    load_average: float = 0.0  # 1-minute load when the crawl started: was anything else running?
    # CPU the rest of the machine used during the crawl (neither the crawler nor nginx): what
    # else was running, measured rather than guessed from the load average.
    other_cpu_seconds: float = 0.0
    warc_bytes: int = 0
    warc_files: int = 0
    pages: int = 0
    records: dict[str, int] = field(default_factory=dict)
    pages_source: str = PAGES_FROM_WARC
    output: str = ""
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.exit_status == 0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def warc_mb_per_second(self) -> float:
        return self.warc_bytes / 1e6 / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        """CPU per captured page: crawlers that capture different counts compare fairly."""
        return self.cpu_seconds * 1000 / self.pages if self.pages else 0.0


@dataclass(frozen=True)
class Mode:
    """A crawler to measure: how to run it into a folder, and where its WARCs land there."""

    name: str
    command: Callable[[str, Path], list[str]]
    warc_glob: str
    cleanup: Callable[[Path], None] = lambda _: None  # drop bulky output that is not measured
    needs: str | None = None  # an option that may not exist yet; see unsupported()
    collection: str | None = None  # an archiver collection folder, whose run summary counts
    env: dict[str, str] | None = None  # added to the environment (another checkout's archiver)


def wget_command(url: str, out: Path) -> list[str]:
    # wget writes gzipped WARC by default and no CDX unless --warc-cdx; the mirrored files go
    # to files/ and are deleted after the run, as only the WARC is compared.
    return [
        "wget",
        "--recursive",
        "--level=inf",
        "--no-parent",
        "--no-verbose",
        f"--warc-file={out / 'wget'}",
        "-P",
        str(out / "files"),
        "-e",
        "robots=on",
        url,
    ]


def archiver_environment(checkout: Path) -> dict[str, str]:
    """Run the archiver of ``checkout``, whatever the current folder: ``python -m`` puts the
    current folder first on sys.path (the bench runs from a checkout of its own, whose
    archiver would win over PYTHONPATH), unless PYTHONSAFEPATH is set; the archive worker, a
    ``python -m`` of its own, inherits both."""
    return {"PYTHONPATH": str(checkout.resolve()), "PYTHONSAFEPATH": "1"}


# The bench measures speed, not manners: 8 requests in flight and no delay, as archiver's
# defaults were before the polite ones (2 per host, AutoThrottle), so figures stay comparable
# across versions; both options mean the same to archivers before and after.
SPEED_OPTIONS = ("--concurrency", "8", "--delay", "0")


def archiver_command(url: str, out: Path) -> list[str]:
    # A fresh collection each run: a second run into the same one would dedup against the first.
    return [*ARCHIVER, "crawl", url, "--output", str(out / "collection"), *SPEED_OPTIONS]


def archiver_no_warc_command(url: str, out: Path) -> list[str]:
    return [*archiver_command(url, out), "--no-warc"]


def archiver_from(checkout: Path) -> Mode:
    """The ``archiver`` mode, run from another checkout of the code (``--against``), so that
    a change is measured side by side with what it changes, in one bench."""
    return Mode(
        "archiver-before",
        archiver_command,
        "collection/warcs/*.warc.gz",
        collection="collection",
        env=archiver_environment(checkout),
    )


def _drop_files(out: Path) -> None:
    shutil.rmtree(out / "files", ignore_errors=True)


MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode("wget", wget_command, "wget*.warc.gz", cleanup=_drop_files),
        Mode(
            "archiver",
            archiver_command,
            "collection/warcs/*.warc.gz",
            collection="collection",
            env=archiver_environment(REPO),
        ),
        Mode(
            "archiver-no-warc",
            archiver_no_warc_command,
            "collection/warcs/*.warc.gz",
            needs="--no-warc",
            collection="collection",
            env=archiver_environment(REPO),
        ),
    )
}


@dataclass(frozen=True)
class ProcessRow:
    """One process of a measured tree, named for what it is to archiver."""

    role: str
    pid: int
    command: str
    peak_rss_mb: float
    cpu_seconds: float  # sampled from /proc: up to 20 ms short of the process's last


def process_role(command: str, root: bool) -> str:
    """What a process of a crawler's tree is: archiver's are recognised by their command line."""
    if root and " -m archiver" in command:
        return "crawl process"
    if "-m archiver.archive" in command or "multiprocessing.spawn" in command:
        return "archive worker"  # run as a program, or by multiprocessing's spawn before that
    if "multiprocessing.resource_tracker" in command:
        return "resource tracker"
    return Path(command.split(" ", 1)[0]).name or "process"


@dataclass(frozen=True)
class ChildUsage:
    exit_status: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # summed over the processes
    largest_rss_mb: float
    processes: tuple[ProcessRow, ...] = ()


def run_child(
    command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> ChildUsage:
    """Run ``command`` with its output to ``log``, and measure it."""
    environment = {**os.environ, **env} if env else None
    with log.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=environment, cwd=cwd
        )
        sampler = procfs.PeakRss(process.pid)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: do not leave the crawler running behind us
            process.kill()
            process.wait()
            raise
        finally:
            peak = sampler.stop()
        wall = time.perf_counter() - started
    # Popen did not reap the child itself; tell it, so it never waits on a reused pid.
    process.returncode = os.waitstatus_to_exitcode(status)
    rows = tuple(
        ProcessRow(
            process_role(seen.command, seen.pid == process.pid),
            seen.pid,
            seen.command,
            seen.peak_rss_mb,
            seen.cpu_seconds,
        )
        for seen in sampler.processes
    )
    return ChildUsage(
        process.returncode,
        wall,
        usage.ru_utime + usage.ru_stime,
        peak,
        sampler.largest_kib / 1024,
        rows,
    )


def unsupported(mode: Mode, exit_status: int, log: Path) -> str | None:
    """Why ``mode`` cannot run on this archiver (an option it does not have yet), or None."""
    if mode.needs is None or exit_status != EXIT_USAGE:
        return None
    text = log.read_text(errors="replace")
    if "unrecognized arguments" in text and mode.needs in text:
        return f"n/a (no {mode.needs} yet)"
    return None


def count_warc(paths: list[Path]) -> tuple[int, dict[str, int]]:
    """HTML pages in the WARC files (response and revisit records), and records by type."""
    pages = 0
    records: dict[str, int] = {}
    for path in paths:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                kind = record.rec_type
                records[kind] = records.get(kind, 0) + 1
                if kind in ("response", "revisit") and _is_html(record):
                    pages += 1
    return pages, records


def _is_html(record: object) -> bool:
    headers = getattr(record, "http_headers", None)
    if headers is None:  # a revisit without an HTTP head says nothing about its type
        return False
    content_type = headers.get_header("Content-Type") or ""
    return content_type.split(";")[0].strip().lower() == "text/html"


def pages_from_summary(collection: Path) -> tuple[int, str]:
    """Pages by archiver's run summary, and what was counted: the only count without a WARC.

    The ``text/html`` captures when the summary has them; a ``--no-warc`` run captures
    nothing, and its summary only says how many exchanges (pages and other files) it fetched.
    """
    summaries = sorted((collection / "runs").glob("*.json"))
    if not summaries:
        return 0, "no run summary"
    counts = json.loads(summaries[-1].read_text()).get("counts", {})
    html = int(counts.get("by_mime", {}).get("text/html", 0))
    if html:
        return html, "text/html captures in the run summary"
    fetched = int(counts.get("exchanges_captured", 0))
    return fetched, "all exchanges fetched (HTML and other files), from the run summary"


def measure(
    mode: Mode, run: int, url: str, out: Path, server_cpu: Callable[[], float]
) -> Measurement:
    """Crawl ``url`` with ``mode`` into the fresh folder ``out`` and measure it."""
    out.mkdir(parents=True)
    log = out / "crawl.log"
    cpu_before = server_cpu()
    busy_before = procfs.machine_busy_seconds()
    load = os.getloadavg()[0]
    usage = run_child(mode.command(url, out), log, mode.env)
    busy = procfs.machine_busy_seconds() - busy_before
    server = server_cpu() - cpu_before
    result = Measurement(
        mode.name,
        run,
        exit_status=usage.exit_status,
        wall_seconds=usage.wall_seconds,
        cpu_seconds=usage.cpu_seconds,
        peak_rss_mb=usage.peak_rss_mb,
        largest_rss_mb=usage.largest_rss_mb,
        processes=[asdict(row) for row in usage.processes],
        server_cpu_seconds=server,
        load_average=round(load, 2),
        other_cpu_seconds=max(0.0, busy - usage.cpu_seconds - server),
        output=str(out),
    )
    result.skipped = unsupported(mode, usage.exit_status, log)
    if result.skipped is not None:
        return result
    warcs = sorted(out.glob(mode.warc_glob))
    result.warc_files = len(warcs)
    result.warc_bytes = sum(path.stat().st_size for path in warcs)
    result.pages, result.records = count_warc(warcs)
    if result.pages == 0 and mode.collection:  # --no-warc: no records to count
        result.pages, result.pages_source = pages_from_summary(out / mode.collection)
    mode.cleanup(out)
    return result
