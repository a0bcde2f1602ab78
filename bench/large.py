"""``make bench-large``: archive very large bodies, several at once, and check they came whole.

    python -m bench.large [--parts 8] [--part-mib 500] [--big-mib 2048] [--concurrency 8]
                          [--rss-limit-mb 300] [--keep DIR] [--work DIR] [--checkout DIR]

Debian's nginx serves, on 127.0.0.1, a page linking ``--parts`` files of ``--part-mib`` MiB and
one of ``--big-mib`` MiB (``bench/largefiles.py``: pseudo-random bytes, generated once into the
work folder). archiver crawls it with ``--concurrency`` requests in flight, the parts first, so
they are all received at once. Then:

- the crawl's wall time, CPU, and peak RSS of each of its processes (crawl process, archive
  worker, any other) and their sum, against ``--rss-limit-mb`` per process;
- from nginx's access log, how many bodies were in flight at once, and that nginx sent each whole;
- from each file's response record (found by the CDXJ index, its head read from the gzip member
  without inflating the body): archived whole (payload length == file size, no WARC-Truncated)
  and WARC-Payload-Digest == the file's sha1;
- ``archiver verify`` (no ``--replay``) passes;
- ``archiver replay`` (pywb) serves each file, ``id_``, byte for byte: its sha1 is the file's.

A table is printed and the figures written to ``WORK/large.json``. The crawl's collection is
deleted afterwards unless ``--keep DIR`` keeps it there. Exit status 0 when every check holds,
1 when one does not, 2 when it could not run (no nginx, not enough disk).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from base64 import b32encode
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import nginx, procfs
from bench.crawl import ARCHIVER, REPO, ChildUsage, archiver_environment, run_child
from bench.largefiles import (
    MIB,
    PIECE,
    LargeFile,
    Sizes,
    earlier_sets,
    ensure_files,
    folder_bytes,
    missing_bytes,
)
from bench.run import machine

WORK = REPO / "output" / "bench"
GIB = 1 << 30
# archiver's --min-free-space default stops a crawl with less than this free: it must stay free.
ARCHIVER_FREE_SPACE_GUARD = 1_000_000_000
SLACK = 256 * MIB  # logs, index, dedup database, pywb's config
REPLAY_NAME = "large"
REPLAY_START_TIMEOUT = 60.0
REPLAY_READ_TIMEOUT = 300.0  # seconds without a byte from pywb before a fetch is given up
STOP_TIMEOUT = 10.0
HEAD_READ = 64 * 1024  # compressed bytes read at a time while looking for a record's heads
HEAD_LIMIT = 1 * MIB  # heads longer than this are not heads


class SetupError(RuntimeError):
    """The bench cannot run here: said in one line, exit status 2."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.large",
        description="Archive very large bodies, several in flight at once, and check them.",
    )
    parser.add_argument("--parts", type=int, default=8, help="files of --part-mib (default 8)")
    parser.add_argument("--part-mib", type=int, default=500, help="MiB each (default 500)")
    parser.add_argument("--big-mib", type=int, default=2048, help="the big file (default 2048)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="archiver's requests in flight (default 8)"
    )
    parser.add_argument(
        "--rss-limit-mb", type=float, default=300, help="peak RSS allowed per process (300)"
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the crawl's collection and logs in DIR"
    )
    parser.add_argument("--work", type=Path, default=WORK, help="files cache and results folder")
    parser.add_argument("--seed", type=int, default=Sizes.seed, help="file generator seed")
    parser.add_argument(
        "--checkout",
        type=Path,
        metavar="DIR",
        help="run the archiver of this checkout (default: the bench's own)",
    )
    args = parser.parse_args(argv)
    if min(args.parts, args.part_mib, args.big_mib, args.concurrency) < 1:
        parser.error("--parts, --part-mib, --big-mib and --concurrency must be at least 1")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep: {args.keep} is not empty")
    args.checkout = (args.checkout or REPO).resolve()
    if not (args.checkout / "archiver" / "__init__.py").is_file():
        parser.error(f"--checkout: {args.checkout} is not a checkout of archiver")
    args.sizes = Sizes(args.parts, args.part_mib, args.big_mib, args.seed)
    return args


