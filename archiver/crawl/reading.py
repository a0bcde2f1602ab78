"""Who reads each page for its text and links: the archive worker, or the crawl process.

The worker reads pages in the parse that reads their text, and sends their links back
(archiver.archive.protocol, Links), which the pipeline hands to ``links_read``. When the
worker has ``backlog`` pages still to read, the crawl process reads the next page itself,
text included, so that neither process waits for the other; a PDF is never read here (its
text takes up to seconds, in which this process would fetch nothing). Until every page sent
to the worker has had its links back, the crawl is not over.
"""

from __future__ import annotations

from collections.abc import Callable

from archiver.model.links import LinkKind
from archiver.web.documents import WORKER_ONLY_TYPES

# Follows and commits a page's links: (the page's URL, its depth, [(url, kind)]); False when
# the frontier could not be written.
AdmitLinks = Callable[[str, int, list[tuple[str, LinkKind]]], bool]


class PageReading:
    def __init__(self, backlog: int, admit: AdmitLinks) -> None:
        self.backlog = backlog
        self._admit = admit
        self.by_worker = False  # the pipeline's worker is open and reads pages
        self.pending = 0  # pages sent to the worker whose links have not come back

    def worker_opened(self) -> None:
        """The archive pipeline's worker takes pages from now on."""
        self.by_worker = True

    def worker_reads(self, mime: str) -> bool:
        """Whether the worker reads a page of this type now, or this process does."""
        return self.by_worker and (self.pending < self.backlog or mime in WORKER_ONLY_TYPES)

    def sent(self) -> None:
        """A page went to the worker to be read: its links will come back."""
        self.pending += 1

    def lost(self, pages: int) -> None:
        """Pages sent for reading that were dropped before they left (a frontier failure)."""
        self.pending -= pages

    def links_read(self, base: str, depth: int, links: list[tuple[str, LinkKind]]) -> bool:
        """The worker read the page at ``base``: follow and commit its links. False: the
        frontier could not be written (a full disk; the crawl stops)."""
        self.pending -= 1
        return self._admit(base, depth, links)
