"""Every crawler trap at once, under /hostile/traps/, next to a normal site 15 levels deep.

The index /hostile/traps/ links one entry of each trap kind (`KINDS`, each named) and the root
of the normal tree. Some kinds are the hostile server's own resources elsewhere under
/hostile/ (redirect chain, query calendar, growing and repeating paths, session ids), so a
crawl of this site is seeded at /hostile/traps/ with /hostile/ as its scope. The others live
here:

- /hostile/traps/calendar/YYYY/MM/: a month, linking the previous and next month and the next
  year, forever in both directions;
- /hostile/traps/list?page=N: a pagination with no last page;
- /hostile/traps/shop?...: faceted navigation, several multi-valued facets and sort orders,
  each page linking every value added and every value removed;
- /hostile/traps/missing/TOKEN.html, and every unknown path below /hostile/traps/: a soft 404
  (200, "not found") linking new random URLs;
- /hostile/traps/wide/N.html: 10,000 links, each to another such page;
- /hostile/traps/tree/: not a trap, a static site 15 levels deep with several pages per level,
  each with an image, that a crawl must take whole;
- /hostile/traps/items/N.html: not a trap either, numbered pages found only through each other
  (each links three more, a tree), each with its own words: a crawl must take them all.

Every request is answered from its URL alone (the soft 404's tokens aside), in bounded bytes.
`kind_of` names the kind of a requested target, for measuring what a crawl spent on each.
"""

from __future__ import annotations

import hashlib
import html
import itertools
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from samplesite import hostile

PREFIX = "/hostile/traps/"
TREE = PREFIX + "tree/"
TREE_LEVELS = 15  # the deepest pages are this many links below the tree's root
TREE_PAGES = 3  # pages per level besides the level's index
WIDE_LINKS = 10_000
SOFT_404_LINKS = 3
ITEMS = PREFIX + "items/"
ITEM_COUNT = 150  # items 1 to this; item N links items 3N-1 to 3N+1
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FACETS = {
    "color": ("red", "green", "blue", "black"),
    "size": ("s", "m", "l", "xl"),
    "brand": ("acme", "globex", "initech"),
}
SORTS = ("price", "name", "newest", "rating")


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str  # every request whose target starts with this is of the kind
    entry: str  # what the index links to
    description: str


KINDS: tuple[Kind, ...] = (
    Kind(
        "redirect_chain", "/hostile/redirect-chain/", "/hostile/redirect-chain/0",
        "302 from N to N+1, a new URL every hop, forever",
    ),
    Kind(
        "path_calendar", PREFIX + "calendar/", PREFIX + "calendar/2026/11/",
        "/calendar/YYYY/MM/ linking the previous and next month and the next year",
    ),
    Kind(
        "query_calendar", "/hostile/calendar", hostile.CALENDAR_START,
        "?year=&month= linking the previous and next month",
    ),
    Kind("pagination", PREFIX + "list", PREFIX + "list?page=1", "?page=N linking N+1, forever"),
    Kind(
        "facets", PREFIX + "shop", PREFIX + "shop",
        "faceted navigation: every facet value added or removed, every sort order",
    ),
    Kind("grow", "/hostile/grow/", "/hostile/grow/", "each page links itself plus one segment"),
    Kind("repeat", "/hostile/repeat/", "/hostile/repeat/", "relative links a/ and b/: /a/b/a/b/"),
    Kind("session", "/hostile/session", "/hostile/session", "a new session id in every link"),
    Kind(
        "soft_404", PREFIX + "missing/", PREFIX + "missing/start.html",
        "200 'not found' pages, each linking new random URLs",
    ),
    Kind(
        "wide", PREFIX + "wide/", PREFIX + "wide/0.html",
        f"{WIDE_LINKS:,} links a page, each to another such page",
    ),
)  # fmt: skip


