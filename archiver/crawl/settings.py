"""Scrapy settings for archiving crawls: every ARCHIVER_* setting, and Scrapy's own as
archiving needs them.

``archiver crawl`` starts from here, and so does ``scrapy crawl`` (spiders/settings.py reads
this module), so both ways of running a crawl capture the same way. Command-line options map
onto these names (archiver.cli.options).
"""

from archiver.model import defaults
from archiver.web.decoding import ACCEPT_ENCODING

BOT_NAME = "archiver"
# `archiver crawl` runs ArchiveSpider itself; the site spiders are a Scrapy project of their
# own at the top of the repository (spiders/settings.py, which scrapy.cfg names).
SPIDER_MODULES: list[str] = []

# -- archiver settings ------------------------------------------------------------------------
# Their defaults live in archiver.model.defaults, with what each means.
ARCHIVER_OUTPUT = defaults.OUTPUT
ARCHIVER_SEEDS: list[str] = []  # seed URLs; empty: the spider's start_urls
ARCHIVER_SCOPE: list[str] = []  # URL prefixes pages must start with; empty: the seeds' folders
ARCHIVER_ALLOW_HOSTS: list[str] = []  # hosts in scope whatever the path
ARCHIVER_EXCLUDE: list[str] = []  # regular expressions; a matching URL is never fetched
ARCHIVER_MAX_PAGES = defaults.MAX_PAGES
ARCHIVER_MAX_DEPTH = defaults.MAX_DEPTH
ARCHIVER_ROBOTS = defaults.ROBOTS
ARCHIVER_WARC_SIZE = defaults.WARC_SIZE
ARCHIVER_WARC_PREFIX = defaults.WARC_PREFIX
ARCHIVER_RESOLVE: list[str] = []  # HOST:PORT:ADDR, as curl --resolve
ARCHIVER_OPERATOR = ""  # who runs the crawl (name, email or URL), recorded in warcinfo
ARCHIVER_RUN_ID = ""  # set by `archiver crawl`; empty: from the start time
ARCHIVER_LOG_LEVEL = defaults.LOG_LEVEL
ARCHIVER_RECHECK = defaults.RECHECK
ARCHIVER_DEDUP_MAX_AGE = defaults.DEDUP_MAX_AGE
ARCHIVER_DEDUP_INDEX = defaults.DEDUP_INDEX
ARCHIVER_MAX_RESPONSE_SIZE = defaults.MAX_RESPONSE_SIZE
ARCHIVER_BODY_MEMORY_BYTES = defaults.BODY_MEMORY_BYTES
ARCHIVER_MIN_FREE_SPACE = defaults.MIN_FREE_SPACE
ARCHIVER_MAX_TEXT_BYTES = defaults.MAX_TEXT_BYTES
ARCHIVER_MAX_URL_LENGTH = defaults.MAX_URL_LENGTH
ARCHIVER_MAX_PATH_REPEATS = defaults.MAX_PATH_REPEATS
ARCHIVER_MAX_REDIRECTS = defaults.MAX_REDIRECTS
ARCHIVER_MAX_QUERY_VARIANTS = defaults.MAX_QUERY_VARIANTS
ARCHIVER_MAX_PATH_SEGMENTS = defaults.MAX_PATH_SEGMENTS
ARCHIVER_PATTERN_BUDGET = defaults.PATTERN_BUDGET
# Servers that push back (429/503) and hosts that fail (archiver.crawl.hosthealth).
ARCHIVER_MAX_RETRIES = defaults.MAX_RETRIES
ARCHIVER_RETRY_BACKOFF = defaults.RETRY_BACKOFF
ARCHIVER_MAX_RETRY_WAIT = defaults.MAX_RETRY_WAIT
ARCHIVER_MAX_HOST_FAILURES = defaults.MAX_HOST_FAILURES
ARCHIVER_CHECKPOINT_SECONDS = defaults.CHECKPOINT_SECONDS
ARCHIVER_CHECKPOINT_CAPTURES = defaults.CHECKPOINT_CAPTURES
ARCHIVER_NO_WARC = False  # measurement only: crawl and parse, archive nothing (benchmarks)
ARCHIVER_RESTART = False  # abandon an unfinished run's frontier instead of resuming it
ARCHIVER_BLOCK_PRIVATE_IPS = False  # refuse private, loopback, link-local addresses
ARCHIVER_WORKER_BACKLOG = defaults.WORKER_BACKLOG
ARCHIVER_PROGRESS = defaults.PROGRESS
ARCHIVER_PROGRESS_LOG_SECONDS = defaults.PROGRESS_LOG_SECONDS
# Run limits (archiver.crawl.limits): seconds, and WARC bytes, of this process; 0: none.
ARCHIVER_MAX_DURATION = defaults.MAX_DURATION
ARCHIVER_MAX_BYTES = defaults.MAX_BYTES

