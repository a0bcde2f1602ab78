"""``make bench-traps``: crawl the all-traps site (samplesite/traps.py) and say what it cost.

    python -m bench.traps [--against CHECKOUT] [--time-limit 300] [--keep DIR]

The site is served by the sample server on a free 127.0.0.1 port, in this process, which logs
every request it answers. The crawl is seeded at /hostile/traps/ with /hostile/ as its scope
(some trap kinds are the hostile server's own resources there) and otherwise the defaults,
with ``--delay 0 --concurrency 8`` so that politeness defaults do not make it a test of
patience. With ``--against``, the archiver of another checkout crawls the same site the same
way afterwards (through PYTHONPATH and PYTHONSAFEPATH, as ``bench.run --against``).

A crawl still running at ``--time-limit`` gets SIGTERM, as ``timeout`` sends it, and SIGKILL
30 s later if it has not stopped. For each crawl the table gives the requests of each trap
kind (from the server's log), their total, whether the normal 15-level tree was captured
whole (every page and image in the collection's index), the exit status, the peak RSS of
each process of the crawl (sampled from /proc), the wall time, the ``.open`` files left, and
whether ``archiver verify`` (this checkout's) passes. Not a test: nothing here is timed
against a limit; tests/test_traps.py checks the bounds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import procfs
from bench.crawl import ARCHIVER, REPO, archiver_environment, process_role
from samplesite import traps
from samplesite.server import SampleSiteServer

HOST = "sample.archiver.test"
SEED = traps.PREFIX
KILL_GRACE = 30.0  # seconds between SIGTERM and SIGKILL at the time limit
NOT_TRAPS = ("tree", "items", "other")


@dataclass
class Result:
    label: str
    checkout: str
    exit_status: int | None = None
    stopped: str = ""  # "", or how the time limit stopped it: SIGTERM, SIGKILL
    wall_seconds: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)  # by trap kind
    trap_requests: int = 0
    tree_complete: bool = False
    tree_missing: int = 0
    items_missing: int = 0  # numbered pages found through each other, not a trap
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # by process role
    open_files: int = 0
    verify_ok: bool = False
    finish_reason: str | None = None
    counts_traps: dict[str, int] = field(default_factory=dict)
    counts_links: dict[str, int] = field(default_factory=dict)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.traps", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT", help="also crawl with this checkout's archiver"
    )
    parser.add_argument(
        "--time-limit", type=float, default=300, metavar="SECONDS",
        help="SIGTERM a crawl still running after this long (default 300)",
    )  # fmt: skip
    parser.add_argument(
        "--without", action="append", default=[], metavar="KIND",
        help="leave out a trap kind (--exclude of its URLs), e.g. wide; repeatable",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the collections in DIR")
    parser.add_argument(
        "--json", type=Path, default=REPO / "output" / "bench" / "traps.json",
        help="write the results here (default output/bench/traps.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    names = {kind.name for kind in traps.KINDS}
    if unknown := [name for name in args.without if name not in names]:
        parser.error(f"--without: unknown {', '.join(unknown)}; kinds: {', '.join(sorted(names))}")
    if args.against is not None and not (args.against / "archiver" / "__init__.py").is_file():
        parser.error(f"--against: {args.against} is not a checkout of archiver")
    return args


def run_limited(
    command: list[str], log: Path, env: dict[str, str], limit: float
) -> tuple[int, str, float, dict[str, float]]:
    """Run a crawl with its output to ``log``: exit status, how the limit stopped it (if it
    did), wall seconds and each process's peak RSS in MB, by role."""
    with log.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
            env={**_environ(), **env},
        )  # fmt: skip
        sampler = procfs.PeakRss(process.pid)
        stopped = ""
        try:
            try:
                process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                stopped = "SIGTERM"
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=KILL_GRACE)
                except subprocess.TimeoutExpired:
                    stopped = "SIGKILL"
                    _kill_tree(process.pid)
                    process.wait()
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
    peaks: dict[str, float] = {}
    for seen in sampler.processes:
        role = process_role(seen.command, seen.pid == process.pid)
        peaks[role] = max(peaks.get(role, 0.0), seen.peak_rss_mb)
    return process.returncode, stopped, wall, peaks


def _kill_tree(pid: int) -> None:
    # The archive worker is a child of the crawl: a SIGKILL of the crawl alone leaves it.
    for child in procfs.descendants(pid):
        _signal(child, signal.SIGKILL)
    _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _environ() -> dict[str, str]:
    return dict(os.environ)


