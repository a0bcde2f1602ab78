"""The crawl frontier on disk: every URL a run has decided to fetch, so a killed run resumes.

One SQLite file, ``frontier.sqlite3`` in the collection, in WAL mode: a commit is whole or
absent after any crash, never a file rewritten in place. It holds

- ``urls``: each URL the run admitted (its seen-set, so memory does not grow with the
  crawl), with what is needed to request it again: its role (page, robots.txt, sitemap),
  link kind, depth, seed flag and the origin a robots.txt answers for. It is also the queue:
  ``queued`` rows wait to be taken, highest ``priority`` first, then in the order admitted;
- ``robots``: what each origin's robots.txt said, so a resumed run obeys the same rules
  without fetching (and capturing) robots.txt twice;
- ``retries``: URLs answered 429 or 503 whose retry is owed (archiver.crawl.pushback), with
  how many retries they had: captured, yet a resumed run fetches them again;
- ``meta``: the run id, what the run was started with, and the scope prefixes seed
  redirects added.

The frontier never says which URLs are done: the run's CDXJ index does, after repair has made
it agree with the WARC files (journal.py). A page's links are committed here before its
capture is handed to the archive worker, so a committed capture never lacks its links.

A run that finishes deletes the file; a run that was killed, stopped or ran out of disk
leaves it, and the next ``archiver crawl`` of the collection resumes from it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from archiver.collection.readonly import connect_read_only
from archiver.model.fingerprint import Fingerprint
from archiver.model.links import LinkKind

logger = logging.getLogger(__name__)

FILENAME = "frontier.sqlite3"


class Role(StrEnum):
    """What an admitted URL is fetched for; the frontier stores the value."""

    PAGE = "page"  # a page or requisite: parsed for links and text
    ROBOTS = "robots"  # a robots.txt (or a redirect on the way to one)
    SITEMAP = "sitemap"


# The names tests and older code use.
ROLE_PAGE, ROLE_ROBOTS, ROLE_SITEMAP = Role.PAGE, Role.ROBOTS, Role.SITEMAP

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS urls (
    seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
    role TEXT NOT NULL, kind TEXT NOT NULL, depth INTEGER NOT NULL, seed INTEGER NOT NULL,
    referer TEXT, for_origin TEXT, hops INTEGER NOT NULL,
    queued INTEGER NOT NULL, priority INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS urls_queue ON urls (priority DESC, seq) WHERE queued = 1;
CREATE TABLE IF NOT EXISTS robots (
    origin TEXT PRIMARY KEY, status INTEGER, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS retries (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One admitted URL, with what it takes to request it again."""

    key: str  # urls.seen_key(url): what makes two URLs the same
    url: str
    role: Role
    kind: LinkKind
    depth: int
    seed: bool = False
    referer: str | None = None  # sent as Referer
    for_origin: str | None = None  # ROLE_ROBOTS: the origin whose rules it is
    hops: int = 0  # redirects followed on the way to it (a page's chain, or a robots.txt's)


_ENTRY_COLUMNS = "key, url, role, kind, depth, seed, referer, for_origin, hops"


def _entry(row: tuple) -> Entry:
    key, url, role, kind, depth, seed, referer, for_origin, hops = row
    return Entry(key, url, Role(role), LinkKind(kind), depth, bool(seed), referer, for_origin, hops)


