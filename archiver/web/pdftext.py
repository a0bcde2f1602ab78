"""The text of a PDF, read with pypdf under caps, so that no PDF can hang or swamp the archive
worker.

pypdf is pure Python, so a hostile file costs CPU, not safety; what can run long is an xref
rebuilt by scanning the whole file, a content stream of millions of operators, a flate stream
decompressed byte by byte to recover it. Four caps bound it:

- bytes: a body this long is not read at all (bodies reach here already cut at
  ARCHIVER_MAX_TEXT_BYTES, and a cut PDF has lost its xref and trailer; an empty text line
  in the manifest, with the reason counted, still says the PDF was captured);
- pages: only the first pages are read;
- characters: reading stops once the text cap is reached, as for HTML;
- CPU seconds: a timer signal ends the reading, keeping the text of the pages read before.

pypdf's own limits (its Configuration) stop decompression bombs; the limits on decoded
streams are lowered here, since parsing more than that would outlast the time cap anyway.
Whatever fails, the outcome says why, and the caller counts it: a PDF never costs the run
more than its time cap, and never an exception.
"""

from __future__ import annotations

import io
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from types import FrameType
from typing import TYPE_CHECKING, Literal

from archiver.web.text import plain_text, strip_controls

if TYPE_CHECKING:
    import pypdf

__all__ = [
    "MAX_BYTES",
    "MAX_PAGES",
    "MAX_SECONDS",
    "Outcome",
    "PdfText",
    "looks_like_pdf",
    "pdf_text",
]

# Large enough for the text of a long book (and ARCHIVER_MAX_TEXT_BYTES cuts bodies at 10 MB
# anyway); a PDF this big is mostly scanned images, which hold no text to read.
MAX_BYTES = 10_000_000
# Bounds the time of a file of many tiny pages to well under the time cap; the text cap
# (about 600 pages of prose) usually stops a real book first.
MAX_PAGES = 1_000
# CPU seconds per PDF: a long real book reads in a fraction of it; a hostile file stops here.
MAX_SECONDS = 5.0
# Decoded bytes per stream, below pypdf's default: more would only be cut by the time cap
# after filling memory.
MAX_STREAM_BYTES = 16_000_000
# Operands and operators parsed per content stream, below pypdf's default (which took seconds
# and hundreds of MB). A page of text has a few thousand; only drawings have more.
MAX_STREAM_TOKENS = 500_000

Outcome = Literal[
    "ok",  # read in full (up to the text cap)
    "too_large",  # over MAX_BYTES: not read
    "encrypted",  # needs a password: not read (an empty user password is tried)
    "malformed",  # pypdf could not open it, or find its pages: no text
    "pages_capped",  # more than MAX_PAGES: the text of the first ones
    "page_errors",  # some pages could not be read: the text of the others
    "timeout",  # MAX_SECONDS ran out: the text of the pages read before
]

PDF_MAGIC = b"%PDF-"


@cache
def _configuration() -> pypdf.Configuration:
    """pypdf's limits, lowered. pypdf is imported only when a PDF comes: its import costs time
    and memory that the crawl process (it never reads a PDF) and most runs need not pay."""
    import pypdf

    # Never run an external program (jbig2dec) on a file from the web; text needs no images.
    return pypdf.Configuration().with_overwrites(
        zlib_maximum_output_length=MAX_STREAM_BYTES,
        lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES,
        brotli_maximum_output_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
        stream_parsing_work_maximum_count=MAX_STREAM_TOKENS,
        jbig2dec_binary=None,
        disable_legacy_handling=True,
    )


# The timer signal repeats this often after the budget ran out, in case code between it and
# us swallowed one.
_TIMER_REPEAT = 0.05


@dataclass(frozen=True, slots=True)
class PdfText:
    title: str | None  # the document information's /Title, whitespace-normalized
    text: str  # normalized as plain text is (text.plain_text), controls removed
    outcome: Outcome
    pages_read: int


def looks_like_pdf(body: bytes) -> bool:
    """Whether a body with no useful Content-Type is a PDF: it starts as one (the check a
    browser makes before it opens its viewer)."""
    return body.startswith(PDF_MAGIC)


