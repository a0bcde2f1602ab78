"""PDF text: read with caps, normalized as plain text is, and never a crash or a hang.

The hostile files each assert a bound (CPU seconds, or the pages read) and the exact outcome.
"""

from __future__ import annotations

import io
import json
import signal
import threading
import time
import tracemalloc

import orjson
import pypdf
import pytest

from archiver.model.document import Document
from archiver.web.documents import content_mime, read_body
from archiver.web.pdftext import MAX_PAGES, MAX_STREAM_BYTES, MAX_STREAM_TOKENS, pdf_text
from archiver.web.text import strip_controls
from samplesite.server import SITE_ROOT
from tests.conftest import CrawlResult, run_archiver
from tests.pdfs import (
    HELVETICA,
    mapped_font_pdf,
    one_page_pdf,
    pages_pdf,
    pdf_file,
    stream,
    text_content,
)

SAMPLE_PDF = SITE_ROOT / "archive" / "etext" / "docs" / "program.pdf"
SAMPLE_TEXT = "MIM Program (1995): what we want, what we believe."
TWO_PAGES = pages_pdf([["first page text"], ["second page text"]])


class Cpu:
    """CPU seconds used by the process in the block: what the time cap counts."""

    def __enter__(self) -> Cpu:
        self.start = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.process_time() - self.start


def _page_object(contents: int) -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % contents
    )


def _encrypted(body: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(body)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- well-formed files ---------------------------------------------------------------------------


def test_the_sample_sites_pdf_gives_its_line_of_text():
    reading = read_body(SAMPLE_PDF.read_bytes(), "application/pdf")
    assert reading.document == Document(None, "pdf", None, None, SAMPLE_TEXT)
    assert reading.pdf_outcome == "ok" and reading.links == []


def test_accented_latin_comes_out_as_utf8_and_the_title_from_the_info_dictionary():
    body = pages_pdf(
        [["Qu\xe9bec \u2013 \u201cl\u2019\u0153uvre\u201d co\xfbte 5 \u20ac"]],
        title="  Le   programme\r\nd\u2019\xe9t\xe9 ",
    )
    result = pdf_text(body)
    assert result.text == "Qu\xe9bec \u2013 \u201cl\u2019\u0153uvre\u201d co\xfbte 5 \u20ac"
    assert result.title == "Le programme d\u2019\xe9t\xe9"
    assert (result.outcome, result.pages_read) == ("ok", 1)
    result.text.encode("utf-8")  # valid UTF-8: no lone surrogates


def test_cyrillic_text_is_read_through_a_tounicode_cmap():
    result = pdf_text(
        mapped_font_pdf("\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440", two_byte=False)
    )
    assert (result.text, result.outcome) == (
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440",
        "ok",
    )


def test_cjk_text_is_read_through_an_identity_h_font():
    text = "\u65e5\u672c\u8a9e\u306e\u6587\u66f8\u3067\u3059"
    result = pdf_text(mapped_font_pdf(text, two_byte=True))
    assert (result.text, result.outcome) == (text, "ok")
    line = orjson.loads(orjson.dumps({"text": result.text}))
    assert line["text"] == text


def test_lines_are_joined_as_plain_text_and_controls_are_removed():
    body = pages_pdf(
        [["  two   spaces  ", "", "NUL\x00 and\x01 bell\x07 gone", "\xa0\xa0"], ["page two"]]
    )
    result = pdf_text(body)
    assert result.text == "two spaces\nNUL and bell gone\npage two"


def test_strip_controls_keeps_whitespace_and_replaces_lone_surrogates():
    assert strip_controls("a\x00b\x1fc\x7fd\x9fe\tf\ng") == "abcde\tf\ng"
    assert strip_controls("half \ud83d pair") == "half \ufffd pair"


def test_text_stops_at_the_character_cap_without_reading_every_page():
    body = pages_pdf([[f"page {p} line {n}" for n in range(40)] for p in range(100)])
    result = pdf_text(body, max_chars=1000)
    assert len(result.text) <= 1000 and result.text.startswith("page 0 line 0\n")
    assert result.outcome == "ok" and result.pages_read == 2


def test_a_pdf_without_a_type_or_with_a_generic_one_is_told_by_its_first_bytes():
    for content_type in (None, "application/octet-stream", "binary/octet-stream"):
        assert content_mime(TWO_PAGES, content_type) == "application/pdf"
        assert read_body(TWO_PAGES, content_type).pdf_outcome == "ok"
    assert content_mime(b"\x00%PDF-1.4", None) == "unk"
    assert content_mime(TWO_PAGES, "image/png") == "image/png"  # a declared type is believed
    for content_type in ("application/x-pdf", "application/acrobat", "text/pdf"):
        assert read_body(TWO_PAGES, content_type).document is not None


def test_without_text_wanted_a_pdf_is_not_read():
    reading = read_body(TWO_PAGES, "application/pdf", text=False, links_base="http://a.test/")
    assert (reading.document, reading.links, reading.pdf_outcome) == (None, [], None)


# -- hostile files -------------------------------------------------------------------------------


def test_pages_past_the_cap_are_not_read():
    body = pages_pdf([[f"page {n}"] for n in range(MAX_PAGES + 500)])
    with Cpu() as cpu:
        result = pdf_text(body)
    assert (result.outcome, result.pages_read) == ("pages_capped", MAX_PAGES)
    lines = result.text.split("\n")
    assert lines[0] == "page 0" and lines[-1] == f"page {MAX_PAGES - 1}"
    assert cpu.seconds < 3


def test_a_decompression_bomb_costs_one_page_and_the_stream_cap_in_memory():
    # 200 MB of spaces in 195 KB; the page after it is still read.
    bomb = stream(b"BT /F1 12 Tf (a) Tj ET " + b" " * 200_000_000, compress=True)
    after = stream(text_content([b"(after the bomb)"]))
    body = pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [6 0 R 7 0 R] /Count 2 >>",
            HELVETICA,
            bomb,
            after,
            _page_object(4),
            _page_object(5),
        ]
    )
    tracemalloc.start()
    try:
        with Cpu() as cpu:
            result = pdf_text(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.outcome, result.pages_read, result.text) == ("page_errors", 2, "after the bomb")
    assert peak < 3 * MAX_STREAM_BYTES  # pypdf's own cap would let it reach 75 MB per stream
    assert cpu.seconds < 3