def kind_of(target: str) -> str:
    """The trap kind a request target belongs to; "tree" for the normal site, "other" for the
    index pages and robots.txt."""
    if target.startswith(TREE):
        return "tree"
    if target.startswith(ITEMS):
        return "items"
    for kind in KINDS:
        if target.startswith(kind.prefix):
            return kind.name
    if target.startswith(PREFIX) and target != PREFIX:
        return "soft_404"  # any unknown path here is one
    return "other"


# --- the normal tree -----------------------------------------------------------------------------


def tree_level_path(level: int) -> str:
    """The folder of a level: the root is level 0, level k is k folders below it."""
    return TREE + "".join(f"level-{n}/" for n in range(1, level + 1))


def tree_pages() -> list[str]:
    """Every page and image of the tree, as paths: what a complete capture holds."""
    paths: list[str] = []
    for level in range(TREE_LEVELS + 1):
        folder = tree_level_path(level)
        paths += [folder + "index.html", folder + "index.gif"]
        for n in range(1, TREE_PAGES + 1):
            paths += [f"{folder}page-{n}.html", f"{folder}page-{n}.gif"]
    return paths


def tree(request: resources.Request) -> resources.Reply:
    rest = request.path[len(TREE) :]
    folders, _, name = rest.rpartition("/")
    numbers = [f[len("level-") :] for f in folders.split("/") if f] if folders else []
    expected = [str(n) for n in range(1, len(numbers) + 1)]
    if numbers != expected or len(numbers) > TREE_LEVELS:
        return resources.not_found(request)
    level = len(numbers)
    stem, _, suffix = name.partition(".")
    if name == "":
        stem, suffix = "index", "html"
    pages = [f"page-{n}" for n in range(1, TREE_PAGES + 1)]
    if stem not in ("index", *pages) or suffix not in ("html", "gif"):
        return resources.not_found(request)
    if suffix == "gif":
        return resources.Reply(200, [("Content-Type", "image/gif")], hostile.PIXEL)
    hrefs = [f"{p}.html" for p in pages if p != stem]
    if stem == "index" and level < TREE_LEVELS:
        hrefs.append(f"level-{level + 1}/index.html")
    if stem != "index":
        hrefs.append("index.html")
    image = f'<img src="{stem}.gif" alt="{stem} of level {level}">\n'
    return hostile.page(f"Tree level {level}, {stem}", image + hostile.links(hrefs))


def item_pages() -> list[str]:
    """Every numbered item, as paths: what a complete capture holds."""
    return [f"{ITEMS}{n}.html" for n in range(1, ITEM_COUNT + 1)]


def item(request: resources.Request) -> resources.Reply:
    name = request.path[len(ITEMS) :].removesuffix(".html")
    n = int(name) if name.isdigit() and len(name) < 6 else 0
    if not 1 <= n <= ITEM_COUNT or request.path != f"{ITEMS}{n}.html":
        return resources.not_found(request)
    hrefs = [f"{m}.html" for m in range(3 * n - 1, 3 * n + 2) if m <= ITEM_COUNT]
    # Its number in words: pages that differ as real pages do, not only in their numbers.
    words = " ".join(DIGIT_WORDS[int(d)] for d in str(n))
    return hostile.page(f"Item {n}", f"<p>Item {words}.</p>\n" + hostile.links(hrefs))


# --- the traps -----------------------------------------------------------------------------------


def month_path(year: int, month: int) -> str:
    return f"{PREFIX}calendar/{year:04d}/{month:02d}/"


def path_calendar(request: resources.Request) -> resources.Reply:
    parts = [p for p in request.path[len(PREFIX + "calendar/") :].split("/") if p]
    try:
        year, month = int(parts[0]), min(max(int(parts[1]), 1), 12)
    except (IndexError, ValueError):
        year, month = 2026, 11
    year = min(max(year, 1), 9998)
    back = (year - 1, 12) if month == 1 else (year, month - 1)
    ahead = (year + 1, 1) if month == 12 else (year, month + 1)
    hrefs = [month_path(*back), month_path(*ahead), month_path(year + 1, month)]
    return hostile.page(f"Calendar {year:04d}-{month:02d}", hostile.links(hrefs))


