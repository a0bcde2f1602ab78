"""The collection's formats, each with one writer and one reader: a CDXJ line, a manifest line
and a run summary. Written as the archiver before them wrote them (the golden lines and
tests/golden/run-summary.json were made by that code), read back whole, and what is not one
refused with a reason. Also the run ids, the one listing of runs, and the read-only readers of
the dedup index and frontier that `archiver status` uses."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.collection.cdxj import CdxjError, CdxjLine, captured_urls
from archiver.collection.dedup import SqliteDedupIndex
from archiver.collection.frontier import Frontier, read_frontier_run
from archiver.collection.layout import Collection, run_id_time
from archiver.collection.manifest import (
    FIELDS,
    ManifestError,
    ManifestJsonError,
    ManifestLine,
    read_object,
)
from archiver.collection.runs import latest_summary, list_runs, previous_run, summary_files
from archiver.collection.summary import (
    NotASummary,
    RunSettings,
    RunSummary,
    SummaryError,
    TimelinePoint,
)
from archiver.model.changes import Change
from archiver.model.dedup import DedupCounts, StoredPayload, UrlCapture
from archiver.model.errors import CollectionError
from archiver.model.fingerprint import Fingerprint
from archiver.model.links import LinkKind
from archiver.model.stops import StopReason

GOLDEN = Path(__file__).parent / "golden"

# --- CDXJ lines ---------------------------------------------------------------------------------

# (the values given to the writer, the line the archiver before CdxjLine wrote for them)
CDXJ_LINES = [
    (
        dict(
            url="http://sample.archiver.test/archive/etext/",
            timestamp="20260102030405",
            mime="text/html",
            status=200,
            digest="sha1:Z36TU5PDEFCW5AWA4CUYK4455JVXGTT3",
            length=2721,
            offset=1792,
            filename="archiver-20260102030405-00000-vm.warc.gz",
        ),
        'test,archiver,sample)/archive/etext 20260102030405 {"url": '
        '"http://sample.archiver.test/archive/etext/", "mime": "text/html", "status": "200", '
        '"digest": "sha1:Z36TU5PDEFCW5AWA4CUYK4455JVXGTT3", "length": "2721", "offset": "1792", '
        '"filename": "archiver-20260102030405-00000-vm.warc.gz"}\n',
    ),
    (
        dict(
            url="http://Sample.Archiver.test:8000/a b/caf\u00e9.php?x=1&y=\u00e9",
            timestamp="20260102030405",
            mime="warc/revisit",
            status=304,
            digest="sha1:RNJYE4LAJTX4YJKWETSJYWWPVO5N5KGZ",
            length=594,
            offset=16240,
            filename="f.warc.gz",
        ),
        "test,archiver,sample:8000)/a%20b/caf%c3%a9.php?x=1&y=%c3%a9 20260102030405 "
        '{"url": "http://Sample.Archiver.test:8000/a b/caf\\u00e9.php?x=1&y=\\u00e9", '
        '"mime": "warc/revisit", "status": "304", '
        '"digest": "sha1:RNJYE4LAJTX4YJKWETSJYWWPVO5N5KGZ", '
        '"length": "594", "offset": "16240", "filename": "f.warc.gz"}\n',
    ),
    (  # a URL surt cannot parse is its own key; no mime, no status
        dict(
            url="http://[bad",
            timestamp="20260102030405",
            mime=None,
            status=None,
            digest="",
            length=1,
            offset=0,
            filename="f.warc.gz",
        ),
        'bad)/ 20260102030405 {"url": "http://[bad", "digest": "", "length": "1", "offset": "0", '
        '"filename": "f.warc.gz"}\n',
    ),
]


@pytest.mark.parametrize(("values", "written"), CDXJ_LINES)
def test_a_cdxj_line_is_written_as_before(values: dict, written: str):
    assert CdxjLine.of(**values).format() == written


@pytest.mark.parametrize(("values", "written"), CDXJ_LINES)
def test_a_cdxj_line_reads_back_whole_from_text_or_bytes(values: dict, written: str):
    line = CdxjLine.of(**values)
    assert CdxjLine.parse(written) == line
    assert CdxjLine.parse(written.encode("utf-8")) == line
    assert CdxjLine.parse(written.rstrip("\n")) == line
    assert CdxjLine.parse(written).format() == written


def test_a_cdxj_line_of_cdxj_indexer_without_digest_or_status_reads():
    line = CdxjLine.parse(
        'a)/ 20260102030405 {"url": "http://a/", "length": 5, "offset": "0", "filename": "f"}'
    )
    assert (line.digest, line.status, line.mime, line.length, line.offset) == (
        None,
        None,
        None,
        5,
        0,
    )


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"", "three"),
        (b"a)/ 20260102030405", "three"),
        (b' 20260102030405 {"url": "u", "filename": "f", "offset": "0", "length": "1"}', "key"),
        (b'a)/ 2026010203040 {"url": "u", "filename": "f", "offset": "0", "length": "1"}', "14"),
        (b'a)/ 2026010203040x {"url": "u", "filename": "f", "offset": "0", "length": "1"}', "14"),
        (b'a)/ 20260102030405 {"url": "u", "filename": "f", "offset": "0", "len', "JSON"),
        (b'a)/ 20260102030405 ["u", "f"]', "object"),
        (b'a)/ 20260102030405 {"filename": "f", "offset": "0", "length": "1"}', "url"),
        (b'a)/ 20260102030405 {"url": "u", "offset": "0", "length": "1"}', "filename"),
        (b'a)/ 20260102030405 {"url": "u", "filename": "f", "length": "1"}', "offset"),
        (
            b'a)/ 20260102030405 {"url": "u", "filename": "f", "offset": "-3", "length": "1"}',
            "offset",
        ),
        (
            b'a)/ 20260102030405 {"url": "u", "filename": "f", "offset": "0", "length": "x"}',
            "length",
        ),
        (
            b'a)/ 20260102030405 {"url": "\xff", "filename": "f", "offset": "0", "length": "1"}',
            "UTF-8",
        ),
    ],
)
def test_a_malformed_cdxj_line_is_refused_with_why(line: bytes, why: str):
    with pytest.raises(CdxjError, match=why) as caught:
        CdxjLine.parse(line)
    assert isinstance(caught.value, ValueError)


def test_captured_urls_pass_over_malformed_lines(tmp_path: Path):
    index = tmp_path / "run.cdxj"
    good = [CdxjLine.of(**values) for values, _ in CDXJ_LINES]
    lines = [good[0].format(), "garbage\n", good[1].format(), "a)/ 1 {}\n", good[2].format()]
    index.write_bytes("".join(lines).encode("utf-8") + b"\xff\xfe cut")
    assert list(captured_urls(index)) == [line.url for line in good]
    assert list(captured_urls(tmp_path / "none.cdxj")) == []


# --- manifest lines -----------------------------------------------------------------------------

PAGE = ManifestLine(
    url="http://sample.archiver.test/archive/etext/caf\u00e9.html",
    timestamp="20260102030405",
    status=200,
    mime="text/html",
    charset="windows-1252",
    charset_source="header",
    charset_declared="iso-8859-1",
    title="\u201cQuotes\u201d",
    text='Line one\nLine "two"\twith\r\ncontrol \x00 chars \u2028 and caf\u00e9',
    digest="sha1:Z36TU5PDEFCW5AWA4CUYK4455JVXGTT3",
    record_id="<urn:uuid:0f0d4b2a-1b2c-4d5e-8f90-a1b2c3d4e5f6>",
    warc_filename="archiver-20260102030405-00000-vm.warc.gz",
    warc_offset=1792,
    warc_length=2721,
    run="20260102030405",
    change=Change.CHANGED,
)
PDF = dataclasses.replace(
    PAGE,
    status=404,
    mime="application/pdf",
    charset=None,
    charset_source="pdf",
    charset_declared=None,
    title=None,
    text="",
    change=Change.NEW,
)
# Written by the archiver before ManifestLine (manifest_line) for PAGE and PDF: raw UTF-8,
# control characters escaped, so no line can break in two.
PAGE_LINE = (
    '{"url":"http://sample.archiver.test/archive/etext/café.html","timestamp":"20260102030405",'
    '"status":200,"mime":"text/html","charset":"windows-1252","charset_source":"header",'
    '"charset_declared":"iso-8859-1","title":"“Quotes”","text":"Line one\\nLine \\"two\\"\\twith'
    '\\r\\ncontrol \\u0000 chars \u2028 and café","digest":"sha1:Z36TU5PDEFCW5AWA4CUYK4455JVXGTT3",'
    '"record_id":"<urn:uuid:0f0d4b2a-1b2c-4d5e-8f90-a1b2c3d4e5f6>",'
    '"warc_filename":"archiver-20260102030405-00000-vm.warc.gz","warc_offset":1792,'
    '"warc_length":2721,"run":"20260102030405","change":"changed"}\n'
)
PDF_LINE = (
    '{"url":"http://sample.archiver.test/archive/etext/café.html","timestamp":"20260102030405",'
    '"status":404,"mime":"application/pdf","charset":null,"charset_source":"pdf",'
    '"charset_declared":null,"title":null,"text":"","digest":"sha1:Z36TU5PDEFCW5AWA4CUYK4455JVXGTT3",'
    '"record_id":"<urn:uuid:0f0d4b2a-1b2c-4d5e-8f90-a1b2c3d4e5f6>",'
    '"warc_filename":"archiver-20260102030405-00000-vm.warc.gz","warc_offset":1792,'
    '"warc_length":2721,"run":"20260102030405","change":"new"}\n'
)


def test_manifest_fields_are_the_schema_in_written_order():
    assert FIELDS == (
        "url", "timestamp", "status", "mime", "charset", "charset_source", "charset_declared",
        "title", "text", "digest", "record_id", "warc_filename", "warc_offset", "warc_length",
        "run", "change",
    )  # fmt: skip
    assert list(json.loads(PAGE.format())) == list(FIELDS)


@pytest.mark.parametrize(("line", "written"), [(PAGE, PAGE_LINE), (PDF, PDF_LINE)])
def test_a_manifest_line_is_written_as_before_and_reads_back(line: ManifestLine, written: str):
    assert line.format() == written
    assert ManifestLine.parse(written) == line
    assert ManifestLine.parse(written.encode("utf-8")) == line
    assert ManifestLine.parse(written).change is line.change


def test_a_lone_surrogate_is_written_as_its_escape_in_a_line_that_is_still_utf8():
    line = dataclasses.replace(PAGE, text="lone \ud800 surrogate", title="t\u00e9")
    written = line.format()
    # orjson refuses the surrogate; json.dumps takes over, and the surrogate, which UTF-8
    # cannot hold (the manifest is UTF-8), becomes its JSON escape.
    assert written.startswith('{"url": "http://sample.archiver.test/archive/etext/café.html", ')
    assert '"title": "té", "text": "lone \\ud800 surrogate", ' in written
    written.encode("utf-8")
    assert ManifestLine.parse(written) == line


def _page_object(**changes: object) -> dict:
    return json.loads(PAGE_LINE) | changes


@pytest.mark.parametrize(
    ("line", "error", "why"),
    [
        (b"{not json\n", ManifestJsonError, "Expecting property name"),
        (b'{"run": "\xff"}\n', ManifestJsonError, "utf-8"),
        (b'["a", "list"]\n', ManifestError, "^not a JSON object$"),
        (json.dumps({"url": "u"}), ManifestError, "^lacks timestamp, status, mime, "),
        (json.dumps(_page_object(status="200")), ManifestError, "^status is of the wrong type$"),
        (json.dumps(_page_object(status=True)), ManifestError, "status"),
        (
            json.dumps(_page_object(warc_offset=None, title=5)),
            ManifestError,
            "^title, warc_offset are",
        ),
        (json.dumps(_page_object(change="moved")), ManifestError, "change"),
        (json.dumps(_page_object(charset_source=None)), ManifestError, "charset_source"),
    ],
)
def test_a_manifest_line_that_is_not_one_is_refused_with_why(
    line: str | bytes, error: type[ManifestError], why: str
):
    with pytest.raises(error, match=why) as caught:
        ManifestLine.parse(line)
    assert isinstance(caught.value, ValueError)


def test_the_first_step_reads_any_json_object_of_a_line():
    # `archiver changes` reads lines of any version this far, and looks at a few fields.
    assert read_object('{"url": "u", "timestamp": null}\n') == {"url": "u", "timestamp": None}
    with pytest.raises(ManifestJsonError):
        read_object("{")


# --- run summaries ------------------------------------------------------------------------------


def golden_summary() -> str:
    return (GOLDEN / "run-summary.json").read_text(encoding="utf-8")


def test_a_run_summary_is_written_as_before():
    """The golden file is a real run's summary as RunExtension wrote it before RunSummary (its
    lists shortened, paths made neutral): read and written again, byte for byte the same."""
    text = golden_summary()
    summary = RunSummary.parse(text)
    assert summary.format() == text
    assert RunSummary.parse(text.encode("utf-8")) == summary


def test_a_run_summary_reads_into_its_typed_sections():
    summary = RunSummary.parse(golden_summary())
    assert summary.run_id == "20260102030405"
    assert summary.finish_reason is StopReason.FINISHED and not summary.resumable
    assert summary.started_at == datetime(2026, 1, 2, 3, 4, 5, 251272, tzinfo=UTC)
    assert summary.settings.seeds == ("http://sample.archiver.test/archive/etext/",)
    assert summary.counts.captures == 82 and summary.counts.by_status["304"] == 73
    assert summary.changes is not None and summary.changes.compared_with == "20260101000000"
    assert dict(summary.changes.counts) == {"new": 0, "changed": 1, "unchanged": 55, "gone": 1}
    assert summary.timeline is not None and summary.timeline[-1] == TimelinePoint(0.4, 82, 100274)
    assert summary.errors is not None and summary.errors[0].url.endswith("café/missing")
    assert summary.files.log == "logs/20260102030405.log"
    stale = summary.stale_lock_cleared
    assert stale is not None and (stale["run_id"], stale["pid"]) == ("20251231000000", 4242)


def test_a_summary_built_and_written_reads_back_equal():
    summary = dataclasses.replace(
        RunSummary.parse(golden_summary()),
        finish_reason=StopReason("closespider_timeout"),  # a reason of Scrapy's, kept as said
        resumes=2,
        stale_lock_cleared=None,
        slowest=(),
    )
    text = summary.format()
    assert json.loads(text)["finish_reason"] == "closespider_timeout"
    assert json.loads(text)["resumable"] is True
    again = RunSummary.parse(text)
    assert again == summary and again.format() == text


def test_an_older_summary_reads_with_what_it_has():
    # What `archiver changes` tests and older archivers wrote: a few fields only.
    summary = RunSummary.parse('{"run_id": "a", "started": "2026-01-02T00:00:00", "x": 1}')
    assert summary.run_id == "a" and summary.started_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert summary.finish_reason is None and summary.elapsed_seconds is None
    assert summary.counts.captures is None and dict(summary.counts.by_status) == {}
    assert (summary.changes, summary.slowest, summary.timeline, summary.errors) == (None,) * 4
    assert summary.settings.seeds == () and summary.files.log is None and summary.resumes == 0


def test_fields_of_the_wrong_type_read_as_not_recorded():
    summary = RunSummary.parse(
        json.dumps(
            {
                "run_id": 5,
                "started": "yesterday",
                "finish_reason": "",
                "elapsed_seconds": "10",
                "resumes": True,
                "counts": {"captures": "3", "documents": 2, "by_status": {"200": 1, "301": "x"}},
                "changes": {"counts": {"new": 1}, "pages": {"new": ["u", 5]}},
                "timeline": [{"t": 1}, "junk"],
                "files": [],
            }
        )
    )
    assert (summary.run_id, summary.started_at, summary.finish_reason) == (None, None, None)
    assert (summary.elapsed_seconds, summary.resumes) == (None, 0)
    assert (summary.counts.captures, summary.counts.documents) == (None, 2)
    assert dict(summary.counts.by_status) == {"200": 1}
    assert summary.changes is not None and summary.changes.pages == {"new": ("u",)}
    assert summary.changes.all_pages_listed and summary.changes.compared_with is None
    assert summary.timeline == (TimelinePoint(1, 0, 0),)


@pytest.mark.parametrize(
    ("text", "error", "why"),
    [
        (b'{"run_id": "20', SummaryError, "Unterminated string"),
        (b"\xff{}", SummaryError, "utf-8"),
        (b"[1, 2]", NotASummary, "^not a JSON object$"),
        (b"", SummaryError, "Expecting value"),
    ],
)
def test_a_file_that_is_not_a_summary_is_refused_with_why(
    text: bytes, error: type[SummaryError], why: str
):
    with pytest.raises(error, match=why) as caught:
        RunSummary.parse(text)
    assert isinstance(caught.value, ValueError)


def test_the_summary_settings_hold_every_crawl_setting():
    # RunSettings is the typed form of crawl.options.CrawlOptions.recorded: a setting added
    # there and not here would silently leave the summary.
    from archiver.crawl.options import CrawlOptions
    from archiver.crawl.process import crawl_settings_for

    seeds = ["http://a.test/x/"]
    options = CrawlOptions.from_settings(crawl_settings_for({"ARCHIVER_SEEDS": seeds}))
    recorded = options.recorded(
        seeds=seeds, scope=["http://a.test/x/"], allow_hosts=["b.test"], exclude=["/skip"]
    )
    assert RunSettings.from_json(recorded.to_json()) == recorded
    assert None not in recorded.to_json().values()  # every field set from the options


# --- run ids and the runs of a collection -------------------------------------------------------


def write_summary(collection: Collection, run_id: str, **fields: object) -> None:
    collection.runs.mkdir(parents=True, exist_ok=True)
    summary = {"run_id": run_id, "started": "2026-01-01T00:00:00+00:00"} | fields
    collection.summary_for(run_id).write_text(json.dumps(summary), encoding="utf-8")


def test_run_ids_are_the_start_time_and_unique_in_the_collection(tmp_path: Path):
    collection = Collection(tmp_path)
    collection.create()
    started = datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)
    assert collection.new_run_id(started) == "20260102030405"
    write_summary(collection, "20260102030405")
    collection.index_for("20260102030405-2").write_text("")
    assert collection.new_run_id(started) == "20260102030405-3"
    assert run_id_time("20260102030405-3") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert run_id_time("my-run") is None


def test_runs_are_listed_in_id_order_and_the_last_is_the_previous_run(tmp_path: Path):
    collection = Collection(tmp_path)
    assert summary_files(collection) == [] and previous_run(collection) is None
    # By name "x-2.json" sorts before "x.json"; by run id the second run is last.
    for run_id in ("20260102030405-2", "20260101000000", "20260102030405"):
        write_summary(collection, run_id, settings={"seeds": [f"http://{run_id}/"]})
    ids = [found.run_id for found in summary_files(collection)]
    assert ids == ["20260101000000", "20260102030405", "20260102030405-2"]
    assert previous_run(collection) == "20260102030405-2"
    assert previous_run(collection, before="20260102030405-2") == "20260102030405"
    latest = latest_summary(collection)
    assert latest is not None and latest.settings.seeds == ("http://20260102030405-2/",)


def test_listing_runs_by_start_skips_what_is_no_summary_and_refuses_damage(tmp_path: Path):
    collection = Collection(tmp_path)
    write_summary(collection, "b", started="2026-01-01T00:00:00+00:00")
    write_summary(collection, "a", started="2026-01-03T00:00:00+00:00")
    (collection.runs / "list.json").write_text("[1]")
    (collection.runs / "other.json").write_text('{"kind": "something else"}')
    assert list_runs(collection) == ["b", "a"]
    write_summary(collection, "c", started="not a time")
    with pytest.raises(CollectionError, match="bad start time 'not a time'"):
        list_runs(collection)
    (collection.runs / "c.json").write_text('{"run_id": ')
    with pytest.raises(CollectionError, match=r"cannot read the run summary .*c\.json: Expecting"):
        list_runs(collection)


# --- read-only readers --------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.iterdir()}


def test_dedup_counts_are_read_without_writing_anything(tmp_path: Path):
    assert SqliteDedupIndex.read_only(tmp_path) is None
    index = SqliteDedupIndex.for_collection(tmp_path)
    index.add_payload(
        StoredPayload("sha1:A", "http://a/", "2026-01-01T00:00:00Z", "<r>", "f", 0, 0)
    )
    for url, document in (("http://a/", True), ("http://a/x.gif", False)):
        index.record_capture(
            UrlCapture(url, "r1", 200, "sha1:A", LinkKind.NAVIGATION, 0, None, None, b"", document)
        )
    index.commit(None)
    assert index.counts() == DedupCounts(urls=2, pages=1, payloads=1)
    index.close()
    before = _snapshot(tmp_path)
    assert not (tmp_path / "dedup.sqlite3-wal").exists()
    reader = SqliteDedupIndex.read_only(tmp_path)
    assert reader is not None
    assert reader.counts() == DedupCounts(urls=2, pages=1, payloads=1)
    reader.close()
    assert _snapshot(tmp_path) == before, "no -wal or -shm file, nothing touched"


def test_a_dedup_file_of_another_kind_is_an_sqlite_error(tmp_path: Path):
    (tmp_path / SqliteDedupIndex.FILENAME).write_bytes(b"not a database at all")
    with pytest.raises(sqlite3.Error):
        reader = SqliteDedupIndex.read_only(tmp_path)
        assert reader is not None
        reader.counts()


def test_the_frontiers_run_is_read_without_writing_anything(tmp_path: Path):
    assert read_frontier_run(tmp_path) is None
    frontier = Frontier.for_collection(tmp_path)
    frontier.begin("20260102030405", Fingerprint(seeds=("http://a/",)))
    frontier.close()
    before = _snapshot(tmp_path)
    left = read_frontier_run(tmp_path)
    assert left is not None and left.run_id == "20260102030405"
    assert left.fingerprint == Fingerprint(seeds=("http://a/",))
    assert _snapshot(tmp_path) == before
    (tmp_path / "frontier.sqlite3").write_bytes(b"junk")
    assert read_frontier_run(tmp_path) is None