class Frontier:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A commit after every response: NORMAL survives any crash of this process; the
        # archive worker's checkpoints make it survive a power loss too (FrontierFiles).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def for_collection(cls, root: Path) -> Frontier:
        return cls(root / FILENAME)

    # -- the run it belongs to --------------------------------------------------------------

    @property
    def run_id(self) -> str | None:
        return self._meta("run_id")

    @property
    def fingerprint(self) -> Fingerprint | None:
        value = self._meta("fingerprint")
        return Fingerprint.from_json(value) if value is not None else None

    def begin(self, run_id: str, fingerprint: Fingerprint) -> None:
        """Start empty for a new run."""
        self.commit()
        with self._db:
            self._db.execute("BEGIN")
            for table in ("meta", "urls", "robots", "retries"):
                self._db.execute(f"DELETE FROM {table}")
            self._set_meta("run_id", run_id)
            self._set_meta("fingerprint", fingerprint.to_json())
            self._set_meta("resumes", "0")

    def resumed(self) -> int:
        """Count one more resume of this run; how many there have been."""
        count = int(self._meta("resumes") or 0) + 1
        self.commit()
        with self._db:
            self._db.execute("BEGIN")
            self._set_meta("resumes", str(count))
        return count

    # -- admitted URLs ----------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        # Asked only for URLs the spider has not seen admitted lately (_follow_links).
        found = self._db.execute("SELECT 1 FROM urls WHERE key = ?", (key,)).fetchone()
        return found is not None

    def add(self, entry: Entry, *, queued: bool = True, priority: int = 0) -> bool:
        """Admit a URL, to be taken from the queue (or, ``queued=False``, sent already);
        False if its key was admitted before. Durable at the next commit."""
        self._begin()
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO urls (key, url, role, kind, depth, seed, referer,"
            " for_origin, hops, queued, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.key, entry.url, entry.role, entry.kind, entry.depth, int(entry.seed),
             entry.referer, entry.for_origin, entry.hops, int(queued), priority),
        )  # fmt: skip
        return cursor.rowcount == 1

    def take(self, limit: int) -> list[Entry]:
        """Up to ``limit`` queued entries, highest priority first, now no longer queued."""
        if limit <= 0:
            return []
        rows = self._db.execute(
            f"SELECT seq, {_ENTRY_COLUMNS} FROM urls WHERE queued = 1"
            " ORDER BY priority DESC, seq LIMIT ?",
            (limit,),
        ).fetchall()
        if not rows:
            return []
        self._begin()
        self._db.executemany("UPDATE urls SET queued = 0 WHERE seq = ?", [(r[0],) for r in rows])
        return [_entry(row[1:]) for row in rows]

    def queued(self) -> int:
        """How many entries wait in the queue (for the progress display: counted on the
        queue's own index, a few ms at 100,000)."""
        return self._db.execute("SELECT count(*) FROM urls WHERE queued = 1").fetchone()[0]

    def has_queued(self) -> bool:
        found = self._db.execute("SELECT 1 FROM urls WHERE queued = 1 LIMIT 1").fetchone()
        return found is not None

    def requeue_except(self, done: set[str]) -> int:
        """Queue again every entry whose key is not in ``done`` (a resume); how many are
        queued now (those never taken included)."""
        rows = self._db.execute("SELECT seq, key FROM urls WHERE queued = 0").fetchall()
        again = [(seq,) for seq, key in rows if key not in done]
        self._begin()
        self._db.executemany("UPDATE urls SET queued = 1 WHERE seq = ?", again)
        self.commit()
        return self.queued()

    def entries(self) -> Iterator[Entry]:
        """Every admitted URL, in the order admitted."""
        for row in self._db.execute(f"SELECT {_ENTRY_COLUMNS} FROM urls ORDER BY seq"):
            yield _entry(row)

    def count(self, role: Role, kind: LinkKind | None = None) -> int:
        query, args = "SELECT count(*) FROM urls WHERE role = ?", [str(role)]
        if kind is not None:
            query, args = query + " AND kind = ?", [str(role), str(kind)]
        return self._db.execute(query, args).fetchone()[0]

    # -- retries owed (429/503) --------------------------------------------------------------

    def hold_retry(self, key: str, attempts: int) -> None:
        """The URL is to be asked again (its ``attempts``-th retry): a resume fetches it even
        though the run's index holds its answer. Durable at the next commit."""
        self._begin()
        self._db.execute("INSERT OR REPLACE INTO retries VALUES (?, ?)", (key, attempts))

    def settle_retry(self, key: str) -> None:
        """The URL's retries are over (answered, failed or dropped)."""
        self._begin()
        self._db.execute("DELETE FROM retries WHERE key = ?", (key,))

    def retries_owed(self) -> dict[str, int]:
        """URL key -> retries it had, of every retry still owed."""
        return dict(self._db.execute("SELECT key, attempts FROM retries").fetchall())

    # -- robots.txt and scope ---------------------------------------------------------------

    def settle_robots(self, origin: str, status: int | None, body: bytes) -> None:
        self._begin()
        self._db.execute(
            "INSERT OR REPLACE INTO robots VALUES (?, ?, ?)", (origin, status, bytes(body))
        )

    def robots(self) -> Iterator[tuple[str, int | None, bytes]]:
        yield from self._db.execute("SELECT origin, status, body FROM robots ORDER BY origin")

    def add_scope_prefix(self, prefix: str) -> None:
        self._begin()
        prefixes = self.scope_prefixes()
        if prefix not in prefixes:
            self._set_meta("scope_added", json.dumps([*prefixes, prefix]))

    def scope_prefixes(self) -> list[str]:
        value = self._meta("scope_added")
        return json.loads(value) if value else []

    # -- durability -------------------------------------------------------------------------

    def commit(self) -> None:
        """Make what was added since the last commit survive a crash of this process."""
        if self._db.in_transaction:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                if self._db.in_transaction:  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
                raise

    def finish(self) -> None:
        """The run is complete: nothing to resume. The file goes."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()

    # -- helpers ----------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._db.in_transaction:
            self._db.execute("BEGIN")

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))


@dataclass(frozen=True, slots=True)
class FrontierRun:
    """The run a frontier on disk was left for, and what it was started with."""

    run_id: str
    fingerprint: Fingerprint  # seeds, scope...: what a resume must match (crawl.run)


def read_frontier_run(root: Path) -> FrontierRun | None:
    """The run the frontier of the collection at *root* belongs to, read without writing
    anything (readonly.py); None if there is no frontier or it holds no run."""
    path = root / FILENAME
    if not path.exists():
        return None
    try:
        db = connect_read_only(path)
        try:
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return None  # a frontier whose first commit never happened holds nothing to resume
    run_id = meta.get("run_id")
    if not isinstance(run_id, str):
        return None
    return FrontierRun(run_id, Fingerprint.from_json(meta.get("fingerprint") or "{}"))


class FrontierFiles:
    """The frontier, as the journal's step 3 needs it: made durable, and its log kept short.

    The crawl process commits the frontier before it hands a page's capture on, so whatever
    links that page added are in these files by the time the worker commits the capture.
    fsync makes every commit in the write-ahead log durable; a checkpoint then copies the log
    into the database, so the crawl process's next commit starts it over instead of letting
    it grow to SQLite's automatic checkpoint (4 MB), which a nearly full disk may not have.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def sync(self) -> None:
        wal = self.path.with_name(self.path.name + "-wal")
        with contextlib.suppress(FileNotFoundError), open(wal, "rb+") as f:
            os.fsync(f.fileno())
        if self._db is None:
            # Never creates it: the crawl process made the frontier before the worker started.
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True)
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # fsyncs the database too

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
