"""Reading a collection's SQLite files (dedup index, frontier) without writing anything.

``archiver status`` looks at a collection from cron while a crawl may be writing it: it must
never be what changes an archive, not even by leaving SQLite's side files behind.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection to the SQLite file at *path* that leaves no files behind.

    A read-only connection to a WAL database still creates its -wal and -shm files, and only a
    writer removes them. When there is no -wal file, no one has the database open and no
    commits wait in a log, so it is read as immutable. With one, a writer has it open (or died
    with it open) and the side files are there already. sqlite3.Error if it cannot be opened.
    """
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
