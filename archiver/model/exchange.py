"""One HTTP exchange as it went over the wire: what a capture carries from the crawl process
to the archive worker, and the byte blocks its WARC records store (built by archiver.web.heads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Exchange:
    """A request and its response, with the bytes each WARC record block holds."""

    url: str  # WARC-Target-URI: the URL requested, as the site names it (not the --resolve address)
    date: datetime  # when the request went out; request and response records share it
    request_head: bytes  # request line + headers + blank line
    request_body: bytes
    response_head: bytes  # status line + headers + blank line
    response_body: bytes  # entity body: transfer-decoded, still content-encoded
    status: int
    ip_address: str | None
    content_type: str | None  # the Content-Type header value, latin-1 decoded
    truncated: str | None = None  # WARC-Truncated reason, when the body is incomplete

    @property
    def mime(self) -> str:
        return mime_type(self.content_type)


def mime_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type, lower-cased; 'unk' when absent, as pywb says."""
    if not content_type:
        return "unk"
    return content_type.split(";", 1)[0].strip().lower() or "unk"
