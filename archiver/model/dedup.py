"""The collection's memory across runs, as every room speaks of it: a stored payload, a URL's
last capture, a commit mark, and the ``DedupIndex`` interface a store implements.

``SqliteDedupIndex`` (archiver.collection.dedup) is the default store; a shared one (several
crawlers, several machines) implements the same protocol and is named by ARCHIVER_DEDUP_INDEX.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from archiver.model.links import LinkKind


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
    kind: LinkKind  # what a re-check schedules it as
    depth: int
    etag: str | None
    last_modified: str | None
    response_head: bytes  # the effective response head, to answer a later 304
    document: bool  # HTML, plain text or PDF: a manifest page


@dataclass(frozen=True, slots=True)
class CommitMark:
    """Every record of ``filename`` before ``end`` is durable and committed (journal.py)."""

    run_id: str
    filename: str  # the final name in warcs/ (without .open)
    end: int


@dataclass(frozen=True, slots=True)
class DedupCounts:
    """What the index holds: URLs with a capture, those that are pages, payloads stored."""

    urls: int
    pages: int  # URLs whose last capture is a manifest document
    payloads: int


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
    def commit(self, mark: CommitMark | None) -> None: ...
    def committed_end(self, filename: str) -> int | None: ...
    def forget_payloads_from(self, filename: str, offset: int) -> int: ...
    def counts(self) -> DedupCounts: ...  # of what is committed
    def close(self) -> None: ...
