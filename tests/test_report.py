"""The run report runs/<run-id>/report.html: its figures, its escaping, and the page in Chromium.

Unit tests render fixture summaries (hostile strings, an empty run, a first and a second run)
and read the HTML back with html.parser. The end-to-end test crawls the sample site twice into
one collection and opens the second run's report from file:// in headless Chromium: the page
renders, every chart holds the summary's numbers, the change counts link to their lists, and
no request leaves the page's folder. A screenshot is kept as tests/artifacts/report.png.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from archiver.cli.main import main
from archiver.collection.cdxj import CdxjLine
from archiver.collection.layout import Collection
from archiver.collection.summary import RunSummary
from archiver.tools.charts import bar_chart
from archiver.tools.report import LISTED_CHANGES, render_report, write_report
from samplesite.server import SampleSiteServer
from tests.browser.chromium import CHROMIUM, chromium_session, offsite_traffic
from tests.conftest import ARTIFACTS, CrawlResult, crawl_site
from tests.test_runs import copy_site, edit_site

RUN = "20260102030405"
EVIL_URL = 'http://x/"><script>alert(1)</script>'
EVIL_HOST = 'x"><u>evil<!--.example'
EVIL_HOST_URL = f"http://{EVIL_HOST}/"
EVIL_MIME = 'text/html"><img src=x onerror=alert(2)>'
EVIL_REASON = "<script>alert(3)</script> twisted.internet.error.ConnectionRefusedError"
JS_URL = "javascript:alert(4)//"
HEADINGS = (
    "Captures by status",
    "Captures by MIME type",
    "Pages over time",
    "Top hosts",
    "Deduplication",
    "Slowest URLs",
    "Largest URLs",
    "Errors",
    "Changes since the previous run",
)


# --- fixtures -----------------------------------------------------------------------------------


def summary_of(run_id: str = RUN, *, compared_with: str | None = "20260101000000") -> dict:
    """A run summary as RunExtension writes it, with the newer keys (slowest, largest, errors,
    timeline) filled, and strings from the web that try to break out of the page."""
    return {
        "run_id": run_id,
        "collection": "/data/coll",
        "started": "2026-01-02T03:04:05.123456+00:00",
        "ended": "2026-01-02T03:04:15.654321+00:00",
        "elapsed_seconds": 10.531,
        "finish_reason": "finished",
        "resumes": 0,
        "settings": {"seeds": ["http://site.test/"]},
        "counts": {
            "captures": 12,
            "captures_in_run": 12,
            "documents": 7,
            "by_status": {"200": 8, "301": 1, "404": 2, "500": 1},
            "by_mime": {"text/html": 7, "image/gif": 3, EVIL_MIME: 2},
            "fetch_errors": {"twisted.internet.error.ConnectionRefusedError": 2, EVIL_REASON: 1},
            "records": {"response": 9, "revisit": 3},
            "dedup": {"identical": 2, "not_modified": 1},
        },
        "changes": {
            "compared_with": compared_with,
            "counts": {"new": 2, "changed": 1, "unchanged": 3, "gone": 1},
            "pages": {
                "new": ["http://site.test/new.html", EVIL_URL],
                "changed": ["http://site.test/"],
                "unchanged": ["http://site.test/a", "http://site.test/b", JS_URL],
                "gone": ["http://site.test/old.html"],
            },
            "all_pages_listed": True,
        },
        "bytes": {
            "warc": 123_456,
            "payload_by_mime": {"text/html": 40_000, "image/gif": 900, EVIL_MIME: 12},
        },
        "files": {
            "warcs": [f"warcs/archiver-{run_id}-00000-host.warc.gz"],
            "index": f"indexes/{run_id}.cdxj",
            "manifest": "manifest.jsonl",
            "log": f"logs/{run_id}.log",
        },
        "slowest": [
            {"url": EVIL_URL, "seconds": 2.5, "status": 200},
            {"url": "http://site.test/", "seconds": 0.25, "status": 200},
        ],
        "largest": [
            {"url": "http://site.test/big.pdf", "bytes": 30_000, "mime": "application/pdf"},
            {"url": JS_URL, "bytes": 10, "mime": EVIL_MIME},
        ],
        "errors": [
            {"url": "http://site.test/missing", "reason": "HTTP 404"},
            {"url": EVIL_URL, "reason": EVIL_REASON},
        ],
        "timeline": [
            {"t": 0.0, "captures": 0, "bytes": 0},
            {"t": 1.0, "captures": 5, "bytes": 20_000},
            {"t": 2.0, "captures": 9, "bytes": 35_000},
            {"t": 3.0, "captures": 12, "bytes": 41_000},
        ],
    }


INDEXED = [  # (url, second of the run) of the fixture index
    ("http://site.test/", 5),
    ("http://site.test/a", 5),
    ("http://cdn.site.test/x.gif", 6),
    ("http://site.test/b", 8),
    (EVIL_HOST_URL, 8),
]


def collection_with_index(root: Path, run_id: str = RUN, urls=INDEXED) -> Collection:
    collection = Collection(root)
    collection.create()
    with open(collection.index_for(run_id), "w", encoding="utf-8") as index:
        for url, second in urls:
            index.write(
                CdxjLine.of(
                    url=url,
                    timestamp=f"202601020304{second:02d}",
                    mime="text/html",
                    status=200,
                    digest="sha1:AAAA",
                    length=100,
                    offset=0,
                    filename="f.warc.gz",
                ).format()
            )
    return collection


class Page(HTMLParser):
    """The report's elements: every start tag with its attributes and the chart it is in, and
    the text of the whole page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], str | None]] = []
        self.chart: str | None = None
        self.texts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self.chart = found.get("data-chart")
        self.tags.append((tag, found, self.chart))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def bars(self, chart: str) -> dict[str, float]:
        return {
            str(attrs["data-label"]): float(str(attrs["data-value"]))
            for tag, attrs, inside in self.tags
            if tag == "rect" and inside == chart
        }

    def points(self, chart: str) -> list[tuple[float, float]]:
        return [
            (float(str(attrs["data-t"])), float(str(attrs["data-value"])))
            for tag, attrs, inside in self.tags
            if tag == "circle" and inside == chart
        ]

    def ids(self) -> set[str]:
        return {str(attrs["id"]) for _, attrs, _ in self.tags if "id" in attrs}

    def of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs, _ in self.tags if name == tag]