def pagination(request: resources.Request) -> resources.Reply:
    n = max(hostile.query_int(request, "page", 1), 1)
    hrefs = [f"list?page={p}" for p in (1, n - 1, n + 1) if p >= 1 and p != n]
    items = "".join(f"<p>item {(n - 1) * 10 + i}</p>\n" for i in range(1, 11))
    return hostile.page(f"List page {n}", items + hostile.links(hrefs))


def facets(request: resources.Request) -> resources.Reply:
    # Pairs in the order they came, as a shop's links keep them: added values go last, so
    # the same selection is reached by many query strings.
    pairs = [(k, v) for k, v in parse_qsl(request.query)[:16] if k in FACETS or k == "sort"]
    chosen = [(k, v) for k, v in pairs if k != "sort"]
    sort = next((v for k, v in pairs if k == "sort"), "")

    def href(selection: list[tuple[str, str]], order: str) -> str:
        query = selection + ([("sort", order)] if order else [])
        return "shop?" + urlencode(query) if query else "shop"

    hrefs = [
        href([*chosen, (key, value)], sort)
        for key, values in FACETS.items()
        for value in values
        if (key, value) not in chosen
    ]
    hrefs += [href([p for p in chosen if p != pair], sort) for pair in chosen]
    hrefs += [href(chosen, order) for order in SORTS if order != sort]
    shown = ", ".join(f"{k}={v}" for k, v in chosen) or "everything"
    return hostile.page(f"Shop: {shown}", hostile.links(hrefs))


_tokens = itertools.count(1)  # next() on it is atomic under the GIL


def token() -> str:
    digest = hashlib.sha1(b"missing %d" % next(_tokens)).hexdigest()
    return digest[:6] + str(int(digest[6:10], 16) % 10) + digest[10:13]


def soft_404(request: resources.Request) -> resources.Reply:
    """A page that is not there, answered 200 with links to more pages that are not there."""
    hrefs = [f"{PREFIX}missing/{token()}.html" for _ in range(SOFT_404_LINKS)]
    body = f"<p>Sorry, {html.escape(request.path)} was not found. Try these:</p>\n"
    return hostile.page("Page not found", body + hostile.links(hrefs))


def wide(request: resources.Request) -> resources.Reply:
    name = request.path[len(PREFIX + "wide/") :].removesuffix(".html")
    n = int(name) if name.isdigit() and len(name) < 12 else 0
    first = n * WIDE_LINKS + 1
    body = "".join(f'<a href="{m}.html">{m}</a>\n' for m in range(first, first + WIDE_LINKS))
    return hostile.page(f"Wide page {n}", body)


def index(request: resources.Request) -> resources.Reply:
    items = [
        f'<li><a href="{html.escape(k.entry)}">{k.name}</a>: {html.escape(k.description)}</li>'
        for k in KINDS
    ]
    items.append(
        f'<li><a href="{TREE}index.html">tree</a>: a normal site {TREE_LEVELS} levels deep, '
        "not a trap</li>"
    )
    items.append(
        f'<li><a href="{ITEMS}1.html">items</a>: {ITEM_COUNT} numbered pages found through '
        "each other, not a trap</li>"
    )
    return hostile.page("Every crawler trap at once", "<ul>\n" + "\n".join(items) + "\n</ul>")


def dispatch(request: resources.Request) -> resources.Reply:
    path = request.path
    if path == PREFIX:
        return index(request)
    for start, handler in HANDLERS:
        if path.startswith(start):
            return handler(request)
    return soft_404(request)


HANDLERS: tuple[tuple[str, resources.Handler], ...] = (
    (TREE, tree),
    (ITEMS, item),
    (PREFIX + "calendar/", path_calendar),
    (PREFIX + "list", pagination),
    (PREFIX + "shop", facets),
    (PREFIX + "wide/", wide),
)
ROUTES: dict[str, resources.Handler] = {}
PREFIX_ROUTES: dict[str, resources.Handler] = {PREFIX: dispatch}

# Last, as hostile.py does: `resources` imports this module, and finds its tables defined.
from samplesite import resources  # noqa: E402