def test_a_content_stream_of_too_many_operators_is_given_up():
    ops = stream(
        b"BT /F1 12 Tf " + b"(a) Tj " * (MAX_STREAM_TOKENS // 2 + 1000) + b"ET", compress=True
    )
    with Cpu() as cpu:
        result = pdf_text(one_page_pdf(ops))
    assert (result.outcome, result.pages_read, result.text) == ("page_errors", 1, "")
    assert cpu.seconds < 5


def test_the_time_cap_stops_a_slow_file_and_keeps_the_pages_read_before():
    # Every page after the first shares one stream just under the operator cap: about a second
    # of parsing each, twenty times over.
    heavy = stream(b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj " * 240_000 + b"ET", compress=True)
    pages = 20
    kids = b" ".join(b"%d 0 R" % (6 + n) for n in range(pages))
    body = pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            HELVETICA,
            heavy,
            stream(text_content([b"(first page)"])),
            *(_page_object(5 if n == 0 else 4) for n in range(pages)),
        ]
    )
    handler = signal.getsignal(signal.SIGPROF)
    with Cpu() as cpu:
        result = pdf_text(body, max_seconds=0.3)
    assert (result.outcome, result.text) == ("timeout", "first page")
    assert result.pages_read < pages
    assert cpu.seconds < 0.3 + 0.5
    # The timer is off and the handler put back: nothing fires after the call.
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) is handler


