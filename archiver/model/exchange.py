"""One HTTP exchange as it went over the wire: the bytes written to the connection and the
bytes read from it, which the WARC request and response records hold unchanged.

The crawl process records them (archiver.crawl.wire) and the archive worker writes them
(archiver.collection.warc); an Exchange is what travels between the two. A response body is
kept as transferred, chunk framing included: small ones in memory, larger ones in a spool
file in the collection (``Collection.spool``) that the worker streams into the WARC and then
removes, so no process ever holds a large body in memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

READ_BYTES = 1 << 20  # how much of a spooled body is read at a time


@dataclass(slots=True)
class Body:
    """A message body as transferred: ``data`` in memory, or the spool file at ``path``."""

    data: bytes = b""
    path: Path | None = None
    length: int = 0  # bytes as transferred

    @classmethod
    def of(cls, data: bytes) -> Body:
        return cls(data, None, len(data))

    @property
    def spooled(self) -> bool:
        return self.path is not None

    def chunks(self, size: int = READ_BYTES) -> Iterator[bytes]:
        """The bytes, in pieces of at most ``size``: what a writer streams."""
        if self.path is None:
            for start in range(0, len(self.data), size):
                yield self.data[start : start + size]
            return
        with open(self.path, "rb") as spool:
            left = self.length
            while left > 0:
                piece = spool.read(min(size, left))
                if not piece:
                    raise OSError(f"the spool file {self.path} ends {left} bytes early")
                left -= len(piece)
                yield piece

    def read(self, limit: int | None = None) -> bytes:
        """The first ``limit`` bytes (all of them when None): for small bodies and caps."""
        if self.path is None:
            return self.data if limit is None else self.data[:limit]
        with open(self.path, "rb") as spool:
            return spool.read(self.length if limit is None else min(limit, self.length))

    def discard(self) -> None:
        """Remove the spool file, once its bytes are written or will never be."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None


@dataclass(slots=True)
class Exchange:
    """A request and its response, as they went over the wire."""

    url: str  # WARC-Target-URI: the URL requested, as the site names it (not the --resolve address)
    date: datetime  # when the request went out; request and response records share it
    request_head: bytes  # the request line and header lines, as written, blank line included
    request_body: bytes
    response_head: bytes  # the status line and header lines, as read, blank line included
    response_body: Body  # as transferred: chunk framing included, content encoding untouched
    status: int
    ip_address: str | None
    content_type: str | None  # the Content-Type header value, latin-1 decoded
    # WARC-Payload-Digest: of the entity, the body after transfer decoding (chunks joined),
    # before content decoding (a gzip body is digested as gzip).
    payload_digest: str = ""
    payload_length: int = 0  # the entity's bytes
    # WARC-Block-Digest of the response record: response_head and the body as transferred.
    block_digest: str = ""
    chunked: bool = False  # the body keeps chunk framing (Transfer-Encoding: chunked)
    truncated: str | None = None  # WARC-Truncated reason: length, disconnect or time
    # Interim answers read before the response (100 Continue, 103 Early Hints), their heads
    # as read, one after the other: the bytes the connection carried before response_head.
    interim_heads: bytes = b""

    @property
    def mime(self) -> str:
        return mime_type(self.content_type)


def mime_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type, lower-cased; 'unk' when absent, as pywb says."""
    if not content_type:
        return "unk"
    return content_type.split(";", 1)[0].strip().lower() or "unk"
