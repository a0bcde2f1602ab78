"""The collection's memory across runs: which payloads are stored, and each URL's last capture.

Deduplication asks it whether a payload digest is already in the archive (any URL, any run);
conditional re-fetch asks it for a URL's last ETag and Last-Modified; re-checking asks it for
every URL the collection knows. ``DedupIndex`` is the interface; ``SqliteDedupIndex``, one
file in the collection folder, is the default. A shared store (several crawlers, several
machines) implements the same protocol and is named by the ARCHIVER_DEDUP_INDEX setting.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """A full response record: where a payload with this digest can be read back."""

    digest: str
    url: str  # its WARC-Target-URI
    warc_date: str  # its WARC-Date
    record_id: str
    filename: str
    offset: int
    stored_at: float  # epoch seconds, for --dedup-max-age


@dataclass(frozen=True, slots=True)
class UrlCapture:
    """The last capture of one URL, whatever record holds it."""

    url: str
    run_id: str
    status: int  # the effective status (a 304 counts as the status it confirmed)
    digest: str  # the effective payload digest
    kind: str  # link kind: "L" page, "E" requisite
    depth: int
    etag: str | None
    last_modified: str | None
    response_head: bytes  # the effective response head, to answer a later 304
    document: bool  # HTML or plain text: a manifest page


def is_fresh(stored: StoredPayload, max_age_days: float, now: float | None = None) -> bool:
    """With --dedup-max-age, a payload stored longer ago than that is stored again in full."""
    if not max_age_days:
        return True
    return (now if now is not None else time.time()) - stored.stored_at <= max_age_days * 86400


class DedupIndex(Protocol):
    def payload(self, digest: str) -> StoredPayload | None: ...
    def add_payload(self, payload: StoredPayload) -> None: ...
    def capture(self, url: str) -> UrlCapture | None: ...
    def record_capture(self, capture: UrlCapture) -> None: ...
    def known_captures(self) -> Iterator[UrlCapture]: ...
    def documents_last_seen_in(self, run_id: str) -> Iterator[UrlCapture]: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (
    digest TEXT PRIMARY KEY, url TEXT NOT NULL, warc_date TEXT NOT NULL,
    record_id TEXT NOT NULL, filename TEXT NOT NULL, offset INTEGER NOT NULL,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS captures (
    url TEXT PRIMARY KEY, run_id TEXT NOT NULL, status INTEGER NOT NULL, digest TEXT NOT NULL,
    kind TEXT NOT NULL, depth INTEGER NOT NULL, etag TEXT, last_modified TEXT,
    response_head BLOB NOT NULL, document INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS captures_by_run ON captures (run_id);
"""

# Commit in batches: a commit per record would fsync per record. Rows not yet committed when
# a run dies only mean those payloads are stored in full again next time, never a revisit of
# a record that is not there (records are written before their rows).
_COMMIT_EVERY = 200


class SqliteDedupIndex:
    FILENAME = "dedup.sqlite3"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._pending = 0

    @classmethod
    def for_collection(cls, root: Path) -> SqliteDedupIndex:
        return cls(root / cls.FILENAME)

    def payload(self, digest: str) -> StoredPayload | None:
        row = self._db.execute(
            "SELECT digest, url, warc_date, record_id, filename, offset, stored_at"
            " FROM payloads WHERE digest = ?",
            (digest,),
        ).fetchone()
        return StoredPayload(*row) if row else None

    def add_payload(self, payload: StoredPayload) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO payloads VALUES (?, ?, ?, ?, ?, ?, ?)",
            (payload.digest, payload.url, payload.warc_date, payload.record_id,
             payload.filename, payload.offset, payload.stored_at),
        )  # fmt: skip
        self._wrote()

    def capture(self, url: str) -> UrlCapture | None:
        row = self._db.execute(f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE url = ?", (url,))
        found = row.fetchone()
        return _capture(found) if found else None

    def record_capture(self, capture: UrlCapture) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO captures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (capture.url, capture.run_id, capture.status, capture.digest, capture.kind,
             capture.depth, capture.etag, capture.last_modified, capture.response_head,
             int(capture.document)),
        )  # fmt: skip
        self._wrote()

    def known_captures(self) -> Iterator[UrlCapture]:
        # fetchall: the caller schedules requests, which records captures meanwhile.
        rows = self._db.execute(f"SELECT {_CAPTURE_COLUMNS} FROM captures ORDER BY depth, url")
        for row in rows.fetchall():
            yield _capture(row)

    def documents_last_seen_in(self, run_id: str) -> Iterator[UrlCapture]:
        query = f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE run_id = ? AND document = 1"
        rows = self._db.execute(query + " ORDER BY url", (run_id,))
        for row in rows.fetchall():
            yield _capture(row)

    def close(self) -> None:
        self._db.execute("COMMIT")
        self._db.close()

    def _wrote(self) -> None:
        self._pending += 1
        if self._pending >= _COMMIT_EVERY:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")
            self._pending = 0


_CAPTURE_COLUMNS = (
    "url, run_id, status, digest, kind, depth, etag, last_modified, response_head, document"
)


def _capture(row: tuple) -> UrlCapture:
    *fields, document = row
    return UrlCapture(*fields, document=bool(document))  # type: ignore[misc]