def test_off_the_main_thread_the_time_cap_is_checked_between_pages():
    # No timer signal there: the cap plus one page bounds the time.
    body = pages_pdf([[f"page {n}"] for n in range(MAX_PAGES)])
    results = []
    thread = threading.Thread(target=lambda: results.append(pdf_text(body, max_seconds=0)))
    thread.start()
    thread.join(30)
    assert (results[0].outcome, results[0].pages_read, results[0].text) == ("timeout", 0, "")


def test_a_truncated_pdf_is_malformed():
    for cut in (TWO_PAGES[: len(TWO_PAGES) // 2], TWO_PAGES[: TWO_PAGES.index(b"xref")], b"%PDF-"):
        with Cpu() as cpu:
            result = pdf_text(cut)
        assert (result.outcome, result.pages_read, result.text) == ("malformed", 0, "")
        assert cpu.seconds < 1


def test_garbage_and_empty_bodies_are_malformed():
    for body in (b"", b"%PDF-1.4\n" + b"\x00garbage" * 10_000, b"%PDF-1.4\n1 0 obj\n<<" * 1000):
        result = pdf_text(body)
        assert (result.outcome, result.text, result.title) == ("malformed", "", None)


def test_a_broken_xref_is_repaired():
    shifted = pages_pdf([["first page text"], ["second page text"]], xref_shift=7)
    start = TWO_PAGES.rindex(b"startxref\n") + len(b"startxref\n")
    pointing_nowhere = TWO_PAGES[:start] + b"99999\n%%EOF\n"
    for body in (shifted, pointing_nowhere):
        result = pdf_text(body)
        assert (result.outcome, result.text) == ("ok", "first page text\nsecond page text")


def test_a_page_tree_that_contains_itself_is_malformed():
    body = pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            stream(text_content([b"(cycle)"])),
            HELVETICA,
        ]
    )
    with Cpu() as cpu:
        result = pdf_text(body)
    assert (result.outcome, result.text) == ("malformed", "")
    assert cpu.seconds < 1


def test_a_pdf_that_needs_a_password_gives_no_text_but_an_empty_one_is_opened():
    locked = pdf_text(_encrypted(TWO_PAGES, "secret"))
    assert (locked.outcome, locked.pages_read, locked.text) == ("encrypted", 0, "")
    # Only printing or copying restricted: any viewer opens it, and so do we.
    opened = pdf_text(_encrypted(TWO_PAGES, ""))
    assert (opened.outcome, opened.text) == ("ok", "first page text\nsecond page text")


def test_a_pdf_over_the_byte_cap_is_not_read():
    assert pdf_text(TWO_PAGES, max_bytes=len(TWO_PAGES) + 1).outcome == "ok"
    # At the cap exactly: the body was most likely cut there.
    result = pdf_text(TWO_PAGES, max_bytes=len(TWO_PAGES))
    assert (result.outcome, result.pages_read, result.text) == ("too_large", 0, "")


def test_pypdf_warnings_about_a_broken_file_stay_out_of_the_log(caplog: pytest.LogCaptureFixture):
    shifted = pages_pdf([["first page text"]], xref_shift=7)
    with caplog.at_level("DEBUG"):
        assert pdf_text(shifted).outcome == "ok"
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


# -- end to end ----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_crawl_gives_the_pdf_a_manifest_line_with_its_text(sample_crawl: CrawlResult):
    url = sample_crawl.base_url + "/archive/etext/docs/program.pdf"
    (line,) = [line for line in sample_crawl.manifest if line["url"] == url]
    assert line["mime"] == "application/pdf" and line["status"] == 200
    assert (line["charset"], line["charset_source"], line["charset_declared"]) == (
        None,
        "pdf",
        None,
    )
    assert line["title"] is None and line["text"] == SAMPLE_TEXT
    assert sample_crawl.summary()["counts"]["pdf_text"] == {"ok": 1}


@pytest.mark.e2e
def test_a_collection_with_pdf_lines_verifies(sample_crawl: CrawlResult):
    proc = run_archiver("verify", str(sample_crawl.output), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["counts"]["manifest_lines"] == len(sample_crawl.manifest)