def render(tmp_path: Path, summary: dict) -> Page:
    return Page(
        render_report(collection_with_index(tmp_path / "coll"), RunSummary.from_json(summary))
    )


# --- unit tests ---------------------------------------------------------------------------------


def test_strings_from_the_web_render_as_text_never_as_markup(tmp_path: Path):
    html = render_report(
        collection_with_index(tmp_path / "coll"), RunSummary.from_json(summary_of())
    )
    page = Page(html)
    assert [tag for tag, _, _ in page.tags if tag in ("script", "img", "u", "iframe")] == []
    assert not [attrs for _, attrs, _ in page.tags if any(k.startswith("on") for k in attrs)]
    assert "<script>alert" not in html and "<u>evil" not in html
    for hostile in (EVIL_URL, EVIL_MIME, EVIL_REASON, EVIL_HOST, JS_URL):
        assert hostile in page.text, f"{hostile!r} is shown as text"
    # A javascript: URL stays text: no URL from the web is ever a link.
    hrefs = [str(a["href"]) for a in page.of("a")]
    assert all(h.startswith(("#", "../")) for h in hrefs), hrefs
    # The page forbids loading or running anything, should escaping ever be missed.
    (csp,) = [m for m in page.of("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in str(csp["content"])


def test_every_chart_holds_the_summarys_numbers(tmp_path: Path):
    summary = summary_of()
    page = render(tmp_path, summary)
    counts = summary["counts"]
    assert page.bars("status") == counts["by_status"]
    assert page.bars("mime") == counts["by_mime"]
    assert page.bars("mime-bytes") == summary["bytes"]["payload_by_mime"]
    assert page.bars("records") == counts["records"]
    assert page.bars("fetch-errors") == counts["fetch_errors"]
    assert page.bars("error-status") == {"404": 2, "500": 1}
    hosts = Counter(urlsplit(url).hostname for url, _ in INDEXED)
    assert page.bars("hosts") == hosts
    assert page.points("timeline") == [(s["t"], s["captures"]) for s in summary["timeline"]]
    (ratio,) = [a for a in page.of("b") if "data-value" in a]
    assert float(str(ratio["data-value"])) == 3 / 12
    assert "25.0 %" in page.text


def test_tables_list_the_slowest_largest_and_failed_urls(tmp_path: Path):
    summary = summary_of()
    page = render(tmp_path, summary)
    text = page.text
    for row in summary["slowest"] + summary["largest"] + summary["errors"]:
        assert row["url"] in text
    assert "2.500" in text and "30.0 kB" in text and "HTTP 404" in text
    assert "not recorded" not in text


def test_a_second_run_links_each_change_count_to_its_list(tmp_path: Path):
    summary = summary_of()
    page = render(tmp_path, summary)
    links = {str(a["data-change"]): a for a in page.of("a") if "data-change" in a}
    assert list(links) == ["new", "changed", "unchanged", "gone"]
    ids = page.ids()
    for kind, link in links.items():
        assert link["href"] == f"#changes-{kind}" and f"changes-{kind}" in ids
        assert int(str(link["data-value"])) == summary["changes"]["counts"][kind]
    assert "Compared with run 20260101000000" in page.text
    assert "archiver changes" not in page.text, "every page is listed: no pointer needed"


def test_a_first_run_says_it_is_the_first(tmp_path: Path):
    page = render(tmp_path, summary_of(compared_with=None))
    assert "first run of the collection" in page.text
    assert not [a for a in page.of("a") if "data-change" in a]


def test_changes_not_all_listed_point_to_archiver_changes(tmp_path: Path):
    summary = summary_of()
    many = [f"http://site.test/p{i}" for i in range(LISTED_CHANGES + 5)]
    summary["changes"]["counts"]["unchanged"] = len(many) + 100
    summary["changes"]["pages"]["unchanged"] = many
    summary["changes"]["all_pages_listed"] = False
    page = render(tmp_path, summary)
    assert "archiver changes /data/coll" in page.text
    assert f"Unchanged ({len(many) + 100:,}, {LISTED_CHANGES:,} listed)" in page.text
    listed = [li for li in page.of("li") if li.get("class") == "url"]
    assert len(listed) == LISTED_CHANGES + 2 + 1 + 1


def test_a_summary_without_the_newer_keys_says_not_recorded(tmp_path: Path):
    summary = summary_of()
    for key in ("slowest", "largest", "errors", "timeline"):
        del summary[key]
    page = render(tmp_path, summary)
    assert page.text.count("not recorded in this run's summary") == 3
    # Pages over time come from the index's capture times instead: captures so far, by second.
    assert page.points("timeline") == [(0.0, 2), (1.0, 3), (3.0, 5)]
    assert "from the index's capture times" in page.text


def test_an_empty_run_renders_without_charts(tmp_path: Path):
    summary = {
        "run_id": RUN,
        "started": "2026-01-02T03:04:05+00:00",
        "ended": "2026-01-02T03:04:05+00:00",
        "elapsed_seconds": 0.1,
        "finish_reason": "finished",
        "counts": {"captures": 0, "by_status": {}, "by_mime": {}, "fetch_errors": {}},
        "changes": {
            "compared_with": None,
            "counts": {},
            "pages": {},
            "all_pages_listed": True,
        },
        "bytes": {"warc": 0, "payload_by_mime": {}},
        "files": {"warcs": []},
    }
    collection = Collection(tmp_path / "coll")  # no index at all: nothing was captured
    collection.create()
    page = Page(render_report(collection, RunSummary.from_json(summary)))
    assert [attrs for tag, attrs, _ in page.tags if tag == "svg"] == []
    assert "no captures" in page.text
    assert "the run's index was not found" in page.text
    assert "No response or revisit records" in page.text
    assert "first run of the collection" in page.text


def test_the_report_is_written_in_the_runs_own_folder(tmp_path: Path):
    collection = collection_with_index(tmp_path / "coll")
    path = write_report(collection, RunSummary.from_json(summary_of()))
    assert path == tmp_path / "coll" / "runs" / RUN / "report.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"], "no .tmp left"
    page = Page(path.read_text(encoding="utf-8"))
    # The file links are relative to the report, one folder below runs/.
    hrefs = {str(a["href"]) for a in page.of("a") if not str(a["href"]).startswith("#")}
    assert f"../{RUN}.json" in hrefs and f"../../indexes/{RUN}.cdxj" in hrefs


def test_a_long_tail_of_categories_becomes_one_other_bar():
    items = [(f"type/{i}", float(i + 1)) for i in range(30)]
    chart = bar_chart("mime", items, limit=10)
    assert len(chart.bars) == 10
    assert chart.bars[-1].other == 21
    assert sum(bar.value for bar in chart.bars) == sum(v for _, v in items) == chart.total


# --- in Chromium --------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is not installed (tests/browser/setup.sh installs it)",
)

