"""Timeline: a run's pages over time, sampled while it runs (progress.py) for its summary and
report, in bounded memory however long the run is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TIMELINE_POINTS = 600  # at most; a long run keeps every 2nd, then every 4th... sample


@dataclass(slots=True)
class Timeline:
    """Samples of (seconds since start, captures, WARC bytes), thinned to stay bounded."""

    points: list[dict[str, Any]] = field(default_factory=list)
    every: int = 1  # keep one tick in this many
    _ticks: int = 0

    def add(self, elapsed: float, captures: int, warc_bytes: int, *, last: bool = False) -> None:
        tick = self._ticks
        self._ticks += 1
        # Kept ticks are multiples of `every`, so thinning by half keeps them evenly spaced.
        if tick % self.every and not last:
            return
        if len(self.points) >= TIMELINE_POINTS:
            self.points = self.points[::2]
            self.every *= 2
        self.points.append({"t": round(elapsed, 1), "captures": captures, "bytes": warc_bytes})
