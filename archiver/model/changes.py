"""How a URL fared from one run to the next: the one rule both the archive worker (each
capture's mark) and ``archiver changes`` (whole runs) apply, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class PageState:
    status: int
    digest: str


def classify(previous: PageState | None, current: PageState | None) -> Change:
    """How a URL fared from one run to the next; None means the run has no capture of it."""
    if previous is None:
        if current is None:
            raise ValueError("a page must have a capture in at least one of the two runs")
        return Change.NEW
    if current is None:
        return Change.GONE
    # A page that now answers with an error is gone for a reader, though it was fetched.
    if current.status >= 400 and previous.status < 400:
        return Change.GONE
    if current.status == previous.status and current.digest == previous.digest:
        return Change.UNCHANGED
    return Change.CHANGED
