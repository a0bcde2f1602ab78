"""The manifest: one line per HTML, plain-text or PDF capture, pointing straight at its record."""

from __future__ import annotations

import re

import pytest

from archiver.collection.manifest import FIELDS
from tests.conftest import CrawlResult
from tests.warcread import record_at

# Every test here reads the shared crawl of the sample site: end to end.
pytestmark = pytest.mark.e2e


def test_every_document_capture_has_one_complete_line(sample_crawl: CrawlResult):
    lines = sample_crawl.manifest
    documents = [
        r
        for r in sample_crawl.of_type("response") + sample_crawl.of_type("revisit")
        if re.search(rb"(?im)^content-type:\s*(text/html|text/plain|application/pdf)", r.http_head)
    ]
    assert sorted(line["url"] for line in lines) == sorted(
        r.get("WARC-Target-URI") for r in documents
    )
    for line in lines:
        assert list(line) == list(FIELDS)
        assert re.fullmatch(r"\d{14}", line["timestamp"])
        assert line["run"] == sample_crawl.summary()["run_id"]
    statuses = {line["status"] for line in lines}
    assert {200, 404, 500} <= statuses, "documents are listed whatever their status"


def test_manifest_pointers_lead_to_the_record(sample_crawl: CrawlResult):
    warcs = sample_crawl.output / "warcs"
    for line in sample_crawl.manifest:
        record = record_at(warcs / line["warc_filename"], line["warc_offset"])
        assert record.length == line["warc_length"]
        assert record.get("WARC-Record-ID") == line["record_id"]
        assert record.get("WARC-Target-URI") == line["url"]
        assert record.get("WARC-Payload-Digest") == line["digest"]
        digits = "".join(c for c in record.get("WARC-Date") if c.isdigit())
        assert digits[:14] == line["timestamp"]


def _line(result: CrawlResult, path: str) -> dict:
    (line,) = [x for x in result.manifest if x["url"] == result.base_url + path]
    return line


def test_windows_1252_bytes_declared_iso_8859_1_come_out_right(sample_crawl: CrawlResult):
    line = _line(sample_crawl, "/archive/etext/theory/quotes.html")
    phrase = (
        "\u201cThe theory of Marx, Engels, Lenin and Stalin is universally applicable.\u201d"
        " \u2014 Mao Zedong"
    )
    assert phrase in line["text"]
    assert (line["charset"], line["charset_source"]) == ("windows-1252", "header")
    assert line["charset_declared"].lower() == "iso-8859-1"


def test_a_page_without_declaration_is_detected(sample_crawl: CrawlResult):
    line = _line(sample_crawl, "/archive/etext/countries/nocharset.html")
    assert line["charset_source"] == "detection"
    assert "Québec" in line["text"] and "\ufffd" not in line["text"]


def test_text_is_visible_text_only(sample_crawl: CrawlResult):
    home = _line(sample_crawl, "/archive/etext/")
    assert "Three Main Points" in home["text"]
    assert "MIM differs from other communist parties" in home["text"]
    assert home["title"]
    for line in sample_crawl.manifest:
        assert "<script" not in line["text"].lower() and "  " not in line["text"]


def test_plain_text_documents_have_lines(sample_crawl: CrawlResult):
    line = _line(sample_crawl, "/archive/etext/docs/readme.txt")
    assert line["mime"] == "text/plain" and line["title"] is None and line["text"]