def indexed_urls(collection: Path) -> set[str]:
    """Every URL in the collection's CDXJ indexes (open ones included)."""
    urls: set[str] = set()
    for path in (collection / "indexes").glob("*"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            _, _, rest = line.partition(" {")
            if rest:
                try:
                    urls.add(json.loads("{" + rest).get("url", ""))
                except ValueError:
                    continue
    return urls


def crawl(label: str, checkout: Path, work: Path, limit: float, without: list[str]) -> Result:
    result = Result(label, str(checkout))
    collection = work / label
    with SampleSiteServer() as server:
        base = f"http://{HOST}:{server.port}"
        command = [
            *ARCHIVER, "crawl", base + SEED, "--output", str(collection),
            "--resolve", f"{HOST}:{server.port}:127.0.0.1", "--scope", base + "/hostile/",
            "--delay", "0", "--concurrency", "8", "--progress", "off",
        ]  # fmt: skip
        for kind in traps.KINDS:
            if kind.name in without:
                command += ["--exclude", "^" + re.escape(base + kind.prefix)]
        env = archiver_environment(checkout)
        status, stopped, wall, peaks = run_limited(command, work / f"{label}.log", env, limit)
        served = list(server.requests)
    result.exit_status, result.stopped, result.wall_seconds = status, stopped, wall
    result.peak_rss_mb = peaks
    kinds = Counter(traps.kind_of(r.target) for r in served)
    result.requests = {k.name: kinds.get(k.name, 0) for k in traps.KINDS}
    result.trap_requests = sum(result.requests.values())
    indexed = indexed_urls(collection)
    missing = [p for p in traps.tree_pages() if base + p not in indexed]
    result.tree_missing, result.tree_complete = len(missing), not missing
    result.items_missing = sum(base + p not in indexed for p in traps.item_pages())
    result.open_files = len(list(collection.rglob("*.open")))
    verify = subprocess.run(
        [*ARCHIVER, "verify", str(collection)], capture_output=True, env=_environ(), cwd=REPO
    )
    result.verify_ok = verify.returncode == 0
    for summary_path in sorted((collection / "runs").glob("*.json")):
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        result.finish_reason = summary.get("finish_reason")
        result.counts_traps = dict(summary.get("counts", {}).get("traps") or {})
        result.counts_links = dict(summary.get("counts", {}).get("links") or {})
    return result


def _status(result: Result) -> str:
    return f"{result.exit_status}" + (f" ({result.stopped})" if result.stopped else "")


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def print_table(results: list[Result]) -> None:
    width = 16
    print(f"{'':<24}" + "".join(f"{r.label:>{width}}" for r in results))

    def row(name: str, values: list[str]) -> None:
        print(f"{name:<24}" + "".join(f"{v:>{width}}" for v in values))

    for kind in traps.KINDS:
        row(f"requests {kind.name}", [f"{r.requests.get(kind.name, 0):,}" for r in results])
    row("trap requests in all", [f"{r.trap_requests:,}" for r in results])
    row("15-level tree whole", [_yes(r.tree_complete) for r in results])
    row("numbered items whole", [_yes(not r.items_missing) for r in results])
    row(
        "exit status",
        [f"{r.exit_status}" + (f" ({r.stopped})" if r.stopped else "") for r in results],
    )
    roles = sorted({role for r in results for role in r.peak_rss_mb})
    for role in roles:
        row(f"peak RSS MB {role}"[:24], [f"{r.peak_rss_mb.get(role, 0):.0f}" for r in results])
    row("wall time s", [f"{r.wall_seconds:.1f}" for r in results])
    row(".open files left", [str(r.open_files) for r in results])
    row("archiver verify", ["passes" if r.verify_ok else "FAILS" for r in results])
    row("finish reason", [str(r.finish_reason) for r in results])
    for r in results:
        print(f"{r.label}: counts.traps {r.counts_traps}, counts.links {r.counts_links}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    checkouts = [("current", REPO)]
    if args.against is not None:
        checkouts.append(("against", args.against.resolve()))
    work = Path(tempfile.mkdtemp(prefix="bench-traps-"))
    try:
        results = []
        for label, checkout in checkouts:
            print(f"crawling the all-traps site with {checkout} ...", file=sys.stderr, flush=True)
            results.append(crawl(label, checkout, work, args.time_limit, args.without))
        print_table(results)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        if args.keep is not None:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
