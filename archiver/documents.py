"""What a captured body is, and what is read from it: its text and its links, in one parse.

The archive worker (worker.py) reads each page once, for its manifest document and for the
links it hands back to the crawl process; a crawl with no worker (--no-warc) reads the links
alone, the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archiver.exchange import mime_type
from archiver.links import Link, extract_css_links, extract_html_links
from archiver.manifest import Document
from archiver.text import decode_document, html_text, html_title, parse_html, plain_text

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})
CSS_TYPES = frozenset({"text/css"})


def content_mime(body: bytes, content_type: str | None) -> str:
    """The media type a body is read as: its Content-Type, or HTML when it has none and
    looks like HTML (old servers send pages with no type at all)."""
    mime = mime_type(content_type)
    if mime == "unk" and looks_like_html(body):
        return "text/html"
    return mime


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


@dataclass(frozen=True, slots=True)
class Reading:
    """What was read from a body: its manifest document (HTML and plain text) and links."""

    document: Document | None = None
    links: list[Link] = field(default_factory=list)


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
    return Reading()
