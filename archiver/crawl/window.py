"""The request window: Scrapy is fed from the frontier a few requests ahead of the downloader.

Requests are built only just before they are sent, and at most ``size`` are in Scrapy's hands
at a time, so Scrapy's scheduler never holds more than a few and memory does not grow with
the crawl. Entries are taken from the frontier in batches (a query per request would cost
more than the request); taken but not sent when the run dies is fine, as a resume queues
them again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from archiver.collection.frontier import Entry, Frontier

TAKE_BATCH = 256
# The wait for the next answer also ends after this long: it guards against an answer that
# never signals (none is known).
_WAKE_SECONDS = 1.0

R = TypeVar("R")


class RequestWindow(Generic[R]):
    def __init__(self, frontier: Frontier, size: int) -> None:
        self.frontier = frontier
        self.size = max(1, size)
        self.outstanding = 0  # sent and not answered yet
        self._taken: deque[Entry] = deque()  # taken from the frontier, not yet sent
        # Bound to the event loop only when first awaited (Python 3.10+).
        self._wake = asyncio.Event()

    def refill(self, requests_for: Callable[[Entry], Iterable[R]]) -> list[R]:
        """Requests for queued entries, until the window is full again. ``requests_for``
        makes the requests an entry stands for (none while robots.txt is awaited), each
        counted with ``sent``."""
        requests: list[R] = []
        while self.outstanding < self.size:
            if not self._taken:
                self._taken.extend(self.frontier.take(TAKE_BATCH))
                if not self._taken:
                    break
            requests.extend(requests_for(self._taken.popleft()))
        return requests

    def sent(self, request: R) -> R:
        self.outstanding += 1
        return request

    def answered(self) -> None:
        """A callback or errback runs: one request fewer in flight, and maybe new entries."""
        self.outstanding -= 1
        self.wake()

    def wake(self) -> None:
        """Something may have been queued: the start loop looks again."""
        self._wake.set()

    @property
    def drained(self) -> bool:
        """Nothing in flight, taken or queued."""
        return self.outstanding == 0 and not self._taken and not self.frontier.has_queued()

    def waiting(self) -> int:
        """URLs admitted and not yet requested: queued in the frontier, or taken from it."""
        return self.frontier.queued() + len(self._taken)

    async def next_answer(self) -> None:
        # A plain timer callback, not asyncio.wait_for, which makes a task per wait.
        timer = asyncio.get_running_loop().call_later(_WAKE_SECONDS, self._wake.set)
        await self._wake.wait()
        timer.cancel()
        self._wake.clear()
