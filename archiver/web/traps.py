"""Crawler traps: URL shapes that grow without end, refused by simple rules with counters.

Calendars with a next-month link forever, relative links that make /a/b/a/b/..., session ids
and counters in every link, URLs that grow a segment per page: each is bounded by one rule.
Redirect loops and self-redirects need no rule: a URL already seen is never fetched again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.model import defaults


@dataclass(frozen=True, slots=True)
class TrapRules:
    max_url_length: int = defaults.MAX_URL_LENGTH
    max_path_repeats: int = defaults.MAX_PATH_REPEATS
    max_query_variants: int = defaults.MAX_QUERY_VARIANTS
    max_path_segments: int = defaults.MAX_PATH_SEGMENTS


class TrapGuard:
    """Says why a URL looks like a trap, or None. Remembers query variants per path."""

    def __init__(self, rules: TrapRules) -> None:
        self.rules = rules
        self._variants: defaultdict[tuple[str, str], set[str]] = defaultdict(set)

    def reason(self, url: str) -> str | None:
        rules = self.rules
        if rules.max_url_length and len(url) > rules.max_url_length:
            return "url_too_long"
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if rules.max_path_segments and len(segments) > rules.max_path_segments:
            return "path_too_deep"
        repeats = Counter(segments).most_common(1)[0][1] if segments else 0
        if rules.max_path_repeats and repeats > rules.max_path_repeats:
            return "path_repeats"
        if parts.query and rules.max_query_variants:
            variants = self._variants[(parts.netloc, parts.path)]
            if parts.query not in variants and len(variants) >= rules.max_query_variants:
                return "query_variants"
            variants.add(parts.query)
        return None