# Every chart of the page as drawn: its bars' and points' data, and whether each has a size.
_CHARTS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll("svg[data-chart]"),
    svg => [svg.dataset.chart, {
        bars: Array.from(svg.querySelectorAll("rect.bar"), r => ({
            label: r.dataset.label, value: Number(r.dataset.value),
            drawn: r.getBoundingClientRect().width > 0})),
        points: Array.from(svg.querySelectorAll("circle.point"), c => ({
            t: Number(c.dataset.t), value: Number(c.dataset.value),
            drawn: c.getBoundingClientRect().width > 0})),
        shown: svg.getBoundingClientRect().height > 0}]))"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlResult, CrawlResult]:
    """The sample site crawled twice into one collection, edited between the runs."""
    tmp = tmp_path_factory.mktemp("report")
    root = copy_site(tmp)
    with SampleSiteServer(root=root) as server:
        first = crawl_site(server, tmp / "coll")
        assert first.returncode == 0, first.stderr
        edit_site(root)
        time.sleep(1.1)  # a new run id, and no URL captured twice in one second
        second = crawl_site(server, tmp / "coll")
        assert second.returncode == 0, second.stderr
    return first, second


def _summaries(output: Path) -> list[dict[str, Any]]:
    found = [json.loads(p.read_text(encoding="utf-8")) for p in (output / "runs").glob("*.json")]
    return sorted(found, key=lambda s: s["started"])


