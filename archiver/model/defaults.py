"""Every default of archiver's own settings, in one place.

The Scrapy settings module (archiver.crawl.settings) publishes each as its ``ARCHIVER_*``
setting, the command line's help quotes them, and components that can be built without a
crawler (the journal, the trap rules) take them as their parameters' defaults. The README's
option table says the same; change a value here and nowhere else.
"""

from __future__ import annotations

from typing import Final

from archiver import __version__
from archiver.model.modes import ProgressMode, RobotsPolicy

# -- what is crawled -----------------------------------------------------------------------
OUTPUT: Final = "output/default"  # the collection folder
MAX_PAGES: Final = 0  # pages (seeds and links, not requisites) to fetch; 0: no limit
# Link hops from a seed (0: no limit): Heritrix's default. Ends link-made endless spaces
# (calendars, paginations) whatever their URLs; a page's requisites are taken past it.
MAX_DEPTH: Final = 20
ROBOTS: Final = RobotsPolicy.OBEY  # robots.txt is fetched and archived either way
RECHECK: Final = True  # fetch again every URL earlier runs captured, linked or not
USER_AGENT: Final = (
    f"archiver/{__version__} (web archiving crawler; +https://github.com/archiver-project/archiver)"
)

# -- politeness and limits of one fetch ----------------------------------------------------
# Polite by default, for the small servers that hold old sites: a crawl keeps at most this
# many requests in flight to one host (Heritrix keeps one connection per host, wget and
# Browsertrix one request at a time), while many hosts proceed side by side up to CONCURRENCY.
# --concurrency N sets both to N.
CONCURRENCY_PER_HOST: Final = 2
CONCURRENCY: Final = 16  # requests in flight at once, all hosts together
# Seconds between requests to one host when --delay fixes it (Scrapy's DOWNLOAD_DELAY); with
# no --delay the pause adapts to each host (AutoThrottle, below) and robots.txt Crawl-delay.
DELAY: Final = 0.0
# AutoThrottle: a host's pause starts here and moves toward its response time divided by
# CONCURRENCY_PER_HOST (so that many are in flight on average), halfway with each response.
# Short, so that a small crawl is not slowed by a cautious start; a slow server slows it.
AUTOTHROTTLE_START_DELAY: Final = 0.5
# ... and never grows past this (Heritrix's longest pause between requests, max-delay-ms).
AUTOTHROTTLE_MAX_DELAY: Final = 30.0
# robots.txt Crawl-delay is honoured up to this many seconds: Heritrix's cap, so that a
# robots.txt cannot stall a run for hours per request.
MAX_CRAWL_DELAY: Final = 300.0
TIMEOUT: Final = 60  # seconds a response may take to finish
# Bytes; a longer body is cut and marked truncated. Large enough for a DVD image: bodies are
# spooled to disk, so their size costs disk, not memory; 0 is no limit at all.
MAX_RESPONSE_SIZE: Final = 100_000_000_000
# A body is kept in memory up to this many bytes, and spooled to the collection's disk past it.
BODY_MEMORY_BYTES: Final = 1 << 20
# The run stops cleanly (resumable) when the collection's disk has less free space than this.
MIN_FREE_SPACE: Final = 1_000_000_000
MAX_TEXT_BYTES: Final = 10_000_000  # decoded bytes read for links and text (bomb cap)

# -- crawler traps (archiver.web.traps) ------------------------------------------------------
MAX_URL_LENGTH: Final = 2048  # what old browsers and servers accepted
MAX_PATH_REPEATS: Final = 3  # the same path segment more often than this: /a/b/a/b/a/b/a
MAX_QUERY_VARIANTS: Final = 500  # distinct query strings for one path (calendars, counters)
MAX_PATH_SEGMENTS: Final = 40
# Redirects followed in one chain, wherever it wanders: what browsers and Scrapy allow.
MAX_REDIRECTS: Final = 20
# Links a URL pattern (host and path, numbers generalized) may make to itself, from pages of
# the same pattern (0: no budget). The hop limit ends a chain (next month, next page); this
# ends what branches: facets, calendars with a next-year link, pages linking new random
# URLs, pages of thousands of links to pages like themselves. Pages found from an index of
# another shape cost nothing; pages found only through their own shape stop here while they
# look alike (numbers and tokens aside), and a pattern whose pages have shown this many
# different bodies is trusted: its links are followed, the waiting ones too.
PATTERN_BUDGET: Final = 25

# -- servers that push back, hosts that fail (archiver.crawl.hosthealth) -------------------
# 429/503 answers retried per URL: between Scrapy's 2 and Browsertrix's 4; each answer is
# archived, so a URL costs at most 1 + this many captures.
MAX_RETRIES: Final = 3
# Seconds before a retry when the server sent no usable Retry-After, doubled at each attempt
# (5, 10, 20), and the first pause of a failing host: long enough for a restart or a rate
# limit to pass, short enough that a run of hours does not notice.
RETRY_BACKOFF: Final = 5.0
# The longest the crawl pauses a host at once: a longer Retry-After gives the host up for this
# run. Heritrix caps Crawl-delay at 300 s, Nutch waits 5 minutes on a robots.txt 503.
MAX_RETRY_WAIT: Final = 300.0
# Failures in a row (refused, DNS, timeout, 5xx) after which a host is given up for this run:
# with pauses of 5, 10 and 20 s between them, a host down for a minute is given up, one that
# answers again within that time is not.
MAX_HOST_FAILURES: Final = 5

# -- run limits (archiver.crawl.limits): each stops the run cleanly, and resumably ------------
# No limit by default: a crawl left to itself ends because every trap ends (above), and the
# disk is guarded by MIN_FREE_SPACE; a time or size limit is the operator's plan for a
# scheduled run (its time slot, its share of the disk), which no default can know.
MAX_DURATION: Final = 0.0  # seconds this process of a run may crawl; 0: no limit
MAX_BYTES: Final = 0  # WARC bytes this process of a run may write; 0: no limit

# -- how the archive is written ------------------------------------------------------------
WARC_SIZE: Final = 1_000_000_000  # rotate WARC files past this many bytes
WARC_PREFIX: Final = "archiver"  # file names: PREFIX-YYYYMMDDhhmmss-SERIAL-HOST.warc.gz
DEDUP_INDEX: Final = "archiver.collection.dedup.SqliteDedupIndex"  # payload-digest index class
DEDUP_MAX_AGE: Final = 0.0  # days; a payload stored longer ago is stored again; 0: never
CHECKPOINT_SECONDS: Final = 10.0  # commit captures (fsync, lines, rows) at least this often
CHECKPOINT_CAPTURES: Final = 500  # ... or after this many captures
CHECKPOINT_PENDING_BYTES: Final = 16_000_000  # ... or once the lines held back reach this
# Pages the archive worker may have yet to read (text and links) before the crawl process
# reads the next one itself, so that the busier process gets help.
WORKER_BACKLOG: Final = 16

# -- what the operator sees ----------------------------------------------------------------
LOG_LEVEL: Final = "INFO"  # level of the collection's logs/<run-id>.log
PROGRESS: Final = ProgressMode.AUTO
PROGRESS_LOG_SECONDS: Final = 30.0  # the plain progress line, when there is no live display
