"""What a captured body is, and what is read from it: its text and its links, in one parse.

The archive worker (worker.py) reads each page once, for its manifest document and for the
links it hands back to the crawl process; a crawl with no worker (--no-warc) reads the links
alone, the same way. PDFs have text but no links read, and only the worker reads them
(``WORKER_ONLY_TYPES``): the crawl process must not spend its reactor's time on one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archiver.model.document import Document
from archiver.model.exchange import mime_type
from archiver.model.links import Link
from archiver.web.links import extract_css_links, extract_html_links
from archiver.web.pdftext import Outcome, looks_like_pdf, pdf_text
from archiver.web.text import decode_document, html_text, html_title, parse_html, plain_text

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})
CSS_TYPES = frozenset({"text/css"})
# What servers of the era called PDFs, besides application/pdf.
PDF_TYPES = frozenset(
    {"application/pdf", "application/x-pdf", "application/acrobat", "text/pdf", "text/x-pdf"}
)
# Served for any file the server had no type for; a PDF among them is told by its first bytes.
UNTYPED = frozenset({"unk", "application/octet-stream", "binary/octet-stream"})
# Types whose text only the archive worker reads (see spider.py): reading a PDF takes up to
# pdftext.MAX_SECONDS.
WORKER_ONLY_TYPES = PDF_TYPES


def content_mime(body: bytes, content_type: str | None) -> str:
    """The media type a body is read as: its Content-Type, or HTML when it has none and
    looks like HTML (old servers send pages with no type at all)."""
    mime = mime_type(content_type)
    if mime == "unk" and looks_like_html(body):
        return "text/html"
    if mime in UNTYPED and looks_like_pdf(body):
        return "application/pdf"
    return mime


# How many first bytes tell what an untyped body is (looks_like_html reads as many).
SNIFF_BYTES = 1024
_SITEMAP_STARTS = (b"\x1f\x8b", b"<?xml", b"<urlset", b"<sitemapindex")


def may_be_read(mime: str, start: bytes) -> bool:
    """Whether a body of this type, starting with these bytes (SNIFF_BYTES of them, or all
    there are), is one anything reads past its start: a page, style sheet, text or PDF
    (read_body), a robots.txt or a sitemap (XML, or gzip: sitemap.xml.gz). An untyped body
    is told by its first bytes, as content_mime tells it; one that looks like none of these
    (a disc image or an archive served as application/octet-stream) is not read."""
    if mime.startswith(("image/", "audio/", "video/", "font/")):
        return False
    if mime not in UNTYPED:
        return True
    lead = start.lstrip()
    return (
        looks_like_html(start) or looks_like_pdf(start) or lead.lower().startswith(_SITEMAP_STARTS)
    )


def looks_like_html(body: bytes) -> bool:
    head = body[:SNIFF_BYTES].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


@dataclass(frozen=True, slots=True)
class Reading:
    """What was read from a body: its manifest document (HTML, plain text and PDF) and links."""

    document: Document | None = None
    links: list[Link] = field(default_factory=list)
    # A PDF's: whether its text was read in full, or why not (counted as archiver/pdf/...).
    pdf_outcome: Outcome | None = None


def read_body(
    body: bytes, content_type: str | None, *, text: bool = True, links_base: str | None = None
) -> Reading:
    """Read a body (Content-Encoding already undone): its document if ``text``, and, if
    ``links_base`` is given, the links of an HTML page or style sheet, resolved against it.
    Any other type gives an empty Reading."""
    mime = content_mime(body, content_type)
    if mime in HTML_TYPES:
        decoded = decode_document(body, content_type, html=True)
        root = parse_html(decoded.text)
        links = []
        if links_base is not None and root is not None:
            links = extract_html_links(root, links_base, encoding=decoded.charset)
        if not text:
            return Reading(None, links)
        title = html_title(root) if root is not None else None
        page_text = html_text(root) if root is not None else ""
        document = Document(decoded.charset, decoded.source, decoded.declared, title, page_text)
        return Reading(document, links)
    if mime in CSS_TYPES:
        if links_base is None:
            return Reading()
        decoded = decode_document(body, content_type, html=False)
        return Reading(None, extract_css_links(decoded.text, links_base))
    if mime in TEXT_TYPES and text:
        decoded = decode_document(body, content_type, html=False)
        document = Document(
            decoded.charset, decoded.source, decoded.declared, None, plain_text(decoded.text)
        )
        return Reading(document)
    if mime in PDF_TYPES and text:
        pdf = pdf_text(body)
        # No charset: a PDF's strings are decoded font by font (encodings, ToUnicode maps).
        return Reading(Document(None, "pdf", None, pdf.title, pdf.text), pdf_outcome=pdf.outcome)
    return Reading()