def pdf_text(
    body: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pages: int = MAX_PAGES,
    max_chars: int = 1_000_000,
    max_seconds: float = MAX_SECONDS,
) -> PdfText:
    """The title and text of a PDF, within the caps; never raises."""
    # At the cap exactly, the body was most likely cut there (ARCHIVER_MAX_TEXT_BYTES): a PDF
    # without its end has lost its xref, and is too large, not malformed.
    if len(body) >= max_bytes:
        return PdfText(None, "", "too_large", 0)
    reading = _Reading(max_pages, max_chars)
    try:
        import pypdf

        configuration = _configuration()
        with _quiet_pypdf(), pypdf.apply_configuration(configuration), _cpu_budget(max_seconds):
            reading.read(body, time.process_time() + max_seconds)
    except _OutOfTime:
        reading.outcome = "timeout"
    return PdfText(reading.title, "\n".join(reading.texts), reading.outcome, reading.pages)


class _Reading:
    """What was read so far: kept when the time runs out in the middle of a page."""

    def __init__(self, max_pages: int, max_chars: int) -> None:
        self.max_pages = max_pages
        self.chars_left = max_chars
        self.title: str | None = None
        self.texts: list[str] = []
        self.pages = 0
        self.outcome: Outcome = "ok"

    def read(self, body: bytes, deadline: float) -> None:
        import pypdf
        from pypdf.errors import FileNotDecryptedError

        try:
            reader = pypdf.PdfReader(io.BytesIO(body), strict=False)
            if reader.is_encrypted and not _decrypted(reader):
                self.outcome = "encrypted"
                return
            pages = reader.pages
            count = len(pages)
        except FileNotDecryptedError:
            self.outcome = "encrypted"
            return
        except Exception:  # pypdf raises all kinds on broken files (KeyError, ValueError...)
            self.outcome = "malformed"
            return
        self.title = _title(reader)
        if count > self.max_pages:
            self.outcome = "pages_capped"
        for number in range(min(count, self.max_pages)):
            # Also checked here: where no timer signal can be set (not the main thread),
            # this bounds the time to the cap plus one page.
            if self.chars_left <= 0:
                break
            if time.process_time() > deadline:
                raise _OutOfTime
            try:
                raw = pages[number].extract_text()
            except Exception:
                raw = ""
                if self.outcome == "ok":  # the first reason found is the one reported
                    self.outcome = "page_errors"
            self.pages += 1
            text = plain_text(strip_controls(raw), max_chars=self.chars_left)
            if text:
                self.texts.append(text)
                self.chars_left -= len(text) + 1  # and the line break joining it to the next


def _decrypted(reader: pypdf.PdfReader) -> bool:
    # Most "encrypted" PDFs of the era only restrict printing or copying: their user password
    # is empty, and any viewer opens them without asking.
    from pypdf.errors import DependencyError

    try:
        return bool(reader.decrypt(""))
    except DependencyError:  # AES without the cryptography package
        return False


def _title(reader: pypdf.PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception:  # a broken Info dictionary loses the title, not the text
        return None
    if not isinstance(title, str):
        return None
    return " ".join(strip_controls(title).split()) or None


class _OutOfTime(BaseException):
    """Raised by the timer signal inside pypdf: a BaseException, as KeyboardInterrupt is, so
    that pypdf's own ``except Exception`` recovery cannot swallow it."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise _OutOfTime


@contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    """Raise _OutOfTime in the block once the process has used ``seconds`` of CPU.

    A signal is the one way to stop pure-Python code from outside; it needs the main thread,
    which is where the archive worker reads. CPU time, not wall time: on a loaded machine a
    file gets the same work done before it is stopped.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.signal(signal.SIGPROF, _expire)
    try:
        signal.setitimer(signal.ITIMER_PROF, seconds, _TIMER_REPEAT)
        yield
    finally:
        # If the signal comes before the timer is off, _OutOfTime leaves from here: the
        # caller takes it as the timeout it nearly was, and the handler is still restored.
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
        finally:
            signal.signal(signal.SIGPROF, signal.SIG_DFL if previous is None else previous)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning per broken object it works around, thousands for a hostile file,
    and the worker would forward each to the crawl log; the outcome is what is counted."""
    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        pypdf_logger.setLevel(level)
