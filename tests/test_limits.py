"""Run limits: --max-duration and --max-bytes stop a run cleanly (exit 0, nothing .open, the
collection verifies), the summary, report and status say why, and the next run of the same
command resumes and ends with every URL of a full crawl captured once."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from archiver.cli.main import main
from archiver.cli.options import parse_duration, parse_size, to_settings
from archiver.crawl.limits import CHECK_SECONDS, RunLimits
from archiver.model.errors import ConfigError
from archiver.model.stops import StopReason
from archiver.tools.endings import ending, ending_sentence, human_duration
from archiver.tools.verify import verify_collection
from samplesite.server import SampleSiteServer
from tests.conftest import CrawlResult, crawl_site
from tests.warcread import captures_by_url

# --- the option parsers and the words (no crawl) --------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5400", 5400), ("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400),
        ("1.5h", 5400), (" 2 S ", 2), ("0", 0), (45, 45), (2.5, 2.5),
    ],
)  # fmt: skip
def test_durations_are_seconds_or_a_number_with_a_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "-1", "1w", "1h30m", "six hours", "5 minutes", True])
def test_a_duration_that_is_not_one_is_refused(text):
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration(text)


def test_both_limits_reach_the_crawl_settings_and_default_to_none():
    settings = to_settings({"max-duration": "30m", "max-bytes": "2G"})
    assert settings == {"ARCHIVER_MAX_DURATION": 1800.0, "ARCHIVER_MAX_BYTES": 2_000_000_000}
    # --max-bytes takes sizes as --warc-size and --max-response-size do: one parser.
    assert parse_size("500M") == 500_000_000
    from archiver.crawl import settings as crawl_settings

    assert crawl_settings.ARCHIVER_MAX_DURATION == 0 and crawl_settings.ARCHIVER_MAX_BYTES == 0


def test_a_bad_limit_is_a_usage_error(tmp_path: Path, capsys):
    output = str(tmp_path / "c")
    code = main(["crawl", "http://a.test/", "--output", output, "--max-duration", "soon"])
    assert code == 2
    assert "--max-duration: 'soon' is not a duration" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_the_limit_stops_are_resumable_and_no_error():
    for reason in (StopReason.MAX_DURATION, StopReason.MAX_BYTES):
        assert reason.resumable and reason.by_limit
    assert not any(r.by_limit for r in StopReason if r not in ("max_duration", "max_bytes"))
    assert StopReason("max_duration") is StopReason.MAX_DURATION


def test_every_stop_reason_reads_as_words_not_as_its_token():
    for reason in StopReason:
        said = ending(reason, elapsed_seconds=1834.2, warc_bytes=2_100_000_000)
        # Each has words of its own, not the fallback that repeats an unknown token.
        assert not said.endswith(f": {reason}") and "_" not in said, said
        sentence = ending_sentence(reason, elapsed_seconds=1834.2, warc_bytes=2_100_000_000)
        assert ("resume it with the same archiver crawl command" in sentence) == reason.resumable
    assert ending(StopReason.FINISHED) == "finished: nothing left to fetch"
    assert ending(StopReason.MAX_DURATION, elapsed_seconds=1800.4) == (
        "stopped after 30 min at its time limit (--max-duration)"
    )
    assert ending(StopReason.MAX_BYTES, warc_bytes=2_000_000_123) == (
        "stopped after writing 2.0 GB of WARC at its size limit (--max-bytes)"
    )
    assert ending(StopReason.SHUTDOWN, elapsed_seconds=5) == (
        "interrupted after 5 s (Ctrl-C, SIGINT or SIGTERM)"
    )
    assert ending(StopReason.DISK_FULL).startswith("stopped: disk full")
    # A reason of another version, or of a Scrapy extension, is kept as it was said.
    assert ending(StopReason("closespider_timeout")) == "stopped: closespider_timeout"
    assert ending(None) == "how it ended was not recorded"


def test_durations_read_as_people_say_them():
    said = [human_duration(s) for s in (2.43, 45, 90, 1800, 3600, 5400, 86400, 93600)]
    assert said == ["2.43 s", "45 s", "2 min", "30 min", "1 h", "1 h 30 min", "1 d", "1 d 2 h"]


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def get_value(self, key: str, default: int = 0) -> int:
        return self.values.get(key, default)


def _limits(max_seconds: float = 0, max_bytes: int = 0):
    now = [100.0]
    stops: list[StopReason] = []
    stats = _Stats()
    limits = RunLimits(
        max_seconds=max_seconds, max_bytes=max_bytes, started=100.0, stats=stats,  # type: ignore[arg-type]
        stop=lambda reason, _message: stops.append(reason), clock=lambda: now[0],
    )  # fmt: skip
    return limits, now, stats, stops


def test_the_time_limit_counts_from_the_runs_start_and_stops_once():
    limits, now, _, stops = _limits(max_seconds=10)
    now[0] = 109.9
    limits.check()
    assert stops == []
    now[0] = 110.0
    limits.check()
    limits.check()
    assert stops == [StopReason.MAX_DURATION]


def test_the_size_limit_counts_warc_bytes_written():
    limits, now, stats, stops = _limits(max_bytes=1000)
    stats.values["archiver/warc_bytes"] = 999
    limits.check()
    assert stops == []
    stats.values["archiver/warc_bytes"] = 1000
    now[0] = 1e9  # no time limit: time alone stops nothing
    limits.check()
    assert stops == [StopReason.MAX_BYTES]


# --- real crawls of the sample site ------------------------------------------------------------

# The limit: time enough to start and capture something on a loaded machine, while the
# crawl below needs far longer.
DURATION = 5.0
# A pause between requests that makes the sample site (82 URLs) take over 30 s to crawl; and
# long enough that the requests queued behind it when the limit comes (up to --concurrency)
# would reach the server seconds after the limit, were they not held back.
DELAY = "0.5"
MAX_BYTES = 40_000  # about a third of the sample site's WARC


@pytest.fixture(scope="module")
def server() -> Iterator[SampleSiteServer]:
    with SampleSiteServer() as running:
        yield running


@pytest.fixture(scope="module")
def reference(server: SampleSiteServer, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The URLs a single full crawl captures."""
    result = crawl_site(server, tmp_path_factory.mktemp("reference") / "coll")
    assert result.returncode == 0, result.stderr
    return set(captures_by_url(result.output))