USER_AGENT = defaults.USER_AGENT

# -- how the archive is captured -------------------------------------------------------------
# Every response must reach the spider so it reaches the WARC: redirects are followed by the
# spider as new captures, errors are archived like any page, nothing is retried silently.
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
RETRY_ENABLED = False
HTTPERROR_ALLOW_ALL = True
ROBOTSTXT_OBEY = False  # the spider fetches, archives and applies robots.txt itself

DOWNLOADER_MIDDLEWARES = {
    # Scope, robots and redirects are the spider's; a cache would replay old responses.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
    # Bodies are decoded by the spider with a size cap (decoding.py): a few-KB gzip bomb must
    # not become a gigabyte in memory. Accept-Encoding is set below instead.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    # Scrapy's cookie handling, minus its cost where no cookie is in play (cookies.py).
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "archiver.crawl.cookies.LeanCookiesMiddleware": 700,
    # First on the way out: a request to a paused host is held before any other layer sees
    # it (cookies are added when it is sent); 429/503 retries and host failures (pushback.py).
    "archiver.crawl.pushback.PushbackMiddleware": 50,
    # Serializes every request and response again only to count their bytes; the capture
    # middleware and the run summary count what was archived.
    "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
    # The spider builds every request with DEFAULT_REQUEST_HEADERS and USER_AGENT itself, and
    # the download handler keeps its own timeouts; no credentials or proxies are used. Each
    # middleware is a layer every request and response passes (make bench).
    "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware": None,
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    # The first middleware a response meets: it counts every exchange the handler recorded.
    "archiver.crawl.capture.CaptureMiddleware": 950,
}
SPIDER_MIDDLEWARES = {
    # The spider tracks depth and sets Referer itself (also on requests released by robots.txt).
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    # Every status is archived (HTTPERROR_ALLOW_ALL), long URLs are a trap rule of our own
    # (ARCHIVER_MAX_URL_LENGTH), and meta-copy detection is a debugging aid: work per request
    # that decides nothing here.
    "scrapy.spidermiddlewares.httperror.HttpErrorMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
# Hands captures to the archive worker process (worker.py), which writes the archive.
ITEM_PIPELINES = {"archiver.crawl.pipeline.ArchivePipeline": 500}
# Scrapy's own extensions, less three: an archiver has no business listening on ports
# (TelnetConsole, RemoteControl), and feeds export items, while archiver's output is the
# collection (FeedExporter would still handle the item_scraped signal of every capture). Left
# out of the base rather than set to None in EXTENSIONS, where Scrapy imports each class named
# to compare it: RemoteControl's import (aiohttp) alone slowed every run's start-up.
EXTENSIONS_BASE = {
    f"scrapy.extensions.{name}": 0
    for name in (
        "corestats.CoreStats",
        "logcount.LogCount",
        "memusage.MemoryUsage",
        "memdebug.MemoryDebugger",
        "closespider.CloseSpider",
        "logstats.LogStats",
        "spiderstate.SpiderState",
    )
}
# ProgressDisplay first: its last sample must be in before RunExtension writes the summary.
EXTENSIONS = {
    "archiver.crawl.progress.ProgressDisplay": 5,
    "archiver.crawl.runlog.RunExtension": 10,
    "archiver.crawl.timers.TimerSweep": 20,
    # Scrapy's AutoThrottle, with robots.txt Crawl-delay as each host's floor (throttle.py).
    "archiver.crawl.throttle.ArchiveThrottle": 0,
    "archiver.crawl.limits.RunLimits": 30,
}
TELNETCONSOLE_ENABLED = False
# No per-page DEBUG lines unless a log shows DEBUG (logformat.py).
LOG_FORMATTER = "archiver.crawl.logformat.PageLogFormatter"
# Scrapy's start-up "Versions" line, without "Platform": platform.platform() runs `uname -p`
# in a subprocess, a fork of the crawl process at every start (which make bench's per-process
# peak RSS caught now and then as a third large process). The warcinfo records the software.
LOG_VERSIONS = [
    "lxml", "libxml2", "cssselect", "parsel", "w3lib", "Twisted", "Python", "pyOpenSSL",
    "cryptography",
]  # fmt: skip
REMOTE_CONTROL_ENABLED = False

# The spider's seen-set decides what is new before a request is built.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
# Breadth-first (FIFO queues), the order archives are crawled in: pages near the seeds first.
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

TWISTED_DNS_RESOLVER = "archiver.crawl.resolve.MappedResolver"
# Old sites have expired and self-signed certificates; the archive records what was served.
DOWNLOAD_VERIFY_CERTIFICATES = False

# -- politeness: per-host connections, adaptive delay, robots.txt Crawl-delay -----------------
# Scrapy's downloader keys its slots by host name: the limit and the delay are per host, all
# ports and schemes of a host together.
CONCURRENT_REQUESTS = defaults.CONCURRENCY
CONCURRENT_REQUESTS_PER_DOMAIN = defaults.CONCURRENCY_PER_HOST
# None: the delay adapts (AutoThrottle and Crawl-delay); a number (--delay): exactly that,
# AutoThrottle off and Crawl-delay ignored. DOWNLOAD_DELAY alone (-s) is AutoThrottle's floor.
ARCHIVER_DELAY: float | None = None
ARCHIVER_MAX_CRAWL_DELAY = defaults.MAX_CRAWL_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = defaults.AUTOTHROTTLE_START_DELAY
AUTOTHROTTLE_MAX_DELAY = defaults.AUTOTHROTTLE_MAX_DELAY
AUTOTHROTTLE_TARGET_CONCURRENCY = defaults.CONCURRENCY_PER_HOST
# Holds the per-host limit also when many requests for a host are queued at once.
DOWNLOADER = "archiver.crawl.downloader.ArchiveDownloader"
# The pipelines never wait, so items gain nothing from running side by side; and Scrapy starts
# this many asyncio worker tasks for every callback's output (100 by default: 100 tasks per
# page, a large share of the crawl's CPU).
CONCURRENT_ITEMS = 1
DOWNLOAD_DELAY = defaults.DELAY
DOWNLOAD_TIMEOUT = defaults.TIMEOUT
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": ACCEPT_ENCODING,
}
# archiver's own download handler records the bytes that went over the wire and spools large
# bodies to disk (wire.py); it cuts bodies at ARCHIVER_MAX_RESPONSE_SIZE itself and keeps a
# body cut by the server, so Scrapy's own limits are off.
DOWNLOAD_HANDLERS = {
    "http": "archiver.crawl.wire.WireDownloadHandler",
    "https": "archiver.crawl.wire.WireDownloadHandler",
}
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
DOWNLOAD_FAIL_ON_DATALOSS = False
COOKIES_ENABLED = True  # old sites keep sessions in cookies; the request records show them
LOG_LEVEL = "INFO"
