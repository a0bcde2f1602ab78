"""What decides which URLs a run captures. An unfinished run is resumed only by a crawl with
the same fingerprint; the frontier keeps it (as JSON), and ``archiver status`` prints the
command that resumes the run from it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from archiver.model import defaults


@dataclass(frozen=True, slots=True)
class Fingerprint:
    spider: str = "archive"  # the Scrapy spider's name
    seeds: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()  # as given; empty: each seed's folder
    allow_hosts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    robots: str = defaults.ROBOTS

    @classmethod
    def of(
        cls,
        *,
        spider: str,
        seeds: Iterable[str],
        scope: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        exclude: Iterable[str] = (),
        robots: str = defaults.ROBOTS,
    ) -> Fingerprint:
        return cls(spider, tuple(seeds), tuple(scope), tuple(allow_hosts), tuple(exclude), robots)

    def to_json(self) -> str:
        """Sorted keys, lists for the sequences: what frontiers have always held."""
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        """Read back what to_json wrote; a field missing or of the wrong type takes its
        default, so a damaged record never stops ``status`` (a resume then differs, and says
        so)."""
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        return cls.from_mapping(data if isinstance(data, Mapping) else {})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fingerprint:
        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        spider, robots = data.get("spider"), data.get("robots")
        return cls(
            spider if isinstance(spider, str) else "archive",
            strings("seeds"),
            strings("scope"),
            strings("allow_hosts"),
            strings("exclude"),
            robots if isinstance(robots, str) else defaults.ROBOTS,
        )

    def differences(self, other: Fingerprint) -> list[str]:
        """The names of the fields in which the two differ, sorted."""
        return sorted(
            f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)
        )
