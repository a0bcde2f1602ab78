"""archiver status: its figures against the summaries and files of real crawls of the sample
site (once, twice, killed, stopped), and what it says of a damaged or busy collection."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.cli.main import main
from archiver.collection.frontier import Frontier
from archiver.collection.lock import CollectionBusy, CollectionLock, read_lock
from archiver.model.fingerprint import Fingerprint
from samplesite.server import SampleSiteServer
from tests.conftest import FAST, SAMPLE_HOST, CrawlResult, crawl_site, run_archiver

PREFIX = "/archive/etext/"
MAX_LINES = 24  # one terminal screen


@pytest.fixture(scope="module")
def server() -> Iterator[SampleSiteServer]:
    with SampleSiteServer() as running:
        yield running


@pytest.fixture(scope="module")
def twice(server: SampleSiteServer, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """The sample site crawled twice into one collection (the second run all revisits)."""
    output = tmp_path_factory.mktemp("twice") / "coll"
    for _ in range(2):
        result = crawl_site(server, output)
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def killed(server: SampleSiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection whose only run was killed (SIGKILL) after some checkpoints."""
    output = tmp_path_factory.mktemp("killed") / "coll"
    crawl = _start(server, output, "--delay", "0.1", "--checkpoint-interval", "0.1")
    _wait_until(lambda: _open_index_lines(output) >= 5, crawl)
    crawl.kill()  # SIGKILL: no summary, files left .open, the lock file names the dead run
    crawl.wait()
    # The archive worker holds the lock too, and dies right after the crawl process.
    _wait_until(lambda: not read_lock(output).held)
    return output


def _crawl_args(server: SampleSiteServer, output: Path, *extra: str) -> list[str]:
    return [
        "crawl", f"http://{SAMPLE_HOST}:{server.port}{PREFIX}", "--output", str(output),
        *_resolve(server), *FAST, *extra,
    ]  # fmt: skip


def _resolve(server: SampleSiteServer) -> list[str]:
    return ["--resolve", f"{SAMPLE_HOST}:{server.port}:127.0.0.1"]


