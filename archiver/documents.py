"""What a captured body is, for text and for links: its media type, and its manifest document.

The crawl process reads a page for its links; the archive worker (worker.py) reads it again
for its text, on the other core. Both decide what the body is the same way, here.
"""

from __future__ import annotations

from archiver.exchange import mime_type
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


def read_document(
    body: bytes, content_type: str | None, *, detected: str | None = None
) -> Document | None:
    """The manifest document of an HTML or plain-text body (Content-Encoding already undone);
    None for any other type. ``detected``: see decode_document."""
    mime = content_mime(body, content_type)
    if mime in HTML_TYPES:
        decoded = decode_document(body, content_type, html=True, detected=detected)
        root = parse_html(decoded.text)
        title = html_title(root) if root is not None else None
        text = html_text(root) if root is not None else ""
        return Document(decoded.charset, decoded.source, decoded.declared, title, text)
    if mime in TEXT_TYPES:
        decoded = decode_document(body, content_type, html=False, detected=detected)
        text = plain_text(decoded.text)
        return Document(decoded.charset, decoded.source, decoded.declared, None, text)
    return None
