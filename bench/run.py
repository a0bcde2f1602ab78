"""``make bench``: crawl a generated site with wget and with archiver, alternating, and compare.

    python -m bench.run --pages 5000 --runs 3 [--modes wget,archiver,archiver-no-warc]
                        [--keep DIR]

The site (``bench/site.py``) is generated once per page count under ``output/bench/`` and
served by Debian's nginx on a free 127.0.0.1 port. Each run crawls it once with every mode,
into a fresh folder; the order of the modes rotates from run to run so that none always goes
first (into a colder page cache) or last. Afterwards the last archiver collection is checked
with ``archiver verify``, a table is printed, and everything is written to
``output/bench/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench import nginx, report
from bench.crawl import (
    ARCHIVER,
    MODES,
    PAGES_FROM_WARC,
    REPO,
    Measurement,
    archiver_from,
    measure,
)
from bench.site import DEFAULT_SEED, SiteInfo, ensure_site

WORK = REPO / "output" / "bench"
DEFAULT_MODES = "wget,archiver,archiver-no-warc"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark archiver against wget on nginx."
    )
    parser.add_argument("--pages", type=int, default=5000, help="HTML pages (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="crawls per mode (default 3)")
    parser.add_argument(
        "--modes", default=DEFAULT_MODES, help=f"comma-separated, from {', '.join(MODES)}"
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep every crawl's output (WARCs) in DIR"
    )
    parser.add_argument("--work", type=Path, default=WORK, help="site cache and results folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="site generator seed")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also crawl with the archiver of another checkout (mode archiver-before), "
        "alternating with this one",
    )
    args = parser.parse_args(argv)
    args.modes = [name.strip() for name in args.modes.split(",") if name.strip()]
    if args.against is not None:
        if not (args.against / "archiver" / "__init__.py").is_file():
            parser.error(f"--against: {args.against} is not a checkout of archiver")
        MODES["archiver-before"] = archiver_from(args.against)
        args.modes.append("archiver-before")
    unknown = [name for name in args.modes if name not in MODES]
    if unknown or not args.modes:
        parser.error(f"--modes: unknown {', '.join(unknown) or '(none given)'}")
    if args.pages < 1 or args.runs < 1:
        parser.error("--pages and --runs must be at least 1")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep: {args.keep} is not empty")
    return args


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(nginx_binary: str) -> dict[str, object]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9, 1),
        "kernel": platform.release(),
        # Other work on the machine skews every number; the load says whether there was any.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "nginx": nginx.version(nginx_binary),
        # "GNU Wget 1.21.3 built on linux-gnu." is all one line.
        "wget": _first_line(["wget", "--version"]).split(" built on ")[0],
        "archiver": _first_line([*ARCHIVER, "--version"]),
    }


def schedule(modes: list[str], runs: int) -> list[tuple[int, str]]:
    """(run, mode) pairs: every mode once per run, the order rotated by one each run."""
    pairs = []
    for run in range(1, runs + 1):
        shift = (run - 1) % len(modes)
        pairs += [(run, mode) for mode in modes[shift:] + modes[:shift]]
    return pairs


def _progress(result: Measurement, runs: int) -> str:
    head = f"run {result.run}/{runs} {result.mode:<17}"
    if result.skipped:
        return f"{head} {result.skipped}"
    status = "" if result.exit_status == 0 else f"  EXIT {result.exit_status}, see {result.output}"
    counted = f"{result.pages:>6}" + (" " if result.pages_source == PAGES_FROM_WARC else "*")
    return (
        f"{head} {counted} pages in {result.wall_seconds:6.1f} s "
        f"({result.pages_per_second:7.1f} pages/s), CPU {result.cpu_seconds:6.1f} s "
        f"({result.cpu_ms_per_page:5.2f} ms/page), RSS {result.peak_rss_mb:4.0f} MB "
        f"(largest process {result.largest_rss_mb:4.0f}), WARC {result.warc_bytes / 1e6:6.1f} MB, "
        f"others' CPU {result.other_cpu_seconds:4.1f} s{status}"
    )


def crawl_all(args: argparse.Namespace, server: nginx.Nginx, outputs: Path) -> list[Measurement]:
    """Every scheduled crawl. Outputs are deleted once measured, unless kept or failed; the
    newest archiver collection stays until the next replaces it, for ``archiver verify``."""
    results: list[Measurement] = []
    unavailable: dict[str, str] = {}  # mode -> why it cannot run
    newest_archiver: Path | None = None
    for run, name in schedule(args.modes, args.runs):
        if name in unavailable:  # an option archiver lacks will not appear between runs
            results.append(Measurement(name, run, skipped=unavailable[name]))
            continue
        out = outputs / f"{name}-{run}"
        result = measure(MODES[name], run, server.base_url, out, server.cpu_seconds)
        print(_progress(result, args.runs), flush=True)
        results.append(result)
        if result.skipped:
            unavailable[name] = result.skipped
        if not result.ok and not result.skipped:
            continue  # left for a look at its crawl.log
        if name == "archiver":
            out, newest_archiver = newest_archiver, out
        if out is not None and args.keep is None:
            shutil.rmtree(out, ignore_errors=True)
    return results


def verify(results: list[Measurement]) -> dict[str, object]:
    """``archiver verify`` on the newest archiver collection (no pywb replay: that is slow)."""
    archived = [r for r in results if r.mode == "archiver" and r.ok]
    if not archived:
        return {"ran": False, "passed": None, "output": "no archiver collection to verify"}
    collection = Path(archived[-1].output) / str(MODES["archiver"].collection)
    command = [*ARCHIVER, "verify", str(collection)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    return {
        "ran": True,
        "passed": result.returncode == 0,
        "run": archived[-1].run,
        "collection": str(collection),
        "output": output,
    }


def _write_json(path: Path, data: dict[str, object]) -> None:
    # Written aside and renamed, so a reader never sees half a file.
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(data, indent=2) + "\n")
    scratch.replace(path)


def _print_report(
    info: SiteInfo,
    host: dict[str, object],
    summaries: dict[str, report.Summary],
    checked: dict[str, object],
    runs: int,
) -> None:
    print()
    print(
        f"machine: {host['cpu']}, {host['cores']} cores, {host['memory_gb']} GB; "
        f"Python {host['python']}; {host['nginx']}; {host['wget']}; {host['archiver']}"
    )
    print(f"load average before the crawls: {host['load_average_1min']}")
    print(
        f"site: {info.pages} HTML pages ({info.duplicate_pages} duplicate payloads), "
        f"{info.html_bytes / 1e6:.1f} MB of HTML; {runs} run(s) per mode: medians, max peak RSS"
    )
    print()
    print(report.table(summaries, info.pages))
    others = ", ".join(
        f"{summary.mode} {summary.other_cpu_seconds:.1f} s"
        for summary in summaries.values()
        if summary.measured
    )
    print(f"CPU of the rest of the machine during a crawl, at most: {others}")
    print()
    print(report.ratio_lines(report.ratios(summaries)))
    print()
    if checked["ran"]:
        verdict = "passed" if checked["passed"] else "FAILED"
        print(f"archiver verify, collection of archiver run {checked['run']}: {verdict}")
        if not checked["passed"]:
            print(checked["output"])
    else:
        print(f"archiver verify: not run ({checked['output']})")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    binary = nginx.find_nginx()
    print(f"site of {args.pages} pages: generated once under {args.work}, then reused", flush=True)
    site, info = ensure_site(args.work, args.pages, args.seed)
    host = machine(binary)
    started = datetime.datetime.now(datetime.UTC)
    # Crawl outputs go beside the site, on the same disk a user's collections would be on
    # (/tmp may be a tmpfs, which would flatter every writer).
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    outputs = args.keep or Path(tempfile.mkdtemp(prefix="runs-", dir=args.work))
    results: list[Measurement] = []
    try:
        with nginx.serving(site, binary) as server:
            print(f"serving {site} at {server.base_url}", flush=True)
            results = crawl_all(args, server, outputs)
        checked = verify(results)
    finally:
        failed = [r for r in results if not r.ok and not r.skipped]
        if args.keep is None and not failed:
            shutil.rmtree(outputs, ignore_errors=True)
    summaries = {name: report.summarize(name, results) for name in args.modes}
    _print_report(info, host, summaries, checked, args.runs)
    latest = args.work / "latest.json"
    _write_json(
        latest,
        {
            "started": started.isoformat(),
            "machine": host,
            "site": asdict(info) | {"path": str(site)},
            "runs": args.runs,
            "modes": args.modes,
            "summary": {name: asdict(summary) for name, summary in summaries.items()},
            "ratios": report.ratios(summaries),
            "verify": checked,
            "measurements": [asdict(result) for result in results],
        },
    )
    print(f"results: {latest}")
    if failed:
        print(f"failed crawls: their output and crawl.log are kept in {outputs}")
    return 1 if failed or checked["passed"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