def _start(server: SampleSiteServer, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archiver", *_crawl_args(server, output, *extra)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_until(ready, crawl: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if crawl is not None and crawl.poll() is not None:
            raise AssertionError(f"the crawl ended (exit {crawl.returncode}) too early")
        time.sleep(0.02)
    raise AssertionError("timed out")


def _open_index_lines(output: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in output.glob("indexes/*.cdxj.open"))


def _status(capsys, root: Path, *extra: str) -> str:
    assert main(["status", str(root), *extra]) == 0
    return capsys.readouterr().out


def _status_json(capsys, root: Path) -> dict:
    return json.loads(_status(capsys, root, "--json"))


def _summaries(root: Path) -> list[dict]:
    paths = sorted((root / "runs").glob("*.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def _lines(paths: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in paths)


def _line(text: str, label: str) -> str:
    (found,) = [line for line in text.splitlines() if line.startswith(label)]
    return found


def _row(text: str, run_id: str) -> list[str]:
    (found,) = [line.split() for line in text.splitlines() if line.startswith(f"  {run_id} ")]
    return found


def _kb(n: int) -> str:
    assert 1e3 <= n < 1e6, n  # the sample site's files are all in kilobytes
    return f"{n / 1e3:.1f} kB"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


# --- figures against the files ------------------------------------------------------------------


@pytest.mark.e2e
def test_one_run_figures_match_its_summary_and_files(sample_crawl: CrawlResult, capsys):
    root = sample_crawl.output
    (summary,) = _summaries(root)
    run_id, counts = summary["run_id"], summary["counts"]
    data = _status_json(capsys, root)
    (run,) = data["runs"]
    assert run["run_id"] == run_id and run["outcome"] == "finished"
    assert run["captures"] == counts["captures_in_run"] == counts["captures"]
    assert run["pages"] == counts["documents"] == len(sample_crawl.manifest)
    assert run["changes"] == summary["changes"]["counts"]
    assert run["elapsed_seconds"] == summary["elapsed_seconds"]
    assert run["started"] == summary["started"]
    assert data["running"] is None and data["unfinished_run"] is None
    files = data["files"]
    warcs = sample_crawl.warcs
    assert files["warcs"] == {
        "count": len(warcs),
        "bytes": sum(p.stat().st_size for p in warcs),
        "lines": None,
    }
    assert files["warcs"]["bytes"] == summary["bytes"]["warc"]
    indexes = sorted((root / "indexes").glob("*.cdxj"))
    assert files["indexes"]["lines"] == _lines(indexes) == counts["captures"]
    assert files["manifest"]["lines"] == len(sample_crawl.manifest)
    assert files["manifest"]["bytes"] == (root / "manifest.jsonl").stat().st_size
    assert files["open_warcs"]["count"] == files["open_indexes"]["count"] == 0
    # The dedup index knows each URL captured once, and which of them are manifest pages.
    urls = {json.loads(line.split(" ", 2)[2])["url"] for p in indexes for line in p.open()}
    assert data["known"]["urls"] == len(urls)
    assert data["known"]["pages"] == len({page["url"] for page in sample_crawl.manifest})
    assert data["known"]["payloads"] == counts["records"]["response"]
    assert data["total_bytes"] == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.mark.e2e
def test_two_runs_text_report(twice: CrawlResult, capsys):
    root = twice.output
    text = _status(capsys, root)
    first, second = _summaries(root)
    assert len(text.splitlines()) <= MAX_LINES
    assert _line(text, "collection") == f"collection  {root}"
    assert _line(text, "now") == "now         idle: no crawl running, no run to resume"
    dates = [
        datetime.fromisoformat(s["started"]).strftime("%Y-%m-%d %H:%M") for s in (first, second)
    ]
    assert _line(text, "runs") == f"runs        2, first {dates[0]}, last {dates[1]} (UTC)"
    for summary, date in zip((first, second), dates, strict=True):
        counts, changes = summary["counts"], summary["changes"]["counts"]
        assert _row(text, summary["run_id"]) == [
            summary["run_id"], *date.split(), f"{summary['elapsed_seconds']:.1f}", "s",
            "finished", str(counts["captures"]), str(counts["documents"]),
            str(changes["new"]), str(changes["changed"]), str(changes["gone"]),
        ]  # fmt: skip
    # The first run found every page new; the second, of an unchanged site, none.
    assert first["changes"]["counts"]["new"] == first["counts"]["documents"] > 0
    assert second["changes"]["counts"]["unchanged"] == second["counts"]["documents"]
    warcs = twice.warcs
    assert len(warcs) == 2
    assert (
        _line(text, "WARCs") == f"WARCs       2 files, {_kb(sum(p.stat().st_size for p in warcs))}"
    )
    indexes = sorted((root / "indexes").glob("*.cdxj"))
    captures = first["counts"]["captures"] + second["counts"]["captures"]
    assert _lines(indexes) == captures
    index_bytes = sum(p.stat().st_size for p in indexes)
    assert _line(text, "indexes") == f"indexes     2 files, {_kb(index_bytes)}, {captures} lines"
    manifest = root / "manifest.jsonl"
    pages = first["counts"]["documents"] + second["counts"]["documents"]
    assert len(twice.manifest) == pages
    assert _line(text, "manifest") == f"manifest    {_kb(manifest.stat().st_size)}, {pages} lines"
    assert _line(text, "dedup") == f"dedup       {_kb((root / 'dedup.sqlite3').stat().st_size)}"
    # Both runs captured the same URLs, and the second stored no payload again.
    urls = first["counts"]["captures"]
    payloads = first["counts"]["records"]["response"]
    assert second["counts"]["records"].get("response", 0) == 0
    assert _line(text, "totals") == (
        f"totals      {captures} captures of {urls} URLs "
        f"({first['counts']['documents']} of them pages), {payloads} distinct payloads"
    )
    run_id = second["run_id"]
    assert _line(text, "last run") == (
        f"last run    {run_id} finished in {second['elapsed_seconds']:.1f} s: "
        f"{second['counts']['captures']} captures, {second['counts']['documents']} pages"
    )
    assert f"  summary   {root / 'runs' / (run_id + '.json')}" in text.splitlines()
    assert f"  report    {root / 'runs' / run_id / 'report.html'}" in text.splitlines()
    assert f"  log       {root / 'logs' / (run_id + '.log')}" in text.splitlines()


@pytest.mark.e2e
def test_through_a_pipe_the_report_is_plain_text_and_the_same(twice: CrawlResult, capsys):
    proc = run_archiver("status", str(twice.output))
    assert proc.returncode == 0 and proc.stderr == ""
    assert "\x1b" not in proc.stdout
    assert proc.stdout == _status(capsys, twice.output)


@pytest.mark.e2e
def test_status_writes_nothing_to_the_collection(twice: CrawlResult, capsys):
    before = _snapshot(twice.output)
    _status(capsys, twice.output)
    _status_json(capsys, twice.output)
    # Not even SQLite's -wal and -shm files, which a read-only connection would leave.
    assert _snapshot(twice.output) == before


# --- unfinished runs ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_killed_run_is_resumable_and_the_printed_command_resumes_it(
    killed: Path, server: SampleSiteServer, tmp_path: Path, capsys
):
    root = tmp_path / "coll"
    shutil.copytree(killed, root)
    (index,) = root.glob("indexes/*.cdxj.open")
    run_id = index.name.removesuffix(".cdxj.open")
    holder = json.loads((root / ".archiver.lock").read_text())
    assert not list(root.glob("runs/*.json"))
    text = _status(capsys, root)
    assert len(text.splitlines()) <= MAX_LINES
    assert _line(text, "now") == (
        f"now         run {run_id} is unfinished (its process died: pid {holder['pid']} "
        f"on {holder['host']}); the same crawl resumes it:"
    )
    seed = f"http://{SAMPLE_HOST}:{server.port}{PREFIX}"
    command = f"archiver crawl {seed} --output {root}"
    assert _line(text, "resume") == f"resume      {command}"
    captures = _lines([index])
    assert captures >= 5
    assert _row(text, run_id)[4:6] == ["died", str(captures)]
    (warc,) = root.glob("warcs/*.warc.gz.open")
    assert _line(text, "WARCs") == (
        f"WARCs       0 files, 0 B; 1 .open ({_kb(warc.stat().st_size)}), "
        "left by a crash: the next crawl repairs"
    )
    assert _line(text, "last run") == (
        f"last run    {run_id} died without a summary (killed?), {captures} captures committed; "
        "resumable"
    )
    # The command resumes the run (with --resolve, which a public site would not need).
    words = shlex.split(command)
    assert words[:2] == ["archiver", "crawl"]
    proc = subprocess.run(
        [sys.executable, "-m", "archiver", *words[1:], *_resolve(server)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"resuming run {run_id}" in proc.stderr
    data = _status_json(capsys, root)
    assert data["unfinished_run"] is None and data["resume_command"] is None
    ((run),) = data["runs"]
    assert (run["run_id"], run["outcome"], run["resumes"]) == (run_id, "finished", 1)
    assert (
        run["captures"]
        == json.loads((root / "runs" / f"{run_id}.json").read_text())["counts"]["captures_in_run"]
    )


@pytest.mark.e2e
def test_a_stopped_run_shows_its_reason_and_the_resume_command(
    server: SampleSiteServer, tmp_path: Path, capsys
):
    root = tmp_path / "coll"
    crawl = _start(server, root, "--delay", "0.1", "--exclude", r"\.pdf$")
    _wait_until(lambda: len(list(root.glob("warcs/*.open"))) == 1, crawl)
    time.sleep(0.5)
    crawl.send_signal(signal.SIGTERM)
    _, stderr = crawl.communicate(timeout=60)
    assert crawl.returncode == 1 and "stopped early (shutdown)" in stderr, stderr
    (summary,) = _summaries(root)
    run_id, counts = summary["run_id"], summary["counts"]
    text = _status(capsys, root)
    assert _line(text, "now") == (
        f"now         run {run_id} is unfinished (stopped early); the same crawl resumes it:"
    )
    seed = f"http://{SAMPLE_HOST}:{server.port}{PREFIX}"
    assert _line(text, "resume") == (
        f"resume      archiver crawl {seed} --output {root} --exclude '\\.pdf$'"
    )
    assert _row(text, run_id)[5:8] == [
        "shutdown",
        str(counts["captures"]),
        str(counts["documents"]),
    ]
    assert _line(text, "last run") == (
        f"last run    {run_id} stopped: shutdown, after {summary['elapsed_seconds']:.1f} s: "
        f"{counts['captures']} captures, {counts['documents']} pages; resumable"
    )


@pytest.mark.e2e
def test_a_crawl_holding_the_lock_is_reported_running(twice: CrawlResult, tmp_path: Path, capsys):
    root = tmp_path / "coll"
    shutil.copytree(twice.output, root)
    lock = CollectionLock(root)
    lock.acquire("20991231235959")  # a run with no summary yet, as a new crawl has
    # ... and a frontier, as every crawl has while it runs.
    frontier = Frontier.for_collection(root)
    frontier.begin("20991231235959", Fingerprint(seeds=("http://a.test/",)))
    frontier.close()
    try:
        text = _status(capsys, root)
        holder = json.loads((root / ".archiver.lock").read_text())
        assert _line(text, "now") == (
            f"now         crawling: run 20991231235959 (pid {os.getpid()} on {holder['host']}, "
            f"since {holder['started']})"
        )
        assert "resume" not in text
        data = _status_json(capsys, root)
        assert data["running"] == "20991231235959"
        assert data["unfinished_run"] is None and data["resume_command"] is None
        assert _row(text, "20991231235959")[4] == "running"
        assert _line(text, "last run").startswith("last run    20991231235959 running now")
        # Looking did not loosen the holder's grip.
        with pytest.raises(CollectionBusy):
            CollectionLock(root).acquire("another")
    finally:
        lock.release()
    # Released with no summary written (as when the disk filled up): left to resume.
    text = _status(capsys, root)
    assert _line(text, "now") == (
        "now         run 20991231235959 is unfinished (stopped early); the same crawl resumes it:"
    )
    assert _line(text, "resume") == f"resume      archiver crawl http://a.test/ --output {root}"
    assert _row(text, "20991231235959")[4] == "unfinished"


# --- damage and bad input -----------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"run_id": "20', "Unterminated string"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff{}", "utf-8"),
    ],
)
def test_a_corrupt_summary_is_listed_unreadable_not_a_crash(
    twice: CrawlResult, tmp_path: Path, capsys, content: bytes, problem: str
):
    root = tmp_path / "coll"
    shutil.copytree(twice.output, root)
    first, second = sorted((root / "runs").glob("*.json"))
    good = json.loads(second.read_text())
    first.write_bytes(content)
    text = _status(capsys, root)
    assert _row(text, first.stem)[3:7] == ["-", "summary", "unreadable", "-"]
    assert _row(text, second.stem)[6] == str(good["counts"]["captures"])
    data = _status_json(capsys, root)
    assert problem in data["runs"][0]["problem"]
    # The last run's own summary unreadable: its line says so.
    second.write_bytes(content)
    assert _line(_status(capsys, root), "last run").startswith(
        f"last run    {second.stem} summary unreadable: "
    )


def test_a_folder_that_is_not_a_collection_is_exit_2_with_one_line(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an archiver collection" in err
    proc = run_archiver("status", str(tmp_path / "missing"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"archiver: error: {tmp_path / 'missing'} does not exist or is not a folder; "
        "give a collection folder\n"
    )


# --- many runs ----------------------------------------------------------------------------------


def _fabricate_runs(root: Path, count: int) -> list[str]:
    """Copies of the collection's real last summary as COUNT runs hourly through 2025, all
    before the real runs: made up for this test, as crawling 40 times would take minutes."""
    template = json.loads(max((root / "runs").glob("*.json")).read_text())
    ids = []
    for n in range(count):
        started = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        run_id = started.strftime("%Y%m%d%H%M%S")
        summary = template | {"run_id": run_id, "started": started.isoformat()}
        (root / "runs" / f"{run_id}.json").write_text(json.dumps(summary))
        ids.append(run_id)
    return ids


@pytest.mark.e2e
def test_many_runs_fit_one_screen(twice: CrawlResult, tmp_path: Path, capsys):
    root = tmp_path / "coll"
    shutil.copytree(twice.output, root)
    fake = _fabricate_runs(root, 40)
    real = sorted(p.stem for p in (twice.output / "runs").glob("*.json"))
    text = _status(capsys, root)
    lines = text.splitlines()
    assert len(lines) <= MAX_LINES, text
    assert _line(text, "runs").startswith("runs        42, first 2025-01-01 00:00, last ")
    assert "  … and 37 earlier runs" in lines
    shown = [line.split()[0] for line in lines if line.startswith("  20")]
    assert shown == [*fake[-3:], *real]
    assert len(_status_json(capsys, root)["runs"]) == 42
    assert len(_status(capsys, root, "--runs", "12").splitlines()) == len(lines) + 7


@pytest.mark.e2e
def test_many_runs_and_an_unfinished_one_still_fit_one_screen(killed: Path, tmp_path: Path, capsys):
    # The longest report: a resume command, files left .open, and an "earlier runs" line.
    root = tmp_path / "coll"
    shutil.copytree(killed, root)
    (root / "runs").mkdir(exist_ok=True)
    template = {"finish_reason": "finished", "counts": {"captures": 1, "documents": 1}}
    for n in range(30):
        run_id = f"2025010100{n:02d}00"
        (root / "runs" / f"{run_id}.json").write_text(json.dumps(template | {"run_id": run_id}))
    text = _status(capsys, root)
    assert len(text.splitlines()) <= MAX_LINES, text
    assert "resume      archiver crawl" in text and "  … and 26 earlier runs" in text
