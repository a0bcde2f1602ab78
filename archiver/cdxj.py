"""The CDXJ index: one line per response or revisit record, in the form pywb reads.

Lines are appended while records are written (the offsets are known then) and the file is
sorted when the run closes. The line format is the one cdxj-indexer produces, so either
tool's index serves the same collection.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import surt

from archiver.durable import write_atomically
from archiver.manifest import LineFile

_MIME_END = re.compile(r"[;\s]")


def cdxj_mime(content_type: str | None) -> str | None:
    """Content-Type up to the first ';' or space, as cdxj-indexer keeps it (case untouched)."""
    if not content_type:
        return None
    return _MIME_END.split(content_type, 1)[0].strip() or None


def url_key(url: str) -> str:
    try:
        return surt.surt(url)
    except ValueError:
        return url  # a URL surt cannot parse still gets indexed under itself


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


class CdxjIndex:
    """Appends lines to ``PATH.open`` and writes the sorted ``PATH`` on close.

    A resumed run finds its earlier lines already sealed in ``PATH``; they are sorted in.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._open_path = path.with_name(path.name + ".open")
        self._out: LineFile | None = None
        self.lines = 0

    def add(self, line: str) -> None:
        self.add_lines([line])

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
        lines: list[str] = []
        for path in (self.path, self._open_path):
            if path.exists():
                with open(path, encoding="utf-8") as f:
                    lines.extend(f)
        # str order is code point order, which is the byte order of UTF-8: what pywb's
        # binary search over the file expects (LC_ALL=C sort).
        lines.sort()
        write_atomically(self.path, (line.encode("utf-8") for line in lines))
        self._open_path.unlink()

    def abandon(self) -> None:
        """Stop without sorting: the ``.open`` file stays for repair to seal."""
        if self._out is not None:
            self._out.close()
            self._out = None