def _index_hosts(path: Path) -> Counter[str]:
    hosts: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        hosts[str(urlsplit(json.loads(line.split(" ", 2)[2])["url"]).hostname)] += 1
    return hosts


@pytest.mark.e2e
def test_every_run_writes_a_report_the_crawl_command_names(two_runs):
    summaries = _summaries(two_runs[1].output)
    pages = []
    for result, summary in zip(two_runs, summaries, strict=True):
        report = result.output / "runs" / summary["run_id"] / "report.html"
        assert f"  report    {report}\n" in result.stdout
        pages.append(Page(report.read_text(encoding="utf-8")))
    assert "first run of the collection" in pages[0].text
    assert f"Compared with run {summaries[0]['run_id']}" in pages[1].text


@pytest.mark.e2e
def test_archiver_report_rebuilds_a_runs_page_from_its_summary(two_runs, capsys):
    output = two_runs[1].output
    first, last = (summary["run_id"] for summary in _summaries(output))
    page = output / "runs" / first / "report.html"
    written = page.read_text(encoding="utf-8")
    page.unlink()
    assert main(["report", str(output), "--run", first]) == 0
    assert capsys.readouterr().out == f"{page}\n"
    assert _without_made(page.read_text(encoding="utf-8")) == _without_made(written)
    assert main(["report", str(output)]) == 0, "without --run: the last run"
    assert capsys.readouterr().out == f"{output / 'runs' / last / 'report.html'}\n"
    assert main(["report", str(output), "--run", "19990101000000"]) == 2
    assert "has no run '19990101000000'" in capsys.readouterr().err