# ----------------------------------------------------------------------------- disk space


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def check_disk(work: Path, outputs: Path, sizes: Sizes) -> dict[str, int]:
    """Raise SetupError unless the disks hold the files, and the crawl beside them.

    The crawl writes each body twice at worst at the same moment: into the collection's spool
    as it arrives and into the WARC (random bytes do not compress), the spool file removed only
    once its record is written; and archiver stops a crawl that leaves less than its guard free.
    """
    files = missing_bytes(work, sizes)
    crawl = 2 * sizes.total_bytes + ARCHIVER_FREE_SPACE_GUARD + SLACK
    freed = 0 if not files else sum(folder_bytes(path) for path in earlier_sets(work, sizes))
    same_disk = work.stat().st_dev == outputs.stat().st_dev
    needs = {work: files + (crawl if same_disk else 0)}
    if not same_disk:
        needs[outputs] = crawl
    for path, need in needs.items():
        free = _free_bytes(path) + (freed if path == work else 0)
        if free < need:
            raise SetupError(
                f"not enough disk space: {need / GIB:.1f} GiB needed on the disk of {path} "
                f"({files / GIB:.1f} GiB of files to generate, up to {crawl / GIB:.1f} GiB "
                f"for the crawl), {free / GIB:.1f} GiB free. Free some space, or use smaller "
                "files (--parts, --part-mib, --big-mib), or another --work or --keep folder"
            )
    return {"files_to_write": files, "crawl_needs": crawl, "free": _free_bytes(work)}


# ----------------------------------------------------------------------------- the crawl


@dataclass(frozen=True)
class Crawl:
    """The measured crawl."""

    usage: ChildUsage
    server_cpu_seconds: float
    other_cpu_seconds: float  # the rest of the machine's CPU meanwhile
    load_average: float
    collection: Path
    log: Path


def crawl(args: argparse.Namespace, url: str, out: Path, server: nginx.Nginx) -> Crawl:
    collection = out / "collection"
    log = out / "crawl.log"
    command = [
        *ARCHIVER,
        "crawl",
        url,
        "--output",
        str(collection),
        "--concurrency",
        str(args.concurrency),
        "--delay",
        "0",  # speed, not manners: no AutoThrottle pauses between the parts
        "--max-response-size",
        "0",  # no limit, whatever the default: every body is to come whole
    ]
    load = os.getloadavg()[0]
    server_before, busy_before = server.cpu_seconds(), procfs.machine_busy_seconds()
    usage = run_child(command, log, archiver_environment(args.checkout), cwd=out)
    busy = procfs.machine_busy_seconds() - busy_before
    server_cpu = server.cpu_seconds() - server_before
    return Crawl(
        usage,
        server_cpu,
        max(0.0, busy - usage.cpu_seconds - server_cpu),
        round(load, 2),
        collection,
        log,
    )


@dataclass(frozen=True)
class Served:
    """What nginx's access log says about one file."""

    path: str
    started: float  # epoch seconds
    ended: float
    status: int
    bytes_sent: int


def read_access_log(log: Path) -> list[Served]:
    served = []
    for line in log.read_text(errors="replace").splitlines():
        fields = line.split(" ", 4)
        if len(fields) != 5:
            continue
        ended, took, status, sent, uri = fields
        served.append(
            Served(
                uri.lstrip("/"), float(ended) - float(took), float(ended), int(status), int(sent)
            )
        )
    return served


def most_in_flight(served: list[Served], paths: set[str]) -> int:
    """The most requests for ``paths`` nginx was serving at one moment."""
    events = sorted(
        [(item.started, 1) for item in served if item.path in paths]
        + [(item.ended, -1) for item in served if item.path in paths]
    )  # an end sorts before a start at the same instant: touching is not overlapping
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


# ----------------------------------------------------------------------------- the records


@dataclass(frozen=True)
class Stored:
    """What the collection holds for one URL: its index line and its record's heads."""

    url: str
    timestamp: str
    record_type: str
    status: int | None
    payload_length: int  # block length less the HTTP head: the body as transferred
    digest: str | None  # WARC-Payload-Digest
    truncated: str | None  # WARC-Truncated
    chunked: bool  # Transfer-Encoding: chunked, so the body as transferred is not the entity
    warc: str
    offset: int