def _summary(root: Path) -> dict:
    (path,) = (root / "runs").glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _assert_clean_stop(result: CrawlResult, reason: str) -> dict:
    assert result.returncode == 0, result.stderr  # a limit the operator set is no error
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("archiver: stopped") and "run the same command again" in last, last
    summary = _summary(result.output)
    assert summary["finish_reason"] == reason and summary["resumable"] is True
    assert not list(result.output.rglob("*.open")), "a clean stop closes every file"
    assert (result.output / "frontier.sqlite3").exists(), "the frontier is kept to resume"
    report = verify_collection(result.output)
    assert report.ok, [f"{p.check}: {p.message}" for p in report.problems][:10]
    return summary


def _assert_resumes_whole(server: SampleSiteServer, root: Path, reference: set[str]) -> None:
    """The same command again resumes the run; across both, every URL once."""
    again = crawl_site(server, root)
    assert again.returncode == 0, again.stderr
    assert "resuming run" in again.stderr, again.stderr
    captured = captures_by_url(root)
    assert not [url for url, n in captured.items() if n > 1], "captured twice"
    assert set(captured) == reference, sorted(set(captured) ^ reference)[:5]
    assert _summary(root)["finish_reason"] == "finished"
    assert not (root / "frontier.sqlite3").exists()
    assert verify_collection(root).ok


