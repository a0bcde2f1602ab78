"""Crawler traps: URL shapes that grow without end, refused by simple rules with counters.

Calendars with a next-month link forever, relative links that make /a/b/a/b/..., session ids
and counters in every link, URLs that grow a segment per page: each is bounded by one rule.
Redirect loops and self-redirects need no rule: a URL already seen is never fetched again.

The pattern budget ends the link-made spaces that branch (faceted navigation, calendars with a
next-year link, pages linking new random URLs): a URL's pattern is its host and its path with
every run of letters and digits that holds a digit made one placeholder. Only links a pattern
makes *to itself* spend its budget, a link from a page of the same pattern (see budget_key):
a crawl reaches a gallery's or an archive's many same-shaped pages from an index of another
shape, which costs nothing, while a trap's pages are found on its own pages.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.model import defaults


@dataclass(frozen=True, slots=True)
class TrapRules:
    max_url_length: int = defaults.MAX_URL_LENGTH
    max_path_repeats: int = defaults.MAX_PATH_REPEATS
    max_query_variants: int = defaults.MAX_QUERY_VARIANTS
    max_path_segments: int = defaults.MAX_PATH_SEGMENTS
    pattern_budget: int = defaults.PATTERN_BUDGET  # 0: no budget


# A run of letters and digits holding a digit: 2026, page-3's 3, a session or random token.
_NUMBERED = re.compile(r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*")
# Patterns whose budget is remembered, least recently used forgotten first: a trap's own
# pattern is used on every page of it, so it stays; a site that makes new patterns without
# end (one per URL) cannot grow the table past this.
PATTERNS_REMEMBERED = 10_000


def url_pattern(url: str) -> str:
    """The shape of a URL that a trap's pages share: host and path, each run of letters and
    digits that holds a digit made one placeholder, no query. /calendar/2026/11/ and
    /calendar/1999/01/ are one pattern."""
    parts = urlsplit(url)
    return parts.netloc.lower() + _NUMBERED.sub("0", parts.path)


def _keys(url: str) -> frozenset[str]:
    return frozenset(pair.partition("=")[0] for pair in urlsplit(url).query.split("&") if pair)


def budget_key(url: str, referer: str) -> str | None:
    """Whose budget a link from ``referer`` to ``url`` spends, or None.

    Between URLs of one pattern without a query: the pattern's. Between query variants of
    one pattern whose keys overlap (?page=2 to ?page=3, ?color=red to ?color=red&size=m, a
    facet added or removed at each step): the pattern's query space, "PATTERN?*", one for
    them all, as the query-variant rule counts a path's queries together. Free: a link to
    another pattern, from a path's own page without a query to its variants (an index to its
    list), and between variants of unrelated keys (a blog's /?paged=2 listing its /?p=12)."""
    pattern = url_pattern(url)
    if pattern != url_pattern(referer):
        return None
    keys, from_keys = _keys(url), _keys(referer)
    if not keys and not from_keys:
        return pattern
    if keys & from_keys:
        return pattern + "?*"
    return None


class PatternBudget:
    """How many URLs each pattern has made from itself; refuses past the budget. Bounded:
    at most PATTERNS_REMEMBERED patterns, and only patterns that linked to themselves."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._used: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._used)

    def take(self, url: str, referer: str) -> str | None:
        """Count one link from ``referer`` to ``url``: the pattern whose budget it is over,
        or None (then it is counted, if it spends a budget: see budget_key)."""
        if not self.budget:
            return None
        key = budget_key(url, referer)
        if key is None:
            return None
        used = self._used.get(key, 0)
        self._used[key] = min(used + 1, self.budget)
        self._used.move_to_end(key)
        if len(self._used) > PATTERNS_REMEMBERED:
            self._used.popitem(last=False)
        return key if used >= self.budget else None


class TrapGuard:
    """Says why a URL looks like a trap, or None. Remembers query variants per path."""

    def __init__(self, rules: TrapRules) -> None:
        self.rules = rules
        self._variants: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.patterns = PatternBudget(rules.pattern_budget)

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
