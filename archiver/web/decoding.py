"""Content decoding with a hard cap: the body as a reader would see it, never a bomb.

The WARC keeps what the server sent (gzip stays gzip); links and text need the decoded
content. Scrapy's HttpCompressionMiddleware would decode every response in full, up to 1 GiB
in memory, so a few-KB bomb costs that much. Decoding here stops at a limit and says so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

try:  # brotli is a dependency, but a broken install should cost br only, not the crawl
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

CODINGS = ("gzip", "deflate", "br") if brotli is not None else ("gzip", "deflate")
ACCEPT_ENCODING = ", ".join(CODINGS)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class DecodedContent:
    content: bytes
    capped: bool = False  # the content went on past the limit; what is here is its start
    error: str | None = None  # the coding was broken or unknown; content is what decoded


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> DecodedContent:
    """Undo Content-Encoding (in reverse order of application), producing at most *limit* bytes."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    data, capped = body, False
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding not in CODINGS and coding != "x-gzip":
            return DecodedContent(body[:limit], len(body) > limit, f"unknown coding {coding!r}")
        try:
            data, capped = _decode(data, coding, limit)
        except (zlib.error, OSError, ValueError) as exc:
            return DecodedContent(data[:limit], capped, f"broken {coding}: {exc}")
        except Exception as exc:  # brotli.error is not an Exception subclass we can name
            return DecodedContent(data[:limit], capped, f"broken {coding}: {exc}")
    if len(data) > limit:
        return DecodedContent(data[:limit], True)
    return DecodedContent(data, capped)


def _decode(data: bytes, coding: str, limit: int) -> tuple[bytes, bool]:
    if coding == "br":
        return _unbrotli(data, limit)
    if coding in ("gzip", "x-gzip"):
        return _inflate(zlib.decompressobj(wbits=47), data, limit)  # gzip or zlib header
    # "deflate" is zlib-wrapped by the standard, raw deflate by many old servers.
    try:
        return _inflate(zlib.decompressobj(), data, limit)
    except zlib.error:
        return _inflate(zlib.decompressobj(wbits=-15), data, limit)


def _inflate(inflater: zlib._Decompress, data: bytes, limit: int) -> tuple[bytes, bool]:
    out = bytearray()
    pending = data
    while pending and len(out) < limit:
        out += inflater.decompress(pending, min(_CHUNK, limit - len(out) + 1))
        pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    capped = len(out) > limit or (bool(pending) and not inflater.eof)
    return bytes(out[:limit]), capped


def _unbrotli(data: bytes, limit: int) -> tuple[bytes, bool]:
    if brotli is None:  # pragma: no cover
        raise ValueError("brotli is not installed")
    decoder = brotli.Decompressor()
    # Google's brotli calls it process(), brotlipy (which pywb installs under the same module
    # name) decompress(); neither caps its output, so input goes in small slices: one slice
    # can only expand so far before the check below stops the loop.
    step = getattr(decoder, "process", None) or decoder.decompress
    out = bytearray()
    for start in range(0, len(data), 64):
        out += step(data[start : start + 64])
        if len(out) > limit:
            return bytes(out[:limit]), True
    return bytes(out), False
