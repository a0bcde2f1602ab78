"""The run's notable URLs, for its summary and report: the slowest and largest answers, and
the fetches that failed, with why. Kept in bounded memory however long the crawl is.

Fed in the crawl process, which sees every exchange (capture.py) and every failed fetch
(spider.py); read once, when the run summary is built (summary.py).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

KEPT = 20  # slowest and largest URLs named in the summary
ERRORS_KEPT = 200  # failed URLs named; the counts by reason cover every one


@dataclass(slots=True)
class Notable:
    # Min-heaps of the KEPT biggest so far: the smallest of them is the one to push out.
    _slowest: list[tuple[float, int, str, int]] = field(default_factory=list)
    _largest: list[tuple[int, int, str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_seen: int = 0
    _order: int = 0  # ties go to the earlier URL, and tuples never compare URLs first

    def answered(self, url: str, seconds: float, status: int, size: int, mime: str) -> None:
        """An answer came: ``seconds`` from sending the request to its last byte."""
        self._order -= 1
        _keep(self._slowest, (seconds, self._order, url, status))
        if size:  # a 304's or a redirect's empty body is nobody's largest
            _keep(self._largest, (size, self._order, url, mime))
        if status >= 400:
            self.failed(url, f"HTTP {status}")

    def failed(self, url: str, reason: str) -> None:
        """No usable answer: an HTTP error, or no answer at all (DNS, refused, timeout)."""
        self.errors_seen += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"url": url, "reason": reason})

    def summary(self) -> dict[str, Any]:
        slowest = sorted(self._slowest, reverse=True)
        largest = sorted(self._largest, reverse=True)
        return {
            "slowest": [
                {"url": url, "seconds": round(seconds, 3), "status": status}
                for seconds, _, url, status in slowest
            ],
            "largest": [
                {"url": url, "bytes": size, "mime": mime} for size, _, url, mime in largest
            ],
            "errors": list(self.errors),
            "errors_listed_all": self.errors_seen == len(self.errors),
        }


def _keep(heap: list[Any], item: tuple[Any, ...]) -> None:
    if len(heap) < KEPT:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)