def index_lines(collection: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """url -> (timestamp, fields) from the CDXJ indexes (pywb's ``KEY TIMESTAMP {json}``)."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for path in sorted((collection / "indexes").glob("*.cdxj")):
        for line in path.read_text(encoding="utf-8").splitlines():
            _key, timestamp, fields = line.split(" ", 2)
            data = json.loads(fields)
            found[data["url"]] = (timestamp, data)
    return found


def _fields(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")
    return {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }


def record_heads(path: Path, offset: int) -> tuple[bytes, bytes]:
    """The WARC head and HTTP head of the record in the gzip member at ``offset``, inflating
    only as far as they go: the body, gigabytes perhaps, is never read."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = b""
    with path.open("rb") as warc:
        warc.seek(offset)
        while len(data) < HEAD_LIMIT and not inflater.eof:
            piece = warc.read(HEAD_READ)
            if not piece:
                break
            data += inflater.decompress(piece, HEAD_LIMIT)
            warc_end = data.find(b"\r\n\r\n")
            http_end = data.find(b"\r\n\r\n", warc_end + 4) if warc_end >= 0 else -1
            if http_end >= 0:
                return data[: warc_end + 4], data[warc_end + 4 : http_end + 4]
    raise ValueError(f"no WARC and HTTP heads at {path}:{offset}")


def stored(collection: Path, url: str, line: tuple[str, dict[str, str]]) -> Stored:
    timestamp, index = line
    warc = collection / "warcs" / index["filename"]
    offset = int(index["offset"])
    warc_head, http_head = record_heads(warc, offset)
    record = _fields(warc_head)
    http = _fields(http_head)
    status_line = http_head.split(b"\r\n", 1)[0].split()
    return Stored(
        url=url,
        timestamp=timestamp,
        record_type=record.get("warc-type", ""),
        status=int(status_line[1]) if len(status_line) > 1 else None,
        payload_length=int(record.get("content-length", "0")) - len(http_head),
        digest=record.get("warc-payload-digest"),
        truncated=record.get("warc-truncated"),
        chunked="chunked" in http.get("transfer-encoding", "").lower(),
        warc=index["filename"],
        offset=offset,
    )


# ----------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Replayed:
    url: str
    status: int | None
    length: int
    digest: str | None
    seconds: float
    error: str | None = None


def _wait_for_pywb(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + REPLAY_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"archiver replay exited with status {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"/{REPLAY_NAME}/")
            status = connection.getresponse().status
            connection.close()
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"pywb did not answer on port {port} within {REPLAY_START_TIMEOUT:.0f} s")


def fetch_id(port: int, url: str, timestamp: str) -> Replayed:
    """``id_`` replay of ``url``, digested as it streams in (never held whole)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REPLAY_READ_TIMEOUT)
    try:
        connection.request("GET", f"/{REPLAY_NAME}/{timestamp}id_/{url}")
        response = connection.getresponse()
        digest, length = hashlib.sha1(), 0
        while piece := response.read(PIECE):
            digest.update(piece)
            length += len(piece)
    except (OSError, http.client.HTTPException) as error:
        return Replayed(url, None, 0, None, time.perf_counter() - started, repr(error))
    finally:
        connection.close()
    text = "sha1:" + b32encode(digest.digest()).decode("ascii")
    return Replayed(url, response.status, length, text, time.perf_counter() - started)


@dataclass(frozen=True)
class Replay:
    fetched: list[Replayed]
    wall_seconds: float  # pywb's start included
    cpu_seconds: float  # pywb's, sampled
    peak_rss_mb: float  # pywb's
    error: str | None = None


def replay(args: argparse.Namespace, collection: Path, wanted: list[Stored], log: Path) -> Replay:
    """Serve the collection with ``archiver replay`` (pywb, in place) and fetch every file."""
    port = nginx.free_port()
    command = [*ARCHIVER, "replay", str(collection), "--port", str(port), "--no-frame"]
    command += ["--name", REPLAY_NAME]
    started = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **archiver_environment(args.checkout)},
        )
    sampler = procfs.PeakRss(process.pid)  # archiver replay becomes pywb (exec), same pid
    fetched: list[Replayed] = []
    error = None
    try:
        _wait_for_pywb(port, process)
        fetched = [fetch_id(port, item.url, item.timestamp) for item in wanted]
    except RuntimeError as problem:
        error = str(problem)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        peak = sampler.stop()
    cpu = sum(seen.cpu_seconds for seen in sampler.processes)
    return Replay(fetched, time.perf_counter() - started, cpu, peak, error)


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class FileResult:
    """Every check on one file."""

    path: str
    size: int
    digest: str
    served_whole: bool  # nginx logged 200 and every byte sent
    served_from: float  # seconds from the first file's request, by nginx's clock
    served_seconds: float  # from the request to the last byte nginx sent
    archived: bool  # a 200 response record
    whole: bool  # no WARC-Truncated, payload length == size
    digest_right: bool  # WARC-Payload-Digest == sha1 of the file
    replay_exact: bool  # pywb id_ gave back the file's bytes
    stored: dict[str, object] | None
    replayed: dict[str, object] | None

    @property
    def ok(self) -> bool:
        return self.archived and self.whole and self.digest_right and self.replay_exact


def judge(
    files: list[LargeFile],
    base_url: str,
    found: dict[str, Stored],
    served: list[Served],
    replayed: dict[str, Replayed],
) -> list[FileResult]:
    results = []
    wanted = {item.path for item in files}
    first = min((entry.started for entry in served if entry.path in wanted), default=0.0)
    for item in files:
        url = base_url + item.path
        record = found.get(url)
        sent = [entry for entry in served if entry.path == item.path]
        back = replayed.get(url)
        results.append(
            FileResult(
                path=item.path,
                size=item.size,
                digest=item.digest,
                served_whole=any(e.status == 200 and e.bytes_sent == item.size for e in sent),
                served_from=sent[-1].started - first if sent else 0.0,
                served_seconds=sent[-1].ended - sent[-1].started if sent else 0.0,
                archived=record is not None
                and record.record_type == "response"
                and record.status == 200,
                whole=record is not None
                and record.truncated is None
                and not record.chunked
                and record.payload_length == item.size,
                digest_right=record is not None and record.digest == item.digest,
                replay_exact=back is not None
                and back.status == 200
                and back.length == item.size
                and back.digest == item.digest,
                stored=asdict(record) if record is not None else None,
                replayed=asdict(back) if back is not None else None,
            )
        )
    return results


def failures(
    usage: ChildUsage,
    results: list[FileResult],
    verify_passed: bool,
    replayed: Replay,
    rss_limit_mb: float,
) -> list[str]:
    """Each check that does not hold, in a few words."""
    failed = []
    if usage.exit_status != 0:
        failed.append(f"the crawl exited with status {usage.exit_status}")
    over = [row for row in usage.processes if row.peak_rss_mb >= rss_limit_mb]
    failed += [f"{row.role} peaked at {row.peak_rss_mb:.0f} MB RSS" for row in over]
    for name, check in (
        ("not archived", "archived"),
        ("not whole", "whole"),
        ("payload digest differs", "digest_right"),
        ("replay differs", "replay_exact"),
    ):
        paths = [result.path for result in results if not getattr(result, check)]
        if paths:
            failed.append(f"{name}: {', '.join(paths)}")
    if not verify_passed:
        failed.append("archiver verify failed")
    if replayed.error:
        failed.append(f"replay: {replayed.error}")
    return failed


def _process_rows(usage: ChildUsage) -> list[dict[str, object]]:
    return [asdict(row) for row in usage.processes]


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def _print_report(
    host: dict[str, object],
    sizes: Sizes,
    args: argparse.Namespace,
    measured: Crawl,
    results: list[FileResult],
    in_flight: int,
    warc_bytes: int,
    warc_files: int,
    verified: ChildUsage,
    verify_passed: bool,
    replayed: Replay,
) -> None:
    total = sizes.total_bytes
    usage = measured.usage
    print()
    print(
        f"machine: {host['cpu']}, {host['cores']} cores, {host['memory_gb']} GB; "
        f"Python {host['python']}; {host['nginx']}; {host['archiver']} ({args.checkout})"
    )
    print(
        f"load average before the crawl: {measured.load_average}; CPU of the rest of the "
        f"machine during the crawl: {measured.other_cpu_seconds:.1f} s; "
        f"nginx: {measured.server_cpu_seconds:.1f} s"
    )
    print(
        f"bodies: {sizes.describe()}, {total / GIB:.2f} GiB in all; "
        f"archiver crawl --concurrency {args.concurrency} --delay 0 --max-response-size 0"
    )
    print()
    header = (
        f"{'step':<10}{'wall s':>9}{'CPU s':>9}{'MB/s':>9}{'RSS sum MB':>12}{'RSS proc MB':>13}"
    )
    print(header)
    print("-" * len(header))
    rows = (
        ("crawl", usage, usage.cpu_seconds),
        ("verify", verified, verified.cpu_seconds),
    )
    for name, step, cpu in rows:
        rate = total / 1e6 / step.wall_seconds if step.wall_seconds else 0.0
        print(
            f"{name:<10}{step.wall_seconds:>9.1f}{cpu:>9.1f}{rate:>9.1f}"
            f"{step.peak_rss_mb:>12.0f}{step.largest_rss_mb:>13.0f}"
        )
    rate = total / 1e6 / replayed.wall_seconds if replayed.wall_seconds else 0.0
    print(
        f"{'replay':<10}{replayed.wall_seconds:>9.1f}{replayed.cpu_seconds:>9.1f}{rate:>9.1f}"
        f"{replayed.peak_rss_mb:>12.0f}{replayed.peak_rss_mb:>13.0f}"
    )
    print()
    print(f"{'crawl process tree':<18}{'pid':>9}{'peak RSS MB':>13}{'CPU s':>9}")
    for row in usage.processes:
        print(f"{row.role:<18}{row.pid:>9}{row.peak_rss_mb:>13.0f}{row.cpu_seconds:>9.1f}")
    print(f"{'sum':<18}{'':>9}{usage.peak_rss_mb:>13.0f}{usage.cpu_seconds:>9.1f}")
    under = usage.largest_rss_mb < args.rss_limit_mb
    print(
        f"every process under {args.rss_limit_mb:.0f} MB: {_yes(under)} "
        f"(largest {usage.largest_rss_mb:.0f} MB)"
    )
    print()
    header = (
        f"{'file':<18}{'MiB':>6}{'sent at s':>11}{'for s':>7}{'served':>8}{'archived':>10}"
        f"{'whole':>7}{'digest':>8}{'replay':>12}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{result.path:<18}{result.size / MIB:>6.0f}{result.served_from:>11.1f}"
            f"{result.served_seconds:>7.1f}{_yes(result.served_whole):>8}"
            f"{_yes(result.archived):>10}{_yes(result.whole):>7}{_yes(result.digest_right):>8}"
            f"{'byte-exact' if result.replay_exact else 'DIFFERS':>12}"
        )
    print()
    print(f"bodies in flight at once (nginx's access log): {in_flight}")
    print(
        f"WARC: {warc_bytes / 1e6:.1f} MB in {warc_files} file(s), {warc_bytes / total:.4f}x bodies"
    )
    print(f"archiver verify: {'passed' if verify_passed else 'FAILED'}")
    if replayed.error:
        print(f"replay: {replayed.error}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _write_json(path: Path, data: dict[str, object]) -> None:
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(data, indent=2) + "\n")
    scratch.replace(path)


def run(args: argparse.Namespace, outputs: Path) -> int:
    sizes: Sizes = args.sizes
    binary = nginx.find_nginx()
    disk = check_disk(args.work, outputs, sizes)
    print(f"large files: {sizes.describe()} under {args.work / sizes.folder}", flush=True)
    started = time.perf_counter()
    root, files, made = ensure_files(args.work, sizes)
    if made:
        took = time.perf_counter() - started
        print(f"  generated in {took:.1f} s ({sizes.total_bytes / MIB / took:.0f} MiB/s)")
    else:
        print("  generated earlier, reused")
    host = machine(binary)
    when = datetime.datetime.now(datetime.UTC)
    access_log = outputs / "nginx-access.log"
    with nginx.serving(root, binary, access_log=access_log) as server:
        print(f"serving {root} at {server.base_url}; crawling", flush=True)
        measured = crawl(args, server.base_url, outputs, server)
        base_url = server.base_url
    print(
        f"crawl: exit {measured.usage.exit_status} in {measured.usage.wall_seconds:.1f} s",
        flush=True,
    )
    if measured.usage.exit_status != 0:
        print(_tail(measured.log))
    served = read_access_log(access_log)
    in_flight = most_in_flight(served, {item.path for item in files})
    index = index_lines(measured.collection) if (measured.collection / "indexes").is_dir() else {}
    urls = [base_url + item.path for item in files]
    found = {url: stored(measured.collection, url, index[url]) for url in urls if url in index}
    warcs = sorted((measured.collection / "warcs").glob("*.warc.gz"))
    warc_bytes = sum(path.stat().st_size for path in warcs)

    print("archiver verify", flush=True)
    verify_log = outputs / "verify.log"
    verified = run_child(
        [*ARCHIVER, "verify", str(measured.collection)],
        verify_log,
        archiver_environment(args.checkout),
        cwd=outputs,
    )
    verify_passed = verified.exit_status == 0
    if not verify_passed:
        print(_tail(verify_log))

    print("replay in pywb", flush=True)
    replayed = replay(args, measured.collection, list(found.values()), outputs / "replay.log")
    results = judge(files, base_url, found, served, {item.url: item for item in replayed.fetched})
    _print_report(
        host,
        sizes,
        args,
        measured,
        results,
        in_flight,
        warc_bytes,
        len(warcs),
        verified,
        verify_passed,
        replayed,
    )
    failed = failures(measured.usage, results, verify_passed, replayed, args.rss_limit_mb)
    ok = not failed
    results_file = args.work / "large.json"
    _write_json(
        results_file,
        {
            "started": when.isoformat(),
            "machine": host,
            "checkout": str(args.checkout),
            "sizes": asdict(sizes),
            "disk": disk,
            "concurrency": args.concurrency,
            "rss_limit_mb": args.rss_limit_mb,
            "ok": ok,
            "failed": failed,
            "crawl": {
                "exit_status": measured.usage.exit_status,
                "wall_seconds": measured.usage.wall_seconds,
                "cpu_seconds": measured.usage.cpu_seconds,
                "peak_rss_mb_sum": measured.usage.peak_rss_mb,
                "peak_rss_mb_largest": measured.usage.largest_rss_mb,
                "processes": _process_rows(measured.usage),
                "server_cpu_seconds": measured.server_cpu_seconds,
                "other_cpu_seconds": measured.other_cpu_seconds,
                "load_average": measured.load_average,
                "bodies_in_flight_max": in_flight,
                "warc_bytes": warc_bytes,
                "warc_files": len(warcs),
            },
            "verify": {
                "passed": verify_passed,
                "wall_seconds": verified.wall_seconds,
                "cpu_seconds": verified.cpu_seconds,
                "peak_rss_mb": verified.largest_rss_mb,
                "output": _tail(verify_log, 40),
            },
            "replay": {
                "wall_seconds": replayed.wall_seconds,
                "cpu_seconds": replayed.cpu_seconds,
                "peak_rss_mb": replayed.peak_rss_mb,
                "error": replayed.error,
            },
            "files": [asdict(result) for result in results],
            "served": [asdict(item) for item in served],
        },
    )
    print(f"results: {results_file}")
    print("every check holds" if ok else f"FAILED: {'; '.join(failed)}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    # Beside the files, on the disk a user's collections would be on, not a /tmp tmpfs.
    outputs = args.keep or Path(tempfile.mkdtemp(prefix="runs-large-", dir=args.work))
    try:
        return run(args, outputs)
    except (SetupError, nginx.NginxError) as problem:
        print(f"bench.large: {problem}", file=sys.stderr)
        return 2
    finally:
        if args.keep is None:
            shutil.rmtree(outputs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
