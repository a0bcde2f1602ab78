"""The extracted-text manifest: one JSON line per captured HTML, plain-text or PDF document.

``ManifestLine`` is the schema, its fields in the order lines are written (``FIELDS``), with its
one writer (``format``) and one reader (``parse``); README documents each field.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from archiver.model.changes import Change

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ManifestError(ValueError):
    """A line that is not a manifest line; ``str()`` says why."""


class ManifestJsonError(ManifestError):
    """A line that is not JSON at all (or not UTF-8); ``str()`` is the decoder's message."""


@dataclass(frozen=True, slots=True)
class ManifestLine:
    url: str  # the captured URL (WARC-Target-URI)
    timestamp: str  # 14 digits, UTC: the capture's WARC-Date, as replay tools address it
    status: int  # HTTP status of the record (a 304 confirms, and counts as, the stored status)
    mime: str  # media type from Content-Type, lower-case
    charset: str | None  # the codec used to decode the text; null for a PDF
    charset_source: str  # how it was chosen: bom, header, meta, detection or default; pdf
    charset_declared: str | None  # what the header or meta declared, even when not used
    title: str | None  # <title> (a PDF's /Title), whitespace-normalized; null if none
    text: str  # visible text, UTF-8, scripts and styles removed, whitespace normalized
    digest: str  # WARC-Payload-Digest of the response
    record_id: str  # WARC-Record-ID of the response record
    warc_filename: str  # the WARC file holding it, relative to warcs/
    warc_offset: int  # byte offset of the record's gzip member in that file
    warc_length: int  # length of that gzip member
    run: str  # the run id
    change: Change  # against this URL's previous capture: new, changed, unchanged or gone

    def format(self) -> str:
        """The line, newline-terminated."""
        ordered = {name: getattr(self, name) for name in FIELDS}
        # Raw UTF-8 keeps the text readable and grep-able; control characters are still
        # escaped, so a URL or text with CR/LF cannot break the line. orjson, as the archive
        # worker writes a line for every page and json.dumps is several times slower.
        try:
            return orjson.dumps(ordered).decode("utf-8") + "\n"
        except orjson.JSONEncodeError:
            # A lone surrogate, which orjson refuses and UTF-8 cannot hold: json keeps it raw,
            # so it is written as its escape (it can only be inside a string value).
            text = json.dumps(ordered, ensure_ascii=False)
            return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"

    @classmethod
    def parse(cls, line: str | bytes) -> ManifestLine:
        """The line read back: every field there and of its type, or ManifestError."""
        return cls.from_object(read_object(line))

    @classmethod
    def from_object(cls, entry: dict[str, Any]) -> ManifestLine:
        """The line of a decoded JSON object (``read_object``); ManifestError if it lacks a
        field or has one of the wrong type."""
        missing = [name for name in FIELDS if name not in entry]
        if missing:
            raise ManifestError(f"lacks {', '.join(missing)}")
        wrong = [name for name in FIELDS if not _TYPES[name](entry[name])]
        if wrong:
            verb = "is" if len(wrong) == 1 else "are"
            raise ManifestError(f"{', '.join(wrong)} {verb} of the wrong type")
        values = {name: entry[name] for name in FIELDS}
        values["change"] = Change(values["change"])
        return cls(**values)


FIELDS = tuple(field.name for field in fields(ManifestLine))


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return type(value) is int  # not a bool


def _is_str_or_null(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_change(value: object) -> bool:
    return value in _CHANGES


_CHANGES = frozenset(change.value for change in Change)
_TYPES = {name: _is_str for name in FIELDS} | {
    "status": _is_int,
    "warc_offset": _is_int,
    "warc_length": _is_int,
    "charset": _is_str_or_null,
    "charset_declared": _is_str_or_null,
    "title": _is_str_or_null,
    "change": _is_change,
}


def read_object(line: str | bytes) -> dict[str, Any]:
    """A line's JSON object, the first step of ``ManifestLine.parse``: ManifestJsonError if it
    is not JSON, ManifestError if it is JSON but not an object. (A reader that looks at a few
    fields only, of lines any archiver version wrote, may stop here.)"""
    try:
        entry = json.loads(line)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        raise ManifestJsonError(str(exc)) from exc
    if not isinstance(entry, dict):
        raise ManifestError("not a JSON object")
    return entry


class LineFile:
    """Appends whole lines: each goes in one unbuffered write, and a write that fails (a full
    disk) is cut back off, so no half line can merge with the next one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: BinaryIO = open(path, "ab", buffering=0)  # noqa: SIM115
        self._end = self._out.seek(0, os.SEEK_END)

    def append(self, line: str) -> None:
        data = memoryview(line.encode("utf-8"))
        written = 0
        try:
            while written < len(data):
                written += self._out.write(data[written:])
        except OSError:
            self._out.truncate(self._end)
            raise
        self._end += len(data)

    def sync(self) -> None:
        os.fsync(self._out.fileno())

    def close(self) -> None:
        self._out.close()


class ManifestWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = LineFile(path)
        self.lines = 0

    def add_lines(self, lines: list[str]) -> None:
        """Lines made by ``ManifestLine.format``, in one write: a cut write is cut back off
        whole."""
        self._out.append("".join(lines))
        self.lines += len(lines)

    def sync(self) -> None:
        self._out.sync()

    def close(self) -> None:
        self._out.close()
