"""Crawler traps: URL shapes that grow without end, refused by simple rules with counters.

Calendars with a next-month link forever, relative links that make /a/b/a/b/..., session ids
and counters in every link, URLs that grow a segment per page: each is bounded by one rule.
Redirect loops and self-redirects need no rule: a URL already seen is never fetched again.

The pattern budget ends the link-made spaces that branch (faceted navigation, calendars with a
next-year link, pages linking new random URLs): a URL's pattern is its host and its path with
every run of letters and digits that holds a digit made one placeholder. Only links a pattern
makes *to itself* spend its budget, a link from a page of the same pattern (see budget_key):
a crawl reaches a gallery's or an archive's many same-shaped pages from an index of another
shape, which costs nothing, while a trap's pages are found on its own pages. And a path
pattern spends its budget only while its pages look alike (page_shape): numbered pages that
differ in their words are a site, not a trap, and the links they wait for are followed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
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


# A page's shape ignores every run of letters and digits holding a digit, as a URL's pattern
# does: dates, counters, random tokens, item numbers. A calendar's months, a pagination past
# its end, a soft 404 echoing its random URL: one shape, or a few. Real pages differ in words.
_NUMBERED_BYTES = re.compile(rb"[A-Za-z0-9_]*[0-9][A-Za-z0-9_]*")
# Links parked per pattern while it is not trusted, and patterns with links parked (least
# recently parked forgotten first, their links then lost): a wide trap page makes thousands
# of links to its own pattern, which must not all be held.
PARKED_LINKS = 4_096
PARKED_PATTERNS = 64


def page_shape(body: bytes) -> bytes:
    """What pages of one pattern share when they look alike: a hash of the body with every
    run of letters and digits that holds a digit taken out."""
    return hashlib.blake2b(_NUMBERED_BYTES.sub(b"", body), digest_size=16).digest()


@dataclass(slots=True)
class _Spending:
    """One budget: a path pattern's, or a query space's (``admitted`` alone)."""

    admitted: int = 0  # links admitted from its own pages while not trusted
    shapes: set[bytes] | None = field(default_factory=set)  # None: sampling ended
    distinct: int = 0  # shapes its pages showed
    repeats: int = 0  # pages of a shape seen before
    trusted: bool = False


@dataclass(frozen=True, slots=True)
class Parked:
    """A page link held back while its pattern's pages looked alike."""

    url: str
    depth: int
    referer: str


class PatternBudget:
    """Links each pattern made to itself, and how its pages look; refuses past the budget.

    A path pattern's budget is spent only while its pages look alike: every distinct shape
    of its pages (page_shape, recorded by ``shape``) allows one more link, and once its
    pages have shown ``budget`` shapes the pattern is trusted and links to it are free. A
    link past the budget of a path pattern is parked (``park``), and released when the
    pattern earns more (``release``): a site of numbered pages found through each other is
    taken whole, a trap's look-alike pages stop at the budget. A query space ("PATTERN?*")
    keeps the plain budget: facets differ in words (the values chosen) at every step.

    Bounded: at most PATTERNS_REMEMBERED patterns (only those that linked to themselves),
    each with at most ``budget`` shapes, and PARKED_LINKS for PARKED_PATTERNS patterns."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._spent: OrderedDict[str, _Spending] = OrderedDict()
        self._parked: OrderedDict[str, dict[str, Parked]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._spent)

    def take(self, url: str, referer: str) -> str | None:
        """Count one link from ``referer`` to ``url``: the pattern whose budget it is over,
        or None (then it is counted, if it spends a budget: see budget_key)."""
        if not self.budget:
            return None
        key = budget_key(url, referer)
        if key is None:
            return None
        spending = self._spent.get(key)
        if spending is None:
            spending = self._spent[key] = _Spending()
            if len(self._spent) > PATTERNS_REMEMBERED:
                self._spent.popitem(last=False)
        self._spent.move_to_end(key)
        if spending.trusted:
            return None
        if spending.admitted >= self.budget + spending.distinct:
            return key
        spending.admitted += 1
        return None

    def sampling(self, url: str) -> str | None:
        """The path pattern whose budget wants the shape of the page at ``url``: one whose
        pages linked to themselves, not yet trusted, nor shown to look alike. Only for such
        pages is the shape computed, so a crawl hashes a few dozen pages per pattern at most,
        and none of a site whose numbered pages are only linked from other pages."""
        if not self.budget or urlsplit(url).query:
            return None
        key = url_pattern(url)
        spending = self._spent.get(key)
        if spending is None or spending.trusted or spending.shapes is None:
            return None
        return key

    def shape(self, key: str, shape: bytes) -> bool:
        """Record the shape of a page of pattern ``key`` (see sampling); True: the pattern
        is trusted now."""
        spending = self._spent.get(key)
        if spending is None or spending.trusted or spending.shapes is None:
            return False
        if shape in spending.shapes:
            spending.repeats += 1
            if spending.repeats >= self.budget:
                spending.shapes = None  # its pages look alike: no more are hashed
            return False
        spending.shapes.add(shape)
        spending.distinct += 1
        if spending.distinct < self.budget:
            return False
        spending.trusted, spending.shapes = True, None
        return True

    def park(self, key: str, link: Parked) -> bool:
        """Hold a link past the budget of path pattern ``key`` until the pattern earns more,
        unless its pattern has as many parked as it may hold (then it is dropped). False: it
        was parked already."""
        parked = self._parked.get(key)
        if parked is None:
            parked = self._parked[key] = {}
            if len(self._parked) > PARKED_PATTERNS:
                self._parked.popitem(last=False)
        self._parked.move_to_end(key)
        if link.url in parked:
            return False
        if len(parked) < PARKED_LINKS:
            parked[link.url] = link
        return True

    def release(self, key: str) -> Iterator[Parked]:
        """The links parked for ``key`` that its budget allows now, oldest first; each is
        expected to be followed (spending the budget) before the next is taken."""
        parked = self._parked.get(key)
        while parked:
            spending = self._spent.get(key)
            if spending is None:
                return
            if not spending.trusted and spending.admitted >= self.budget + spending.distinct:
                return
            yield parked.pop(next(iter(parked)))
        self._parked.pop(key, None)

    def parked_for(self, key: str) -> int:
        """Links parked now for pattern ``key``."""
        return len(self._parked.get(key, ()))


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