@pytest.mark.e2e
def test_archiver_report_says_so_when_a_summary_cannot_be_read(two_runs, tmp_path, capsys):
    output = tmp_path / "coll"
    shutil.copytree(two_runs[1].output, output)  # the module's collection stays as it is
    first = _summaries(output)[0]["run_id"]
    (output / "runs" / f"{first}.json").write_bytes(b'{"run_id": "cut off')
    assert main(["report", str(output), "--run", first]) == 2
    summary = output / "runs" / f"{first}.json"
    assert f"cannot read the run summary {summary}: Unterminated string" in capsys.readouterr().err


def _without_made(html: str) -> str:
    return re.sub(r"report made [^<]*", "", html)


@pytest.mark.e2e
@needs_chromium
def test_the_report_renders_in_chromium_with_its_data_and_no_network(two_runs, tmp_path: Path):
    _, second = two_runs
    summary = _summaries(second.output)[-1]
    assert summary["changes"]["compared_with"], "the second run compares with the first"
    report = second.output / "runs" / summary["run_id"] / "report.html"
    folder = report.parent.as_uri()
    with chromium_session(tmp_path / "chromium") as browser:
        page = browser.context.new_page()
        started = time.perf_counter()
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        loaded = time.perf_counter() - started
        title = page.title()
        headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
        charts = page.evaluate(_CHARTS_JS)
        links = page.eval_on_selector_all(
            "a.count", "as => as.map(a => [a.dataset.change, Number(a.dataset.value)])"
        )
        jumps = {}
        for kind, _ in links:
            page.click(f"a.count[data-change={kind}]")
            jumps[kind] = page.evaluate(
                """kind => ({hash: location.hash,
                    target: !!document.getElementById("changes-" + kind),
                    listed: document.querySelectorAll(`ul[data-change=${kind}] li`).length})""",
                kind,
            )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
        offsite = browser.requests_not_to(folder)
        console = list(browser.console)
    assert offsite == [], f"requests outside the report: {offsite}"
    assert offsite_traffic(tmp_path / "chromium" / "netlog.json", "file://") == []
    assert console == [], console
    assert loaded < 5

    assert title == f"Run {summary['run_id']} of coll · archiver report"
    assert set(HEADINGS) <= set(headings)

    counts = summary["counts"]

    def bars(name: str) -> dict[str, float]:
        drawn = charts[name]
        assert drawn["shown"] and all(bar["drawn"] for bar in drawn["bars"]), name
        return {bar["label"]: bar["value"] for bar in drawn["bars"]}

    assert bars("status") == counts["by_status"]
    assert bars("mime") == counts["by_mime"]
    assert bars("mime-bytes") == summary["bytes"]["payload_by_mime"]
    assert bars("records") == counts["records"] and counts["records"]["revisit"] > 0
    assert bars("hosts") == _index_hosts(second.output / summary["files"]["index"])
    points = charts["timeline"]["points"]
    assert points and all(p["drawn"] for p in points)
    if "timeline" in summary:
        assert points[-1]["value"] == summary["timeline"][-1]["captures"]
    else:  # from the index: captures so far reach the run's captures
        assert points[-1]["value"] == counts["captures_in_run"]

    assert dict(links) == {kind: summary["changes"]["counts"].get(kind, 0) for kind in jumps}
    assert summary["changes"]["counts"]["changed"] > 0
    for kind, jump in jumps.items():
        assert jump["hash"] == f"#changes-{kind}" and jump["target"], kind
        assert jump["listed"] == len(summary["changes"]["pages"].get(kind, [])), kind


@pytest.mark.e2e
@needs_chromium
def test_hostile_strings_show_as_text_in_chromium(tmp_path: Path):
    collection = collection_with_index(tmp_path / "coll")
    report = write_report(collection, RunSummary.from_json(summary_of()))
    with chromium_session(tmp_path / "chromium") as browser:
        page = browser.context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(report.as_uri())
        cells = page.eval_on_selector_all(
            "table[data-table=errors] td.url", "tds => tds.map(td => td.textContent)"
        )
        scripts = page.eval_on_selector_all("script, img, iframe", "els => els.length")
        offsite = browser.requests_not_to(report.parent.as_uri())
    assert dialogs == [] and scripts == 0
    assert EVIL_URL in cells
    assert offsite == []
