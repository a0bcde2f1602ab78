"""The CDXJ index: one line per response or revisit record, in the form pywb reads.

Lines are appended while records are written (the offsets are known then) and the file is
sorted when the run closes. The line format is the one cdxj-indexer produces, so either
tool's index serves the same collection.
"""

from __future__ import annotations

import heapq
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import BinaryIO

from archiver.collection.durable import write_atomically
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
    # Imported on first use: surt brings tldextract and requests (90 ms), which the crawl
    # process does not need and the archive worker can load after the crawl has begun.
    from surt import surt

    return surt


def cdxj_line(
    *,
    url: str,
    timestamp: str,
    mime: str | None,
    status: int | None,
    digest: str,
    length: int,
    offset: int,
    filename: str,
) -> str:
    fields: dict[str, str] = {"url": url}
    if mime:
        fields["mime"] = mime
    if status is not None:
        fields["status"] = str(status)
    fields.update(digest=digest, length=str(length), offset=str(offset), filename=filename)
    return f"{url_key(url)} {timestamp} {json.dumps(fields)}\n"


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
        self._open_path = path.with_name(path.name + ".open")
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


def captured_urls(index: Path) -> Iterator[str]:
    """The URL of every capture a run's (sealed) CDXJ index names: what the run captured."""
    if not index.exists():
        return
    with open(index, encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line.split(" ", 2)[2])["url"]
            except (IndexError, ValueError, KeyError, TypeError):
                continue  # repair leaves no such line; nothing to learn from one anyway
