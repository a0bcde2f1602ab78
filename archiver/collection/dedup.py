"""The collection's memory across runs: which payloads are stored, and each URL's last capture.

Deduplication asks it whether a payload digest is already in the archive (any URL, any run);
conditional re-fetch asks it for a URL's last ETag and Last-Modified; re-checking asks it for
every URL the collection knows. ``DedupIndex`` is the interface; ``SqliteDedupIndex``, one
file in the collection folder, is the default. A shared store (several crawlers, several
machines) implements the same protocol and is named by the ARCHIVER_DEDUP_INDEX setting.

It is also where a capture becomes committed (see journal.py): rows added during a run are
held back and written in one transaction with a commit mark, ``(WARC file, offset)``, saying
how much of the open WARC file they describe. Repair cuts an open WARC back to its mark, so
the index never names a record that is not kept, and a kept record always has its rows.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archiver.collection.readonly import connect_read_only
from archiver.model.dedup import CommitMark, DedupCounts, DedupIndex, StoredPayload, UrlCapture
from archiver.model.links import LinkKind

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
CREATE TABLE IF NOT EXISTS commit_marks (
    filename TEXT PRIMARY KEY, run_id TEXT NOT NULL, end_offset INTEGER NOT NULL
);
"""


class SqliteDedupIndex:
    FILENAME = "dedup.sqlite3"

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """``read_only``: open an existing index to look, writing nothing, not even SQLite's
        side files (readonly.py); sqlite3.Error if there is none."""
        self.path = path
        if read_only:
            self._db = connect_read_only(path)
        else:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Commits come only at checkpoints, a few per minute: each may as well be durable.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        # Rows since the last commit: lookups see them, the file does not yet.
        self._payloads: dict[str, StoredPayload] = {}
        self._captures: dict[str, UrlCapture] = {}

    @classmethod
    def for_collection(cls, root: Path) -> SqliteDedupIndex:
        return cls(root / cls.FILENAME)

    @classmethod
    def read_only(cls, root: Path) -> SqliteDedupIndex | None:
        """The index of the collection at *root*, opened to look only; None if it has none.
        sqlite3.Error if the file is not such an index (or is being created right now)."""
        path = root / cls.FILENAME
        return cls(path, read_only=True) if path.exists() else None

    def payload(self, digest: str) -> StoredPayload | None:
        pending = self._payloads.get(digest)
        if pending is not None:
            return pending
        row = self._db.execute(
            "SELECT digest, url, warc_date, record_id, filename, offset, stored_at"
            " FROM payloads WHERE digest = ?",
            (digest,),
        ).fetchone()
        return StoredPayload(*row) if row else None

    def add_payload(self, payload: StoredPayload) -> None:
        self._payloads[payload.digest] = payload

    def capture(self, url: str) -> UrlCapture | None:
        pending = self._captures.get(url)
        if pending is not None:
            return pending
        row = self._db.execute(f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE url = ?", (url,))
        found = row.fetchone()
        return _capture(found) if found else None

    def record_capture(self, capture: UrlCapture) -> None:
        self._captures[capture.url] = capture

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

    def commit(self, mark: CommitMark | None) -> None:
        """Write the rows held back, and the mark that says which records they describe.

        One transaction: after a crash either both are there or neither.
        """
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO payloads VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p.digest, p.url, p.warc_date, p.record_id, p.filename, p.offset, p.stored_at)
                 for p in self._payloads.values()],
            )  # fmt: skip
            self._db.executemany(
                "INSERT OR REPLACE INTO captures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.url, c.run_id, c.status, c.digest, c.kind, c.depth, c.etag,
                  c.last_modified, c.response_head, int(c.document))
                 for c in self._captures.values()],
            )  # fmt: skip
            if mark is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO commit_marks VALUES (?, ?, ?)",
                    (mark.filename, mark.run_id, mark.end),
                )
        self._payloads.clear()
        self._captures.clear()

    def committed_end(self, filename: str) -> int | None:
        row = self._db.execute(
            "SELECT end_offset FROM commit_marks WHERE filename = ?", (filename,)
        ).fetchone()
        return row[0] if row else None

    def forget_payloads_from(self, filename: str, offset: int) -> int:
        with self._transaction():
            return self._db.execute(
                "DELETE FROM payloads WHERE filename = ? AND offset >= ?", (filename, offset)
            ).rowcount

    def counts(self) -> DedupCounts:
        urls, pages = self._db.execute(
            "SELECT count(*), coalesce(sum(document), 0) FROM captures"
        ).fetchone()
        (payloads,) = self._db.execute("SELECT count(*) FROM payloads").fetchone()
        return DedupCounts(urls, pages, payloads)

    def close(self) -> None:
        # Rows still held back describe records past the last mark, which repair cuts: they
        # must not be written. journal.Journal.close commits everything before this.
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


_CAPTURE_COLUMNS = (
    "url, run_id, status, digest, kind, depth, etag, last_modified, response_head, document"
)


def _capture(row: tuple) -> UrlCapture:
    url, run_id, status, digest, kind, depth, etag, last_modified, head, document = row
    return UrlCapture(
        url, run_id, status, digest, LinkKind(kind), depth, etag, last_modified, head,
        document=bool(document),
    )  # fmt: skip


def open_index(class_path: str, root: Path) -> DedupIndex:
    """The dedup index of the collection at *root*, of the class ARCHIVER_DEDUP_INDEX names
    (``package.module.Class``). Imported by hand, not by Scrapy's load_object: the archive
    worker must not pay for importing Scrapy."""
    module, _, name = class_path.rpartition(".")
    index_class = getattr(importlib.import_module(module), name)
    return index_class.for_collection(root)
