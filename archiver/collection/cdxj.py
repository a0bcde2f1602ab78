"""The CDXJ index: one line per response or revisit record, in the form pywb reads.

Lines are appended while records are written (the offsets are known then) and the file is
sorted when the run closes. The line format is the one cdxj-indexer produces, so either
tool's index serves the same collection; ``CdxjLine`` is its one writer and one reader.
"""

from __future__ import annotations

import heapq
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

from archiver.collection.durable import write_atomically
from archiver.collection.layout import open_path
from archiver.collection.manifest import LineFile

_MIME_END = re.compile(r"[;\s]")


def cdxj_mime(content_type: str | None) -> str | None:
    """Content-Type up to the first ';' or space, as cdxj-indexer keeps it (case untouched)."""
    if not content_type:
        return None
    return _MIME_END.split(content_type, 1)[0].strip() or None


def url_key(url: str) -> str:
    try:
        return _surt()(url)
    except ValueError:
        return url  # a URL surt cannot parse still gets indexed under itself


@cache
def _surt() -> Callable[[str], str]:
    # Imported on first use: surt brings tldextract and requests, slow to import, which the crawl
    # process does not need and the archive worker can load after the crawl has begun.
    from surt import surt

    return surt


class CdxjError(ValueError):
    """A line that is not a CDXJ line of this format; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class CdxjLine:
    """``KEY TIMESTAMP {json}``: one capture (a response or revisit record) in a run's index."""

    key: str  # the URL in SURT form (url_key): what pywb sorts and looks captures up by
    timestamp: str  # 14 digits, UTC: the record's WARC-Date
    url: str  # its WARC-Target-URI
    mime: str | None  # Content-Type up to ';' (cdxj_mime), "warc/revisit" for a revisit
    status: int | None  # HTTP status; a revisit keeps the status of what it confirms
    digest: str | None  # WARC-Payload-Digest (always written; None only in a foreign line)
    length: int  # the record's gzip member: its length,
    offset: int  # its offset in the file,
    filename: str  # and the file, relative to warcs/

    @classmethod
    def of(
        cls,
        *,
        url: str,
        timestamp: str,
        mime: str | None,
        status: int | None,
        digest: str,
        length: int,
        offset: int,
        filename: str,
    ) -> CdxjLine:
        """The line of a capture, its key made from its URL."""
        return cls(url_key(url), timestamp, url, mime, status, digest, length, offset, filename)

    def format(self) -> str:
        """The line as cdxj-indexer writes it: every value a string, newline-terminated."""
        fields: dict[str, str] = {"url": self.url}
        if self.mime:
            fields["mime"] = self.mime
        if self.status is not None:
            fields["status"] = str(self.status)
        if self.digest is not None:
            fields["digest"] = self.digest
        fields.update(length=str(self.length), offset=str(self.offset), filename=self.filename)
        return f"{self.key} {self.timestamp} {json.dumps(fields)}\n"

    @classmethod
    def parse(cls, line: str | bytes) -> CdxjLine:
        """The line (with or without its newline) read back; CdxjError if it is not one.

        What replay needs must be there and well formed: key, timestamp, url, filename,
        offset and length. mime, status and digest are read when they are there.
        """
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CdxjError(f"not UTF-8 ({exc})") from exc
        parts = line.removesuffix("\n").split(" ", 2)
        if len(parts) != 3:
            raise CdxjError("not three space-separated parts")
        key, timestamp, blob = parts
        if not key:
            raise CdxjError("no URL key")
        if len(timestamp) != 14 or not timestamp.isdigit():
            raise CdxjError(f"timestamp {timestamp!r} is not 14 digits")
        try:
            fields = json.loads(blob)
        except ValueError as exc:
            raise CdxjError(f"not JSON ({exc})") from exc
        if not isinstance(fields, dict):
            raise CdxjError("not a JSON object")
        url, filename = fields.get("url"), fields.get("filename")
        if not isinstance(url, str) or not isinstance(filename, str):
            raise CdxjError("url or filename missing or not a string")
        mime, status, digest = fields.get("mime"), fields.get("status"), fields.get("digest")
        return cls(
            key,
            timestamp,
            url,
            mime if isinstance(mime, str) else None,
            _number(status) if status is not None else None,
            digest if isinstance(digest, str) else None,
            _required_number(fields, "length"),
            _required_number(fields, "offset"),
            filename,
        )


def _required_number(fields: dict[str, object], name: str) -> int:
    number = _number(fields.get(name))
    if number is None:
        raise CdxjError(f"{name} missing or not a whole number")
    return number


def _number(value: object) -> int | None:
    """A whole number as cdxj-indexer writes one (a string of digits), or as JSON has it."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


# Lines sorted in memory at a time: a run's index can have millions, and memory must not grow
# with the crawl. Longer indexes are sorted in runs on disk and merged.
SORT_CHUNK = 10_000


def sorted_lines(paths: list[Path], *, spill_to: Path, chunk: int = SORT_CHUNK) -> Iterator[bytes]:
    """The lines of *paths* in byte order (pywb's binary search needs LC_ALL=C order; UTF-8
    byte order is code point order), holding at most *chunk* lines in memory."""
    with ExitStack() as stack:
        runs: list[BinaryIO] = []
        lines: list[bytes] = []
        for path in paths:
            with open(path, "rb") as f:
                for line in f:
                    lines.append(line)
                    if len(lines) >= chunk:
                        runs.append(_spill(sorted(lines), spill_to, stack))
                        lines = []
        lines.sort()
        if not runs:
            yield from lines
            return
        yield from heapq.merge(*runs, lines)


def _spill(lines: list[bytes], folder: Path, stack: ExitStack) -> BinaryIO:
    """A sorted run in an unnamed temporary file (gone when closed, or if the process dies)."""
    run = stack.enter_context(tempfile.TemporaryFile(dir=folder))  # noqa: SIM115 - the stack closes it
    run.writelines(lines)
    run.seek(0)
    return run


class CdxjIndex:
    """Appends lines to ``PATH.open`` and writes the sorted ``PATH`` on close.

    A resumed run finds its earlier lines already sealed in ``PATH``; they are sorted in.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._open_path = open_path(path)
        self._out: LineFile | None = None
        self.lines = 0

    def add_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        if self._out is None:
            self._out = LineFile(self._open_path)
        self._out.append("".join(lines))
        self.lines += len(lines)

    def close(self) -> None:
        if self._out is None:
            return
        self._out.close()
        self._out = None
        sources = [path for path in (self.path, self._open_path) if path.exists()]
        write_atomically(self.path, sorted_lines(sources, spill_to=self.path.parent))
        self._open_path.unlink()

    def abandon(self) -> None:
        """Stop without sorting: the ``.open`` file stays for repair to seal."""
        if self._out is not None:
            self._out.close()
            self._out = None


def index_lines(path: Path) -> Iterator[CdxjLine]:
    """The well-formed lines of an index file, in file order; a malformed one is passed over
    (repair leaves none, and `archiver verify` is where one is reported)."""
    with open(path, "rb") as lines:
        for line in lines:
            try:
                yield CdxjLine.parse(line)
            except CdxjError:
                continue


def captured_urls(index: Path) -> Iterator[str]:
    """The URL of every capture a run's (sealed) CDXJ index names: what the run captured."""
    if not index.exists():
        return
    for line in index_lines(index):
        yield line.url
