"""robots.txt per origin, the way RFC 9309 says a crawler reads it.

robots.txt is fetched as an ordinary capture (it belongs in the archive), before any other URL
of its origin; URLs that arrive meanwhile wait here. Policy ``ignore`` still fetches and
archives it but lets every URL through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protego import Protego

# RFC 9309 2.5: crawlers must parse at least 500 KiB; more than that is not read.
MAX_ROBOTS_BYTES = 500 * 1024

Verdict = Literal["allow", "disallow", "pending"]


@dataclass(slots=True)
class OriginRobots:
    parser: Protego | None = None
    allow_all: bool = False
    disallow_all: bool = False
    done: bool = False
    waiting: list[object] = field(default_factory=list)


class RobotsRules:
    def __init__(self, *, obey: bool, user_agent: str) -> None:
        self.obey = obey
        # The product token (before "/") is what robots.txt groups name (RFC 9309 2.2.1).
        self.token = user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
        self._origins: dict[str, OriginRobots] = {}

    def known(self, origin: str) -> bool:
        return origin in self._origins

    def begin(self, origin: str) -> OriginRobots:
        state = OriginRobots()
        self._origins[origin] = state
        return state

    def verdict(self, origin: str, url: str) -> Verdict:
        state = self._origins[origin]
        if not state.done:
            return "pending"
        if not self.obey or state.allow_all:
            return "allow"
        if state.disallow_all:
            return "disallow"
        assert state.parser is not None
        return "allow" if state.parser.can_fetch(url, self.token) else "disallow"

    def sitemaps(self, origin: str) -> list[str]:
        """The Sitemap: URLs robots.txt named (empty when it was not read)."""
        parser = self._origins[origin].parser
        return list(parser.sitemaps) if parser is not None else []

    def crawl_delay(self, origin: str) -> float | None:
        """The seconds robots.txt asks between requests (Crawl-delay, not in RFC 9309 but
        widely honoured) in the group for our product token, else ``*``; None when it asks
        none, was not read, or is not obeyed."""
        parser = self._origins[origin].parser
        if not self.obey or parser is None:
            return None
        delay = parser.crawl_delay(self.token)
        return float(delay) if delay is not None and delay > 0 else None

    def waiting(self) -> bool:
        """Whether any URL still waits for its origin's robots.txt."""
        return any(state.waiting for state in self._origins.values())

    def wait(self, origin: str, item: object) -> None:
        self._origins[origin].waiting.append(item)

    def settle(self, origin: str, status: int | None, body: bytes = b"") -> list[object]:
        """Record what robots.txt said and hand back the URLs that waited for it.

        ``status`` None means unreachable. 2xx: parse; 4xx: no restrictions; 5xx or
        unreachable: complete disallow (RFC 9309 2.3.1.3 and 2.3.1.4).
        """
        state = self._origins[origin]
        if status is not None and 200 <= status < 300:
            text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            state.parser = Protego.parse(text)
        elif status is not None and 400 <= status < 500:
            state.allow_all = True
        else:
            state.disallow_all = True
        state.done = True
        waiting, state.waiting = state.waiting, []
        return waiting