def _report_ending(root: Path, run_id: str) -> tuple[str, str]:
    page = (root / "runs" / run_id / "report.html").read_text(encoding="utf-8")
    match = re.search(r'<p class="ending" data-ending="([a-z_]*)">([^<]*)</p>', page)
    assert match, "the report says why the run ended"
    return match.group(1), html.unescape(match.group(2))


def _status_line(capsys, root: Path, label: str) -> str:
    capsys.readouterr()
    assert main(["status", str(root)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith(label)]
    return line


@pytest.mark.e2e
def test_max_duration_stops_the_run_cleanly_and_the_next_run_resumes(
    server: SampleSiteServer, reference: set[str], tmp_path: Path, capsys
):
    root = tmp_path / "coll"
    result = crawl_site(
        server, root, "/archive/etext/", "--delay", DELAY, "--max-duration", f"{DURATION:g}s"
    )
    summary = _assert_clean_stop(result, "max_duration")
    # The limit really cut the crawl short ...
    assert 0 < summary["counts"]["captures"] < len(reference)
    # ... not before it was reached, and soon after: the server saw no request later than
    # a moment past the limit (the run's start is when the limit counts from; queued
    # requests are held back, not sent a host delay apart), and the run ended once the
    # requests in flight had finished.
    started = datetime.fromisoformat(summary["started"]).timestamp()
    last_request = max(r.timestamp for r in result.requests) - started
    assert summary["elapsed_seconds"] >= DURATION
    assert last_request <= DURATION + CHECK_SECONDS + 1.0, last_request
    assert summary["elapsed_seconds"] <= DURATION + 20, summary["elapsed_seconds"]
    # Why it ended, in words, in the console, the report and `archiver status`.
    assert "  ended     stopped after " in result.stdout
    assert "at its time limit (--max-duration)" in result.stdout
    data_ending, said = _report_ending(root, summary["run_id"])
    assert data_ending == "max_duration"
    assert said.startswith("Stopped after ") and "at its time limit (--max-duration)" in said
    assert f"archiver status {root}" in said
    assert _status_line(capsys, root, "  ended").endswith("at its time limit (--max-duration)")
    assert _status_line(capsys, root, "resume").startswith("resume      archiver crawl ")
    _assert_resumes_whole(server, root, reference)
    assert _status_line(capsys, root, "  ended") == "  ended     finished: nothing left to fetch"


@pytest.mark.e2e
def test_max_bytes_stops_the_run_cleanly_and_the_next_run_resumes(
    server: SampleSiteServer, reference: set[str], tmp_path: Path, capsys
):
    root = tmp_path / "coll"
    result = crawl_site(
        server, root, "/archive/etext/", "--delay", "0.05", "--max-bytes", f"{MAX_BYTES // 1000}k"
    )
    summary = _assert_clean_stop(result, "max_bytes")
    assert 0 < summary["counts"]["captures"] < len(reference)
    written = summary["bytes"]["warc"]
    assert sum(p.stat().st_size for p in result.warcs) == written
    # Stopped at the limit, not before; past it by what was in flight and what the worker
    # wrote before its next report reached the crawl process (at most a second's worth).
    assert written >= MAX_BYTES
    assert written - MAX_BYTES <= 40_000, written
    assert "at its size limit (--max-bytes)" in result.stdout
    data_ending, said = _report_ending(root, summary["run_id"])
    assert data_ending == "max_bytes" and "of WARC at its size limit (--max-bytes)" in said
    assert _status_line(capsys, root, "  ended").endswith("at its size limit (--max-bytes)")
    _assert_resumes_whole(server, root, reference)


@pytest.mark.e2e
def test_a_finished_run_says_so_in_its_report(server: SampleSiteServer, tmp_path: Path):
    result = crawl_site(server, tmp_path / "coll", "/archive/etext/", "--max-duration", "1h")
    assert result.returncode == 0, result.stderr
    summary = _summary(result.output)
    assert summary["finish_reason"] == "finished"
    assert _report_ending(result.output, summary["run_id"]) == (
        "finished",
        "Finished: nothing left to fetch.",
    )
